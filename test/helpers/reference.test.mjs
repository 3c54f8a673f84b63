// Tests of the reference helpers (finite differences, numeric gradients, assertClose) against closed forms.
import test from 'ava';
import { assertClose, numericGradient, richardsonDerivative, richardsonEstimate } from './reference.mjs';

/** Minimal stand-in for ava's `t` that records pass/fail calls instead of asserting. */
function recordingT() {
  const calls = [];
  return {
    calls,
    pass: () => calls.push({ kind: 'pass' }),
    fail: (message) => calls.push({ kind: 'fail', message }),
  };
}

const relativeError = (actual, expected) => Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);

const CLOSED_FORMS = [
  { name: 'sin', f: Math.sin, df: Math.cos, points: [-3, -1, 0, 0.3, 1, 2.5, 10] },
  { name: 'exp', f: Math.exp, df: Math.exp, points: [-5, -1, 0, 0.7, 3, 20] },
  { name: 'x^3', f: (x) => x ** 3, df: (x) => 3 * x ** 2, points: [-4, -0.5, 0.1, 1, 7, 100] },
  { name: 'log', f: Math.log, df: (x) => 1 / x, points: [0.2, 0.5, 1, 2, 10, 1000] },
];

for (const { name, f, df, points } of CLOSED_FORMS) {
  test(`richardsonDerivative of ${name} matches the closed form to 1e-10`, (t) => {
    for (const x of points) {
      const error = relativeError(richardsonDerivative(f, x), df(x));
      t.true(error < 1e-10, `${name}'(${x}): relative error ${error}`);
    }
  });
}

test('richardsonDerivative is exact up to rounding for low-degree polynomials', (t) => {
  // D(h) = f'(x) + h^2 for x^3; one extrapolation step removes the h^2 term exactly.
  t.true(Math.abs(richardsonDerivative((x) => x ** 3 - 2 * x, 1.5) - (3 * 1.5 ** 2 - 2)) < 1e-12);
  t.is(richardsonDerivative((x) => 4 * x + 1, 0), 4);
});

test('richardsonEstimate returns a small error estimate alongside the value', (t) => {
  const { value, error } = richardsonEstimate(Math.sin, 0.8);
  t.true(relativeError(value, Math.cos(0.8)) < 1e-10);
  t.true(Number.isFinite(error) && error < 1e-8);
  t.is(richardsonDerivative(Math.sin, 0.8), value);
});

test('richardsonDerivative honours an explicit initial step and step count', (t) => {
  // A function that varies on a scale much finer than the default step (1e-2).
  const f = (x) => Math.sin(1000 * x);
  const x = 0.3;
  const estimate = richardsonDerivative(f, x, { h: 1e-4, steps: 12 });
  t.true(relativeError(estimate, 1000 * Math.cos(1000 * x)) < 1e-8);
});

test('richardsonDerivative probes only representable points when given a rounding map', (t) => {
  const probes = [];
  const x = Math.fround(1.3);
  const estimate = richardsonDerivative(
    (v) => {
      probes.push(v);
      return v ** 2;
    },
    x,
    { round: Math.fround },
  );
  t.true(probes.every((v) => Math.fround(v) === v));
  t.true(relativeError(estimate, 2 * x) < 1e-10);
});

class Layer {
  constructor(W, bias) {
    this.W = W;
    this.bias = bias;
    this.name = 'dense';
  }

  scale() {
    return 2;
  }
}

test('numericGradient matches hand-derived gradients for objects of arrays, Maps and typed arrays', (t) => {
  const params = { W: [[1, 2], [3, -1]], bias: [0.5, -0.25], name: 'layer', tags: ['a', 'b'] };
  const settings = new Map([['scale', 1.5], ['label', 'x'], ['offsets', [0.1, 0.2]]]);
  const v = new Float64Array([0.3, -0.7, 2]);
  const k = 0.9;

  // f = scale * Σ W_ij^2 + sin(bias_0) v_1 + bias_1 v_0 v_2 + k^2 (offsets_0 + 2 offsets_1)
  const f = (p, m, vec, c, label) => {
    let sumSquares = 0;
    for (const row of p.W) for (const w of row) sumSquares += w * w;
    const offsets = m.get('offsets');
    return (
      m.get('scale') * sumSquares +
      Math.sin(p.bias[0]) * vec[1] +
      p.bias[1] * vec[0] * vec[2] +
      c ** 2 * (offsets[0] + 2 * offsets[1]) +
      label.length
    );
  };

  const scale = settings.get('scale');
  const sumSquares = 1 + 4 + 9 + 1;
  const expected = [
    {
      W: [[2 * scale * 1, 2 * scale * 2], [2 * scale * 3, 2 * scale * -1]],
      bias: [Math.cos(0.5) * v[1], v[0] * v[2]],
      name: null,
      tags: [null, null],
    },
    new Map([['scale', sumSquares], ['label', null], ['offsets', [k ** 2, 2 * k ** 2]]]),
    new Float64Array([-0.25 * v[2], Math.sin(0.5), -0.25 * v[0]]),
    2 * k * (0.1 + 2 * 0.2),
    null,
  ];

  const gradient = numericGradient(f, params, settings, v, k, 'label');
  t.true(gradient[2] instanceof Float64Array);
  assertClose(t, gradient, expected, { rtol: 1e-9, atol: 1e-10 });
});

