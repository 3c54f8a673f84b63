// Benchmark of scalar-loop workloads (Rosenbrock, evalpoly, a sum loop): primal, hand-written gradient, tracegrad's interpreter and default tier, adnn, tfjs (cpu, wasm) and jax-js side by side, every gradient checked before any timing.
//
// Usage: node bench/scalar.mjs <rosenbrock|evalpoly|sumloop> [--json] [--no-peers]   (after `npm run build`)
//   The workloads are in bench/workloads/. The table goes to stdout; progress and check reports to stderr, so with
//   --json stdout is JSON only. --no-peers leaves out tfjs and jax-js (adnn stays: it is cheap).
//   Checks first: the hand-written gradient against Richardson finite differences of the primal on a few entries, then
//   every contender's value and gradient against the hand-written ones; a failed check exits 1 before any timing.
//   A peer (tfjs, jax-js) that cannot load or start, or throws, is skipped with the reason; one whose gradient is
//   wrong is not timed and is listed with the failed check.

import { cpus } from 'node:os';
import Benchmark from 'benchmark';
import { loadTracegrad, interleaved } from './lib/harness.mjs';
import ad from 'adnn/ad/index.js'; // adnn has no "exports" map; ESM cannot resolve the bare directory 'adnn/ad'
import { richardsonEstimate } from '../test/helpers/reference.mjs';
import { jaxValueAndGrad, loadJax, loadTfjs, tfBackendInfo, tfValueAndGrads, useTfBackend, versionOf } from './peers.mjs';

const WORKLOADS = ['rosenbrock', 'evalpoly', 'sumloop'];
const INTO = 'tracegrad default, into buffers';
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (positional.length !== 1 || !WORKLOADS.includes(positional[0])) {
  console.error(`usage: node bench/scalar.mjs <${WORKLOADS.join('|')}> [--json] [--no-peers]`);
  process.exit(2);
}
const W = (await import(`./workloads/${positional[0]}.mjs`)).default;
const JSON_OUT = process.argv.includes('--json');
const PEERS = !process.argv.includes('--no-peers');

const MAX_TIME = 1.5; // seconds of benchmark.js sampling per fast contender
const ROUNDS = 3; // interleaved rounds for the primal, the hand-written gradient and tracegrad's default tier
const WARM_MS = 300; // calls before benchmark.js starts, so V8 has optimised what it will time
// A contender whose second call takes longer than SLOW_MS is timed call by call instead: at least SLOW_MIN_CALLS calls,
// more while the budget lasts (benchmark.js would spend many seconds calibrating a call that takes one).
const SLOW_MS = 25;
const SLOW_BUDGET_MS = 3000;
const SLOW_MIN_CALLS = 3;
const SLOW_MAX_CALLS = 20;
// Relative error allowed against the hand-written gradient: normwise per argument (max |Δ| ÷ max |reference|).
// float64 contenders repeat the same arithmetic; float32 ones (tfjs has no float64) round every op to 24 bits, and
// for them a workload may state the magnitude Σ|terms| of a sum with cancellation (see checkContender).
// jax-js computes float64, but its exp/log/sin/pow are only about float32-accurate (exp ~1e-6, log ~1e-5 relative
// here; x^k through exp(k·log x) is off by 12 % at k = 10⁴): a row that needs them is judged as float32.
const TOL = { float64: 1e-10, float32: 1e-4, 'float64, approximate pow': 1e-4 };
const FD_TOL = 1e-7; // hand-written partials vs Richardson finite differences: relative, floor 1

const note = (...a) => console.error(...a);
let sink = 0; // every timed call feeds its result here so nothing is dead code
const nowMs = () => performance.now();

/** jax-js's grad recurses once per recorded op, deeper than Node's default stack allows on long loops. */
const stackHint = (e) => (e instanceof RangeError && /call stack/.test(e.message)
  ? ' (jax-js recurses per recorded op; `node --stack-size=2000`, as bench/run.mjs runs every suite, gives it room)' : '');

