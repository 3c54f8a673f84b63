// The native SIMD kernels against the JS reference kernels (every ISA path this CPU runs), and matmul gradients through them against finite differences.
import test from 'ava';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { richardsonDerivative } from '../helpers/reference.mjs';

const require = createRequire(import.meta.url);
const JS = require('../../dist/tensor/kernels.js');
const { Tensor, tensor } = require('../../dist/tensor/tensor.js');
const { loadNative } = require('../../dist/tensor/native.js');
const tg = require('../../dist/index.js');

const N = loadNative();

if (typeof N === 'string') {
  test('native kernels (skipped: the addon is not built)', (t) => {
    t.log(`skipped: ${N}`);
    t.pass();
  });
} else {
  nativeTests(N);
}

/** Distance in units in the last place between two doubles (or floats): 0 for two NaNs, 1 for +0 vs −0, Infinity for NaN vs a number. */
function ulps(a, b, dtype) {
  if (Object.is(a, b) || (a !== a && b !== b)) return 0;
  if (a !== a || b !== b) return Infinity;
  if (dtype === 'float32') {
    const i = new Int32Array(new Float32Array([a, b]).buffer);
    const o = (v) => (v < 0 ? -(v & 0x7fffffff) - 1 : v);
    return Math.abs(o(i[0]) - o(i[1]));
  }
  const i = new BigInt64Array(new Float64Array([a, b]).buffer);
  const o = (v) => (v < 0n ? -(v & 0x7fffffffffffffffn) - 1n : v);
  const d = o(i[0]) - o(i[1]);
  return Number(d < 0n ? -d : d);
}

const abs = (x) => JS.map(x, Math.abs);
const sizeOf = (shape) => shape.reduce((p, d) => p * d, 1);
const make = (values, shape, dtype) => tensor(Float64Array.from(values), { shape, dtype });

