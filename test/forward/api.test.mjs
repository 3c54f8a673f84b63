// Forward mode (jvp, derivative): every scalar rule, binary ops, control flow, containers, shapes, errors, leaks and custom rules, against closed forms and finite differences.
import test from 'ava';
import {
  jvp,
  derivative,
  gradient,
  traced,
  defineAdjoint,
  nondifferentiable,
  hook,
  checkpoint,
  TracegradError,
  jit,
} from '../../dist/index.js';
import { richardsonDerivative, assertClose } from '../helpers/reference.mjs';
import { assertNoLeak } from '../helpers/leaks.mjs';


/**
 * jvp has two tiers: eligible functions (numbers, flat arrays, objects of those) are compiled on their first call
 * (jit.threshold is 1), everything else runs on the forward tape. Run a check with the compiled tier allowed and with
 * the interpreter forced, so both are held to the same references. Tests are synchronous, so the switch cannot leak
 * into another test.
 */
function inBothTiers(body) {
  const saved = jit.enabled;
  try {
    for (const enabled of [true, false]) {
      jit.enabled = enabled;
      body(enabled ? 'jit allowed' : 'interpreter');
    }
  } finally {
    jit.enabled = saved;
  }
}

// ---------------------------------------------------------------- every unary Math rule vs its closed form

/** [name, points on its domain, closed-form derivative]; the closed forms are the textbook ones, not the rule's formulas. */
const unaryCases = [
  ['exp', [-2, 0, 1.3], (x) => Math.exp(x)],
  ['expm1', [-2, 1e-3, 0.5], (x) => Math.exp(x)],
  ['log', [0.3, 1, 5], (x) => 1 / x],
  ['log1p', [-0.5, 0, 2], (x) => 1 / (1 + x)],
  ['log2', [0.3, 4], (x) => 1 / (x * Math.LN2)],
  ['log10', [0.3, 4], (x) => 1 / (x * Math.LN10)],
  ['sqrt', [0.25, 2], (x) => 1 / (2 * Math.sqrt(x))],
  ['cbrt', [-8, 0.5, 3], (x) => 1 / (3 * Math.cbrt(x) ** 2)], // d/dx x^(1/3) = x^(-2/3)/3, also for x < 0
  ['sin', [-1, 0.3, 2], (x) => Math.cos(x)],
  ['cos', [-1, 0.3, 2], (x) => -Math.sin(x)],
  ['tan', [-1, 0.3, 1.2], (x) => 1 / Math.cos(x) ** 2],
  ['asin', [-0.9, 0, 0.5], (x) => 1 / Math.sqrt(1 - x * x)],
  ['acos', [-0.9, 0, 0.5], (x) => -1 / Math.sqrt(1 - x * x)],
  ['atan', [-3, 0, 0.8], (x) => 1 / (1 + x * x)],
  ['sinh', [-2, 0, 0.7], (x) => Math.cosh(x)],
  ['cosh', [-2, 0, 0.7], (x) => Math.sinh(x)],
  ['tanh', [-2, 0, 0.7], (x) => 1 - Math.tanh(x) ** 2],
  ['asinh', [-3, 0, 1.5], (x) => 1 / Math.sqrt(x * x + 1)],
  ['acosh', [1.2, 3], (x) => 1 / Math.sqrt(x * x - 1)],
  ['atanh', [-0.6, 0, 0.9], (x) => 1 / (1 - x * x)],
  ['abs', [-1.5, 0.7], (x) => Math.sign(x)],
  ['fround', [0.1, -3.7], () => 1], // treated as the identity (README)
];
const mathFn = (name) => new Function('x', `return Math.${name}(x);`);

test('derivative of every smooth unary Math function matches its closed form and finite differences', (t) => {
  inBothTiers((tier) => {
    for (const [name, points, closedForm] of unaryCases) {
      const f = traced(mathFn(name));
      for (const x of points) {
        const d = derivative(f, x);
        t.is(typeof d, 'number', `${tier}: ${name}'(${x}) is a plain number`);
        assertClose(t, d, closedForm(x), { rtol: 1e-13, atol: 1e-15, message: `${tier}: ${name}'(${x}) vs closed form` });
        if (name !== 'fround') {
          // the closed forms themselves, checked against Richardson differences of the plain Math function
          assertClose(t, d, richardsonDerivative(Math[name], x), { rtol: 1e-8, atol: 1e-10, message: `${name}'(${x}) vs FD` });
        }
      }
    }
  });
});

