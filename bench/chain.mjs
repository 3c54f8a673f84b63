// Benchmark of the scalar chain (1000 × x = sin(x)·x + 0.5): primal, hand-written reverse, adnn, tracegrad cold/steady, in ns per primitive op.
//
// Usage: node bench/chain.mjs [--json] [--no-peers]
//   The table goes to stdout; progress and notes go to stderr, so with --json stdout is JSON only.
//   tracegrad is loaded from ../esm/index.mjs when it has been built (`npm run bench` builds first); otherwise
//   its two contenders are skipped with a message. The peers tfjs (cpu, wasm; float32) and jax-js (eager, float64) run
//   after tracegrad's rows, each only if it loads and passes the same checks (--no-peers leaves them out).

import { cpus } from 'node:os';
import Benchmark from 'benchmark';
import { loadTracegrad } from './lib/harness.mjs';
import ad from 'adnn/ad/index.js'; // adnn has no "exports" map; ESM cannot resolve the bare directory 'adnn/ad'
import { loadJax, loadTfjs, tfBackendInfo, useTfBackend } from './peers.mjs';

const STEPS = 1000;
const OPS = 3 * STEPS; // sin, mul, add per step
const X0 = 0.3;
const MAX_TIME = 2.5; // seconds of benchmark.js sampling per contender
const COLD_COPIES = 5; // fresh traced(chain) copies timed on their first call
const COLD_BUDGET_MS = 10_000; // stop adding cold copies once this much has been spent
const TOL = 1e-6; // relative error allowed in every gradient check

// The check points: away from the fixed point the chain converges to, and on both sides of zero.
const CHECK_POINTS = [0.3, 1.7, -2.1, 5];
// Finite differences only work on a short chain: the 1000-step chain contracts onto its fixed point x* ≈ 2.2504
// (|f'(x*)| ≈ 0.635), so d(x_final)/d(x0) ≈ 1e-196 and x_final does not change in the last bit for any usable step.
const SHORT_STEPS = 10;

const JSON_OUT = process.argv.includes('--json');
const PEERS = !process.argv.includes('--no-peers');
// Peers' tolerances: tfjs is float32 (its 1000-step gradient, ~1e-196 in float64, underflows to 0: below the smallest
// normal float32 2^-126 only "as small as that" is checkable); jax-js is float64 with sin only about float32-accurate.
const PEER_TOL = { float32: { tol: 1e-4, absFloor: 2 ** -126 }, 'float64, approximate sin': { tol: 1e-4, absFloor: 0 } };
// jax-js's jit is not run on the chain: its compile time grows exponentially with the chain's depth (sin(x)·x uses x
// twice, and the traced expression is re-expanded per use). Measured here on valueAndGrad of this chain with jax-js
// 0.1.25: 10 steps 0.06 s, 15 steps 1.7 s, 20 steps 99 s, 25 steps out of memory (4 GB heap).
const JAX_JIT_SKIP = 'jit compile time is exponential in the chain depth (measured: 10 steps 0.06 s, 15 steps 1.7 s, ' +
  '20 steps 99 s, 25 steps out of memory); 1000 steps cannot compile';
const note = (...a) => console.error(...a);
let sink = 0; // every timed call feeds its result here so nothing is dead code

// ---- 1. primal: the plain loop, value only -------------------------------------------------------------------------
function primal(x, n) {
  for (let i = 0; i < n; i++) x = Math.sin(x) * x + 0.5;
  return x;
}

// ---- 2. hand-written reverse: forward saves x and sin(x), backward multiplies the step derivatives -----------------
const xStack = new Float64Array(STEPS);
const sinStack = new Float64Array(STEPS);
function handReverse(x0, n, out) {
  let x = x0;
  for (let i = 0; i < n; i++) {
    const s = Math.sin(x);
    xStack[i] = x;
    sinStack[i] = s;
    x = s * x + 0.5;
  }
  let dx = 1; // d(x_final)/d(x_final)
  for (let i = n - 1; i >= 0; i--) {
    const xi = xStack[i];
    dx = dx * (Math.cos(xi) * xi + sinStack[i]); // d(sin(x)·x + 0.5)/dx = cos(x)·x + sin(x)
  }
  out[0] = x;
  out[1] = dx;
  return out;
}

