// Higher-order derivatives (hessian in all three modes, hvp, taylor), jacobian in both internal modes and forwardDiff, against closed forms, series arithmetic and finite differences.
import test from 'ava';
import { hessian, hvp, taylor, jacobian, forwardDiff, gradient, traced, TracegradError } from '../dist/index.js';
import { richardsonDerivative, assertClose } from './helpers/reference.mjs';
import { rosenbrockPow as rosenbrock, rosenbrockHessian } from './helpers/rosenbrock.mjs';

const factorial = (k) => (k <= 1 ? 1 : k * factorial(k - 1));
const binomial = (n, k) => factorial(n) / (factorial(k) * factorial(n - k));
const matVec = (H, v) => H.map((row) => row.reduce((s, h, j) => s + h * v[j], 0));
const maxAbs = (H) => Math.max(...H.flat().map(Math.abs));

/** Entrywise |a − b| ≤ rtol·max|b| (a relative tolerance on the matrix, so near-zero entries are not over-demanded). */
function assertMatrixClose(t, actual, expected, rtol, message) {
  assertClose(t, actual, expected, { rtol: 0, atol: rtol * maxAbs(expected), message });
}

// ---------------------------------------------------------------- hessian

test('hessian of x0·x1 at [1, 2] is [[0, 1], [1, 0]] in all three modes', (t) => {
  t.deepEqual(hessian((x) => x[0] * x[1], [1, 2]), [[0, 1], [1, 0]]);
  t.deepEqual(hessian((x) => x[0] * x[1], [1, 2], { mode: 'forward' }), [[0, 1], [1, 0]]);
  t.deepEqual(hessian((x) => x[0] * x[1], [1, 2], { mode: 'forward-over-reverse' }), [[0, 1], [1, 0]]);
  t.deepEqual(hessian((x) => x[0] * x[1], [1, 2], { mode: 'reverse' }), [[0, 1], [1, 0]]);
});

test('hessian of atan2(v0, v1) at [1, 2] is [[-0.16, -0.12], [-0.12, 0.16]] to 1e-15', (t) => {
  // f = atan2(a, b): f_a = b/r², f_b = −a/r²; f_aa = −2ab/r⁴, f_ab = (a² − b²)/r⁴, f_bb = 2ab/r⁴; r⁴ = 25
  const expected = [[-4 / 25, -3 / 25], [-3 / 25, 4 / 25]];
  for (const mode of ['forward', 'forward-over-reverse', 'reverse']) {
    assertClose(t, hessian((v) => Math.atan2(v[0], v[1]), [1, 2], { mode }), expected, { rtol: 0, atol: 1e-15, message: mode });
  }
});


test('Rosenbrock (n = 5): all three modes match the closed-form Hessian and each other to ~1e-14', (t) => {
  for (const x of [[-1.2, 1, 0.5, 2, -0.7], [1, 1, 1, 1, 1], [0.3, -0.1, 1.7, 0.9, 1.1]]) {
    const expected = rosenbrockHessian(x);
    const fwd = hessian(rosenbrock, x);
    const rev = hessian(rosenbrock, x, { mode: 'reverse' });
    const forwardOverReverse = hessian(rosenbrock, x, { mode: 'forward-over-reverse' });
    assertMatrixClose(t, forwardOverReverse, expected, 1e-14, `forward over reverse at ${x}`);
    assertMatrixClose(t, fwd, expected, 1e-14, `forward at ${x}`);
    assertMatrixClose(t, rev, expected, 1e-14, `reverse at ${x}`);
    assertMatrixClose(t, fwd, rev, 1e-14, `modes at ${x}`);
    t.deepEqual(fwd.map((r) => r.length), [5, 5, 5, 5, 5]);
    t.true(x.every((v) => typeof v === 'number'), 'x left plain');
  }
});

