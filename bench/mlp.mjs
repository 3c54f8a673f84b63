// Benchmark of one MLP gradient (784-128-10 tanh, batch 64, softmax cross-entropy): tracegrad's tensors against a hand-written Float64Array backprop, checked against each other first.
//
// Usage: node bench/mlp.mjs [--json] [--no-peers]   (after `npm run build`); TRACEGRAD_BACKEND=native|webgpu to time another backend.
//   The peers (tfjs cpu and wasm with tf.valueAndGrads, jax-js with jit(valueAndGrad), all float32) are timed too unless
//   --no-peers; each must first match the hand-written gradient, else it is listed as not timed with the reason.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { loadJax, loadTfjs, tfBackendInfo, useTfBackend } from './peers.mjs';

const url = new URL('../esm/index.mjs', import.meta.url);
if (!existsSync(fileURLToPath(url))) {
  console.log('esm/index.mjs is not built: run `npm run build` first');
  process.exit(0);
}
const tg = await import(url.href);
// TRACEGRAD_BACKEND=webgpu starts WebGPU asynchronously at load; wait for it here (throws where no adapter exists)
if (process.env.TRACEGRAD_BACKEND === 'webgpu') await tg.useWebGPU();
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

// ---- peers: the same model with their tensor ops, float32, the data closed over; checked before any timing ----
const PEER_TOL = 1e-4; // normwise per parameter, max |Δ| ÷ max |hand-written| (float32 against the float64 reference)
const normwise = (got, want) => {
  let diff = 0, scale = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return got.length === want.length ? diff / scale : Infinity;
};
const asF32 = (t) => Float32Array.from(t.data);
const peers = [];
const skipped = [];
if (process.argv.includes('--no-peers')) skipped.push({ name: 'tfjs, jax-js', reason: '--no-peers' });
else {
  const tfPeer = await loadTfjs();
  if (tfPeer.skip) skipped.push({ name: 'tfjs', reason: tfPeer.skip });
  else {
    const { tf } = tfPeer;
    // tensors belong to the backend that was current when they were made: each backend gets its own copies
    let on = null; // { params: [W1, b1, W2, b2], X, Y } on the current backend, kept between calls as in training
    const upload = () => ({
      params: [tf.tensor2d(asF32(W1), [HID, IN]), tf.tensor1d(asF32(b1)), tf.tensor2d(asF32(W2), [OUT, HID]), tf.tensor1d(asF32(b2))],
      X: tf.tensor2d(asF32(X), [IN, BATCH]), Y: tf.tensor2d(asF32(Y), [OUT, BATCH]),
    });
    // tf.layers-free: the forward pass in ops, tf.valueAndGrads for all four parameters
    const valueAndGrads = tf.valueAndGrads((w1, c1, w2, c2) => {
      const h = tf.tanh(tf.add(tf.matMul(w1, on.X), tf.reshape(c1, [HID, 1])));
      const logits = tf.add(tf.matMul(w2, h), tf.reshape(c2, [OUT, 1]));
      return tf.div(tf.sub(tf.sum(tf.logSumExp(logits, 0)), tf.sum(tf.mul(logits, on.Y))), BATCH);
    });
    for (const backend of ['cpu', 'wasm']) {
      peers.push({
        name: `tfjs ${tfPeer.versions.tfjs} ${backend}, float32`,
        enter: async () => {
          const reason = await useTfBackend(tfPeer, backend);
          if (!reason) {
            if (on) tf.dispose([...on.params, on.X, on.Y]);
            on = upload();
          }
          return reason;
        },
        info: () => tfBackendInfo(tfPeer),
        run: () => tf.tidy(() => {
          const { value, grads } = valueAndGrads(on.params);
          return { L: value.dataSync()[0], grads: grads.map((g) => g.dataSync()) };
        }),
      });
    }
  }
  const jaxPeer = await loadJax();
  if (jaxPeer.skip) skipped.push({ name: 'jax-js', reason: jaxPeer.skip });
  else {
    const { jax } = jaxPeer;
    const { numpy: np, nn } = jax;
    const Xj = np.array(asF32(X)).reshape([IN, BATCH]), Yj = np.array(asF32(Y)).reshape([OUT, BATCH]);
    const pj = { W1: np.array(asF32(W1)).reshape([HID, IN]), b1: np.array(asF32(b1)), W2: np.array(asF32(W2)).reshape([OUT, HID]), b2: np.array(asF32(b2)) };
    // jax-js arrays are reference-counted and every call consumes its arguments: callers pass .ref to keep theirs
    const lossJax = (p, x, y) => {
      const h = np.tanh(np.matmul(p.W1, x).add(p.b1.reshape([HID, 1])));
      const logits = np.matmul(p.W2, h).add(p.b2.reshape([OUT, 1]));
      return nn.logsumexp(logits.ref, 0).sum().sub(logits.mul(y).sum()).div(BATCH);
    };
    const step = jax.jit(jax.valueAndGrad(lossJax)); // gradient with respect to the first argument, the parameters
    peers.push({
      name: `jax-js ${jaxPeer.version} jit, float32`, enter: async () => null, info: () => 'wasm device',
      run: () => {
        const [value, g] = step({ W1: pj.W1.ref, b1: pj.b1.ref, W2: pj.W2.ref, b2: pj.b2.ref }, Xj.ref, Yj.ref);
        return { L: value.dataSync()[0], grads: [g.W1.dataSync(), g.b1.dataSync(), g.W2.dataSync(), g.b2.dataSync()] };
      },
    });
  }
}
const checkedPeers = [];
for (const p of peers) {
  const reason = await p.enter();
  if (reason) {
    skipped.push({ name: p.name, reason });
    continue;
  }
  try {
    const t0 = performance.now();
    const r = p.run();
    const firstMs = performance.now() - t0;
    const errors = [hand.gW1, hand.gb1, hand.gW2, hand.gb2].map((want, i) => normwise(r.grads[i], want));
    const lossError = Math.abs(r.L - hand.L) / Math.abs(hand.L);
    if (!(Math.max(...errors) <= PEER_TOL && lossError <= PEER_TOL)) {
      const reason = `check FAILED: normwise errors W1, b1, W2, b2 = ${errors.map((e) => e.toExponential(1)).join(', ')}, ` +
        `loss ${r.L} vs ${hand.L} (tolerance ${PEER_TOL})`;
      note(`  ${p.name}: ${reason}; not timed`);
      skipped.push({ name: p.name, reason });
      continue;
    }
    note(`  peer check passed: ${p.name} (${p.info()}): worst normwise error ${Math.max(...errors).toExponential(1)}; first call ${firstMs.toFixed(1)} ms`);
    checkedPeers.push(p);
  } catch (e) {
    const reason = `threw: ${e.message.split('\n')[0]}`;
    note(`  ${p.name}: ${reason}; not timed`);
    skipped.push({ name: p.name, reason });
  }
}

