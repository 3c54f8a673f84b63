// Benchmarks of forward mode and second order: the scalar chain by derivative, and Rosenbrock (n = 100) Hessian-vector products and Hessians against hand-written ones.
//
// Usage: node bench/forward.mjs [--json]   (after `npm run build`)
//   The table goes to stdout; progress and check reports to stderr. Every contender's result is checked first
//   (finite differences for the chain, the hand-written Hessian for Rosenbrock); a failed check exits 1 before timing.

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { rosenbrock } from './workloads/rosenbrock.mjs';

const JSON_OUT = process.argv.includes('--json');
const note = (...a) => console.error(...a);
const MAX_TIME = 2;
const N = 100;
let sink = 0;

const url = new URL('../esm/index.mjs', import.meta.url);
if (!existsSync(fileURLToPath(url))) {
  console.log('esm/index.mjs is not built: run `npm run build` first');
  process.exit(0);
}
const tg = await import(url.href);

function fail(msg) {
  console.error(`forward.mjs: check FAILED: ${msg}\nNo timings reported.`);
  process.exit(1);
}

// ---- the scalar chain -----------------------------------------------------------------------------------------------
function chain(x) { for (let i = 0; i < 1000; i++) x = Math.sin(x) * x + 0.5; return x }
function chainShort(x) { for (let i = 0; i < 10; i++) x = Math.sin(x) * x + 0.5; return x }
/** Hand-written forward mode: the value and its derivative carried together (a dual number by hand). */
function chainDual(x) {
  let dx = 1;
  for (let i = 0; i < 1000; i++) {
    const s = Math.sin(x);
    dx = (Math.cos(x) * x + s) * dx;
    x = s * x + 0.5;
  }
  return dx;
}

// ---- Rosenbrock (the workload of bench/scalar.mjs), its hand-written Hessian (tridiagonal) and Hessian-vector product --
/** ∂²f: for each term 100(x₁ − x₀²)² + (1 − x₀)²: ∂₀₀ = 1200x₀² − 400x₁ + 2, ∂₀₁ = −400x₀, ∂₁₁ = 200. */
function rosenbrockHessian(x) {
  const n = x.length;
  const H = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let i = 0; i < n - 1; i++) {
    H[i][i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
    H[i][i + 1] += -400 * x[i];
    H[i + 1][i] += -400 * x[i];
    H[i + 1][i + 1] += 200;
  }
  return H;
}
function rosenbrockHvp(x, v) {
  const n = x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) {
    const d = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2, o = -400 * x[i];
    out[i] += d * v[i] + o * v[i + 1];
    out[i + 1] += o * v[i] + 200 * v[i + 1];
  }
  return out;
}

/** The same, into an output the caller keeps (what a hand-written optimiser loop would do: no allocation per call). */
function rosenbrockHvpInto(x, v, out) {
  const n = x.length;
  out.fill(0);
  for (let i = 0; i < n - 1; i++) {
    const d = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2, o = -400 * x[i];
    out[i] += d * v[i] + o * v[i + 1];
    out[i + 1] += o * v[i] + 200 * v[i + 1];
  }
  return out;
}
const reused = new Float64Array(N);
/** The same function for Float64Array arguments (a separate copy, so that V8's type feedback stays monomorphic). */
const rosenbrockF64 = new Function(`return ${rosenbrock.toString()}`)();
const RF = tg.traced(rosenbrockF64);

const x = Array.from({ length: N }, (_v, i) => 0.5 + 0.5 * Math.cos(i));
const v = Array.from({ length: N }, (_v, i) => Math.sin(i + 1));