test('piecewise-constant Math functions have derivative 0 (README convention)', (t) => {
  inBothTiers((tier) => {
    for (const name of ['sign', 'floor', 'ceil', 'round', 'trunc']) {
      for (const x of [-1.3, 0.4, 2.7]) t.is(derivative(traced(mathFn(name)), x), 0, `${tier}: ${name}'(${x})`);
    }
  });
});

test('kink conventions: abs\'(0) = 0, sqrt\'(0) = cbrt\'(0) = +Infinity, unary minus and plus', (t) => {
  inBothTiers((tier) => {
    t.is(derivative(traced(mathFn('abs')), 0), 0);
    t.is(derivative(traced(mathFn('sqrt')), 0), Infinity);
    t.is(derivative(traced(mathFn('cbrt')), 0), Infinity);
    t.is(derivative((x) => -x, 3), -1);
    t.is(derivative((x) => +x, 3), 1);
    t.is(derivative((x) => -(-x), 3), 1);
  });
});

// ---------------------------------------------------------------- binary operators and n-ary Math functions

/** [label, f(a, b), a, b, ∂f/∂a, ∂f/∂b] with hand-derived partials. */
const binaryCases = [
  ['a + b', (a, b) => a + b, 1.5, -0.25, 1, 1],
  ['a - b', (a, b) => a - b, 1.5, -0.25, 1, -1],
  ['a * b', (a, b) => a * b, 1.5, -0.25, -0.25, 1.5],
  ['a / b', (a, b) => a / b, 1.5, -0.25, 1 / -0.25, -1.5 / 0.0625],
  ['a % b', (a, b) => a % b, 7.5, 2, 1, -3], // a − b·trunc(a/b), trunc(3.75) = 3
  ['a ** b', (a, b) => a ** b, 2.5, 1.3, 1.3 * 2.5 ** 0.3, 2.5 ** 1.3 * Math.log(2.5)],
  ['Math.pow', (a, b) => Math.pow(a, b), 0.7, -2, -2 * 0.7 ** -3, 0.7 ** -2 * Math.log(0.7)],
  ['atan2', (a, b) => Math.atan2(a, b), 1, 2, 2 / 5, -1 / 5], // ∂/∂y = x/r², ∂/∂x = −y/r²
  ['atan2 (x < 0)', (a, b) => Math.atan2(a, b), -0.5, -1.5, -1.5 / 2.5, 0.5 / 2.5],
  ['hypot', (a, b) => Math.hypot(a, b), 3, -4, 3 / 5, -4 / 5],
  ['max', (a, b) => Math.max(a, b), 3, -4, 1, 0],
  ['min', (a, b) => Math.min(a, b), 3, -4, 0, 1],
  ['max tie', (a, b) => Math.max(a, b), 2, 2, 0.5, 0.5], // README: k tied arguments get 1/k each
];

test('binary operators and pow/atan2/hypot/max/min: jvp = ∂a·ta + ∂b·tb, and each partial alone', (t) => {
  inBothTiers((tier) => {
    const ta = 0.3, tb = -0.7;
    for (const [label, f, a, b, da, db] of binaryCases) {
      const [y, dy] = jvp(f, [a, b], [ta, tb]);
      t.is(y, f(a, b), `${label}: value`);
      assertClose(t, dy, da * ta + db * tb, { rtol: 1e-14, atol: 1e-15, message: `${tier}: ${label}` });
      assertClose(t, jvp(f, [a, b], [1, null])[1], da, { rtol: 1e-14, atol: 1e-15, message: `${tier}: ${label} ∂a` });
      assertClose(t, jvp(f, [a, b], [0, 1])[1], db, { rtol: 1e-14, atol: 1e-15, message: `${tier}: ${label} ∂b` });
    }
  });
});

