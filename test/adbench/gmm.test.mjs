// Tests of the ADBench GMM objective (bench/adbench/gmm.mjs): ADBench's reference values, its lgamma, and tracegrad's and the hand-written gradient against Richardson finite differences.
import test from 'ava';
import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traced, gradient, jit, tierOf } from '../../dist/index.js';
import { loadGmm, gmmObjective, gmmGradient, lgamma, tracedGmm } from '../../bench/adbench/gmm.mjs';
import { richardsonEstimate, numericGradient, assertClose } from '../helpers/reference.mjs';

// The data stays outside the repository (../shared/adbench beside the checkout); a clone elsewhere may lack it.
const DATA = new URL('../../../shared/adbench/gmm/', import.meta.url);
const haveData = existsSync(fileURLToPath(new URL('1k/gmm_d2_K5.txt', DATA)))
  && existsSync(fileURLToPath(new URL('1k/gmm_d10_K5.txt', DATA)))
  && existsSync(fileURLToPath(new URL('test.txt', DATA)));
const dataTest = haveData ? test : test.skip;
const needsData = haveData ? '' : ` (skipped: ADBench GMM data not found at ${fileURLToPath(DATA)})`;
if (!haveData) console.error(`gmm.test.mjs: ADBench GMM data not found at ${fileURLToPath(DATA)}; data tests skipped`);

const cache = new Map();
const load = (name) => {
  if (!cache.has(name)) cache.set(name, loadGmm(new URL(name, DATA)));
  return cache.get(name);
};
const argsOf = (g) => [g.d, g.k, g.n, g.alphas, g.means, g.icf, g.x, g.gamma, g.m];

// Reference objective values published with ADBench (its C++ implementation, double precision).
const REFERENCE = [
  ['test.txt', 8.07380408004975791],
  ['1k/gmm_d2_K5.txt', -5240.5905625496471],
  ['1k/gmm_d10_K5.txt', -31302.540910910713],
];

/** tracegrad's gradient with compilation switched off for the call: the tape interpreter. */
function interpreterGradient(f, args) {
  const was = jit.enabled;
  try {
    jit.enabled = false;
    return gradient(f, ...args);
  } finally {
    jit.enabled = was;
  }
}

// Parameter positions in gmmObjective's argument list, and their names for messages.
const PARAMS = [[3, 'alphas'], [4, 'means'], [5, 'icf']];

/**
 * ∂err/∂args[a][e] by Richardson-extrapolated central differences of the plain objective (no tracegrad involved),
 * perturbing a copy of the one array.
 */
function fdPartial(args, a, e) {
  const base = args[a];
  return richardsonEstimate((t) => {
    const copy = base.slice();
    copy[e] = t;
    const xs = args.slice();
    xs[a] = copy;
    return gmmObjective(...xs);
  }, base[e]);
}

/**
 * Compares a gradient's partials (tracegrad's or the hand-written one's) with finite differences on the given
 * entries. The tolerance scales with the size of the objective: a difference quotient of err carries rounding
 * ~|err|·1e-16/h, which Richardson's tableau (h from 1e-2 down) keeps to a few 1e-12·|err| on these files (measured:
 * ≤ 3.5e-12·|err|); 1e-10·max(1, |err|) leaves a margin of 30 or more and is still far below any real mistake (a
 * missing or misplaced term changes a partial by O(0.01–1)).
 */
function checkAgainstFd(t, g, grad, entries) {
  const args = argsOf(g);
  const scale = 1e-10 * Math.max(1, Math.abs(gmmObjective(...args)));
  let worst = 0;
  const bad = [];
  for (const [a, e] of entries) {
    const name = PARAMS.find(([i]) => i === a)[1];
    const fd = fdPartial(args, a, e);
    const got = grad[a][e];
    const diff = Math.abs(got - fd.value);
    worst = Math.max(worst, diff);
    if (!(diff <= scale)) bad.push(`${name}[${e}]: gradient ${got}, finite difference ${fd.value} (±${fd.error.toExponential(1)}), |diff| ${diff.toExponential(2)} > ${scale.toExponential(1)}`);
  }
  t.log(`${entries.length} partials checked; largest |gradient − finite difference| ${worst.toExponential(2)} (tolerance ${scale.toExponential(1)})`);
  if (bad.length) t.fail(bad.join('\n'));
  else t.pass();
}

