// The WebGPU tensor backend through Dawn (npm `webgpu`): float32 kernels in WGSL whose results stay on the device, read back lazily and synchronously; float64 and unknown functions use the JS kernels.
import * as JS from './kernels';
import { Tensor, sizeOf, type DeviceStorage } from './tensor';
import { TracegradError } from '../errors';
import { unaryRules, binaryRules } from '../rules/scalar';
import * as W from './webgpu/wgsl';
import type { Kernels } from './backend';

/*
 * Design. WebGPU is asynchronous (requestAdapter, requestDevice and mapAsync return promises) and tracegrad's kernels
 * are synchronous, so:
 *  - `await initWebGPU()` once does the asynchronous part (load Dawn, adapter, device); afterwards `webgpuKernels()`
 *    (what setBackend('webgpu') loads) answers synchronously.
 *  - Kernels only record work: each appends a dispatch to an open compute pass (submitted in batches) and returns a
 *    Tensor whose elements are a GPUStorage (a DeviceStorage) on the device. Operands that live on the host are
 *    uploaded with queue.writeBuffer. Nothing waits for the GPU until an element is read (`tensor.data`).
 *  - `read()` must be synchronous. Dawn's node binding exposes no processEvents/tick and no blocking map; it resolves
 *    mapAsync by calling wgpuInstanceProcessEvents from a callback that it hands to the *global* `setImmediate`
 *    (src/dawn/node/binding/AsyncRunner.cpp, ScheduleProcessEvents: `env.Global().Get("setImmediate")`), and
 *    GPUBuffer.mapState reads a flag that the map callback sets during that call. So read() swaps globalThis.setImmediate
 *    for a collector for the duration of one mapAsync, runs the collected event-processing callbacks itself until
 *    mapState leaves 'pending' (spinning, then sleeping with Atomics.wait so that lavapipe's threads get the CPU), then
 *    restores setImmediate and hands any callbacks still collected to the real one, so Dawn's own bookkeeping (its
 *    "already queued" flag) stays right. The alternative with only documented APIs, a worker thread owning the device
 *    and the main thread blocking in Atomics.wait, costs a message per kernel and a copy per upload; this costs
 *    nothing per kernel. If a Dawn release stops routing events through setImmediate, read() says so (it finds no
 *    callback) instead of hanging.
 *  - float32 only (WGSL has no f64): float64 operands, unknown elementwise functions (closures; detected by identity
 *    against lib/rules/scalar.ts and Math), ranks above 8 and sizes above the device's binding limit go to the JS
 *    kernels, which read device operands back (counted in webgpuStats().readbacks).
 *  - Memory: a device buffer is freed when its tensor is read back, when webgpuScope(fn) ends without returning the
 *    tensor (as tf.tidy), or after its tensor is garbage-collected. The last is slow to happen: V8 does not count
 *    device memory, and both FinalizationRegistry callbacks and Dawn's own finalizers run only when the event loop
 *    turns, so a long synchronous loop that never reads its intermediates holds all of them (measured: 1000 steps of
 *    4 MiB tensors reached 8 GiB; with a GC and an event-loop turn every 100 steps, steady at 1.7 GiB). Synchronous
 *    loops should run each step in webgpuScope.
 *  - Lifetime: the object create() returns, the adapter and the device stay referenced from module state while the
 *    device lives (DESIGN.md §4: Dawn crashed when that object was collected while a device lived); releaseWebGPU()
 *    destroys the device and drops them, so node exits. Device tensors still unread then cannot be read (a clear
 *    error says so).
 */

/**
 * Counters, for tests and tuning: readbacks (device → host copies), uploads (host → device), dispatches, submits,
 * fallbacks (float32 work sent to the JS kernels); deviceBytes is a level, not a count: the bytes tensors hold on the
 * device now (not reset by resetWebGPUStats).
 */
export interface WebGPUStats {
  readbacks: number;
  uploads: number;
  dispatches: number;
  submits: number;
  fallbacks: number;
  deviceBytes: number;
}
const stats: WebGPUStats = { readbacks: 0, uploads: 0, dispatches: 0, submits: 0, fallbacks: 0, deviceBytes: 0 };

export interface WebGPUOptions {
  /** Dawn flags for create(), e.g. ['backend=vulkan', 'adapter=llvmpipe'] (see the `webgpu` package's README). */
  flags?: string[];
  /** Passed to requestAdapter. */
  powerPreference?: 'low-power' | 'high-performance';
  /** Submit after this many recorded dispatches even without a read (lets the GPU start early). Default 64. */
  batch?: number;
}

