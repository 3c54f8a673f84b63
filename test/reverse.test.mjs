// The backward sweep and pullback seeds: structural reach (0 vs null), vector-Jacobian products, jacobian rows.
import test from 'ava';
import { gradient, pullback, jacobian, withGradient } from '../dist/index.js';

test('reach is structural: 0 * x has gradient 0, a constant output has gradient null', (t) => {
  t.deepEqual(gradient((x) => 0 * Math.sin(x), 1.3), [0]);
  t.deepEqual(gradient((_x) => 3, 1.3), [null]);
  t.deepEqual(gradient((x, y) => x * 2, 1, 2), [2, null]);
});

test('a value used many times accumulates every path (fan-out)', (t) => {
  // f = x·x·x + x·x + x → 3x² + 2x + 1
  t.deepEqual(gradient((x) => x * x * x + x * x + x, 2), [17]);
});

test('pullback of an array output takes a seed of the same shape (a vector-Jacobian product)', (t) => {
  const f = (x, y) => [x * y, x + y, Math.sin(x)];
  const [y, back] = pullback(f, 2, 3);
  t.deepEqual(y, [6, 5, Math.sin(2)]);
  // vᵀJ with J = [[y, x], [1, 1], [cos x, 0]]
  t.deepEqual(back([1, 0, 0]), [3, 2]);
  t.deepEqual(back([0, 1, 0]), [1, 1]);
  const [gx, gy] = back([2, -1, 4]);
  t.is(gx, 2 * 3 - 1 + 4 * Math.cos(2));
  t.is(gy, 2 * 2 - 1);
});

test('pullback of an object output takes an object seed', (t) => {
  const [y, back] = pullback((x) => ({ sq: x * x, cube: x * x * x }), 2);
  t.deepEqual(y, { sq: 4, cube: 8 });
  t.deepEqual(back({ sq: 1, cube: 0 }), [4]);
  t.deepEqual(back({ sq: 0, cube: 1 }), [12]);
});

test('back may be called many times and is linear in the seed', (t) => {
  const [, back] = pullback((x) => Math.exp(x) * x, 0.5);
  const g1 = back(1)[0];
  t.is(back(3)[0], 3 * g1);
  t.is(back()[0], g1);
  t.is(g1, Math.exp(0.5) * 1.5); // (x + 1)eˣ
});

test('jacobian: one row per output for an array argument, a column for a number argument', (t) => {
  const f = (v, s) => [v[0] * v[1] * s, v[0] + s * s];
  const [jv, js] = jacobian(f, [2, 3], 5);
  t.deepEqual(jv, [[15, 10], [1, 0]]);
  t.deepEqual(js, [6, 10]);
});

test('withGradient keeps auxiliary outputs as plain values', (t) => {
  const { value, grad } = withGradient((x) => ({ loss: x * x, aux: [x + 1, 'label'], nested: { v: x * 3 } }), 2);
  t.deepEqual(value, { loss: 4, aux: [3, 'label'], nested: { v: 6 } });
  t.deepEqual(grad, [4]);
});
