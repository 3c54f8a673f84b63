// Nested reverse mode: gradients of gradients, level tags keeping perturbations apart, rules differentiated again.
import test from 'ava';
import { gradient, traced } from '../dist/index.js';
import { richardsonDerivative } from './helpers/reference.mjs';

const close = (t, a, b, tol = 1e-9) => t.true(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);
const d = (f) => traced((x) => gradient(f, x)[0], { gradient, f });

test('second and third derivatives of x³', (t) => {
  const cube = traced((x) => x * x * x);
  t.deepEqual(gradient(d(cube), 2), [12]); // 6x
  t.deepEqual(gradient(d(d(cube)), 2), [6]);
});

test('second derivatives of exp, tanh and sigmoid (where tfjs fails) match closed forms', (t) => {
  const sigmoid = (x) => 1 / (1 + Math.exp(-x));
  for (const x of [-1.3, 0, 0.7, 2]) {
    close(t, gradient(d(traced((u) => Math.exp(u))), x)[0], Math.exp(x));
    const th = Math.tanh(x);
    close(t, gradient(d(traced((u) => Math.tanh(u))), x)[0], -2 * th * (1 - th * th));
    const s = sigmoid(x);
    close(t, gradient(d(traced((u) => 1 / (1 + Math.exp(-u)))), x)[0], s * (1 - s) * (1 - 2 * s));
  }
});

test('every unary rule differentiates again: second derivative vs finite differences of the closed-form first', (t) => {
  const cases = [
    ['sin', (x) => Math.cos(x), 0.4], ['cos', (x) => -Math.sin(x), 0.4], ['tan', (x) => 1 / Math.cos(x) ** 2, 0.4],
    ['log', (x) => 1 / x, 1.7], ['sqrt', (x) => 0.5 / Math.sqrt(x), 1.7], ['atan', (x) => 1 / (1 + x * x), 0.4],
    ['asin', (x) => 1 / Math.sqrt(1 - x * x), 0.4], ['cbrt', (x) => 1 / (3 * Math.cbrt(x) ** 2), 1.7],
    ['sinh', (x) => Math.cosh(x), 0.4], ['acosh', (x) => 1 / Math.sqrt(x * x - 1), 1.7], ['log1p', (x) => 1 / (1 + x), 0.4],
  ];
  for (const [name, firstDerivative, x] of cases) {
    const f = traced(new Function('x', `return Math.${name}(x)`));
    close(t, gradient(d(f), x)[0], richardsonDerivative(firstDerivative, x), 1e-7);
  }
});

test('perturbation confusion: derivative(x => x * derivative(y => x + y, 1), 1) is 1', (t) => {
  const f = traced((x) => x * gradient(traced((y) => x + y, { x }), 1)[0], { gradient, traced });
  t.deepEqual(gradient(f, 1), [1]);
});

test('perturbation confusion: derivative(x => x * derivative(y => x * y, 1), 4) is 8', (t) => {
  const f = traced((x) => x * gradient(traced((y) => x * y, { x }), 1)[0], { gradient, traced });
  t.deepEqual(gradient(f, 4), [8]);
});

test('vector second order: gradient of sum(gradient(y => sum(sin(y)), x)) is -sin(x)', (t) => {
  const inner = traced((y) => y.map(Math.sin).reduce((a, b) => a + b, 0));
  const outer = traced((x) => gradient(inner, x)[0].reduce((a, b) => a + b, 0), { gradient, inner });
  const x = [0.3, -1.2, 2.5];
  const [g] = gradient(outer, x);
  x.forEach((xi, i) => close(t, g[i], -Math.sin(xi)));
  t.true(x.every((v) => typeof v === 'number'));
});
