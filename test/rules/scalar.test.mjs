// Exact derivatives of every Math function and arithmetic operator, checked against closed forms and Richardson finite differences, plus the kink conventions.
import test from 'ava';
import { gradient, withGradient, traced } from '../../dist/index.js';
import { assertClose, numericGradient, richardsonDerivative } from '../helpers/reference.mjs';

/** Largest power of two <= v. */
const pow2Below = (v) => 2 ** Math.floor(Math.log2(v));

/**
 * Richardson derivative of f at x, with the initial step shrunk so that x +- h stays inside (lo, hi) by a margin
 * (the reference must not probe across a singularity or outside the domain).
 */
function fd(f, x, lo = -Infinity, hi = Infinity) {
  const h = Math.min(pow2Below(1e-2 * Math.max(1, Math.abs(x))), pow2Below(Math.min(x - lo, hi - x) / 4));
  return richardsonDerivative(f, x, { h });
}

// Tolerances: closed forms are evaluated with different (but exact) formulas, so allow rounding only.
const CLOSED = { rtol: 1e-10, atol: 1e-15 };
const FD = { rtol: 1e-6, atol: 1e-9 };

/**
 * One row per unary Math function: `f` is a self-contained arrow (so it can be traced), `d` its closed-form derivative,
 * `points` lie inside the open domain (lo, hi), away from singularities.
 */
const UNARY = [
  { name: 'abs', f: (x) => Math.abs(x), d: (x) => (x > 0 ? 1 : -1), points: [-2.5, -0.3, 0.7, 3] },
  { name: 'exp', f: (x) => Math.exp(x), d: (x) => Math.exp(x), points: [-3, -0.5, 0, 1, 5] },
  { name: 'expm1', f: (x) => Math.expm1(x), d: (x) => Math.exp(x), points: [-2, -1e-3, 0, 1e-8, 2] },
  { name: 'log', f: (x) => Math.log(x), d: (x) => 1 / x, points: [0.01, 0.5, 1, 3, 100], lo: 0 },
  { name: 'log1p', f: (x) => Math.log1p(x), d: (x) => 1 / (1 + x), points: [-0.9, -0.5, 0, 1e-6, 4], lo: -1 },
  { name: 'log2', f: (x) => Math.log2(x), d: (x) => 1 / (x * Math.LN2), points: [0.01, 0.5, 1, 3, 100], lo: 0 },
  { name: 'log10', f: (x) => Math.log10(x), d: (x) => 1 / (x * Math.LN10), points: [0.01, 0.5, 1, 3, 100], lo: 0 },
  { name: 'sqrt', f: (x) => Math.sqrt(x), d: (x) => 0.5 / Math.sqrt(x), points: [1e-4, 0.25, 2, 100], lo: 0 },
  { name: 'cbrt', f: (x) => Math.cbrt(x), d: (x) => 1 / (3 * Math.cbrt(x) ** 2), points: [-8, -0.5, 0.3, 27] },
  { name: 'sin', f: (x) => Math.sin(x), d: (x) => Math.cos(x), points: [-2, -0.5, 0, 1, 3] },
  { name: 'cos', f: (x) => Math.cos(x), d: (x) => -Math.sin(x), points: [-2, -0.5, 0, 1, 3] },
  { name: 'tan', f: (x) => Math.tan(x), d: (x) => 1 / Math.cos(x) ** 2, points: [-1.2, -0.5, 0, 1, 1.4], lo: -Math.PI / 2, hi: Math.PI / 2 },
  { name: 'asin', f: (x) => Math.asin(x), d: (x) => 1 / Math.sqrt(1 - x * x), points: [-0.9, -0.3, 0, 0.5, 0.95], lo: -1, hi: 1 },
  { name: 'acos', f: (x) => Math.acos(x), d: (x) => -1 / Math.sqrt(1 - x * x), points: [-0.9, -0.3, 0, 0.5, 0.95], lo: -1, hi: 1 },
  { name: 'atan', f: (x) => Math.atan(x), d: (x) => 1 / (1 + x * x), points: [-5, -0.5, 0, 2, 30] },
  { name: 'sinh', f: (x) => Math.sinh(x), d: (x) => Math.cosh(x), points: [-3, -0.5, 0, 1, 4] },
  { name: 'cosh', f: (x) => Math.cosh(x), d: (x) => Math.sinh(x), points: [-3, -0.5, 0, 1, 4] },
  { name: 'tanh', f: (x) => Math.tanh(x), d: (x) => 1 / Math.cosh(x) ** 2, points: [-3, -0.5, 0, 1, 4] },
  { name: 'asinh', f: (x) => Math.asinh(x), d: (x) => 1 / Math.sqrt(x * x + 1), points: [-10, -0.5, 0, 1, 50] },
  { name: 'acosh', f: (x) => Math.acosh(x), d: (x) => 1 / Math.sqrt(x * x - 1), points: [1.01, 1.5, 3, 100], lo: 1 },
  { name: 'atanh', f: (x) => Math.atanh(x), d: (x) => 1 / (1 - x * x), points: [-0.9, -0.3, 0, 0.5, 0.95], lo: -1, hi: 1 },
];

