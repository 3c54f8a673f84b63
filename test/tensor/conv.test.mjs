// conv1d, conv2d and prod: values against direct loops and closed forms, gradients against finite differences (zeros included for prod).
import test from 'ava';
import { tensor, traced, gradient, sum, conv1d, conv2d, prod, randn, TracegradError } from '../../dist/index.js';
import { richardsonDerivative } from '../helpers/reference.mjs';

/** The textbook cross-correlation, four nested loops per output: the independent reference. */
function directConv2d(x, w, stride, pad) {
  const [n, c, h, wd] = x.shape, [f, , kh, kw] = w.shape;
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1, ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  const at = (b, ci, i, j) => (i < 0 || j < 0 || i >= h || j >= wd ? 0 : x.data[((b * c + ci) * h + i) * wd + j]);
  const out = [];
  for (let b = 0; b < n; b++)
    for (let fo = 0; fo < f; fo++)
      for (let y = 0; y < oh; y++)
        for (let z = 0; z < ow; z++) {
          let s = 0;
          for (let ci = 0; ci < c; ci++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) s += w.data[((fo * c + ci) * kh + i) * kw + j] * at(b, ci, y * stride + i - pad, z * stride + j - pad);
          out.push(s);
        }
  return { shape: [n, f, oh, ow], data: out };
}
function fd(f, x) {
  return Array.from(x.data, (_v, i) => richardsonDerivative((h) => {
    const d = Float64Array.from(x.data);
    d[i] += h;
    return f(tensor(d, { shape: [...x.shape] }));
  }, 0, { h: 1e-3 }));
}
const near = (t, a, b, tol, m) => a.forEach((v, i) => t.true(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${m}[${i}] ${v} vs ${b[i]}`));

test('conv2d equals the direct loops for strides and paddings; conv1d likewise', (t) => {
  const x = randn([2, 3, 5, 6], { seed: 1 }), w = randn([4, 3, 3, 2], { seed: 2 });
  for (const [stride, padding] of [[1, 0], [2, 1], [1, 2]]) {
    const y = conv2d(x, w, { stride, padding }), ref = directConv2d(x, w, stride, padding);
    t.deepEqual(y.shape, ref.shape);
    near(t, Array.from(y.data), ref.data, 1e-13, `stride ${stride} padding ${padding}`);
  }
  const x1 = randn([2, 7], { seed: 3 }), w1 = randn([3, 2, 3], { seed: 4 });
  const y1 = conv1d(x1, w1, { padding: 1 });
  const ref1 = directConv2d(tensor(x1.data, { shape: [1, 2, 1, 7] }), tensor(w1.data, { shape: [3, 2, 1, 3] }), 1, 0);
  // conv1d pads along the length only: compare with the 2-D reference on a length-padded copy
  const padded = tensor(Array.from({ length: 2 * 9 }, (_v, k) => { const c = Math.floor(k / 9), i = k % 9; return i === 0 || i === 8 ? 0 : x1.data[c * 7 + i - 1]; }), { shape: [1, 2, 1, 9] });
  const refPadded = directConv2d(padded, tensor(w1.data, { shape: [3, 2, 1, 3] }), 1, 0);
  t.deepEqual(y1.shape, [3, 7]);
  near(t, Array.from(y1.data), refPadded.data, 1e-13, 'conv1d');
  t.is(ref1.shape[3], 5);
  t.throws(() => conv2d(x, randn([4, 2, 3, 3])), { instanceOf: TracegradError, message: /3 channels, the filters 2/ });
});

test('conv2d gradients with respect to input and filters match finite differences', (t) => {
  const x = randn([1, 2, 4, 4], { seed: 5 }), w = randn([3, 2, 2, 2], { seed: 6 });
  const f = traced((x, w) => sum(Math.tanh(conv2d(x, w, { stride: 1, padding: 1 })) ** 2), { sum, conv2d });
  const [gx, gw] = gradient(f, x, w);
  near(t, Array.from(gx.data), fd((xx) => f(xx, w), x), 1e-7, 'x');
  near(t, Array.from(gw.data), fd((ww) => f(x, ww), w), 1e-7, 'w');
  const g1 = traced((x, w) => sum(conv1d(x, w, { stride: 2 }) ** 2), { sum, conv1d });
  const x1 = randn([2, 3, 8], { seed: 7 }), w1 = randn([2, 3, 3], { seed: 8 });
  near(t, Array.from(gradient(g1, x1, w1)[1].data), fd((ww) => g1(x1, ww), w1), 1e-7, 'conv1d w');
});

test('prod: values, axes, and gradients (the product of the others, exact with zeros)', (t) => {
  const a = tensor([[1, 2, 3], [4, 0.5, -2]]);
  t.is(prod(a), -24);
  t.deepEqual(prod(a, 1).toArray(), [6, -4]);
  t.deepEqual(prod(a, 0).toArray(), [4, 1, -6]);
  const f = traced((x) => sum(prod(x, 0) * 1.5) + prod(x) * 0.1, { sum, prod });
  near(t, Array.from(gradient(f, a)[0].data), fd(f, a), 1e-8, 'no zeros');
  const z = tensor([[1, 0, 3], [0, 0.5, 2]]);
  // ∂/∂x of Πx with zeros: the product of the others (finite differences are exact here: prod is linear in each entry)
  near(t, Array.from(gradient(f, z)[0].data), fd(f, z), 1e-8, 'zeros');
  t.deepEqual(gradient(traced((x) => prod(x), { prod }), tensor([2, 0, 5]))[0].toArray(), [0, 10, 0]);
});