test('a nested-array input is flattened row-major: x = [[a, b], [c, d]] has variables a, b, c, d', (t) => {
  const f = (x) => {
    const [[a, b], [c, d]] = x;
    return a * d - b * c + a * a * b + Math.sin(c) * d;
  };
  const x = [[0.5, -1.5], [0.8, 2]];
  const [a, b, c, d] = x.flat();
  // ∂f: (d + 2ab, −c + a², −b + d cos c, a + sin c)
  const expected = [
    [2 * b, 2 * a, 0, 1],
    [2 * a, 0, -1, 0],
    [0, -1, -d * Math.sin(c), Math.cos(c)],
    [1, 0, Math.cos(c), 0],
  ];
  for (const mode of ['forward', 'forward-over-reverse', 'reverse']) assertClose(t, hessian(f, x, { mode }), expected, { rtol: 1e-15, atol: 1e-15, message: mode });
  // ragged rows flatten the same way: [[a], [b, c]] → a, b, c
  const g = (y) => y[0][0] * y[1][0] * y[1][1];
  const expectedG = [[0, 3, 2], [3, 0, 1.5], [2, 1.5, 0]];
  for (const mode of ['forward', 'forward-over-reverse', 'reverse']) t.deepEqual(hessian(g, [[1.5], [2, 3]], { mode }), expectedG, mode);
});

// Regression (fixed): hessian flattens the (inner) gradient with flatten() (lib/higher.ts), but gradient gives null for a whole row of
// a nested-array x that nothing reaches ([null, [0, 1]] for x[1][0]·x[1][1]), and flatten(null) is one entry, not a
// row's worth: every later column index shifts. Forward mode puts the block one row/column too early
// ([[0,0,0,0],[0,0,0,1],[0,0,1,0],[0,0,0,0]]), reverse mode scrambles it ([[0,0,0,0],[0,0,1,0],[0,1,0,0],[0,0,0,0]]).
test('hessian of a function that leaves a whole row of a nested-array input untouched', (t) => {
  const expected = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]];
  for (const mode of ['forward', 'forward-over-reverse', 'reverse']) t.deepEqual(hessian((x) => x[1][0] * x[1][1], [[1, 2], [3, 4]], { mode }), expected, mode);
});

// Regression (fixed): same cause: a row the gradient does not reach also comes back from hvp as null, not as zeros of x's shape.
test('hvp is shaped like x even where a row has no curvature', (t) => {
  t.deepEqual(hvp((x) => x[1][0] * x[1][1], [[1, 2], [3, 4]], [[0, 0], [1, 0]]), [[0, 0], [0, 1]]);
});

// Regression (fixed): same cause, reverse mode only: for f = a·c with x = [[a, b], [c, d]], the gradient of ∂f/∂a = c is [null, [1, 0]],
// flattened to [null, 1, 0], so the 1 lands in row b instead of row c ([[0,0,1,0],[1,0,0,0],[0,0,0,0],[0,0,0,0]]).
// Forward mode happens to get this one right (hvp returns [[0, 0], [1, 0]] there).
test('reverse-mode hessian where the gradient of a gradient entry misses a whole row', (t) => {
  // f = a·c with x = [[a, b], [c, d]]: H has 1 at (a, c) and (c, a)
  const expected = [[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]];
  t.deepEqual(hessian((x) => x[0][0] * x[1][0], [[1, 2], [3, 4]]), expected, 'forward');
  t.deepEqual(hessian((x) => x[0][0] * x[1][0], [[1, 2], [3, 4]], { mode: 'reverse' }), expected, 'reverse');
});

