// Benchmark of the WebGPU backend (Dawn) against the JS kernels: a 512×512 float32 matmul and an MLP-like chain (784-128-10 tanh, batch 64, forward and backward), results checked against each other first.
//
// Usage: node bench/webgpu.mjs [--json]   (after `npm run build`)
//   Without a WebGPU adapter (or the `webgpu` package) it prints why and exits 0. On a machine without a GPU the
//   adapter is lavapipe (Mesa's CPU Vulkan driver): those numbers measure correctness plumbing, not GPU speed.
//   GPU rows include everything a caller waits for: uploads of host operands, the kernels, and the readback of the
//   result (reads are synchronous); the "resident" row keeps its operands on the device between calls.
//   If setBackend('webgpu') is wired (lib/tensor/backend.ts), a traced gradient of the same MLP runs on both backends too.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';

const note = (...a) => console.error(...a);
const dist = (p) => new URL(`../dist/${p}`, import.meta.url);
if (!existsSync(fileURLToPath(dist('tensor/webgpu.js')))) {
  console.log('dist/tensor/webgpu.js is not built: run `npm run build` first');
  process.exit(0);
}
const JS = await import(dist('tensor/kernels.js').href);
const { Tensor } = await import(dist('tensor/tensor.js').href);
const { binaryRules } = await import(dist('rules/scalar.js').href);
const WG = await import(dist('tensor/webgpu.js').href);
const tg = await import(new URL('../esm/index.mjs', import.meta.url).href);

const init = await WG.initWebGPU();
if (typeof init === 'string') {
  console.log(`no WebGPU here: ${init}`);
  process.exit(0);
}
const K = init;
const info = WG.webgpuInfo();
note(`adapter: ${info.description || info.device} (${info.vendor}, ${info.architecture}${info.isFallbackAdapter ? ', fallback adapter' : ''})`);

// deterministic float32 data
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const f32 = (shape, scale = 1) => new Tensor(Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => scale * rand()), shape);
const { add, sub, mul } = Object.fromEntries(['add', 'sub', 'mul'].map((n) => [n, binaryRules[n].f]));

function worst(a, b, scale) {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / scale(i));
  return e;
}
const fail = (msg) => {
  console.error(`webgpu.mjs: check FAILED: ${msg}`);
  WG.releaseWebGPU();
  process.exit(1);
};

// ---- 1. matmul 512×512 ----
const N = 512;
const A = f32([N, N]), B = f32([N, N]);
{
  const want = JS.matmul(A, B).data, got = K.matmul(A, B).data;
  const bound = JS.matmul(JS.map(A, Math.abs), JS.map(B, Math.abs)).data;
  const e = worst(got, want, (i) => (N + 2) * 2 ** -23 * bound[i] + 1e-30);
  if (!(e <= 1)) fail(`512×512 matmul: WebGPU and JS differ beyond the float32 bound (ratio ${e})`);
  note(`check: 512×512 matmul agrees (worst error ${(e * 100).toFixed(2)}% of the float32 bound)`);
}
const Ad = K.zip(A, 0, add), Bd = K.zip(B, 0, add); // device-resident copies (x + 0 is exact)

// ---- 2. an MLP-like chain: forward and backward of 784-128-10 tanh, batch 64, squared error ----
const IN = 784, HID = 128, OUT = 10, BATCH = 64;
const W1 = f32([HID, IN], 0.05), b1 = f32([HID, 1], 0.1), W2 = f32([OUT, HID], 0.1), b2 = f32([OUT, 1], 0.1);
const X = f32([IN, BATCH]), Y = f32([OUT, BATCH]);
/** Gradients of Σ(Z − Y)²/(2·BATCH), Z = W2·tanh(W1·X + b1) + b2, with the kernels `k` (13 kernels). */
function mlp(k) {
  const H = k.map(k.zip(k.matmul(W1, X), b1, add), Math.tanh);
  const Z = k.zip(k.matmul(W2, H), b2, add);
  const D = k.zip(k.zip(Z, Y, sub), 1 / BATCH, mul);
  const gW2 = k.matmul(D, H, false, true), gb2 = k.sumTo(D, [OUT, 1]);
  const dA = k.zip(k.matmul(W2, D, true, false), k.zip(1, k.zip(H, H, mul), sub), mul);
  const gW1 = k.matmul(dA, X, false, true), gb1 = k.sumTo(dA, [HID, 1]);
  return [gW1, gb1, gW2, gb2];
}
{
  const want = mlp(JS), got = mlp(K);
  const e = Math.max(...want.map((w, i) => worst(got[i].data, w.data, (j) => 1e-4 * Math.max(1e-3, Math.abs(w.data[j])))));
  if (!(e <= 1)) fail(`MLP chain: WebGPU and JS gradients differ (worst ${e} × tolerance)`);
  note('check: MLP chain gradients agree (relative 1e-4)');
}