test('numericGradient turns class instances into plain objects and keeps Float32Array type', (t) => {
  const layer = new Layer([0.5, 1.5], new Float32Array([0.25, -2]));
  const f = (l) => l.scale() * (l.W[0] * l.W[1] + l.bias[0] ** 2 + Math.exp(l.bias[1]));
  const [gradient] = numericGradient(f, layer);

  t.is(Object.getPrototypeOf(gradient), Object.prototype);
  t.true(gradient.bias instanceof Float32Array);
  assertClose(
    t,
    gradient,
    {
      W: [2 * 1.5, 2 * 0.5],
      bias: new Float32Array([2 * 2 * 0.25, 2 * Math.exp(-2)]),
      name: null,
    },
    { rtol: 1e-6, atol: 1e-7 },
  );
});

test('numericGradient never lets f see or cause mutation of the original arguments', (t) => {
  const x = { values: [1, 2, 3], extra: new Map([['w', 4]]) };
  const snapshot = structuredClone(x);
  const seen = [];
  const f = (arg) => {
    const total = arg.values.reduce((sum, value) => sum + value * value, 0) * arg.extra.get('w');
    // f mutates its input; later evaluations must still start from the original values.
    seen.push(arg.values[0]);
    arg.values[0] = 1000;
    arg.extra.set('w', -1);
    return total;
  };

  const [gradient] = numericGradient(f, x);
  t.deepEqual(x, snapshot);
  t.false(seen.includes(1000));
  assertClose(t, gradient, { values: [8, 16, 24], extra: new Map([['w', 14]]) }, { rtol: 1e-9 });
});

test('numericGradient preserves aliasing between arguments', (t) => {
  const shared = [2];
  // With a and b aliased, f = a_0 * b_0 = s^2, so each path reports d(s^2)/ds = 2s.
  const [ga, gb] = numericGradient((a, b) => a[0] * b[0], shared, shared);
  assertClose(t, [ga, gb], [[4], [4]], { rtol: 1e-9 });
});

test('assertClose passes within tolerance and records exactly one assertion', (t) => {
  const fake = recordingT();
  const actual = {
    W: [[1 + 1e-9, 2], new Float64Array([3])],
    m: new Map([['k', -0 + 1e-9]]),
    n: null,
    specials: [NaN, Infinity, -Infinity],
  };
  const expected = {
    W: [[1, 2], new Float64Array([3])],
    m: new Map([['k', 0]]),
    n: null,
    specials: [NaN, Infinity, -Infinity],
  };
  t.true(assertClose(fake, actual, expected));
  t.deepEqual(fake.calls, [{ kind: 'pass' }]);
});

test('assertClose fails with the path and both values of a numeric mismatch', (t) => {
  const fake = recordingT();
  const actual = [{ W: [[0, 0, 0], [0, 0, 0.5]] }];
  const expected = [{ W: [[0, 0, 0], [0, 0, 0.6]] }];
  t.false(assertClose(fake, actual, expected));
  t.is(fake.calls.length, 1);
  t.is(fake.calls[0].kind, 'fail');
  t.regex(fake.calls[0].message, /\[0\]\.W\[1\]\[2\]/);
  t.regex(fake.calls[0].message, /0\.5/);
  t.regex(fake.calls[0].message, /0\.6/);
});

test('assertClose applies atol + rtol * |expected|', (t) => {
  const within = recordingT();
  assertClose(within, 100.9, 100, { rtol: 1e-2, atol: 0 });
  t.is(within.calls[0].kind, 'pass');
  const outside = recordingT();
  assertClose(outside, 101.1, 100, { rtol: 1e-2, atol: 0 });
  t.is(outside.calls[0].kind, 'fail');
});

test('assertClose reports special values, shapes, keys and Map entries', (t) => {
  const cases = [
    { actual: NaN, expected: 1, path: '<root>' },
    { actual: [Infinity], expected: [-Infinity], path: '[0]' },
    { actual: [1, 2], expected: [1, 2, 3], path: '<root>' },
    { actual: new Float32Array([1]), expected: new Float64Array([1]), path: '<root>' },
    { actual: [0], expected: [null], path: '[0]' },
    { actual: { a: 1 }, expected: { a: 1, b: 2 }, path: '.b' },
    { actual: { a: 1, c: 3 }, expected: { a: 1 }, path: '.c' },
    { actual: new Map([['bias', 1]]), expected: new Map([['bias', 2]]), path: '.get("bias")' },
    { actual: { m: new Map([[3, [1]]]) }, expected: { m: new Map([[3, [1.5]]]) }, path: '.m.get(3)[0]' },
  ];
  for (const { actual, expected, path } of cases) {
    const fake = recordingT();
    assertClose(fake, actual, expected);
    t.is(fake.calls.length, 1);
    t.is(fake.calls[0].kind, 'fail');
    t.true(fake.calls[0].message.includes(`at ${path}:`), fake.calls[0].message);
  }
});

test('assertClose lists at most maxReported mismatches and prefixes the message', (t) => {
  const fake = recordingT();
  assertClose(fake, [1, 1, 1, 1], [2, 2, 2, 2], { maxReported: 2, message: 'weights' });
  const { message } = fake.calls[0];
  t.true(message.startsWith('weights: '));
  t.true(message.includes('at [1]:'));
  t.false(message.includes('at [2]:'));
  t.true(message.includes('and 2 more'));
});