test('loops and branches: both modes match a hand-derived Hessian and agree to ~1e-14', (t) => {
  // f = Σᵢ g(xᵢ)·x₍ᵢ₊₁ mod n₎ + log Πₖ (1 + xₖ²/4), g(u) = u² for u > 0, sin u otherwise
  const f = (x) => {
    const n = x.length;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const next = x[(i + 1) % n];
      if (x[i] > 0) s += x[i] * x[i] * next;
      else s += Math.sin(x[i]) * next;
    }
    let p = 1;
    let k = 0;
    while (k < n) {
      p *= 1 + (x[k] * x[k]) / 4;
      k++;
    }
    return s + Math.log(p);
  };
  const x = [0.7, -1.2, 1.5, -0.3, 0.9];
  const n = x.length;
  const g = (u) => (u > 0 ? u * u : Math.sin(u));
  const g1 = (u) => (u > 0 ? 2 * u : Math.cos(u));
  const g2 = (u) => (u > 0 ? 2 : -Math.sin(u));
  const expected = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let j = 0; j < n; j++) {
    const next = (j + 1) % n;
    expected[j][j] += g2(x[j]) * x[next] + (8 - 2 * x[j] * x[j]) / (4 + x[j] * x[j]) ** 2; // (log(1 + u²/4))'' = (8 − 2u²)/(4 + u²)²
    expected[j][next] += g1(x[j]);
    expected[next][j] += g1(x[j]);
  }
  t.is(g(1), 1); // (g itself documents the branch; only its derivatives enter the Hessian)
  const fwd = hessian(f, x);
  const rev = hessian(f, x, { mode: 'reverse' });
  assertMatrixClose(t, fwd, expected, 1e-14, 'forward');
  assertMatrixClose(t, rev, expected, 1e-14, 'reverse');
  assertMatrixClose(t, fwd, rev, 1e-14, 'modes');
});

test('hessian of a scalar function of a number, both modes', (t) => {
  const f = (x) => x ** 3 * Math.exp(x);
  for (const x of [-1, 0.5, 2]) {
    const expected = Math.exp(x) * (x ** 3 + 6 * x * x + 6 * x); // (x³eˣ)''
    for (const mode of ['forward', 'forward-over-reverse', 'reverse']) {
      const h = hessian(f, x, { mode });
      t.is(typeof h, 'number');
      assertClose(t, h, expected, { rtol: 1e-14, atol: 1e-15, message: `${mode} at ${x}` });
    }
  }
  t.is(hessian((x) => 3 * x + 1, 2), 0, 'a linear function');
  t.is(hessian((x) => 3 * x + 1, 2, { mode: 'reverse' }), 0);
});

// ---------------------------------------------------------------- hvp

test('hvp equals Hessian·v (closed form), for arrays, nested arrays and numbers', (t) => {
  const x = [-1.2, 1, 0.5, 2, -0.7];
  const H = rosenbrockHessian(x);
  for (const v of [[1, 0, 0, 0, 0], [0.3, -1, 2, 0.5, 1], [0, 0, 0, 0, 0]]) {
    for (const mode of ['reverse-over-forward', 'forward-over-reverse']) {
      const hv = hvp(rosenbrock, x, v, { mode });
      t.true(Array.isArray(hv) && hv.length === 5);
      assertClose(t, hv, matVec(H, v), { rtol: 0, atol: 1e-14 * maxAbs(H), message: `${mode}, v = ${v}` });
    }
  }
  // nested: the result has x's nesting; values from the closed-form Hessian of the row-major test above
  const f = (y) => y[0][0] * y[1][1] - y[0][1] * y[1][0] + y[0][0] * y[0][0] * y[0][1];
  const y = [[0.5, -1.5], [0.8, 2]];
  const [a, b] = [0.5, -1.5];
  const Hy = [[2 * b, 2 * a, 0, 1], [2 * a, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]];
  const v = [[1, 2], [-1, 0.5]];
  const flat = matVec(Hy, v.flat());
  t.deepEqual(hvp(f, y, v), [flat.slice(0, 2), flat.slice(2)]);
  // a number: f''(x)·v
  assertClose(t, hvp((u) => Math.sin(u) * u, 0.9, 3), 3 * (2 * Math.cos(0.9) - 0.9 * Math.sin(0.9)), { rtol: 1e-15 });
});

// ---------------------------------------------------------------- taylor