function fail(msg) {
  console.error(`scalar.mjs ${W.name}: check FAILED: ${msg}\nNo timings reported.`);
  process.exit(1);
}


// ---- the contenders: each `make()` returns fn(...args) → { value, grad: one entry per argument } -------------------
// group: reference | tracegrad | adnn | tfjs | jax; n: the size it runs at, or sizes: those to try, largest first (a
// peer that throws at one size is tried at the next); enter(): switches a peer's backend first (resolves to a skip
// reason or null).

async function contenders() {
  const list = [];
  const skipped = [];
  const versions = { adnn: versionOf('adnn') };
  const notes = [];

  const { tg, skip: tgSkip } = await loadTracegrad(['withGradient', 'withGradientInto', 'traced', 'jit', 'tierOf']);
  if (tgSkip) {
    skipped.push({ name: 'tracegrad', reason: tgSkip });
  } else {
    const fI = tg.traced(W.primal); // only ever called with compilation off
    const fD = tg.traced(W.primal);
    list.push({
      name: 'tracegrad interpreter', group: 'tracegrad', n: W.n, precision: 'float64',
      tier: () => 'interpreted (jit.enabled = false)',
      make: () => (...a) => {
        tg.jit.enabled = false;
        try {
          return tg.withGradient(fI, ...a);
        } finally {
          tg.jit.enabled = true;
        }
      },
    });
    list.push({
      name: 'tracegrad default', group: 'tracegrad', n: W.n, precision: 'float64',
      tier: () => tg.tierOf(fD), make: () => (...a) => tg.withGradient(fD, ...a),
    });
    // the same, writing the array arguments' gradients into buffers kept between calls (as an optimiser would)
    const fB = tg.traced(W.primal);
    list.push({
      name: INTO, group: 'tracegrad', n: W.n, precision: 'float64', tier: () => tg.tierOf(fB),
      make: () => {
        const buffers = W.args(W.n).map((a) => (typeof a === 'number' ? null : new Float64Array(a.length)));
        return (...a) => tg.withGradientInto(buffers, fB, ...a);
      },
    });
  }
  list.push({ name: `adnn ${versions.adnn}`, group: 'adnn', n: W.n, precision: 'float64', make: () => (...a) => W.adnn(ad, ...a) });

  if (!PEERS) {
    skipped.push({ name: 'tfjs, jax-js', reason: '--no-peers' });
    return { list, skipped, versions, notes };
  }
  const tfPeer = await loadTfjs();
  if (tfPeer.skip) {
    skipped.push({ name: 'tfjs', reason: tfPeer.skip });
  } else {
    versions.tfjs = tfPeer.versions.tfjs;
    const { tf } = tfPeer;
    for (const backend of ['cpu', 'wasm']) {
      const enter = () => useTfBackend(tfPeer, backend);
      list.push({
        name: `tfjs ${backend}, scalar loop`, group: 'tfjs', sizes: W.peerN.tfjs, precision: 'float32', enter,
        info: () => tfBackendInfo(tfPeer), make: () => tfValueAndGrads(tf, W.tfLoss(tf)),
      });
    }
    for (const backend of ['cpu', 'wasm']) {
      list.push({
        name: `tfjs ${backend}, vectorised`, group: 'tfjs', vectorised: true, n: W.n, precision: 'float32',
        enter: () => useTfBackend(tfPeer, backend), info: () => tfBackendInfo(tfPeer),
        make: () => tfValueAndGrads(tf, W.tfVector(tf)),
      });
    }
  }
  const jaxPeer = await loadJax();
  if (jaxPeer.skip) {
    skipped.push({ name: 'jax-js', reason: jaxPeer.skip });
  } else {
    versions.jax = jaxPeer.version;
    const { jax } = jaxPeer;
    list.push({
      name: 'jax-js eager, scalar loop', group: 'jax', sizes: W.peerN.jaxEager, precision: 'float64',
      make: () => jaxValueAndGrad(jax, W.jaxLoss(jax.numpy), W.argNames.length, { jit: false }),
    });
    list.push({
      name: 'jax-js jit, scalar loop', group: 'jax', sizes: W.peerN.jaxJit, precision: 'float64',
      make: () => jaxValueAndGrad(jax, W.jaxLoss(jax.numpy), W.argNames.length, { jit: true }),
    });
    list.push({
      name: 'jax-js jit, vectorised', group: 'jax', vectorised: true, n: W.n,
      precision: W.jaxVectorUsesPow ? 'float64, approximate pow' : 'float64',
      make: () => jaxValueAndGrad(jax, W.jaxVector(jax.numpy), W.argNames.length, { jit: true }),
    });
  }
  return { list, skipped, versions, notes };
}

