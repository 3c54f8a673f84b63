// Benchmark of ADBench BA, D-LSTM and Hand: each objective alone vs tracegrad's Jacobian or gradient, checked against finite differences first, in ms per evaluation.
//
// Usage: node bench/adbench.mjs [--json] [--only ba|lstm|hand] [--fresh]
//   The table goes to stdout; progress and notes go to stderr, so with --json stdout is JSON only. BA's Jacobian is
//   written into one array kept between calls (gradientInto), as ADBench's harnesses fill theirs; --fresh makes it
//   allocate a new one per call (gradient) instead.
//   tracegrad is loaded from ../esm/index.mjs when it has been built (`npm run build`); otherwise its rows are skipped
//   with a message. The data is read from ../../shared/adbench/ (outside the repository: ADBench, MIT license, see
//   bench/adbench/LICENSE.ADBench.txt); a problem whose data is missing is skipped with a message.
//   Before timing, every derivative is checked against Richardson finite differences of the plain objective on a
//   sample of entries; a mismatch prints what differs and exits 1 without timings.

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { loadTracegrad, warm, median, interleaved } from './lib/harness.mjs';
import { loadBa, baObjective, baJacobianBuilder, BLOCK_SIZE, CAMERA_PARAMS } from './adbench/ba.mjs';
import { loadLstm, lstmObjective, tracedLstm } from './adbench/lstm.mjs';
import {
  loadHandModel, loadHandInstance, handObjective, handObjectiveComplicated, handJacobianBuilder, tracedHandResiduals, POSE_PARAMS,
} from './adbench/hand.mjs';
import { richardsonEstimate } from '../test/helpers/reference.mjs';

const DATA = new URL('../../shared/adbench/', import.meta.url);
const PROBLEMS = ['ba', 'lstm', 'hand'];
const TARGETS = { ba: 8, lstm: 6 }; // derivative ÷ objective asked for (ADBench's Tapenade: BA 8.4–8.9); Hand: none given
const MAX_TIME = 2; // seconds of benchmark.js sampling per contender
const WARM_MS = 1500; // each contender runs this long first: compiled code needs ~30 calls before V8 has optimised it
const ROUNDS = 3; // interleaved rounds for the objective and the compiled contenders (harness.mjs)

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const FRESH = args.includes('--fresh');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : null;
if (onlyAt >= 0 && !PROBLEMS.includes(only)) {
  console.error(`usage: node bench/adbench.mjs [--json] [--only ${PROBLEMS.join('|')}]`);
  process.exit(2);
}
const note = (...a) => console.error(...a);
let sink = 0; // every timed call feeds its result here so nothing is dead code

function fail(msg) {
  console.error(`adbench.mjs: check FAILED: ${msg}\nNo timings reported.`);
  process.exit(1);
}


// ---- finite differences: Richardson-extrapolated central differences of the plain objectives (no tracegrad) ----------

/**
 * One column of a Jacobian: ∂out[r]/∂x for every r, where `outputs(x)` evaluates the plain objective with the one
 * variable set to x; each probe point is evaluated once and shared by the rows.
 */
function fdColumn(outputs, x0, rows) {
  const cache = new Map();
  const at = (x) => {
    if (!cache.has(x)) cache.set(x, outputs(x));
    return cache.get(x);
  };
  return rows.map((r) => richardsonEstimate((x) => at(x)[r], x0));
}

/**
 * Compares derivative entries with finite differences: |got − fd| ≤ rtol·max(1, |fd|) + 10·(Richardson's error
 * estimate). Returns the worst |got − fd| / max(1, |fd|); exits on a mismatch.
 */
function compareAll(who, pairs, rtol) {
  let worst = 0;
  for (const { what, got, fd } of pairs) {
    const diff = Math.abs(got - fd.value);
    if (!(diff <= rtol * Math.max(1, Math.abs(fd.value)) + 10 * fd.error)) fail(`${who}: ${what} = ${got}, finite difference ${fd.value} (±${fd.error.toExponential(1)})`);
    worst = Math.max(worst, diff / Math.max(1, Math.abs(fd.value)));
  }
  return worst;
}

// ---- timing ----------------------------------------------------------------------------------------------------------



