// Built-in regression tests: tracked whole numbers as sizes and indices, built-ins passed as callbacks, keys, clones and typed arrays.
import test from 'ava';
import { gradient, withGradient } from '../../dist/index.js';
import { numericGradient, assertClose } from '../helpers/reference.mjs';

// ---------------------------------------------------------------------------------------------------------------
// tracked whole numbers used as sizes and indices (the integer argument n is tracked too; no gradient reaches it)

test('new Float64Array(n) with a tracked n', (t) => {
  const f = (n, x) => { const a = new Float64Array(n); a.fill(x); return a.reduce((s, v) => s + v * v, 0); };
  const r = withGradient(f, 3, 1.5);
  t.is(r.value, 3 * 1.5 ** 2);
  t.is(r.grad[0], null);
  assertClose(t, r.grad[1], 6 * 1.5);
});

test('new Float64Array(n) with n = Math.round(2x)', (t) => {
  const f = (x) => { const n = Math.round(x * 2); const a = new Float64Array(n); a[0] = x; return a.length * a[0]; };
  const r = withGradient(f, 1.5);
  t.is(r.value, 4.5);
  assertClose(t, r.grad, [3]);
});

test('new Array(n) with a tracked n', (t) => {
  const f = (n, x) => new Array(n).fill(x).reduce((s, v) => s + v, 0);
  const r = withGradient(f, 3, 1.5);
  t.is(r.value, 4.5);
  t.is(r.grad[0], null);
  assertClose(t, r.grad[1], 3);
  const g = withGradient((x) => new Array(Math.floor(x) + 1).length * x, 1.5);
  t.is(g.value, 3);
  assertClose(t, g.grad, [2]);
});

// Regression (fixed): Array(n) called without `new` on a tracked whole number builds [n] (length 1) instead of an array of length n
test('Array(n) without new with a tracked n', (t) => {
  const r = withGradient((x) => Array(Math.floor(x) + 1).length * x, 1.5);
  t.is(r.value, 3);
  assertClose(t, r.grad, [2]);
  const s = withGradient((n, x) => Array(n).fill(x).reduce((p, v) => p + v, 0), 3, 1.5);
  t.is(s.value, 4.5);
  assertClose(t, s.grad[1], 3);
});

test('slice(0, n), at(n), repeat(n) and Array.from({ length: n }) with a tracked n', (t) => {
  const slice = withGradient((n, x) => [x, x * x, x * x * x, 7].slice(0, n).reduce((s, v) => s + v, 0), 3, 1.5);
  t.is(slice.value, 1.5 + 1.5 ** 2 + 1.5 ** 3);
  t.is(slice.grad[0], null);
  assertClose(t, slice.grad[1], 1 + 2 * 1.5 + 3 * 1.5 ** 2);

  const at = withGradient((n, x) => [x, x * x, x * x * x].at(n), 1, 1.5);
  t.is(at.value, 2.25);
  t.is(at.grad[0], null);
  assertClose(t, at.grad[1], 3);
  const atNeg = withGradient((x) => [x, x * x, x * x * x].at(Math.round(x) - 3), 1.5); // at(-1)
  assertClose(t, atNeg.grad, [3 * 1.5 ** 2]);

  const rep = withGradient((n, x) => 'ab'.repeat(n).length * x, 3, 1.5);
  t.is(rep.value, 9);
  t.is(rep.grad[0], null);
  assertClose(t, rep.grad[1], 6);

  const from = withGradient((n, x) => Array.from({ length: n }, (_, i) => x * i).reduce((s, v) => s + v, 0), 4, 1.5);
  t.is(from.value, 1.5 * 6);
  t.is(from.grad[0], null);
  assertClose(t, from.grad[1], 6);
});

test('a tracked whole number as an element index and Map key', (t) => {
  const f = (x) => {
    const a = [10, 20, 30];
    const f64 = new Float64Array([1, 2, 3]);
    const m = new Map([[1, 7]]);
    const i = Math.floor(x);
    return a[i] * x + f64[i] * x * x + m.get(i) * x + a[(x * 1) | 0];
  };
  const plain = (x) => 20 * x + 2 * x * x + 7 * x + 20;
  const r = withGradient(f, 1.5);
  t.is(r.value, plain(1.5));
  assertClose(t, r.grad, numericGradient(plain, 1.5));
});