// ---- checks ----------------------------------------------------------------------------------------------------------
const isArray = (v) => ArrayBuffer.isView(v) || Array.isArray(v);

/**
 * Normwise relative error of got against want (numbers or arrays): max |Δ| ÷ scale, where scale is max |want| unless
 * given. NaN, a wrong type or length count as Infinity.
 */
function normwiseError(got, want, scale) {
  if (typeof want === 'number') {
    if (typeof got !== 'number') return Infinity;
    const e = Math.abs(got - want) / Math.max(scale ?? Math.abs(want), Number.MIN_VALUE);
    return Number.isNaN(e) ? Infinity : e;
  }
  if (!isArray(got) || got.length !== want.length) return Infinity;
  let diff = 0;
  let largest = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    largest = Math.max(largest, Math.abs(want[i]));
  }
  return diff / Math.max(scale ?? largest, Number.MIN_VALUE);
}

/** The hand-written partials against Richardson-extrapolated central differences of the primal (independent of AD). */
function checkHandWritten() {
  const args = W.args(W.n);
  const hand = W.hand(...args);
  const value = W.primal(...args);
  if (!(Math.abs(hand.value - value) <= 1e-12 * Math.abs(value))) fail(`hand-written value ${hand.value}, primal ${value}`);
  let worst = 0;
  for (const [a, e, options] of W.fdEntries(W.n)) {
    const at = (t) => {
      const xs = args.slice();
      if (e === null) xs[a] = t;
      else {
        xs[a] = args[a].slice();
        xs[a][e] = t;
      }
      return W.primal(...xs);
    };
    const point = e === null ? args[a] : args[a][e];
    const { value: fd } = richardsonEstimate(at, point, options);
    const mine = e === null ? hand.grad[a] : hand.grad[a][e];
    const entry = `∂f/∂${W.argNames[a]}${e === null ? '' : `[${e}]`}`;
    const err = Math.abs(mine - fd) / Math.max(1, Math.abs(fd));
    if (!(err <= FD_TOL)) fail(`hand-written ${entry} = ${mine}, finite difference ${fd} (relative error ${err.toExponential(2)})`);
    worst = Math.max(worst, err);
  }
  note(`check: hand-written gradient vs Richardson finite differences on ${W.fdEntries(W.n).length} entries: ` +
    `worst relative error ${worst.toExponential(2)} (tolerance ${FD_TOL})`);
  return worst;
}

/**
 * One contender's value and gradient against the hand-written ones at its size: `{ worst, firstCallMs }`, plus
 * `failure` (a message) when they differ. Throws what the contender throws.
 */