/**
 * benchmark.js over the cases ({ name, fn, tier?, measured? }), each warmed first; a case with `runs` is slow: timed that
 * many times by hand. `measured` marks the contender ADBench's ratio (and the target) is about.
 */
function runSuite(title, cases) {
  const results = [];
  // the objective and the compiled contenders in interleaved rounds (harness.mjs: their ratios from the same
  // windows); the interpreter after them, on its own (its allocations would change the heap the others run in)
  const fast = cases.filter((c) => !c.runs && !c.name.includes('interpreter'));
  try {
    for (const r of interleaved(fast.map((c) => [c.name, c.fn]), { rounds: ROUNDS, maxTime: MAX_TIME, warmMs: WARM_MS, onRound: (name, b) => note(`  ${title}: ${String(b)}`) }))
      results.push({ name: r.name, msPerEval: r.meanMs, medianMs: r.medianMs, rmePercent: r.rmePercent, samples: r.samples });
  } catch (e) {
    fail(`benchmark threw: ${e}`);
  }
  const suite = new Benchmark.Suite(title);
  for (const c of cases) {
    if (c.runs || fast.includes(c)) continue;
    warm(c.fn, WARM_MS);
    suite.add(c.name, c.fn, { maxTime: MAX_TIME });
  }
  suite.on('cycle', (ev) => note(`  ${title}: ${String(ev.target)}`));
  suite.on('error', (ev) => fail(`benchmark ${ev.target.name} threw: ${ev.target.error}`));
  suite.run({ async: false });
  suite.forEach((b) => results.push({ name: b.name, msPerEval: 1e3 / b.hz, medianMs: 1e3 * median(b.stats.sample), rmePercent: b.stats.rme,
    samples: b.stats.sample.length }));
  for (const c of cases.filter((x) => x.runs)) {
    c.fn(); // first call: tracing, no compilation to wait for
    const times = Array.from({ length: c.runs }, () => {
      const t0 = performance.now();
      c.fn();
      return performance.now() - t0;
    });
    note(`  ${title}: ${c.name}: ${times.map((x) => x.toFixed(0)).join(', ')} ms (timed ${c.runs} times by hand: too slow for benchmark.js)`);
    const mean = times.reduce((s, x) => s + x, 0) / times.length;
    results.push({ name: c.name, msPerEval: mean, medianMs: median(times), rmePercent: NaN, samples: times.length });
  }
  results.sort((a, b) => cases.findIndex((c) => c.name === a.name) - cases.findIndex((c) => c.name === b.name));
  const byName = new Map(cases.map((c) => [c.name, c]));
  const objectiveMs = results.find((r) => r.name === 'objective').medianMs;
  return results.map((r) => ({ case: title, ...r, ratioToObjective: r.medianMs / objectiveMs, tier: byName.get(r.name).tier?.() ?? '',
    measured: byName.get(r.name).measured === true }));
}

/** One word for a set of tiers: 'compiled' when all are, else each with its reason. */
const tierText = (tiers) => {
  const values = Object.values(tiers);
  return values.every((v) => v === 'compiled') ? 'compiled' : Object.entries(tiers).map(([k, v]) => `${k}: ${v}`).join('; ');
};

// ---- the problems ----------------------------------------------------------------------------------------------------