test('n-ary hypot/max/min, and the pow conventions at 0 and for negative bases', (t) => {
  inBothTiers((tier) => {
    // hypot(a, b, c) = 13 at (3, 4, 12): gradient (3, 4, 12)/13
    assertClose(t, jvp((a, b, c) => Math.hypot(a, b, c), [3, 4, 12], [1, 2, -1])[1], (3 + 8 - 12) / 13, { rtol: 1e-15 });
    t.is(jvp((a, b, c) => Math.max(a, b, c), [1, 5, 2], [10, 1, 100])[1], 1);
    t.is(jvp((a, b, c) => Math.min(a, b, c), [1, 5, 2], [10, 1, 100])[1], 10);
    // three-way tie: 1/3 each
    assertClose(t, jvp((a, b, c) => Math.max(a, b, c), [2, 2, 2], [3, 6, 9])[1], 6, { rtol: 1e-15 });
    t.is(jvp((a, b) => Math.hypot(a, b), [0, 0], [1, 1])[1], 0, 'hypot has gradient 0 at the origin');
    t.is(derivative((x) => x ** 0, 0), 0, '0 ** 0 has slope 0');
    t.is(derivative((x) => x ** 3, -2), 12, 'negative base, integer exponent: 3x²');
    t.true(Number.isNaN(jvp((a, b) => a ** b, [-2, 3], [null, 1])[1]), '∂/∂b of a negative base is NaN');
    t.is(jvp((a, b) => a ** b, [0, 3], [null, 1])[1], 0, '∂/∂b is 0 at a = 0');
  });
});

// ---------------------------------------------------------------- control flow, containers, mutation, closures

test('jvp through loops: Horner evaluation and a Newton iteration with a data-dependent trip count', (t) => {
  inBothTiers((tier) => {
    const c = [1, -2, 0.5, 3];
    const horner = traced((x) => {
      let r = 0;
      for (let k = c.length - 1; k >= 0; k--) r = r * x + c[k];
      return r;
    }, { c });
    for (const x of [-1.5, 0.2, 2]) {
      // p'(x) = Σ k c_k x^(k−1)
      assertClose(t, derivative(horner, x), -2 + 2 * 0.5 * x + 3 * 3 * x * x, { rtol: 1e-14 });
    }
    // Newton's method for √a: the derivative of the converged iterate is 1/(2√a)
    const newtonSqrt = (a) => {
      let x = a > 1 ? a : 1;
      while (Math.abs(x * x - a) > 1e-15 * a) x = (x + a / x) / 2;
      return x;
    };
    for (const a of [0.3, 2, 50]) assertClose(t, derivative(newtonSqrt, a), 0.5 / Math.sqrt(a), { rtol: 1e-12 });
  });
});

test('jvp through branches: each region of a piecewise function, and a switch on a tracked value', (t) => {
  inBothTiers((tier) => {
    const f = (x) => {
      if (x < 0) return x * x;
      else if (x > 2) return 3 * x;
      return Math.sin(x);
    };
    t.is(derivative(f, -1.5), -3);
    t.is(derivative(f, 4), 3);
    assertClose(t, derivative(f, 1), Math.cos(1), { rtol: 1e-15 });
    const g = (x) => {
      switch (Math.sign(x)) {
        case -1: return Math.exp(x);
        case 1: return x * x * x;
        default: return x;
      }
    };
    assertClose(t, derivative(g, -0.5), Math.exp(-0.5), { rtol: 1e-15 });
    t.is(derivative(g, 2), 12);
    t.is(derivative(g, 0), 1);
  });
});

test('jvp with Map arguments, Maps built inside f, and objects (nested), against closed forms', (t) => {
  const m = new Map([['w', 2], ['x', 3], ['b', -1]]);
  const [y, dy] = jvp((p) => p.get('w') * p.get('x') + p.get('b'), [m], [new Map([['w', 0.5], ['b', 2]])]);
  t.is(y, 5);
  t.is(dy, 0.5 * 3 + 2); // ∂w·tw + ∂b·tb, x unperturbed
  t.deepEqual([...m], [['w', 2], ['x', 3], ['b', -1]]);

  // a Map built inside f from tracked values, read back
  const viaMap = (a, b) => {
    const cache = new Map();
    cache.set('ab', a * b);
    cache.set('sq', cache.get('ab') * cache.get('ab'));
    return cache.get('sq') + cache.get('ab');
  };
  // (ab)² + ab: d = (2ab + 1)(b ta + a tb)
  t.is(jvp(viaMap, [2, 3], [1, -1])[1], (2 * 6 + 1) * (3 - 2));

  // a nested parameter object: an affine layer, y = W x + b
  const params = { layer: { W: [[1, 2], [3, 4]], b: [0.5, -0.5] }, scale: 2 };
  const affine = (p, x) => p.layer.W.map((row, i) => p.scale * (row[0] * x[0] + row[1] * x[1] + p.layer.b[i]));
  const x = [1, -1];
  const tp = { layer: { W: [[1, 0], [0, 1]], b: [1, 1] }, scale: null };
  const [out, dout] = jvp(affine, [params, x], [tp, [0, 2]]);
  t.deepEqual(out, [2 * (1 - 2 + 0.5), 2 * (3 - 4 - 0.5)]);
  // row i: scale · (tW_i · x + W_i · tx + tb_i)
  t.deepEqual(dout, [2 * (1 * 1 + 2 * 2 + 1), 2 * (1 * -1 + 4 * 2 + 1)]);
  assertNoLeak(t, params, 'the parameter object');
});

