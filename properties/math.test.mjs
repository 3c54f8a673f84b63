// Property tests: gradients of Math functions, random compositions of them and binary operators agree with Richardson finite differences on random inputs.
import test from 'ava';
import fc from 'fast-check';
import { gradient, withGradient, traced } from '../dist/index.js';
import { richardsonEstimate } from '../test/helpers/reference.mjs';

const RUNS = { numRuns: 100 };

/** Largest power of two <= v. */
const pow2Below = (v) => 2 ** Math.floor(Math.log2(v));

/** Richardson's default first step for x, shrunk to at most maxStep (so probes never cross a kink or singularity). */
const stepFor = (x, maxStep = Infinity) =>
  Math.min(2 ** Math.round(Math.log2(1e-2 * Math.max(1, Math.abs(x)))), pow2Below(maxStep));

/** Finite-difference derivative of f at x with first step at most maxStep. */
const fd = (f, x, maxStep) => richardsonEstimate(f, x, { h: stepFor(x, maxStep) });

/**
 * |actual - expected| within rtol·|expected| + atol, widened by a multiple of the reference's own error estimate
 * (Richardson reports how far its best entry may be off).
 */
function close(actual, reference, { rtol = 1e-6, atol = 1e-8 } = {}) {
  const { value, error } = reference;
  if (!Number.isFinite(value)) return Object.is(actual, value);
  return typeof actual === 'number' && Math.abs(actual - value) <= atol + rtol * Math.abs(value) + 10 * error;
}

const nearest = (x, points) => Math.min(...points.map((p) => Math.abs(x - p)));

/** Union of closed intervals, with endpoints kept off the singular points by the caller. */
const intervals = (...ranges) =>
  fc.oneof(...ranges.map(([min, max]) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true })));

/**
 * Unary Math functions. `arb`: random inputs in the domain, kept away from singularities; `sing`: points where the
 * function or its derivative is singular, kinked or undefined (the FD step stays below a quarter of the distance);
 * `chain`: the inputs allowed when the function appears inside a random composition.
 */
const UNARY = [
  { name: 'abs', f: (x) => Math.abs(x), arb: intervals([-50, -0.01], [0.01, 50]), sing: [0], chain: (v) => Math.abs(v) >= 0.05 && Math.abs(v) <= 1e3 },
  { name: 'exp', f: (x) => Math.exp(x), arb: intervals([-30, 30]), sing: [], chain: (v) => Math.abs(v) <= 5 },
  { name: 'expm1', f: (x) => Math.expm1(x), arb: intervals([-30, 30]), sing: [], chain: (v) => Math.abs(v) <= 5 },
  { name: 'log', f: (x) => Math.log(x), arb: intervals([1e-3, 1e3]), sing: [0], chain: (v) => v >= 0.05 && v <= 1e3 },
  { name: 'log1p', f: (x) => Math.log1p(x), arb: intervals([-0.999, 1e3]), sing: [-1], chain: (v) => v >= -0.95 && v <= 1e3 },
  { name: 'log2', f: (x) => Math.log2(x), arb: intervals([1e-3, 1e3]), sing: [0], chain: (v) => v >= 0.05 && v <= 1e3 },
  { name: 'log10', f: (x) => Math.log10(x), arb: intervals([1e-3, 1e3]), sing: [0], chain: (v) => v >= 0.05 && v <= 1e3 },
  { name: 'sqrt', f: (x) => Math.sqrt(x), arb: intervals([1e-3, 1e4]), sing: [0], chain: (v) => v >= 0.05 && v <= 1e3 },
  { name: 'cbrt', f: (x) => Math.cbrt(x), arb: intervals([-1e4, -1e-3], [1e-3, 1e4]), sing: [0], chain: (v) => Math.abs(v) >= 0.05 && Math.abs(v) <= 1e3 },
  { name: 'sin', f: (x) => Math.sin(x), arb: intervals([-50, 50]), sing: [], chain: (v) => Math.abs(v) <= 1e3 },
  { name: 'cos', f: (x) => Math.cos(x), arb: intervals([-50, 50]), sing: [], chain: (v) => Math.abs(v) <= 1e3 },
  { name: 'tan', f: (x) => Math.tan(x), arb: intervals([-1.5, 1.5]), sing: [-Math.PI / 2, Math.PI / 2], chain: (v) => Math.abs(v) <= 1.4 },
  { name: 'asin', f: (x) => Math.asin(x), arb: intervals([-0.999, 0.999]), sing: [-1, 1], chain: (v) => Math.abs(v) <= 0.95 },
  { name: 'acos', f: (x) => Math.acos(x), arb: intervals([-0.999, 0.999]), sing: [-1, 1], chain: (v) => Math.abs(v) <= 0.95 },
  { name: 'atan', f: (x) => Math.atan(x), arb: intervals([-100, 100]), sing: [], chain: (v) => Math.abs(v) <= 1e3 },
  { name: 'sinh', f: (x) => Math.sinh(x), arb: intervals([-20, 20]), sing: [], chain: (v) => Math.abs(v) <= 5 },
  { name: 'cosh', f: (x) => Math.cosh(x), arb: intervals([-20, 20]), sing: [], chain: (v) => Math.abs(v) <= 5 },
  { name: 'tanh', f: (x) => Math.tanh(x), arb: intervals([-10, 10]), sing: [], chain: (v) => Math.abs(v) <= 1e3 },
  { name: 'asinh', f: (x) => Math.asinh(x), arb: intervals([-1e3, 1e3]), sing: [], chain: (v) => Math.abs(v) <= 1e3 },
  { name: 'acosh', f: (x) => Math.acosh(x), arb: intervals([1.001, 1e3]), sing: [1], chain: (v) => v >= 1.05 && v <= 1e3 },
  { name: 'atanh', f: (x) => Math.atanh(x), arb: intervals([-0.999, 0.999]), sing: [-1, 1], chain: (v) => Math.abs(v) <= 0.95 },
];