// ---- 3. adnn: one graph node per op, then backprop ------------------------------------------------------------------
function adnnGrad(x0, n, out) {
  const input = ad.lift(x0);
  let x = input;
  for (let i = 0; i < n; i++) x = ad.scalar.add(ad.scalar.mul(ad.scalar.sin(x), x), 0.5);
  x.backprop();
  out[0] = ad.value(x);
  out[1] = ad.derivative(input);
  return out;
}

// ---- 4. tracegrad: the user's plain function, traced ---------------------------------------------------------------
function chain(x) { for (let i = 0; i < 1000; i++) x = Math.sin(x) * x + 0.5; return x }
function chainShort(x) { for (let i = 0; i < 10; i++) x = Math.sin(x) * x + 0.5; return x }
// A new function object with the same source each call, so every cold copy is traced from scratch.
const freshChain = () => function chain(x) { for (let i = 0; i < 1000; i++) x = Math.sin(x) * x + 0.5; return x };


// ---- gradient checks -----------------------------------------------------------------------------------------------
function fail(msg) {
  console.error(`chain.mjs: gradient check FAILED: ${msg}\nNo timings reported.`);
  process.exit(1);
}
const relErr = (a, b) => Math.abs(a - b) / Math.abs(b);
// Fourth-order central difference (5-point stencil): error ~1e-10 relative on the short chain at h = 1e-4.
function centralDiff(f, x, h = 1e-4) {
  return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h);
}
// Reads the single partial out of tracegrad's `[dx]`, refusing anything else (a Promise, an object, a bare number).
function tgPartial(tg, fn, x) {
  let g;
  try {
    g = tg.gradient(fn, x);
  } catch (e) {
    console.error(e);
    fail(`tracegrad gradient(f, ${x}) threw: ${e.message}`);
  }
  if (g == null || typeof g[0] !== 'number') {
    fail(`tracegrad gradient(f, ${x}) returned ${Object.prototype.toString.call(g)}, expected [dx]`);
  }
  return g[0];
}
function expectClose(who, what, got, want) {
  const e = relErr(got, want);
  if (!(e < TOL)) fail(`${who}: ${what}: got ${got}, expected ${want} (relative error ${e.toExponential(2)} ≥ ${TOL})`);
  return e;
}
class CheckFailure extends Error {}
/** jax-js's grad recurses once per recorded op, deeper than Node's default stack allows on long chains. */
const stackHint = (e) => (e instanceof RangeError && /call stack/.test(e.message)
  ? ' (jax-js recurses per recorded op; `node --stack-size=2000`, as bench/run.mjs runs every suite, gives it room)' : '');

/**
 * One contender { name, grad(x0, n) -> dx, value?(x0, n) -> x_final }: its worst relative error, or a CheckFailure.
 * tol and absFloor: a result passes when its relative error is below tol or its absolute error at most absFloor.
 */
function checkOne(c, { tol = TOL, absFloor = 0 } = {}) {
  const out = new Float64Array(2);
  let worst = 0;
  const close = (what, got, want) => {
    const e = relErr(got, want);
    if (!(e < tol || Math.abs(got - want) <= absFloor)) {
      throw new CheckFailure(`${c.name}: ${what}: got ${got}, expected ${want} (relative error ${e.toExponential(2)} ≥ ${tol})`);
    }
    return Math.abs(got - want) <= absFloor ? 0 : e;
  };
  for (const x0 of CHECK_POINTS) {
    // Short chain: against the finite difference of the primal and against the hand-written gradient.
    const fd = centralDiff((x) => primal(x, SHORT_STEPS), x0);
    const handShort = handReverse(x0, SHORT_STEPS, out)[1];
    // Long chain: against the hand-written gradient, the value against the primal.
    const handLong = handReverse(x0, STEPS, out)[1];
    const primalLong = primal(x0, STEPS);
    const shortName = `d x_${SHORT_STEPS}/d x0 at x0 = ${x0}`;
    const longName = `d x_${STEPS}/d x0 at x0 = ${x0}`;
    const gs = c.grad(x0, SHORT_STEPS);
    worst = Math.max(worst, close(`${shortName} vs central difference`, gs, fd));
    close(`${shortName} vs hand-written`, gs, handShort);
    worst = Math.max(worst, close(`${longName} vs hand-written`, c.grad(x0, STEPS), handLong));
    if (c.value) close(`x_${STEPS} at x0 = ${x0} vs primal`, c.value(x0, STEPS), primalLong);
  }
  return worst;
}