test('jvp through mutation of arrays, typed arrays and objects inside f', (t) => {
  // arrays: push and in-place updates; caller's array keeps the mutation, as plain numbers
  const arr = [1, 2, 3];
  const [y, dy] = jvp((a) => {
    a.push(a[0] * a[1]);
    a[2] = a[2] * a[2];
    return a.reduce((s, v) => s + v, 0);
  }, [arr], [[1, 1, 1]]);
  t.is(y, 1 + 2 + 9 + 2);
  t.is(dy, 1 + 1 + 2 * 3 + (2 + 1)); // d(a0 a1) = a1 + a0 with unit tangents
  t.deepEqual(arr, [1, 2, 9, 2]);
  assertNoLeak(t, arr, 'the mutated array');

  // typed arrays: a cumulative product written in place; dy is a Float64Array of the same length
  const ta = new Float64Array([2, 3, 0.5]);
  const [cy, cdy] = jvp((v) => {
    for (let i = 1; i < v.length; i++) v[i] = v[i] * v[i - 1];
    return v;
  }, [ta], [new Float64Array([1, 0, 0])]);
  t.true(cdy instanceof Float64Array);
  t.deepEqual(Array.from(cy), [2, 6, 3]);
  t.deepEqual(Array.from(cdy), [1, 3, 1.5]); // ∂/∂v0 of (v0, v0 v1, v0 v1 v2)
  t.deepEqual(Array.from(ta), [2, 6, 3]);

  // objects: an accumulator field and a new nested field written inside f
  const o = { acc: 1, inner: { k: 3 } };
  const [oy, ody] = jvp((s, x) => {
    for (let i = 0; i < 3; i++) s.acc = s.acc * x;
    s.inner.extra = s.inner.k * s.acc;
    return s.inner.extra;
  }, [o, 2], [null, 1]);
  t.is(oy, 3 * 8);
  t.is(ody, 3 * 3 * 4); // k · 3x²
  t.deepEqual(o, { acc: 8, inner: { k: 3, extra: 24 } });
});

test('jvp through closures created inside f, capturing and updating tracked values', (t) => {
  const f = (x) => {
    const scaleBy = (k) => (v) => k * v;
    const byX = scaleBy(x);
    let acc = 0;
    const add = (v) => {
      acc += byX(v) * x;
    };
    [1, 2, 3].forEach(add); // acc = 6x²
    return acc + [1, 2].map(byX).reduce((a, b) => a + b, 0); // + 3x
  };
  t.is(derivative(f, 1.5), 12 * 1.5 + 3);
});

// ---------------------------------------------------------------- shapes of arguments, tangents and outputs

test('jvp shapes: array, typed-array, object and Map outputs give tangents of the same shape', (t) => {
  const [ya, da] = jvp((x) => x.map((v, i) => v * (i + 1)), [[1, 2, 3]], [[1, 1, 1]]);
  t.deepEqual(ya, [1, 4, 9]);
  t.deepEqual(da, [1, 2, 3]);

  const [yt, dt] = jvp((x) => new Float64Array([x, x * x]), [3], [1]);
  t.true(yt instanceof Float64Array && dt instanceof Float64Array);
  t.deepEqual(Array.from(dt), [1, 6]);

  const [yo, dobj] = jvp((x) => ({ s: x * x, nested: { c: 5, v: [x, 2 * x] } }), [3], [2]);
  t.deepEqual(yo, { s: 9, nested: { c: 5, v: [3, 6] } });
  t.deepEqual(dobj, { s: 12, nested: { c: 0, v: [2, 4] } }, 'constants get 0');

  const [ym, dm] = jvp((x) => new Map([['sq', x * x], ['one', 1]]), [3], [1]);
  t.deepEqual([...ym], [['sq', 9], ['one', 1]]);
  t.true(dm instanceof Map);
  t.deepEqual([...dm], [['sq', 6], ['one', 0]]);
  assertNoLeak(t, [ya, da, yt, dt, yo, dobj, ym, dm], 'outputs');
});