/**
 * Closed-form derivatives, used only to size finite-difference steps inside compositions (never as a reference).
 */
const SLOPE = {
  abs: Math.sign, exp: Math.exp, expm1: Math.exp, log: (x) => 1 / x, log1p: (x) => 1 / (1 + x),
  log2: (x) => 1 / (x * Math.LN2), log10: (x) => 1 / (x * Math.LN10), sqrt: (x) => 0.5 / Math.sqrt(x),
  cbrt: (x) => 1 / (3 * Math.cbrt(x) ** 2), sin: Math.cos, cos: (x) => -Math.sin(x), tan: (x) => 1 / Math.cos(x) ** 2,
  asin: (x) => 1 / Math.sqrt(1 - x * x), acos: (x) => -1 / Math.sqrt(1 - x * x), atan: (x) => 1 / (1 + x * x),
  sinh: Math.cosh, cosh: Math.sinh, tanh: (x) => 1 / Math.cosh(x) ** 2, asinh: (x) => 1 / Math.sqrt(x * x + 1),
  acosh: (x) => 1 / Math.sqrt(x * x - 1), atanh: (x) => 1 / (1 - x * x),
};

for (const { name, f, arb, sing } of UNARY) {
  test(`Math.${name}: gradient agrees with finite differences on random inputs in its domain`, (t) => {
    const tf = traced(f);
    fc.assert(
      fc.property(arb, (x) => {
        const { value, grad } = withGradient(tf, x);
        if (!Object.is(value, Math[name](x))) return false;
        const maxStep = sing.length ? nearest(x, sing) / 4 : Infinity;
        return close(grad[0], fd(Math[name], x, maxStep));
      }),
      RUNS,
    );
    t.pass();
  });
}

test('piecewise-constant Math functions have gradient exactly 0 on random inputs', (t) => {
  const fns = [(x) => Math.floor(x), (x) => Math.ceil(x), (x) => Math.round(x), (x) => Math.trunc(x), (x) => Math.sign(x)].map(
    (f) => traced(f),
  );
  fc.assert(
    fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.nat(fns.length - 1), (x, i) => gradient(fns[i], x)[0] === 0),
    RUNS,
  );
  t.pass();
});

// ---- random compositions ----

/**
 * Picks a chain of functions for start value x: at each step, among the functions whose `chain` domain holds the
 * current value, the one chosen by the next random index. Returns the names, the intermediate values and an FD step
 * small enough that no intermediate crosses a singularity (distance / (4·|slope so far|)).
 */
function buildChain(x, picks) {
  const names = [];
  let v = x;
  let slope = 1;
  let maxStep = Infinity;
  for (const pick of picks) {
    const candidates = UNARY.filter((u) => u.chain(v));
    const u = candidates[pick % candidates.length];
    if (u.sing.length) maxStep = Math.min(maxStep, nearest(v, u.sing) / (4 * Math.abs(slope)));
    slope *= SLOPE[u.name](v);
    v = Math[u.name](v);
    names.push(u.name);
  }
  return { names, value: v, maxStep };
}