// Buffer usage and map mode bits (WebGPU constants; the same in every implementation).
const MAP_READ = 0x0001, COPY_SRC = 0x0004, COPY_DST = 0x0008, STORAGE = 0x0080, MODE_READ = 0x0001;
const META_WORDS = 1 << 18; // 1 MiB of u32 parameters per submitted batch

interface State {
  gpu: any; // the object create() returned: must outlive the device
  adapter: any;
  device: any;
  queue: any;
  info: WebGPUInfo;
  maxElements: number; // float32 elements per bound buffer
  align: number; // storage binding offset alignment, in u32 words
  batch: number;
  pipelines: Map<string, { pipeline: any; layout: any }>;
  encoder: any;
  pass: any;
  pending: number;
  trash: any[]; // uploads and one-batch buffers, destroyed after their batch is submitted
  metaCPU: Uint32Array;
  metaUsed: number;
  metaBuf: any;
  error: string | null; // the first uncaptured device error since the last check
  lost: string | null;
}

export interface WebGPUInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

let st: State | null = null;
let generation = 0; // bumped on release: storages of an older device cannot be read
let reason = 'WebGPU is not initialized: call `await initWebGPU()` before setBackend(\'webgpu\')';
let starting: Promise<Kernels | string> | null = null;

/**
 * `initWebGPU(options?)`: load Dawn, find an adapter and open a device. Resolves to the kernels, or to a sentence
 * saying why there are none (no `webgpu` package, no adapter: on Linux without a GPU, Mesa's lavapipe ≥ 23 through
 * Vulkan). Calling it again returns the same device.
 *
 * @example
 * ```js
 * import { initWebGPU, releaseWebGPU } from 'tracegrad';
 * const kernels = await initWebGPU(); // without an adapter: a sentence saying why
 * typeof kernels === 'string' || typeof kernels.matmul === 'function'; // → true
 * releaseWebGPU();
 * ```
 */
export function initWebGPU(options: WebGPUOptions = {}): Promise<Kernels | string> {
  if (st !== null && st.lost === null) return Promise.resolve(kernels);
  if (starting === null) starting = start(options).finally(() => (starting = null));
  return starting;
}
/** The name the tracegrad issues use for initWebGPU. */
export const loadWebGPU = initWebGPU;

/** The kernels when a device is open (synchronous; what setBackend('webgpu') loads), else why not. */
export function webgpuKernels(): Kernels | string {
  if (st !== null && st.lost !== null) return `the WebGPU device was lost (${st.lost}); call \`await initWebGPU()\` again`;
  return st !== null ? kernels : reason;
}

/** The adapter in use, or null. */
export function webgpuInfo(): WebGPUInfo | null {
  return st === null ? null : { ...st.info };
}

/**
 * A copy of the counters.
 *
 * @example
 * ```js
 * import { webgpuStats } from 'tracegrad';
 * Object.keys(webgpuStats()); // → ['readbacks', 'uploads', 'dispatches', 'submits', 'fallbacks', 'deviceBytes']
 * typeof webgpuStats().deviceBytes; // → 'number'
 * ```
 */
export function webgpuStats(): WebGPUStats {
  return { ...stats };
}
export function resetWebGPUStats(): void {
  for (const k of Object.keys(stats) as (keyof WebGPUStats)[]) if (k !== 'deviceBytes') stats[k] = 0;
}

/** Submit the recorded work now (reads do this themselves). */
export function flushWebGPU(): void {
  if (st !== null) flush(st);
}

/** Called as the device is released (lib/tensor/backend.ts moves off a released backend). */
const releaseListeners: (() => void)[] = [];
export function onWebGPURelease(listener: () => void): void {
  releaseListeners.push(listener);
}

/**
 * `releaseWebGPU()`: destroy the device and drop every reference to Dawn, so the process can exit. Tensors whose
 * elements are still on the device cannot be read afterwards: read the ones you keep first. Where WebGPU was the
 * backend, the backend becomes 'js'.
 *
 * @example
 * ```js
 * import { useWebGPU, releaseWebGPU, setBackend, tensor, matmul } from 'tracegrad';
 * await useWebGPU().catch(() => {}); // where an adapter exists
 * const product = matmul(tensor([[1, 2]], { dtype: 'float32' }), tensor([[3], [4]], { dtype: 'float32' }));
 * const kept = product.toArray(); // read what you keep before releasing the device
 * setBackend('js');
 * releaseWebGPU();
 * kept; // → [[11]]
 * ```
 */
