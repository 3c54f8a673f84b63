// The compiled Hessian-vector product (lib/jit/jvp.ts + the reverse generator): results against closed forms and finite differences, bit-identity with the interpreter, and which functions stay interpreted.
import test from 'ava';
import { traced, hvp, hessian, gradient, jit, tierOf, TracegradError } from '../../dist/index.js';
import { richardsonDerivative, assertClose } from '../helpers/reference.mjs';
import { rosenbrock, rosenbrockHvp } from '../helpers/rosenbrock.mjs';

/** hvp with the compiled tier off: the reference for bit-identity. */
function interpreted(f, x, v) {
  jit.enabled = false;
  try {
    return hvp(f, x, v);
  } finally {
    jit.enabled = true;
  }
}
const sameBits = (t, got, ref, message) => {
  t.is(got.length, ref.length, message);
  for (let i = 0; i < ref.length; i++) t.true(Object.is(got[i], ref[i]), `${message}: entry ${i} ${got[i]}, interpreter ${ref[i]}`);
};

test('Rosenbrock hvp runs compiled, matches the closed form, and is bit-identical to the interpreter (Float64Array and Array)', (t) => {
  const R = traced(rosenbrock);
  const x = Array.from({ length: 12 }, (_v, i) => 0.5 + 0.5 * Math.cos(i));
  const v = Array.from({ length: 12 }, (_v, i) => Math.sin(i + 1));
  for (const [xs, vs, kind] of [[Float64Array.from(x), Float64Array.from(v), Float64Array], [x, v, Array]]) {
    const got = hvp(R, xs, vs);
    t.is(tierOf(R, 'hvp'), 'compiled');
    t.true(got instanceof kind, `result is a ${kind.name} like x`);
    assertClose(t, Array.from(got), rosenbrockHvp(x, v), { rtol: 1e-13, atol: 1e-12 });
    sameBits(t, got, interpreted(R, xs, vs), kind.name);
  }
});

test('directions with zero entries use the variant that tests which inputs have a tangent; hessian (unit vectors) runs compiled', (t) => {
  const R = traced(rosenbrock);
  const x = Float64Array.from([1.2, -0.7, 0.3, 2.0, 0.9]);
  const v = Float64Array.from([0, 1.5, 0, -2, 0]);
  sameBits(t, hvp(R, x, v), interpreted(R, x, v), 'sparse v');
  assertClose(t, Array.from(hvp(R, x, v)), rosenbrockHvp(x, v), { rtol: 1e-13, atol: 1e-12 });
  const H = hessian(R, Array.from(x));
  t.is(tierOf(R, 'hvp'), 'compiled');
  const e = (j) => Array.from(x, (_v, i) => (i === j ? 1 : 0));
  H.forEach((_row, j) => assertClose(t, H.map((row) => row[j]), rosenbrockHvp(x, e(j)), { rtol: 1e-13, atol: 1e-12, message: `column ${j}` }));
});

test('a scalar x: the second derivative times v, against Richardson differences of the gradient', (t) => {
  const f = traced((x) => {
    let y = x;
    for (let k = 0; k < 3; k++) y = Math.exp(Math.sin(y)) * x + Math.log(1 + x * x) / (2 + Math.cos(y));
    return y;
  });
  for (const x of [0.3, -1.1, 2.2]) {
    const got = hvp(f, x, 2);
    t.is(tierOf(f, 'hvp'), 'compiled');
    const fd = richardsonDerivative((u) => gradient(f, u)[0], x);
    t.true(Math.abs(got - 2 * fd) <= 1e-8 * Math.max(1, Math.abs(got)), `x = ${x}: ${got} vs ${2 * fd}`);
    t.true(Object.is(got, interpreted(f, x, 2)));
  }
});

