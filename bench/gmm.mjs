// Benchmark of the ADBench GMM objective (d2K5, d10K5; n = 1000): objective alone vs a hand-written gradient and tracegrad's, interpreted and by default tier, in ms per evaluation.
//
// Usage: node bench/gmm.mjs [--json]
//   The table goes to stdout; progress and notes go to stderr, so with --json stdout is JSON only.
//   tracegrad is loaded from ../esm/index.mjs when it has been built (`npm run build`); otherwise its rows are skipped
//   with a message. The data is read from ../../shared/adbench/gmm/ (outside the repository: ADBench, MIT license, see
//   bench/adbench/LICENSE.ADBench.txt); without it the run prints a message and exits 0.

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { loadTracegrad, warm, median, interleaved } from './lib/harness.mjs';
import { loadGmm, gmmObjective, gmmGradient, tracedGmm } from './adbench/gmm.mjs';
import { richardsonDerivative } from '../test/helpers/reference.mjs';

const DATA = new URL('../../shared/adbench/gmm/', import.meta.url);
const CASES = [
  // name, file, ADBench's reference objective
  ['d2K5', '1k/gmm_d2_K5.txt', -5240.5905625496471],
  ['d10K5', '1k/gmm_d10_K5.txt', -31302.540910910713],
];
const MAX_TIME = 2; // seconds of benchmark.js sampling per contender (a d10K5 gradient takes ~0.2 s: ~10 samples)
// Partial derivatives checked against finite differences before timing: see checkGradient for the tolerance.
const FD_TOL = 1e-10;

const JSON_OUT = process.argv.includes('--json');
const note = (...a) => console.error(...a);
let sink = 0; // every timed call feeds its result here so nothing is dead code


function fail(msg) {
  console.error(`gmm.mjs: check FAILED: ${msg}\nNo timings reported.`);
  process.exit(1);
}

// ---- finite differences (independent of tracegrad: the plain objective, Richardson-extrapolated central differences)
/** ∂err/∂args[a][e], perturbing a copy of the one array. */
function fdPartial(args, a, e) {
  const base = args[a];
  return richardsonDerivative((t) => {
    const copy = base.slice();
    copy[e] = t;
    const xs = args.slice();
    xs[a] = copy;
    return gmmObjective(...xs);
  }, base[e]);
}

const PARAM_NAMES = { 3: 'alphas', 4: 'means', 5: 'icf' };
/** A few entries per array: first alpha, last mean, icf's first diagonal, first and last strictly-lower entries. */
function checkEntries(g) {
  const icfSize = (g.d * (g.d + 1)) / 2;
  const mid = (g.k >> 1) * icfSize; // a middle component
  return [[3, 0], [3, g.k - 1], [4, 0], [4, g.k * g.d - 1], [5, 0], [5, g.d], [5, mid + g.d + 1], [5, g.k * icfSize - 1]];
}

/**
 * tracegrad's value and partials against the plain objective and finite differences. The partials' tolerance is
 * absolute, FD_TOL·|err|: a difference quotient of err carries rounding ~|err|·1e-16/h, which extrapolation keeps to a
 * few 1e-12·|err| here, while a wrong term moves a partial by far more (the smallest partials are ~0.03).
 */
function checkGradient(who, withGradient, g, args, value) {
  const r = withGradient(...args);
  if (!(Math.abs(r.value - value) <= 1e-12 * Math.abs(value))) fail(`${who}: value ${r.value}, objective ${value}`);
  const tol = FD_TOL * Math.max(1, Math.abs(value));
  let worst = 0;
  for (const [a, e] of checkEntries(g)) {
    const got = r.grad[a]?.[e];
    const want = fdPartial(args, a, e);
    const diff = Math.abs(got - want);
    if (!(diff <= tol)) fail(`${who}: ∂err/∂${PARAM_NAMES[a]}[${e}] = ${got}, finite difference ${want} (|diff| ${diff} > ${tol})`);
    worst = Math.max(worst, diff / Math.abs(want));
  }
  return worst;
}

/**
 * Each contender runs for WARM_MS before it is timed: the compiled gradient is one large generated function, and its
 * first ~100 calls run before V8 has optimised it (up to 30 ms each against 0.9 ms after), which would otherwise
 * land in benchmark.js's first samples.
 */
