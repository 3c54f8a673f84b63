// WebGPU backend (Dawn, npm `webgpu`): its kernels agree with the JS reference kernels within float32 tolerance on random shapes, a gradient through matmul on WebGPU matches finite differences, and results stay on the device until read.
import test from 'ava';
import fc from 'fast-check';
import * as JS from '../../dist/tensor/kernels.js';
import { Tensor } from '../../dist/tensor/tensor.js';
import { unaryRules, binaryRules } from '../../dist/rules/scalar.js';
import { initWebGPU, releaseWebGPU, webgpuStats, resetWebGPUStats, webgpuInfo, webgpuScope, disposeWebGPU } from '../../dist/tensor/webgpu.js';
import { sum, matmul, gradient, traced, setBackend, getBackend } from '../../dist/index.js';
import { richardsonDerivative } from '../helpers/reference.mjs';

// ---- setup: one device for the file; everything below is skipped, with the reason logged, when there is none ----

const init = await initWebGPU();
const K = typeof init === 'string' ? null : init;
const gpu = K === null ? test.skip : test;
test.after.always(() => releaseWebGPU());

test('WebGPU adapter', (t) => {
  if (K === null) t.log(`WebGPU tests skipped: ${init}`);
  else t.log(`adapter: ${JSON.stringify(webgpuInfo())}`);
  t.pass();
});

// Is setBackend('webgpu') wired to these kernels (lib/tensor/backend.ts)? The API-level tests need it.
const wired = (() => {
  if (K === null) return false;
  try {
    setBackend('webgpu');
    return true;
  } catch (e) {
    return e.message;
  } finally {
    setBackend('js');
  }
})();
const api = wired === true ? test : test.skip;
if (K !== null && wired !== true) test('setBackend(\'webgpu\')', (t) => t.log(`API-level WebGPU tests skipped: ${wired}`) || t.pass());

// ---- comparison ----

const ULP = 2 ** -23; // float32 spacing at 1, a relative unit here
const TINY = 2 ** -100; // absolute slack for results GPUs may flush to zero (float32 subnormals: WGSL allows flushing)

/** The first element where `got` and `want` differ by more than tol(i, want[i]) (NaN matches NaN), or null. */
function mismatch(got, want, tol) {
  if (!(got instanceof Tensor)) return `not a Tensor: ${got}`;
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (!JS.sameShape(got.shape, want.shape)) return `shape [${got.shape}], expected [${want.shape}]`;
  const g = got.data, w = want.data;
  for (let i = 0; i < w.length; i++) {
    const a = g[i], b = w[i];
    if (a === b || (a !== a && b !== b)) continue;
    const e = tol(i, b);
    if (!(Math.abs(a - b) <= e)) return `element ${i}: webgpu ${a}, js ${b} (|diff| ${Math.abs(a - b)} > ${e})`;
  }
  return null;
}
const check = (what, message) => {
  if (message !== null) throw new Error(`${what}: ${message}`);
  return true;
};

// ---- generators ----

const size = (shape) => shape.reduce((p, d) => p * d, 1);
const flushTiny = (v) => (Math.abs(v) < 2 ** -60 ? 0 : v);
/** float32 values in [lo, hi]; `away` pushes them at least that far from 0 (for divisors). */
const values = (n, [lo, hi, away = 0]) =>
  fc.float32Array({ minLength: n, maxLength: n, min: Math.fround(lo), max: Math.fround(hi), noNaN: true, noDefaultInfinity: true })
    .map((d) => d.map((v) => (Math.abs(v) < away ? (v < 0 ? -away : away) : flushTiny(v))));
const tensorOf = (shape, domain) => values(size(shape), domain).map((d) => new Tensor(d, shape));
const scalarOf = ([lo, hi, away = 0]) =>
  fc.float({ min: Math.fround(lo), max: Math.fround(hi), noNaN: true, noDefaultInfinity: true }).map((v) => (Math.abs(v) < away ? (v < 0 ? -away : away) : flushTiny(v)));
const shapeArb = (maxDim = 5, maxRank = 4) => fc.array(fc.integer({ min: 1, max: maxDim }), { maxLength: maxRank });
/** A shape that broadcasts to `out`: some leading axes dropped, some others set to 1. */
const operandShape = (out) =>
  fc.tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

