// Gradients through tensor operations against Richardson finite differences: every elementwise rule, broadcasting, matmul, reductions, shapes, dtypes, models kept in objects, forward mode and second order.
import test from 'ava';
import {
  tensor, sum, mean, max, min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype,
  gradient, jvp, hvp, traced, TracegradError, slice, concat, stack, gather, scatterAdd, where, greater, defineAdjoint,
} from '../../dist/index.js';
import { richardsonDerivative } from '../helpers/reference.mjs';

const scope = { sum, mean, max, min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype, tensor, slice, concat, stack, gather, scatterAdd, where, greater };
const T = (fn) => traced(fn, scope);

/** ∂f/∂ each element of argument k, by Richardson-extrapolated central differences (float64 copies). */
function fdGradient(f, args, k) {
  const x = args[k];
  return Array.from(x.data, (_v, i) =>
    richardsonDerivative((h) => {
      const d = Float64Array.from(x.data);
      d[i] += h;
      const moved = args.slice();
      moved[k] = tensor(d, { shape: [...x.shape] });
      return f(...moved);
    }, 0, { h: 1e-3 }));
}
function close(t, actual, expected, tol, message) {
  t.is(actual.length, expected.length, message);
  for (let i = 0; i < expected.length; i++)
    t.true(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), `${message}: [${i}] ${actual[i]} vs ${expected[i]}`);
}
/** The gradient of every tensor argument has its shape and dtype and matches finite differences. */
function checkGradient(t, f, args, tol = 1e-7, message = '') {
  const g = gradient(f, ...args);
  args.forEach((a, k) => {
    if (typeof a === 'number') return;
    t.deepEqual(g[k].shape, a.shape, `${message} shape of gradient ${k}`);
    t.is(g[k].dtype, a.dtype, `${message} dtype of gradient ${k}`);
    close(t, Array.from(g[k].data), fdGradient(f, args, k), tol, `${message} gradient ${k}`);
  });
}

const u = (shape, seed = 1) => {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Array.from({ length: n }, (_v, i) => 0.3 + 0.4 * Math.sin(seed * (i + 1.7))), { shape });
};

test('every unary Math rule on tensors matches finite differences (elementwise, from the scalar rule table)', (t) => {
  // arguments kept inside each function's domain (traced: they run on tracked tensors)
  const positive = traced((x) => 1 + x * x), half = traced((x) => x * 0.5);
  const inside = { acosh: traced((x) => 1.5 + x * x), log: positive, log2: positive, log10: positive, sqrt: positive, cbrt: positive, log1p: traced((x) => x * x), asin: half, acos: half, atanh: half };
  for (const name of ['exp', 'expm1', 'log', 'log1p', 'log2', 'log10', 'sqrt', 'cbrt', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'abs']) {
    const wrap = inside[name] ?? traced((x) => x);
    const f = traced((x) => sum(Math[name](wrap(x)) * x), { sum, wrap, name });
    checkGradient(t, f, [u([2, 3], 3)], 1e-7, name);
  }
});

test('binary operators with broadcasting: gradients are summed back to each operand shape', (t) => {
  const cases = [[[2, 3], [3]], [[2, 1], [1, 4]], [[3], [2, 3]], [[2, 3], [2, 3]], [[1], [4]]];
  for (const [sa, sb] of cases) {
    const a = u(sa, 1), b = u(sb, 2);
    const f = T((a, b) => sum(a * b + a / (1 + b * b) - (a ** 2) * b + Math.atan2(a, 2 + b) + (1 + a * a) ** (b + 1)));
    checkGradient(t, f, [a, b], 1e-7, `[${sa}] with [${sb}]`);
  }
});

test('tensors mix with tracked numbers: the number gets the sum over the broadcast', (t) => {
  const f = T((s, w) => sum(Math.sin(w * s) + s));
  const w = u([2, 2]);
  const [gs, gw] = gradient(f, 0.7, w);
  const fd = richardsonDerivative((s) => f(s, w), 0.7);
  t.true(Math.abs(gs - fd) < 1e-8, `${gs} vs ${fd}`);
  close(t, Array.from(gw.data), fdGradient((ww) => f(0.7, ww), [w], 0), 1e-8, 'w');
});

test('matmul gradients: matrices, vectors, batches with broadcast batch axes', (t) => {
  const cases = [[[3, 4], [4, 2]], [[3, 4], [4]], [[4], [4, 2]], [[2, 3, 4], [4, 2]], [[1, 3, 4], [2, 4, 5]]];
  for (const [sa, sb] of cases) {
    const f = T((a, b) => sum(Math.tanh(matmul(a, b))));
    checkGradient(t, f, [u(sa, 1), u(sb, 2)], 1e-7, `matmul [${sa}] [${sb}]`);
  }
});

