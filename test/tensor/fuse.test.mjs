// Fusion of elementwise chains: fused results are bit-identical to operation-by-operation ones (float32 rounding included), chains run as one loop, and nothing unevaluated reaches the caller.
import test from 'ava';
import fc from 'fast-check';
import { tensor, traced, gradient, withGradient, jvp, sum, matmul, fusion, randn, getBackend, setBackend } from '../../dist/index.js';
import { createRequire } from 'node:module';

const { loadNative } = createRequire(import.meta.url)('../../dist/tensor/native.js');
// the native backend fuses too (one addon call per chain): the same properties hold there, against its unfused kernels
const BACKENDS = typeof loadNative() === 'string' ? ['js'] : ['js', 'native'];
const onBackend = (name, fn) => {
  const saved = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(saved);
  }
};

const withFusion = (on, fn) => {
  const saved = fusion.enabled;
  fusion.enabled = on;
  try {
    return fn();
  } finally {
    fusion.enabled = saved;
  }
};
const bits = (t, a, b, m) => {
  t.is(a.length, b.length, m);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return t.fail(`${m}: [${i}] ${a[i]} vs ${b[i]}`);
  t.pass();
};

const CHAINS = [
  (a, b) => Math.tanh(a * b + 1) * Math.exp(-a) - b / (1 + a * a),
  (a, b) => Math.sqrt(1 + a * a) * Math.sin(b) ** 2 + Math.atan2(a, b),
  (a, b) => Math.max(a, b) * Math.cosh(a * 0.5) - Math.log1p(b * b),
];

test(`fused elementwise chains give the unfused values and gradients bit for bit (broadcasting, float32 and float64; backends ${BACKENDS.join(', ')})`, (t) => {
  for (const backend of BACKENDS) onBackend(backend, () => fusedEqualsUnfused(t));
  t.pass();
});

function fusedEqualsUnfused(t) {
  // the last is big enough for the addon to cut a program between threads
  const shapes = fc.constantFrom([[40, 10], [40, 10]], [[40, 10], [10]], [[1, 300], [300]], [[20, 1], [1, 30]], [[100, 50], [50]]);
  fc.assert(fc.property(shapes, fc.constantFrom('float64', 'float32'), fc.nat(CHAINS.length - 1), fc.nat(1000), ([sa, sb], dtype, c, seed) => {
    const a = randn(sa, { seed, dtype }), b = randn(sb, { seed: seed + 1, dtype });
    const f = traced((a, b) => sum(chain(a, b) * 3), { sum, chain: traced(CHAINS[c]) });
    const fused = withFusion(true, () => withGradient(f, a, b));
    const plain = withFusion(false, () => withGradient(f, a, b));
    if (!Object.is(fused.value, plain.value)) throw new Error(`value ${fused.value} vs ${plain.value}`);
    for (const k of [0, 1]) {
      const x = fused.grad[k].data, y = plain.grad[k].data;
      if (fused.grad[k].device !== null) throw new Error('an unevaluated gradient reached the caller');
      for (let i = 0; i < y.length; i++) if (!Object.is(x[i], y[i])) throw new Error(`grad ${k}[${i}] ${x[i]} vs ${y[i]} (chain ${c}, ${dtype}, [${sa}] [${sb}], ${getBackend()})`);
    }
  }), { numRuns: 40 });
}

test('a chain runs as one generated loop (cached), only inside differentiation; jvp outputs come back evaluated', (t) => {
  if (getBackend() === 'webgpu') {
    t.log('fusion runs on the JS and native kernels; the backend is webgpu: skipped');
    return t.pass();
  }
  const W = randn([64, 32], { seed: 1 }), x = randn([32, 16], { seed: 2 }), b = randn([64, 1], { seed: 3 });
  const f = traced((W, x, b) => sum(Math.tanh(matmul(W, x) + b) * 2 - 1), { sum, matmul });
  withFusion(false, () => gradient(f, W, x, b));
  const plainGrad = withFusion(false, () => gradient(f, W, x, b));
  const before = fusion.evaluations;
  const fusedGrad = gradient(f, W, x, b);
  // forward: + b, tanh, * 2, - 1 are one loop (read by sum); backward: the cotangent chain through them is one or two
  t.true(fusion.evaluations - before <= 3, `${fusion.evaluations - before} fused loops for 4 + 4 elementwise operations`);
  t.true(fusion.evaluations - before >= 1);
  for (let k = 0; k < 3; k++) bits(t, fusedGrad[k].data, plainGrad[k].data, `gradient ${k}`);
  // outside differentiation nothing is deferred
  const g = traced((a) => Math.exp(a) * 2 + a);
  const y = g(randn([30, 30], { seed: 4 }));
  t.is(y.device, null, 'evaluated at once outside differentiation');
  const [v, dv] = jvp(traced((a) => Math.sin(a) * a), [randn([30, 30], { seed: 5 })], [randn([30, 30], { seed: 6 })]);
  t.true(v.device === null && dv.device === null, 'jvp returns evaluated tensors');
});