// ---- elementwise: every rule of lib/rules/scalar.ts, by the same function objects prims.ts passes ----

const EXACT = new Set(['neg', 'pos', 'abs', 'sign', 'floor', 'ceil', 'round', 'trunc', 'fround']);
const EXP_LIKE = new Set(['exp', 'expm1', 'sinh', 'cosh', 'tanh']);
const TRIG = new Set(['sin', 'cos', 'tan', 'asin', 'acos', 'atan']);
const UNARY_DOMAIN = {
  exp: [-20, 20], expm1: [-20, 20], sinh: [-20, 20], cosh: [-20, 20], log: [1e-3, 1e3], log2: [1e-3, 1e3], log10: [1e-3, 1e3],
  log1p: [-0.99, 1e3], sqrt: [0, 1e3], tan: [-1.5, 1.5], asin: [-1, 1], acos: [-1, 1], acosh: [1, 1e3], atanh: [-0.999, 0.999],
};
/**
 * Tolerances from WGSL's accuracy rules, with margin for the formulas of lib/tensor/webgpu/wgsl.ts: exact where the
 * operation is exact or correctly rounded; exp-based functions (3 + 2|x|) ULP as WGSL's exp, doubled; the rest 16 ULP
 * (64 for tan near its poles) plus 2^-21 absolute for the trigonometric ones (argument reduction leaves ~1 ULP of π/2
 * in the reduced argument).
 */
function unaryTol(name, x) {
  if (EXACT.has(name)) return () => 0;
  return (i, r) => {
    const rel = EXP_LIKE.has(name) ? (8 + 4 * Math.abs(x[i])) * ULP : name === 'tan' ? 64 * ULP : 16 * ULP;
    return rel * Math.abs(r) + (TRIG.has(name) ? 2 ** -21 : TINY);
  };
}

gpu('map agrees with the JS kernel for every unary rule (float32, random shapes and values)', (t) => {
  const names = Object.keys(unaryRules);
  const arb = fc.constantFrom(...names).chain((name) => fc.tuple(fc.constant(name), shapeArb().chain((s) => tensorOf(s, UNARY_DOMAIN[name] ?? [-50, 50]))));
  fc.assert(fc.property(arb, ([name, x]) => {
    const f = unaryRules[name].f;
    return check(`${name} on [${x.shape}]`, mismatch(K.map(x, f), JS.map(x, f), unaryTol(name, x.data)));
  }), { numRuns: 300 });
  t.pass();
});

const BINARY = {
  // operand domains [lo, hi, away from zero], relative tolerance in ULP (0: exact, as WGSL's + - * are correctly rounded)
  add: { a: [-1e4, 1e4], b: [-1e4, 1e4], ulps: 0 },
  sub: { a: [-1e4, 1e4], b: [-1e4, 1e4], ulps: 0 },
  mul: { a: [-1e4, 1e4], b: [-1e4, 1e4], ulps: 0 },
  div: { a: [-1e4, 1e4], b: [-1e4, 1e4, 2 ** -4], ulps: 3 }, // WGSL: 2.5 ULP
  mod: { a: [-1e4, 1e4], b: [-100, 100, 2 ** -4], ulps: 0 }, // exact long division
  pow: { a: [2 ** -4, 16], b: [-4, 4], ulps: 128 }, // exp2(y·log2 x): WGSL's exp2 and log2 errors grow with |y·log2 x|
  atan2: { a: [-100, 100], b: [-100, 100], ulps: 16, atol: 2 ** -21 },
  max: { a: [-100, 100], b: [-100, 100], ulps: 0, f: Math.max },
  min: { a: [-100, 100], b: [-100, 100], ulps: 0, f: Math.min },
};
const exact = () => 0;
const binaryTol = ({ ulps, atol = TINY }) => (ulps === 0 && atol === TINY ? () => 0 : (_i, r) => ulps * ULP * Math.abs(r) + atol);

