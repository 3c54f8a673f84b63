// The benchmarks' peers: loads TensorFlow.js (cpu and wasm backends) and jax-js (wasm) when they are installed and start on this Node (or says why not), and calls them on plain JS data.
//
// Every loader returns `{ skip: reason }` instead of throwing, so a suite prints the reason and keeps its other rows.
// Nothing here downloads: tfjs's wasm binaries and jax-js's kernels ship inside their npm packages.
// (tfjs-node is deliberately not used: its install step downloads libtensorflow.)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * @tensorflow/tfjs through its CommonJS entry: the ESM files under tfjs-core/dist use extensionless imports that Node's
 * ESM resolver rejects, and only the full package's Node bundle registers the gradients (tfjs-core alone has none).
 * Resolves to `{ tf, versions }` or `{ skip }`.
 */
export async function loadTfjs() {
  let tf;
  try {
    tf = require('@tensorflow/tfjs');
  } catch (e) {
    return { skip: `@tensorflow/tfjs did not load (${e.code ?? e.message}); \`npm install\` installs it as a devDependency` };
  }
  // PROD drops tfjs's debug checks and its "install tfjs-node" banner (which would land on stderr once per process).
  tf.env().set('PROD', true);
  let wasm = null;
  try {
    wasm = require('@tensorflow/tfjs-backend-wasm'); // registers the 'wasm' backend on the same tfjs-core instance
  } catch (e) {
    wasm = { skip: `@tensorflow/tfjs-backend-wasm did not load (${e.code ?? e.message})` };
  }
  return { tf, wasm, versions: { tfjs: tf.version.tfjs ?? tf.version_core } };
}

/**
 * Switches tfjs to `name` ('cpu' or 'wasm'). Resolves to null on success, else the reason. tfjs's setBackend resolves
 * to false (and logs) when a backend fails to initialise, so the outcome is read back with getBackend.
 */
export async function useTfBackend(peer, name) {
  if (name === 'wasm' && peer.wasm?.skip) return peer.wasm.skip;
  try {
    const ok = await peer.tf.setBackend(name);
    await peer.tf.ready();
    if (!ok || peer.tf.getBackend() !== name) return `tfjs could not initialise its '${name}' backend`;
    if (name === 'wasm' && !peer.wasmFeatures) {
      // which of its three binaries tfjs picked: SIMD and threads are detected at start
      const env = peer.tf.env();
      peer.wasmFeatures = { simd: await env.getAsync('WASM_HAS_SIMD_SUPPORT'), threads: await env.getAsync('WASM_HAS_MULTITHREAD_SUPPORT') };
    }
    return null;
  } catch (e) {
    return `tfjs backend '${name}' failed to start: ${e.message}`;
  }
}

/** A short description of the running tfjs backend, for the report. */
export function tfBackendInfo(peer) {
  const name = peer.tf.getBackend();
  if (name !== 'wasm') return `tfjs ${peer.versions.tfjs} ${name}`;
  const threads = typeof peer.wasm.getThreadsCount === 'function' ? peer.wasm.getThreadsCount() : '?';
  const simd = peer.wasmFeatures?.simd ? 'SIMD' : 'no SIMD';
  return `tfjs ${peer.versions.tfjs} wasm (${simd}, ${threads} thread${threads === 1 ? '' : 's'})`;
}

/**
 * @jax-js/jax on its wasm device. Node 20 has no Float16Array, and jax-js tests `instanceof Float16Array` whenever an
 * array is made from a typed array; a stand-in class that cannot be constructed makes those tests false (nothing here
 * uses float16, and any attempt would throw rather than silently store the wrong thing).
 * Resolves to `{ jax, version }` or `{ skip }`.
 */
export async function loadJax() {
  if (globalThis.Float16Array === undefined) {
    globalThis.Float16Array = class Float16Array {
      constructor() {
        throw new Error('Float16Array is not available on this Node (benchmark stand-in)');
      }
    };
  }
  let jax;
  try {
    jax = await import('@jax-js/jax');
  } catch (e) {
    return { skip: `@jax-js/jax did not load (${e.code ?? e.message}); \`npm install\` installs it as a devDependency` };
  }
  try {
    const devices = await jax.init('wasm');
    if (!devices.includes('wasm')) return { skip: `jax-js started without its wasm device (devices: ${devices.join(', ')})` };
    jax.defaultDevice('wasm');
  } catch (e) {
    return { skip: `jax-js init('wasm') failed: ${e.message}` };
  }
  return { jax, version: versionOf('@jax-js/jax') };
}

// ---- calling them on plain JS data (bench/scalar.mjs) ------------------------------------------------------------

/**
 * fn(...args) → { value, grad } from tfjs's valueAndGrads of `loss`: numbers become scalar tensors and Float64Arrays
 * float32 vectors; the value and gradients are read back as a number and Float64Arrays (or numbers for scalars).
 */
export function tfValueAndGrads(tf, loss) {
  const valueAndGrads = tf.valueAndGrads(loss);
  return (...args) => tf.tidy(() => {
    const inputs = args.map((a) => (typeof a === 'number' ? tf.scalar(a) : tf.tensor1d(Float32Array.from(a))));
    const { value, grads } = valueAndGrads(inputs);
    return {
      value: value.dataSync()[0],
      grad: grads.map((g) => (g.rank === 0 ? g.dataSync()[0] : Float64Array.from(g.dataSync()))),
    };
  });
}

/**
 * The same from jax-js's valueAndGrad over all `arity` arguments, in float64, optionally under jit. Reading an array
 * back (dataSync) also disposes it, as jax-js's reference counting requires.
 */
export function jaxValueAndGrad(jax, loss, arity, { jit }) {
  const { numpy: np } = jax;
  let valueAndGrad = jax.valueAndGrad(loss, { argnums: Array.from({ length: arity }, (_v, i) => i) });
  if (jit) valueAndGrad = jax.jit(valueAndGrad);
  return (...args) => {
    const [value, grads] = valueAndGrad(...args.map((a) => np.array(a, { dtype: np.float64 })));
    return {
      value: value.dataSync()[0],
      grad: grads.map((g) => (g.shape.length === 0 ? g.dataSync()[0] : Float64Array.from(g.dataSync()))),
    };
  };
}

/** The version of an installed package, or null (read from its package.json: some export maps hide that file). */
export function versionOf(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    // hidden by an export map, or no such package: look for it next to the entry point
  }
  try {
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const meta = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        if (meta.name === pkg) return meta.version;
      } catch {
        // no package.json at this level: keep walking up
      }
    }
  } catch {
    // not installed
  }
  return null;
}
