// Fused elementwise evaluation on the native backend: the hook lib/tensor/fuse.ts and prims.ts call, handing a lazy expression to the addon's one-call evaluator.
import { kernels } from './backend';
import type { Data, DType } from './tensor';
import type { FusedNode, NativeKernels } from './native';

/** Whether the active kernels evaluate fused expressions natively (so elementwise ops should stay lazy). */
export const nativeFusion = (): boolean => typeof (kernels() as Partial<NativeKernels>).fused === 'function';

/**
 * The expression evaluated by the active native kernels: a new array of `shape`, or undefined where the backend is
 * not native or the expression has an op the addon does not compute (cbrt, log10, ...): then the JS loop runs.
 */
export function evaluateNative(root: FusedNode, shape: readonly number[], dtype: DType): Data | undefined {
  const k = kernels() as Partial<NativeKernels>;
  return typeof k.fused === 'function' ? k.fused(root, shape, dtype) : undefined;
}
