// The self-attention example: its task data, its forward pass against plain JS loops, its loss falling in training, and gradients of attention weights against Richardson finite differences.
import test from 'ava';
import { gradient } from '../../dist/index.js';
import { richardsonDerivative } from '../helpers/reference.mjs';
import { main, selfAttention, markedTokenBatch, crossEntropy, mulberry32 } from '../../examples/attention.mjs';

const shape = { batch: 3, length: 5, vocab: 4 };
const fixedPoint = () => ({ model: selfAttention({ dIn: shape.vocab + 2, dModel: 3, dOut: shape.vocab, seed: 11 }), task: markedTokenBatch(mulberry32(5), shape) });

/** A plain [rows, cols] array view of a matrix tensor. */
const rowsOf = (W) => Array.from({ length: W.shape[0] }, (_r, i) => Array.from(W.data.subarray(i * W.shape[1], (i + 1) * W.shape[1])));
const times = (A, B) => A.map((row) => B[0].map((_v, j) => row.reduce((s, a, k) => s + a * B[k][j], 0)));

/** Cross-entropy of the attention layer by plain loops: softmax(QKᵀ/√d) V Wo at each position, against the marked token. */
function plainLoss(model, { X, targets }) {
  const [batch, T, dIn] = X.shape;
  const [Wq, Wk, Wv, Wo] = [model.Wq, model.Wk, model.Wv, model.Wo].map(rowsOf);
  const d = Wq[0].length;
  let total = 0;
  for (let b = 0; b < batch; b++) {
    const x = Array.from({ length: T }, (_r, i) => Array.from(X.data.subarray((b * T + i) * dIn, (b * T + i + 1) * dIn)));
    const [Q, K, V] = [Wq, Wk, Wv].map((W) => times(x, W));
    for (let i = 0; i < T; i++) {
      const s = K.map((k) => Q[i].reduce((acc, q, c) => acc + q * k[c], 0) / Math.sqrt(d));
      const m = Math.max(...s), e = s.map((v) => Math.exp(v - m)), z = e.reduce((p, v) => p + v, 0);
      const h = V[0].map((_v, c) => V.reduce((acc, row, j) => acc + (e[j] / z) * row[c], 0));
      const logits = times([h], Wo)[0];
      const top = Math.max(...logits);
      total += top + Math.log(logits.reduce((p, v) => p + Math.exp(v - top), 0)) - logits[targets[b]];
    }
  }
  return total / (batch * T);
}

test('the task: each target is the token at the marked position, and only that position is marked', (t) => {
  const { X, Y, targets, marked } = markedTokenBatch(mulberry32(3), { batch: 20, length: 7, vocab: 5 });
  t.deepEqual(X.shape, [20, 7, 7]);
  t.deepEqual(Y.shape, [20, 1, 5]);
  for (let b = 0; b < 20; b++) {
    const at = (i) => Array.from(X.data.subarray((b * 7 + i) * 7, (b * 7 + i + 1) * 7));
    const flags = Array.from({ length: 7 }, (_v, i) => at(i)[5]);
    t.deepEqual(flags, flags.map((_f, i) => (i === marked[b] ? 1 : 0)));
    t.is(at(marked[b]).slice(0, 5).indexOf(1), targets[b]);
    t.is(Y.data[b * 5 + targets[b]], 1);
  }
});

test('the layer computes softmax(QKᵀ/√d)·V·Wo: its loss matches plain JS loops', (t) => {
  const { model, task } = fixedPoint();
  const got = crossEntropy(model, task.X, task.Y), want = plainLoss(model, task);
  t.true(Math.abs(got - want) < 1e-12 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
  const { attention } = model(task.X);
  t.deepEqual(attention.shape, [shape.batch, shape.length, shape.length]);
  for (let r = 0; r < shape.batch * shape.length; r++) {
    const row = attention.data.subarray(r * shape.length, (r + 1) * shape.length);
    t.true(Math.abs(row.reduce((p, v) => p + v, 0) - 1) < 1e-12);
  }
});

test('gradients of the loss with respect to attention weights match Richardson finite differences', (t) => {
  const { model, task } = fixedPoint();
  const [g] = gradient(crossEntropy, model, task.X, task.Y);
  t.deepEqual(Object.keys(g).sort(), ['Wk', 'Wo', 'Wq', 'Wv'], 'the gradient has the model\'s parameters');
  // Wk's row for the mark flag (feature vocab) is what training uses to find the mark; one entry of each other matrix too
  const probes = [['Wk', shape.vocab * 3 + 1], ['Wq', (shape.vocab + 1) * 3 + 2], ['Wv', 4], ['Wo', 7]];
  for (const [name, i] of probes) {
    const W = model[name], saved = W.data[i];
    const fd = richardsonDerivative((v) => {
      W.data[i] = v;
      const loss = crossEntropy(model, task.X, task.Y);
      W.data[i] = saved;
      return loss;
    }, saved);
    const ad = g[name].data[i];
    t.true(Math.abs(ad - fd) <= 1e-9 + 1e-7 * Math.abs(fd), `${name}[${i}]: ${ad} vs finite difference ${fd}`);
    t.not(ad, 0, `${name}[${i}] is a weight the loss depends on`);
  }
});

test('training: the held-out loss falls below 2% of its start and the layer learns to attend to the mark', (t) => {
  const { before, after, losses } = main({ steps: 120, length: 6, vocab: 4, seed: 1, quiet: true });
  t.is(losses.length, 120);
  t.true(after.loss < 0.02 * before.loss, `held-out loss ${before.loss} → ${after.loss}`);
  t.true(before.accuracy < 0.5 && after.accuracy >= 0.95, `accuracy ${before.accuracy} → ${after.accuracy}`);
  // uniform attention puts 1/6 on the mark; attending to copies of the marked token elsewhere is as good, so ask for 1/2
  t.true(after.attentionOnMark > 0.5, `attention on the mark ${before.attentionOnMark} → ${after.attentionOnMark}`);
});