// ---------------------------------------------------------------------------------------------------------------
// built-ins passed as callbacks

test('filter(Boolean): a tracked 0 is dropped', (t) => {
  const r = withGradient((a) => a.filter(Boolean).length * a[1], [0, 2]);
  t.is(r.value, 2);
  assertClose(t, r.grad, [[0, 1]]);
  const s = withGradient((a) => a.filter(Boolean).reduce((p, v) => p + v * v, 0), [0, 2, 3]);
  t.is(s.value, 13);
  assertClose(t, s.grad, [[0, 4, 6]]);
});

test('every(Number.isFinite) and filter(Number.isFinite)', (t) => {
  const r = withGradient((a) => (a.every(Number.isFinite) ? a[0] * a[0] : 0), [3]);
  t.is(r.value, 9);
  assertClose(t, r.grad, [[6]]);
  const s = withGradient((a) => a.filter(Number.isFinite).reduce((p, v) => p + v * v, 0), [3, Infinity, 2]);
  t.is(s.value, 13);
  assertClose(t, s.grad, [[6, 0, 4]]);
});

test('findIndex(Number.isInteger) and find(Number.isInteger)', (t) => {
  const r = withGradient((a) => a.findIndex(Number.isInteger) * a[0], [3.5, 2]);
  t.is(r.value, 3.5);
  assertClose(t, r.grad, [[1, 0]]);
  const s = withGradient((a) => a.find(Number.isInteger) * a[0], [3.5, 2]);
  t.is(s.value, 7);
  assertClose(t, s.grad, [[2, 3.5]]);
});

test('map(Number), map(Math.abs), map(Math.sqrt), map(String)', (t) => {
  const plainNumber = (a) => a.map(Number).reduce((s, v) => s + v * v, 0);
  assertClose(t, gradient(plainNumber, [1, 2]), numericGradient(plainNumber, [1, 2]));
  assertClose(t, gradient((a) => a.map(Math.abs)[0] * 1, [-3]), [[-1]]);
  const sqrtSum = (a) => a.map(Math.sqrt).reduce((s, v) => s + v);
  assertClose(t, gradient(sqrtSum, [4, 9]), [[1 / 4, 1 / 6]]);
  const r = withGradient((a) => (a.map(String).join('|') === '-3' ? a[0] * a[0] : 0), [-3]);
  t.is(r.value, 9);
  assertClose(t, r.grad, [[-6]]);
});

test('some(isNaN) and map(Boolean)', (t) => {
  const r = withGradient((a) => (a.some(isNaN) ? 0 : a[0] * a[0]), [3]);
  t.is(r.value, 9);
  assertClose(t, r.grad, [[6]]);
  const s = withGradient((a) => a.map(Boolean).filter((v) => v).length * a[1], [0, 2]);
  t.is(s.value, 2);
  assertClose(t, s.grad, [[0, 1]]);
});

// ---------------------------------------------------------------------------------------------------------------
// identity and membership

test('Object.is on tracked values compares primals (incl. -0)', (t) => {
  const r = withGradient((x) => (Object.is(x, 1.5) ? x * x : x), 1.5);
  t.is(r.value, 2.25);
  assertClose(t, r.grad, [3]);
  const n = withGradient((x) => (Object.is(x, 1) ? x * x : x), 1.5);
  assertClose(t, n.grad, [1]);
  const z = withGradient((x) => (Object.is(x * 0, -0) ? x * x : x), -1.5);
  t.is(z.value, 2.25);
  assertClose(t, z.grad, [-3]);
  const a = withGradient((v) => (Object.is(v[0], 1) ? v[0] * 2 : v[0]), [1]);
  t.is(a.value, 2);
  assertClose(t, a.grad, [[2]]);
});

