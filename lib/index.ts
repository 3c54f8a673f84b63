// tracegrad's public API: reverse-mode AD of existing JavaScript.
export { traced, isTraced } from './rewrite/traced';
export { gradient, withGradient, pullback, jacobian } from './api';
export { gradientInto, withGradientInto } from './into';
export { jvp, derivative } from './forward/api';
export { hessian, hvp, taylor } from './higher';
export { Complex, complex, conj } from './complex';
export { defineNumberType, type NumberType } from './rules/numbers';
export { defineAdjoint, nondifferentiable, ignore, hook, checkpoint, forwardDiff, type AdjointRule } from './rules/custom';
export { TracegradError } from './errors';
export { jit, tierOf } from './jit/tier';
export { gradcheck, type GradcheckReport, type GradcheckOptions, type LeafReport } from './check/gradcheck';
export { inspect, type Inspection, type TraceEntry } from './inspect';
export { Tracked, primal } from './trace/tracked';
export {
  Tensor, tensor, isTensor, sum, mean, max, min, logsumexp, softmax, matmul, reshape, transpose, broadcastTo, astype, setBackend, getBackend,
  slice, concat, stack, gather, scatterAdd, where, less, lessEqual, greater, greaterEqual, equal, oneHot,
  withParams, dense, chain, zeros, ones, randn, sgd, adam, conv1d, conv2d, prod, fusion, argmax, argmin, type Optimizer,
  useWebGPU, initWebGPU, releaseWebGPU, webgpuScope, disposeWebGPU, webgpuStats,
  type DType, type BackendName,
} from './tensor/index';
