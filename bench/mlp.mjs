// Benchmark of one MLP gradient (784-128-10 tanh, batch 64, softmax cross-entropy): tracegrad's tensors against a hand-written Float64Array backprop, checked against each other first.
//
// Usage: node bench/mlp.mjs [--json]   (after `npm run build`); TRACEGRAD_BACKEND=native|webgpu to time another backend.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';

const url = new URL('../esm/index.mjs', import.meta.url);
if (!existsSync(fileURLToPath(url))) {
  console.log('esm/index.mjs is not built: run `npm run build` first');
  process.exit(0);
}
const tg = await import(url.href);
const { tensor, traced, gradient, matmul, sum, logsumexp, randn, reshape } = tg;
const note = (...a) => console.error(...a);

const IN = 784, HID = 128, OUT = 10, BATCH = 64;
const W1 = randn([HID, IN], { seed: 1, scale: 0.05 }), b1 = randn([HID], { seed: 2, scale: 0.1 });
const W2 = randn([OUT, HID], { seed: 3, scale: 0.1 }), b2 = randn([OUT], { seed: 4, scale: 0.1 });
const X = randn([IN, BATCH], { seed: 5 }); // one column per example
const labels = Array.from({ length: BATCH }, (_v, i) => (i * 7) % OUT);
const Y = tensor(Array.from({ length: OUT * BATCH }, (_v, k) => (labels[k % BATCH] === Math.floor(k / BATCH) ? 1 : 0)), { shape: [OUT, BATCH] });

// ---- tracegrad: the model as data, the data closed over (as ADBench measures) ----
const model = { W1, b1, W2, b2 };
const loss = traced((m) => {
  const h = Math.tanh(matmul(m.W1, X) + reshape(m.b1, [HID, 1]));
  const logits = matmul(m.W2, h) + reshape(m.b2, [OUT, 1]);
  return (sum(logsumexp(logits, 0)) - sum(logits * Y)) / BATCH;
}, { matmul, reshape, sum, logsumexp, X, Y, HID, OUT, BATCH });

// ---- hand-written: forward, then backprop by hand, in Float64Arrays ----
function handGradient(W1d, b1d, W2d, b2d, Xd) {
  const H = new Float64Array(HID * BATCH), Z = new Float64Array(OUT * BATCH);
  for (let i = 0; i < HID; i++) {
    const row = i * BATCH;
    for (let j = 0; j < BATCH; j++) H[row + j] = b1d[i];
    for (let k = 0; k < IN; k++) {
      const w = W1d[i * IN + k], xr = k * BATCH;
      for (let j = 0; j < BATCH; j++) H[row + j] += w * Xd[xr + j];
    }
    for (let j = 0; j < BATCH; j++) H[row + j] = Math.tanh(H[row + j]);
  }
  for (let i = 0; i < OUT; i++) {
    const row = i * BATCH;
    for (let j = 0; j < BATCH; j++) Z[row + j] = b2d[i];
    for (let k = 0; k < HID; k++) {
      const w = W2d[i * HID + k], hr = k * BATCH;
      for (let j = 0; j < BATCH; j++) Z[row + j] += w * H[hr + j];
    }
  }
  // softmax cross-entropy: dL/dZ = (softmax(Z) − Y)/BATCH, column by column
  let L = 0;
  const dZ = new Float64Array(OUT * BATCH);
  for (let j = 0; j < BATCH; j++) {
    let m = -Infinity;
    for (let i = 0; i < OUT; i++) m = Math.max(m, Z[i * BATCH + j]);
    let s = 0;
    for (let i = 0; i < OUT; i++) s += Math.exp(Z[i * BATCH + j] - m);
    const lse = m + Math.log(s);
    L += lse - Z[labels[j] * BATCH + j];
    for (let i = 0; i < OUT; i++) dZ[i * BATCH + j] = (Math.exp(Z[i * BATCH + j] - lse) - (labels[j] === i ? 1 : 0)) / BATCH;
  }
  const gW2 = new Float64Array(OUT * HID), gb2 = new Float64Array(OUT), dH = new Float64Array(HID * BATCH);
  for (let i = 0; i < OUT; i++)
    for (let j = 0; j < BATCH; j++) {
      const d = dZ[i * BATCH + j];
      gb2[i] += d;
      for (let k = 0; k < HID; k++) (gW2[i * HID + k] += d * H[k * BATCH + j]), (dH[k * BATCH + j] += W2d[i * HID + k] * d);
    }
  const gW1 = new Float64Array(HID * IN), gb1 = new Float64Array(HID);
  for (let k = 0; k < HID; k++) {
    for (let j = 0; j < BATCH; j++) {
      const h = H[k * BATCH + j];
      dH[k * BATCH + j] *= 1 - h * h;
      gb1[k] += dH[k * BATCH + j];
    }
    for (let i = 0; i < IN; i++) {
      let s = 0;
      const xr = i * BATCH;
      for (let j = 0; j < BATCH; j++) s += dH[k * BATCH + j] * X.data[xr + j];
      gW1[k * IN + i] = s;
    }
  }
  return { L: L / BATCH, gW1, gb1, gW2, gb2 };
}