test('branches, local arrays, literal powers, abs and every smooth Math rule compile; values match finite differences', (t) => {
  const f = traced((x) => {
    const w = new Float64Array(x.length);
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      w[i] = x[i] > 0 ? Math.sqrt(1 + x[i] ** 2) : Math.atan(x[i]) ** 3;
      s += Math.tanh(w[i]) * Math.asinh(x[i]) + Math.atan2(x[i], 2 + w[i]) + Math.cbrt(2 + Math.cosh(x[i])) + Math.abs(x[i]) * w[i];
    }
    return s / (1 + Math.expm1(0.1 * w[0]));
  });
  const x = [0.4, -0.8, 1.3];
  const v = [1, -0.5, 0.25];
  const got = hvp(f, x, v);
  t.is(tierOf(f, 'hvp'), 'compiled');
  // H·v is the directional derivative of the gradient along v
  const fd = richardsonDerivative((h) => gradient(f, x.map((xi, i) => xi + h * v[i]))[0][0], 0);
  t.true(Math.abs(got[0] - fd) <= 1e-7 * Math.max(1, Math.abs(fd)), `${got[0]} vs ${fd}`);
  sameBits(t, got, interpreted(f, x, v), 'hvp');
});

test('rules whose derivative reads values (pow with a varied exponent, max) stay interpreted, with the reason, and still answer', (t) => {
  const cases = [
    [traced((x) => x[0] ** x[1]), 'pow'],
    [traced((x) => Math.max(x[0], x[1]) * x[0]), 'Math.max'],
  ];
  for (const [f, name] of cases) {
    const x = [1.5, 2], v = [1, -1];
    const got = hvp(f, x, v);
    t.regex(tierOf(f, 'hvp'), new RegExp(`^interpreted: .*${name.replace('.', '\\.')}`), name);
    const fd = richardsonDerivative((h) => gradient(f, x.map((xi, i) => xi + h * v[i]))[0][1], 0);
    t.true(Math.abs(got[1] - fd) <= 1e-7 * Math.max(1, Math.abs(fd)), `${name}: ${got[1]} vs ${fd}`);
  }
});

test('hvp explains a bad direction or output instead of answering', (t) => {
  const R = traced(rosenbrock);
  t.throws(() => hvp(R, [1, 2, 3], [1, 2]), { instanceOf: TracegradError, message: /shape/ });
  const undefinedOut = traced((x) => {
    let r;
    if (x[0] > 5) r = x[0];
    return r;
  });
  t.throws(() => hvp(undefinedOut, [1, 2], [1, 1]), { instanceOf: TracegradError, message: /hvp\(f, x, v\) needs f to return a number/ });
});

// Regression (found by the hvp property test with seed -2093999976): the tangent program wrote a sum's unit partial
// as the tangent itself (ẇ + (−1)·ṁ), where the forward tape makes 1·ẇ a product of its own; the reverse pass then
// handed ẇ its adjoint before ṁ's instead of after, which changes the last bit when both are one value (w − w, or a
// copy m = w). 1 ulp off the interpreter's answer before the fix.
test('a sum whose operands share one tangent (w − w, a copy m = w) gives the interpreter\'s hvp to the bit', (t) => {
  const sources = [
    (x) => { const w = Math.tanh(x); const v0 = w + (w - w); return v0 - Math.tanh(w); },
    (x) => { const w = Math.tanh(x); const m = w; const v0 = m + (w - m); return v0 - Math.tanh(w); },
    (x) => { const w = Math.tanh(x); const m = w; return Math.atan2(1.1, 1 + (m + (w - m) - Math.tanh(w)) ** 2); },
  ];
  for (const [k, source] of sources.entries()) {
    const f = traced(source);
    for (const x of [0.9051482536448664, 0.3, -1.2, 2.1, 0.77]) {
      const ref = interpreted(f, x, 0.5);
      let got;
      for (let i = 0; i < 3; i++) got = hvp(f, x, 0.5);
      t.is(tierOf(f, 'hvp'), 'compiled');
      t.true(Object.is(got, ref), `function ${k} at ${x}: ${got}, interpreter ${ref}`);
    }
  }
});
