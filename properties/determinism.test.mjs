// Property tests: repeated gradient, withGradient and pullback calls on one traced function give bit-identical results, whatever runs in between.
import test from 'ava';
import fc from 'fast-check';
import { gradient, withGradient, pullback, traced } from '../dist/index.js';

const RUNS = { numRuns: 100 };
const REPEATS = 10;

// Magnitudes below 1e-6 become 0 so that no adjoint is subnormal (power-of-two scaling is exact only above that range).
const finite = (min, max) =>
  fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map((v) => (Math.abs(v) < 1e-6 ? 0 : v));

/** Deep copy of plain arrays, typed arrays and plain objects of numbers (test inputs only). */
const copy = (v) =>
  Array.isArray(v) ? v.map(copy) : ArrayBuffer.isView(v) ? v.slice() : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, copy(x)])) : v;

/** Every leaf of a (possibly nested) gradient or input is a plain number or null. */
const leaves = (v) =>
  Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v).flatMap(leaves) : v && typeof v === 'object' ? Object.values(v).flatMap(leaves) : [v];

const helper = traced((u, v) => Math.atan2(u, v) * Math.hypot(u, v));

/**
 * Functions with branches, loops, n-ary Math functions, containers and a traced helper; each with an arbitrary for its
 * argument tuple.
 */
const CASES = [
  {
    name: 'smooth scalar expression',
    f: (x) => Math.sin(x) * Math.exp(-x * x) + x ** 3 - Math.log1p(x * x),
    arb: fc.tuple(finite(-5, 5)),
  },
  {
    name: 'loop with branches and a modulo',
    f: (x, y) => {
      let s = 0;
      for (let i = 0; i < 6; i++) {
        const v = Math.tanh(x * i + y);
        s += i % 2 ? v * v : -v;
        if (s > 1) s = s / 2;
      }
      return s;
    },
    arb: fc.tuple(finite(-3, 3), finite(-3, 3)),
  },
  {
    name: 'array reduction with abs, max and sqrt',
    f: (a) => {
      let s = 0;
      for (const v of a) s += v > 0 ? v * v : Math.abs(v);
      return Math.sqrt(s + 1) + Math.max(...a);
    },
    arb: fc.tuple(fc.array(finite(-10, 10), { minLength: 1, maxLength: 8 })),
  },
  {
    name: 'object fields with hypot, min and a traced helper in scope',
    f: traced((o, k) => Math.hypot(o.x, o.y) + Math.min(o.x, o.y) * o.z + helper(o.z, k), { helper }),
    arb: fc.tuple(fc.record({ x: finite(-5, 5), y: finite(-5, 5), z: finite(-5, 5) }), finite(0.5, 4)),
  },
  {
    name: 'Float64Array with pow and in-place writes',
    f: (w, p) => {
      let s = 0;
      for (let i = 0; i < w.length; i++) {
        w[i] = w[i] * p;
        s += Math.abs(w[i]) ** 1.5;
      }
      return s;
    },
    // f writes into w, so each call gets its own copy
    arb: fc.tuple(fc.array(finite(-4, 4), { minLength: 1, maxLength: 6 }).map((xs) => Float64Array.from(xs)), finite(0.5, 2)),
    mutates: true,
  },
];

for (const { name, f, arb, mutates } of CASES) {
  const tf = traced(f);
  const fresh = (args) => (mutates ? copy(args) : args);

  test(`${name}: gradient on the same traced function repeats the first call exactly`, (t) => {
    fc.assert(
      fc.property(arb, (args) => {
        const originals = copy(args);
        const first = gradient(tf, ...fresh(args));
        for (let i = 0; i < REPEATS; i++) t.deepEqual(gradient(tf, ...fresh(args)), first);
        // inputs untouched (when f does not write them) and only plain numbers or null come out
        if (!mutates) t.deepEqual(args, originals);
        t.true(leaves(first).every((v) => v === null || typeof v === 'number'));
        t.true(leaves(args).every((v) => typeof v === 'number'));
      }),
      RUNS,
    );
  });

  test(`${name}: calls on other inputs in between do not change the result`, (t) => {
    fc.assert(
      fc.property(arb, arb, (args, other) => {
        const first = withGradient(tf, ...fresh(args));
        gradient(tf, ...fresh(other));
        t.deepEqual(withGradient(tf, ...fresh(args)), first);
        const [, back] = pullback(tf, ...fresh(other));
        back(1);
        t.deepEqual(gradient(tf, ...fresh(args)), first.grad);
        t.deepEqual(gradient(f, ...fresh(args)), first.grad, 'the untraced function gives the same bits');
      }),
      RUNS,
    );
  });

  test(`${name}: pullback's back is repeatable and scales exactly with power-of-two seeds`, (t) => {
    fc.assert(
      fc.property(arb, (args) => {
        const [y, back] = pullback(tf, ...fresh(args));
        const once = back();
        t.deepEqual(back(1), once);
        t.deepEqual(back(), once);
        t.deepEqual(gradient(tf, ...fresh(args)), once);
        t.is(withGradient(tf, ...fresh(args)).value, y);
        // scaling the seed by a power of two scales every adjoint exactly (no rounding changes)
        for (const seed of [2, 0.5, 4]) {
          const scaled = back(seed);
          t.deepEqual(scaled, once.map((g) => scaleGradient(g, seed)));
        }
        t.deepEqual(back(), once);
      }),
      { numRuns: 50 },
    );
  });
}

/** seed · g for a gradient of any shape (null stays null). */
function scaleGradient(g, seed) {
  if (g === null) return null;
  if (typeof g === 'number') return g * seed;
  if (ArrayBuffer.isView(g)) return g.map((v) => v * seed);
  if (Array.isArray(g)) return g.map((v) => scaleGradient(v, seed));
  return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, scaleGradient(v, seed)]));
}