test('reductions, logsumexp, softmax and shape functions match finite differences', (t) => {
  const x = u([3, 4], 5);
  const fs = {
    'sum axis 0': (x) => sum(Math.sin(sum(x, 0))),
    'sum axes': (x) => sum(Math.exp(sum(x, [0, 1]) * 0.1)),
    'mean axis 1': (x) => sum(mean(x, 1) ** 2),
    max: (x) => max(x) * 2 + sum(max(x, 0) ** 2),
    min: (x) => min(x, 1).sum() * 3,
    logsumexp: (x) => sum(logsumexp(x, 1) * tensor([1, 2, 3])),
    softmax: (x) => sum(softmax(x) * tensor([1, -1, 2, 0.5])),
    reshape: (x) => sum(reshape(x, [2, 6]) * tensor([[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]])),
    transpose: (x) => sum(Math.sin(transpose(x)) * tensor([[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]])),
    broadcastTo: (x) => sum(broadcastTo(x, [2, 3, 4]) * Math.cos(broadcastTo(x, [2, 3, 4]))),
    'T and methods': (x) => x.T.matmul(x).sum() + x.mean(0).sum(),
    slice: (x) => sum(Math.sin(slice(x, [1, 1], [3, 3]))) + sum(x.slice([0, 3]) ** 2),
    concat: (x) => sum(concat([x, Math.exp(x), slice(x, [1])], 0) * tensor([1, 2, 3, 4]) ** 2),
    stack: (x) => sum(stack([x, x * x], 2) * 0.5) + sum(stack([x, Math.sin(x)], 0) ** 2),
    gather: (x) => sum(gather(x, [2, 0, 2]) ** 2) + sum(gather(x, [3, 3], 1)),
    scatterAdd: (x) => sum(scatterAdd(x, [0, 2, 0], Math.sin(slice(x, [0], [3])) * 2) ** 2),
    where: (x) => sum(where(greater(x, 0.3), x * x, Math.exp(x))),
  };
  for (const [name, body] of Object.entries(fs)) checkGradient(t, T(body), [x], 1e-7, name);
});

test('max and min share the gradient between ties, as Math.max does for numbers', (t) => {
  const g = gradient(T((x) => max(x)), tensor([1, 3, 3, 2]))[0];
  t.deepEqual(g.toArray(), [0, 0.5, 0.5, 0]);
  const gm = gradient(T((x) => sum(Math.max(x, 2))), tensor([1, 2, 3]))[0];
  t.deepEqual(gm.toArray(), [0, 0.5, 1]);
});

test('float32 tensors keep float32 gradients (and values rounded to float32), close to the float64 ones', (t) => {
  const w = tensor([[0.1, 0.2], [0.3, 0.4]], { dtype: 'float32' });
  const f = T((w) => sum(Math.tanh(matmul(w, w)) * 1.5));
  const g = gradient(f, w)[0];
  t.is(g.dtype, 'float32');
  // the float64 gradient at the same (float32-representable) point: checked against finite differences above
  const g64 = gradient(f, astype(w, 'float64'))[0];
  close(t, Array.from(g.data), Array.from(g64.data), 1e-6, 'float32 vs float64');
  checkGradient(t, f, [astype(w, 'float64')], 1e-7, 'float64');
});

test('models are data: an object of tensors gets a gradient of the same shape; the arguments hold tensors again after', (t) => {
  const model = { l1: { W: u([4, 3], 1), b: u([4], 2) }, l2: { W: u([1, 4], 3), b: 0.1 } };
  const x = u([3], 4);
  const loss = T((m, x) => sum((matmul(m.l2.W, Math.tanh(matmul(m.l1.W, x) + m.l1.b)) + m.l2.b) ** 2));
  const [g] = gradient(loss, model, x);
  t.deepEqual(Object.keys(g), ['l1', 'l2']);
  t.deepEqual(g.l1.W.shape, [4, 3]);
  t.is(typeof g.l2.b, 'number');
  t.true(model.l1.W.constructor.name === 'Tensor' && typeof model.l2.b === 'number', 'no tracked value left in the model');
  const fdW = fdGradient((W) => loss({ ...model, l1: { ...model.l1, W } }, x), [model.l1.W], 0);
  close(t, Array.from(g.l1.W.data), fdW, 1e-7, 'l1.W');
});