const chainArb = fc.tuple(
  fc.double({ min: -3, max: 3, noNaN: true }),
  fc.array(fc.nat(1000), { minLength: 2, maxLength: 4 }),
);

const indirectEval = eval;

test('random compositions of 2-4 Math functions, written as one nested expression, agree with finite differences', (t) => {
  fc.assert(
    fc.property(chainArb, ([x, picks]) => {
      const { names, value, maxStep } = buildChain(x, picks);
      const source = `(x) => ${names.reduce((e, name) => `Math.${name}(${e})`, 'x')}`;
      const f = indirectEval(source);
      const result = withGradient(f, x);
      if (!Object.is(result.value, value)) return false;
      return close(result.grad[0], fd(f, x, maxStep));
    }),
    RUNS,
  );
  t.pass();
});

const HELPERS = UNARY.map((u) => traced(u.f));
const INDEX = Object.fromEntries(UNARY.map((u, i) => [u.name, i]));

test('random compositions through traced helpers passed in scope agree with finite differences', (t) => {
  fc.assert(
    fc.property(chainArb, ([x, picks]) => {
      const { names, value, maxStep } = buildChain(x, picks);
      const chain = names.map((n) => INDEX[n]);
      const composed = traced(
        (x) => {
          let y = x;
          for (let k = 0; k < chain.length; k++) y = fns[chain[k]](y);
          return y;
        },
        { fns: HELPERS, chain },
      );
      const plain = (v) => chain.reduce((y, i) => UNARY[i].f(y), v);
      const result = withGradient(composed, x);
      if (!Object.is(result.value, value)) return false;
      return close(result.grad[0], fd(plain, x, maxStep));
    }),
    RUNS,
  );
  t.pass();
});

test('compositions mixing Math functions with arithmetic agree with finite differences', (t) => {
  const f = traced((x, a, b) => Math.sin(a * x + b) * Math.exp(-x * x / 4) + Math.atan(x / a) - Math.sqrt(x * x + b * b));
  const plain = (x, a, b) => Math.sin(a * x + b) * Math.exp(-x * x / 4) + Math.atan(x / a) - Math.sqrt(x * x + b * b);
  const arb = fc.tuple(
    fc.double({ min: -4, max: 4, noNaN: true }),
    intervals([-3, -0.2], [0.2, 3]),
    // b != 0 keeps sqrt(x² + b²) away from its cone point
    awayFromZero(0.2, 3),
  );
  fc.assert(
    fc.property(arb, ([x, a, b]) => {
      const g = gradient(f, x, a, b);
      return (
        close(g[0], fd((v) => plain(v, a, b), x)) &&
        close(g[1], fd((v) => plain(x, v, b), a, Math.abs(a) / 4)) &&
        close(g[2], fd((v) => plain(x, a, v), b, Math.abs(b) / 4))
      );
    }),
    RUNS,
  );
  t.pass();
});

// ---- binary operators and n-ary Math functions ----

const finite = (min, max) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const awayFromZero = (lo, hi) => intervals([-hi, -lo], [lo, hi]);
const fracDistance = (q) => Math.abs(q - Math.round(q));

/** n arguments in [-10, 10] at least 0.01 apart: a start, positive gaps, then a random order. */
const distinct = (n) =>
  fc
    .tuple(finite(-10, 0), fc.array(finite(0.01, 5), { minLength: n - 1, maxLength: n - 1 }), fc.nat(1000))
    .map(([start, gaps, order]) => {
      const sorted = gaps.reduce((xs, g) => [...xs, xs[xs.length - 1] + g], [start]);
      const rotated = sorted.map((_, i) => sorted[(i + order) % n]);
      return order % 2 ? rotated.reverse() : rotated;
    });
const minGap = (args) => Math.min(...args.flatMap((a, i) => args.slice(i + 1).map((b) => Math.abs(a - b))));

/**
 * Binary (and n-ary) ops: `f` is traced, `plain` is the reference, `arb` generates argument tuples, `ok` rejects the few
 * tuples too close to a kink, `maxSteps(args)` bounds each argument's FD step.
 */