for (const { name, f, d, points, lo, hi } of UNARY) {
  test(`Math.${name}: gradient equals the closed form and finite differences`, (t) => {
    const tf = traced(f);
    for (const x of points) {
      const [viaTraced] = gradient(tf, x);
      const [viaUntraced] = gradient(f, x);
      const [viaNative] = gradient(Math[name], x);
      t.is(typeof viaTraced, 'number', `Math.${name}'(${x}) is a number`);
      assertClose(t, viaTraced, d(x), { ...CLOSED, message: `Math.${name}'(${x}) vs closed form` });
      assertClose(t, viaTraced, fd(Math[name], x, lo, hi), { ...FD, message: `Math.${name}'(${x}) vs FD` });
      t.is(viaUntraced, viaTraced, `untraced arrow, Math.${name}'(${x})`);
      t.is(viaNative, viaTraced, `Math.${name} passed directly, at ${x}`);
      t.is(withGradient(tf, x).value, Math[name](x), `Math.${name}(${x}) value`);
    }
  });
}

// ---- piecewise-constant functions: derivative 0 everywhere, including the jumps ----

const STEPS = [
  { name: 'floor', f: (x) => Math.floor(x) },
  { name: 'ceil', f: (x) => Math.ceil(x) },
  { name: 'round', f: (x) => Math.round(x) },
  { name: 'trunc', f: (x) => Math.trunc(x) },
  { name: 'sign', f: (x) => Math.sign(x) },
];

for (const { name, f } of STEPS) {
  test(`Math.${name}: gradient is the number 0, matching finite differences between jumps`, (t) => {
    for (const x of [-2.3, -0.7, 0.3, 1.2, 5.8]) {
      const [g] = gradient(f, x);
      t.true(g === 0, `Math.${name}'(${x}) = ${g}`);
      assertClose(t, g, fd(Math[name], x, Math.floor(x), Math.ceil(x)), FD);
    }
    // at the jumps (and sign's jump at 0) the convention is still 0
    for (const x of [-2, -0.5, 0, 1, 2.5]) {
      const [g] = gradient(f, x);
      t.true(g === 0, `Math.${name}'(${x}) = ${g} at a jump`);
    }
    // the rest of the expression still differentiates (the step function called through scope)
    const [g] = gradient(traced((x) => step(x) * x + x * x, { step: traced(f) }), 2.5);
    t.is(g, Math[name](2.5) + 5);
  });
}

// ---- kink conventions ----

test('abs: derivative at 0 (and -0) is 0', (t) => {
  t.true(gradient((x) => Math.abs(x), 0)[0] === 0);
  t.true(gradient((x) => Math.abs(x), -0)[0] === 0);
  t.true(gradient((x) => 3 * Math.abs(x) + 0 * x, 0)[0] === 0);
});

test('sqrt: derivative at 0 is +Infinity', (t) => {
  t.is(gradient((x) => Math.sqrt(x), 0)[0], Infinity);
});

test('cbrt: derivative at 0 is +Infinity', (t) => {
  t.is(gradient((x) => Math.cbrt(x), 0)[0], Infinity);
});

// ---- n-ary Math functions ----