export function releaseWebGPU(): void {
  const s = st;
  if (s === null) return;
  for (const listener of releaseListeners) listener();
  st = null;
  generation++;
  stats.deviceBytes = 0;
  reason = 'the WebGPU device was released (releaseWebGPU); call `await initWebGPU()` again to use it';
  try {
    if (s.pass !== null) s.pass.end();
  } catch {}
  s.pipelines.clear();
  s.trash.length = 0;
  try {
    s.device.destroy();
  } catch {}
  s.device = s.queue = s.adapter = s.gpu = s.metaBuf = s.encoder = s.pass = null;
}

async function importDawn(): Promise<any> {
  // the package is an ES module: import() where require() of ES modules is not available (Node < 20.19), else require
  try {
    return require('webgpu');
  } catch (e: any) {
    if (e?.code !== 'ERR_REQUIRE_ESM' && e?.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw e;
    const { pathToFileURL } = require('node:url');
    const dynamicImport = new Function('u', 'return import(u)') as (u: string) => Promise<any>;
    return dynamicImport(pathToFileURL(require.resolve('webgpu')).href);
  }
}

async function start(options: WebGPUOptions): Promise<Kernels | string> {
  if (st !== null) releaseWebGPU(); // a lost device
  let dawn: any;
  try {
    dawn = await importDawn();
  } catch (e: any) {
    return (reason = `the npm package \`webgpu\` (Dawn) cannot be loaded: ${e?.message ?? e} (it is an optional dependency: \`npm install webgpu\`)`);
  }
  const gpu = dawn.create(options.flags ?? []);
  let adapter: any = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  } catch (e: any) {
    return (reason = `Dawn's requestAdapter failed: ${e?.message ?? e}`);
  }
  if (adapter === null || adapter === undefined)
    return (reason =
      'no WebGPU adapter: Dawn found no usable GPU or Vulkan driver on this machine (without a GPU on Linux, install Mesa ≥ 23 lavapipe: on Debian 12 `mesa-vulkan-drivers` from bookworm-backports, and `libvulkan1`)');
  const lim = adapter.limits;
  let device: any;
  try {
    device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
      },
    });
  } catch (e: any) {
    return (reason = `Dawn's requestDevice failed: ${e?.message ?? e}`);
  }
  const ai = adapter.info ?? {};
  const s: State = {
    gpu,
    adapter,
    device,
    queue: device.queue,
    info: {
      vendor: String(ai.vendor ?? ''),
      architecture: String(ai.architecture ?? ''),
      device: String(ai.device ?? ''),
      description: String(ai.description ?? ''),
      isFallbackAdapter: Boolean(ai.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
    },
    maxElements: Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / 4),
    align: Math.max(1, device.limits.minStorageBufferOffsetAlignment / 4),
    batch: Math.max(1, options.batch ?? 64),
    pipelines: new Map(),
    encoder: null,
    pass: null,
    pending: 0,
    trash: [],
    metaCPU: new Uint32Array(META_WORDS),
    metaUsed: 0,
    metaBuf: device.createBuffer({ size: META_WORDS * 4, usage: STORAGE | COPY_DST }),
    error: null,
    lost: null,
  };
  device.onuncapturederror = (ev: any) => {
    if (s.error === null) s.error = String(ev?.error?.message ?? ev?.error ?? ev);
  };
  device.lost?.then?.((info: any) => {
    if (st === s && s.lost === null) s.lost = `${info?.reason ?? 'unknown'}: ${info?.message ?? ''}`;
  });
  // The promise that delivered the device may leave Dawn's event callback queued on the real setImmediate; a
  // synchronous read needs it idle (the callback is Dawn's, not ours to run). Wait a turn until a probe read works.
  for (let tries = 0; ; tries++) {
    await new Promise((r) => setImmediate(r));
    const probe = device.createBuffer({ size: 4, usage: MAP_READ | COPY_DST });
    const ok = waitMapped(probe, false);
    if (ok) probe.unmap();
    probe.destroy();
    if (ok) break;
    if (tries >= 100) {
      device.destroy();
      return (reason = 'the WebGPU device opened, but Dawn never let a synchronous read through (its event callbacks did not go through setImmediate)');
    }
  }
  st = s;
  return kernels;
}

// ---- synchronous readback ----

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const fakeImmediate = { ref() { return this; }, unref() { return this; }, hasRef: () => false, [Symbol.toPrimitive]: () => 0 };

/**
 * Map `buffer` for reading, synchronously (see the design note at the top). With `strict` false, returns false when
 * Dawn had its event callback already queued on the real setImmediate (the map then completes later by itself).
 */