test('jvp shapes: typed-array and object arguments, a typed-array tangent for a plain array, partial object tangents', (t) => {
  const v = new Float64Array([1, 2, 3]);
  const dot = (a) => a[0] * a[1] + a[2];
  t.is(jvp(dot, [v], [new Float64Array([1, 0, 1])])[1], 2 + 1);
  t.is(jvp(dot, [v], [[0, 1, 0]])[1], 1, 'a plain-array tangent for a typed array');
  t.is(jvp(dot, [[1, 2, 3]], [new Float64Array([1, 1, 1])])[1], 2 + 1 + 1, 'a typed-array tangent for a plain array');
  // an object tangent that leaves keys out: those entries are not perturbed
  t.is(jvp((p) => p.a * p.b + p.c, [{ a: 2, b: 3, c: 4 }], [{ b: 1 }])[1], 2);
  // nested arrays with null holes in the tangent
  t.is(jvp((m) => m[0][0] * m[1][1], [[[2, 0], [0, 5]]], [[null, [0, 1]]])[1], 2);
});

test('null and 0 tangents mean "not perturbed"; with no perturbation dy is all zeros', (t) => {
  inBothTiers((tier) => {
    t.deepEqual(jvp((a, b) => a * b, [2, 3], [0, 1]), [6, 2]);
    t.deepEqual(jvp((a, b) => a * b, [2, 3], [null, 1]), [6, 2]);
    t.deepEqual(jvp((a, b) => a * b, [2, 3], [null, null]), [6, 0]);
    t.deepEqual(jvp((a, b) => [a, 5, b], [2, 3], [1, null]), [[2, 5, 3], [1, 0, 0]]);
    t.deepEqual(jvp((x) => x.map((v) => v * v), [[1, 2]], [null]), [[1, 4], [0, 0]]);
    t.deepEqual(jvp(() => 7, [], []), [7, 0], 'no arguments at all');
  });
});

test('structural zeros: an unperturbed sqrt(0) does not turn the tangent into NaN', (t) => {
  inBothTiers((tier) => {
    t.deepEqual(jvp((x, y) => x + Math.sqrt(y), [1, 0], [1, null]), [1, 1]);
    t.deepEqual(jvp((x, y) => x + Math.sqrt(y), [1, 0], [1, 0]), [1, 1], 'a 0 tangent is the same as null');
    t.deepEqual(jvp((v) => v[0] + Math.sqrt(v[1]), [[1, 0]], [[1, 0]]), [1, 1], 'inside an array');
    t.deepEqual(jvp((x, y) => x * 2 + Math.log(y), [1, 0], [1, null]), [-Infinity, 2], 'log(0) unperturbed');
    // but a perturbed sqrt(0) gives the README's +Infinity
    t.is(jvp((x, y) => x + Math.sqrt(y), [1, 0], [1, 1])[1], Infinity);
  });
});

test('tangents that do not match their arguments throw a TracegradError naming the tangent', (t) => {
  inBothTiers((tier) => {
    const sum2 = (x) => x[0] + x[1];
    let e = t.throws(() => jvp(sum2, [[1, 2]], [1]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\]/);
    t.regex(e.message, /array/);
    e = t.throws(() => jvp(sum2, [[1, 2]], [[1]]), { instanceOf: TracegradError }, `${tier}: a shorter tangent array`);
    t.regex(e.message, /tangents\[0\]/);
    e = t.throws(() => jvp(sum2, [[1, 2]], [[1, 'q']]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\]\[1\] is a string/);
    e = t.throws(() => jvp((x) => x, [1], ['a']), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\].*number/);
    t.throws(() => jvp((x) => x * 2, [1], [true]), { instanceOf: TracegradError }, tier);
    e = t.throws(() => jvp((x) => x, [1], [[1]]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\]/);
    e = t.throws(() => jvp((v) => v[0] * v[1], [new Float64Array([1, 2])], [{ a: 1 }]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\].*typed array/);
    e = t.throws(() => jvp((m) => m.get('a'), [new Map([['a', 1]])], [{ a: 1 }]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\].*Map/);
    e = t.throws(() => jvp((o) => o.a * o.b, [{ a: 1, b: 2 }], [{ a: 'z' }]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\]\.a/);
    e = t.throws(() => jvp((x) => x[1][0], [[1, [2, 3]]], [[1, 5]]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /tangents\[0\]\[1\]/, 'the path inside the tangent is named');
    e = t.throws(() => jvp((a, b) => a + b, [1, 2], [1]), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /2 arguments but 1 tangent/);
    e = t.throws(() => jvp((a) => a, 1, 1), { instanceOf: TracegradError }, tier);
    t.regex(e.message, /two arrays/);
  });
});