function checkContender(c, fn) {
  const args = W.args(c.n);
  const want = W.hand(...args);
  const t0 = nowMs();
  const got = fn(...args);
  const firstCallMs = nowMs() - t0;
  const tol = TOL[c.precision];
  // float32 rounding error grows with the terms summed, not with the (possibly much smaller) sum: where a workload
  // states Σ|terms| for a quantity (its `magnitudes`), float32 errors are measured against that.
  const mags = c.precision !== 'float64' && W.magnitudes ? W.magnitudes(...args) : null;
  let worst = normwiseError(got?.value, want.value, mags?.value);
  if (!(worst <= tol)) return { worst, firstCallMs, failure: `value ${got?.value}, hand-written ${want.value}` };
  for (let a = 0; a < W.argNames.length; a++) {
    const e = normwiseError(got.grad?.[a], want.grad[a], mags?.grad[a] ?? undefined);
    worst = Math.max(worst, e);
    if (!(e <= tol)) {
      const sample = ArrayBuffer.isView(want.grad[a])
        ? ` (first entries: got ${Array.from(got.grad?.[a]?.slice?.(0, 3) ?? []).map((v) => v.toPrecision(6)).join(', ')}; ` +
          `hand-written ${Array.from(want.grad[a].slice(0, 3), (v) => v.toPrecision(6)).join(', ')})`
        : ` (got ${got.grad?.[a]}, hand-written ${want.grad[a]})`;
      return { worst, firstCallMs, failure: `gradient w.r.t. ${W.argNames[a]} differs from the hand-written one: relative ` +
        `error ${e.toPrecision(3)}, tolerance ${tol} for ${c.precision}${mags?.grad[a] ? ' (relative to Σ|terms|)' : ''}${sample}` };
    }
  }
  return { worst, firstCallMs };
}

// ---- timing ----------------------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** A zero-argument call of fn on args without spreading in the timed loop (1 or 2 arguments). */
function thunk(fn, args, pick) {
  const [a0, a1] = args;
  return args.length === 1 ? () => { sink += pick(fn(a0)); } : () => { sink += pick(fn(a0, a1)); };
}

/** The primal, the hand-written gradient and tracegrad's default tier, timed in interleaved rounds (see harness.mjs). */
function timeInterleaved(entries) {
  return interleaved(entries, { rounds: ROUNDS, maxTime: MAX_TIME, warmMs: WARM_MS }).map((r) => {
    note(`  ${r.name}: median ${r.medianMs.toPrecision(3)} ms, ${r.samples} samples in ${ROUNDS} interleaved rounds`);
    return { medianMs: r.medianMs, meanMs: r.meanMs, rmePercent: r.rmePercent, samples: r.samples,
      method: `benchmark.js, ${ROUNDS} rounds interleaved with the primal and the hand-written gradient` };
  });
}

/** The fastest of `count` calls, in ms: whether a call is fast is judged by it, since one call can take a GC pause. */
function fastestCall(call, count = 3) {
  let best = Infinity;
  for (let i = 0; i < count; i++) {
    const t0 = nowMs();
    call();
    best = Math.min(best, nowMs() - t0);
  }
  return best;
}

function time(name, call) {
  const secondMs = fastestCall(call, 2);
  if (secondMs < SLOW_MS) {
    const end = nowMs() + WARM_MS;
    while (nowMs() < end) call();
    const b = new Benchmark(name, call, { maxTime: MAX_TIME });
    b.run({ async: false });
    if (b.error) throw b.error;
    note(`  ${String(b)}`);
    return { medianMs: 1e3 * median(b.stats.sample), meanMs: 1e3 * b.stats.mean, rmePercent: b.stats.rme,
      samples: b.stats.sample.length, method: 'benchmark.js' };
  }
  const times = [secondMs];
  const start = nowMs();
  while (times.length < SLOW_MAX_CALLS && (times.length < SLOW_MIN_CALLS || nowMs() - start < SLOW_BUDGET_MS)) {
    const t = nowMs();
    call();
    times.push(nowMs() - t);
  }
  const mean = times.reduce((s, t) => s + t, 0) / times.length;
  note(`  ${name}: median ${median(times).toFixed(2)} ms over ${times.length} calls`);
  return { medianMs: median(times), meanMs: mean, rmePercent: undefined, samples: times.length, method: `${times.length} single calls` };
}

