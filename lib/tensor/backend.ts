// Backends for tensor kernels: the pure-JS reference ('js') always; 'native' (SIMD addon) and 'webgpu' where they exist.
import * as JS from './kernels';
import { TracegradError } from '../errors';
import { webgpuKernels, initWebGPU, onWebGPURelease, type WebGPUOptions } from './webgpu';
import { loadNative } from './native';

export type BackendName = 'js' | 'native' | 'webgpu';
/** What a backend provides: the kernels lib/tensor/prims.ts calls. */
export type Kernels = Pick<typeof JS, 'map' | 'zip' | 'sumTo' | 'broadcastTo' | 'transpose' | 'matmul' | 'astype' | 'slice' | 'padInto' | 'gather' | 'scatterAdd'>;

const available = new Map<BackendName, () => Kernels | string>([
  ['js', () => JS],
  // the SIMD addon, where `npm install` could build it (native/build.mjs); otherwise the reason
  ['native', () => loadNative()],
  // needs `await initWebGPU()` first (WebGPU starts asynchronously): until then the reason says so
  ['webgpu', () => webgpuKernels()],
]);

let current: BackendName = 'js';
let active: Kernels = JS;
// a released device cannot run kernels: fall back to the reference ones
onWebGPURelease(() => {
  if (current === 'webgpu') (current = 'js'), (active = JS);
});

/** The kernels in use. */
export function kernels(): Kernels {
  return active;
}

/**
 * `setBackend(name)`: run tensor kernels on 'js' (always available), 'native' or 'webgpu'. Asking for one this
 * machine or build does not have throws and keeps the current one. The environment variable TRACEGRAD_BACKEND
 * chooses the initial backend the same way.
 *
 * @example
 * ```js
 * import { setBackend, getBackend } from 'tracegrad';
 * setBackend('js'); // always available
 * getBackend(); // → 'js'
 * setBackend('quantum'); // throws TracegradError /unknown backend/
 * getBackend(); // → 'js'
 * ```
 */
export function setBackend(name: BackendName): void {
  const load = available.get(name);
  if (load === undefined) throw new TracegradError(`tracegrad: setBackend: unknown backend ${JSON.stringify(name)}; the backends are 'js', 'native' and 'webgpu'.`);
  const k = load();
  if (typeof k === 'string') throw new TracegradError(`tracegrad: setBackend('${name}'): not available: ${k}. The 'js' backend always is.`);
  current = name;
  active = k;
}

/**
 * `getBackend()`: the name of the backend tensor kernels run on.
 *
 * @example
 * ```js
 * import { getBackend, setBackend } from 'tracegrad';
 * setBackend('js');
 * getBackend(); // → 'js'
 * ```
 */
export function getBackend(): BackendName {
  return current;
}

/**
 * `useWebGPU(options?)`: start WebGPU (Dawn) and make it the backend; throws with the reason when no adapter exists.
 * Resolves once tensor kernels run there.
 *
 * @example
 * ```js
 * import { useWebGPU, getBackend, setBackend, releaseWebGPU, tensor, matmul } from 'tracegrad';
 * const started = await useWebGPU().then(() => true, () => false); // it throws where no adapter exists
 * getBackend(); // → started ? 'webgpu' : 'js'
 * // float32 products run in WGSL there, on the JS kernels otherwise: the same numbers
 * const a = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
 * matmul(a, a); // → [[7, 10], [15, 22]]
 * setBackend('js');
 * releaseWebGPU(); // so the process can exit
 * ```
 */
export async function useWebGPU(options?: WebGPUOptions): Promise<void> {
  const k = await initWebGPU(options);
  if (typeof k === 'string') throw new TracegradError(`tracegrad: useWebGPU: not available: ${k}. The 'js' backend always is.`);
  setBackend('webgpu');
}

/**
 * The backend the environment variable TRACEGRAD_BACKEND asks for, chosen at load ('webgpu' asynchronously: `ready`
 * resolves when it is in use, or with a warning when it cannot be).
 */
const fromEnv = process.env.TRACEGRAD_BACKEND;
export const ready: Promise<void> =
  fromEnv === 'webgpu' ? useWebGPU().catch((e) => void process.emitWarning(e.message))
    : (fromEnv !== undefined && fromEnv !== '' && fromEnv !== 'js' && setBackend(fromEnv as BackendName), Promise.resolve());
