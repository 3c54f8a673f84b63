// gradcheck: it passes correct gradients on every argument structure, catches deliberately wrong adjoints and names the leaf, and does not cry wolf at kinks or on integer paths.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { gradcheck, defineAdjoint, traced, tensor, sum, matmul, complex, chain, dense, randn, TracegradError } from '../../dist/index.js';

/** The line of this file holding a marker comment: where a fault must be reported. */
const source = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
const lineOf = (marker) => source.findIndex((l) => l.includes(marker) && !l.includes('lineOf(')) + 1;

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
  function cubed(x) {
    return x * x * x;
  }
  const cube = defineAdjoint(cubed, (x) => [x * x * x, (dy) => [-dy * 3 * x * x]]); // sign
  const r1 = gradcheck(traced((a, b) => Math.sin(b) + cube(a) + b * 2, { cube }), 1.3, 0.5); // call: cube
  t.false(r1.ok);
  t.is(r1.worst.path, 'args[0]');
  t.deepEqual(r1.failures.map((f) => f.path), ['args[0]']);
  // the fault: the custom rule, at the line that called it (Math.sin and + before it on the tape pass their checks)
  t.is(r1.fault.op, 'adjoint of cubed');
  t.regex(r1.fault.where, new RegExp(`gradcheck\\.test\\.mjs:${lineOf('// call: cube')}:`));
  t.true(Math.abs(r1.fault.analytic + r1.fault.numeric) < 1e-6, 'the sign error itself');
  function halfSquare(x, y) {
    return x * y * y;
  }
  const half = defineAdjoint(halfSquare, (x, y) => [x * y * y, (dy) => [dy * y * y, dy * x * y]]); // missing 2
  const r2 = gradcheck(traced((p) => half(p.x, p.y), { half }), { x: 1.5, y: -0.5 }); // call: half
  t.deepEqual(r2.failures.map((f) => f.path), ['args[0].y']);
  t.deepEqual([r2.fault.op, r2.fault.input], ['adjoint of halfSquare', '[1]']);
  t.regex(r2.fault.where, new RegExp(`:${lineOf('// call: half')}:`));
  const lazy = defineAdjoint((x, y) => Math.sin(x) * y, (x, y) => [Math.sin(x) * y, (dy) => [dy * Math.cos(x) * y, 0]]); // ignores y
  const r3 = gradcheck(traced((v) => lazy(v[0], v[1]), { lazy }), [0.4, 2]); // call: lazy
  t.deepEqual(r3.failures.map((f) => f.path), ['args[0][1]']);
  t.is(r3.fault.input, '[1]');
  t.regex(r3.fault.where, new RegExp(`:${lineOf('// call: lazy')}:`));
  const mm = defineAdjoint((A, B) => matmul(A, B), (A, B) => [matmul(A, B), (dy) => [matmul(dy, B), matmul(A.T, dy)]]); // dA should be dy·Bᵀ
  const r4 = gradcheck(traced((A, B) => sum(Math.sin(mm(A, B))), { mm, sum }), tensor([[1, 2], [3, 4]]), tensor([[0.5, -1], [2, 0.25]])); // call: mm
  t.false(r4.ok);
  t.true(r4.failures.every((f) => f.path.startsWith('args[0]')), r4.failures.map((f) => f.path).join(' '));
  t.true(r4.failures.length > 0);
  t.regex(r4.fault.input, /^\[0\]/, 'the first argument of the matmul rule');
  t.regex(r4.fault.where, new RegExp(`:${lineOf('// call: mm')}:`));
});

test('no false alarms at kinks (abs at 0, max ties) or on integer paths (floor, round)', (t) => {
  const r = gradcheck((x) => Math.abs(x[0]) + Math.max(x[1], x[2]) + Math.floor(x[3]) * x[4] + Math.round(x[3] * 10), [0, 1, 1, 2.5, 3]);
  t.true(r.ok);
  t.deepEqual(r.notSmooth.map((l) => l.path).sort(), ['args[0][0]', 'args[0][1]', 'args[0][2]']);
  t.deepEqual(r.failures, []);
  t.is(r.fault, undefined, 'no fault to look for');
});

test('options: a trailing options object is recognised by its keys; a non-number output is refused', (t) => {
  const r = gradcheck((o) => o.rtol * 2, { rtol: 3 }, { rtol: 1e-9, forward: false, compiled: false });
  t.true(r.ok);
  t.is(r.leaves, 1, 'the first { rtol } is an argument, the second the options');
  t.is(r.forward, undefined);
  t.throws(() => gradcheck((x) => 'x' + x, 1), { instanceOf: TracegradError, message: /return a number/ });
});

test('array and tensor outputs are checked through ⟨v, f(x)⟩ (the gradient is Jᵀv) and forward mode as ⟨v, J·u⟩ = ⟨Jᵀv, u⟩', (t) => {
  const r = gradcheck((x) => [Math.sin(x[0]) * x[1], x[0] * x[0], Math.exp(x[1])], [0.3, 0.7]);
  t.true(r.ok);
  t.true(r.forward.ok && Math.abs(r.forward.jvp - r.forward.reverse) < 1e-12);
  const r2 = gradcheck(traced((W, x) => Math.tanh(matmul(W, x)), { matmul }), tensor([[1, 2], [3, 4]]), tensor([0.5, -0.2]));
  t.true(r2.ok && r2.leaves === 6);
  function square(x) {
    return x * x;
  }
  const sq = defineAdjoint(square, (x) => [x * x, (dy) => [dy * x]]); // missing 2
  const r3 = gradcheck(traced((x) => [sq(x[0]), x[1]], { sq }), [1.5, 2]); // call: square
  t.deepEqual(r3.failures.map((f) => f.path), ['args[0][0]']);
  t.is(r3.fault.op, 'adjoint of square');
  t.regex(r3.fault.where, new RegExp(`:${lineOf('// call: square')}:`));
  t.throws(() => gradcheck((x) => ({ y: x }), 1), { instanceOf: TracegradError, message: /a number, an array of numbers or a tensor/ });
});

test('a model made with dense/chain is checked in place (it cannot be copied) and left as it was', (t) => {
  const model = chain(dense(randn([3, 4], { seed: 1 }), randn([3], { seed: 2 }), 'tanh'), dense(randn([1, 3], { seed: 3 }), randn([1], { seed: 4 })));
  const before = model.layers.map((l) => [...l.W.data, ...l.b.data]);
  const r = gradcheck(traced((m, x) => sum(m(x) ** 2), { sum }), model, randn([4], { seed: 5 }));
  t.true(r.ok && r.forward.ok);
  t.is(r.leaves, 12 + 3 + 3 + 1 + 4);
  t.deepEqual(model.layers.map((l) => [...l.W.data, ...l.b.data]), before);
});