test('Math.max and Math.min: the winner gets the whole gradient; matches finite differences', (t) => {
  const cases = [
    [(a, b) => Math.max(a, b), [1.5, -2], [1, 0]],
    [(a, b) => Math.max(a, b), [-3, 0.25], [0, 1]],
    [(a, b) => Math.min(a, b), [1.5, -2], [0, 1]],
    [(a, b) => Math.min(a, b), [-3, 0.25], [1, 0]],
    [(a, b, c) => Math.max(a, b, c), [1, 7, 3], [0, 1, 0]],
    [(a, b, c) => Math.min(a, b, c), [1, 7, -3], [0, 0, 1]],
    [(a, b) => Math.max(a * a, 2 * b), [3, 4], [6, 0]],
    [(a, b) => Math.min(a * a, 2 * b), [3, 4], [0, 2]],
  ];
  for (const [f, args, expected] of cases) {
    const g = gradient(f, ...args);
    t.deepEqual(g, expected, `${f} at ${args}`);
    assertClose(t, g, numericGradient(f, ...args), FD);
  }
  // one tracked argument among constants
  t.deepEqual(gradient((x) => Math.max(x, 2, -1), 5), [1]);
  t.deepEqual(gradient((x) => Math.max(x, 2, -1), 1), [0]);
  t.deepEqual(gradient((x) => Math.min(x), -4), [1]);
  // spread of an array argument
  t.deepEqual(gradient((xs) => Math.max(...xs), [1, 3, 2]), [[0, 1, 0]]);
  t.deepEqual(gradient((xs) => Math.min(...xs), [1, 3, 2]), [[1, 0, 0]]);
});

test('Math.max and Math.min: ties split the gradient equally', (t) => {
  t.deepEqual(gradient((a, b) => Math.max(a, b), 2, 2), [0.5, 0.5]);
  t.deepEqual(gradient((a, b) => Math.min(a, b), 2, 2), [0.5, 0.5]);
  t.deepEqual(gradient((x) => Math.max(x, x), 2), [1]);
  t.deepEqual(gradient((x) => Math.min(x, x), -2), [1]);
  const third = gradient((a, b, c) => Math.max(a, b, c), 4, 4, 4);
  assertClose(t, third, [1 / 3, 1 / 3, 1 / 3], { rtol: 1e-15 });
  // two tied winners and a loser
  const [ga, gb, gc] = gradient((a, b, c) => Math.min(a, b, c), 1, 5, 1);
  t.is(ga, 0.5);
  t.is(gb, 0);
  t.is(gc, 0.5);
  // x appears twice among three tied slots: it gets 2/3 in total
  const [gx, gy] = gradient((x, y) => Math.max(x, x, y), 2, 2);
  assertClose(t, [gx, gy], [2 / 3, 1 / 3], { rtol: 1e-15 });
  // a tie with a constant also splits: the tracked argument gets its share only
  t.deepEqual(gradient((x) => Math.max(x, 2), 2), [0.5]);
});

test('Math.hypot: two and three arguments match x_i / hypot and finite differences', (t) => {
  const cases = [
    [3, 4],
    [-1.5, 0.25],
    [0, 2],
    [1, -2, 2],
    [-0.3, 0.4, 1.2],
  ];
  for (const args of cases) {
    const f = args.length === 2 ? (a, b) => Math.hypot(a, b) : (a, b, c) => Math.hypot(a, b, c);
    const g = gradient(f, ...args);
    const h = Math.hypot(...args);
    assertClose(t, g, args.map((a) => a / h), { ...CLOSED, message: `hypot at ${args}` });
    assertClose(t, g, numericGradient(f, ...args), { ...FD, message: `hypot FD at ${args}` });
  }
  // single argument: |x|
  t.deepEqual(gradient((x) => Math.hypot(x), -3), [-1]);
  // mixed with constants
  assertClose(t, gradient((x) => Math.hypot(x, 4), 3), [0.6], CLOSED);
  assertClose(t, gradient((xs) => Math.hypot(...xs), [3, 4, 12]), [[3 / 13, 4 / 13, 12 / 13]], CLOSED);
});

test('Math.hypot: gradient at the origin is 0', (t) => {
  t.deepEqual(gradient((a, b) => Math.hypot(a, b), 0, 0), [0, 0]);
  t.deepEqual(gradient((a, b, c) => Math.hypot(a, b, c), 0, 0, 0), [0, 0, 0]);
  t.deepEqual(gradient((x) => Math.hypot(x), 0), [0]);
});