// ---- checks ---------------------------------------------------------------------------------------------------------
const C = tg.traced(chain), CS = tg.traced(chainShort), R = tg.traced(rosenbrock);
for (const x0 of [0.3, 1.7, -2.1]) {
  const h = 1e-4;
  const fd = (-chainShort(x0 + 2 * h) + 8 * chainShort(x0 + h) - 8 * chainShort(x0 - h) + chainShort(x0 - 2 * h)) / (12 * h);
  const got = tg.derivative(CS, x0);
  if (!(Math.abs(got - fd) <= 1e-6 * Math.abs(fd))) fail(`derivative of the short chain at ${x0}: ${got}, finite difference ${fd}`);
  const long = tg.derivative(C, x0), hand = chainDual(x0);
  if (!(Math.abs(long - hand) <= 1e-12 * Math.abs(hand) + 1e-300)) fail(`derivative of the chain at ${x0}: ${long}, hand-written ${hand}`);
}
const xf = Float64Array.from(x), vf = Float64Array.from(v);
const H = rosenbrockHessian(x), Hv = rosenbrockHvp(x, v);
tg.hvp(RF, xf, vf).forEach((e, i) => Math.abs(e - Hv[i]) <= 1e-9 * (1 + Math.abs(Hv[i])) || fail(`hvp (Float64Array)[${i}] ${e}, hand-written ${Hv[i]}`));
const hv = tg.hvp(R, x, v);
hv.forEach((e, i) => Math.abs(e - Hv[i]) <= 1e-9 * (1 + Math.abs(Hv[i])) || fail(`hvp[${i}] ${e}, hand-written ${Hv[i]}`));
tg.jit.enabled = false;
const hvInterpreted = tg.hvp(R, x, v);
tg.jit.enabled = true;
hv.forEach((e, i) => Object.is(e, hvInterpreted[i]) || fail(`hvp[${i}] compiled ${e}, interpreted ${hvInterpreted[i]} (must be bit-identical)`));
if (tg.tierOf(R, 'hvp') !== 'compiled') fail(`Rosenbrock's hvp is not compiled: ${tg.tierOf(R, 'hvp')}`);
const HT = tg.hessian(R, x);
HT.forEach((row, i) => row.forEach((e, j) => Math.abs(e - H[i][j]) <= 1e-9 * (1 + Math.abs(H[i][j])) || fail(`hessian[${i}][${j}] ${e}, hand-written ${H[i][j]}`)));
note(`checks passed: derivative of the chain (finite differences, hand-written dual), hvp and hessian of Rosenbrock (n = ${N}, hand-written; compiled hvp bit-identical to interpreted); tiers: chain jvp ${tg.tierOf(C, 'jvp')}, Rosenbrock hvp ${tg.tierOf(R, 'hvp')}`);

// ---- timing ---------------------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function run(title, cases) {
  const suite = new Benchmark.Suite(title);
  for (const [, fn] of cases) for (let i = 0; i < 200; i++) fn(); // warm up
  for (const [name, fn] of cases) suite.add(name, fn, { maxTime: MAX_TIME });
  suite.on('cycle', (ev) => note(`  ${title}: ${String(ev.target)}`));
  suite.run({ async: false });
  return suite.map((b) => ({ group: title, name: b.name, medianUs: 1e6 * median(b.stats.sample), rme: b.stats.rme }));
}
const interpreted = (fn) => () => {
  tg.jit.enabled = false;
  try {
    return fn();
  } finally {
    tg.jit.enabled = true;
  }
};
const results = [
  ...run('chain', [
    ['primal', () => { sink += chain(0.3); }],
    ['hand-written forward (dual)', () => { sink += chainDual(0.3); }],
    ['tracegrad derivative, interpreted (forward tape)', interpreted(() => { sink += tg.derivative(C, 0.3); })],
    ['tracegrad derivative (default: compiled)', () => { sink += tg.derivative(C, 0.3); }],
  ]),
  ...run('rosenbrock', [
    ['primal', () => { sink += rosenbrock(x); }],
    ['hand-written Hessian-vector product', () => { sink += rosenbrockHvp(x, v)[0]; }],
    ['hand-written Hessian-vector product, output array reused', () => { sink += rosenbrockHvpInto(x, v, reused)[0]; }],
    ['tracegrad hvp (default: compiled)', () => { sink += tg.hvp(R, x, v)[0]; }],
    ['tracegrad hvp, interpreted (reverse over forward)', interpreted(() => { sink += tg.hvp(R, x, v)[0]; })],
    ['hand-written Hessian', () => { sink += rosenbrockHessian(x)[0][0]; }],
    ['tracegrad hessian (default: n compiled hvps)', () => { sink += tg.hessian(R, x)[0][0]; }],
  ]),
  ...run('rosenbrock, Float64Array', [
    ['primal', () => { sink += rosenbrockF64(xf); }],
    ['hand-written Hessian-vector product, output array reused', () => { sink += rosenbrockHvpInto(xf, vf, reused)[0]; }],
    ['tracegrad hvp (default: compiled)', () => { sink += tg.hvp(RF, xf, vf)[0]; }],
  ]),
];
for (const r of results) r.ratioToPrimal = r.medianUs / results.find((q) => q.group === r.group && q.name === 'primal').medianUs;

if (JSON_OUT) console.log(JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, results }, null, 2));
else {
  console.log(`forward mode and second order; ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; medians, ratios to the primal of the same group`);
  const rows = [['group', 'contender', 'median µs', '±%', '÷ primal'],
    ...results.map((r) => [r.group, r.name, r.medianUs.toFixed(r.medianUs < 10 ? 3 : 1), r.rme.toFixed(1), r.ratioToPrimal.toFixed(1)])];
  const w = rows[0].map((_c, j) => Math.max(...rows.map((row) => row[j].length)));
  console.log(rows.map((row) => row.map((c, j) => (j >= 2 ? c.padStart(w[j]) : c.padEnd(w[j]))).join('  ')).join('\n'));
}
if (Number.isNaN(sink)) note('(sink is NaN)');