function waitMapped(buffer: any, strict = true): boolean {
  const realSetImmediate = globalThis.setImmediate;
  let collected: (() => void)[] = [];
  (globalThis as any).setImmediate = (fn: (...a: any[]) => void, ...args: any[]) => {
    collected.push(() => fn(...args));
    return fakeImmediate;
  };
  let failure: unknown = null;
  try {
    buffer.mapAsync(MODE_READ).then(undefined, (e: unknown) => (failure = e));
    if (collected.length === 0) {
      if (strict) throw new TracegradError('tracegrad: WebGPU read: Dawn queued its event processing elsewhere than setImmediate, so a synchronous read cannot wait for the GPU (is another user of this device awaiting a promise?).');
      return false;
    }
    for (let spins = 0; buffer.mapState === 'pending'; spins++) {
      if (collected.length === 0) throw new TracegradError('tracegrad: WebGPU read: the mapping is pending but Dawn scheduled no event processing.');
      const now = collected;
      collected = [];
      for (const f of now) f();
      // lavapipe computes on other threads: spin briefly, then sleep up to 1 ms per round to leave them the cores
      if (spins > 16 && buffer.mapState === 'pending') Atomics.wait(sleepCell, 0, 0, Math.min(1, 0.005 * 1.3 ** (spins - 16)));
    }
  } finally {
    (globalThis as any).setImmediate = realSetImmediate;
    for (const f of collected) realSetImmediate(f);
  }
  if (buffer.mapState !== 'mapped') {
    if (strict) throw new TracegradError(`tracegrad: WebGPU read failed: the buffer could not be mapped${failure ? ` (${(failure as any)?.message ?? failure})` : ''}${st?.lost ? `; the device was lost (${st.lost})` : ''}.`);
    return false;
  }
  return true;
}

/** The n float32 elements of `buffer`, copied to the host (waits for the GPU). */
function readBuffer(s: State, buffer: any, n: number): Float32Array {
  flush(s);
  const staging = s.device.createBuffer({ size: n * 4, usage: MAP_READ | COPY_DST });
  const enc = s.device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, n * 4);
  s.queue.submit([enc.finish()]);
  stats.submits++;
  try {
    waitMapped(staging);
    const out = new Float32Array(n);
    out.set(new Float32Array(staging.getMappedRange(), 0, n));
    staging.unmap();
    stats.readbacks++;
    return out;
  } finally {
    staging.destroy();
    checkErrors(s);
  }
}

function checkErrors(s: State): void {
  if (s.error !== null) {
    const e = s.error;
    s.error = null;
    throw new TracegradError(`tracegrad: WebGPU error: ${e}`);
  }
}

/** A device buffer owned by one GPUStorage; kept apart from it so that a FinalizationRegistry can free it. */
interface Held {
  buffer: any;
  bytes: number;
  gen: number;
  freed: boolean;
}
function free(h: Held): void {
  if (h.freed) return;
  h.freed = true;
  if (h.gen !== generation || st === null) return; // that device is gone, and its memory with it
  stats.deviceBytes -= h.bytes;
  // work recorded but not yet submitted may use it: destroy it after that batch is submitted
  if (st.pass !== null) st.trash.push(h.buffer);
  else h.buffer.destroy();
  h.buffer = null;
}
const collected = new FinalizationRegistry<Held>(free);
/** The storages made inside each active webgpuScope, innermost last. */
const scopes: Set<GPUStorage>[] = [];

/** Elements on the device: float32, read back once (then the host copy is the truth and the GPU buffer is freed). */
class GPUStorage implements DeviceStorage {
  readonly dtype = 'float32' as const;
  private host: Float32Array | null = null;
  private disposed = false;
  private held: Held;
  constructor(buffer: any, readonly length: number) {
    this.held = { buffer, bytes: Math.max(4, length * 4), gen: generation, freed: false };
    stats.deviceBytes += this.held.bytes;
    collected.register(this, this.held, this.held);
    if (scopes.length > 0) scopes[scopes.length - 1].add(this);
  }
  read(): Float32Array {
    if (this.host !== null) return this.host;
    if (this.disposed)
      throw new TracegradError('tracegrad: this tensor\'s device memory was freed (disposeWebGPU, or the end of a webgpuScope that did not return it): return the tensors you keep from the scope, or read them (t.data) first.');
    if (this.held.freed || this.held.gen !== generation || st === null)
      throw new TracegradError('tracegrad: this tensor\'s elements were on a WebGPU device that has since been released or lost; read the tensors you keep (t.data) before releaseWebGPU().');
    this.host = readBuffer(st, this.held.buffer, this.length);
    collected.unregister(this.held);
    free(this.held); // the submitted work that used it has finished: the copy after it completed
    return this.host;
  }
  /** The device buffer while it is the truth (not yet read back or freed), else null. */
  live(): any | null {
    return this.host === null && !this.held.freed && this.held.gen === generation ? this.held.buffer : null;
  }
  /** Free the device buffer now (webgpuScope); reading afterwards is an error. */
  dispose(): void {
    if (this.host !== null || this.held.freed) return;
    this.disposed = true;
    collected.unregister(this.held);
    free(this.held);
  }
}

