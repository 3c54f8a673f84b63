// Unit tests of lib/jit/fusedloop.ts: which last loops the compiled tier fuses (each iteration's reverse right after its forward), and that fused code gives the interpreter's bits and the closed-form gradients.
import test from 'ava';
import { traced, withGradient, gradient, tierOf, inspect } from '../../dist/index.js';
import { codegen } from '../../dist/jit/compile.js';
import { show, same, interpretedRun, assertGradient } from '../helpers/tiers.mjs';

const interpreted = (T, ...args) => interpretedRun(() => withGradient(T, ...args)).result;
const isFused = (T, ...args) => inspect(T, ...args).compiled.forward?.includes('const fi = ') ?? false;
const data = (n, k = 1) => Array.from({ length: n }, (_, i) => Math.cos(3 * i + k) * 1.5);

/** Compiled against interpreted, bit for bit (helpers/tiers.mjs), for lengths 0 to 6 and 13, as Float64Arrays and as Arrays. */
function assertMatchesInterpreter(t, f, extra = []) {
  const T = traced(f);
  for (const n of [0, 1, 2, 3, 4, 5, 6, 13])
    for (const make of [(xs) => Float64Array.from(xs), (xs) => xs]) assertGradient(t, T, () => [make(data(n)), ...extra], { what: `n = ${n}` });
  return T;
}

const fusedCases = {
  'sum loop': function (x) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i]; return s; },
  rosenbrock: function (x) { let s = 0; for (let i = 0; i < x.length - 1; i++) { const a = x[i + 1] - x[i] * x[i]; const b = 1 - x[i]; s += 100 * a * a + b * b; } return s; },
  'reads at i − 1 and i': function (x) { let s = 0; for (let i = 1; i < x.length; i++) s -= Math.sin(x[i - 1]) * x[i]; return s; },
  'the counter as a value': function (x) { let s = 0; for (let i = 0; i < x.length; i++) s += i * x[i] * x[i]; return s; },
  '<= bound, two accumulators, a counter without adjoint': function (x) {
    let s = 0; let t = 0; let k = 0;
    for (let i = 0; i <= x.length - 2; i++) { k = k + 1; t += x[i]; s += x[i + 1] ** 3 * k - x[i]; }
    return s;
  },
  'a local changed in a branch': function (x) {
    let s = 0;
    for (let i = 0; i < x.length; i++) { let u = x[i] * 2; if (u > 1) u = Math.sin(u); else u = u * u; s += u * Math.exp(x[i]); }
    return s;
  },
  'accumulations in branches, a local defined on both paths': function (x) {
    let s = 0; let t = 0;
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] * 1; // elements at the counter are read outside branches
      let u; if (xi > 0.2) u = xi * 3; else u = Math.cos(xi);
      if (u > 1) s += u * u; else { s -= u; t += u; }
    }
    return s;
  },
  'kept Math values (stack pushes within an iteration)': function (x) {
    let s = 0; for (let i = 0; i < x.length; i++) s += Math.atan2(x[i], 2) ** 2 + Math.max(x[i], 0.1); return s;
  },
};
for (const [name, f] of Object.entries(fusedCases)) {
  test(`fused: ${name}`, (t) => {
    const T = assertMatchesInterpreter(t, f);
    t.true(isFused(T, new Float64Array(data(4))), 'the last loop runs fused');
  });
}

// values from before the loop (a weight, a bias, fixed elements of a parameter array): their adjoints sum over the
// iterations, the last first, so such loops stay unfused (tried: terms in per-iteration slots added backwards after
// the loop: exact, but slower than the unfused loop); they must still give the interpreter's bits
const leastSquares = function (x, w, b, th) {
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const r = w * x[i] + b * th[1] - th[0] * Math.sin(i);
    if (r > 0) s += r * r * th[0]; else s -= r * w; // th[0] read in a branch too
  }
  return s;
};
test('not fused, and still exact: invariants (a weight, a bias, fixed elements of an array, in branches too)', (t) => {
  const T = assertMatchesInterpreter(t, leastSquares, [0.7, -0.4, Float64Array.from([0.9, -1.3])]);
  assertMatchesInterpreter(t, leastSquares, [0.7, -0.4, [0.9, -1.3]]);
  t.false(isFused(T, new Float64Array(data(4)), 0.7, -0.4, Float64Array.from([0.9, -1.3])));
  // an invariant with two terms an iteration, of magnitudes 1 and 2⁻⁵³: any other summation order rounds differently
  const two = traced(function (x0, a0, a1, th) {
    let s = 0;
    for (let i = 0; i < a0.length; i++) { s += a0[i] * x0; s -= a1[i] * x0 * th[0]; }
    return s;
  });
  const e = 2 ** -53;
  for (const [a0, a1] of [[[-1, 1], [-e, -e]], [[1e6, 3e-7, 2.5, -7e5, 1.1e-3, 9], [2e-6, 4e5, -3.3, 1e-5, 8e4, 0.7]]]) {
    const args = [1, Float64Array.from(a0), Float64Array.from(a1), Float64Array.from([1, 2])];
    const ref = interpreted(two, ...args), got = withGradient(two, ...args);
    t.true(Object.is(ref.grad[0], got.grad[0]), `x0: ${show(got.grad[0])} vs ${show(ref.grad[0])}`);
    t.true(same(ref.grad[3], got.grad[3]));
  }
});