function benchBa(tg) {
  const file = 'ba/ba1_n49_m7776_p31843.txt';
  const ba = loadBa(new URL(file, DATA));
  const { n, m, p, cams, points, weights, obs, features } = ba;
  const reproj = new Float64Array(2 * p);
  const wErr = new Float64Array(p);
  const objective = () => baObjective(n, m, p, cams, points, weights, obs, features, reproj, wErr);
  note(`ba (${file}: n = ${n} cameras, m = ${m} points, p = ${p} observations; Jacobian ${3 * p} × ${11 * n + 3 * m + p}, ` +
    `${31 * p} nonzeros)`);
  const cases = [{ name: 'objective', fn: () => { objective(); sink += reproj[0]; } }];
  if (!tg) return runSuite('ba', cases);
  // ADBench's harnesses fill a Jacobian they allocated once; so does gradientInto here (--fresh: a new array per call)
  const builder = baJacobianBuilder(tg, ba, { preallocated: !FRESH });
  const J = builder.jacobian(cams, points, weights);
  // the first, a middle and the last observation: both rows (15 entries each) and the weight row
  const pairs = [];
  for (const i of [0, p >> 1, p - 1]) {
    const [c, q] = [obs[2 * i] * CAMERA_PARAMS, obs[2 * i + 1] * 3];
    // the observation alone, a variable at a time: its camera, point and weight in the block's order
    const block = [...cams.subarray(c, c + CAMERA_PARAMS), ...points.subarray(q, q + 3), weights[i]];
    const residualsOf = (b) => {
      const r = new Float64Array(2);
      const w = new Float64Array(1);
      baObjective(1, 1, 1, Float64Array.from(b.slice(0, 11)), Float64Array.from(b.slice(11, 14)), Float64Array.of(b[14]), Int32Array.of(0, 0),
        features.subarray(2 * i, 2 * i + 2), r, w);
      return [r[0], r[1], w[0]];
    };
    for (let k = 0; k < BLOCK_SIZE; k++) {
      const fd = fdColumn((x) => residualsOf(block.map((v, j) => (j === k ? x : v))), block[k], [0, 1, 2]);
      for (const row of [0, 1]) pairs.push({ what: `J[${2 * i + row}] entry ${k}`, got: J.vals[J.rows[2 * i + row] + k], fd: fd[row] });
      if (k === BLOCK_SIZE - 1) pairs.push({ what: `J[${2 * p + i}] (weight row)`, got: J.vals[J.rows[2 * p + i]], fd: fd[2] });
    }
  }
  const worst = compareAll('ba Jacobian', pairs, 1e-8);
  const tier = () => tierText(builder.tiers());
  note(`  Jacobian checked: ${pairs.length} entries of observations 0, ${p >> 1}, ${p - 1} vs finite differences, worst |difference|/max(1, |fd|) ` +
    `${worst.toExponential(2)}; tiers: ${tier()}`);
  cases.push({ name: `tracegrad Jacobian (sparse, 1 sweep${FRESH ? ', a fresh array per call' : ', into a kept array'})`, fn: () => { sink += builder.jacobian(cams, points, weights).vals[0]; },
    tier, measured: true });
  return runSuite('ba', cases);
}

function benchLstm(tg) {
  const file = 'lstm/lstm_l2_c1024.txt';
  const d = loadLstm(new URL(file, DATA));
  const args = [d.l, d.c, d.b, d.mainParams, d.extraParams, d.state, d.sequence];
  const loss = lstmObjective(...args);
  if (!(Math.abs(loss - 0.66666518) <= 5e-9)) fail(`lstm loss ${loss}, ADBench's reference 0.66666518`);
  note(`lstm (${file}: l = ${d.l}, c = ${d.c}, b = ${d.b}; ${d.mainParams.length} + ${d.extraParams.length} parameters): loss ${loss} (ADBench 0.66666518)`);
  const cases = [{ name: 'objective', fn: () => { sink += lstmObjective(...args); } }];
  if (!tg) return runSuite('lstm', cases);
  const { ofParams } = tracedLstm(tg, d);
  const interpretedFn = tracedLstm(tg, d).ofParams; // only ever run with compilation off
  const interpreted = () => {
    tg.jit.enabled = false;
    try {
      return tg.gradient(interpretedFn, d.mainParams, d.extraParams);
    } finally {
      tg.jit.enabled = true;
    }
  };
  const pairs = [];
  for (const [who, run] of [['default', () => tg.gradient(ofParams, d.mainParams, d.extraParams)], ['interpreter', interpreted]]) {
    const grad = run();
    for (const [which, k] of [[0, 0], [0, 17], [0, 56], [0, 97], [0, 127], [0, 190], [0, 223], [1, 0], [1, 14], [1, 28], [1, 41]]) {
      const base = which === 0 ? d.mainParams : d.extraParams;
      const fd = fdColumn((x) => {
        const copy = base.slice();
        copy[k] = x;
        const a = args.slice();
        a[3 + which] = copy;
        return [lstmObjective(...a)];
      }, base[k], [0])[0];
      pairs.push({ what: `${who} ∂loss/∂${which === 0 ? 'main' : 'extra'}[${k}]`, got: grad[which][k], fd });
    }
  }
  // the partials are O(1e-6–1e-2), the loss O(1): an absolute tolerance (see test/adbench/lstm.test.mjs)
  const worst = compareAll('lstm gradient', pairs, 1e-9);
  const tier = () => tg.tierOf(ofParams);
  note(`  gradient checked: ${pairs.length} partials (default and interpreter) vs finite differences, worst |difference|/max(1, |fd|) ` +
    `${worst.toExponential(2)}; tier: ${tier()}`);
  cases.push({ name: 'tracegrad gradient (main + extra params)', fn: () => { sink += tg.gradient(ofParams, d.mainParams, d.extraParams)[0][0]; },
    tier, measured: true });
  cases.push({ name: 'tracegrad gradient, interpreter', fn: () => { sink += interpreted()[0][0]; }, tier: () => 'interpreted (jit off)' });
  return runSuite('lstm', cases);
}