/**
 * `webgpuScope(fn)`: run fn, then free the device memory of every tensor it made on the WebGPU device except those
 * reachable from its result (through arrays, plain objects, class instances' own fields, Maps and Sets; not through
 * closures). Like tf.tidy: synchronous code that makes many intermediates and reads few (a training loop) should run
 * each step in a scope, because garbage collection frees device memory only when the event loop turns. Scopes nest
 * (what the inner one returns belongs to the outer one). Without a WebGPU device it just calls fn.
 *
 * @example
 * ```js
 * import { webgpuScope, tensor, matmul, sum } from 'tracegrad';
 * const a = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
 * // a training step's intermediates are freed on the device when the scope ends; without a device fn just runs
 * webgpuScope(() => sum(matmul(a, a))); // → 54
 * webgpuScope(() => [matmul(a, a), 1]); // → [[[7, 10], [15, 22]], 1]
 * ```
 */
export function webgpuScope<T>(fn: () => T): T {
  const mine = new Set<GPUStorage>();
  scopes.push(mine);
  let out: T;
  try {
    out = fn();
  } catch (e) {
    scopes.pop();
    for (const s of mine) s.dispose();
    throw e;
  }
  scopes.pop();
  if (out !== null && typeof (out as any)?.then === 'function') {
    for (const s of mine) if (s.live() !== null) scopes[scopes.length - 1]?.add(s);
    throw new TracegradError('tracegrad: webgpuScope(fn) takes a synchronous function (it got a Promise back): wrap each synchronous step instead.');
  }
  const keep = new Set<GPUStorage>();
  reachable(out, keep, new Set());
  const outer = scopes[scopes.length - 1];
  for (const s of mine) {
    if (!keep.has(s)) s.dispose();
    else if (outer !== undefined) outer.add(s);
  }
  return out;
}

/**
 * `disposeWebGPU(...values)`: free now the device memory of the tensors in `values` (found as webgpuScope finds them);
 * reading them afterwards is an error. Tensors on the host are left alone.
 *
 * @example
 * ```js
 * import { disposeWebGPU, tensor } from 'tracegrad';
 * const t = tensor([1, 2]);
 * disposeWebGPU(t); // frees device memory now; a tensor on the host is left alone
 * t.toArray(); // → [1, 2]
 * ```
 */
export function disposeWebGPU(...values: any[]): void {
  const found = new Set<GPUStorage>();
  reachable(values, found, new Set());
  for (const s of found) s.dispose();
}

function reachable(v: any, keep: Set<GPUStorage>, seen: Set<any>): void {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  if (v instanceof Tensor) {
    if (v.device instanceof GPUStorage) keep.add(v.device);
    return;
  }
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
  if (v instanceof Map) for (const [k, x] of v) reachable(k, keep, seen), reachable(x, keep, seen);
  else if (v instanceof Set || Array.isArray(v)) for (const x of v) reachable(x, keep, seen);
  else for (const k of Object.keys(v)) reachable(v[k], keep, seen);
}

// ---- recording work ----

function pipelineFor(s: State, key: string, source: () => string): { pipeline: any; layout: any } {
  let p = s.pipelines.get(key);
  if (p === undefined) {
    const module = s.device.createShaderModule({ code: source(), label: key });
    const pipeline = s.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
    s.pipelines.set(key, p);
  }
  return p;
}

function flush(s: State): void {
  if (s.pass === null) return;
  s.pass.end();
  if (s.metaUsed > 0) s.queue.writeBuffer(s.metaBuf, 0, s.metaCPU, 0, s.metaUsed);
  s.queue.submit([s.encoder.finish()]);
  stats.submits++;
  for (const b of s.trash) b.destroy(); // Dawn frees them when the submitted work is done with them
  s.trash.length = 0;
  s.encoder = s.pass = null;
  s.pending = 0;
  s.metaUsed = 0;
  checkErrors(s);
}

/**
 * Parameters for one dispatch: a slot of the batch's parameter buffer (written once, at submit), or a buffer of its
 * own when large or when the slots are used up. (Never a flush here: the operands this dispatch binds may be uploads
 * that a flush would destroy.)
 */
