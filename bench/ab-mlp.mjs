// Interleaved A/B of the float32 MLP gradient (784-128-10, batch 64) between two builds of tracegrad: for changes too small for a single benchmark run to show on a noisy machine.
//
// Usage: node bench/ab-mlp.mjs <rootA> <rootB> [processes per build = 6]
//   Each root is a checkout (or a copy) with dist/ built and, for the native backend, native/build; set
//   TRACEGRAD_BACKEND as for bench/mlp.mjs (default js). The builds alternate process by process (A B, B A, ...); each
//   process warms up, then times 15 rounds of 100 gradients and reports its median round. Prints each build's median
//   of those, and B ÷ A.
import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { abProcesses } from './lib/harness.mjs';

if (process.argv[2] === '--child') {
  const tg = createRequire(import.meta.url)(resolve(process.argv[3], 'dist/index.js'));
  const { tensor, traced, gradient, matmul, sum, logsumexp, randn, reshape, astype } = tg;
  const IN = 784, HID = 128, OUT = 10, BATCH = 64;
  const f32 = (t) => astype(t, 'float32');
  const model = {
    W1: f32(randn([HID, IN], { seed: 1, scale: 0.05 })), b1: f32(randn([HID], { seed: 2, scale: 0.1 })),
    W2: f32(randn([OUT, HID], { seed: 3, scale: 0.1 })), b2: f32(randn([OUT], { seed: 4, scale: 0.1 })),
  };
  const X = f32(randn([IN, BATCH], { seed: 5 }));
  const Y = f32(tensor(Array.from({ length: OUT * BATCH }, (_v, k) => (((k % BATCH) * 7) % OUT === Math.floor(k / BATCH) ? 1 : 0)), { shape: [OUT, BATCH] }));
  const loss = traced((m) => {
    const h = Math.tanh(matmul(m.W1, X) + reshape(m.b1, [HID, 1]));
    const logits = matmul(m.W2, h) + reshape(m.b2, [OUT, 1]);
    return (sum(logsumexp(logits, 0)) - sum(logits * Y)) / BATCH;
  }, { matmul, reshape, sum, logsumexp, X, Y, HID, OUT, BATCH });
  for (let i = 0; i < 300; i++) gradient(loss, model);
  const rounds = [];
  for (let r = 0; r < 15; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) gradient(loss, model);
    rounds.push(Number(process.hrtime.bigint() - t) / 1e8);  // ms per gradient
  }
  console.log(rounds.sort((x, y) => x - y)[7]);
} else {
  const [a, b] = process.argv.slice(2, 4).map((r) => resolve(r ?? ''));
  if (!process.argv[3]) {
    console.error('usage: node bench/ab-mlp.mjs <rootA> <rootB> [processes per build]');
    process.exit(2);
  }
  abProcesses(fileURLToPath(import.meta.url), [a, b], [], Number(process.argv[4] ?? 6));
}