gpu('zip agrees with the JS kernel for every binary rule, with NumPy broadcasting and scalar operands', (t) => {
  const operands = (spec) =>
    shapeArb(4).chain((out) =>
      fc.oneof(
        fc.tuple(operandShape(out), operandShape(out)).chain(([sa, sb]) => fc.tuple(tensorOf(sa, spec.a), tensorOf(sb, spec.b))),
        fc.tuple(tensorOf(out, spec.a), scalarOf(spec.b)),
        fc.tuple(scalarOf(spec.a), tensorOf(out, spec.b)),
      ));
  const arb = fc.constantFrom(...Object.keys(BINARY)).chain((name) => fc.tuple(fc.constant(name), operands(BINARY[name])));
  fc.assert(fc.property(arb, ([name, [a, b]]) => {
    const f = BINARY[name].f ?? binaryRules[name].f;
    const shapes = [a, b].map((x) => (typeof x === 'number' ? x : `[${x.shape}]`)).join(' and ');
    return check(`${name} of ${shapes}`, mismatch(K.zip(a, b, f), JS.zip(a, b, f), binaryTol(BINARY[name])));
  }), { numRuns: 300 });
  t.pass();
});

gpu('pow of negative bases with integer exponents follows JavaScript (repeated squaring, signs by parity)', (t) => {
  const arb = fc.tuple(shapeArb(4, 3).chain((s) => tensorOf(s, [-16, 16])), fc.integer({ min: -6, max: 6 }));
  fc.assert(fc.property(arb, ([x, n]) => check(`pow(x, ${n})`, mismatch(K.zip(x, n, Math.pow), JS.zip(x, n, Math.pow), (_i, r) => 8 * ULP * Math.abs(r) + TINY))));
  t.pass();
});

gpu('special inputs: round halves up, sign of zero, exact fmod with large quotients, pow and atan2 edge cases', (t) => {
  const cases = [
    ['round', [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.49999997, 8388607.5]],
    ['sign', [-3, 0, 2]],
    ['floor', [-0.5, 0.5, -1]],
    ['trunc', [-1.5, 1.5]],
  ];
  for (const [name, xs] of cases) {
    const x = new Tensor(Float32Array.from(xs), [xs.length]);
    t.is(check(name, mismatch(K.map(x, unaryRules[name].f), JS.map(x, unaryRules[name].f), exact)), true);
  }
  const a = new Tensor(Float32Array.from([1e4, -1e4, 7, -7, 3.75, 1e-3, 16777215]), [7]);
  const b = new Tensor(Float32Array.from([0.1, 0.1, -2, 2, 0.5, 3, 0.3]), [7]);
  t.is(check('mod', mismatch(K.zip(a, b, binaryRules.mod.f), JS.zip(a, b, binaryRules.mod.f), exact)), true);
  const base = new Tensor(Float32Array.from([0, 0, -2, -2, 3, -0.5]), [6]), ex = new Tensor(Float32Array.from([2, -1, 3, 0, 0.5, 5]), [6]);
  t.is(check('pow', mismatch(K.zip(base, ex, Math.pow), JS.zip(base, ex, Math.pow), (_i, r) => 4 * ULP * Math.abs(r))), true);
  const y = new Tensor(Float32Array.from([0, 1, -1, 0, 1, -1]), [6]), x = new Tensor(Float32Array.from([1, 0, 0, -1, -1, -1]), [6]);
  t.is(check('atan2', mismatch(K.zip(y, x, Math.atan2), JS.zip(y, x, Math.atan2), (_i, r) => 16 * ULP * Math.abs(r))), true);
});

// ---- reductions and structural kernels ----

gpu('sumTo agrees with the JS kernel within the rounding bound of float32 sums (both summation orders)', (t) => {
  // each output sums R terms: any order of float32 additions is within (R − 1)·u·Σ|terms| of the exact sum (u = 2^-24)
  const arb = fc.oneof(shapeArb(6, 5), shapeArb(40, 3)).chain((xs) => fc.tuple(tensorOf(xs, [-10, 10]), operandShape(xs)));
  fc.assert(fc.property(arb, ([x, shape]) => {
    const want = JS.sumTo(x, shape);
    const abs = JS.sumTo(JS.astype(JS.map(x, Math.abs), 'float64'), shape).data;
    const R = x.size / Math.max(1, size(shape));
    return check(`sumTo [${x.shape}] → [${shape}]`, mismatch(K.sumTo(x, shape), want, (i) => 2 * R * ULP * abs[i] + TINY));
  }), { numRuns: 150 });
  t.pass();
});