// ---- 3. the same MLP through tracegrad's API, when setBackend('webgpu') is wired ----
let wired = true;
try {
  tg.setBackend('webgpu');
  tg.setBackend('js');
} catch (e) {
  wired = false;
  note(`(setBackend('webgpu') is not available, so the API row is skipped: ${e.message})`);
}
const model = { W1, b1, W2, b2 };
const loss = tg.traced((m) => {
  const Z = tg.matmul(m.W2, Math.tanh(tg.matmul(m.W1, X) + m.b1)) + m.b2 - Y;
  return tg.sum(Z * Z) / (2 * BATCH);
}, { tg, X, Y, BATCH });
if (wired) {
  const gradOn = (b) => { tg.setBackend(b); try { return tg.gradient(loss, model)[0]; } finally { tg.setBackend('js'); } };
  const gj = gradOn('js'), gw = gradOn('webgpu'), want = mlp(JS);
  const e = Math.max(...['W1', 'b1', 'W2', 'b2'].map((k, i) => Math.max(worst(gw[k].data, want[i].data, (j) => 1e-4 * Math.max(1e-3, Math.abs(want[i].data[j]))), worst(gj[k].data, want[i].data, (j) => 1e-4 * Math.max(1e-3, Math.abs(want[i].data[j]))))));
  if (!(e <= 1)) fail(`traced MLP gradient: backends differ from the kernel chain (worst ${e} × tolerance)`);
  note('check: traced MLP gradients agree on both backends');
}

// ---- timing ----
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const suite = new Benchmark.Suite('webgpu');
let sink = 0;
const opt = { maxTime: 3, minSamples: 5 };
suite.add('matmul 512² f32: JS kernel', () => { sink += JS.matmul(A, B).data[7]; }, opt);
suite.add('matmul 512² f32: WebGPU (upload + run + read)', () => { sink += K.matmul(A, B).data[7]; }, opt);
suite.add('matmul 512² f32: WebGPU (resident operands)', () => { sink += K.matmul(Ad, Bd).data[7]; }, opt);
suite.add('MLP chain f32: JS kernels', () => { sink += mlp(JS).reduce((s, g) => s + g.data[0], 0); }, opt);
// each GPU step in a webgpuScope: its intermediates are freed at once, not when garbage collection and the event loop get to them
suite.add('MLP chain f32: WebGPU (4 reads)', () => { sink += WG.webgpuScope(() => mlp(K).reduce((s, g) => s + g.data[0], 0)); }, opt);
if (wired) {
  suite.add('traced MLP gradient f32: js backend', () => { sink += tg.gradient(loss, model)[0].b2.data[0]; }, opt);
  suite.add('traced MLP gradient f32: webgpu backend', () => {
    tg.setBackend('webgpu');
    try { sink += WG.webgpuScope(() => tg.gradient(loss, model)[0].b2.data[0]); } finally { tg.setBackend('js'); }
  }, opt);
}
suite.on('cycle', (e) => note(`  ${String(e.target)}`));
WG.resetWebGPUStats();
suite.run({ async: false });
const stats = WG.webgpuStats();
WG.releaseWebGPU();

// multiply-adds of the matmuls: W1·X and dA·Xᵀ (HID·IN·BATCH each); W2·H, D·Hᵀ and W2ᵀ·D (OUT·HID·BATCH each)
const FLOP = { matmul: 2 * N ** 3, mlp: 2 * (2 * HID * IN * BATCH + 3 * OUT * HID * BATCH) };
const rows = suite.map((b) => {
  const ms = 1e3 * median(b.stats.sample);
  const flop = b.name.startsWith('matmul') ? FLOP.matmul : FLOP.mlp;
  return { name: b.name, ms, rme: b.stats.rme, gflops: flop / (ms * 1e6) };
});
const header = `WebGPU adapter: ${info.description || info.device}${info.isFallbackAdapter ? ' (fallback adapter: a CPU implementation)' : ''}; ${process.version}, ${cpus()[0]?.model}, ${cpus().length} cores`;
if (process.argv.includes('--json')) console.log(JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, adapter: info, rows, stats }, null, 2));
else {
  console.log(header);
  for (const r of rows) console.log(`${r.name.padEnd(44)} ${r.ms.toFixed(2).padStart(9)} ms  ±${r.rme.toFixed(1).padStart(4)}%  ${r.gflops.toFixed(2).padStart(6)} GFLOP/s`);
  console.log(`device traffic during timing: ${stats.uploads} uploads, ${stats.readbacks} readbacks, ${stats.dispatches} dispatches, ${stats.submits} submits, ${stats.fallbacks} JS fallbacks`);
}
if (Number.isNaN(sink)) note('(sink is NaN)');