function benchHand(tg, complicated) {
  const file = complicated ? 'hand/complicated_small/hand1_t26_c100.txt' : 'hand/simple_small/hand1_t26_c100.txt';
  const title = complicated ? 'hand complicated' : 'hand simple';
  const model = loadHandModel(new URL('hand/model/', DATA));
  const data = loadHandInstance(new URL(file, DATA), { complicated });
  const err = new Float64Array(3 * data.nPoints);
  const scratch = new Float64Array(3 * model.nVertices);
  const residuals = (theta, us) => {
    const out = new Float64Array(3 * data.nPoints);
    if (complicated) handObjectiveComplicated(theta, us, model, data, out, scratch);
    else handObjective(theta, model, data, out, scratch);
    return out;
  };
  const objective = complicated ? () => handObjectiveComplicated(data.theta, data.us, model, data, err, scratch)
    : () => handObjective(data.theta, model, data, err, scratch);
  note(`${title} (${file}: ${data.nPoints} points, ${model.nBones} bones, ${model.nVertices} vertices; Jacobian ${3 * data.nPoints} × ` +
    `${(complicated ? 2 : 0) + POSE_PARAMS})`);
  const cases = [{ name: 'objective', fn: () => { objective(); sink += err[0]; } }];
  if (!tg) return runSuite(title, cases);
  const builder = handJacobianBuilder(tg, model, data, { complicated });
  const { nRows, jacobian } = builder.compute(data.theta, data.us);
  const uColumns = complicated ? 2 : 0;
  const rows = Array.from({ length: nRows }, (_, r) => r);
  const pairs = [];
  for (const k of [0, 2, 3, 5, 6, 9, 14, 21, 25]) {
    const fd = fdColumn((x) => residuals(data.theta.map((v, j) => (j === k ? x : v)), data.us), data.theta[k], rows);
    rows.forEach((r) => pairs.push({ what: `J[${r}][θ${k}]`, got: jacobian[(uColumns + k) * nRows + r], fd: fd[r] }));
  }
  if (complicated) {
    for (const i of [0, 50, data.nPoints - 1]) {
      for (let c = 0; c < 2; c++) {
        const own = [3 * i, 3 * i + 1, 3 * i + 2];
        const fd = fdColumn((x) => residuals(data.theta, data.us.map((v, j) => (j === 2 * i + c ? x : v))), data.us[2 * i + c], own);
        own.forEach((r, j) => pairs.push({ what: `J[${r}][u${c}]`, got: jacobian[c * nRows + r], fd: fd[j] }));
      }
    }
  }
  const worst = compareAll(`${title} Jacobian`, pairs, 1e-8);
  const tier = () => tierText(builder.tiers());
  note(`  Jacobian checked: ${pairs.length} entries vs finite differences, worst |difference|/max(1, |fd|) ${worst.toExponential(2)}; tiers: ${tier()}`);
  cases.push({ name: 'tracegrad Jacobian (3 reverse sweeps, θ per point)', fn: () => { sink += builder.compute(data.theta, data.us).jacobian[0]; },
    tier, measured: true });
  if (!complicated) {
    // tracegrad's own dense jacobian(f, θ) of the array-valued residuals: 26 forward-mode passes, interpreted
    const f = tracedHandResiduals(tg, model, data);
    const [Jf] = tg.jacobian(f, data.theta);
    let differs = 0;
    for (let r = 0; r < nRows; r++) for (let k = 0; k < POSE_PARAMS; k++) differs = Math.max(differs, Math.abs(Jf[r][k] - jacobian[k * nRows + r]));
    if (!(differs <= 1e-12)) fail(`${title}: jacobian(f, θ) differs from the checked Jacobian by ${differs}`);
    cases.push({ name: 'tracegrad jacobian(f, θ) (forward mode)', runs: 3, fn: () => { sink += tg.jacobian(f, data.theta)[0][0][0]; },
      tier: () => `forward mode: ${tg.tierOf(f, 'jvp')}` });
  }
  return runSuite(title, cases);
}

