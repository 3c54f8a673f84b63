// A single-head self-attention layer (Q, K, V and output projections, scaled dot-product softmax) made with withParams and trained to copy the token at a marked position. Run: node examples/attention.mjs
import { withParams, randn, tensor, oneHot, reshape, matmul, transpose, softmax, logsumexp, mean, sum, traced, withGradient, adam } from 'tracegrad';
import { mulberry32 } from './lib/random.mjs';

export { mulberry32 } from './lib/random.mjs';

/**
 * The task: a sequence of `length` random tokens from a vocabulary of `vocab`, one position marked at random; every
 * position must output the marked token. A layer that looks at each position alone sees the marked token at one
 * position only, so it cannot beat chance elsewhere: the answer has to be fetched from wherever the mark is.
 * Each position is encoded as [one-hot token (vocab), mark flag, 1]; the constant feature lets a query ask
 * "where is the mark?" whatever its own token is.
 * Returns `{ X: [batch, length, vocab + 2], Y: one-hot targets [batch, 1, vocab], targets, marked }`.
 */
export function markedTokenBatch(uniform, { batch = 32, length = 6, vocab = 4 } = {}) {
  const width = vocab + 2;
  const x = new Float64Array(batch * length * width);
  const targets = [], marked = [];
  for (let b = 0; b < batch; b++) {
    const m = Math.floor(uniform() * length);
    for (let i = 0; i < length; i++) {
      const token = Math.floor(uniform() * vocab), at = (b * length + i) * width;
      x[at + token] = 1;
      x[at + vocab] = i === m ? 1 : 0;
      x[at + vocab + 1] = 1;
      if (i === m) targets.push(token);
    }
    marked.push(m);
  }
  const Y = reshape(oneHot(targets, vocab), [batch, 1, vocab]); // broadcasts over the positions
  return { X: tensor(x, { shape: [batch, length, width] }), Y, targets, marked };
}

/**
 * Single-head self-attention on a batch of sequences X [batch, T, dIn]:
 *   Q = X·Wq, K = X·Wk, V = X·Wv,  A = softmax(Q·Kᵀ / √d) (row i: how much position i attends to each j),
 *   logits = (A·V)·Wo.
 * The parameters are the model's fields (model.Wq, ...), so gradient(loss, model, ...) returns { Wq, Wk, Wv, Wo } and
 * an optimizer updates them in place. Returns { logits [batch, T, dOut], attention A [batch, T, T] }.
 */
export function selfAttention({ dIn, dModel = 8, dOut, seed = 1 }) {
  const init = (rows, cols, k) => randn([rows, cols], { seed: seed * 100 + k, scale: 1 / Math.sqrt(rows) });
  return withParams(
    (p, X) => {
      const Q = matmul(X, p.Wq), K = matmul(X, p.Wk), V = matmul(X, p.Wv); // [batch, T, d]: the weights broadcast over the batch
      const d = p.Wq.shape[1];
      const A = softmax(matmul(Q, transpose(K, [0, 2, 1])) / Math.sqrt(d), -1); // [batch, T, T], rows sum to 1
      return { logits: matmul(matmul(A, V), p.Wo), attention: A };
    },
    { Wq: init(dIn, dModel, 1), Wk: init(dIn, dModel, 2), Wv: init(dIn, dModel, 3), Wo: init(dModel, dOut, 4) },
    { matmul, transpose, softmax },
  );
}

/** Cross-entropy of the logits at every position against the marked token: logsumexp(z) − z_target, averaged. */
export const crossEntropy = traced((model, X, Y) => {
  const { logits } = model(X); // [batch, T, vocab]
  return mean(logsumexp(logits, 2) - sum(logits * Y, 2));
}, { mean, logsumexp, sum });

/** Example arguments of crossEntropy, for `tracegrad check examples/attention.mjs crossEntropy --args exampleArgs`. */
export function exampleArgs() {
  const { X, Y } = markedTokenBatch(mulberry32(3), { batch: 2, length: 4, vocab: 3 });
  return [selfAttention({ dIn: 5, dModel: 3, dOut: 3 }), X, Y];
}

/**
 * `evaluate(model, task)`: `{ loss, accuracy, attentionOnMark }`: the cross-entropy, the fraction of positions whose
 * largest logit is the marked token, and the mean attention weight each position gives the marked one (1/T when
 * attention is uniform, 1 when it looks only there).
 */
export function evaluate(model, { X, Y, targets, marked }) {
  const { logits, attention } = model(X);
  const [batch, T, vocab] = logits.shape, z = logits.data, a = attention.data;
  let right = 0, onMark = 0;
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < T; i++) {
      const row = (b * T + i) * vocab;
      let best = 0;
      for (let c = 1; c < vocab; c++) if (z[row + c] > z[row + best]) best = c;
      if (best === targets[b]) right++;
      onMark += a[(b * T + i) * T + marked[b]];
    }
  return { loss: crossEntropy(model, X, Y), accuracy: right / (batch * T), attentionOnMark: onMark / (batch * T) };
}

/**
 * Train on fresh batches with Adam; returns `{ losses, before, after, model }`: the training loss at each step and
 * evaluate() on held-out sequences before and after.
 */
export function main({ steps = 200, batch = 32, length = 8, vocab = 6, dModel = 8, lr = 0.03, seed = 1, quiet = false, log = console.log } = {}) {
  const say = quiet ? () => {} : log;
  const shape = { length, vocab };
  const model = selfAttention({ dIn: vocab + 2, dModel, dOut: vocab, seed });
  const heldOut = markedTokenBatch(mulberry32(seed + 7919), { ...shape, batch: 256 });
  const uniform = mulberry32(seed);
  const opt = adam({ lr });
  const show = (r) => `loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(1)}%, attention on the mark ${r.attentionOnMark.toFixed(3)}`;

  say(`copy the marked token: sequences of ${length} tokens from ${vocab}; chance accuracy ${(100 / vocab).toFixed(1)}%, uniform attention ${(1 / length).toFixed(3)}`);
  const before = evaluate(model, heldOut);
  say(`before: ${show(before)}`);
  const losses = [];
  for (let step = 1; step <= steps; step++) {
    const { X, Y } = markedTokenBatch(uniform, { ...shape, batch });
    const { value, grad } = withGradient(crossEntropy, model, X, Y);
    opt.step(model, grad[0]); // grad[0] is { Wq, Wk, Wv, Wo }
    losses.push(value);
    if (step % 50 === 0) say(`  step ${String(step).padStart(4)}  training loss ${value.toFixed(4)}`);
  }
  const after = evaluate(model, heldOut);
  say(`after:  ${show(after)}`);
  return { losses, before, after, model };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
