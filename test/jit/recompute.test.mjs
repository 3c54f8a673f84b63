// Unit tests of lib/jit/recompute.ts: values the compiled reverse pass recomputes instead of saving, in nested loops, stay exactly the interpreter's.
import test from 'ava';
import { traced, inspect } from '../../dist/index.js';
import { assertGradient } from '../helpers/tiers.mjs';

/** Compiled against interpreted, bit for bit (helpers/tiers.mjs). */
const assertMatchesInterpreter = (t, T, ...args) => assertGradient(t, T, () => args);
const data = (n) => Float64Array.from({ length: n }, (_, i) => Math.cos(2 * i + 1));

test('an index computed in an inner loop from outer values and both counters is recomputed, not saved (the BA shape)', (t) => {
  const T = traced(function (x, w) {
    let s = 0;
    for (let i = 0; i < 3; i++) {
      const c = 3 * i; // outer value, read inside the inner loop
      for (let j = 0; j < 2; j++) {
        const d = (2 * i + j) * 2; // from both counters: recomputed at each reverse iteration
        const r = x[d] + w[c]; // from d and c: recomputed too
        s += r * r * x[d + 1];
      }
    }
    return s;
  });
  const args = [data(12), data(9)];
  assertMatchesInterpreter(t, T, ...args);
  const reverse = inspect(T, ...args).compiled.reverse;
  t.false(/v_d = S\[--sp\]/.test(reverse), 'd is recomputed, not popped');
  t.false(/v_r = S\[--sp\]/.test(reverse), 'r is recomputed, not popped');
});

test('a value the reverse pass does not restore is not taken as unchanged inside an inner loop', (t) => {
  // o changes after the inner loop and only an index reads it, so no statement restores it in the reverse pass:
  // q = o + j must be saved, not recomputed from the o left over (the last one)
  const T = traced(function (x) {
    let s = 0;
    let o = 0;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        const q = o + j;
        s += x[q] * x[q] * (j + 1);
      }
      o = o + 2;
    }
    return s;
  });
  assertMatchesInterpreter(t, T, data(6));
});

test('a variable the inner loop assigns is not taken as unchanged there', (t) => {
  const T = traced(function (x) {
    let s = 0;
    for (let i = 0; i < 3; i++) {
      let m = x[i] * 1;
      for (let j = 0; j < 3; j++) {
        const v = m * x[j]; // m changes within this loop: v must see each value
        s += v * v;
        m = m * 0.5 + x[j];
      }
    }
    return s;
  });
  assertMatchesInterpreter(t, T, data(4));
});

test('a loop whose body also steps its counter (skipping an element) recomputes nothing from the counter: review case', (t) => {
  // u = x[i] * 3 was recomputed after undoing only the loop's own step, so with `if (...) i++` it read the wrong element
  const skip = traced(function (x) {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const u = x[i] * 3;
      s += u * u;
      if (x[i] > 1) i++; // skip the next element
    }
    return s;
  });
  assertMatchesInterpreter(t, skip, Float64Array.of(2, 5));
  assertMatchesInterpreter(t, skip, Float64Array.of(0.5, 2, 7, -1, 3, 4));
  // a while loop whose last statement's target the body also assigns earlier
  const stepped = traced(function (x) {
    let s = 0;
    let i = 0;
    while (i < x.length) {
      const u = x[i] * x[i];
      s += Math.sin(u);
      if (u > 1) i = i + 1;
      i = i + 1;
    }
    return s;
  });
  assertMatchesInterpreter(t, stepped, Float64Array.of(2, 0.5, 3, 0.25, -2, 0.1));
});