/** Truncated power series arithmetic (coefficient arrays), to build reference Taylor coefficients without differentiating. */
const series = {
  mul: (a, b) => a.map((_v, k) => a.slice(0, k + 1).reduce((s, ai, i) => s + ai * b[k - i], 0)),
  // g = exp(f): g' = f'g, so k·g_k = Σⱼ j·f_j·g_(k−j)
  exp(f) {
    const g = [Math.exp(f[0])];
    for (let k = 1; k < f.length; k++) {
      let s = 0;
      for (let j = 1; j <= k; j++) s += j * f[j] * g[k - j];
      g.push(s / k);
    }
    return g;
  },
  // sin⁽ᵏ⁾ cycles sin, cos, −sin, −cos (exactly, unlike sin(x0 + kπ/2))
  sinAt: (x0, N) => Array.from({ length: N + 1 }, (_v, k) => [Math.sin, Math.cos, (u) => -Math.sin(u), (u) => -Math.cos(u)][k % 4](x0) / factorial(k)),
  expAt: (x0, N) => Array.from({ length: N + 1 }, (_v, k) => Math.exp(x0) / factorial(k)),
  // p(x0 + h) for p = Σ c_m x^m: coefficient k is Σ_(m ≥ k) c_m·C(m, k)·x0^(m−k)
  polyAt: (c, x0, N) => Array.from({ length: N + 1 }, (_v, k) => c.reduce((s, cm, m) => (m >= k ? s + cm * binomial(m, k) * x0 ** (m - k) : s), 0)),
};

test('taylor of exp and sin to order 10 at a few points', (t) => {
  for (const x0 of [0, 1, -2]) {
    const c = taylor((x) => Math.exp(x), x0, 10);
    t.is(c.length, 11);
    assertClose(t, c, series.expAt(x0, 10), { rtol: 1e-14, atol: 0, message: `exp at ${x0}` });
  }
  for (const x0 of [0, 0.5, 2]) {
    assertClose(t, taylor((x) => Math.sin(x), x0, 10), series.sinAt(x0, 10), { rtol: 1e-13, atol: 1e-17, message: `sin at ${x0}` });
  }
  t.deepEqual(taylor((x) => Math.exp(x), 0, 0), [1], 'order 0 is the value alone');
});

test('taylor of 1/(1−x) and log1p to order 10', (t) => {
  // 1/(1 − x) = Σ h^k / (1 − x0)^(k+1)
  t.deepEqual(taylor((x) => 1 / (1 - x), 0, 10), new Array(11).fill(1));
  // at x0 ≠ 0 the 10th coefficient already loses ~1e-9 relative accuracy (the division bug below); checked to 1e-8
  for (const x0 of [0.25, -0.5]) {
    const expected = Array.from({ length: 11 }, (_v, k) => 1 / (1 - x0) ** (k + 1));
    assertClose(t, taylor((x) => 1 / (1 - x), x0, 10), expected, { rtol: 1e-8, message: `1/(1−x) at ${x0}` });
  }
  // log1p(x0 + h) = log1p(x0) + Σ (−1)^(k+1) h^k / (k (1 + x0)^k)
  for (const x0 of [0, 0.5, -0.3]) {
    const expected = Array.from({ length: 11 }, (_v, k) => (k === 0 ? Math.log1p(x0) : (-1) ** (k + 1) / (k * (1 + x0) ** k)));
    assertClose(t, taylor((x) => Math.log1p(x), x0, 10), expected, { rtol: 1e-9, atol: 1e-17, message: `log1p at ${x0}` });
  }
});

// Regression (fixed): nested derivatives through division overflow around order 10. The div rule writes ∂(a/b)/∂b as −a/(b·b)
// (lib/rules/scalar.ts); differentiating that again divides by (b·b)·(b·b), and so on: at nesting depth k the
// intermediates hold b^(2^k). For b = 1 − x = 0.5, b^1024 underflows (1/b^1024 overflows) at order 10, giving Infinity
// (then NaN at 11); for b = 0.75 the huge terms cancel and the 10th coefficient is only good to ~6e-10 (order 7: 2e-14,
// 8: 5e-13, 9: 7e-11). Same for 1/x at x = 2 (order 10 is off by exactly −2^34), log and sqrt one order later.
// Writing the partial as −(y/b) with y = a/b keeps the powers linear in k. (x ** -1 is fine to order 12.)
test('taylor of 1/(1−x) to order 10 stays accurate away from 0 (division nested 10 deep)', (t) => {
  for (const x0 of [0.5, 0.6, 0.25]) {
    const expected = Array.from({ length: 11 }, (_v, k) => 1 / (1 - x0) ** (k + 1));
    assertClose(t, taylor((x) => 1 / (1 - x), x0, 10), expected, { rtol: 1e-12, message: `1/(1−x) at ${x0}` });
  }
  assertClose(t, taylor((x) => 1 / x, 2, 10)[10], 1 / 2 ** 11, { rtol: 1e-12, message: '1/x at 2' });
});

