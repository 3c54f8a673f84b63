// Releasing the WebGPU device while it is the backend moves the backend back to 'js' (it stayed 'webgpu', on a destroyed device); skipped where no adapter exists.
import test from 'ava';
import { useWebGPU, releaseWebGPU, getBackend, setBackend, tensor, matmul } from '../../dist/index.js';

const started = await useWebGPU().then(() => null, (e) => e.message);
const gpu = started === null ? test : test.skip;
if (started !== null) console.error(`webgpu-release.test.mjs: skipped: ${started}`);
test.after.always(() => releaseWebGPU());

gpu('releaseWebGPU() while WebGPU is the backend leaves the js backend in place, and kernels still run', (t) => {
  t.is(getBackend(), 'webgpu');
  const a = tensor([[1, 2], [3, 4]], { dtype: 'float32' });
  t.deepEqual(matmul(a, a).toArray(), [[7, 10], [15, 22]]);
  releaseWebGPU();
  t.is(getBackend(), 'js');
  t.deepEqual(matmul(a, a).toArray(), [[7, 10], [15, 22]]);
  t.throws(() => setBackend('webgpu'), { message: /released/ });
});