function params(s: State, words: ArrayLike<number>): { buffer: any; offset: number; size: number } {
  const n = Math.max(1, words.length);
  const at = Math.ceil(s.metaUsed / s.align) * s.align;
  if (n > META_WORDS / 4 || at + n > META_WORDS) {
    const buffer = s.device.createBuffer({ size: n * 4, usage: STORAGE | COPY_DST });
    const data = new Uint32Array(n);
    data.set(words);
    s.queue.writeBuffer(buffer, 0, data);
    s.trash.push(buffer);
    return { buffer, offset: 0, size: n * 4 };
  }
  s.metaCPU.set(words, at);
  s.metaUsed = at + n;
  return { buffer: s.metaBuf, offset: at * 4, size: n * 4 };
}

function dispatch(s: State, key: string, source: () => string, inputs: any[], out: any, prm: ArrayLike<number>, groups: [number, number, number]): void {
  const { pipeline, layout } = pipelineFor(s, key, source);
  const meta = params(s, prm);
  const entries = [
    { binding: 0, resource: meta },
    { binding: 1, resource: { buffer: out } },
    ...inputs.map((buffer, i) => ({ binding: 2 + i, resource: { buffer } })),
  ];
  const group = s.device.createBindGroup({ layout, entries });
  if (s.pass === null) {
    s.encoder = s.device.createCommandEncoder();
    s.pass = s.encoder.beginComputePass();
  }
  s.pass.setPipeline(pipeline);
  s.pass.setBindGroup(0, group);
  s.pass.dispatchWorkgroups(groups[0], groups[1], groups[2]);
  stats.dispatches++;
  if (++s.pending >= s.batch) flush(s);
}

/** A 2-D grid of 256-wide workgroups covering n invocations. */
function grid(n: number): [number, number, number] {
  const groups = Math.ceil(n / W.WORKGROUP);
  const x = Math.min(groups, 65535);
  return [x, Math.ceil(groups / x), 1];
}
/** A 2-D grid of one workgroup per item. */
function gridOfGroups(n: number): [number, number, number] {
  const x = Math.min(n, 65535);
  return [x, Math.ceil(n / x), 1];
}

function newBuffer(s: State, n: number): any {
  return s.device.createBuffer({ size: Math.max(4, n * 4), usage: STORAGE | COPY_SRC | COPY_DST });
}

/** The device buffer holding t's elements: its own if it lives there, else an upload (freed after the batch). */
function input(s: State, t: Tensor): any {
  const dev = t.device;
  if (dev instanceof GPUStorage) {
    const b = dev.live();
    if (b !== null) return b;
  }
  const data = t.data as Float32Array;
  const buffer = newBuffer(s, data.length);
  s.queue.writeBuffer(buffer, 0, data, 0, data.length);
  s.trash.push(buffer);
  stats.uploads++;
  return buffer;
}

function result(buffer: any, n: number, shape: readonly number[]): Tensor {
  return new Tensor(new GPUStorage(buffer, n), shape);
}

/** The open device when every tensor operand is float32 and fits a binding and the ranks fit; else null (use JS). */
function usable(ts: (Tensor | number)[], rank = 0): State | null {
  const s = st;
  if (s === null || s.lost !== null || rank > W.MAX_RANK) return null;
  for (const t of ts) if (t instanceof Tensor && (t.dtype !== 'float32' || t.size > s.maxElements || t.rank > W.MAX_RANK)) return null;
  return s;
}
const fallback = <T>(ts: (Tensor | number)[], run: () => T): T => {
  if (st !== null && ts.every((t) => !(t instanceof Tensor) || t.dtype === 'float32')) stats.fallbacks++;
  return run();
};

// ---- the elementwise functions, by identity ----

let unaryExpr: Map<Function, string> | null = null;
let binaryExpr: Map<Function, string> | null = null;
function expressions(): void {
  if (unaryExpr !== null) return;
  unaryExpr = new Map();
  binaryExpr = new Map();
  // the rule table's own functions (neg is a closure there) and Math's, which most of them are
  for (const [name, rule] of Object.entries(unaryRules) as [string, { f: Function }][]) if (W.UNARY[name]) unaryExpr.set(rule.f, W.UNARY[name]);
  for (const name of Object.keys(W.UNARY)) if (typeof (Math as any)[name] === 'function') unaryExpr.set((Math as any)[name], W.UNARY[name]);
  for (const [name, rule] of Object.entries(binaryRules) as [string, { f: Function }][]) if (W.BINARY[name]) binaryExpr.set(rule.f, W.BINARY[name]);
  for (const name of ['pow', 'atan2', 'max', 'min']) binaryExpr.set((Math as any)[name], W.BINARY[name]);
}

const f32bits = (v: number) => new Uint32Array(new Float32Array([v]).buffer)[0];

