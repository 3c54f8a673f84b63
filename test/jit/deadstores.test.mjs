// Unit tests of lib/jit/deadstores.ts (initialisations no statement reads are dropped) and of Math results the reverse pass reads back from their variable instead of the stack.
import test from 'ava';
import { traced, inspect } from '../../dist/index.js';
import { assertGradient } from '../helpers/tiers.mjs';

/** Compiled against interpreted, bit for bit (helpers/tiers.mjs), on a few inputs: mixed signs, so both branches run. */
const assertMatchesInterpreter = (t, T, what) => {
  for (const shift of [0, 0.7, -1.3]) {
    const x = Float64Array.from({ length: 9 }, (_, i) => Math.cos(3 * i + shift) * 2);
    assertGradient(t, T, () => [x, 0.5 + shift], { what: `${what} at shift ${shift}` });
  }
};
const forwardOf = (T) => inspect(T, Float64Array.from({ length: 9 }, (_, i) => Math.cos(i)), 0.5).compiled.forward;

test('`let y = 0` before an if that assigns y on both paths is dropped (the BA shape): no push, same gradient', (t) => {
  const T = traced(function (x, w) {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      let y = 0;
      let z;
      if (x[i] > 0) {
        y = Math.sin(x[i] * w);
        z = y * 2;
      } else {
        y = x[i] * x[i];
        z = w;
      }
      s += y * z;
    }
    return s;
  });
  assertMatchesInterpreter(t, T, 'both paths');
  const forward = forwardOf(T);
  t.false(/v_y = \(0\)/.test(forward), forward);
  t.false(/v_z = undefined/.test(forward), forward);
});

test('initialisations something may read are kept, and the gradients stay the interpreter\'s', (t) => {
  const cases = {
    // one path only: on the other, y keeps 0
    'one branch': traced(function (x, w) {
      let s = 0;
      for (let i = 0; i < x.length; i++) {
        let y = 0;
        if (x[i] > 0) y = Math.sin(x[i] * w);
        s += y * x[i];
      }
      return s;
    }),
    // a branch reads y before it assigns it
    'read first in a branch': traced(function (x, w) {
      let s = 0;
      let y = 0;
      for (let i = 0; i < x.length; i++) {
        y = 1;
        if (x[i] > 0) y = y + Math.sin(x[i] * w);
        else y = x[i] * w;
        s += y * y;
      }
      return s;
    }),
    // the test reads it
    'read by the test': traced(function (x, w) {
      let s = 0;
      for (let i = 0; i < x.length; i++) {
        let y = 0.25;
        if (y < x[i]) y = x[i] * w;
        else y = w * w;
        s += y;
      }
      return s;
    }),
    // a loop that may run no trips sits between
    'a loop between': traced(function (x, w) {
      let s = 0;
      let y = 2;
      for (let j = 0; j < x.length - 9; j++) y = x[j] * w;
      if (x[0] > 0) y = y * w;
      else y = w;
      s += y;
      return s;
    }),
    // the block ends before any assignment: the next iteration reads the value
    'carried to the next iteration': traced(function (x, w) {
      let s = 0;
      let y = 1;
      for (let i = 0; i < x.length; i++) {
        s += y * x[i];
        y = 3;
        if (x[i] > 0) s += w;
      }
      return s + y;
    }),
  };
  for (const [what, T] of Object.entries(cases)) {
    assertMatchesInterpreter(t, T, what);
    t.regex(forwardOf(T), /v_y = \((?:0|1|2|0\.25)\)/, `${what}: the initialisation stays`);
  }
});

test('a Math result assigned to a variable is read back from the variable in the reverse pass, not pushed', (t) => {
  // in a branch (so not recomputed): theta, c and q are reassigned every iteration (their old values are pushed);
  // sqrt's and cos's results are read back from theta and c
  const T = traced(function (x, w) {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      if (x[i] > 0) {
        const theta = Math.sqrt(x[i] * x[i] + w);
        const c = Math.cos(theta);
        const q = Math.exp(c * w) * theta; // a product of a Math call: exp's result is still pushed
        s += c * q + theta;
      } else s += x[i] * w;
    }
    return s;
  });
  assertMatchesInterpreter(t, T, 'sqrt, cos, exp');
  const forward = forwardOf(T);
  // the old values of theta, c and q, and exp's result (was 6: sqrt's and cos's results too)
  const pushes = forward.match(/S\[sp\+\+\]/g).length;
  t.is(pushes, 4, forward);
});