test('taylor of exp(sin x): the known coefficients at 0 and series arithmetic elsewhere', (t) => {
  // exp(sin x) = 1 + x + x²/2 − x⁴/8 − x⁵/15 − x⁶/240 + x⁷/90 + 31x⁸/5760 + x⁹/5670 − 2951x¹⁰/3628800 + …
  const known = [1, 1, 1 / 2, 0, -1 / 8, -1 / 15, -1 / 240, 1 / 90, 31 / 5760, 1 / 5670, -2951 / 3628800];
  const f = (x) => Math.exp(Math.sin(x));
  assertClose(t, series.exp(series.sinAt(0, 10)), known, { rtol: 1e-14, atol: 1e-16, message: 'the series helper itself' });
  assertClose(t, taylor(f, 0, 10), known, { rtol: 1e-12, atol: 1e-16, message: 'at 0' });
  for (const x0 of [0.7, -1.9]) {
    assertClose(t, taylor(f, x0, 10), series.exp(series.sinAt(x0, 10)), { rtol: 1e-12, atol: 1e-16, message: `at ${x0}` });
  }
});

test('taylor through a loop and a branch: Horner polynomial times exp(x) for x > 0', (t) => {
  const c = [1, -2, 0.5, 3, -1, 0.25];
  const f = traced((x) => {
    let r = 0;
    for (let k = c.length - 1; k >= 0; k--) r = r * x + c[k];
    return x > 0 ? r * Math.exp(x) : r;
  }, { c });
  const N = 9;
  // x0 > 0: series product of the shifted polynomial and the exponential
  assertClose(t, taylor(f, 0.3, N), series.mul(series.polyAt(c, 0.3, N), series.expAt(0.3, N)), { rtol: 1e-12, atol: 1e-15, message: 'x > 0' });
  // x0 < 0: the polynomial alone, whose coefficients beyond its degree vanish exactly
  const neg = taylor(f, -0.3, N);
  assertClose(t, neg, series.polyAt(c, -0.3, N), { rtol: 1e-13, atol: 1e-15, message: 'x < 0' });
  t.deepEqual(neg.slice(6), [0, 0, 0, 0]);
});

test('taylor and hessian reject bad arguments with a TracegradError that says what is needed', (t) => {
  let e = t.throws(() => taylor((x) => x, 1, -1), { instanceOf: TracegradError });
  t.regex(e.message, /integer order between 0 and 20/);
  t.throws(() => taylor((x) => x, 1, 2.5), { instanceOf: TracegradError });
  t.throws(() => taylor((x) => x, 1, 21), { instanceOf: TracegradError });
  e = t.throws(() => taylor((x) => x, [1], 2), { instanceOf: TracegradError });
  t.regex(e.message, /needs a number x/);
  e = t.throws(() => taylor((x) => [x], 1, 2), { instanceOf: TracegradError });
  t.regex(e.message, /return a number/);

  for (const bad of [{ a: 1 }, 'x', [], [1, 'a'], null]) {
    e = t.throws(() => hessian((x) => 0, bad), { instanceOf: TracegradError }, `x = ${JSON.stringify(bad)}`);
    t.regex(e.message, /number or a \(nested\) array of numbers/);
    t.regex(e.message, /hvp|nest gradient/);
  }
  e = t.throws(() => hessian((x) => x * x, 2, { mode: 'sideways' }), { instanceOf: TracegradError });
  t.regex(e.message, /'forward'.*'reverse'/);
  e = t.throws(() => hvp((x) => x * x, 2, 1, { mode: 'sideways' }), { instanceOf: TracegradError });
  t.regex(e.message, /'reverse-over-forward'.*'forward-over-reverse'/);
});