function timeOne(name, fn) {
  const suite = new Benchmark.Suite('mlp');
  suite.add(name, fn, { maxTime: 4 });
  suite.on('cycle', (e) => note(`  ${String(e.target)}`));
  suite.run({ async: false });
  const b = suite[0];
  return { name: b.name, ms: 1e3 * median(b.stats.sample), meanMs: 1e3 * b.stats.mean, rme: b.stats.rme, samples: b.stats.sample.length };
}
let sink = 0;
const rows = [
  { ...timeOne('hand-written Float64Array backprop', () => { sink += handGradient(W1.data, b1.data, W2.data, b2.data, X.data).L; }), precision: 'float64' },
  { ...timeOne(`tracegrad gradient (${tg.getBackend()} backend)`, () => { sink += gradient(loss, model)[0].b2.data[0]; }), precision: 'float64', backend: tg.getBackend() },
  { ...timeOne(`tracegrad gradient, float32 (${tg.getBackend()} backend)`, () => { sink += gradient(loss32, model32)[0].b2.data[0]; }), precision: 'float32', backend: tg.getBackend() },
];
for (const p of checkedPeers) {
  await p.enter();
  rows.push({ ...timeOne(p.name, () => { sink += p.run().L; }), precision: 'float32', peer: true });
}
const base = rows[0].ms;
for (const r of rows) r.ratioToHandWritten = r.ms / base;
if (process.argv.includes('--json')) {
  console.log(JSON.stringify({
    benchmark: `MLP ${IN}-${HID}-${OUT} tanh, batch ${BATCH}, softmax cross-entropy, one gradient of all parameters`,
    node: process.version, cpu: cpus()[0]?.model, cpus: cpus().length, backend: tg.getBackend(), rows, skipped,
  }, null, 2));
} else {
  console.log(`MLP ${IN}-${HID}-${OUT} tanh, batch ${BATCH}, softmax cross-entropy, one gradient; ${process.version}, ${cpus()[0]?.model}`);
  for (const r of rows) console.log(`${r.name.padEnd(46)} ${r.ms.toFixed(2).padStart(8)} ms  ±${r.rme.toFixed(1)}%  ${(r.ms / base).toFixed(2)}× hand-written`);
  for (const s of skipped) console.log(`${s.name.padEnd(46)} skipped: ${s.reason}`);
}
if (Number.isNaN(sink)) note('(sink is NaN)');
if (tg.getBackend() === 'webgpu') {
  tg.setBackend('js');
  tg.releaseWebGPU(); // lets the process exit
}