// ---- main ----------------------------------------------------------------------------------------------------------
note(`${W.name}: ${W.title}`);
const fdWorst = checkHandWritten();
const handBuffers = W.args(W.n).map((a) => (typeof a === 'number' ? null : new Float64Array(a.length)));
const handInto = (...a) => W.handInto(handBuffers, ...a);
{
  // the hand-written gradient into buffers: the same numbers as the allocating one (same arithmetic), bit for bit
  const args = W.args(W.n);
  const [want, got] = [W.hand(...args), handInto(...args)];
  const differs = !Object.is(got.value, want.value) || want.grad.some((g, a) => (typeof g === 'number' ? !Object.is(g, got.grad[a])
    : g.some((v, i) => !Object.is(v, got.grad[a][i]))));
  if (differs) fail('the hand-written gradient into buffers differs from the allocating one');
}
const { list, skipped, versions } = await contenders();

// 1. every check, before any timing
const checked = [];
for (const c of list) {
  if (c.enter) {
    const reason = await c.enter();
    if (reason) {
      skipped.push({ name: c.name, reason });
      note(`  ${c.name}: skipped: ${reason}`);
      continue;
    }
  }
  // A peer that throws cannot run this workload at that size: it is tried at the next size, else skipped. A peer
  // whose gradient is wrong is not timed and is reported as such (a finding about that peer, not a reason to drop the
  // whole suite). tracegrad, adnn or the hand-written code throwing or disagreeing fails the run.
  const isPeer = c.group === 'tfjs' || c.group === 'jax';
  const tried = [];
  let passed = null;
  for (const n of c.sizes ?? [c.n]) {
    const at = { ...c, n };
    let fn;
    let r;
    try {
      fn = c.make();
      r = checkContender(at, fn);
    } catch (e) {
      if (!isPeer) {
        console.error(e);
        fail(`${c.name} threw: ${e.message}`);
      }
      tried.push(`at n = ${n} it threw: ${e.message.split('\n')[0].slice(0, 160)}${stackHint(e)}`);
      note(`  ${c.name}: ${tried.at(-1)}`);
      continue;
    }
    if (r.failure) {
      if (!isPeer) fail(`${c.name} (n = ${n}): ${r.failure}`);
      tried.push(`gradient check FAILED at n = ${n}: ${r.failure}`);
      note(`  ${c.name}: ${tried.at(-1)}; not timed`);
      break;
    }
    const info = c.info?.() ?? '';
    note(`  check passed: ${c.name} (n = ${n}, ${c.precision}${info ? `, ${info}` : ''}): normwise relative error ` +
      `${r.worst.toExponential(2)}; first call ${r.firstCallMs.toFixed(1)} ms`);
    passed = { ...at, fn, checkError: r.worst, firstCallMs: r.firstCallMs, tierText: c.tier?.(), ...(tried.length ? { fallback: tried.join('; ') } : {}) };
    break;
  }
  if (passed) checked.push(passed);
  else skipped.push({ name: c.name, reason: tried.join('; ') });
}
note(`checks done: hand-written vs finite differences passed; ${checked.length} contenders agree with the hand-written ` +
  `gradient${skipped.length ? `; not timed: ${skipped.map((s) => s.name).join(', ')}` : ''}`);