// ---------------------------------------------------------------- jacobian, both internal modes

/** Finite-difference Jacobian in jacobian()'s layout: per argument, m×n rows (array) or a length-m array (number). */
function numericJacobian(f, args) {
  const m = f(...args.map((a) => (typeof a === 'number' ? a : [...a]))).length;
  const column = (k, j) => Array.from({ length: m }, (_v, i) =>
    richardsonDerivative((s) => {
      const copy = args.map((a) => (typeof a === 'number' ? a : [...a]));
      if (j === null) copy[k] = s;
      else copy[k][j] = s;
      return f(...copy)[i];
    }, j === null ? args[k] : args[k][j]));
  return args.map((a, k) => {
    if (typeof a === 'number') return column(k, null);
    const cols = Array.from(a, (_v, j) => column(k, j));
    return Array.from({ length: m }, (_v, i) => cols.map((c) => c[i]));
  });
}

test('jacobian with more outputs than inputs (forward mode inside) matches finite differences', (t) => {
  const f = (v) => [v[0] * v[1], Math.sin(v[0]), v[0] + v[1] * v[1], Math.exp(v[0] - v[1])];
  const x = [0.4, -1.3];
  const J = jacobian(f, x);
  t.is(J.length, 1);
  t.deepEqual(J[0].map((r) => r.length), [2, 2, 2, 2], '4×2: row i holds the derivatives of output i');
  assertClose(t, J, numericJacobian(f, [x]), { rtol: 1e-8, atol: 1e-10 });
  // closed form, exactly where it is exact
  t.deepEqual(J[0][0], [-1.3, 0.4]);
  t.deepEqual(J[0][2], [1, -2.6]);

  // a number argument gives a length-m array
  const g = (s) => [s, s * s, Math.sin(s)];
  const [Js] = jacobian(g, 0.7);
  assertClose(t, Js, [1, 1.4, Math.cos(0.7)], { rtol: 1e-15 });

  // a number and an array together (n = 3 < m = 4)
  const h = (s, v) => [s * v[0], s + v[1], v[0] * v[1], s * s];
  const args = [2, [3, -0.5]];
  const Jh = jacobian(h, ...args);
  t.deepEqual(Jh, [[3, 1, 0, 4], [[2, 0], [0, 1], [-0.5, 3], [0, 0]]]);
  assertClose(t, Jh, numericJacobian(h, args), { rtol: 1e-8, atol: 1e-10 });
  // a Float64Array argument gives plain nested arrays too
  assertClose(t, jacobian(f, new Float64Array(x)), J, { rtol: 0, atol: 0 });
});

test('jacobian with fewer outputs than inputs (reverse mode inside) matches finite differences', (t) => {
  const f = (v) => [v.reduce((s, x) => s + x * x, 0), v.reduce((p, x) => p * x, 1)];
  const x = [0.5, -1, 2, 1.5, 0.8];
  const J = jacobian(f, x);
  t.deepEqual(J[0].map((r) => r.length), [5, 5]);
  assertClose(t, J, numericJacobian(f, [x]), { rtol: 1e-8, atol: 1e-10 });
  const prod = x.reduce((p, v) => p * v, 1);
  assertClose(t, J[0], [x.map((v) => 2 * v), x.map((v) => prod / v)], { rtol: 1e-15 });

  // a number with an array (n = 5 > m = 2): the number's entry is a length-2 array
  const g = (s, v) => [s * v[0] * v[1], Math.sin(s) + v[2] + v[3]];
  const args = [0.3, [1, 2, 3, 4]];
  assertClose(t, jacobian(g, ...args), numericJacobian(g, args), { rtol: 1e-8, atol: 1e-10 });
  t.deepEqual(jacobian(g, ...args)[1], [[0.6, 0.3, 0, 0], [0, 0, 1, 1]]);

  // a number output: the gradient; an output entry that depends on nothing: a row of zeros
  t.deepEqual(jacobian((v) => v[0] * v[1], [3, 4]), [[4, 3]]);
  t.deepEqual(jacobian((v) => [v[0] * v[1], 5], [3, 4]), [[[4, 3], [0, 0]]]);
});