test('Array.prototype.includes.call / indexOf.call on tracked elements', (t) => {
  const r = withGradient((x) => (Array.prototype.includes.call([x], 1.5) ? x * x : x), 1.5);
  t.is(r.value, 2.25);
  assertClose(t, r.grad, [3]);
  const s = withGradient((x) => (Array.prototype.indexOf.call([2, x], 1.5) === 1 ? x * x : x), 1.5);
  t.is(s.value, 2.25);
  assertClose(t, s.grad, [3]);
});

test('new Set([...]) with tracked elements: has and size use the primal values', (t) => {
  const has = withGradient((x) => (new Set([x]).has(1.5) ? x * x : x), 1.5);
  t.is(has.value, 2.25);
  assertClose(t, has.grad, [3]);
  const size = withGradient((x) => new Set([x, 1.5]).size * x, 1.5);
  t.is(size.value, 1.5);
  assertClose(t, size.grad, [1]);
  const dedupe = withGradient((a) => new Set(a).size * a[0], [1, 1, 2]);
  t.is(dedupe.value, 2);
  assertClose(t, dedupe.grad, [[2, 0, 0]]);
});

// Regression (fixed): values read back out of a Set (for…of, spread) are plain: the gradient is silently null
test('new Set([...]) with tracked elements: iterating or spreading the Set carries the gradient', (t) => {
  const f = (x) => { let s = 0; for (const v of new Set([x, x * x])) s += v; return s; };
  const plain = (x) => x + x * x;
  assertClose(t, gradient(f, 1.5), numericGradient(plain, 1.5));
  assertClose(t, gradient((x) => [...new Set([x, x * x])][1], 1.5), [3]);
});

// Regression (fixed): Map keys read back with keys()/for…of are plain: the gradient is silently null
test('new Map([[k, v]]) with a tracked key: iterating keys() carries the gradient', (t) => {
  assertClose(t, gradient((x) => { let s = 0; for (const k of new Map([[x * x, 1]]).keys()) s += k; return s; }, 1.5), [3]);
});

test('new Map([[k, v]]) with a tracked key: get, has and size use the primal key; the value keeps its gradient', (t) => {
  const r = withGradient((x) => (new Map([[x, 1]]).get(1.5) ?? 0) * x, 1.5);
  t.is(r.value, 1.5);
  assertClose(t, r.grad, [1]);
  const s = withGradient((x) => { const m = new Map([[x, x * 3]]); return m.get(1.5) * m.size; }, 1.5);
  t.is(s.value, 4.5);
  assertClose(t, s.grad, [3]);
  const u = withGradient((x) => new Map([[x, 1], [1.5, 2]]).size * x, 1.5);
  t.is(u.value, 1.5);
  assertClose(t, u.grad, [1]);
  const arith = withGradient((x) => (new Map([[3, 'three']]).get(x * 2) === 'three' ? x * x : x), 1.5);
  t.is(arith.value, 2.25);
  assertClose(t, arith.grad, [3]);
  const count = withGradient((a) => { const m = new Map(); for (const v of a) m.set(v, (m.get(v) ?? 0) + 1); return m.get(1) * a[2]; }, [1, 1, 2]);
  t.is(count.value, 4);
  assertClose(t, count.grad, [[0, 0, 2]]);
});

// ---------------------------------------------------------------------------------------------------------------
// clones, typed arrays, sorting

test('structuredClone keeps the gradient (objects, nested arrays, Maps)', (t) => {
  const f = (x) => structuredClone({ a: x, b: [x * x] }).b[0] * structuredClone({ a: x }).a;
  const plain = (x) => x ** 3;
  const r = withGradient(f, 1.5);
  t.is(r.value, plain(1.5));
  assertClose(t, r.grad, numericGradient(plain, 1.5));
  assertClose(t, gradient((x) => structuredClone(new Map([['k', x]])).get('k') * x, 1.5), [3]);
  const c = withGradient((x) => { const o = structuredClone({ a: x }); return typeof o.a === 'number' ? 1 : 0; }, 1.5);
  t.is(c.value, 1);
});