test('Math.atan2: both arguments, all four quadrants', (t) => {
  const f = (y, x) => Math.atan2(y, x);
  for (const [y, x] of [[1, 2], [-1, -2], [3, -0.5], [-0.5, 3], [0, 1], [2, 0], [0.5, -4]]) {
    const r2 = x * x + y * y;
    const g = gradient(f, y, x);
    assertClose(t, g, [x / r2, -y / r2], { ...CLOSED, message: `atan2 at (${y}, ${x})` });
    // stay away from the branch cut on the negative x axis
    if (!(y === 0 && x < 0)) assertClose(t, g, numericGradient(f, y, x), { ...FD, message: `atan2 FD at (${y}, ${x})` });
  }
  // one tracked argument
  assertClose(t, gradient((y) => Math.atan2(y, 2), 1), [2 / 5], CLOSED);
  assertClose(t, gradient((x) => Math.atan2(1, x), 2), [-1 / 5], CLOSED);
});

// ---- pow and ** ----

const powMath = (a, b) => Math.pow(a, b);
const powOp = (a, b) => a ** b;

for (const [label, f] of [['Math.pow', powMath], ['**', powOp]]) {
  test(`${label}: positive base, derivative in base and exponent`, (t) => {
    for (const [a, b] of [[2, 3], [0.5, -1.5], [Math.E, 0.7], [3.3, 0], [7, 1], [1, 2.5], [0.2, 4]]) {
      const g = gradient(f, a, b);
      assertClose(t, g, [b === 0 ? 0 : b * a ** (b - 1), a ** b * Math.log(a)], { ...CLOSED, message: `${label} at (${a}, ${b})` });
      assertClose(t, g, numericGradient(f, a, b), { ...FD, message: `${label} FD at (${a}, ${b})` });
    }
  });

  test(`${label}: negative base with integer exponents`, (t) => {
    for (const a of [-2, -0.5, -3]) {
      for (const b of [-2, -1, 1, 2, 3, 4]) {
        const gx = label === '**' ? gradient((x, n) => x ** n, a, b) : gradient((x, n) => Math.pow(x, n), a, b);
        assertClose(t, gx[0], b * a ** (b - 1), { ...CLOSED, message: `${label} d/da at (${a}, ${b})` });
        assertClose(t, gx[0], fd((x) => x ** b, a, -Infinity, 0), { ...FD, message: `${label} FD at (${a}, ${b})` });
        // documented: a negative base has no real derivative in its exponent
        t.true(Number.isNaN(gx[1]), `${label} d/db at (${a}, ${b}) is NaN`);
      }
    }
    // constant integer exponent written in the source
    assertClose(t, gradient((x) => x ** 3, -2)[0], 12, CLOSED);
    assertClose(t, gradient((x) => Math.pow(x, -2), -2)[0], 0.25, CLOSED);
  });

  test(`${label}: base 0 with exponents 0, 1, 2, 0.5 (and 3)`, (t) => {
    const expected = [[0, 0], [1, 1], [2, 0], [0.5, Infinity], [3, 0]];
    for (const [b, d] of expected) {
      const [g] = label === '**' ? gradient((x, n) => x ** n, 0, b) : gradient((x, n) => Math.pow(x, n), 0, b);
      t.is(g, d, `${label} d/dx x^${b} at x = 0`);
    }
    // exponent as a literal in the source
    t.true(gradient((x) => x ** 0, 0)[0] === 0);
    t.true(gradient((x) => Math.pow(x, 0), 0)[0] === 0);
    t.is(gradient((x) => x ** 1, 0)[0], 1);
    t.true(gradient((x) => x ** 2, 0)[0] === 0);
    t.is(gradient((x) => x ** 0.5, 0)[0], Infinity);
    // x**0 has slope 0 away from 0 too
    t.true(gradient((x) => x ** 0, 3)[0] === 0);
  });

  test(`${label}: derivative in the exponent of 0**y is 0`, (t) => {
    for (const y of [2, 0.5, 1, 3.7, 0]) {
      const g = label === '**' ? gradient((x, n) => x ** n, 0, y) : gradient((x, n) => Math.pow(x, n), 0, y);
      t.true(g[1] === 0, `d/dy 0^${y} = ${g[1]}`);
      const [gy] = label === '**' ? gradient((n) => 0 ** n, y) : gradient((n) => Math.pow(0, n), y);
      t.true(gy === 0, `d/dy 0^${y} (constant base) = ${gy}`);
    }
    // one-sided FD agrees for y > 0: 0**y is identically 0 there
    t.is(fd((n) => 0 ** n, 2, 0), 0);
  });
}