// ---- the kernels ----

function map(x: Tensor, f: (v: number) => number): Tensor {
  expressions();
  const expr = unaryExpr!.get(f);
  const s = usable([x]);
  if (expr === undefined || s === null || x.size === 0) return fallback([x], () => JS.map(x, f));
  const n = x.size, out = newBuffer(s, n);
  dispatch(s, `map:${expr}`, () => W.mapShader(expr), [input(s, x)], out, [n], grid(n));
  return result(out, n, x.shape);
}

function zip(a: Tensor | number, b: Tensor | number, f: (x: number, y: number) => number): Tensor {
  expressions();
  const expr = binaryExpr!.get(f);
  const s = usable([a, b]);
  if (expr === undefined || s === null) return fallback([a, b], () => JS.zip(a, b, f));
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) {
    const t = (a instanceof Tensor ? a : b) as Tensor, v = (a instanceof Tensor ? b : a) as number;
    if (t.size === 0) return JS.zip(a, b, f);
    const layout = a instanceof Tensor ? 'ts' : 'st';
    const n = t.size, out = newBuffer(s, n);
    dispatch(s, `zip:${layout}:${expr}`, () => W.zipShader(expr, layout), [input(s, t)], out, [n, f32bits(v)], grid(n));
    return result(out, n, t.shape);
  }
  const same = JS.sameShape(a.shape, b.shape);
  const shape = same ? a.shape : JS.broadcastShapes(a.shape, b.shape);
  const n = sizeOf(shape);
  if (n === 0 || shape.length > W.MAX_RANK || n > s.maxElements) return fallback([a, b], () => JS.zip(a, b, f));
  const out = newBuffer(s, n);
  if (same) dispatch(s, `zip:same:${expr}`, () => W.zipShader(expr, 'same'), [input(s, a), input(s, b)], out, [n], grid(n));
  else {
    const prm = [n, shape.length, ...shape, ...JS.stridesIn(a.shape, shape), ...JS.stridesIn(b.shape, shape)];
    dispatch(s, `zip:bcast:${expr}`, () => W.zipShader(expr, 'bcast'), [input(s, a), input(s, b)], out, prm, grid(n));
  }
  return result(out, n, shape);
}

function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (JS.sameShape(x.shape, shape)) return x;
  const s = usable([x], shape.length);
  const nOut = sizeOf(shape);
  if (s === null || x.size === 0 || nOut === 0) return fallback([x], () => JS.sumTo(x, shape));
  const os = JS.stridesIn(shape, x.shape), xs = JS.stridesIn(x.shape, x.shape);
  const keptShape: number[] = [], keptStride: number[] = [], redShape: number[] = [], redStride: number[] = [];
  x.shape.forEach((d, i) => {
    if (d === 1) return;
    if (os[i] !== 0) keptShape.push(d), keptStride.push(xs[i]);
    else redShape.push(d), redStride.push(xs[i]);
  });
  const R = sizeOf(redShape);
  const prm = [nOut, R, keptShape.length, redShape.length, ...keptShape, ...keptStride, ...redShape, ...redStride];
  const out = newBuffer(s, nOut);
  // many terms per output: a workgroup each, summed as a tree; few: one invocation each
  if (R >= W.WORKGROUP) dispatch(s, 'sum:group', () => W.sumShader('group'), [input(s, x)], out, prm, gridOfGroups(nOut));
  else dispatch(s, 'sum:thread', () => W.sumShader('thread'), [input(s, x)], out, prm, grid(nOut));
  return result(out, nOut, shape);
}

/** dst[i] = x[base + Σ c·stride] over `shape`: the strided read behind broadcastTo, transpose and slice. */
function strided(s: State, x: Tensor, shape: readonly number[], strides: readonly number[], base: number): Tensor {
  const n = sizeOf(shape), out = newBuffer(s, n);
  dispatch(s, 'copy', W.copyShader, [input(s, x)], out, [n, shape.length, base, ...shape, ...strides], grid(n));
  return result(out, n, shape);
}

function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (JS.sameShape(x.shape, shape)) return x;
  JS.broadcastShapes(x.shape, shape); // the error, if they do not
  const s = usable([x], shape.length);
  if (s === null || x.size === 0 || sizeOf(shape) === 0 || sizeOf(shape) > s.maxElements) return fallback([x], () => JS.broadcastTo(x, shape));
  return strided(s, x, shape, JS.stridesIn(x.shape, shape), 0);
}

function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const s = usable([x]);
  if (s === null || x.size === 0) return fallback([x], () => JS.transpose(x, perm));
  const own = JS.stridesIn(x.shape, x.shape);
  return strided(s, x, perm.map((p) => x.shape[p]), perm.map((p) => own[p]), 0);
}