test('forward mode through tensors agrees with reverse mode (⟨v, J·u⟩ = ⟨Jᵀ·v, u⟩ for a scalar output: J·u = ∇f·u)', (t) => {
  const f = T((W, x) => sum(softmax(matmul(W, x)) * tensor([1, 2, 3])) + logsumexp(W));
  const W = u([3, 2], 1), x = u([2], 2), dW = u([3, 2], 7), dx = u([2], 8);
  const [y, dy] = jvp(f, [W, x], [dW, dx]);
  const [gW, gx] = gradient(f, W, x);
  const dot = (a, b) => a.data.reduce((s, v, i) => s + v * b.data[i], 0);
  t.true(Math.abs(dy - (dot(gW, dW) + dot(gx, dx))) < 1e-13 * Math.max(1, Math.abs(dy)), `${dy}`);
  t.true(Math.abs(y - f(W, x)) < 1e-15);
  t.throws(() => jvp(f, [W, x], [tensor([1, 2]), null]), { instanceOf: TracegradError, message: /Tensor of its argument's shape \[3,2\]/ });
});

test('second order through tensors: hvp and the gradient of a gradient match finite differences of the gradient', (t) => {
  const f = T((x) => sum(Math.exp(x * 0.5) * x) + logsumexp(x) ** 2);
  const x = u([4], 3), v = u([4], 6);
  const hv = hvp(f, x, v);
  const fd = Array.from(x.data, (_e, i) => richardsonDerivative((h) => {
    const moved = tensor(Array.from(x.data, (e, k) => e + h * v.data[k]));
    return gradient(f, moved)[0].data[i];
  }, 0));
  close(t, Array.from(hv.data), fd, 1e-7, 'hvp');
  // d/dx of sum(∇f(x)²): gradient through a gradient (reverse over reverse)
  const g2 = gradient(traced((x) => sum(gradient(f, x)[0] ** 2), { sum, gradient, f }), x)[0];
  const squaredGradient = traced((y) => sum(gradient(f, y)[0] ** 2), { sum, gradient, f });
  const fd2 = fdGradient(squaredGradient, [x], 0);
  close(t, Array.from(g2.data), fd2, 1e-6, 'gradient of gradient');
});

test('a Tensor loss is refused with what to do instead', (t) => {
  const e = t.throws(() => gradient(T((x) => x * 2), tensor([1, 2])), { instanceOf: TracegradError });
  t.regex(e.message, /returned a Tensor of shape \[2\].*sum\(t\) or mean\(t\)/);
});

// Regression (found writing gradcheck's tests): a custom adjoint returning a Tensor had its output taken apart as a
// container of numbers (its fields), so back(dy) got a plain object and tensor cotangents were refused.
test('custom adjoints on tensors: a Tensor output is one leaf, its cotangents tensors; bad shapes and forward mode are explained', (t) => {
  const mm = defineAdjoint((A, B) => matmul(A, B), (A, B) => [matmul(A, B), (dy) => [matmul(dy, B.T), matmul(A.T, dy)]]);
  const g = T((A, B) => sum(Math.sin(matmul(A, B))));
  const A = u([2, 3], 1), B = u([3, 2], 2);
  const [gA, gB] = gradient(traced((A, B) => sum(Math.sin(mm(A, B))), { mm, sum }), A, B);
  const [rA, rB] = gradient(g, A, B);
  close(t, Array.from(gA.data), Array.from(rA.data), 1e-15, 'dA');
  close(t, Array.from(gB.data), Array.from(rB.data), 1e-15, 'dB');
  checkGradient(t, traced((A, B) => sum(Math.sin(mm(A, B))), { mm, sum }), [A, B], 1e-7, 'custom matmul');
  const wrongShape = defineAdjoint((A) => A * 2, (A) => [A, (dy) => [sum(dy)]]);
  t.throws(() => gradient(traced((A) => sum(wrongShape(A)), { wrongShape, sum }), A), { instanceOf: TracegradError, message: /expected a Tensor of shape \[2,3\]/ });
  t.throws(() => jvp(traced((A, B) => sum(mm(A, B)), { mm, sum }), [A, B], [A, null]), { instanceOf: TracegradError, message: /forward mode \(jvp\) through the custom adjoint/ });
});

test('gradients of different arguments are different objects, even where one cotangent reaches both (a sum, a custom adjoint returning one tensor twice)', (t) => {
  const a = tensor([[0.1, -0.4], [0.7, 1.2]]), b = tensor([[0.3, 0.2], [-0.5, 0.9]]);
  // d/da = d/db = 3 sech²(a + b): one cotangent for both operands of +
  const [ga, gb] = gradient(T((a, b) => sum(Math.tanh(a + b) * 3)), a, b);
  t.not(ga, gb);
  const want = a.toArray().map((row, i) => row.map((v, j) => 3 / Math.cosh(v + b.toArray()[i][j]) ** 2));
  for (const g of [ga, gb]) g.toArray().forEach((row, i) => row.forEach((v, j) => t.true(Math.abs(v - want[i][j]) < 1e-15)));
  ga.data[0] = 99;
  t.true(Math.abs(gb.data[0] - want[0][0]) < 1e-15, 'changing one gradient in place leaves the other as it was');
  // a custom adjoint handing the same tensor back for both arguments
  const both = defineAdjoint((x, _y) => x, (x, _y) => [x, (_dy) => { const s = tensor([[1, 2], [3, 4]]); return [s, s]; }]);
  const [gx, gy] = gradient(traced((x, y) => sum(both(x, y)), { sum, both }), a, b);
  t.not(gx, gy);
  t.deepEqual(gx.toArray(), [[1, 2], [3, 4]]);
  gx.data[0] = -1;
  t.deepEqual(gy.toArray(), [[1, 2], [3, 4]]);
  // one argument passed twice is two leaves, each with its own gradient
  const [g1, g2] = gradient(T((x, y) => sum(x * y)), a, a);
  t.not(g1, g2);
  t.deepEqual(g1.toArray(), a.toArray());
});
