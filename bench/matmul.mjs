// Benchmark of 512×512 matmul, float64 and float32: a plain i-k-j JS loop, the JS kernel, the native addon on each ISA path, and OpenBLAS dgemm/sgemm as the ceiling.
//
// Usage: node bench/matmul.mjs [--json] [--size N]   (after `npm run build` and `node native/build.mjs`)
//   The table goes to stdout, progress to stderr. Every contender's product is checked against the JS kernel's first
//   (within k·ε·Σ|aᵢₚbₚⱼ|); a failed check exits 1 before timing. All contenders run single-threaded.
//   OpenBLAS rows need libopenblas-dev (bench/native-blas/build.mjs builds the bench-only addon on first use). Each
//   OpenBLAS configuration runs in a child process, since OpenBLAS reads OPENBLAS_CORETYPE when it loads: once as
//   it detects the core, once with OPENBLAS_CORETYPE=SkylakeX (it takes some AVX-512 cores for Haswell).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';

const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const SIZE = Number(args[args.indexOf('--size') + 1]) || 512;
const MAX_TIME = 1.5;
const note = (...a) => console.error(...a);
const BLAS = fileURLToPath(new URL('./native-blas/build/Release/tracegrad_blas.node', import.meta.url));
let sink = 0;

/** A, B (SIZE×SIZE, fixed pseudo-random values in [−1, 1)) of `dtype`. */
function operands(T) {
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 1073741824) - 1;
  return [T.from({ length: SIZE * SIZE }, rand), T.from({ length: SIZE * SIZE }, rand)];
}

/** benchmark.js statistics of fn: GFLOP/s from the mean, and the relative margin of error. */
function time(name, fn) {
  const b = new Benchmark(name, () => { sink += fn()[7]; }, { maxTime: MAX_TIME, minSamples: 5 });
  b.run();
  if (b.error) throw b.error;
  note(`  ${name}: ${(2 * SIZE ** 3 / b.stats.mean / 1e9).toFixed(1)} GFLOP/s`);
  return { gflops: 2 * SIZE ** 3 / b.stats.mean / 1e9, rme: b.stats.rme, samples: b.stats.sample.length };
}