const WARM_MS = 1500;
const ROUNDS = 3; // interleaved rounds for the objective and the compiled contenders (harness.mjs)


/**
 * The objective and the compiled contenders in interleaved rounds (harness.mjs: their ratios from the same windows);
 * the interpreter after them, on its own (its allocations would change the heap the others run in).
 */
function runSuite(title, cases) {
  const fast = cases.filter(([name]) => !name.includes('interpreter'));
  const byName = new Map();
  try {
    for (const r of interleaved(fast, { rounds: ROUNDS, maxTime: MAX_TIME, warmMs: WARM_MS, onRound: (name, b) => note(`  ${title}: ${String(b)}`) }))
      byName.set(r.name, { name: r.name, msPerEval: r.meanMs, medianMs: r.medianMs, rmePercent: r.rmePercent, samples: r.samples });
  } catch (e) {
    fail(`benchmark threw: ${e}`);
  }
  const suite = new Benchmark.Suite(title);
  for (const [name, fn] of cases.filter((c) => !fast.includes(c))) {
    warm(fn, WARM_MS);
    suite.add(name, fn, { maxTime: MAX_TIME });
  }
  suite.on('cycle', (ev) => note(`  ${title}: ${String(ev.target)}`));
  suite.on('error', (ev) => fail(`benchmark ${ev.target.name} threw: ${ev.target.error}`));
  suite.run({ async: false });
  suite.forEach((b) => byName.set(b.name, { name: b.name, msPerEval: 1e3 / b.hz, medianMs: 1e3 * median(b.stats.sample), rmePercent: b.stats.rme,
    samples: b.stats.sample.length }));
  return cases.map(([name]) => byName.get(name));
}

// ---- main ----------------------------------------------------------------------------------------------------------
if (!existsSync(fileURLToPath(DATA))) {
  const msg = `ADBench GMM data not found at ${fileURLToPath(DATA)}; nothing to run`;
  note(msg);
  if (JSON_OUT) console.log(JSON.stringify({ benchmark: 'ADBench GMM', skipped: msg }, null, 2));
  else console.log(msg);
  process.exit(0);
}
const { tg, skip: tgSkip } = await loadTracegrad(['gradient', 'withGradient', 'traced', 'jit', 'tierOf']);
if (tgSkip) note(`tracegrad rows skipped: ${tgSkip}`);

