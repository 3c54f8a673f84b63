// An MLP classifier on interleaved spirals: softmax cross-entropy, shuffled minibatches, Adam, a progress bar and an SVG loss curve. Run: node examples/mlp-classifier.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chain, dense, randn, zeros, tensor, gather, oneHot, traced, withGradient, logsumexp, mean, sum, adam } from 'tracegrad';
import { progressBar } from './lib/progress.mjs';
import { writeLinePlot } from './lib/svg.mjs';
import { mulberry32 } from './lib/random.mjs';

export { mulberry32 } from './lib/random.mjs';

/**
 * `spirals({ classes, perClass, noise, seed })`: `classes` spiral arms around the origin, `perClass` points each.
 * Point i of arm c sits at radius r = i / perClass and angle 4r + 2πc / classes (plus noise), so the arms wind into
 * one another and no straight line separates them. Returns `{ X, labels }`: X a [2, n] tensor of column points (as
 * dense layers take them) and labels an array of class indices.
 */
export function spirals({ classes = 3, perClass = 100, noise = 0.2, seed = 1 } = {}) {
  const uniform = mulberry32(seed);
  const n = classes * perClass;
  const xy = new Float64Array(2 * n);
  const labels = new Array(n);
  for (let c = 0; c < classes; c++)
    for (let i = 0; i < perClass; i++) {
      const k = c * perClass + i, r = i / perClass;
      const angle = 4 * r + (2 * Math.PI * c) / classes + noise * (2 * uniform() - 1);
      xy[k] = r * Math.sin(angle); // row 0: x coordinates
      xy[n + k] = r * Math.cos(angle); // row 1: y coordinates
      labels[k] = c;
    }
  return { X: tensor(xy, { shape: [2, n] }), labels };
}

/** An MLP with tanh hidden layers; sizes = [inputs, hidden..., classes]. Weights scaled 1/√fan-in (Xavier/LeCun). */
export function mlp(sizes, seed = 1) {
  const layers = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const W = randn([sizes[l + 1], sizes[l]], { seed: seed * 1000 + l, scale: 1 / Math.sqrt(sizes[l]) });
    layers.push(dense(W, zeros([sizes[l + 1]]), l + 2 < sizes.length ? 'tanh' : 'identity'));
  }
  return chain(...layers);
}

/**
 * Softmax cross-entropy, averaged over the batch: for logits z (a column per example) and one-hot targets Y,
 * −log softmax(z)_y = logsumexp(z) − z_y.
 */
export const crossEntropy = traced((model, X, Y) => {
  const logits = model(X); // [classes, batch]
  return mean(logsumexp(logits, 0) - sum(logits * Y, 0));
}, { mean, logsumexp, sum });

/** Example arguments of crossEntropy, for `tracegrad check examples/mlp-classifier.mjs crossEntropy --args exampleArgs`. */
export function exampleArgs() {
  const { X, labels } = spirals({ perClass: 8 });
  return [mlp([2, 6, 3]), X, oneHot(labels, 3).T];
}

/** The fraction of columns of X whose largest logit is the label's. */
export function accuracy(model, X, labels) {
  const logits = model(X);
  const [classes, n] = logits.shape, z = logits.data;
  let right = 0;
  for (let j = 0; j < n; j++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (z[c * n + j] > z[best * n + j]) best = c;
    if (best === labels[j]) right++;
  }
  return right / n;
}

/** Fisher–Yates with the seeded generator. */
function shuffled(n, uniform) {
  const order = Array.from({ length: n }, (_v, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    // not `[order[i], order[j]] = [order[j], order[i]]`: under the loader (node --import tracegrad/register) the
    // rewriter turns element targets inside a destructuring pattern into reads, a SyntaxError that stops the module loading
    const swap = order[i];
    order[i] = order[j];
    order[j] = swap;
  }
  return order;
}

/**
 * Train the classifier. Returns `{ losses, accuracy, model, out }`: each epoch's loss (the mean over its minibatches,
 * each taken before its update), the final accuracy on the training set, the trained model, and where the loss curve
 * was written (null with `out: null`).
 */
export function main({
  sizes = [2, 32, 32, 3],
  perClass = 100,
  epochs = 100,
  batchSize = 32,
  lr = 0.01,
  seed = 1,
  out = join(tmpdir(), 'tracegrad-mlp-classifier-loss.svg'),
  quiet = false,
  log = console.log,
  stream = process.stderr,
} = {}) {
  const say = quiet ? () => {} : log;
  const classes = sizes[sizes.length - 1];
  if (sizes[0] !== 2) throw new Error(`mlp-classifier: the points are 2-D, so sizes must start with 2 (got [${sizes}]).`);
  const { X, labels } = spirals({ classes, perClass, seed });
  const n = labels.length;
  // one-hot targets as columns, like the logits: [classes, n]
  const Y = oneHot(labels, classes).T;
  const model = mlp(sizes, seed);
  const opt = adam({ lr });
  const uniform = mulberry32(seed + 1);
  const batches = Math.ceil(n / batchSize);
  const bar = quiet ? null : progressBar(epochs * batches, { label: 'training ', stream });

  say(`${classes} spirals, ${n} points; MLP [${sizes}], Adam lr ${lr}, ${epochs} epochs of ${batches} minibatches`);
  const losses = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    const order = shuffled(n, uniform);
    let total = 0;
    for (let b = 0; b < batches; b++) {
      const idx = order.slice(b * batchSize, (b + 1) * batchSize);
      const Xb = gather(X, idx, 1), Yb = gather(Y, idx, 1);
      // the loss and its gradient in one pass; grad[0] has the model's structure: { layers: [{ W, b }, ...] }
      const { value, grad } = withGradient(crossEntropy, model, Xb, Yb);
      opt.step(model, grad[0]);
      total += value * idx.length;
      bar?.update(epoch * batches + b + 1, `epoch ${epoch + 1}/${epochs} loss ${losses.length ? losses[losses.length - 1].toFixed(4) : '-'}`);
    }
    losses.push(total / n);
  }
  const acc = accuracy(model, X, labels);
  bar?.finish(`epoch ${epochs}/${epochs} loss ${losses[losses.length - 1].toFixed(4)}`);
  say(`loss ${losses[0].toFixed(4)} (epoch 1) → ${losses[losses.length - 1].toFixed(4)} (epoch ${epochs}); training accuracy ${(100 * acc).toFixed(1)}%`);
  if (out !== null) {
    writeLinePlot(out, losses, { title: `MLP [${sizes}] on ${classes} spirals`, xLabel: 'epoch', yLabel: 'mean cross-entropy', logY: true });
    say(`loss curve written to ${out}`);
  }
  return { losses, accuracy: acc, model, out };
}

if (import.meta.url === `file://${process.argv[1]}`) main();