function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const s = usable([x]);
  if (s === null || sizeOf(size) === 0) return fallback([x], () => JS.slice(x, begin, size));
  const own = JS.stridesIn(x.shape, x.shape);
  return strided(s, x, size, own, begin.reduce((acc, b, i) => acc + b * own[i], 0));
}

function padInto(x: Tensor, shape: readonly number[], begin: readonly number[]): Tensor {
  const s = usable([x], shape.length);
  const n = sizeOf(shape);
  if (s === null || x.size === 0 || n === 0 || n > s.maxElements) return fallback([x], () => JS.padInto(x, shape, begin));
  const out = newBuffer(s, n);
  const prm = [n, shape.length, ...shape, ...begin, ...x.shape, ...JS.stridesIn(x.shape, x.shape)];
  dispatch(s, 'pad', W.padShader, [input(s, x)], out, prm, grid(n));
  return result(out, n, shape);
}

function gather(x: Tensor, indices: readonly number[], axis: number): Tensor {
  const s = usable([x]);
  const shape = [...x.shape.slice(0, axis), indices.length, ...x.shape.slice(axis + 1)];
  const n = sizeOf(shape);
  if (s === null || n === 0 || n > s.maxElements) return fallback([x], () => JS.gather(x, indices, axis));
  const out = newBuffer(s, n);
  const prm = [n, indices.length, x.shape[axis], sizeOf(x.shape.slice(axis + 1)), ...indices];
  dispatch(s, 'gather', W.gatherShader, [input(s, x)], out, prm, grid(n));
  return result(out, n, shape);
}

function scatterAdd(x: Tensor, indices: readonly number[], updates: Tensor, axis: number): Tensor {
  const s = usable([x, updates]);
  const L = indices.length, len = x.shape[axis], n = x.size;
  if (s === null || L === 0 || n === 0) return fallback([x, updates], () => JS.scatterAdd(x, indices, updates, axis));
  // CSR of the update rows aimed at each output row, in ascending order (the JS kernel's order of additions)
  const start = new Uint32Array(len + 1);
  for (const q of indices) start[q + 1]++;
  for (let q = 0; q < len; q++) start[q + 1] += start[q];
  const rows = new Uint32Array(L), fill = start.slice(0, len);
  indices.forEach((q, j) => (rows[fill[q]++] = j));
  const prm = new Uint32Array(4 + len + 1 + L);
  prm.set([n, L, len, sizeOf(x.shape.slice(axis + 1))]);
  prm.set(start, 4);
  prm.set(rows, 5 + len);
  const out = newBuffer(s, n);
  dispatch(s, 'scatter', W.scatterShader, [input(s, x), input(s, updates)], out, prm, grid(n));
  return result(out, n, x.shape);
}

function matmul(a: Tensor, b: Tensor, ta = false, tb = false): Tensor {
  const s = usable([a, b]);
  if (s === null) return fallback([a, b], () => JS.matmul(a, b, ta, tb));
  const ra = a.shape.length, rb = b.shape.length;
  const [ar, ac] = [a.shape[ra - 2], a.shape[ra - 1]], [br, bc] = [b.shape[rb - 2], b.shape[rb - 1]];
  const [m, k] = ta ? [ac, ar] : [ar, ac], [k2, n] = tb ? [bc, br] : [br, bc];
  if (k !== k2) return JS.matmul(a, b, ta, tb); // its error
  const batch = JS.broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const count = sizeOf(batch), total = count * m * n;
  const tiles = [Math.ceil(n / W.MM_TILE), Math.ceil(m / W.MM_TILE)];
  if (total === 0 || k === 0 || total > s.maxElements || count > 65535 || tiles[0] > 65535 || tiles[1] > 65535)
    return fallback([a, b], () => JS.matmul(a, b, ta, tb));
  const prm = [m, n, k, ta ? 1 : 0, tb ? 1 : 0, batch.length, ...batch, ...JS.stridesIn(a.shape.slice(0, -2), batch), ...JS.stridesIn(b.shape.slice(0, -2), batch)];
  const out = newBuffer(s, total);
  dispatch(s, 'matmul', W.matmulShader, [input(s, a), input(s, b)], out, prm, [tiles[0], tiles[1], count]);
  return result(out, total, [...batch, m, n]);
}

/** astype runs on the host: a float32 → float64 conversion needs the elements there anyway. */
const astype = JS.astype;

const kernels: Kernels = { map, zip, sumTo, broadcastTo, transpose, matmul, astype, slice, padInto, gather, scatterAdd };