gpu('broadcastTo, transpose, slice and padInto equal the JS kernels exactly', (t) => {
  const bcast = shapeArb().chain((out) => fc.tuple(fc.constant(out), operandShape(out).chain((s) => tensorOf(s, [-10, 10]))));
  fc.assert(fc.property(bcast, ([out, x]) => check(`broadcastTo [${x.shape}] → [${out}]`, mismatch(K.broadcastTo(x, out), JS.broadcastTo(x, out), exact))));
  const perm = shapeArb(5, 5).chain((s) => fc.tuple(tensorOf(s, [-10, 10]), fc.shuffledSubarray([...s.keys()], { minLength: s.length, maxLength: s.length })));
  fc.assert(fc.property(perm, ([x, p]) => check(`transpose [${x.shape}] by [${p}]`, mismatch(K.transpose(x, p), JS.transpose(x, p), exact))));
  const block = shapeArb(6, 4).chain((s) =>
    fc.tuple(tensorOf(s, [-10, 10]), fc.tuple(...s.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b }))))))
  );
  fc.assert(fc.property(block, ([x, bs]) => {
    const begin = bs.map(([b]) => b), sz = bs.map(([, n]) => n);
    return check(`slice [${x.shape}] at [${begin}] size [${sz}]`, mismatch(K.slice(x, begin, sz), JS.slice(x, begin, sz), exact));
  }));
  const pad = shapeArb(4, 4).chain((s) => fc.tuple(tensorOf(s, [-10, 10]), fc.tuple(...s.map(() => fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }))))));
  fc.assert(fc.property(pad, ([x, extra]) => {
    const begin = extra.map(([b]) => b), shape = x.shape.map((d, i) => d + extra[i][0] + extra[i][1]);
    // padInto adds into zeros, so the JS kernel turns −0 into +0: compare values (=== treats them as equal)
    return check(`padInto [${x.shape}] → [${shape}] at [${begin}]`, mismatch(K.padInto(x, shape, begin), JS.padInto(x, shape, begin), exact));
  }));
  t.pass();
});

gpu('gather and scatterAdd (repeated indices add up, in index order) equal the JS kernels exactly', (t) => {
  const arb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }).chain((s) =>
    fc.integer({ min: 0, max: s.length - 1 }).chain((axis) =>
      fc.array(fc.integer({ min: 0, max: s[axis] - 1 }), { minLength: 1, maxLength: 7 }).chain((idx) =>
        fc.tuple(tensorOf(s, [-10, 10]), fc.constant(axis), fc.constant(idx), tensorOf(s.map((d, i) => (i === axis ? idx.length : d)), [-10, 10])))));
  fc.assert(fc.property(arb, ([x, axis, idx, u]) => {
    check(`gather [${x.shape}] axis ${axis} [${idx}]`, mismatch(K.gather(x, idx, axis), JS.gather(x, idx, axis), exact));
    return check(`scatterAdd [${x.shape}] axis ${axis} [${idx}]`, mismatch(K.scatterAdd(x, idx, u, axis), JS.scatterAdd(x, idx, u, axis), exact));
  }));
  t.pass();
});

// ---- matmul ----

/** |C_ij − Ĉ_ij| ≤ (k + 2)·ULP·Σ_p |a_ip|·|b_pj|: float32 products and sums on the GPU, one rounding in the JS kernel. */
function matmulTol(a, b, ta, tb, k) {
  const abs = (x) => JS.astype(JS.map(x, Math.abs), 'float64');
  const bound = JS.matmul(abs(a), abs(b), ta, tb).data;
  return (i) => (k + 2) * ULP * bound[i] + TINY;
}