// contenders: [{ name, grad(x0, n) -> dx, value?(x0, n) -> x_final }]; any failure ends the run
function checkGradients(contenders) {
  let worst = 0;
  for (const c of contenders) {
    try {
      worst = Math.max(worst, checkOne(c));
    } catch (e) {
      if (e instanceof CheckFailure) fail(e.message);
      throw e;
    }
  }
  return worst;
}

// ---- peers: tfjs and jax-js, the chain written with their scalar ops -------------------------------------------------
/** Each peer: { name, precision, enter() → skip reason | null, run(x0, n) → [x_final, dx] }. */
async function loadPeers() {
  const peers = [];
  const skipped = [];
  const tfPeer = await loadTfjs();
  if (tfPeer.skip) skipped.push({ name: 'tfjs', reason: tfPeer.skip });
  else {
    const { tf } = tfPeer;
    const chainTf = (n) => tf.valueAndGrad((x) => {
      for (let i = 0; i < n; i++) x = tf.add(tf.mul(tf.sin(x), x), 0.5);
      return x;
    });
    const byLength = new Map([[SHORT_STEPS, chainTf(SHORT_STEPS)], [STEPS, chainTf(STEPS)]]);
    for (const backend of ['cpu', 'wasm']) {
      peers.push({
        name: `tfjs ${backend}`, precision: 'float32', enter: () => useTfBackend(tfPeer, backend), info: () => tfBackendInfo(tfPeer),
        run: (x0, n) => tf.tidy(() => {
          const { value, grad } = byLength.get(n)(tf.scalar(x0));
          return [value.dataSync()[0], grad.dataSync()[0]];
        }),
      });
    }
  }
  const jaxPeer = await loadJax();
  if (jaxPeer.skip) skipped.push({ name: 'jax-js', reason: jaxPeer.skip });
  else {
    const { jax } = jaxPeer;
    const np = jax.numpy;
    // jax-js arrays are reference-counted: x is used twice per step, so the first use takes x.ref
    const chainJax = (n) => jax.valueAndGrad((x) => {
      for (let i = 0; i < n; i++) x = np.sin(x.ref).mul(x).add(0.5);
      return x;
    });
    const byLength = new Map([[SHORT_STEPS, chainJax(SHORT_STEPS)], [STEPS, chainJax(STEPS)]]);
    peers.push({
      name: `jax-js ${jaxPeer.version} eager`, precision: 'float64, approximate sin', enter: async () => null,
      info: () => 'wasm device, float64',
      run: (x0, n) => {
        const [value, grad] = byLength.get(n)(np.array(x0, { dtype: np.float64 }));
        return [value.dataSync()[0], grad.dataSync()[0]];
      },
    });
    skipped.push({ name: `jax-js ${jaxPeer.version} jit`, reason: JAX_JIT_SKIP });
  }
  return { peers, skipped };
}

// ---- measurement ---------------------------------------------------------------------------------------------------
const nowNs = () => process.hrtime.bigint();

function measureCold(tg) {
  const copies = [];
  const start = nowNs();
  for (let k = 0; k < COLD_COPIES; k++) {
    const fn = freshChain();
    const t0 = nowNs();
    const tf = tg.traced(fn);
    const t1 = nowNs();
    const dx = tgPartial(tg, tf, X0);
    const t2 = nowNs();
    copies.push({ tracedNs: Number(t1 - t0), firstCallNs: Number(t2 - t1), dx });
    if (Number(t2 - start) / 1e6 > COLD_BUDGET_MS) break;
  }
  return copies;
}

function runSuite(cases) {
  const suite = new Benchmark.Suite('scalar chain');
  // With no setup/teardown benchmark.js calls each fn as it is (no decompilation), so closures over this module work.
  for (const [name, fn] of cases) suite.add(name, fn, { maxTime: MAX_TIME });
  suite.on('cycle', (ev) => note(`  ${String(ev.target)}`));
  suite.on('error', (ev) => fail(`benchmark ${ev.target.name} threw: ${ev.target.error}`));
  suite.run({ async: false });
  const median = (xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length % 2 ? sorted[sorted.length >> 1] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  };
  return suite.map((b) => ({
    name: b.name,
    nsPerEval: 1e9 / b.hz,
    medianNsPerEval: 1e9 * median(b.stats.sample),
    rmePercent: b.stats.rme,
    samples: b.stats.sample.length,
  }));
}