/** Every entry of alphas, means and icf. */
const allEntries = (g) => PARAMS.flatMap(([a]) => Array.from({ length: argsOf(g)[a].length }, (_, e) => [a, e]));
/** About `count` entries of each array, evenly spread, always including the first and the last. */
const sampleEntries = (g, count) => PARAMS.flatMap(([a]) => {
  const len = argsOf(g)[a].length;
  const picks = new Set(Array.from({ length: Math.min(count, len) }, (_, i) => Math.round((i * (len - 1)) / Math.max(1, Math.min(count, len) - 1))));
  return [...picks].map((e) => [a, e]);
});

// ---- the objective ---------------------------------------------------------------------------------------------------

test('lgamma (shift to ≥ 10, Stirling series to B_16) matches known values', (t) => {
  // Known values: lgamma(1) = lgamma(2) = 0, lgamma(½) = log √π, lgamma(3) = log 2, lgamma(10) = log 9!, and
  // lgamma(5.5) = log(945·√π/32), lgamma(1.5) = log(√π/2), lgamma(0.1) from the C library (glibc, correctly rounded here).
  const known = [
    [0.5, 0.5723649429247001], [1, 0], [1.5, Math.log(Math.sqrt(Math.PI) / 2)], [2, 0], [3, Math.log(2)],
    [5.5, 3.9578139676187165], [10, Math.log(362880)], [0.1, 2.252712651734206], [100, 359.1342053695754],
    [7.25, 7.0521854507385395],
  ];
  // Near the zeros of lgamma (1 and 2) only an absolute bound is meaningful: the cancelling terms are O(10), so ~2e-15.
  for (const [z, want] of known) {
    const got = lgamma(z);
    t.true(Math.abs(got - want) <= 5e-15 + 1e-14 * Math.abs(want), `lgamma(${z}) = ${got}, expected ${want}`);
  }
});

