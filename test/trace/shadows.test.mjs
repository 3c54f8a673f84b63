// Typed-array shadows addressed by tracked indices: a count argument used as an index reads and writes the element.
import test from 'ava';
import { gradient, traced } from '../../dist/index.js';

test('a tracked index reads the tracked element of a Float64Array argument', (t) => {
  const [ga, gn] = gradient(traced((a, n) => a[n - 1] * a[n - 1]), new Float64Array([1, 2, 3]), 3);
  t.deepEqual([...ga], [0, 0, 6]); // d/da₂ a₂² = 2·3
  t.is(gn, null);
});

test('a tracked index writes into the element, and reading it back carries the gradient', (t) => {
  const f = traced((x, n) => {
    const buf = new Float64Array(4);
    buf[n] = x * x;
    return buf[2] * 3;
  });
  t.deepEqual(gradient(f, 1.5, 2), [2 * 1.5 * 3, null]);
});

test('typed-array callbacks keep their thisArg while elements are tracked', (t) => {
  const f = traced((a) => a.map(function (v) { return v * this.k; }, { k: 3 }).reduce((s, v) => s + v, 0));
  const [g] = gradient(f, new Float64Array([1, 2]));
  t.deepEqual([...g], [3, 3]); // d/daᵢ Σ 3aᵢ
});