gpu('matmul agrees with the JS kernel: tiles crossed, batches broadcast, either operand transposed', (t) => {
  const dim = fc.integer({ min: 1, max: 70 }); // the tile is 64: sizes on both sides of it
  const arb = fc.tuple(dim, dim, dim, fc.boolean(), fc.boolean(), shapeArb(3, 2)).chain(([m, k, n, ta, tb, batch]) =>
    fc.tuple(operandShape(batch), operandShape(batch)).chain(([ba, bb]) =>
      fc.tuple(
        tensorOf([...ba, ...(ta ? [k, m] : [m, k])], [-2, 2]),
        tensorOf([...bb, ...(tb ? [n, k] : [k, n])], [-2, 2]),
        fc.constant([ta, tb, k]),
      )));
  fc.assert(fc.property(arb, ([a, b, [ta, tb, k]]) =>
    check(`matmul [${a.shape}]${ta ? 'ᵀ' : ''} × [${b.shape}]${tb ? 'ᵀ' : ''}`, mismatch(K.matmul(a, b, ta, tb), JS.matmul(a, b, ta, tb), matmulTol(a, b, ta, tb, k)))), { numRuns: 60 });
  t.pass();
});

gpu('matmul errors and fallbacks match the JS kernel (shape mismatch, float64, empty)', (t) => {
  const a = new Tensor(new Float32Array(6), [2, 3]), b = new Tensor(new Float32Array(8), [4, 2]);
  t.throws(() => K.matmul(a, b), { message: /inner dimensions 3 and 4 differ/ });
  const a64 = new Tensor(Float64Array.from([1, 2, 3, 4, 5, 6]), [2, 3]), b64 = new Tensor(Float64Array.from([1, 0, 0, 1, 1, 1]), [3, 2]);
  const c = K.matmul(a64, b64);
  t.is(c.dtype, 'float64');
  t.is(c.device, null, 'float64 runs on the host');
  t.deepEqual(Array.from(c.data), [4, 5, 10, 11]);
  const e = K.matmul(new Tensor(new Float32Array(0), [0, 3]), new Tensor(new Float32Array(6), [3, 2]));
  t.deepEqual(e.shape, [0, 2]);
});

// ---- gradients through matmul on the GPU, against finite differences of plain float64 loops ----

const X = new Tensor(Float32Array.from({ length: 6 * 5 }, (_v, i) => Math.sin(1.3 * i + 0.2)), [6, 5]);
const Wm = new Tensor(Float32Array.from({ length: 5 * 3 }, (_v, i) => 0.5 * Math.cos(0.7 * i)), [5, 3]);
const bias = new Tensor(Float32Array.from([0.1, -0.2, 0.3]), [3]);
const C = new Tensor(Float32Array.from({ length: 6 * 3 }, (_v, i) => Math.cos(2.1 * i)), [6, 3]);

/** L(X, W, b) = Σᵢⱼ C_ij·tanh(Σₚ X_ip·W_pj + b_j), in float64 loops (independent of the kernels). */
function lossLoops(x, w, b) {
  let L = 0;
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < 3; j++) {
      let z = b[j];
      for (let p = 0; p < 5; p++) z += x[i * 5 + p] * w[p * 3 + j];
      L += C.data[i * 3 + j] * Math.tanh(z);
    }
  return L;
}
/** ∂L/∂(argument k) by Richardson-extrapolated central differences. */
function fdGradient(k) {
  const args = [X, Wm, bias].map((a) => Float64Array.from(a.data));
  return Array.from(args[k], (_v, i) =>
    richardsonDerivative((h) => {
      const moved = args.map((a) => a.slice());
      moved[k][i] += h;
      return lossLoops(...moved);
    }, 0, { h: 1e-3 }));
}
const FD = [0, 1, 2].map(fdGradient);
const gradTol = (_i, r) => 2e-5 * Math.max(1, Math.abs(r));
const fdTensor = (k, like) => new Tensor(Float32Array.from(FD[k]), like.shape);

gpu('a gradient through matmul composed of WebGPU kernels matches finite differences', (t) => {
  const { add, sub, mul } = Object.fromEntries(['add', 'sub', 'mul'].map((n) => [n, binaryRules[n].f]));
  const T = K.map(K.zip(K.matmul(X, Wm), bias, add), Math.tanh);
  const dZ = K.zip(C, K.zip(1, K.zip(T, T, mul), sub), mul); // C·(1 − tanh²)
  t.is(check('∂L/∂X', mismatch(K.matmul(dZ, Wm, false, true), fdTensor(0, X), gradTol)), true);
  t.is(check('∂L/∂W', mismatch(K.matmul(X, dZ, true, false), fdTensor(1, Wm), gradTol)), true);
  t.is(check('∂L/∂b', mismatch(K.sumTo(dZ, [3]), fdTensor(2, bias), gradTol)), true);
});