// ---- main ----------------------------------------------------------------------------------------------------------
const { tg, skip: tgSkip } = await loadTracegrad(['gradient', 'traced']);
if (tgSkip) note(`tracegrad contenders skipped: ${tgSkip}`);

// Cold first, so that copy 0 is the first gradient call of the whole process (library code not yet warm either).
// Its results are checked against the hand-written gradient before anything is reported.
let cold = null;
if (tg) {
  note(`measuring tracegrad cold: first gradient call of up to ${COLD_COPIES} fresh traced(chain) copies`);
  cold = measureCold(tg);
  const want = handReverse(X0, STEPS, new Float64Array(2))[1];
  cold.forEach((c, k) => expectClose('tracegrad cold', `copy ${k}: d x_${STEPS}/d x0 at x0 = ${X0} vs hand-written`, c.dx, want));
}

const scratch = new Float64Array(2);
const chainT = tg ? tg.traced(chain) : null;
const chainShortT = tg ? tg.traced(chainShort) : null;
const contenders = [
  { name: 'hand-written reverse', grad: (x, n) => handReverse(x, n, scratch)[1], value: (x, n) => handReverse(x, n, scratch)[0] },
  { name: 'adnn', grad: (x, n) => adnnGrad(x, n, scratch)[1], value: (x, n) => adnnGrad(x, n, scratch)[0] },
];
if (tg) {
  contenders.push({
    name: 'tracegrad',
    grad: (x, n) => {
      if (n === STEPS) return tgPartial(tg, chainT, x);
      if (n === SHORT_STEPS) return tgPartial(tg, chainShortT, x);
      throw new Error(`no traced chain of ${n} steps`);
    },
  });
}
const worst = checkGradients(contenders);
const { peers, skipped: peerSkips } = PEERS ? await loadPeers() : { peers: [], skipped: [{ name: 'tfjs, jax-js', reason: '--no-peers' }] };
const checkedPeers = [];
for (const p of peers) {
  const reason = await p.enter();
  if (reason) {
    peerSkips.push({ name: p.name, reason });
    continue;
  }
  // A peer that throws, or whose gradient is wrong, is not timed; it is listed with the reason.
  try {
    const e = checkOne({ name: p.name, grad: (x, n) => p.run(x, n)[1], value: (x, n) => p.run(x, n)[0] }, PEER_TOL[p.precision]);
    note(`  peer check passed: ${p.name} (${p.info()}, ${p.precision}): worst relative error ${e.toExponential(2)}`);
    checkedPeers.push(p);
  } catch (e) {
    const reason = e instanceof CheckFailure ? `gradient check FAILED: ${e.message}` : `threw: ${e.message.split('\n')[0]}${stackHint(e)}`;
    note(`  ${p.name}: ${reason}; not timed`);
    peerSkips.push({ name: p.name, reason });
  }
}
const fdLong = centralDiff((x) => primal(x, STEPS), X0);
note(`gradient checks passed (${contenders.map((c) => c.name).join(', ')}): ${SHORT_STEPS}-step chain vs central ` +
  `difference and hand-written, ${STEPS}-step chain vs hand-written, at x0 = ${CHECK_POINTS.join(', ')}; ` +
  `worst relative error ${worst.toExponential(2)}`);
note(`  (d x_${STEPS}/d x0 at ${X0} = ${handReverse(X0, STEPS, scratch)[1].toExponential(4)}; the finite difference of ` +
  `the ${STEPS}-step primal is ${fdLong}, hence the ${SHORT_STEPS}-step chain for that check)`);

const cases = [
  ['primal', () => { sink += primal(X0, STEPS); }],
  ['hand-written reverse', () => { sink += handReverse(X0, STEPS, scratch)[1]; }],
  ['adnn', () => { sink += adnnGrad(X0, STEPS, scratch)[1]; }],
];
if (tg) {
  // the two tiers side by side: the tape interpreter (compilation switched off for the call) and compiled code
  const chainI = tg.traced(chain);
  cases.push(['tracegrad interpreter', () => {
    tg.jit.enabled = false;
    sink += tg.gradient(chainI, X0)[0];
    tg.jit.enabled = true;
  }]);
  cases.push(['tracegrad steady', () => { sink += tg.gradient(chainT, X0)[0]; }]);
}
note(`running benchmark.js (maxTime ${MAX_TIME} s per contender)`);
const timed = runSuite(cases);
for (const p of checkedPeers) {
  await p.enter(); // tfjs switches backends asynchronously, so each peer is its own suite
  const [row] = runSuite([[p.name, () => { sink += p.run(X0, STEPS)[1]; }]]);
  timed.push({ ...row, precision: p.precision, peer: true });
}

