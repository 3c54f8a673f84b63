// Workload for bench/scalar.mjs: the sum of a 1000-element array written as a plain loop, where Zygote without a rule is 1090× the primal (Mooncake's CI table).
//
// f(x) = Σ x_i: every partial is 1, so the gradient costs a fill; what an AD tool adds on top of that is its overhead.

/** The domain code. */
export function sumLoop(x) {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
}

/** Value and gradient by hand: the sum, and a fresh Float64Array of ones (or `into`, filled with ones). */
export function sumLoopGradient(x, into = null) {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return { value: s, grad: [(into === null ? new Float64Array(x.length) : into).fill(1)] };
}

export default {
  name: 'sumloop',
  title: 'sum loop, n = 1000: `s += x[i]` over a Float64Array',
  n: 1000,
  peerN: { tfjs: [1000], jaxEager: [100], jaxJit: [1000, 100] },
  target: 3,
  args: (n) => [Float64Array.from({ length: n }, (_v, i) => Math.fround(Math.cos(i)))],
  argNames: ['x'],
  primal: sumLoop,
  hand: sumLoopGradient,
  /** The hand-written gradient into a buffer the caller keeps (what gradientInto is compared with). */
  handInto: ([g], x) => sumLoopGradient(x, g),
  fdEntries: (n) => [[0, 0], [0, n >> 1], [0, n - 1]],
  // Σ cos(i) cancels (|s| ≈ 0.4 against Σ|x_i| ≈ 640): a float32 peer's value is judged against Σ|x_i|.
  magnitudes: (x) => ({ value: x.reduce((s, v) => s + Math.abs(v), 0), grad: [null] }),

  adnn(ad, x) {
    const xs = Array.from(x, (v) => ad.lift(v));
    let s = 0;
    for (let i = 0; i < xs.length; i++) s = ad.scalar.add(s, xs[i]);
    s.backprop();
    return { value: ad.value(s), grad: [Float64Array.from(xs, ad.derivative)] };
  },

  tfLoss: (tf) => (xt) => {
    const x = tf.unstack(xt);
    let s = tf.scalar(0);
    for (let i = 0; i < x.length; i++) s = tf.add(s, x[i]);
    return s;
  },
  tfVector: (tf) => (xt) => tf.sum(xt),

  jaxLoss: (np) => (xa) => {
    const x = np.unstack(xa);
    let s = np.zeros([], { dtype: x[0].dtype });
    for (let i = 0; i < x.length; i++) s = s.add(x[i]);
    return s;
  },
  jaxVector: (np) => (xa) => np.sum(xa),
};
