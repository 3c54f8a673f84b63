// The Tensor type and its functions' values: construction, shapes, broadcasting, reductions, matmul and backends, against hand-computed results.
import test from 'ava';
import {
  tensor, Tensor, isTensor, sum, mean, max, min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype,
  setBackend, getBackend, traced, TracegradError, argmax, argmin, slice, concat, stack, gather, scatterAdd, where, less, greater, equal, oneHot,
} from '../../dist/index.js';

test('tensor() reads nested arrays, typed arrays and numbers; shape, dtype, size, toArray', (t) => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  t.deepEqual(a.shape, [2, 3]);
  t.is(a.dtype, 'float64');
  t.is(a.size, 6);
  t.deepEqual(a.toArray(), [[1, 2, 3], [4, 5, 6]]);
  const b = tensor(new Float32Array([1.5, 2]), { shape: [2, 1] });
  t.is(b.dtype, 'float32');
  t.deepEqual(b.toArray(), [[1.5], [2]]);
  t.deepEqual(tensor([0.1, 0.2], { dtype: 'float32' }).toArray(), [Math.fround(0.1), Math.fround(0.2)]);
  t.is(tensor(3).toArray(), 3);
  t.deepEqual(tensor([1, 2, 3, 4], { shape: [2, 2] }).toArray(), [[1, 2], [3, 4]]);
  t.true(isTensor(a) && a instanceof Tensor && !isTensor([1]));
});

test('bad tensor input gets a clear error', (t) => {
  t.throws(() => tensor([[1, 2], [3]]), { instanceOf: TracegradError, message: /ragged/ });
  t.throws(() => tensor([1, 'a']), { instanceOf: TracegradError, message: /numbers/ });
  t.throws(() => tensor([1, 2], { dtype: 'int8' }), { instanceOf: TracegradError, message: /float64' or 'float32/ });
  t.throws(() => tensor([1, 2, 3], { shape: [2, 2] }), { instanceOf: TracegradError, message: /needs 4 elements/ });
  t.throws(() => tensor([1, 2]).reshape([3]), { instanceOf: TracegradError, message: /cannot reshape/ });
});

test('operators inside traced code work elementwise and broadcast as NumPy does, mixing tensors and numbers', (t) => {
  const a = tensor([[1], [2]]), b = tensor([10, 20, 30]);
  const f = traced((a, b) => a * b + 1 - b / 10);
  t.deepEqual(f(a, b).toArray(), [[10, 19, 28], [20, 39, 58]]);
  const g = traced((a) => -(a ** 2) % 3 + Math.sqrt(a) * 0);
  t.deepEqual(g(tensor([1, 2, 3])).toArray(), [-1, -1, 0]); // -9 % 3 is -0, and -0 + 0 is 0
  const h = traced((a) => Math.max(a, 1.5) + Math.min(a, 0));
  t.deepEqual(h(tensor([1, 2, -1])).toArray(), [1.5, 2, 0.5]);
  t.deepEqual(broadcastTo(a, [2, 3]).toArray(), [[1, 1, 1], [2, 2, 2]]);
  t.deepEqual(broadcastTo(b, [2, 3]).toArray(), [[10, 20, 30], [10, 20, 30]]);
  t.throws(() => broadcastTo(tensor([1, 2]), [3]), { instanceOf: TracegradError, message: /do not broadcast/ });
  t.throws(() => f(tensor([1, 2]), tensor([1, 2, 3])), { instanceOf: TracegradError, message: /do not broadcast/ });
  t.throws(() => traced((a) => a * 'x')(tensor([1])), { instanceOf: TracegradError, message: /tensors combine with tensors and numbers/ });
});

test('sum, mean, max and min over all elements and over axes', (t) => {
  const a = tensor([[1, 5, 3], [4, 2, 6]]);
  t.is(sum(a), 21);
  t.deepEqual(sum(a, 0).toArray(), [5, 7, 9]);
  t.deepEqual(sum(a, 1).toArray(), [9, 12]);
  t.deepEqual(sum(a, [0, 1]).toArray(), 21);
  t.deepEqual(sum(a, -1).toArray(), [9, 12]);
  t.is(mean(a), 3.5);
  t.deepEqual(mean(a, 0).toArray(), [2.5, 3.5, 4.5]);
  t.is(max(a), 6);
  t.deepEqual(max(a, 1).toArray(), [5, 6]);
  t.is(min(a), 1);
  t.deepEqual(min(a, 0).toArray(), [1, 2, 3]);
  t.throws(() => sum(a, 2), { instanceOf: TracegradError, message: /axis 2 is out of range/ });
});

test('matmul: matrices, batches with broadcasting, and vectors as in NumPy', (t) => {
  const A = tensor([[1, 2], [3, 4], [5, 6]]), B = tensor([[1, 0, 2], [0, 1, 3]]);
  t.deepEqual(matmul(A, B).toArray(), [[1, 2, 8], [3, 4, 18], [5, 6, 28]]);
  t.deepEqual(matmul(A, tensor([1, -1])).toArray(), [-1, -1, -1]);
  t.deepEqual(matmul(tensor([1, 1, 1]), A).toArray(), [9, 12]);
  t.is(matmul(tensor([1, 2]), tensor([3, 4])), 11);
  const batch = tensor([[[1, 0], [0, 1]], [[2, 0], [0, 2]]]); // [2, 2, 2]
  t.deepEqual(matmul(batch, tensor([[1, 2], [3, 4]])).toArray(), [[[1, 2], [3, 4]], [[2, 4], [6, 8]]]);
  t.deepEqual(A.matmul(B).shape, [3, 3]);
  t.throws(() => matmul(A, A), { instanceOf: TracegradError, message: /inner dimensions 2 and 3 differ/ });
});

