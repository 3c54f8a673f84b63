// The tensor module's public face: construction, the functions, methods on Tensor and on tracked tensors, backends.
import { Tensor, tensor, isTensor, type DType } from './tensor';
import {
  sum, mean, maxOf, minOf, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype,
  slice, concat, stack, gather, scatterAdd, where, less, lessEqual, greater, greaterEqual, equal, oneHot, conv1d, conv2d, prod, argmax, argmin,
} from './prims';
import { setBackend, getBackend, useWebGPU, type BackendName } from './backend';
import { initWebGPU, releaseWebGPU, webgpuScope, disposeWebGPU, webgpuStats } from './webgpu';
import { withParams, dense, chain, zeros, ones, randn } from './layers';
import { sgd, adam, type Optimizer } from './optim';
import { fusion } from './fuse';
import { Tracked, primal } from '../trace/tracked';

/**
 * Methods on tensors, the same functions: `a.matmul(b)`, `t.sum(axis?)`, `t.mean(axis?)`, `t.reshape(shape)`,
 * `t.transpose(perm?)`, `t.T` (reversed axes). Inside traced code a tensor argument is tracked: a Tracked then
 * answers the same methods and `shape`, `dtype`, `size`, `rank`, `toArray()` from its primal.
 */
const methods: Record<string, (this: any, ...args: any[]) => any> = {
  matmul(b: any) { return matmul(this, b); },
  sum(axis?: number | number[]) { return sum(this, axis); },
  mean(axis?: number | number[]) { return mean(this, axis); },
  max(axis?: number) { return maxOf(this, axis); },
  min(axis?: number) { return minOf(this, axis); },
  reshape(shape: number[]) { return reshape(this, shape); },
  transpose(perm?: number[]) { return transpose(this, perm); },
  astype(dtype: DType) { return astype(this, dtype); },
  slice(begin: number[], end?: number[]) { return slice(this, begin, end); },
};
for (const [name, fn] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value: fn, writable: true, configurable: true });
  Object.defineProperty(Tracked.prototype, name, { value: fn, writable: true, configurable: true });
}
Object.defineProperty(Tensor.prototype, 'T', { get() { return transpose(this); }, configurable: true });
Object.defineProperty(Tracked.prototype, 'T', { get() { return transpose(this); }, configurable: true });
for (const name of ['shape', 'dtype', 'size', 'rank'])
  Object.defineProperty(Tracked.prototype, name, { get() { const v = primal(this); return isTensor(v) ? (v as any)[name] : undefined; }, configurable: true });
Object.defineProperty(Tracked.prototype, 'toArray', { value() { const v = primal(this); return isTensor(v) ? v.toArray() : v; }, writable: true, configurable: true });

export {
  Tensor, tensor, isTensor, sum, mean, maxOf as max, minOf as min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype,
  slice, concat, stack, gather, scatterAdd, where, less, lessEqual, greater, greaterEqual, equal, oneHot, setBackend, getBackend,
  withParams, dense, chain, zeros, ones, randn, sgd, adam, conv1d, conv2d, prod, fusion, argmax, argmin,
  useWebGPU, initWebGPU, releaseWebGPU, webgpuScope, disposeWebGPU, webgpuStats,
};
export type { DType, BackendName, Optimizer };
