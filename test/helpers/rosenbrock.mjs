// Rosenbrock's function in two spellings, and its closed-form Hessian and Hessian-vector product: references for the second-order tests.

/** Σᵢ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)², with powers. */
export const rosenbrockPow = (x) => {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1] - x[i] * x[i]) ** 2 + (1 - x[i]) ** 2;
  return s;
};

/** The same with named terms and products (the shape of the benchmarks). */
export function rosenbrock(x) {
  let s = 0;
  for (let i = 0; i < x.length - 1; i++) {
    const a = x[i + 1] - x[i] * x[i];
    const b = 1 - x[i];
    s += 100 * a * a + b * b;
  }
  return s;
}

/** Each term adds ∂₀₀ = 1200x₀² − 400x₁ + 2, ∂₀₁ = ∂₁₀ = −400x₀, ∂₁₁ = 200 (x₀ = xᵢ, x₁ = xᵢ₊₁): tridiagonal. */
export function rosenbrockHessian(x) {
  const n = x.length;
  const H = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let i = 0; i < n; i++) {
    if (i < n - 1) {
      H[i][i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      H[i][i + 1] = H[i + 1][i] = -400 * x[i];
    }
    if (i > 0) H[i][i] += 200;
  }
  return H;
}

/** H·v from the same entries, without forming H. */
export function rosenbrockHvp(x, v) {
  const out = new Array(x.length).fill(0);
  for (let i = 0; i < x.length - 1; i++) {
    const d = 1200 * x[i] * x[i] - 400 * x[i + 1] + 2, o = -400 * x[i];
    out[i] += d * v[i] + o * v[i + 1];
    out[i + 1] += o * v[i] + 200 * v[i + 1];
  }
  return out;
}