const results = [];
for (const [name, file, reference] of CASES) {
  const g = loadGmm(new URL(file, DATA));
  const args = [g.d, g.k, g.n, g.alphas, g.means, g.icf, g.x, g.gamma, g.m];
  const nParams = g.alphas.length + g.means.length + g.icf.length;
  const value = gmmObjective(...args);
  const relRef = Math.abs(value - reference) / Math.abs(reference);
  if (!(relRef <= 1e-12)) fail(`${name}: objective ${value}, ADBench reference ${reference}`);
  note(`${name} (d = ${g.d}, k = ${g.k}, n = ${g.n}, ${nParams} parameters): objective ${value} ` +
    `(ADBench ${reference}, relative difference ${relRef.toExponential(1)})`);

  const cases = [['objective', () => { sink += gmmObjective(...args); }]];
  // the hand-written gradient (gmm.mjs's gmmGradient): checked as the others are
  const hand = (...xs) => {
    const r = gmmGradient(...xs);
    return { value: r.value, grad: [null, null, null, ...r.grad] };
  };
  const worstH = checkGradient('hand-written', hand, g, args, value);
  note(`  hand-written gradient: ${checkEntries(g).length} partials vs finite differences, worst relative error ${worstH.toExponential(2)}`);
  cases.push(['hand-written', () => { sink += gmmGradient(...args).value; }]);
  let tier = null;
  if (tg) {
    const fI = tracedGmm(tg.traced); // only ever run with compilation off
    const fD = tracedGmm(tg.traced); // the default path: compiled on its first call if eligible
    const interp = (...xs) => {
      tg.jit.enabled = false;
      try {
        return tg.withGradient(fI, ...xs);
      } finally {
        tg.jit.enabled = true;
      }
    };
    const t0 = process.hrtime.bigint();
    const worstI = checkGradient('tracegrad interpreter', interp, g, args, value);
    const t1 = process.hrtime.bigint();
    const worstD = checkGradient('tracegrad default', (...xs) => tg.withGradient(fD, ...xs), g, args, value);
    const t2 = process.hrtime.bigint();
    tier = tg.tierOf(fD);
    note(`  gradient checks passed: ${checkEntries(g).length} partials per contender vs finite differences, worst ` +
      `relative error ${Math.max(worstI, worstD).toExponential(2)}; first calls (with their checks): interpreter ` +
      `${(Number(t1 - t0) / 1e6).toFixed(0)} ms, default ${(Number(t2 - t1) / 1e6).toFixed(0)} ms; default tier: ${tier}`);
    cases.push(['tracegrad interpreter', () => {
      tg.jit.enabled = false;
      sink += tg.gradient(fI, ...args)[3][0];
      tg.jit.enabled = true;
    }]);
    cases.push(['tracegrad default', () => { sink += tg.gradient(fD, ...args)[3][0]; }]);
    // ADBench's setting: the gradient with respect to the parameters only, the data and sizes closed over
    const { d, k, n, x, gamma, m } = g;
    const gmm = tracedGmm(tg.traced);
    const fP = tg.traced((alphas, means, icf) => gmm(d, k, n, alphas, means, icf, x, gamma, m), { gmm, d, k, n, x, gamma, m });
    const rP = tg.withGradient(fP, g.alphas, g.means, g.icf);
    const rD = tg.withGradient(fD, ...args);
    for (let a = 0; a < 3; a++)
      for (let e = 0; e < rD.grad[3 + a].length; e++)
        if (!Object.is(rP.grad[a][e], rD.grad[3 + a][e])) fail(`parameters-only gradient differs from the full one at argument ${a}[${e}]`);
    note(`  parameters-only contender: ${tg.tierOf(fP)}, gradient identical to the full one's parameter entries`);
    cases.push(['tracegrad params only', () => { sink += tg.gradient(fP, g.alphas, g.means, g.icf)[0][0]; }]);
  }
  note(`  running benchmark.js (maxTime ${MAX_TIME} s per contender)`);
  const timed = runSuite(name, cases);
  const objectiveMs = timed[0].medianMs, handMs = timed[1].medianMs;
  for (const r of timed) {
    results.push({ case: name, d: g.d, k: g.k, n: g.n, ...r, ratioToObjective: r.medianMs / objectiveMs, ratioToHand: r.medianMs / handMs,
      ...(r.name.startsWith('tracegrad') && r.name !== 'tracegrad interpreter' ? { tier } : {}) });
  }
}

// ---- report --------------------------------------------------------------------------------------------------------
const skipped = tgSkip ? ['tracegrad interpreter', 'tracegrad default'].map((name) => ({ name, reason: tgSkip })) : [];
if (JSON_OUT) {
  console.log(JSON.stringify({
    benchmark: 'ADBench GMM objective: value (objective) vs value + gradient w.r.t. alphas, means, icf (tracegrad)',
    node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length,
    results, skipped,
  }, null, 2));
} else {
  const fmt = (x, d) => x.toFixed(d);
  const table = [['case', 'contender', 'median ms', 'mean ms', '±%', '÷ objective', '÷ hand-written', 'tier']];
  for (const r of results) {
    table.push([r.case, r.name, fmt(r.medianMs, r.medianMs < 10 ? 3 : 1), fmt(r.msPerEval, r.msPerEval < 10 ? 3 : 1), fmt(r.rmePercent, 1),
      fmt(r.ratioToObjective, 2), fmt(r.ratioToHand, 2), r.tier ?? (r.name === 'tracegrad interpreter' ? 'interpreted (jit off)' : '')]);
  }
  for (const s of skipped) table.push(['all', s.name, 'skipped', '', '', '', '', '']);
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  const right = new Set([2, 3, 4, 5, 6]);
  const line = (row) => row.map((cell, j) => (right.has(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd();
  console.log(`ADBench GMM (n = 1000 points, k = 5 components); ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('objective is value only; the other rows are value + gradient: hand-written (gmmGradient) and tracegrad params only');
  console.log('with respect to alphas, means and icf (data closed over, as ADBench measures), tracegrad default and interpreter');
  console.log('with respect to every argument (gradient(f, ...args)).');
  console.log('÷ objective is the ratio of medians.');
  console.log(table.map(line).join('\n'));
  if (tgSkip) console.log(`tracegrad skipped: ${tgSkip}`);
}
if (Number.isNaN(sink)) note('(sink is NaN)'); // keeps the sink observable