test('the interpreter rejects an array or a string as the tangent of an object argument', (t) => {
  const saved = jit.enabled;
  jit.enabled = false;
  try {
    let e = t.throws(() => jvp((o) => o.a, [{ a: 1 }], [[1]]), { instanceOf: TracegradError });
    t.regex(e.message, /tangents\[0\].*object/);
    e = t.throws(() => jvp((o) => o.a * o.b, [{ a: 1, b: 2 }], ['xy']), { instanceOf: TracegradError });
    t.regex(e.message, /tangents\[0\].*object/);
  } finally {
    jit.enabled = saved;
  }
});

// Regression (fixed): the compiled jvp tier (lib/jit/tangent.ts) reads an object argument's tangent as `tangents[i]?.[field] ?? null`
// without checking its shape, so an array or string tangent for an object argument silently seeds nothing (dy = 0)
// where the interpreter throws (previous test). jit is on by default with threshold 1, so this is what users get.
test('with the compiled tier allowed, an array tangent for an object argument is rejected too', (t) => {
  const saved = jit.enabled;
  jit.enabled = true;
  try {
    t.throws(() => jvp((o) => o.a, [{ a: 1 }], [[1]]), { instanceOf: TracegradError });
    t.throws(() => jvp((o) => o.a * o.b, [{ a: 1, b: 2 }], ['xy']), { instanceOf: TracegradError });
  } finally {
    jit.enabled = saved;
  }
});

// Regression (fixed): in seedSlot (lib/forward/api.ts) an object argument accepts any non-array object as its tangent, so a Map
// tangent (whose entries are not properties) seeds nothing and jvp returns dy = 0 instead of a shape error. Both tiers.
test('a Map tangent for a plain-object argument is a shape error, not a silent zero', (t) => {
  inBothTiers((tier) => {
    t.throws(() => jvp((o) => o.a * o.b, [{ a: 1, b: 2 }], [new Map([['a', 1]])]), { instanceOf: TracegradError }, tier);
  });
});

// Regression (fixed): a tangent array of the wrong length is reported as "tangents[0] must have its argument's shape (an array), got an
// array.": the message contradicts itself and never says the lengths differ (seedSlot's mismatch() describes only the
// kind, lib/forward/api.ts).
test('a tangent array of the wrong length gets a message that names both lengths', (t) => {
  const e = t.throws(() => jvp((x) => x[0] + x[1], [[1, 2]], [[1]]), { instanceOf: TracegradError });
  t.regex(e.message, /length/);
  t.regex(e.message, /\b2\b/);
  t.regex(e.message, /\b1\b/);
});

test('derivative rejects a non-number x and a non-number output, pointing to jvp or gradient', (t) => {
  let e = t.throws(() => derivative((x) => x[0], [1]), { instanceOf: TracegradError });
  t.regex(e.message, /needs a number x/);
  t.regex(e.message, /jvp\(f, \[x\], \[tangent\]\)|gradient/);
  e = t.throws(() => derivative((x) => [x, x], 1), { instanceOf: TracegradError });
  t.regex(e.message, /return a number/);
  t.regex(e.message, /jvp\(f, \[x\], \[1\]\)/);
  e = t.throws(() => derivative((x) => ({ x }), 1), { instanceOf: TracegradError });
  t.regex(e.message, /jvp/);
  t.throws(() => derivative((x) => x, 'a'), { instanceOf: TracegradError });
});

// ---------------------------------------------------------------- no leaks