// ---- main ----------------------------------------------------------------------------------------------------------

const { tg, skip: tgSkip } = await loadTracegrad(['gradient', 'jacobian', 'traced', 'jit', 'tierOf']);
if (tgSkip) note(`tracegrad rows skipped: ${tgSkip}`);
const needs = {
  ba: ['ba/ba1_n49_m7776_p31843.txt'],
  lstm: ['lstm/lstm_l2_c1024.txt'],
  hand: ['hand/model/bones.txt', 'hand/model/vertices.txt', 'hand/simple_small/hand1_t26_c100.txt', 'hand/complicated_small/hand1_t26_c100.txt'],
};
const results = [];
const skipped = [];
for (const problem of PROBLEMS.filter((x) => only === null || x === only)) {
  const missing = needs[problem].filter((f) => !existsSync(fileURLToPath(new URL(f, DATA))));
  if (missing.length > 0) {
    const reason = `ADBench data not found: ${missing.map((f) => fileURLToPath(new URL(f, DATA))).join(', ')}`;
    note(`${problem} skipped: ${reason}`);
    skipped.push({ name: problem, reason });
    continue;
  }
  if (problem === 'ba') results.push(...benchBa(tg));
  if (problem === 'lstm') results.push(...benchLstm(tg));
  if (problem === 'hand') results.push(...benchHand(tg, false), ...benchHand(tg, true));
}
if (tgSkip) skipped.push({ name: 'tracegrad', reason: tgSkip });

if (JSON_OUT) {
  console.log(JSON.stringify({
    benchmark: 'ADBench BA (sparse Jacobian), D-LSTM (gradient), Hand (Jacobian): objective vs tracegrad derivative',
    node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, targets: TARGETS,
    results, skipped,
  }, null, 2));
} else {
  const fmt = (x, d) => (Number.isNaN(x) ? '' : x.toFixed(d));
  const table = [['case', 'contender', 'median ms', 'mean ms', '±%', '÷ objective', 'target', 'tier']];
  for (const r of results) {
    const target = r.measured ? String(TARGETS[r.case] ?? '') : '';
    table.push([r.case, r.name, fmt(r.medianMs, r.medianMs < 10 ? 3 : 1), fmt(r.msPerEval, r.msPerEval < 10 ? 3 : 1), fmt(r.rmePercent, 1),
      fmt(r.ratioToObjective, 1), target ? `≤ ${target}` : '', r.tier ?? '']);
  }
  for (const s of skipped) table.push([s.name, 'skipped', '', '', '', '', '', s.reason]);
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  const right = new Set([2, 3, 4, 5]);
  const line = (row) => row.map((cell, j) => (right.has(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd();
  console.log(`ADBench BA, D-LSTM, Hand; ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('objective: value only (all residuals, or the loss); tracegrad rows: the derivative ADBench measures (BA: sparse Jacobian');
  console.log('of all residuals; LSTM: gradient w.r.t. main and extra params; Hand: Jacobian w.r.t. θ, and us when complicated).');
  console.log('÷ objective is the ratio of medians; the target applies to the contender ADBench measures (BA: Tapenade 8.4–8.9).');
  console.log(table.map(line).join('\n'));
}
if (Number.isNaN(sink)) note('(sink is NaN)'); // keeps the sink observable