test('reshape (a view), transpose and T, astype', (t) => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  const r = reshape(a, [3, -1]);
  t.deepEqual(r.toArray(), [[1, 2], [3, 4], [5, 6]]);
  t.is(r.data, a.data, 'reshape shares the data');
  t.deepEqual(transpose(a).toArray(), [[1, 4], [2, 5], [3, 6]]);
  t.deepEqual(a.T.toArray(), [[1, 4], [2, 5], [3, 6]]);
  const c = tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
  t.deepEqual(transpose(c, [2, 0, 1]).toArray(), [[[1, 3], [5, 7]], [[2, 4], [6, 8]]]);
  t.is(astype(a, 'float32').dtype, 'float32');
  t.throws(() => transpose(a, [0, 0]), { instanceOf: TracegradError, message: /not a permutation/ });
});

test('logsumexp and softmax: closed forms, no overflow for large entries', (t) => {
  const x = [0.5, -1, 2];
  const lse = Math.log(x.reduce((s, v) => s + Math.exp(v), 0));
  t.true(Math.abs(logsumexp(tensor(x)) - lse) < 1e-15);
  t.true(Math.abs(logsumexp(tensor([1000, 1000])) - (1000 + Math.log(2))) < 1e-12);
  const s = softmax(tensor([[1, 2, 3], [0, 0, 0]]));
  const e = [1, 2, 3].map(Math.exp), z = e[0] + e[1] + e[2];
  s.toArray()[0].forEach((v, i) => t.true(Math.abs(v - e[i] / z) < 1e-15));
  t.deepEqual(s.toArray()[1].map((v) => Math.round(v * 1e12) / 1e12), [1 / 3, 1 / 3, 1 / 3].map((v) => Math.round(v * 1e12) / 1e12));
  t.deepEqual(logsumexp(tensor([[1, 2], [3, 4]]), 0).shape, [2]);
});

test('backends: js is the default and always available; webgpu needs useWebGPU first; native where it is built', (t) => {
  const start = getBackend();
  if (!process.env.TRACEGRAD_BACKEND) t.is(start, 'js', 'js unless TRACEGRAD_BACKEND chooses another');
  setBackend('js');
  t.is(getBackend(), 'js');
  const e = t.throws(() => setBackend('webgpu'), { instanceOf: TracegradError });
  t.regex(e.message, /not available/);
  t.is(getBackend(), 'js', 'the current backend stays');
  // the addon exists where `npm install` could build it: then it is chosen, else the reason is given
  let reason = null;
  try {
    setBackend('native');
  } catch (err) {
    reason = err.message;
  }
  if (reason === null) {
    t.is(getBackend(), 'native');
    t.deepEqual(matmul(tensor([[1, 2]]), tensor([[3], [4]])).toArray(), [[11]]);
    setBackend('js');
  } else t.regex(reason, /setBackend\('native'\): not available: .+/);
  t.throws(() => setBackend('cuda'), { instanceOf: TracegradError, message: /unknown backend/ });
  setBackend(start);
});

test('slice, concat, stack, gather, scatterAdd, where, comparisons and oneHot', (t) => {
  const a = tensor([[1, 2, 3], [4, 5, 6]]);
  t.deepEqual(slice(a, [0, 1]).toArray(), [[2, 3], [5, 6]]);
  t.deepEqual(slice(a, [1, 0], [2, -1]).toArray(), [[4, 5]]);
  t.deepEqual(a.slice([0, 2]).toArray(), [[3], [6]]);
  t.deepEqual(concat([a, tensor([[7, 8, 9]])]).toArray(), [[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  t.deepEqual(concat([a, tensor([[0], [0]])], 1).toArray(), [[1, 2, 3, 0], [4, 5, 6, 0]]);
  t.deepEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
  t.deepEqual(gather(a, [1, 1, 0]).toArray(), [[4, 5, 6], [4, 5, 6], [1, 2, 3]]);
  t.deepEqual(gather(a, [2], 1).toArray(), [[3], [6]]);
  t.deepEqual(scatterAdd(tensor([[0, 0], [0, 0]]), [1, 1], tensor([[1, 2], [3, 4]])).toArray(), [[0, 0], [4, 6]]);
  t.deepEqual(where(greater(a, 2), a, 0).toArray(), [[0, 0, 3], [4, 5, 6]]);
  t.deepEqual(less(a, tensor([2, 2, 2])).toArray(), [[1, 0, 0], [0, 0, 0]]);
  t.deepEqual(equal(a, 5).toArray(), [[0, 0, 0], [0, 1, 0]]);
  t.deepEqual(oneHot([2, 0], 3).toArray(), [[0, 0, 1], [1, 0, 0]]);
  t.throws(() => gather(a, [2]), { instanceOf: TracegradError, message: /index 2 is not an integer in \[0, 2\)/ });
  t.throws(() => concat([a, tensor([1, 2])]), { instanceOf: TracegradError, message: /differ on another axis/ });
});

test('argmax and argmin: over all elements and along axes, first on ties, NaN wins', (t) => {
  const a = tensor([[1, 7, 7], [9, 0, -2]]);
  t.is(argmax(a), 3);
  t.is(argmin(a), 5);
  t.deepEqual(argmax(a, 1).toArray(), [1, 0]);
  t.deepEqual(argmin(a, 0).toArray(), [0, 1, 1]);
  t.is(argmax(tensor([1, NaN, 3])), 1);
});