test('an if whose test reads only values the reverse pass has back (counters, recomputed values, parameters) is tested again there instead of pushing its outcome', (t) => {
  const T = traced(function (x, w) {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const r = x[i] * w; // recomputed per reverse iteration
      let y;
      if (r > 0.5) y = Math.sin(r) * w; // a recomputed value
      else y = r * r;
      if (i < 4) s += y * x[i]; // the counter
      else s -= y;
      if (w > 0) s += x[i] * x[i]; // a parameter nothing assigns
      else s += w;
    }
    return s;
  });
  assertMatchesInterpreter(t, T, 'reevaluated tests');
  const reverse = inspect(T, Float64Array.from({ length: 9 }, (_, i) => Math.cos(i)), 0.5).compiled.reverse;
  t.false(/C\[--cp\]/.test(reverse), reverse);
});

test('an if whose test reads a value its branches or later statements change keeps its outcome on the stack', (t) => {
  const cases = {
    // the counter of a loop that has ended (not one around the if): the reverse pass has moved it since
    'a finished loop\'s counter': traced(function (x, w) {
      let s = 0;
      for (let i = 0; i < 3; i++) {
        let j = 0;
        for (j = 0; j < i + 1; j++) s += x[j] * w;
        if (j > 1) s += Math.sin(s) * x[i];
        else s -= x[i] * w;
      }
      return s;
    }),
    // a running value, changed after the test in each iteration
    'changed later in the body': traced(function (x, w) {
      let s = 0;
      for (let i = 0; i < x.length; i++) {
        if (s < 0) s += x[i] * w * 3;
        else s -= x[i] * x[i];
      }
      return s;
    }),
    // a parameter the function reassigns
    'a reassigned parameter': traced(function (x, w) {
      let s = 0;
      for (let i = 0; i < x.length; i++) {
        if (w > 0) s += x[i] * w;
        else s += x[i];
        w = w - 0.3;
      }
      return s;
    }),
  };
  for (const [what, T] of Object.entries(cases)) {
    assertMatchesInterpreter(t, T, what);
    t.regex(inspect(T, Float64Array.from({ length: 9 }, (_, i) => Math.cos(i)), 0.5).compiled.reverse, /C\[--cp\]/, `${what}: popped`);
  }
});

test('an accumulator read only after its loop (a softmax denominator, a norm) is saved once around the loop, not at every step', (t) => {
  const T = traced(function (x, w) {
    let total = 0;
    for (let r = 0; r < 3; r++) {
      let se = 0;
      let sq = 0;
      for (let i = 0; i < x.length; i++) {
        se += Math.exp(x[i] * w - r);
        if (x[i] > 0) sq += x[i] * x[i];
        else sq -= x[i] * w;
      }
      total += Math.log(se) + Math.sqrt(sq * sq + 1) * w;
    }
    return total;
  });
  assertMatchesInterpreter(t, T, 'accumulators');
  const forward = forwardOf(T);
  // in the inner loop only exp's result is pushed; se's old value twice per outer iteration (at `let se = 0` and
  // once before the inner loop) instead of at every step
  const inner = forward.slice(forward.indexOf('while ((v_i < v_x.length))'));
  t.is((inner.match(/S\[sp\+\+\] = v_s[eq]/g) ?? []).length, 0, inner);
  t.is((forward.match(/S\[sp\+\+\] = v_se/g) ?? []).length, 2, forward);
});

test('a variable the loop also reads elsewhere, or changes otherwise, is saved at every step as before', (t) => {
  const cases = {
    'read in the loop': traced(function (x, w) {
      let s = 0, p = 0;
      for (let i = 0; i < x.length; i++) {
        s += x[i] * w;
        p += Math.sin(s) * x[i]; // reads s's running value
      }
      return p + Math.log(s * s + 1);
    }),
    'scaled, not added': traced(function (x, w) {
      let s = 1;
      for (let i = 0; i < x.length; i++) s = s * 0.5 + x[i] * w;
      return Math.exp(s);
    }),
    'in the loop test': traced(function (x, w) {
      let s = 0;
      let i = 0;
      while (i < x.length && s < 3) {
        s += x[i] * x[i] * w;
        i++;
      }
      return Math.sqrt(s + 1);
    }),
  };
  for (const [what, T] of Object.entries(cases)) assertMatchesInterpreter(t, T, what);
  t.regex(forwardOf(cases['read in the loop']), /while[^]*S\[sp\+\+\] = v_s;/);
});
