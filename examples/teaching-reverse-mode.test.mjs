import test from 'ava';
import { Value, grad } from './teaching-reverse-mode.mjs';

const close = (t, actual, expected, tol = 1e-9) =>
  t.true(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${actual} vs ${expected}`);

// Central finite difference of a plain-number function, independent of Value.
const fd = (f, xs, i, h = 1e-5) => {
  const up = xs.slice(); up[i] += h;
  const dn = xs.slice(); dn[i] -= h;
  return (f(...up) - f(...dn)) / (2 * h);
};

test('d/dx x^3 = 3x^2, via pow and via a while loop', (t) => {
  const loopPow = (x, n) => { let r = new Value(1); let i = 0; while (i < n) { r = r.mul(x); i++; } return r; };
  for (const x of [-2, 0.5, 5]) {
    close(t, grad((v) => v.pow(3), x)[0], 3 * x * x);
    close(t, grad((v) => loopPow(v, 3), x)[0], 3 * x * x);
  }
  t.is(grad((v) => loopPow(v, 3), 5)[0], 75);
});

test('d/dx sin(x)·x = cos(x)·x + sin(x)', (t) => {
  for (const x of [-1.3, 0, 0.7, 2]) close(t, grad((v) => v.sin().mul(v), x)[0], Math.cos(x) * x + Math.sin(x));
});

test('d/dx tanh(x) = 1 - tanh(x)^2', (t) => {
  for (const x of [-3, -0.2, 0, 1.5]) close(t, grad((v) => v.tanh(), x)[0], 1 - Math.tanh(x) ** 2);
});

test('product rule: d(ab) = [b, a]', (t) => {
  t.deepEqual(grad((a, b) => a.mul(b), 2, 3), [3, 2]);
  const [da, db] = grad((a, b) => a.sin().mul(b.exp()), 0.4, -0.6);
  close(t, da, Math.cos(0.4) * Math.exp(-0.6));
  close(t, db, Math.sin(0.4) * Math.exp(-0.6));
});

test('a value reused several times accumulates: d/dx (x*x*x + x) = 3x^2 + 1', (t) => {
  for (const x of [-1.5, 0, 2, 4]) close(t, grad((v) => v.mul(v).mul(v).add(v), x)[0], 3 * x * x + 1);
  // Shared intermediate: y = x^2 used twice, f = y*y + y, df/dx = (2y + 1)·2x
  const x = 1.7, y = x * x;
  close(t, grad((v) => { const s = v.mul(v); return s.mul(s).add(s); }, x)[0], (2 * y + 1) * 2 * x);
});

test('sub, neg, div, exp, log, cos match their closed forms', (t) => {
  const [a, b] = [1.3, -0.8];
  t.deepEqual(grad((p, q) => p.sub(q), a, b), [1, -1]);
  t.deepEqual(grad((p) => p.neg(), a), [-1]);
  const [da, db] = grad((p, q) => p.div(q), a, b);
  close(t, da, 1 / b);
  close(t, db, -a / (b * b));
  close(t, grad((p) => p.exp(), a)[0], Math.exp(a));
  close(t, grad((p) => p.log(), a)[0], 1 / a);
  close(t, grad((p) => p.cos(), a)[0], -Math.sin(a));
});

test('constants and unused inputs get zero gradient', (t) => {
  t.deepEqual(grad((p, q) => p.mul(3), 2, 9), [3, 0]);
  t.deepEqual(grad(() => 7, 1), [0]);
});

// Each case: the Value version and an independent plain-Math version of the same function.
const cases = [
  ['x^3', (x) => x.pow(3), (x) => x ** 3, [1.1]],
  ['sin(x)·x', (x) => x.sin().mul(x), (x) => Math.sin(x) * x, [0.9]],
  ['tanh', (x) => x.tanh(), Math.tanh, [0.3]],
  ['x*x*x+x', (x) => x.mul(x).mul(x).add(x), (x) => x * x * x + x, [-0.7]],
  ['mixed', (x, y) => x.mul(y).exp().div(y.cos().add(2)).sub(x.log().mul(y.pow(2))).neg(),
    (x, y) => -(Math.exp(x * y) / (Math.cos(y) + 2) - Math.log(x) * y ** 2), [0.8, 1.4]],
  ['tanh(ab)+a/b', (a, b) => a.mul(b).tanh().add(a.div(b)), (a, b) => Math.tanh(a * b) + a / b, [0.5, -1.2]],
];

for (const [name, f, plain, xs] of cases) {
  test(`matches central finite difference: ${name}`, (t) => {
    const g = grad(f, ...xs);
    xs.forEach((_, i) => close(t, g[i], fd(plain, xs, i), 1e-6));
  });
}