test('x ** x: both slots of pow on the same value', (t) => {
  for (const x of [0.5, 1, 2, 3.5]) {
    const [g] = gradient((v) => v ** v, x);
    assertClose(t, g, x ** x * (Math.log(x) + 1), CLOSED);
    assertClose(t, g, fd((v) => v ** v, x, 0), FD);
  }
});

// ---- Math.random and the integer helpers ----

test('Math.random is a constant: the gradient of random() * x is the random value used', (t) => {
  // x = 2 makes value / x exact
  for (let i = 0; i < 20; i++) {
    const { value, grad } = withGradient((x) => Math.random() * x, 2);
    t.is(grad[0], value / 2);
    t.true(grad[0] >= 0 && grad[0] < 1);
  }
  const [g] = gradient((x) => x * 0 + Math.random(), 2);
  t.true(g === 0);
  t.is(gradient((x) => Math.random(), 2)[0], null);
});

// Regression (fixed): traced code snapshots Math.random at load time, so a Math.random stubbed later (seeded PRNG) is ignored by traced code but not by the original.
test('Math.random inside traced code is the current globalThis Math.random (a stub is honoured)', (t) => {
  const original = Math.random;
  Math.random = () => 0.25;
  try {
    t.is(gradient((x) => Math.random() * x, 2)[0], 0.25);
  } finally {
    Math.random = original;
  }
});

test('Math.imul and Math.clz32 act on primals and give constants', (t) => {
  t.is(gradient((x) => Math.imul(x, 3), 5)[0], null);
  t.is(gradient((x) => Math.clz32(x) * x, 5)[0], Math.clz32(5));
});

// ---- operators ----

const OPERATORS = [
  { name: '+', f: (a, b) => a + b, d: (a, b) => [1, 1] },
  { name: '-', f: (a, b) => a - b, d: (a, b) => [1, -1] },
  { name: '*', f: (a, b) => a * b, d: (a, b) => [b, a] },
  { name: '/', f: (a, b) => a / b, d: (a, b) => [1 / b, -a / (b * b)] },
  { name: '%', f: (a, b) => a % b, d: (a, b) => [1, -Math.trunc(a / b)] },
  { name: '**', f: (a, b) => a ** b, d: (a, b) => [b * a ** (b - 1), a ** b * Math.log(a)] },
];
const PAIRS = [[1.5, 2.25], [7.3, 2], [0.4, 3.1], [5.5, 0.75], [2.2, -1.3]];

for (const { name, f, d } of OPERATORS) {
  test(`operator ${name}: both operands tracked, closed form and finite differences`, (t) => {
    for (const [a, b] of PAIRS) {
      const g = gradient(f, a, b);
      assertClose(t, g, d(a, b), { ...CLOSED, message: `${name} at (${a}, ${b})` });
      assertClose(t, g, numericGradient(f, a, b), { ...FD, message: `${name} FD at (${a}, ${b})` });
      t.is(withGradient(f, a, b).value, f(a, b));
    }
  });
}

test('operators with a constant on either side', (t) => {
  const x = 1.8;
  const cases = [
    [(v) => v + 3, 1], [(v) => 3 + v, 1],
    [(v) => v - 3, 1], [(v) => 3 - v, -1],
    [(v) => v * 3, 3], [(v) => 3 * v, 3],
    [(v) => v / 4, 0.25], [(v) => 3 / v, -3 / (x * x)],
    [(v) => v % 0.5, 1], [(v) => 5 % v, -Math.trunc(5 / x)],
    [(v) => v ** 3, 3 * x * x], [(v) => 3 ** v, 3 ** x * Math.log(3)],
  ];
  for (const [f, expected] of cases) {
    const [g] = gradient(f, x);
    assertClose(t, g, expected, { ...CLOSED, message: String(f) });
    assertClose(t, g, fd(f, x, 1.7, 1.9), { ...FD, message: `${f} FD` });
  }
});