const loss = traced((x, w, b) => sum(Math.tanh(matmul(x, w) + b) * C), { sum, matmul, C });

api('gradient() with setBackend(\'webgpu\'): the gradient through matmul matches finite differences', (t) => {
  setBackend('webgpu');
  try {
    t.is(getBackend(), 'webgpu');
    resetWebGPUStats();
    const g = gradient(loss, X, Wm, bias);
    t.true(webgpuStats().dispatches > 0, 'the kernels ran on the device');
    [X, Wm, bias].forEach((a, k) => {
      t.is(g[k].dtype, 'float32');
      t.is(check(`gradient ${k}`, mismatch(g[k], fdTensor(k, a), gradTol)), true);
    });
    t.true(Math.abs(loss(X, Wm, bias) - lossLoops(...[X, Wm, bias].map((a) => a.data))) < 1e-5);
  } finally {
    setBackend('js');
  }
});

// ---- laziness: nothing comes back from the device until .data is read ----

gpu('a chain of WebGPU kernels reads back nothing until .data, then exactly once', (t) => {
  const { add, mul } = binaryRules;
  const chain = (k) => k.sumTo(k.zip(k.map(k.zip(k.matmul(X, Wm), bias, add.f), Math.tanh), 2, mul.f), [1, 3]);
  resetWebGPUStats();
  const y = chain(K);
  const s = webgpuStats();
  t.is(s.readbacks, 0, 'no readback while chaining');
  t.is(s.uploads, 3, 'each host operand (X, W, b) uploaded once; intermediates stay on the device');
  t.is(s.dispatches, 5);
  t.not(y.device, null, 'the result lives on the device');
  const want = chain(JS);
  t.is(check('chain', mismatch(y, want, (_i, r) => 1e-5 * Math.max(1, Math.abs(r)))), true); // reads y.data
  t.is(webgpuStats().readbacks, 1);
  void y.data;
  t.is(webgpuStats().readbacks, 1, 'read once: the host copy is kept');
  // an unknown function (a closure) falls back to the JS kernel, which reads its operand back
  const z = K.map(K.map(X, Math.exp), (v) => v * 3);
  t.is(z.device, null);
  t.is(webgpuStats().readbacks, 2);
  t.true(webgpuStats().fallbacks >= 1);
});

api('traced code on setBackend(\'webgpu\') keeps results on the device until .data', (t) => {
  const f = traced((x, w, b) => Math.tanh(matmul(x, w) + b) * 2, { matmul });
  setBackend('webgpu');
  try {
    resetWebGPUStats();
    const y = f(X, Wm, bias);
    t.is(webgpuStats().readbacks, 0);
    t.not(y.device, null);
    void y.data;
    t.is(webgpuStats().readbacks, 1);
  } finally {
    setBackend('js');
  }
});

// ---- device memory: freed on read, at the end of a scope for what it does not return, and on dispose ----

gpu('webgpuScope frees the device memory of the tensors it does not return; disposeWebGPU frees on demand', (t) => {
  const before = webgpuStats().deviceBytes;
  let escaped;
  const kept = webgpuScope(() => {
    const a = K.map(X, Math.exp);
    escaped = K.zip(a, 1, binaryRules.add.f);
    const inner = webgpuScope(() => [K.map(escaped, Math.sin), K.map(a, Math.cos)]);
    return { out: inner[0], also: new Map([['k', K.zip(a, a, binaryRules.mul.f)]]) };
  });
  t.is(webgpuStats().deviceBytes - before, 2 * 4 * X.size, 'only the two returned tensors stay on the device');
  const want = JS.map(JS.zip(JS.map(X, Math.exp), 1, binaryRules.add.f), Math.sin);
  t.is(check('scope result', mismatch(kept.out, want, (_i, r) => 64 * ULP * Math.abs(r) + 2 ** -21)), true);
  t.throws(() => escaped.data, { message: /freed .*webgpuScope/ });
  disposeWebGPU(kept);
  t.is(webgpuStats().deviceBytes, before);
  t.throws(() => kept.also.get('k').data, { message: /freed/ });
  t.throws(() => webgpuScope(() => { throw new Error('inside'); }), { message: 'inside' });
});
