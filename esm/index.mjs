// ES module entry: re-exports the CommonJS build, so `import` and `require` share one runtime (one set of rules and tapes).
import cjs from '../dist/index.js';

export const {
  traced, isTraced, gradient, withGradient, gradientInto, withGradientInto, pullback, jacobian, jvp, derivative, hessian, hvp, taylor, Complex, complex, conj, defineNumberType,
  defineAdjoint, nondifferentiable, ignore, hook, checkpoint, forwardDiff, TracegradError, Tracked, primal, jit, tierOf, inspect,
  Tensor, tensor, isTensor, sum, mean, max, min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype, setBackend, getBackend,
  slice, concat, stack, gather, scatterAdd, where, less, lessEqual, greater, greaterEqual, equal, oneHot,
  withParams, dense, chain, zeros, ones, randn, sgd, adam, conv1d, conv2d, prod, fusion, argmax, argmin,
  useWebGPU, initWebGPU, releaseWebGPU, webgpuScope, disposeWebGPU, webgpuStats, gradcheck,
} = cjs;
export default cjs;