test('% with negative operands', (t) => {
  for (const [a, b] of [[-7.5, 2], [7.5, -2], [-7.5, -2], [-0.3, 2]]) {
    const g = gradient((p, q) => p % q, a, b);
    assertClose(t, g, [1, -Math.trunc(a / b)], CLOSED);
    assertClose(t, g, numericGradient((p, q) => p % q, a, b), FD);
  }
});

test('unary minus and unary plus', (t) => {
  t.is(gradient((x) => -x, 1.5)[0], -1);
  t.is(gradient((x) => -(-x), 1.5)[0], 1);
  t.is(gradient((x) => +x * 2, 1.5)[0], 2);
  t.is(gradient((x) => -x * x, 3)[0], -6);
  t.is(gradient((x) => -Math.sin(x), 0)[0], -1);
});

test('compound assignments on locals', (t) => {
  const x = 1.5;
  const cases = [
    [(v) => { let y = 2; y += v; return y * v; }, 2 * x + 2],
    [(v) => { let y = 2; y -= v; return y * v; }, 2 - 2 * x],
    [(v) => { let y = 2; y *= v; y *= v; return y; }, 4 * x],
    [(v) => { let y = 2; y /= v; return y; }, -2 / (x * x)],
    [(v) => { let y = v * 10; y %= 4; return y; }, 10],
    [(v) => { let y = 5; y %= v; return y; }, -Math.trunc(5 / x)],
    [(v) => { let y = v; y **= 3; return y; }, 3 * x * x],
    [(v) => { let y = 2; y **= v; return y; }, 2 ** x * Math.LN2],
    [(v) => { let y = v; y += v; y -= 1; y *= v; y /= 2; y %= 100; y **= 2; return y; }, 2 * ((2 * x - 1) * x / 2) * ((4 * x - 1) / 2)],
  ];
  for (const [f, expected] of cases) {
    const [g] = gradient(f, x);
    assertClose(t, g, expected, { ...CLOSED, message: String(f) });
    assertClose(t, g, fd(f, x, 1.4, 1.6), { ...FD, message: `${f} FD` });
  }
});

test('compound assignments on object properties and array elements', (t) => {
  const x = 2;
  const cases = [
    [(v) => { const o = { v: 1 }; o.v += v; o.v *= v; return o.v; }, 2 * x + 1],
    [(v) => { const o = { v: 1 }; o.v -= v; o.v /= v; return o.v; }, -1 / (x * x)],
    [(v) => { const a = [2]; a[0] **= v; return a[0]; }, 4 * Math.LN2],
    [(v) => { const a = [v, v]; a[1] *= a[0]; a[0] -= a[1]; return a[0] + a[1]; }, 1],
    [(v) => { const a = [9.5]; a[0] %= v; return a[0]; }, -Math.trunc(9.5 / x)],
  ];
  for (const [f, expected] of cases) {
    const [g] = gradient(f, x);
    assertClose(t, g, expected, { ...CLOSED, message: String(f) });
    assertClose(t, g, fd(f, x, 1.9, 2.1), { ...FD, message: `${f} FD` });
  }
  // compound assignment into an argument array
  const arr = [1.5, 2];
  const g = gradient((a) => { a[0] *= a[1]; a[0] += a[1]; return a[0]; }, arr);
  t.deepEqual(g, [[2, 2.5]]);
  t.true(arr.every((v) => typeof v === 'number'));
});