test('Float64Array.of with tracked values', (t) => {
  const r = withGradient((x) => { const a = Float64Array.of(x, x * x); return a[0] * a[1]; }, 1.5);
  t.is(r.value, 1.5 ** 3);
  assertClose(t, r.grad, [3 * 1.5 ** 2]);
});

test('toSorted(cmp) routes gradients to the sorted positions and leaves the argument alone', (t) => {
  const f = (a) => a.toSorted((p, q) => p - q)[0] * 10 + a.toSorted((p, q) => q - p)[0];
  const a = [3, 1, 2];
  const r = withGradient(f, a);
  t.is(r.value, 13);
  assertClose(t, r.grad, numericGradient(f, [3, 1, 2]));
  t.deepEqual(a, [3, 1, 2]);
});

test('writes into Int32Array / Uint8Array / Uint8ClampedArray are truncated: the stored value is a constant', (t) => {
  const i32 = withGradient((x) => { const a = new Int32Array(1); a[0] = x; return a[0] * 2 + x; }, 1.5);
  t.is(i32.value, 3.5);
  assertClose(t, i32.grad, [1]);
  const u8 = withGradient((x) => { const a = new Uint8Array(2); a[0] = x * 100; a[1] += x; return a[0] + a[1] + x; }, 3);
  t.is(u8.value, 44 + 3 + 3); // 300 wraps to 44
  assertClose(t, u8.grad, [1]);
  const u8c = withGradient((x) => { const a = new Uint8ClampedArray(1); a[0] = x; return a[0] + x; }, 300.7);
  t.is(u8c.value, 255 + 300.7);
  assertClose(t, u8c.grad, [1]);
  const only = withGradient((x) => { const a = new Int32Array(1); a[0] = x; return a[0] * 2; }, 1.5);
  t.is(only.value, 2);
  t.is(only.grad[0], null);
  const set = withGradient((x) => { const a = new Int32Array(1); a.set([x]); return a[0] * 2 + x; }, 1.5);
  t.is(set.value, 3.5);
  assertClose(t, set.grad, [1]);
});

test('Reflect.get, Object.values and Object.entries on a Float64Array argument', (t) => {
  const fr = (a) => Reflect.get(a, 0) * a[1];
  assertClose(t, gradient(fr, new Float64Array([2, 3])), numericGradient(fr, new Float64Array([2, 3])));
  const fv = (a) => Object.values(a)[0] * Object.values(a)[1] ** 2;
  assertClose(t, gradient(fv, new Float64Array([2, 3])), numericGradient(fv, new Float64Array([2, 3])));
  const fe = (a) => Object.entries(a)[1][1] * a[0];
  assertClose(t, gradient(fe, new Float64Array([2, 3])), numericGradient(fe, new Float64Array([2, 3])));
  const fl = (x) => Reflect.get(new Float64Array([x * x]), 0) + Object.values(new Float64Array([x, x * x]))[1];
  assertClose(t, gradient(fl, 3), [12]);
  const arg = new Float64Array([2, 3]);
  gradient(fv, arg);
  t.deepEqual(Array.from(arg), [2, 3]);
});

// Regression (fixed): object destructuring `const { 0: u } = f64` of a Float64Array argument reads primal values: gradient silently null
test('object destructuring of a Float64Array argument', (t) => {
  const fd = (a) => { const { 0: u, 1: v } = a; return u * v; };
  assertClose(t, gradient(fd, new Float64Array([2, 3])), [new Float64Array([3, 2])]);
});

// Regression (fixed): Array.prototype.slice.call / reduce.call on a Float64Array argument read primal values (README: typed arrays passed to untraced code are seen as primals), so the gradient is lost silently
test('Array.prototype.slice.call and reduce.call on a Float64Array argument', (t) => {
  const fs = (a) => Array.prototype.slice.call(a)[1] * a[0];
  assertClose(t, gradient(fs, new Float64Array([2, 3])), [new Float64Array([3, 2])]);
  const fr = (a) => Array.prototype.reduce.call(a, (s, v) => s + v * v, 0);
  assertClose(t, gradient(fr, new Float64Array([2, 3])), [new Float64Array([4, 6])]);
});