test('jacobian takes forward mode (one pass per input entry) when m > n and reverse mode when m < n', (t) => {
  // observable through how often f runs: forward runs it once per input entry, reverse records it once
  const counter = { calls: 0 };
  const counted = traced((v) => {
    counter.calls++;
    return [v[0] * v[1], v[0] - v[1], v[0] * 2, v[1] * 3, v[0] + v[2], v[0] * v[0]];
  }, { counter });
  const J = jacobian(counted, [1, 2, 7]);
  t.deepEqual(J, [[[2, 1, 0], [1, -1, 0], [2, 0, 0], [0, 3, 0], [1, 0, 1], [2, 0, 0]]]);
  // (reverse mode would run f at most twice)
  t.true(counter.calls >= 3, `forward mode: at least one call per input entry (${counter.calls})`);
  counter.calls = 0;
  const wide = traced((v) => {
    counter.calls++;
    return [v.reduce((s, x) => s + x, 0), v[0] * v[5]];
  }, { counter });
  const Jw = jacobian(wide, [1, 2, 3, 4, 5, 6]);
  t.deepEqual(Jw, [[[1, 1, 1, 1, 1, 1], [6, 0, 0, 0, 0, 1]]]);
  t.true(counter.calls <= 2, `reverse mode: f recorded once (${counter.calls} calls in all), not once per input entry (6)`);
});

test('forwardDiff inside gradient: scalar x, array x, typed-array x, vs closed forms', (t) => {
  // scalar x: d/dx [2·x sin x + x] = 2(sin x + x cos x) + 1
  const f = traced((x) => 2 * forwardDiff((u) => Math.sin(u) * u, x) + x, { forwardDiff });
  for (const x of [-0.4, 2]) assertClose(t, gradient(f, x)[0], 2 * (Math.sin(x) + x * Math.cos(x)) + 1, { rtol: 1e-14 });
  t.is(f(2), 2 * Math.sin(2) * 2 + 2, 'a plain call is just f');

  // array x, array output: y = (u0 u1, sin u0), loss y0 + 2 y1 → (u1 + 2 cos u0, u0)
  const g = traced((x) => {
    const y = forwardDiff((u) => [u[0] * u[1], Math.sin(u[0])], x);
    return y[0] + 2 * y[1];
  }, { forwardDiff });
  assertClose(t, gradient(g, [1, 2])[0], [2 + 2 * Math.cos(1), 1], { rtol: 1e-15 });
  const [gt] = gradient(g, new Float64Array([1, 2]));
  t.true(gt instanceof Float64Array, 'a typed-array argument gets a typed-array gradient');
  assertClose(t, gt, new Float64Array([2 + 2 * Math.cos(1), 1]), { rtol: 1e-15 });

  // array x with a number output computed in a loop, combined with other traced work on x
  const h = traced((x) => {
    const inner = forwardDiff((u) => {
      let s = 0;
      for (let i = 0; i < u.length; i++) s += Math.sin(u[i]) * u[i];
      return s;
    }, x);
    return inner * x[0];
  }, { forwardDiff });
  const x = [0.5, -1, 2];
  const S = x.reduce((s, v) => s + Math.sin(v) * v, 0);
  const dS = x.map((v) => Math.sin(v) + v * Math.cos(v));
  // ∂/∂xᵢ (S·x0) = dSᵢ·x0 + S·[i = 0]
  assertClose(t, gradient(h, x)[0], dS.map((d, i) => d * x[0] + (i === 0 ? S : 0)), { rtol: 1e-14 });
  t.true(x.every((v) => typeof v === 'number'));
});

test('forwardDiff rejects an argument that is not a number or a flat array', (t) => {
  const e = t.throws(() => gradient(traced((o) => forwardDiff((u) => u.a * 2, o), { forwardDiff }), { a: 1 }), { instanceOf: TracegradError });
  t.regex(e.message, /number or a flat array/);
});