test('++ and -- (prefix and postfix) on tracked values', (t) => {
  const x = 2;
  const cases = [
    [(v) => { let y = v; y++; return y * y; }, 2 * (x + 1)],
    [(v) => { let y = v; ++y; ++y; return y * v; }, 2 * x + 2],
    [(v) => { let y = v; y--; return y * y; }, 2 * (x - 1)],
    [(v) => { let y = v; --y; return y * v; }, 2 * x - 1],
    [(v) => { let y = v; const z = y++; return z * y; }, 2 * x + 1],
    [(v) => { let y = v; const z = ++y; return z * y; }, 2 * (x + 1)],
    [(v) => { let y = v; const z = y--; return z * y; }, 2 * x - 1],
    [(v) => { const o = { n: v }; o.n++; return o.n * v; }, 2 * x + 1],
    [(v) => { const a = [v]; a[0]--; --a[0]; return a[0] * a[0]; }, 2 * (x - 2)],
    [(v) => { let s = 0; for (let i = v; i < 5.5; i++) s += i * i; return s; }, 2 * (4 * x + 6)],
  ];
  for (const [f, expected] of cases) {
    const [g] = gradient(f, x);
    assertClose(t, g, expected, { ...CLOSED, message: String(f) });
    assertClose(t, g, fd(f, x, 1.9, 2.1), { ...FD, message: `${f} FD` });
  }
});

test('Math functions reached through aliases, destructuring, computed access, call and map', (t) => {
  const x = 0.8;
  const cases = [
    [(v) => Math['sin'](v), Math.cos(x)],
    [(v) => { const { cos } = Math; return cos(v); }, -Math.sin(x)],
    [(v) => { const M = Math; return M.exp(v); }, Math.exp(x)],
    [(v) => Math.sqrt.call(null, v), 0.5 / Math.sqrt(x)],
    [(v) => Math.atan.apply(null, [v]), 1 / (1 + x * x)],
    [(v) => [v, 2 * v].map(Math.log).reduce((s, w) => s + w, 0), 2 / x],
  ];
  for (const [f, expected] of cases) {
    assertClose(t, gradient(f, x)[0], expected, { ...CLOSED, message: String(f) });
  }
});

// ---- numerical accuracy of the rules at the edges of their useful range ----

// Regression (fixed): tanh' is computed as 1 - tanh(x)^2, which cancels catastrophically: exactly 0 for |x| >= 19 (true sech^2 is 1.7e-17 at 20) and 1.7e-4 relative error at 15.
test('Math.tanh: derivative keeps relative accuracy for large |x|', (t) => {
  for (const x of [12, 15, 20, -20]) {
    assertClose(t, gradient((v) => Math.tanh(v), x)[0], 1 / Math.cosh(x) ** 2, { rtol: 1e-8, atol: 0, message: `tanh'(${x})` });
  }
});

// Regression (fixed): atan2' divides by y^2 + x^2, which underflows to 0 for tiny arguments (gives +-Infinity instead of 5e199 at (1e-200, 1e-200)) and overflows for huge ones.
test('Math.atan2: gradient stays finite and accurate for tiny and huge arguments', (t) => {
  assertClose(t, gradient((y, x) => Math.atan2(y, x), 1e-200, 1e-200), [5e199, -5e199], { rtol: 1e-12 });
  assertClose(t, gradient((y, x) => Math.atan2(y, x), 1e200, 1e200), [5e-201, -5e-201], { rtol: 1e-12, atol: 0 });
});

// Regression (fixed): asinh' and acosh' square x, which overflows for |x| > 1.3e154, so the derivative becomes 0 instead of 1/|x|.
test('Math.asinh and Math.acosh: derivative is 1/|x| for huge x instead of 0', (t) => {
  assertClose(t, gradient((v) => Math.asinh(v), 1e200)[0], 1e-200, { rtol: 1e-12, atol: 0 });
  assertClose(t, gradient((v) => Math.acosh(v), 1e200)[0], 1e-200, { rtol: 1e-12, atol: 0 });
});

// Regression (fixed): d(a % b)/db uses -trunc(a/b) with a rounded quotient: 1 % 0.1 is 1 - 9·0.1 (0.09999999999999995) but 1/0.1 rounds to 10, so the gradient is -10 instead of -9 (the one-sided FD on the branch the value lies on).
test('% : derivative in the divisor follows the quotient actually used by the remainder', (t) => {
  const a = 1;
  const b = 0.1;
  const quotient = Math.round((a - (a % b)) / b); // 9: the integer the remainder subtracted
  t.is(quotient, 9);
  // b = 0.1 lies on the 9 branch: every step to the right stays on it
  assertClose(t, (((a % (b + 1e-10)) - (a % b)) / 1e-10), -9, { rtol: 1e-6 });
  t.deepEqual(gradient((p, q) => p % q, a, b), [1, -quotient]);
});