test('arguments, values and tangents are plain after jvp, also when f throws', (t) => {
  const arr = [1, 2, 3];
  const obj = { a: 1, inner: { b: 2 }, list: [4] };
  const m = new Map([['k', 3]]);
  const [y, dy] = jvp((a, o, mm) => {
    a[0] = a[0] * o.a;
    o.inner.c = mm.get('k') * o.inner.b;
    mm.set('k2', a[1] * 2);
    o.list.push(a[2]);
    return { a, o, mm };
  }, [arr, obj, m], [[1, 1, 1], { a: 1, inner: { b: 1 }, list: [1] }, new Map([['k', 1]])]);
  assertNoLeak(t, [arr, obj, m], 'arguments');
  assertNoLeak(t, [y, dy], 'the result');
  t.deepEqual(dy.o.inner, { b: 1, c: 2 + 3 }); // d(k b) = b tk + k tb

  const arr2 = [1, 2, 3];
  const obj2 = { a: 1, inner: { b: 2 }, m: new Map([['k', 3]]) };
  const ta = new Float64Array([1, 2]);
  const e = t.throws(() =>
    jvp((a, o, v) => {
      a[0] = a[0] * 2;
      a[1] = Math.sin(a[1]);
      o.a = o.a * o.inner.b;
      o.inner.c = o.m.get('k') * 2;
      o.m.set('k', o.a + 1);
      v[0] = v[0] * v[1];
      throw new Error('boom');
    }, [arr2, obj2, ta], [[1, 1, 1], { a: 1, inner: { b: 1 }, m: new Map([['k', 1]]) }, new Float64Array([1, 1])]),
  );
  t.is(e.message, 'boom', "f's own error comes through unchanged");
  assertNoLeak(t, [arr2, obj2], 'arguments after a throw');
  t.deepEqual(arr2, [2, Math.sin(2), 3], 'the mutations made before the throw stay, as plain numbers');
  t.deepEqual(Array.from(ta), [2, 2]);
  // nothing left on the tape stack: later calls are unaffected
  t.is(derivative((x) => x * x, 3), 6);
  t.deepEqual(gradient((x) => x * x, 3), [6]);
});

test('a throw inside a nested derivative leaves both levels clean', (t) => {
  const inner = (y) => {
    if (y > 0) throw new RangeError('inner');
    return y;
  };
  const outer = traced((x) => x * derivative(inner, x), { derivative, inner });
  t.throws(() => derivative(outer, 1), { instanceOf: RangeError });
  t.is(derivative(outer, -1), 1); // x · 1
  t.is(derivative((x) => x * x * x, 2), 12);
});

// ---------------------------------------------------------------- custom rules, hook and checkpoint in forward mode

test('defineAdjoint with a scalar output: forward mode uses the rule (tangent = J·t from its back)', (t) => {
  // a straight-through estimator: round going forward, identity derivative by rule (the body alone would give 0)
  function roundSTE(x) {
    return Math.round(x);
  }
  defineAdjoint(roundSTE, (x) => [Math.round(x), (dy) => [dy]]);
  const f = traced((x) => roundSTE(x * 3) * x, { roundSTE });
  // y = round(3x)·x, dy/dx = 3x + round(3x) under the rule
  t.deepEqual(jvp(f, [1.1], [2]), [3 * 1.1, 2 * (3 * 1.1 + 3)]);

  // two arguments: log-sum-exp, whose J is the softmax weights
  function lse(a, b) {
    const m = Math.max(a, b);
    return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
  }
  defineAdjoint(lse, (a, b) => {
    const y = lse(a, b);
    return [y, (dy) => [dy * Math.exp(a - y), dy * Math.exp(b - y)]];
  });
  const g = traced((a, b) => lse(a, b), { lse });
  const [a, b] = [0.3, -1.2];
  const wa = Math.exp(a) / (Math.exp(a) + Math.exp(b));
  assertClose(t, jvp(g, [a, b], [1, 0.5])[1], wa + 0.5 * (1 - wa), { rtol: 1e-14 });
  assertClose(t, jvp(g, [a, b], [null, 1])[1], 1 - wa, { rtol: 1e-14 });
});

