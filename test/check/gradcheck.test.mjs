// gradcheck: it passes correct gradients on every argument structure, catches deliberately wrong adjoints and names the leaf, and does not cry wolf at kinks or on integer paths.
import test from 'ava';
import { gradcheck, defineAdjoint, traced, tensor, sum, matmul, complex, TracegradError } from '../../dist/index.js';

class Point {
  constructor(x, y) {
    this.x = x;
    this.y = y;
  }
}

test('correct gradients pass on numbers, arrays, typed arrays, objects, class instances, Maps, Complex and tensors', (t) => {
  const r = gradcheck(
    traced((a, xs, f64, o, p, m, z, W) => Math.sin(a) * xs[1] + f64[0] * f64[1] + o.w.b ** 2 + p.x * p.y + m.get('k') * a + z.re * z.im + sum(W * W), { sum }),
    0.7, [1, 2.5], new Float64Array([0.5, -1]), { w: { b: 3 } }, new Point(2, -1), new Map([['k', 1.5]]), complex(2, 3), tensor([[1, 2], [3, 4]]),
  );
  t.true(r.ok, JSON.stringify(r.worst));
  t.is(r.leaves, 1 + 2 + 2 + 1 + 2 + 1 + 2 + 4);
  t.true(r.maxRelError < 1e-8, `${r.maxRelError}`);
  t.true(r.forward.ok && r.compiled.ok);
  t.deepEqual(r.notSmooth, []);
  t.is(typeof r.step, 'number');
});

test('wrong adjoints are caught and the faulty leaf is named: sign error, missing factor, ignored argument, transposed matmul', (t) => {
  const cube = defineAdjoint((x) => x * x * x, (x) => [x * x * x, (dy) => [-dy * 3 * x * x]]); // sign
  const r1 = gradcheck(traced((a, b) => cube(a) + b * 2, { cube }), 1.3, 0.5);
  t.false(r1.ok);
  t.is(r1.worst.path, 'args[0]');
  t.deepEqual(r1.failures.map((f) => f.path), ['args[0]']);
  const half = defineAdjoint((x, y) => x * y * y, (x, y) => [x * y * y, (dy) => [dy * y * y, dy * x * y]]); // missing 2
  const r2 = gradcheck(traced((p) => half(p.x, p.y), { half }), { x: 1.5, y: -0.5 });
  t.deepEqual(r2.failures.map((f) => f.path), ['args[0].y']);
  const lazy = defineAdjoint((x, y) => Math.sin(x) * y, (x, y) => [Math.sin(x) * y, (dy) => [dy * Math.cos(x) * y, 0]]); // ignores y
  const r3 = gradcheck(traced((v) => lazy(v[0], v[1]), { lazy }), [0.4, 2]);
  t.deepEqual(r3.failures.map((f) => f.path), ['args[0][1]']);
  const mm = defineAdjoint((A, B) => matmul(A, B), (A, B) => [matmul(A, B), (dy) => [matmul(dy, B), matmul(A.T, dy)]]); // dA should be dy·Bᵀ
  const r4 = gradcheck(traced((A, B) => sum(Math.sin(mm(A, B))), { mm, sum }), tensor([[1, 2], [3, 4]]), tensor([[0.5, -1], [2, 0.25]]));
  t.false(r4.ok);
  t.true(r4.failures.every((f) => f.path.startsWith('args[0]')), r4.failures.map((f) => f.path).join(' '));
  t.true(r4.failures.length > 0);
});

test('no false alarms at kinks (abs at 0, max ties) or on integer paths (floor, round)', (t) => {
  const r = gradcheck((x) => Math.abs(x[0]) + Math.max(x[1], x[2]) + Math.floor(x[3]) * x[4] + Math.round(x[3] * 10), [0, 1, 1, 2.5, 3]);
  t.true(r.ok);
  t.deepEqual(r.notSmooth.map((l) => l.path).sort(), ['args[0][0]', 'args[0][1]', 'args[0][2]']);
  t.deepEqual(r.failures, []);
});

test('options: a trailing options object is recognised by its keys; a non-number output is refused', (t) => {
  const r = gradcheck((o) => o.rtol * 2, { rtol: 3 }, { rtol: 1e-9, forward: false, compiled: false });
  t.true(r.ok);
  t.is(r.leaves, 1, 'the first { rtol } is an argument, the second the options');
  t.is(r.forward, undefined);
  t.throws(() => gradcheck((x) => [x], 1), { instanceOf: TracegradError, message: /return a number/ });
});