// ---- a child process: OpenBLAS under the environment it was started with ----------------------------------------
if (args.includes('--blas-child')) {
  const blas = require(BLAS);
  const out = { core: blas.core() };
  for (const T of [Float64Array, Float32Array]) {
    const [A, B] = operands(T);
    out[T.name] = { ...time(`OpenBLAS ${T.name}`, () => {
      const C = new T(SIZE * SIZE);
      blas.gemm(A, B, C, SIZE, SIZE, SIZE);
      return C;
    }) };
    const C = new T(SIZE * SIZE);
    blas.gemm(A, B, C, SIZE, SIZE, SIZE);
    out[T.name].sample = Array.from(C.subarray(0, 4096));
  }
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const dist = new URL('../dist/tensor/', import.meta.url);
if (!existsSync(fileURLToPath(new URL('kernels.js', dist)))) {
  console.log('dist/ is not built: run `npm run build` first');
  process.exit(0);
}
const JS = require(fileURLToPath(new URL('kernels.js', dist)));
const { Tensor } = require(fileURLToPath(new URL('tensor.js', dist)));
const { loadNative } = require(fileURLToPath(new URL('native.js', dist)));
const N = loadNative();
if (typeof N === 'string') note(`native rows skipped: ${N}`);

if (!existsSync(BLAS)) {
  note('building the bench-only OpenBLAS addon (bench/native-blas) ...');
  spawnSync(process.execPath, [fileURLToPath(new URL('./native-blas/build.mjs', import.meta.url))], { stdio: ['ignore', 'ignore', 'inherit'] });
}
const blasRuns = [];
if (existsSync(BLAS))
  for (const [label, coretype] of [['OpenBLAS (detected core)', undefined], ['OpenBLAS (OPENBLAS_CORETYPE=SkylakeX)', 'SkylakeX']]) {
    note(`${label} ...`);
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1' };
    if (coretype) env.OPENBLAS_CORETYPE = coretype;
    else delete env.OPENBLAS_CORETYPE;
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--blas-child', '--size', String(SIZE)], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) note(`  ${label}: the child failed; row skipped`);
    else blasRuns.push({ label, coretype, ...JSON.parse(r.stdout) });
  }
else note('OpenBLAS rows skipped: bench/native-blas is not built (apt-get install libopenblas-dev)');

/**
 * The JS loop a user writes for C = A·B (row-major, n×n): i-k-j order, so the inner loop streams a row of B and a row
 * of C. This is the "JS loop" of the "≥ 40× the JS loop" and DESIGN.md's 1.2–2 GFLOP/s figure; the library's
 * own JS kernel (lib/tensor/kernels.ts) is a faster, blocked one and has its own column.
 */
function ikjLoop(A, B, n, T) {
  const C = new T(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const a = A[i * n + k];
      for (let j = 0; j < n; j++) C[i * n + j] += a * B[k * n + j];
    }
  return C;
}

/** The first 4096 entries of `C` within summation error of the JS kernel's product: 2(k+2)·ε·Σₚ|aᵢₚbₚⱼ|. */
function check(name, C, ref, bound, eps) {
  for (let i = 0; i < Math.min(4096, ref.length); i++)
    if (!(Math.abs(C[i] - ref[i]) <= 2 * (SIZE + 2) * eps * bound[i])) {
      console.error(`matmul.mjs: check FAILED: ${name}: [${i}] ${C[i]} vs ${ref[i]}\nNo timings reported.`);
      process.exit(1);
    }
}

const rows = [];
for (const T of [Float64Array, Float32Array]) {
  const dtype = T === Float64Array ? 'float64' : 'float32', eps = T === Float64Array ? 2 ** -53 : 2 ** -24;
  note(`${dtype} ${SIZE}×${SIZE}×${SIZE}:`);
  const [A, B] = operands(T);
  const a = new Tensor(A, [SIZE, SIZE]), b = new Tensor(B, [SIZE, SIZE]);
  const ref = JS.matmul(a, b).data;
  const bound = JS.matmul(JS.map(a, Math.abs), JS.map(b, Math.abs)).data;
  check(`i-k-j loop ${dtype}`, ikjLoop(A, B, SIZE, T), ref, bound, eps);
  const loop = { name: 'plain JS i-k-j loop', ...time('i-k-j loop', () => ikjLoop(A, B, SIZE, T)) };
  const js = { name: 'JS kernel (lib/tensor/kernels.ts)', ...time('JS kernel', () => JS.matmul(a, b).data) };
  const native = [];
  if (typeof N !== 'string') {
    const start = N.isa();
    for (const isa of N.isas()) {
      N.setIsa(isa);
      check(`native ${isa} ${dtype}`, N.matmul(a, b).data, ref, bound, eps);
      native.push({ name: `native ${isa}`, isa, ...time(`native ${isa}`, () => N.matmul(a, b).data) });
    }
    N.setIsa(start);
  }
  const blas = blasRuns.map((r) => {
    check(`${r.label} ${dtype}`, r[T.name].sample, ref, bound, eps);
    return { name: `${r.label}, core ${r.core}`, coretype: r.coretype, gflops: r[T.name].gflops, rme: r[T.name].rme, samples: r[T.name].samples };
  });
  rows.push({ dtype, loop, js, native, blas });
}

const meta = { date: new Date().toISOString().slice(0, 10), node: process.version, cpu: cpus()[0]?.model, size: SIZE };
if (JSON_OUT) {
  console.log(JSON.stringify({ ...meta, rows }, null, 2));
} else {
  console.log(`matmul ${SIZE}×${SIZE}×${SIZE}, single-threaded. ${meta.date}, Node ${meta.node}, ${meta.cpu}.\n`);
  for (const { dtype, loop, js, native, blas } of rows) {
    const ceiling = blas.find((r) => r.coretype) ?? blas[0];
    const detected = blas.find((r) => !r.coretype);
    console.log(`${dtype}\n`);
    console.log(`| contender | GFLOP/s | ± % | × i-k-j loop | × JS kernel | ÷ OpenBLAS SkylakeX | ÷ OpenBLAS detected |`);
    console.log('|---|---|---|---|---|---|---|');
    for (const r of [loop, js, ...native, ...blas]) {
      const cells = [r.name, r.gflops.toFixed(1), r.rme.toFixed(1), (r.gflops / loop.gflops).toFixed(1), (r.gflops / js.gflops).toFixed(1),
        ceiling && blas.some((x) => x.coretype) ? `${((100 * r.gflops) / ceiling.gflops).toFixed(0)} %` : '–',
        detected ? `${((100 * r.gflops) / detected.gflops).toFixed(0)} %` : '–'];
      console.log(`| ${cells.join(' | ')} |`);
    }
    console.log();
  }
}
if (sink === 12345.678) console.error(sink);
