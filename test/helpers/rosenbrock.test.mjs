// The Rosenbrock references checked independently: both spellings agree, the Hessian matches Richardson differences of f, and H·v matches the Hessian.
import test from 'ava';
import { rosenbrock, rosenbrockPow, rosenbrockHessian, rosenbrockHvp } from './rosenbrock.mjs';
import { richardsonDerivative } from './reference.mjs';

test('rosenbrock references: spellings agree, Hessian = second differences, Hvp = H·v', (t) => {
  const x = [-1.2, 1, 0.5, 2, -0.7];
  t.true(Math.abs(rosenbrock(x) - rosenbrockPow(x)) <= 1e-12 * rosenbrock(x));
  const H = rosenbrockHessian(x);
  const at = (i, d) => x.map((v, k) => (k === i ? v + d : v));
  for (let i = 0; i < x.length; i++)
    for (let j = 0; j < x.length; j++) {
      // ∂²f/∂xᵢ∂xⱼ as the derivative in xᵢ of the derivative in xⱼ, each by Richardson extrapolation
      const fd = richardsonDerivative((a) => richardsonDerivative((b) => rosenbrock(at(j, b).map((v, k) => (k === i ? v + a : v))), 0), 0);
      t.true(Math.abs(fd - H[i][j]) <= 1e-5 * Math.max(1, Math.abs(H[i][j])), `H[${i}][${j}] ${H[i][j]} vs ${fd}`);
    }
  const v = [0.3, -1, 2, 0.5, 1];
  const Hv = H.map((row) => row.reduce((s, h, j) => s + h * v[j], 0));
  rosenbrockHvp(x, v).forEach((e, i) => t.true(Math.abs(e - Hv[i]) <= 1e-12 * Math.max(1, Math.abs(Hv[i]))));
});
