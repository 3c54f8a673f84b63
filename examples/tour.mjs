// `npm start`: the talk's examples (demo.mjs), then a short tour of the applications at fast settings, with progress bars, ending with where the plots were written.
import { performance } from 'node:perf_hooks';

await import('./demo.mjs');

// each application: its title, its module and fast settings (the defaults are the full runs: `node examples/<name>.mjs`)
const TOUR = [
  ['An MLP classifier on interleaved spirals (Adam, minibatches)', './mlp-classifier.mjs', { epochs: 30 }],
  ['A tiny self-attention layer learning to copy a sequence', './attention.mjs', { steps: 60 }],
  ['CartPole by differentiable programming, against model-free REINFORCE', './cartpole.mjs', { quick: true }],
  ['Pharmacokinetics: a network fitted through an RK4 ODE solver', './pharmacokinetics.mjs', { quick: true }],
  ['A Neural Turing Machine-style memory on a copy task', './ntm.mjs', { quick: true }],
  ['Colour: CIEDE2000 gamut mapping by gradient descent on an RGB struct', './colour.mjs', { quick: true }],
];

const plots = [];
for (const [title, path, options] of TOUR) {
  console.log(`\n== ${title} (${path.slice(2)}, fast settings)\n`);
  const start = performance.now();
  const { main } = await import(path);
  const result = await main(options);
  // the plots each example wrote: `out` (one file) or `plots` (several)
  for (const p of [result?.out, ...Object.values(result?.plots ?? {})]) if (typeof p === 'string') plots.push(p);
  console.log(`(${((performance.now() - start) / 1000).toFixed(1)} s)`);
}

console.log('\nPlots written:');
for (const p of plots) console.log(`  ${p}`);
console.log('\nFull runs: node examples/<name>.mjs; the guide is in docs/, the benchmarks in bench/ (npm run bench).');
