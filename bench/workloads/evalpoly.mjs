// Workload for bench/scalar.mjs: evalpoly, a polynomial of 10⁴ coefficients evaluated by Horner's rule with scalar indexing, its gradient with respect to x and every coefficient (Zygote issue 644: 17 µs primal, 679 ms gradient).
//
// p(x) = Σ_i c_i·x^i: ∂p/∂c_i = x^i, ∂p/∂x = Σ_i i·c_i·x^(i−1), which Horner's rule differentiated step by step gives
// as dp ← dp·x + p alongside p ← p·x + c_i.

/** The domain code: Horner's rule from the highest coefficient down, as Julia's Base.evalpoly loops. */
export function evalpoly(x, c) {
  let p = c[c.length - 1];
  for (let i = c.length - 2; i >= 0; i--) p = p * x + c[i];
  return p;
}

/** Value and gradient by hand: the derivative in x rides along Horner's loop; the coefficients' gradient is x^i. */
export function evalpolyGradient(x, c, into = null) {
  const n = c.length;
  let p = c[n - 1];
  let dp = 0;
  for (let i = n - 2; i >= 0; i--) {
    dp = dp * x + p;
    p = p * x + c[i];
  }
  const gc = into === null ? new Float64Array(n) : into; // every entry is assigned below
  let power = 1;
  for (let i = 0; i < n; i++) {
    gc[i] = power;
    power *= x;
  }
  return { value: p, grad: [dp, gc] };
}

// x = 1 − 2⁻¹⁰ is exact in float32 and keeps x^i ≥ 5·10⁻⁵ over 10⁴ terms (no float32 underflow in the peers).
const X = 1 - 2 ** -10;

export default {
  name: 'evalpoly',
  title: 'evalpoly, 10⁴ coefficients: Horner loop with scalar indexing, gradient w.r.t. x and the coefficients',
  n: 10_000,
  peerN: { tfjs: [1000], jaxEager: [100], jaxJit: [1000, 100] },
  target: 5,
  args: (n) => [X, Float64Array.from({ length: n }, (_v, i) => Math.fround(Math.sin(1.3 * i + 0.1)))],
  argNames: ['x', 'c'],
  primal: evalpoly,
  hand: evalpolyGradient,
  /** The hand-written gradient into a buffer the caller keeps (what gradientInto is compared with). */
  handInto: ([, gc], x, c) => evalpolyGradient(x, c, gc),
  // p has degree n − 1: a central difference in x needs h ≪ 1/n, so its first step is 2⁻²⁰.
  fdEntries: (n) => [[0, null, { h: 2 ** -20 }], [1, 0], [1, 1], [1, n >> 1], [1, n - 1]],
  // Σ|terms| of p and of ∂p/∂x: at n = 10⁴, ∂p/∂x ≈ −0.49 is a sum of terms up to ~10³ in size (Σ|terms| ≈ 6.7·10⁵),
  // so a float32 peer's error is judged against that, not against 0.49. ∂p/∂c_i = x^i is no sum: null.
  magnitudes(x, c) {
    let value = 0;
    let dx = 0;
    let power = 1;
    for (let i = 0; i < c.length; i++) {
      value += Math.abs(c[i]) * power;
      if (i + 1 < c.length) dx += (i + 1) * Math.abs(c[i + 1]) * power;
      power *= x;
    }
    return { value, grad: [dx, null] };
  },

  adnn(ad, x, c) {
    const xl = ad.lift(x);
    const cs = Array.from(c, (v) => ad.lift(v));
    const { add, mul } = ad.scalar;
    let p = cs[cs.length - 1];
    for (let i = cs.length - 2; i >= 0; i--) p = add(mul(p, xl), cs[i]);
    p.backprop();
    return { value: ad.value(p), grad: [ad.derivative(xl), Float64Array.from(cs, ad.derivative)] };
  },

  tfLoss: (tf) => (x, ct) => {
    const c = tf.unstack(ct);
    let p = c[c.length - 1];
    for (let i = c.length - 2; i >= 0; i--) p = tf.add(tf.mul(p, x), c[i]);
    return p;
  },
  /** Vectorised: Σ c ⊙ x^(0..n−1), the powers by one elementwise pow. */
  tfVector: (tf) => (x, ct) => tf.sum(tf.mul(ct, tf.pow(x, tf.range(0, ct.shape[0])))),

  jaxLoss: (np) => (xa, ca) => {
    const c = np.unstack(ca);
    let p = c[c.length - 1];
    for (let i = c.length - 2; i >= 0; i--) p = p.mul(xa.ref).add(c[i]);
    xa.dispose();
    return p;
  },
  jaxVectorUsesPow: true, // jax-js's float64 pow is about float32-accurate: bench/scalar.mjs checks this row as such
  jaxVector: (np) => (xa, ca) => {
    const powers = np.power(xa, np.arange(ca.shape[0]).astype(ca.dtype));
    return np.sum(ca.mul(powers));
  },
};