const BINARY = [
  { name: 'a + b', f: (a, b) => a + b, arb: fc.tuple(finite(-100, 100), finite(-100, 100)) },
  { name: 'a - b', f: (a, b) => a - b, arb: fc.tuple(finite(-100, 100), finite(-100, 100)) },
  { name: 'a * b', f: (a, b) => a * b, arb: fc.tuple(finite(-100, 100), finite(-100, 100)) },
  { name: 'a / b', f: (a, b) => a / b, arb: fc.tuple(finite(-100, 100), awayFromZero(0.1, 100)), maxSteps: ([, b]) => [Infinity, Math.abs(b) / 4] },
  {
    name: 'a % b',
    f: (a, b) => a % b,
    arb: fc.tuple(finite(-100, 100), awayFromZero(0.5, 10)),
    // a % b jumps where a/b crosses a nonzero integer
    ok: ([a, b]) => fracDistance(a / b) > 0.01,
    maxSteps: ([a, b]) => {
      const d = fracDistance(a / b);
      return [(d * Math.abs(b)) / 4, Math.min((d * b * b) / (4 * Math.max(Math.abs(a), 1e-9)), Math.abs(b) / 4)];
    },
  },
  { name: 'a ** b (a > 0)', f: (a, b) => a ** b, arb: fc.tuple(finite(0.1, 10), finite(-3, 3)), maxSteps: ([a]) => [a / 4, Infinity] },
  { name: 'Math.pow(a, b) (a > 0)', f: (a, b) => Math.pow(a, b), arb: fc.tuple(finite(0.1, 10), finite(-3, 3)), maxSteps: ([a]) => [a / 4, Infinity] },
  {
    name: 'a ** n (a < 0, integer n), in a',
    f: (a, n) => a ** n,
    arb: fc.tuple(finite(-5, -0.1), fc.integer({ min: -4, max: 4 })),
    only: [0],
    maxSteps: ([a]) => [Math.abs(a) / 4],
  },
  {
    name: 'Math.atan2(y, x)',
    f: (y, x) => Math.atan2(y, x),
    arb: fc.tuple(finite(-10, 10), finite(-10, 10)),
    // away from the origin and from the branch cut on the negative x axis
    ok: ([y, x]) => Math.hypot(x, y) > 0.1 && !(x < 0 && Math.abs(y) < 0.1),
    maxSteps: ([y, x]) => [x < 0 ? Math.abs(y) / 4 : Math.hypot(x, y) / 4, Math.hypot(x, y) / 4],
  },
  {
    name: 'Math.hypot(a, b)',
    f: (a, b) => Math.hypot(a, b),
    arb: fc.tuple(finite(-10, 10), finite(-10, 10)),
    ok: (args) => Math.hypot(...args) > 0.1,
    maxSteps: (args) => args.map(() => Math.hypot(...args) / 4),
  },
  {
    name: 'Math.hypot(a, b, c)',
    f: (a, b, c) => Math.hypot(a, b, c),
    arb: fc.tuple(finite(-10, 10), finite(-10, 10), finite(-10, 10)),
    ok: (args) => Math.hypot(...args) > 0.1,
    maxSteps: (args) => args.map(() => Math.hypot(...args) / 4),
  },
  {
    name: 'Math.max(a, b)',
    f: (a, b) => Math.max(a, b),
    arb: distinct(2),
    maxSteps: (args) => args.map(() => minGap(args) / 4),
  },
  {
    name: 'Math.min(a, b)',
    f: (a, b) => Math.min(a, b),
    arb: distinct(2),
    maxSteps: (args) => args.map(() => minGap(args) / 4),
  },
  {
    name: 'Math.max(a, b, c)',
    f: (a, b, c) => Math.max(a, b, c),
    arb: distinct(3),
    maxSteps: (args) => args.map(() => minGap(args) / 4),
  },
  {
    name: 'Math.min(a, b, c)',
    f: (a, b, c) => Math.min(a, b, c),
    arb: distinct(3),
    maxSteps: (args) => args.map(() => minGap(args) / 4),
  },
];

for (const { name, f, arb, ok = () => true, maxSteps = (args) => args.map(() => Infinity), only } of BINARY) {
  test(`${name}: gradient agrees with finite differences on random arguments`, (t) => {
    const tf = traced(f);
    fc.assert(
      fc.property(arb, (args) => {
        fc.pre(ok(args));
        const { value, grad } = withGradient(tf, ...args);
        if (!Object.is(value, f(...args))) return false;
        const steps = maxSteps(args);
        return (only ?? args.map((_, i) => i)).every((i) => {
          const partial = (v) => f(...args.map((a, j) => (j === i ? v : a)));
          return close(grad[i], fd(partial, args[i], steps[i]));
        });
      }),
      RUNS,
    );
    t.pass();
  });
}