// ---- checks: both gradients agree (the hand-written one checked against finite differences on a few entries) ----
const hand = handGradient(W1.data, b1.data, W2.data, b2.data, X.data);
const [g] = gradient(loss, model);
const worst = (a, b) => a.reduce((w, v, i) => Math.max(w, Math.abs(v - b[i]) / (1e-8 + Math.abs(b[i]))), 0);
const errs = { W1: worst(g.W1.data, hand.gW1), b1: worst(g.b1.data, hand.gb1), W2: worst(g.W2.data, hand.gW2), b2: worst(g.b2.data, hand.gb2) };
if (Object.values(errs).some((e) => !(e < 1e-6)) || Math.abs(loss(model) - hand.L) > 1e-12) {
  console.error('mlp.mjs: check FAILED: tracegrad and the hand-written gradient differ', errs, loss(model), hand.L);
  process.exit(1);
}
for (const k of [0, 12345, 99999]) {
  const h = 1e-5, saved = W1.data[k];
  W1.data[k] = saved + h;
  const up = handGradient(W1.data, b1.data, W2.data, b2.data, X.data).L;
  W1.data[k] = saved - h;
  const down = handGradient(W1.data, b1.data, W2.data, b2.data, X.data).L;
  W1.data[k] = saved;
  const fd = (up - down) / (2 * h);
  if (!(Math.abs(fd - hand.gW1[k]) <= 1e-6 * Math.max(1e-3, Math.abs(fd)))) {
    console.error(`mlp.mjs: check FAILED: hand-written ∂L/∂W1[${k}] ${hand.gW1[k]}, finite differences ${fd}`);
    process.exit(1);
  }
}
note(`checks passed: gradients agree (worst relative difference ${Math.max(...Object.values(errs)).toExponential(1)}); backend ${tg.getBackend()}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
// the same model and data in float32 (what the peers the issue names measure: tfjs-wasm, jax-js jit)
const f32 = (t) => tg.astype(t, 'float32');
const model32 = { W1: f32(W1), b1: f32(b1), W2: f32(W2), b2: f32(b2) };
const X32 = f32(X), Y32 = f32(Y);
const loss32 = traced((m) => {
  const h = Math.tanh(matmul(m.W1, X32) + reshape(m.b1, [HID, 1]));
  const logits = matmul(m.W2, h) + reshape(m.b2, [OUT, 1]);
  return (sum(logsumexp(logits, 0)) - sum(logits * Y32)) / BATCH;
}, { matmul, reshape, sum, logsumexp, X32, Y32, HID, OUT, BATCH });
const g32 = gradient(loss32, model32)[0];
const err32 = Math.max(worst(g32.W1.data, hand.gW1.map((v) => v)), worst(g32.W2.data, hand.gW2));
if (!(g32.W1.dtype === 'float32' && worst(g32.b2.data, hand.gb2) < 1e-3)) {
  console.error('mlp.mjs: check FAILED: the float32 gradient is not close to the float64 one', err32);
  process.exit(1);
}

const suite = new Benchmark.Suite('mlp');
let sink = 0;
suite.add('hand-written Float64Array backprop', () => { sink += handGradient(W1.data, b1.data, W2.data, b2.data, X.data).L; }, { maxTime: 4 });
suite.add(`tracegrad gradient (${tg.getBackend()} backend)`, () => { sink += gradient(loss, model)[0].b2.data[0]; }, { maxTime: 4 });
suite.add(`tracegrad gradient, float32 (${tg.getBackend()} backend)`, () => { sink += gradient(loss32, model32)[0].b2.data[0]; }, { maxTime: 4 });
suite.on('cycle', (e) => note(`  ${String(e.target)}`));
suite.run({ async: false });
const rows = suite.map((b) => ({ name: b.name, ms: 1e3 * median(b.stats.sample), rme: b.stats.rme }));
const base = rows[0].ms;
if (process.argv.includes('--json')) console.log(JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, rows }, null, 2));
else {
  console.log(`MLP ${IN}-${HID}-${OUT} tanh, batch ${BATCH}, softmax cross-entropy, one gradient; ${process.version}, ${cpus()[0]?.model}`);
  for (const r of rows) console.log(`${r.name.padEnd(40)} ${r.ms.toFixed(2).padStart(8)} ms  ±${r.rme.toFixed(1)}%  ${(r.ms / base).toFixed(2)}× hand-written`);
}
if (Number.isNaN(sink)) note('(sink is NaN)');