// 2. timing: the primal and the hand-written gradient at every size some contender runs at, then each contender
const sizes = [...new Set([W.n, ...checked.map((c) => c.n)])].sort((a, b) => b - a);
const rows = [];
const references = new Map(); // n → { primal, hand }
// at the workload's size, tracegrad's default tier is timed in rounds interleaved with the two references (the
// target's ratio); if any of the three is too slow for benchmark.js, each is timed on its own
const interleavedTimes = new Map(); // contender name → timing
for (const n of sizes) {
  const args = W.args(n);
  const suffix = n === W.n ? '' : ` (n = ${n})`;
  const primalCall = thunk(W.primal, args, (v) => v), handCall = thunk(W.hand, args, (r) => r.value);
  const main = n === W.n ? checked.find((c) => c.name === 'tracegrad default' && c.n === n) : undefined;
  const mainInto = n === W.n ? checked.find((c) => c.name === INTO && c.n === n) : undefined;
  const quick = (call) => fastestCall(call) < SLOW_MS;
  let primalTime, handTime;
  const handIntoCall = thunk(handInto, args, (r) => r.value);
  const group = [[`primal${suffix}`, primalCall], [`hand-written${suffix}`, handCall],
    ...(main ? [[main.name, thunk(main.fn, args, (r) => r.value)]] : []),
    ...(mainInto ? [['hand-written, into buffers', handIntoCall], [mainInto.name, thunk(mainInto.fn, args, (r) => r.value)]] : [])];
  if (main && group.every(([, call]) => quick(call))) {
    const [p, h, d, hi, di] = timeInterleaved(group);
    [primalTime, handTime] = [p, h];
    interleavedTimes.set(main.name, d);
    if (mainInto) {
      interleavedTimes.set(mainInto.name, di);
      references.set(`${n} into`, { name: 'hand-written gradient, into buffers', group: 'reference', n, precision: 'float64', ...hi });
    }
  } else {
    primalTime = time(`primal${suffix}`, primalCall);
    handTime = time(`hand-written${suffix}`, handCall);
  }
  const primal = { name: `primal${suffix}`, group: 'reference', n, precision: 'float64', ...primalTime };
  const hand = { name: `hand-written gradient${suffix}`, group: 'reference', n, precision: 'float64', ...handTime };
  references.set(n, { primal, hand });
  rows.push(primal, hand);
  if (references.has(`${n} into`)) rows.push(references.get(`${n} into`));
}
for (const c of checked) {
  if (c.enter) await c.enter();
  const args = W.args(c.n);
  try {
    const t = interleavedTimes.get(c.name) ?? time(c.name, thunk(c.fn, args, (r) => r.value));
    rows.push({ name: c.name, group: c.group, n: c.n, precision: c.precision, vectorised: Boolean(c.vectorised),
      ...t, firstCallMs: c.firstCallMs, checkError: c.checkError, ...(c.tierText ? { tier: c.tierText } : {}),
      ...(c.fallback ? { fallback: c.fallback } : {}) });
  } catch (e) {
    skipped.push({ name: c.name, reason: `threw while timed: ${e.message}` });
  }
}
for (const r of rows) {
  const ref = references.get(r.n);
  r.ratios = { primal: r.medianMs / ref.primal.medianMs, handWritten: r.medianMs / ref.hand.medianMs };
}
// ÷ hand-written for rows writing into buffers: against the hand-written gradient doing the same
for (const r of rows) if (r.name === INTO && references.has(`${r.n} into`)) r.ratios.handWritten = r.medianMs / references.get(`${r.n} into`).medianMs;

