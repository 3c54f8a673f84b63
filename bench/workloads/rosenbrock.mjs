// Workload for bench/scalar.mjs: the Rosenbrock function in n = 10⁴ dimensions as a plain loop over a Float64Array, its hand-written gradient, and the peers' versions of the same loop.
//
// f(x) = Σ_{i<n-1} 100·(x_{i+1} − x_i²)² + (1 − x_i)²
// ∂f/∂x_i gets −400·a_i·x_i − 2·b_i from term i and 200·a_{i−1} from term i − 1 (a_i = x_{i+1} − x_i², b_i = 1 − x_i).

/** The domain code: what a user has, and what tracegrad differentiates as it is. */
export function rosenbrock(x) {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    s += 100 * a * a + b * b;
  }
  return s;
}

/** Value and gradient by hand, one pass; the gradient is a fresh Float64Array, as every contender returns (or `into`, zeroed first). */
export function rosenbrockGradient(x, into = null) {
  const n = x.length;
  const g = into === null ? new Float64Array(n) : into.fill(0);
  let s = 0;
  for (let i = 0; i < n - 1; i++) {
    const xi = x[i];
    const a = x[i + 1] - xi * xi;
    const b = 1 - xi;
    s += 100 * a * a + b * b;
    g[i] += -400 * a * xi - 2 * b;
    g[i + 1] += 200 * a;
  }
  return { value: s, grad: [g] };
}

export default {
  name: 'rosenbrock',
  title: 'Rosenbrock, n = 10⁴: a plain loop over a Float64Array',
  n: 10_000,
  // Peers record one graph node (tfjs, jax-js eager) per scalar op: ~7·10⁴ of them at n = 10⁴ took 4–11 s per
  // gradient in tfjs and ≥ 6 s at n = 1000 in jax-js eager here, so they are measured at these sizes instead.
  peerN: { tfjs: [1000], jaxEager: [100], jaxJit: [1000, 100] },
  target: 3,
  // Every value is a float32 number, so the float32 peers see exactly the same input.
  args: (n) => [Float64Array.from({ length: n }, (_v, i) => Math.fround(0.5 + 0.5 * Math.cos(i)))],
  argNames: ['x'],
  primal: rosenbrock,
  hand: rosenbrockGradient,
  /** The hand-written gradient into a buffer the caller keeps (what gradientInto is compared with). */
  handInto: ([g], x) => rosenbrockGradient(x, g),
  fdEntries: (n) => [[0, 0], [0, 1], [0, n >> 1], [0, n - 1]],

  /** adnn: one lifted scalar per element, one node per op. */
  adnn(ad, x) {
    const xs = Array.from(x, (v) => ad.lift(v));
    const { add, sub, mul } = ad.scalar;
    let s = 0;
    for (let i = 0; i < xs.length - 1; i++) {
      const a = sub(xs[i + 1], mul(xs[i], xs[i]));
      const b = sub(1, xs[i]);
      s = add(s, add(mul(mul(100, a), a), mul(b, b)));
    }
    s.backprop();
    return { value: ad.value(s), grad: [Float64Array.from(xs, ad.derivative)] };
  },

  /** tfjs, the scalar way: unstack the vector into scalar tensors and loop. */
  tfLoss: (tf) => (xt) => {
    const x = tf.unstack(xt);
    let s = tf.scalar(0);
    for (let i = 0; i < x.length - 1; i++) {
      const a = tf.sub(x[i + 1], tf.mul(x[i], x[i]));
      const b = tf.sub(1, x[i]);
      s = tf.add(s, tf.add(tf.mul(tf.mul(100, a), a), tf.mul(b, b)));
    }
    return s;
  },
  /** tfjs rewritten into whole-vector ops (Rosenbrock vectorises: two shifted slices). */
  tfVector: (tf) => (xt) => {
    const n = xt.shape[0];
    const head = xt.slice(0, n - 1), tail = xt.slice(1, n - 1);
    const a = tf.sub(tail, tf.square(head));
    const b = tf.sub(1, head);
    return tf.sum(tf.add(tf.mul(100, tf.square(a)), tf.square(b)));
  },

  /** jax-js, the scalar way. Its arrays are reference-counted: every use but the last takes `.ref`. */
  jaxLoss: (np) => (xa) => {
    const x = np.unstack(xa);
    let s = np.zeros([], { dtype: x[0].dtype });
    for (let i = 0; i < x.length - 1; i++) {
      const a = x[i + 1].ref.sub(x[i].ref.mul(x[i].ref));
      const b = np.subtract(1, x[i].ref);
      s = s.add(a.ref.mul(100).mul(a).add(b.ref.mul(b)));
    }
    for (const e of x) e.dispose();
    return s;
  },
  jaxVector: (np) => (xa) => {
    const n = xa.shape[0];
    const head = xa.ref.slice([0, n - 1]), tail = xa.slice([1, n]);
    const a = tail.sub(np.square(head.ref));
    const b = np.subtract(1, head);
    return np.sum(np.square(a).mul(100).add(np.square(b)));
  },
};
