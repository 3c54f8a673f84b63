// Models and optimizers: dense/chain/withParams as differentiable containers, SGD (with momentum) and Adam against hand-computed steps, and the talk's 5-line MLP example.
import test from 'ava';
import { tensor, traced, gradient, dense, chain, withParams, sum, randn, zeros, ones, sgd, adam, matmul, TracegradError } from '../../dist/index.js';
import { richardsonDerivative } from '../helpers/reference.mjs';
import { main as mlp5 } from '../../examples/mlp5.mjs';

test('dense and chain: the gradient with respect to the model has its shape and matches finite differences', (t) => {
  const model = chain(dense(randn([3, 4], { seed: 1 }), randn([3], { seed: 2 }), 'tanh'), dense(randn([1, 3], { seed: 3 }), zeros([1]), 'sigmoid'));
  const x = randn([4], { seed: 4 });
  const loss = traced((m, x) => sum(m(x) ** 2), { sum });
  const [g] = gradient(loss, model, x);
  t.deepEqual(g.layers.map((l) => [l.W.shape, l.b.shape]), [[[3, 4], [3]], [[1, 3], [1]]]);
  t.is(model.layers[0].W.constructor.name, 'Tensor', 'the model holds plain tensors again');
  const W = model.layers[0].W;
  const fd = richardsonDerivative((h) => {
    const saved = W.data[5];
    W.data[5] = saved + h;
    const v = loss(model, x);
    W.data[5] = saved;
    return v;
  }, 0, { h: 1e-3 });
  t.true(Math.abs(g.layers[0].W.data[5] - fd) < 1e-8, `${g.layers[0].W.data[5]} vs ${fd}`);
  // a batch of column vectors: the bias is added to each column
  t.deepEqual(model(randn([4, 7], { seed: 9 })).shape, [1, 7]);
});

test('withParams: a model of your own (plain JS traced with its scope), gradient and update of numbers and tensors', (t) => {
  const m = withParams((p, x) => sum(matmul(p.W, x)) * p.scale + p.offsets[1], { W: ones([2, 2]), scale: 2, offsets: [0, 1] }, { sum, matmul });
  const x = tensor([1, 3]);
  const [g] = gradient(traced((m, x) => m(x)), m, x);
  t.deepEqual(g.W.toArray(), [[2, 6], [2, 6]]);
  t.is(g.scale, 8); // sum(W·x) = 4 + 4
  t.deepEqual(g.offsets, [0, 1]);
  const W = m.W;
  sgd({ lr: 0.5 }).step(m, g);
  t.is(m.W, W, 'tensors are updated in place');
  t.deepEqual(m.W.toArray(), [[0, -2], [0, -2]]);
  t.is(m.scale, -2);
  t.deepEqual(m.offsets, [0, 0.5]);
});

test('sgd with momentum and adam take the textbook steps (hand-computed)', (t) => {
  // sgd, momentum 0.9, lr 0.1, two steps with g = 2 then 4: v = 2, p = 1 - 0.2; v = 0.9·2 + 4 = 5.8, p -= 0.58
  const p = { x: 1, t: tensor([1, 1]) };
  const opt = sgd({ lr: 0.1, momentum: 0.9 });
  opt.step(p, { x: 2, t: tensor([2, 0]) });
  opt.step(p, { x: 4, t: tensor([4, 0]) });
  t.true(Math.abs(p.x - (1 - 0.2 - 0.58)) < 1e-15);
  t.true(Math.abs(p.t.data[0] - (1 - 0.2 - 0.58)) < 1e-15 && p.t.data[1] === 1);
  // adam, first step: m̂ = g, v̂ = g², so the step is lr·g/(|g| + eps)
  const q = new Map([['w', 0.5]]);
  const a = adam({ lr: 0.01 });
  a.step(q, new Map([['w', -3]]));
  t.true(Math.abs(q.get('w') - (0.5 + 0.01 * 3 / (3 + 1e-8))) < 1e-15);
  // second step with g = 1: m = 0.9·(0.1·-3)... by the definitions
  a.step(q, new Map([['w', 1]]));
  const m1 = 0.1 * -3, v1 = 0.001 * 9, m2 = 0.9 * m1 + 0.1 * 1, v2 = 0.999 * v1 + 0.001 * 1;
  const expected = 0.5 + 0.01 * 3 / (3 + 1e-8) - (0.01 * (m2 / (1 - 0.9 ** 2))) / (Math.sqrt(v2 / (1 - 0.999 ** 2)) + 1e-8);
  t.true(Math.abs(q.get('w') - expected) < 1e-15, `${q.get('w')} vs ${expected}`);
});

test('optimizers explain a gradient that does not fit the model, and a bad learning rate', (t) => {
  t.throws(() => sgd({ lr: 0.1 }).step({ W: tensor([1, 2]) }, { W: tensor([1, 2, 3]) }), { instanceOf: TracegradError, message: /model\.W.*shape \[2\]/ });
  t.throws(() => sgd({ lr: 0.1 }).step({ a: 1 }, { a: tensor([1]) }), { instanceOf: TracegradError, message: /model\.a is not a number/ });
  t.throws(() => sgd({ lr: -1 }), { instanceOf: TracegradError, message: /positive learning rate/ });
});

test("the talk's 5-line MLP example trains: its loss falls by orders of magnitude", (t) => {
  const losses = mlp5({ steps: 40, log: () => {} });
  t.true(losses[losses.length - 1] < 1e-3 * losses[0], `${losses[0]} → ${losses[losses.length - 1]}`);
});

test('a Map and a class instance holding tensors get gradients of their own structure', (t) => {
  class Layer {
    constructor(W) {
      this.W = W;
      this.scale = 0.5;
    }
  }
  const params = new Map([['first', new Layer(tensor([[1, 2], [3, 4]]))], ['bias', tensor([0.1, -0.2])]]);
  const x = tensor([1, -1]);
  const f = traced((p, x) => sum(matmul(p.get('first').W, x) * p.get('first').scale + p.get('bias')), { sum, matmul });
  const [g] = gradient(f, params, x);
  t.true(g instanceof Map);
  t.deepEqual(g.get('first').W.toArray(), [[0.5, -0.5], [0.5, -0.5]]);
  t.is(g.get('first').scale, -2); // sum(W·x) = (1 − 2) + (3 − 4)
  t.deepEqual(g.get('bias').toArray(), [1, 1]);
  t.true(params.get('first') instanceof Layer && params.get('first').W.constructor.name === 'Tensor');
});