test('least squares (unfused: w and b are invariants) matches its closed form: ∂/∂w = Σ 2 rᵢ xᵢ, ∂/∂b = Σ 2 rᵢ', (t) => {
  const T = traced(function (w, b, x, y) { let s = 0; for (let i = 0; i < x.length; i++) { const r = w * x[i] + b - y[i]; s += r * r; } return s; });
  const x = Float64Array.from(data(9)), y = Float64Array.from(data(9, 5));
  const [gw, gb] = gradient(T, 0.8, -0.3, x, y);
  t.is(tierOf(T), 'compiled');
  let ew = 0, eb = 0;
  for (let i = 0; i < x.length; i++) {
    const r = 0.8 * x[i] - 0.3 - y[i];
    ew += 2 * r * x[i];
    eb += 2 * r;
  }
  t.true(Math.abs(gw - ew) <= 1e-12 * (1 + Math.abs(ew)), `${gw} vs ${ew}`);
  t.true(Math.abs(gb - eb) <= 1e-12 * (1 + Math.abs(eb)), `${gb} vs ${eb}`);
});

const unfusedCases = {
  'reads two apart': [function (x) { let s = 0; for (let i = 1; i < x.length - 1; i++) s += x[i - 1] * x[i + 1]; return s; }, []],
  'a loop-carried product': [function (x) { let s = 0; for (let i = 0; i < x.length; i++) s = s * 0.5 + x[i]; return s; }, []],
  'an output computed after the loop': [function (x) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i]; return s * 2; }, []],
  'a loop counting down': [function (x) { let s = 0; for (let i = x.length - 1; i >= 0; i--) s += x[i] * x[i]; return s; }, []],
  'an element read at the counter inside a branch': [function (x) { let s = 0; for (let i = 0; i < x.length; i++) if (x[i] > 0) s += x[i]; return s; }, []],
  'an array read at the counter and at a fixed index': [function (x) { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * x[0]; return s; }, []],
  'a local assigned in one branch only, read after it (its value may come from the last iteration)': [function (x) {
    let s = 0; let u = 0;
    for (let i = 0; i < x.length; i++) { const xi = x[i] * 1; if (xi > 0) u = xi * 2; s += u * xi; }
    return s;
  }, []],
  'an element copy': [function (x) { let s = 0; for (let i = 0; i < x.length; i++) { const v = x[i]; s += v * x[i]; } return s; }, []],
};
for (const [name, [f, extra]] of Object.entries(unfusedCases)) {
  test(`not fused, and still exact: ${name}`, (t) => {
    const T = assertMatchesInterpreter(t, f, extra);
    t.false(isFused(T, new Float64Array(data(4)), ...extra));
  });
}

test('fused: the statements before the loop get their values back (a prefix reading a variable the loop reassigns)', (t) => {
  const f = function (x, y) {
    let w = y * 2;
    let s = w * w; // ∂/∂y = 8y: its reverse reads w as it was before the loop
    for (let i = 0; i < x.length; i++) { w = x[i] * 3; s += w * w; }
    return s;
  };
  const T = assertMatchesInterpreter(t, f, [0.3]);
  t.true(isFused(T, new Float64Array(3), 0.3));
  const x = new Float64Array([0.5, -1, 2]);
  const [gx, gy] = gradient(T, x, 0.3);
  t.deepEqual(Array.from(gx), Array.from(x, (v) => 18 * v)); // ∂(9x²)/∂x, exact in floating point here
  t.is(gy, 8 * 0.3);
});

test('fused Rosenbrock matches the hand-derived gradient, carried term included (the last element)', (t) => {
  const T = traced(fusedCases.rosenbrock);
  const x = new Float64Array([0.5, -1.2, 0.8, 2, -0.3]);
  const [g] = gradient(T, x);
  t.true(isFused(T, x));
  const want = new Float64Array(x.length);
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] ** 2;
    want[i] += -400 * a * x[i] - 2 * (1 - x[i]);
    want[i + 1] += 200 * a;
  }
  want.forEach((w, i) => t.true(Math.abs(g[i] - w) <= 1e-12 * (1 + Math.abs(w)), `entry ${i}: ${g[i]} vs ${w}`));
});

test('codegen.fuseLastLoop = false (TRACEGRAD_JIT_FUSE=0) compiles the same loop unfused, with the same bits', (t) => {
  const x = new Float64Array(data(9));
  const fused = traced(fusedCases.rosenbrock);
  const a = withGradient(fused, x);
  codegen.fuseLastLoop = false;
  try {
    const plain = traced(function (x) { let s = 0; for (let i = 0; i < x.length - 1; i++) { const a = x[i + 1] - x[i] * x[i]; const b = 1 - x[i]; s += 100 * a * a + b * b; } return s; });
    const b = withGradient(plain, x);
    t.false(isFused(plain, x));
    t.true(Object.is(a.value, b.value));
    t.true(same(a.grad[0], b.grad[0]));
  } finally {
    codegen.fuseLastLoop = true;
  }
});