test('loader: replicated-point files cycle through the listed points', (t) => {
  // ADBench's "replicate point" variant lists fewer point lines than n; here d = 1, k = 1, n = 3 with 2 point lines.
  const dir = mkdtempSync(join(tmpdir(), 'gmm-'));
  try {
    const path = join(dir, 'g.txt');
    writeFileSync(path, '1 1 3\n0.5\n0.25\n-1\n7\n8\n2 3\n');
    const g = loadGmm(path);
    t.deepEqual([g.d, g.k, g.n, g.gamma, g.m], [1, 1, 3, 2, 3]);
    t.deepEqual([...g.alphas, ...g.means, ...g.icf], [0.5, 0.25, -1]);
    t.deepEqual([...g.x], [7, 8, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

dataTest(`loader reads the ADBench files with their layout${needsData}`, (t) => {
  const shapes = [['test.txt', 2, 3, 1], ['1k/gmm_d2_K5.txt', 2, 5, 1000], ['1k/gmm_d10_K5.txt', 10, 5, 1000]];
  for (const [name, d, k, n] of shapes) {
    const g = load(name);
    t.deepEqual([g.d, g.k, g.n, g.gamma, g.m], [d, k, n, 1, 0], name);
    t.is(g.alphas.length, k);
    t.is(g.means.length, k * d);
    t.is(g.icf.length, (k * d * (d + 1)) / 2);
    t.is(g.x.length, n * d);
  }
  // spot values from the files: first alpha, last icf entry of test.txt, the last point of d2K5
  t.is(load('test.txt').alphas[0], -0.649014);
  t.is(load('test.txt').icf[8], -1.270071);
  t.deepEqual([...load('1k/gmm_d2_K5.txt').x.subarray(1998)], [0.388815, -0.447613]);
});

for (const [name, want] of REFERENCE) {
  dataTest(`objective on ${name} reproduces ADBench's value ${want}${needsData}`, (t) => {
    const got = gmmObjective(...argsOf(load(name)));
    const rel = Math.abs(got - want) / Math.abs(want);
    t.log(`${name}: ${got} (relative difference ${rel.toExponential(2)})`);
    t.true(rel <= 1e-12, `got ${got}, expected ${want}, relative difference ${rel}`);
  });
}

// ---- tracegrad's gradient (the tape interpreter) ---------------------------------------------------------------------

dataTest(`interpreter gradient on test.txt matches finite differences for every alpha, mean, icf entry, gamma and m${needsData}`, (t) => {
  const g = load('test.txt');
  const f = tracedGmm(traced);
  const grad = interpreterGradient(f, argsOf(g));
  // numericGradient perturbs each entry of each argument of this wrapper (d, k, n, x stay fixed: d, k, n are sizes).
  const fd = numericGradient((alphas, means, icf, gamma, m) => gmmObjective(g.d, g.k, g.n, alphas, means, icf, g.x, gamma, m),
    g.alphas, g.means, g.icf, g.gamma, g.m);
  assertClose(t, [grad[3], grad[4], grad[5], grad[7], grad[8]], fd, { rtol: 1e-7, atol: 1e-8 });
  checkAgainstFd(t, g, grad, allEntries(g));
});

dataTest(`interpreter gradient on gmm_d2_K5 matches finite differences (every alpha, mean and icf entry)${needsData}`, (t) => {
  // k·(1 + d + d(d+1)/2) = 30 entries; the objective costs well under a millisecond, so all of them are cheap.
  const g = load('1k/gmm_d2_K5.txt');
  const grad = interpreterGradient(tracedGmm(traced), argsOf(g));
  checkAgainstFd(t, g, grad, allEntries(g));
});

dataTest(`interpreter gradient on gmm_d10_K5 matches finite differences on a sample${needsData}`, (t) => {
  // d = 10 is the only case with more than one strictly-lower entry per component, so it exercises the column-by-column
  // order of l; the sample spreads over diagonal and lower entries of the first and last components.
  const g = load('1k/gmm_d10_K5.txt');
  const grad = interpreterGradient(tracedGmm(traced), argsOf(g));
  checkAgainstFd(t, g, grad, [...sampleEntries(g, 3).filter(([a]) => a !== 5), ...sampleEntries(g, 12).filter(([a]) => a === 5)]);
});

// ---- the hand-written gradient (the benchmark's reference) -----------------------------------------------------------

/** A small instance made here (no data files): d = 3 (three strictly-lower entries per component), k = 2, n = 4. */
function syntheticGmm() {
  const d = 3, k = 2, n = 4, icfSize = 6;
  const fill = (len, f) => Float64Array.from({ length: len }, (_, i) => f(i));
  return { d, k, n, alphas: fill(k, (i) => 0.3 - 0.8 * i), means: fill(k * d, (i) => Math.sin(1.7 * i)),
    icf: fill(k * icfSize, (i) => 0.4 * Math.cos(2.3 * i)), x: fill(n * d, (i) => Math.cos(0.9 * i + 0.2)), gamma: 1.3, m: 2 };
}

test('hand-written gradient (gmmGradient): the objective\'s value, and every partial against finite differences, on a small instance', (t) => {
  const g = syntheticGmm();
  const r = gmmGradient(...argsOf(g));
  t.is(r.value, gmmObjective(...argsOf(g)));
  checkAgainstFd(t, g, [null, null, null, ...r.grad], allEntries(g));
});

dataTest(`hand-written gradient on test.txt and gmm_d2_K5 matches finite differences for every entry${needsData}`, (t) => {
  for (const name of ['test.txt', '1k/gmm_d2_K5.txt']) {
    const g = load(name);
    const r = gmmGradient(...argsOf(g));
    t.is(r.value, gmmObjective(...argsOf(g)), name);
    checkAgainstFd(t, g, [null, null, null, ...r.grad], allEntries(g));
  }
});

// ---- the compiled tier -------------------------------------------------------------------------------------------------
// No claim about whether GMM compiles (array support in the compiled tier is being built). Whatever tier the default
// path picks, its gradient must equal the interpreter's bit for bit.

dataTest(`compiled tier matches the interpreter bit for bit on GMM${needsData}`, (t) => {
  for (const name of ['test.txt', '1k/gmm_d2_K5.txt']) {
    const args = argsOf(load(name));
    const f = tracedGmm(traced);
    const expected = interpreterGradient(f, args);
    for (let call = 1; call <= 2; call++) {
      const got = gradient(f, ...args);
      t.log(`${name}, call ${call}: tier ${tierOf(f)}`);
      const bad = [];
      expected.forEach((e, i) => {
        if (e instanceof Float64Array) {
          if (!(got[i] instanceof Float64Array) || got[i].length !== e.length) bad.push(`argument ${i}: ${got[i]} vs Float64Array(${e.length})`);
          else e.forEach((v, j) => Object.is(got[i][j], v) || bad.push(`argument ${i}[${j}]: ${got[i][j]} vs ${v}`));
        } else if (!Object.is(got[i], e)) bad.push(`argument ${i}: ${got[i]} vs ${e}`);
      });
      if (bad.length) t.fail(`${name}, call ${call}: differs from the interpreter: ${bad.slice(0, 5).join('; ')}${bad.length > 5 ? ` … (${bad.length})` : ''}`);
      else t.pass();
    }
  }
});
