// The talk's "deep learning in 5 lines" in JavaScript: dense layers and chain as models whose parameters are reachable, the gradient with respect to the model, and m -= η·m̄ (here: an SGD step). Run: node examples/mlp5.mjs
import { chain, dense, randn, tensor, traced, gradient, sum, sgd } from 'tracegrad';

/** The squared error of a model's output. */
export const loss = traced((m, x, y) => sum((m(x) - y) ** 2), { sum });

/** The model and data: a 10-5-2 tanh MLP, one input and its target (also `tracegrad check`'s example arguments). */
export function exampleArgs() {
  const mlp = chain(dense(randn([5, 10], { seed: 1, scale: 0.3 }), randn([5], { seed: 2 }), Math.tanh), dense(randn([2, 5], { seed: 3, scale: 0.3 }), randn([2], { seed: 4 })));
  return [mlp, randn([10], { seed: 5 }), tensor([1, -1])];
}

/** Fit the MLP to its target; returns the losses along the way. */
export function main({ steps = 60, log = console.log } = {}) {
  const [mlp, x, y] = exampleArgs();
  const opt = sgd({ lr: 0.05 });
  const losses = [];
  for (let step = 0; step < steps; step++) {
    const [mBar] = gradient(loss, mlp, x, y); // the gradient has the model's shape: { layers: [{ W, b }, { W, b }] }
    opt.step(mlp, mBar); // m -= η·m̄, in place
    losses.push(loss(mlp, x, y));
    if (step % 10 === 0) log(`step ${String(step).padStart(3)}  loss ${losses[losses.length - 1].toExponential(3)}`);
  }
  return losses;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