function nativeTests(N) {
  const isas = N.isas();
  /** Runs `body` once per ISA path, restoring the default after. */
  const everyIsa = (body) => {
    const start = N.isa();
    try {
      for (const isa of isas) {
        if (!N.setIsa(isa)) throw new Error(`setIsa(${isa}) refused an ISA isas() listed`);
        body(isa);
      }
    } finally {
      N.setIsa(start);
    }
  };
  const runs = Math.max(20, Math.round(90 / isas.length));

  test('the addon lists the ISA paths this CPU runs, best first, and setIsa switches between them', (t) => {
    t.log(`ISA paths: ${isas.join(', ')} (active: ${N.isa()})`);
    t.true(isas.length >= 1);
    t.is(N.isa(), isas[0]);
    t.false(N.setIsa('no-such-isa'));
    everyIsa((isa) => t.is(N.isa(), isa));
  });

  test('TRACEGRAD_NATIVE_ISA forces each path in a child process, and one the CPU lacks makes loadNative say why', (t) => {
    const probe = 'const k = require(process.argv[1]).loadNative(); process.stdout.write(typeof k === "string" ? "REASON " + k : k.isa())';
    const path = require.resolve('../../dist/tensor/native.js');
    for (const isa of isas) {
      const r = spawnSync(process.execPath, ['-e', probe, path], { encoding: 'utf8', env: { ...process.env, TRACEGRAD_NATIVE_ISA: isa } });
      t.is(r.stdout, isa, r.stderr);
    }
    const r = spawnSync(process.execPath, ['-e', probe, path], { encoding: 'utf8', env: { ...process.env, TRACEGRAD_NATIVE_ISA: 'avx9000' } });
    t.regex(r.stdout, /^REASON .*TRACEGRAD_NATIVE_ISA=avx9000.*it runs:/);
  });

  // ---- elementwise maps ----

  // exact: rounding and sign ops, sqrt (IEEE); fdlibm on vectors: ≤ 1 ulp from V8 (equal on Node 20, whose Math
  // ports fdlibm); the rest: glibc, within 2 ulp of V8. float32 results round a double result: ≤ 1 float ulp.
  const unaryLimit = { neg: 0, pos: 0, abs: 0, sign: 0, floor: 0, ceil: 0, round: 0, trunc: 0, fround: 0, sqrt: 0, exp: 1, expm1: 1, log: 1, sin: 1, cos: 1, sinh: 1, cosh: 1, tanh: 1 };
  const unaryNames = N.addon.unaryOps.filter((name) => typeof Math[name] === 'function');
  const special = [0, -0, NaN, Infinity, -Infinity, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-300, 0.5, -0.5, 1, -1, 2.5, -2.5,
    0.49999999999999994, 708.3, 709.7, 710, -708.5, -745.2, 22, -22, 1e-9, Math.PI / 2, Math.PI / 4, 823549, 823551, 1e22, 3.5e38];
  const value = fc.oneof(
    { weight: 6, arbitrary: fc.double({ min: -12, max: 12, noNaN: true }) },
    { weight: 2, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.constantFrom(...special) },
  );

  test('map: every native unary op agrees with the JS kernel on Math.f (float64 and float32, every ISA path)', (t) => {
    everyIsa((isa) => {
      for (const name of unaryNames) {
        const f = Math[name];
        fc.assert(fc.property(fc.constantFrom('float64', 'float32'), fc.array(value, { minLength: 48, maxLength: 400 }), (dtype, values) => {
          const x = make(values, [values.length], dtype);
          const got = N.map(x, f), want = JS.map(x, f);
          const limit = dtype === 'float32' ? 1 : unaryLimit[name] ?? 2;
          const bad = values.findIndex((_v, i) => ulps(got.data[i], want.data[i], dtype) > limit);
          if (bad >= 0) throw new Error(`${isa} ${name} ${dtype}: ${f.name}(${x.data[bad]}) = ${got.data[bad]}, JS ${want.data[bad]}`);
          return got.dtype === dtype && got.data.length === values.length;
        }), { numRuns: Math.ceil(runs / 3) });
      }
      t.pass(isa);
    });
  });

  test('map: the addon itself on lengths around the vector width (body, tail and fix-up lanes), against Math.f', (t) => {
    const names = ['exp', 'expm1', 'log', 'sin', 'cos', 'sinh', 'cosh', 'tanh', 'sqrt', 'round'];
    everyIsa((isa) => {
      for (const name of names)
        for (const n of [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 33]) {
          for (const dtype of ['float64', 'float32']) {
            const values = Array.from({ length: n }, (_v, i) => special[(i * 7 + n) % special.length] * (i % 3 === 0 ? 1 : 0.37));
            const x = make(values, [n], dtype), y = new (dtype === 'float64' ? Float64Array : Float32Array)(n);
            N.addon.unary(N.addon.unaryOps.indexOf(name), x.data, y);
            const bad = values.findIndex((_v, i) => ulps(y[i], JS.map(x, Math[name]).data[i], dtype) > (dtype === 'float32' ? 1 : unaryLimit[name]));
            if (bad >= 0) return t.fail(`${isa} ${name} ${dtype} n=${n}: [${bad}] ${y[bad]} vs ${Math[name](x.data[bad])} at ${x.data[bad]}`);
          }
        }
      t.pass();
    });
  });

  test('map: a function that is not a rule runs in JS, to the bit', (t) => {
    const x = make(Array.from({ length: 100 }, (_v, i) => i - 50), [100], 'float64');
    const f = (v) => v * v - 3;
    t.deepEqual(Array.from(N.map(x, f).data), Array.from(JS.map(x, f).data));
  });

  // ---- binary ops, broadcasting ----

  const { binaryRules } = require('../../dist/rules/scalar.js');
  // + − × ÷ % max min: exact (float32 arithmetic on floats rounds as double then float does); pow and atan2: glibc
  const binary = [...['add', 'sub', 'mul', 'div', 'mod', 'pow', 'atan2'].map((name) => ({ name, f: binaryRules[name].f })),
    { name: 'max', f: Math.max }, { name: 'min', f: Math.min }];
  const binaryLimit = { pow: 2, atan2: 2 };

  /** An output shape of ≥ 128 elements (so the native path runs) and two operand shapes that broadcast to it. */
  const broadcastCase = fc.tuple(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }))
    .map(([dims, pick, dropA, dropB]) => {
      const rest = sizeOf(dims.slice(0, -1));
      dims[dims.length - 1] = Math.max(dims[dims.length - 1], Math.ceil(128 / rest));
      // per axis: both full, a broadcast, b broadcast (pick 0 and 3 keep both full)
      const a = dims.map((d, i) => (pick[i] === 1 ? 1 : d)), b = dims.map((d, i) => (pick[i] === 2 ? 1 : d));
      return [dims, a.slice(Math.min(dropA, a.length - 1)), b.slice(Math.min(dropB, b.length - 1))];
    });

  test('zip: + − × ÷ % ** atan2 max min with broadcasting and scalars agree with the JS kernel (both dtypes, mixed, every ISA path)', (t) => {
    everyIsa((isa) => {
      fc.assert(fc.property(fc.constantFrom(...binary), broadcastCase, fc.constantFrom('float64', 'float32'), fc.constantFrom('float64', 'float32'),
        fc.integer({ min: 0, max: 3 }), fc.array(value, { minLength: 64, maxLength: 64 }), fc.double({ min: -5, max: 5, noNaN: true }),
        ({ name, f }, [, sa, sb], da, db, form, pool, s) => {
          const fill = (shape, off) => Array.from({ length: sizeOf(shape) }, (_v, i) => pool[(i * 13 + off) % pool.length]);
          const a = make(fill(sa, 1), sa, da), b = make(fill(sb, 5), sb, db);
          // form 0: tensors; 1: number ∘ tensor; 2: tensor ∘ number; 3: same shapes
          const [x, y] = form === 1 ? [s, b] : form === 2 ? [a, s] : form === 3 ? [a, make(fill(sa, 9), sa, db)] : [a, b];
          const got = N.zip(x, y, f), want = JS.zip(x, y, f);
          if (got.dtype !== want.dtype || got.shape.join() !== want.shape.join()) return false;
          const limit = binaryLimit[name] === undefined ? 0 : want.dtype === 'float32' ? 1 : binaryLimit[name];
          for (let i = 0; i < want.data.length; i++)
            if (ulps(got.data[i], want.data[i], want.dtype) > limit) return false;
          return true;
        }), { numRuns: runs * 3 });
      t.pass(isa);
    });
  });

  // ---- reductions ----

  test('sumTo: sums to random kept-axes shapes agree with the JS kernel within summation-order error (every ISA path)', (t) => {
    everyIsa((isa) => {
      fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 0, max: 3 }), fc.constantFrom('float64', 'float32'), fc.array(fc.double({ min: -100, max: 100, noNaN: true }), { minLength: 50, maxLength: 50 }),
        (shape, keep, drop, dtype, pool) => {
          const x = make(Array.from({ length: sizeOf(shape) }, (_v, i) => pool[(i * 7) % pool.length] * (1 + i / 997)), shape, dtype);
          const target = shape.map((d, i) => (keep[i] ? d : 1)).slice(Math.min(drop, shape.length));
          const got = N.sumTo(x, target), want = JS.sumTo(x, target), bound = JS.sumTo(abs(x), target);
          if (got.shape.join() !== want.shape.join() || got.dtype !== want.dtype) return false;
          // both sum in their own order: each result is within n·ε·Σ|x| of the exact sum
          const eps = dtype === 'float32' ? 2 ** -24 : 2 ** -53, n = x.size / Math.max(1, want.size);
          return want.data.every((w, i) => Math.abs(got.data[i] - w) <= 2 * (n + 1) * eps * bound.data[i]);
        }), { numRuns: runs * 2 });
      t.pass(isa);
    });
  });

  test('sumTo: summing over leading axes (inner > 1) adds in the JS order, to the bit', (t) => {
    everyIsa(() => {
      const x = make(Array.from({ length: 7 * 40 }, (_v, i) => Math.sin(i) * 1e3 + 1 / (i + 1)), [7, 40], 'float64');
      t.deepEqual(Array.from(N.sumTo(x, [40]).data), Array.from(JS.sumTo(x, [40]).data));
    });
  });

  // ---- transposes ----

  test('transpose: random permutations of random shapes give the JS kernel\'s result exactly (both dtypes, every ISA path)', (t) => {
    everyIsa((isa) => {
      fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 24 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 1e6 }), fc.constantFrom('float64', 'float32'),
        (shape, seed, dtype) => {
          const perm = shape.map((_d, i) => i);
          for (let i = perm.length - 1, s = seed; i > 0; i--, s = Math.floor(s / (i + 1))) {
            const j = s % (i + 1);
            [perm[i], perm[j]] = [perm[j], perm[i]];
          }
          const x = make(Array.from({ length: sizeOf(shape) }, (_v, i) => i * 0.5 - 7), shape, dtype);
          const got = N.transpose(x, perm), want = JS.transpose(x, perm);
          return got.shape.join() === want.shape.join() && got.dtype === want.dtype && got.data.every((v, i) => Object.is(v, want.data[i]));
        }), { numRuns: runs * 3 });
      t.pass(isa);
    });
  });

  // ---- matmul ----

  const matmulCase = fc.record({
    m: fc.integer({ min: 1, max: 40 }), n: fc.integer({ min: 1, max: 40 }), k: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 250, max: 300 })),
    ta: fc.boolean(), tb: fc.boolean(), batch: fc.constantFrom([[], []], [[2], [2]], [[3], []], [[2, 1], [3]], [[1], [2, 2]]),
    da: fc.constantFrom('float64', 'float32'), db: fc.constantFrom('float64', 'float32'), seed: fc.integer({ min: 1, max: 1000 }),
  });

  test('matmul: random shapes, transposed operands and broadcast batches agree with the JS kernel within summation error (every ISA path)', (t) => {
    everyIsa((isa) => {
      fc.assert(fc.property(matmulCase, ({ m, n, k, ta, tb, batch: [ba, bb], da, db, seed }) => {
        const rand = (shape, s) => make(Array.from({ length: sizeOf(shape) }, (_v, i) => Math.sin(s * 7.1 + i * 1.37) * 2), shape, undefined);
        const a = JS.astype(rand([...ba, ...(ta ? [k, m] : [m, k])], seed), da), b = JS.astype(rand([...bb, ...(tb ? [n, k] : [k, n])], seed + 1), db);
        const got = N.matmul(a, b, ta, tb), want = JS.matmul(a, b, ta, tb), bound = JS.matmul(abs(a), abs(b), ta, tb);
        if (got.shape.join() !== want.shape.join() || got.dtype !== want.dtype) return false;
        // blocked FMA sums in float32 for float32 (JS: in double, rounded once); each within k·ε·Σ|aᵢₚ bₚⱼ|
        const eps = want.dtype === 'float32' ? 2 ** -24 : 2 ** -53;
        return want.data.every((w, i) => Math.abs(got.data[i] - w) <= 2 * (k + 2) * eps * bound.data[i]);
      }), { numRuns: runs });
      t.pass(isa);
    });
  });

  test('matmul: sizes that cross every blocking boundary (KC, MC, NC, NR, MR) against a plain i-k-j loop', (t) => {
    everyIsa((isa) => {
      for (const [m, n, k] of [[130, 70, 600], [15, 97, 257], [1, 300, 3], [300, 1, 2], [29, 33, 1], [3, 4200, 5]]) {
        for (const dtype of ['float64', 'float32']) {
          const a = make(Array.from({ length: m * k }, (_v, i) => Math.cos(i * 0.7)), [m, k], dtype);
          const b = make(Array.from({ length: k * n }, (_v, i) => Math.sin(i * 0.3)), [k, n], dtype);
          const c = N.matmul(a, b), ref = new Float64Array(m * n), bound = new Float64Array(m * n);
          for (let i = 0; i < m; i++)
            for (let p = 0; p < k; p++)
              for (let j = 0; j < n; j++) (ref[i * n + j] += a.data[i * k + p] * b.data[p * n + j]), (bound[i * n + j] += Math.abs(a.data[i * k + p] * b.data[p * n + j]));
          const eps = dtype === 'float32' ? 2 ** -24 : 2 ** -53;
          const bad = ref.findIndex((r, i) => !(Math.abs(c.data[i] - r) <= 2 * (k + 2) * eps * bound[i]));
          if (bad >= 0) return t.fail(`${isa} ${dtype} ${m}×${k}·${k}×${n}: [${bad}] ${c.data[bad]} vs ${ref[bad]}`);
        }
      }
      t.pass();
    });
  });

  test('matmul: mismatched inner dimensions throw the JS kernel\'s error', (t) => {
    const a = make(new Array(12).fill(1), [3, 4], 'float64'), b = make(new Array(15).fill(1), [5, 3], 'float64');
    t.throws(() => N.matmul(a, b), { message: /inner dimensions 4 and 5/ });
  });

  // ---- gradients ----

  test('gradients through native matmul match finite differences: dA = G·Bᵀ and dB = Aᵀ·G (every ISA path)', (t) => {
    everyIsa((isa) => {
      for (const [ba, bb, m, k, n] of [[[], [], 5, 7, 6], [[2], [], 4, 9, 3], [[2, 1], [3], 6, 3, 5]]) {
        const A = make(Array.from({ length: sizeOf([...ba, m, k]) }, (_v, i) => Math.sin(i + 0.3)), [...ba, m, k], 'float64');
        const B = make(Array.from({ length: sizeOf([...bb, k, n]) }, (_v, i) => Math.cos(i * 1.3)), [...bb, k, n], 'float64');
        const C = N.matmul(A, B);
        const G = make(Array.from({ length: C.size }, (_v, i) => Math.sin(3 * i + 1)), C.shape, 'float64');
        // L = Σ G ⊙ (A·B); its pullback, written with the native kernels and summed back over broadcast batch axes
        const loss = (a, b) => N.zip(G, N.matmul(a, b), (x, y) => x * y).data.reduce((s, v) => s + v, 0);
        const dA = N.sumTo(N.matmul(G, B, false, true), A.shape), dB = N.sumTo(N.matmul(A, G, true, false), B.shape);
        for (const [X, dX, which] of [[A, dA, 0], [B, dB, 1]])
          for (let i = 0; i < X.size; i++) {
            const fd = richardsonDerivative((h) => {
              const d = Float64Array.from(X.data);
              d[i] += h;
              const moved = new Tensor(d, X.shape);
              return which === 0 ? loss(moved, B) : loss(A, moved);
            }, 0);
            if (!(Math.abs(dX.data[i] - fd) <= 1e-8 * Math.max(1, Math.abs(fd))))
              return t.fail(`${isa} d${which ? 'B' : 'A'}[${i}] = ${dX.data[i]}, finite differences ${fd}`);
          }
      }
      t.pass();
    });
  });

  test('tracegrad gradient of an MLP loss on the native backend matches finite differences', (t) => {
    try {
      tg.setBackend('native');
    } catch (e) {
      t.log(`skipped: setBackend('native') is not available here: ${e.message}`);
      return t.pass();
    }
    try {
      const { matmul, sum, traced } = tg;
      const f = traced((X, W1, W2) => sum(Math.tanh(matmul(X, W1)) * W2), { matmul, sum });
      const X = make(Array.from({ length: 8 * 12 }, (_v, i) => Math.sin(i)), [8, 12], 'float64');
      const W1 = make(Array.from({ length: 12 * 10 }, (_v, i) => 0.3 * Math.cos(i)), [12, 10], 'float64');
      const W2 = make(Array.from({ length: 8 * 10 }, (_v, i) => Math.sin(2 * i)), [8, 10], 'float64');
      const [, dW1] = tg.gradient(f, X, W1, W2);
      for (let i = 0; i < W1.size; i++) {
        const fd = richardsonDerivative((h) => {
          const d = Float64Array.from(W1.data);
          d[i] += h;
          return f(X, new Tensor(d, W1.shape), W2);
        }, 0);
        if (!(Math.abs(dW1.data[i] - fd) <= 1e-7 * Math.max(1, Math.abs(fd)))) return t.fail(`dW1[${i}] = ${dW1.data[i]}, finite differences ${fd}`);
      }
      t.pass();
    } finally {
      tg.setBackend('js');
    }
  });

  // ---- fused elementwise programs (N.fused: one native call per expression) ----

  /*
   * Expressions are built by lib/tensor/fuse.ts itself (fusedMap and fusedZip inside a backward sweep, on the JS
   * backend), so they have the shape the library gives them: shared subexpressions, numbers, broadcast leaves of
   * either dtype, float32 rounding flags. Two references: the JS fused loop (t.data), which must match to the bit
   * where every op is one the addon computes exactly or with fdlibm (V8's Math); and the unfused kernels of the
   * addon, called op by op over whole arrays (addon.unary / addon.binary), which must match to the bit for every op,
   * glibc-based ones included (the fused program runs the same per-element code on blocks).
   */
  const Fz = require('../../dist/tensor/fuse.js');
  const { unaryRules } = require('../../dist/rules/scalar.js');
  const exactUnary = ['neg', 'abs', 'sign', 'floor', 'ceil', 'round', 'trunc', 'fround', 'sqrt', 'exp', 'expm1', 'log', 'sinh', 'cosh', 'tanh'];
  const exactBinary = ['add', 'sub', 'mul', 'div', 'mod'];
  const libmUnary = ['log1p', 'log2', 'tan', 'asin', 'acos', 'atan', 'asinh', 'acosh', 'atanh', 'sin', 'cos'];
  const libmBinary = ['pow', 'atan2'];
  // output shapes, and for each the leaf shapes that broadcast to it (same shape, scalars, rows, columns, general)
  const layouts = [
    { out: [700], leaves: [[700], [1], []] },
    { out: [17, 40], leaves: [[17, 40], [1, 40], [17, 1], [40], [1, 1]] },
    { out: [3, 5, 37], leaves: [[3, 5, 37], [3, 1, 37], [1, 5, 1], [5, 37], [3, 5, 1], [37]] },
    { out: [2, 1, 9, 30], leaves: [[2, 1, 9, 30], [2, 1, 1, 30], [9, 1], [1, 9, 30], [2, 1, 9, 1]] },
  ];
  const leafValue = fc.oneof(
    { weight: 8, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -0, 0.5, -0.5, 1, -1, 2.5, NaN, Infinity, -Infinity, 1e-310) },
  );
  /** An expression: leaves (each a layout's leaf shape, a dtype, values), then steps, each an op over earlier values or numbers. */
  const expression = (unaryNames, binaryNames) =>
    fc.record({
      layout: fc.nat(layouts.length - 1),
      dtype: fc.constantFrom('float64', 'float32'),
      leaves: fc.array(fc.record({ shape: fc.nat(5), other: fc.nat(5), seed: fc.array(leafValue, { minLength: 1, maxLength: 8 }) }), { minLength: 1, maxLength: 4 }),
      steps: fc.array(
        fc.record({
          unary: fc.boolean(),
          op: fc.nat(100),
          a: fc.nat(100),
          b: fc.oneof(fc.nat(100), fc.constantFrom(-1, -2)),
          num: fc.constantFrom(2, -1, 0.5, 1, 3.25, 1e-3),
        }),
        { minLength: 2, maxLength: 12 },
      ),
    }).map((e) => ({ ...e, unaryNames, binaryNames }));

  /** Builds the expression through fuse.ts: the lazy root tensor, its node, shape and dtype. */
  function buildFused(e) {
    const { out, leaves } = layouts[e.layout];
    const vals = e.leaves.map((l) => {
      const shape = leaves[l.shape % leaves.length], n = sizeOf(shape);
      // mostly the expression's dtype; one leaf in six the other (mixed expressions compute in float64 where a float64 enters)
      const dtype = l.other === 0 ? (e.dtype === 'float32' ? 'float64' : 'float32') : e.dtype;
      return make(Array.from({ length: n }, (_v, i) => l.seed[(i * 5 + 3) % l.seed.length] * (1 + (i % 7) / 8)), shape, dtype);
    });
    // the output shape is reached: a full-shape leaf of zeros is added to the first value
    const all = [...vals];
    const saved = { min: Fz.fusion.minSize, max: Fz.fusion.maxNodes };
    Fz.fusion.minSize = 0;
    Fz.fusionScope.sweeps++;
    try {
      all.push(Fz.fusedZip(all[0], make(new Array(sizeOf(out)).fill(0), out, e.dtype), binaryRules.add.f, 'add'));
      for (const s of e.steps) {
        // the first operand one of the last three values (so chains grow deep), the second any earlier one
        const a = all[all.length - 1 - (s.a % Math.min(3, all.length))];
        if (s.unary) {
          const name = e.unaryNames[s.op % e.unaryNames.length];
          all.push(Fz.fusedMap(a, unaryRules[name].f, name));
        } else {
          const name = e.binaryNames[s.op % e.binaryNames.length];
          const b = s.b < 0 ? s.num : all[s.b % all.length];
          all.push(s.b === -2 ? Fz.fusedZip(b, a, binaryRules[name].f, name) : Fz.fusedZip(a, b, binaryRules[name].f, name));
        }
      }
    } finally {
      Fz.fusionScope.sweeps--;
      Object.assign(Fz.fusion, { minSize: saved.min, maxNodes: saved.max });
    }
    // the last value of the output's shape is the root (the first sum has it)
    const root = all.filter((x) => typeof x !== 'number' && Fz.isFused(x) && x.shape.length === out.length && x.size === sizeOf(out)).pop();
    return { root, node: root.device.node, shape: out, dtype: root.dtype };
  }

  /** The addon's unfused kernels, op by op over whole broadcast arrays: the reference for every op. */
  function unfused(node, shape, dtype) {
    const n = sizeOf(shape);
    const memo = new Map();
    const value = (x) => {
      if (x.k === 'num') return x.v;
      if (x.k === 'leaf') return JS.broadcastTo(x.t, shape);
      if (memo.has(x)) return memo.get(x);
      const args = x.args.map(value);
      const f32 = x.f32;
      const y = f32 ? new Float32Array(n) : new Float64Array(n);
      const as = (v) => (typeof v === 'number' ? v : v.dtype === (f32 ? 'float32' : 'float64') ? v.data : JS.astype(v, f32 ? 'float32' : 'float64').data);
      if (args.length === 1) {
        const xs = typeof args[0] === 'number' ? new (f32 ? Float32Array : Float64Array)(n).fill(args[0]) : as(args[0]);
        N.addon.unary(N.addon.unaryOps.indexOf(x.name), xs, y);
      } else {
        let [a, b] = args.map(as);
        if (typeof a === 'number' && typeof b === 'number') a = new (f32 ? Float32Array : Float64Array)(n).fill(a);
        N.addon.binary(N.addon.binaryOps.indexOf(x.name), a, b, y, 1, n, 0, typeof a === 'number' ? 0 : 1, 0, typeof b === 'number' ? 0 : 1);
      }
      const t = new Tensor(y, shape);
      memo.set(x, t);
      return t;
    };
    return value(node).data;
  }

  const sameBits = (got, want, dtype) => {
    if (got.length !== want.length || (dtype === 'float32') !== got instanceof Float32Array) return `length or dtype differ`;
    const i = want.findIndex((w, k) => ulps(got[k], w, dtype) !== 0);
    return i < 0 ? null : `[${i}]: ${got[i]} vs ${want[i]}`;
  };

  test('fused: native evaluation of fuse.ts expressions equals the JS fused loop to the bit (exact and fdlibm ops; broadcasting, both dtypes, every ISA)', (t) => {
    everyIsa((isa) => {
      fc.assert(fc.property(expression(exactUnary, exactBinary), (e) => {
        const { root, node, shape, dtype } = buildFused(e);
        const got = N.fused(node, shape, dtype);
        if (got === undefined) throw new Error('the addon refused an expression of ops it has');
        const want = root.data;  // the JS fused loop
        const bad = sameBits(got, want, dtype);
        if (bad) throw new Error(`${isa} ${dtype} ${JSON.stringify(shape)}: ${bad}`);
      }), { numRuns: runs * 2 });
      t.pass(isa);
    });
  });

  test('fused: native evaluation equals the addon\'s unfused kernels op by op, to the bit, for every op it has (glibc ones too)', (t) => {
    const unaries = [...exactUnary, ...libmUnary], binaries = [...exactBinary, ...libmBinary];
    everyIsa((isa) => {
      fc.assert(fc.property(expression(unaries, binaries), (e) => {
        const { node, shape, dtype } = buildFused(e);
        const got = N.fused(node, shape, dtype);
        if (got === undefined) throw new Error('the addon refused an expression of ops it has');
        const bad = sameBits(got, unfused(node, shape, dtype), dtype);
        if (bad) throw new Error(`${isa} ${dtype} ${JSON.stringify(shape)}: ${bad}`);
      }), { numRuns: runs * 2 });
      t.pass(isa);
    });
  });

  test('fused: the pullback chains of tanh and of a dense layer, against plain JS loops', (t) => {
    const m = 33, n = 40;  // 1320 elements: five blocks and a ragged one
    for (const dtype of ['float64', 'float32']) {
      const r = dtype === 'float32' ? Math.fround : (v) => v;
      const a = make(Array.from({ length: m * n }, (_v, i) => Math.sin(i) * 2), [m, n], dtype);
      const b = make(Array.from({ length: m }, (_v, i) => Math.cos(i)), [m, 1], dtype);
      const g = make(Array.from({ length: m * n }, (_v, i) => Math.sin(3 * i)), [m, n], dtype);
      Fz.fusionScope.sweeps++;
      let fwd, back;
      try {
        // tanh(a·b + b)·2 − 1, and g·(1 / (cosh(x)·cosh(x))) with x = a + b, as prims.ts builds them
        const z = Fz.fusedZip(Fz.fusedZip(a, b, binaryRules.mul.f, 'mul'), b, binaryRules.add.f, 'add');
        fwd = Fz.fusedZip(Fz.fusedZip(Fz.fusedMap(z, Math.tanh, 'tanh'), 2, binaryRules.mul.f, 'mul'), 1, binaryRules.sub.f, 'sub');
        const x = Fz.fusedZip(a, b, binaryRules.add.f, 'add'), c = Fz.fusedMap(x, Math.cosh, 'cosh');
        back = Fz.fusedZip(g, Fz.fusedZip(1, Fz.fusedZip(c, c, binaryRules.mul.f, 'mul'), binaryRules.div.f, 'div'), binaryRules.mul.f, 'mul');
      } finally {
        Fz.fusionScope.sweeps--;
      }
      everyIsa((isa) => {
        const f = N.fused(fwd.device.node, [m, n], dtype), d = N.fused(back.device.node, [m, n], dtype);
        for (let i = 0; i < m * n; i++) {
          const bi = b.data[Math.floor(i / n)];
          const wantF = r(r(r(Math.tanh(r(r(a.data[i] * bi) + bi))) * 2) - 1);
          const ch = r(Math.cosh(r(a.data[i] + bi)));
          const wantB = r(g.data[i] * r(1 / r(ch * ch)));
          if (!Object.is(f[i], wantF) || !Object.is(d[i], wantB))
            return t.fail(`${isa} ${dtype} [${i}]: ${f[i]} vs ${wantF}, ${d[i]} vs ${wantB}`);
        }
      });
    }
    t.pass();
  });

  test('fused: an expression with an op the addon leaves to JS (cbrt, log10, a closure) is refused, for the JS loop to run', (t) => {
    const x = make(Array.from({ length: 300 }, (_v, i) => i / 7), [300], 'float64');
    Fz.fusionScope.sweeps++;
    try {
      for (const [f, name] of [[Math.cbrt, 'cbrt'], [Math.log10, 'log10'], [(v) => v * v, 'square']]) {
        const y = Fz.fusedZip(Fz.fusedMap(x, f, name), 1, binaryRules.add.f, 'add');
        t.is(N.fused(y.device.node, [300], 'float64'), undefined, name);
      }
    } finally {
      Fz.fusionScope.sweeps--;
    }
  });

  test('fused: the addon checks programs (a stride past a leaf, an unknown op, a slot read before it is written throw)', (t) => {
    const x = new Float64Array(10), out = new Float64Array(10);
    const prog = (code, strides = [1], shape = [10]) => Int32Array.from([code.length / 5, 2, 1, shape.length, 1, ...shape, ...strides, ...code]);
    N.addon.fused(prog([0, 0, 0, 0, 0, 2, 1, 0, 0, 0]), new Float64Array(0), out, x);  // y = −x
    t.deepEqual([...out], [...x].map((v) => -v));
    t.throws(() => N.addon.fused(prog([0, 0, 0, 0, 0, 2, 1, 0, 0, 0], [2]), new Float64Array(0), out, x), { message: /outside/ });
    t.throws(() => N.addon.fused(prog([0, 0, 0, 0, 0, 2, 1, 0, 0, 999]), new Float64Array(0), out, x), { message: /bad instruction/ });
    t.throws(() => N.addon.fused(prog([2, 1, 0, 0, 0]), new Float64Array(0), out, x), { message: /bad instruction/ });
    t.throws(() => N.addon.fused(prog([0, 0, 0, 0, 0, 3, 1, 0, -5, 0]), new Float64Array(1), out, x), { message: /bad instruction/ });
  });

  test('fused: on the native backend evaluateNative (the hook fuse.ts calls) runs the addon; on the JS backend it declines', (t) => {
    const { evaluateNative, nativeFusion } = require('../../dist/tensor/fuse-native.js');
    const x = make(Array.from({ length: 300 }, (_v, i) => i / 7 - 20), [300], 'float32');
    Fz.fusionScope.sweeps++;
    let y;
    try {
      y = Fz.fusedZip(Fz.fusedMap(x, Math.exp, 'exp'), 3, binaryRules.mul.f, 'mul');
    } finally {
      Fz.fusionScope.sweeps--;
    }
    const node = y.device.node;
    t.false(nativeFusion());
    t.is(evaluateNative(node, [300], 'float32'), undefined);
    try {
      tg.setBackend('native');
    } catch (e) {
      t.log(`skipped: setBackend('native') is not available here: ${e.message}`);
      return t.pass();
    }
    try {
      t.true(nativeFusion());
      const got = evaluateNative(node, [300], 'float32');
      const want = Float32Array.from(x.data, (v) => Math.fround(Math.fround(Math.exp(v)) * 3));
      t.is(sameBits(got, want, 'float32'), null);
    } finally {
      tg.setBackend('js');
    }
  });

  test('threads: GEMMs, transcendental maps and fused programs cut between threads give the serial result to the bit (every ISA path)', (t) => {
    const A = N.addon, saved = A.threads();
    const data = (n, s, T) => T.from({ length: n }, (_v, i) => Math.sin(s * 3.7 + i * 0.731) * 2);
    const cosh = A.unaryOps.indexOf('cosh'), mul = A.binaryOps.indexOf('mul'), add = A.binaryOps.indexOf('add');
    const runAll = () => {
      const out = [];
      for (const T of [Float64Array, Float32Array]) {
        // [m, n, k, A transposed, batches]: cut along m (n < m), along n, ragged tiles, a transposed A, two batches
        for (const [m, n, k, ta, batches] of [[128, 64, 784, false, 1], [128, 784, 64, false, 1], [70, 333, 100, false, 1], [97, 211, 150, true, 1], [100, 100, 60, false, 2]]) {
          const a = data(batches * m * k, m, T), b = data(batches * k * n, n, T), c = new T(batches * m * n);
          const offsets = Float64Array.from({ length: 3 * batches }, (_v, i) => [m * k, k * n, m * n][i % 3] * Math.floor(i / 3));
          A.gemm(a, b, c, m, n, k, ta ? 1 : k, ta ? m : 1, n, 1, offsets);
          out.push(c);
        }
        for (const name of ['exp', 'tanh', 'cosh', 'sin', 'log', 'atan']) {
          const x = data(10007, 5, T).map((v) => (name === 'log' ? Math.abs(v) + 0.1 : v)), y = new T(x.length);
          A.unary(A.unaryOps.indexOf(name), x, y);
          out.push(y);
        }
        // cosh(x)·w + x over [90, 113], w one row broadcast down: {opcode, dst, a, b, op}, rounded after each op for float32
        const r = T === Float32Array ? 0x100 : 0;
        const code = [0, 0, 0, 0, 0, 2, 1, 0, 0, cosh | r, 0, 2, 1, 0, 0, 3, 3, 1, 2, mul | r, 3, 4, 3, 0, add | r];
        const prog = Int32Array.from([5, 5, 4, 2, 2, 90, 113, 113, 1, 0, 1, ...code]);
        const y = new T(90 * 113);
        A.fused(prog, new Float64Array(0), y, data(90 * 113, 7, T), data(113, 8, T));
        out.push(y);
      }
      return out;
    };
    try {
      everyIsa((isa) => {
        A.threads(1);
        const serial = runAll();
        for (const n of [2, 3]) {
          A.threads(n);
          runAll().forEach((got, i) => t.is(sameBits(got, serial[i], got instanceof Float32Array ? 'float32' : 'float64'), null, `${isa}, ${n} threads, result ${i}`));
        }
      });
    } finally {
      A.threads(saved);
    }
    t.throws(() => A.threads(0), { message: /≥ 1/ });
    t.throws(() => A.threads('two'), { message: /whole number/ });
  });

  test('threads: TRACEGRAD_NATIVE_THREADS sets the count in a child process (default: the CPU count, at most 8)', (t) => {
    const addon = require.resolve('../../native/build/Release/tracegrad_native.node');
    const count = (env) => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require(process.argv[1]).threads()))', addon], { env: { ...process.env, ...env }, encoding: 'utf8' }).stdout;
    t.is(count({ TRACEGRAD_NATIVE_THREADS: '1' }), '1');
    t.is(count({ TRACEGRAD_NATIVE_THREADS: '3' }), '3');
    t.is(count({ TRACEGRAD_NATIVE_THREADS: '' }), String(Math.min(8, Math.max(1, (require('node:os').availableParallelism?.() ?? 1)))));
  });

  test('threads: random GEMM shapes, strides, batches and random-length maps cut between 2 and 3 threads equal one thread to the bit (fast-check)', (t) => {
    const A = N.addon, saved = A.threads();
    const data = (n, s, T) => T.from({ length: n }, (_v, i) => Math.sin(s * 1.3 + i * 0.917) * 3);
    const run = (threads, f) => {
      A.threads(threads);
      return f();
    };
    try {
      fc.assert(fc.property(
        fc.record({ m: fc.integer({ min: 1, max: 160 }), n: fc.integer({ min: 1, max: 400 }), k: fc.integer({ min: 1, max: 200 }),
          batches: fc.integer({ min: 1, max: 3 }), ta: fc.boolean(), tb: fc.boolean(), f32: fc.boolean(), threads: fc.constantFrom(2, 3) }),
        ({ m, n, k, batches, ta, tb, f32, threads }) => {
          const T = f32 ? Float32Array : Float64Array;
          const a = data(batches * m * k, m + k, T), b = data(batches * k * n, n + 2 * k, T);
          const offsets = Float64Array.from({ length: 3 * batches }, (_v, i) => [m * k, k * n, m * n][i % 3] * Math.floor(i / 3));
          const gemm = () => {
            const c = new T(batches * m * n);
            A.gemm(a, b, c, m, n, k, ta ? 1 : k, ta ? m : 1, tb ? 1 : n, tb ? k : 1, offsets);
            return c;
          };
          const serial = run(1, gemm), cut = run(threads, gemm);
          if (sameBits(cut, serial, f32 ? 'float32' : 'float64') !== null) throw new Error(`gemm ${m}×${k}·${k}×${n}, ${batches} batches, ta ${ta}, tb ${tb}, ${threads} threads`);
          const len = m * n * 7 + k;  // 7 to 448 007 elements
          const x = data(len, k, T), map = () => {
            const y = new T(len);
            A.unary(A.unaryOps.indexOf('exp'), x, y);
            return y;
          };
          if (sameBits(run(threads, map), run(1, map), f32 ? 'float32' : 'float64') !== null) throw new Error(`exp over ${len} elements, ${threads} threads`);
        }), { numRuns: 60 });
    } finally {
      A.threads(saved);
    }
    t.pass();
  });
}