test('defineAdjoint with structured inputs and outputs: each output leaf gets its row of J', (t) => {
  function polar(r, th) {
    return { x: r * Math.cos(th), y: r * Math.sin(th) };
  }
  defineAdjoint(polar, (r, th) => [
    polar(r, th),
    (d) => [d.x * Math.cos(th) + d.y * Math.sin(th), -d.x * r * Math.sin(th) + d.y * r * Math.cos(th)],
  ]);
  const f = traced((r, th) => polar(r, th), { polar });
  const [r, th, tr, tth] = [2, 0.5, 0.3, 0.7];
  const [y, dy] = jvp(f, [r, th], [tr, tth]);
  assertClose(t, y, { x: r * Math.cos(th), y: r * Math.sin(th) }, { rtol: 1e-15 });
  assertClose(t, dy, {
    x: Math.cos(th) * tr - r * Math.sin(th) * tth,
    y: Math.sin(th) * tr + r * Math.cos(th) * tth,
  }, { rtol: 1e-14 });

  // object argument, array output: [w0 x + b, w1 x + b]
  function affine(p, x) {
    return p.w.map((w) => w * x + p.b);
  }
  defineAdjoint(affine, (p, x) => [
    affine(p, x),
    (d) => [{ w: d.map((di) => di * x), b: d.reduce((s, di) => s + di, 0) }, d.reduce((s, di, i) => s + di * p.w[i], 0)],
  ]);
  const g = traced((p, x) => affine(p, x), { affine });
  const p = { w: [2, -3], b: 0.5 };
  const [gy, gdy] = jvp(g, [p, 4], [{ w: [1, 0.5], b: -1 }, 0.25]);
  t.deepEqual(gy, [8.5, -11.5]);
  // dy_i = x tw_i + tb + w_i tx
  t.deepEqual(gdy, [4 * 1 - 1 + 2 * 0.25, 4 * 0.5 - 1 - 3 * 0.25]);
  assertNoLeak(t, p, 'the rule argument');
});

test('nondifferentiable functions give a zero tangent in forward mode', (t) => {
  const quantize = nondifferentiable(function quantize(x) {
    return Math.floor(x * 4) / 4;
  });
  const f = traced((x) => quantize(x) + x * x, { quantize });
  t.deepEqual(jvp(f, [1.3], [1]), [1.25 + 1.3 * 1.3, 2.6]);
});

test('hook and checkpoint inside forward mode', (t) => {
  // checkpoint: the value and derivative of the wrapped function are unchanged: d/dx (x³ sin x)
  const f = traced((x) => checkpoint((u) => u * u * u * Math.sin(u), x) + x, { checkpoint });
  const x = 0.8;
  const [y, dy] = jvp(f, [x], [1]);
  assertClose(t, y, x ** 3 * Math.sin(x) + x, { rtol: 1e-15 });
  assertClose(t, dy, 3 * x * x * Math.sin(x) + x ** 3 * Math.cos(x) + 1, { rtol: 1e-14 });

  // checkpoint with several arguments and one of them unperturbed
  const g = traced((a, b) => checkpoint((u, v) => u * v * v, a, b), { checkpoint });
  t.deepEqual(jvp(g, [2, 3], [1, null]), [18, 9]);
  t.deepEqual(jvp(g, [2, 3], [null, 1]), [18, 12]);

  // hook: forward mode takes the hooked Jacobian (fn applied to the unit cotangent), so for a scalar function
  // derivative and gradient agree: y = hook(g ↦ −g, x)·3 has slope −3 in both modes
  const h = traced((v) => hook((c) => -c, v) * 3, { hook });
  t.deepEqual(jvp(h, [2], [1]), [6, -3]);
  t.is(derivative(h, 2), gradient(h, 2)[0]);
  // a hook observing the cotangent does not change the derivative
  const seen = [];
  const k = traced((v) => hook((c) => (seen.push(c), c), v * v) * v, { hook, seen });
  t.is(derivative(k, 1.5), 3 * 1.5 * 1.5);
});

// Regression (fixed): a tangent of 0 for an array, object or Complex argument threw a shape error, though 0 means
// "not perturbed" (as null does) for a number argument.
test('a tangent of 0 leaves any argument unperturbed, as null does', (t) => {
  const f = (a, o, x) => a[0] * x + o.w * x * x;
  for (const tangents of [[0, 0, 1], [null, null, 1]]) {
    const [y, dy] = jvp(f, [[2, 5], { w: 3 }, 4], tangents);
    t.is(y, 2 * 4 + 3 * 16);
    t.is(dy, 2 + 2 * 3 * 4); // ∂/∂x only
  }
});