// ---- report --------------------------------------------------------------------------------------------------------
const rows = timed.map((r) => ({ ...r, nsPerOp: r.nsPerEval / OPS, medianNsPerOp: r.medianNsPerEval / OPS, method: 'benchmark.js' }));
if (cold) {
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const firstCall = mean(cold.map((c) => c.firstCallNs));
  const steadyAt = rows.findIndex((r) => r.name === 'tracegrad steady');
  rows.splice(steadyAt, 0, {
    name: 'tracegrad cold',
    nsPerEval: firstCall,
    nsPerOp: firstCall / OPS,
    method: `first gradient call of a fresh traced(chain), mean of ${cold.length} copies`,
    copies: cold.length,
    firstInProcessNsPerOp: cold[0].firstCallNs / OPS,
    tracedCallNs: mean(cold.map((c) => c.tracedNs)),
  });
}
const primalNs = rows.find((r) => r.name === 'primal').nsPerOp;
const handNs = rows.find((r) => r.name === 'hand-written reverse').nsPerOp;
const primalMedian = rows.find((r) => r.name === 'primal').medianNsPerOp;
const handMedian = rows.find((r) => r.name === 'hand-written reverse').medianNsPerOp;
for (const r of rows) {
  r.ratios = { primal: r.nsPerOp / primalNs, handWritten: r.nsPerOp / handNs };
  // the cold row is one call per copy: its median is its mean
  const med = r.medianNsPerOp ?? r.nsPerOp;
  r.medianRatios = { primal: med / primalMedian, handWritten: med / handMedian };
}
const skipped = [...(tgSkip ? ['tracegrad cold', 'tracegrad steady'].map((name) => ({ name, reason: tgSkip })) : []), ...peerSkips];

if (JSON_OUT) {
  const results = rows.map(({ name, nsPerOp, ratios, ...rest }) => ({ name, nsPerOp, ratios, ...rest }));
  console.log(JSON.stringify({
    benchmark: 'scalar chain: x = Math.sin(x) * x + 0.5, value + d(x_final)/d(x0) (primal: value only)',
    steps: STEPS, opsPerEval: OPS, x0: X0,
    node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length,
    results, skipped,
  }, null, 2));
} else {
  const fmt = (x, d) => x.toFixed(d);
  const table = [['contender', 'ns/op', '±%', '÷ primal', '÷ hand-written']];
  for (const r of rows) {
    table.push([r.name, fmt(r.nsPerOp, r.nsPerOp < 100 ? 2 : 0), r.rmePercent === undefined ? '-' : fmt(r.rmePercent, 1),
      fmt(r.ratios.primal, 2), fmt(r.ratios.handWritten, 2)]);
  }
  for (const s of skipped) table.push([s.name, 'skipped', '', '', '']);
  const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
  const line = (row) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ').trimEnd();
  console.log(`scalar chain: ${STEPS} × x = sin(x)·x + 0.5 (${OPS} primitive ops per evaluation), x0 = ${X0}; ` +
    `${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('primal is value only; the others are value + gradient. ns/op = time per evaluation / 3000.');
  console.log(table.map(line).join('\n'));
  const c = rows.find((r) => r.name === 'tracegrad cold');
  if (c) {
    console.log(`tracegrad cold = ${c.method}; first call in the process ${fmt(c.firstInProcessNsPerOp, 0)} ns/op; ` +
      `traced() itself ${fmt(c.tracedCallNs / 1e3, 1)} µs`);
  }
  for (const s of skipped) console.log(`${s.name} skipped: ${s.reason}`);
  if (checkedPeers.some((p) => p.precision === 'float32')) console.log('tfjs computes in float32 (no float64 on its cpu and wasm backends).');
}
if (Number.isNaN(sink)) note('(sink is NaN)'); // keeps the sink observable