const targets = [];
const tgDefault = rows.find((r) => r.name === 'tracegrad default');
if (tgDefault) {
  // a target below the hand-written gradient's own ratio says so: tracegrad would have to beat the hand-written code
  const hand = references.get(W.n).hand.ratios.primal;
  targets.push({ what: `${W.name}: tracegrad default gradient ÷ primal ≤ ${W.target}`, value: tgDefault.ratios.primal,
    limit: W.target, met: tgDefault.ratios.primal <= W.target,
    ...(hand > W.target ? { context: `the hand-written gradient itself is ${hand.toFixed(2)}× the primal in this run` } : {}) });
  // the same target with the gradient written into kept buffers (withGradientInto), beside the hand-written code doing so
  const tgInto = rows.find((r) => r.name === INTO);
  const handIntoRow = references.get(`${W.n} into`);
  if (tgInto && handIntoRow) {
    targets.push({ what: `${W.name}: tracegrad gradient into buffers (withGradientInto) ÷ primal ≤ ${W.target}`, value: tgInto.ratios.primal,
      limit: W.target, met: tgInto.ratios.primal <= W.target,
      context: `the hand-written gradient into buffers is ${handIntoRow.ratios.primal.toFixed(2)}× the primal; tracegrad into buffers is ${(tgInto.medianMs / handIntoRow.medianMs).toFixed(2)}× it` });
  }
} else {
  targets.push({ what: `${W.name}: tracegrad default gradient ÷ primal ≤ ${W.target}`, value: null, limit: W.target, met: false,
    reason: 'tracegrad not run' });
}
const notes = [
  'Every gradient row returns the value and the gradient with respect to every argument as JS data (numbers, ' +
  'Float64Arrays): peers include converting the inputs to their tensors and reading the gradient back.',
];
if (interleavedTimes.size > 0) {
  notes.push(`primal, hand-written gradient${references.has(`${W.n} into`) ? ' (allocating and into buffers)' : ''} and ${[...interleavedTimes.keys()].join(', ')} at n = ${W.n}: timed in ${ROUNDS} ` +
    'interleaved benchmark.js rounds, samples pooled (the target\'s ratio from the same windows); the other rows one after the other.');
}
if (interleavedTimes.has(INTO)) {
  notes.push(`"${INTO}": withGradientInto writing the array arguments' gradients into Float64Arrays kept between calls (as an ` +
    'optimiser or ADBench\'s harness keeps its Jacobian); its ÷ hand-written is against the hand-written gradient writing into kept buffers too.');
}
const smaller = checked.filter((c) => c.n !== W.n && !c.fallback);
if (smaller.length) {
  notes.push(`${smaller.map((c) => c.name).join(', ')}: measured at a smaller n (stated per row), because they record one ` +
    `graph node per scalar op and take seconds per gradient at n = ${W.n}; their ratios are to the primal and the ` +
    'hand-written gradient timed at the same n.');
}
for (const c of checked.filter((c) => c.fallback)) notes.push(`${c.name} runs at n = ${c.n}: ${c.fallback}.`);
if (checked.some((c) => c.vectorised)) {
  notes.push(`This workload vectorises: the "vectorised" rows are the peers' whole-array rewrite (${W.name === 'sumloop' ? 'one sum' : 'tensor ops'}), ` +
    'not the plain scalar loop the comparison is about.');
}
if (checked.some((c) => c.precision === 'float32')) notes.push('tfjs computes in float32 (its cpu and wasm backends have no float64).');
if (checked.some((c) => c.precision === 'float64, approximate pow')) {
  notes.push('jax-js computes in float64, but its pow (exp(k·log x)) is only about float32-accurate (12 % off at x^10⁴ ' +
    'here): its vectorised row is checked at the float32 tolerance.');
}

if (JSON_OUT) {
  console.log(JSON.stringify({
    suite: 'scalar', workload: W.name, benchmark: W.title, n: W.n, target: W.target,
    node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, versions,
    checks: { handVsFiniteDifferences: fdWorst, tolerance: TOL, fdTolerance: FD_TOL },
    results: rows, skipped, targets, notes,
  }, null, 2));
} else {
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toPrecision(3));
  const table = [['contender', 'n', 'median ms', '÷ primal', '÷ hand-written', 'samples', 'first call ms', 'tier / precision']];
  for (const r of rows) {
    table.push([r.name, String(r.n), fmt(r.medianMs), fmt(r.ratios.primal), fmt(r.ratios.handWritten), String(r.samples),
      r.firstCallMs === undefined ? '' : fmt(r.firstCallMs), r.tier ?? (r.group === 'reference' ? '' : r.precision)]);
  }
  for (const s of skipped) table.push([s.name, 'skipped', '', '', '', '', '', s.reason]);
  const widths = table[0].map((_v, j) => Math.max(...table.map((row) => row[j].length)));
  const right = new Set([1, 2, 3, 4, 5, 6]);
  const line = (row) => row.map((cell, j) => (right.has(j) ? cell.padStart(widths[j]) : cell.padEnd(widths[j]))).join('  ').trimEnd();
  console.log(`${W.title}; ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}`);
  console.log('primal is value only; every other row is value + gradient. Ratios are of medians, at the same n.');
  console.log(table.map(line).join('\n'));
  for (const t of targets) console.log(`target ${t.what}: ${t.value === null ? 'not run' : t.value.toFixed(2)} → ${t.met ? 'met' : 'NOT met'}${t.context ? ` (${t.context})` : ''}`);
  for (const n of notes) console.log(`note: ${n}`);
}
if (Number.isNaN(sink)) note('(sink is NaN)'); // keeps the sink observable
