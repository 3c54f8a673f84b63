// Tests of gradientInto and withGradientInto: gradients written into the caller's buffers, on both tiers, and the errors for buffers that cannot be written.
import test from 'ava';
import { traced, gradient, gradientInto, withGradientInto, withGradient, derivative, tierOf, jit, TracegradError } from '../dist/index.js';
import { same, show } from './helpers/tiers.mjs';
import { numericGradient, assertClose } from './helpers/reference.mjs';

// Σ x_i² + x_0·x_1: gradient 2x + (x_1, x_0, 0, …), in closed form
const quadratic = (x) => {
  let s = x[0] * x[1];
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
};
const quadraticGradient = (x) => Array.from(x, (v, i) => 2 * v + (i === 0 ? x[1] : i === 1 ? x[0] : 0));

test('a Float64Array gradient is written into the buffer on the compiled tier: the buffer is returned, its old contents gone', (t) => {
  const f = traced(quadratic);
  const x = Float64Array.of(0.5, -1.25, 3, 2);
  const buffer = new Float64Array(4).fill(NaN);
  const [g] = gradientInto([buffer], f, x);
  t.is(g, buffer);
  t.deepEqual(Array.from(buffer), quadraticGradient(x));
  t.is(tierOf(f), 'compiled');
  // the same buffer again, at another point
  const y = Float64Array.of(-2, 1, 0.25, 7);
  gradientInto([buffer], f, y);
  t.deepEqual(Array.from(buffer), quadraticGradient(y));
});

test('written gradients are the allocating ones bit for bit, on both tiers', (t) => {
  const f = traced((x, w) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += Math.sin(x[i] * w) / (1 + x[i] * x[i]);
    return s * w;
  });
  const x = Float64Array.from({ length: 50 }, (_v, i) => Math.cos(i) * 3);
  const fresh = gradient(f, x, 0.7);
  const buffer = new Float64Array(50);
  const into = gradientInto([buffer, null], f, x, 0.7);
  t.true(same(into[0], fresh[0]), `${show(into[0])} vs ${show(fresh[0])}`);
  t.true(Object.is(into[1], fresh[1]));
  jit.enabled = false;
  try {
    const interpreted = gradient(f, x, 0.7);
    const buffer2 = new Float64Array(50).fill(NaN);
    const [g] = gradientInto([buffer2], f, x, 0.7);
    t.is(g, buffer2);
    t.true(same(buffer2, interpreted[0]));
    t.true(same(buffer, interpreted[0]), 'compiled into the buffer = interpreted');
  } finally {
    jit.enabled = true;
  }
});

test('an argument the loss does not read: its buffer is zeroed and returned (gradient returns null there)', (t) => {
  const f = traced((x, y) => y[0] * 2);
  const x = Float64Array.of(1, 2), y = Float64Array.of(3);
  t.deepEqual(gradient(f, x, y), [null, Float64Array.of(2)]);
  const bx = Float64Array.of(9, 9), by = Float64Array.of(9);
  const [gx, gy] = gradientInto([bx, by], f, x, y);
  t.is(gx, bx);
  t.deepEqual(Array.from(bx), [0, 0]);
  t.deepEqual(Array.from(gy), [2]);
});

test('an array of numbers takes an Array or a Float64Array; a number argument takes null and its gradient is returned', (t) => {
  const f = traced((x, c) => (x[0] - c) ** 2 + x[1] * c);
  const a = [1.5, -2];
  const asArray = [7, 7];
  const [ga, gc] = gradientInto([asArray, null], f, a, 0.5);
  t.is(ga, asArray);
  t.deepEqual(asArray, [2, 0.5]);
  t.is(gc, -2 - 2);
  const asTyped = new Float64Array(2);
  gradientInto([asTyped], f, a, 0.5);
  t.deepEqual(Array.from(asTyped), [2, 0.5]);
});

test('a model kept in an object: its copy receives the gradient, array fields in place, number fields assigned', (t) => {
  const predict = traced((m, x) => {
    let s = m.b;
    for (let i = 0; i < x.length; i++) s += m.w[i] * x[i];
    return s * s;
  });
  const model = { w: Float64Array.of(0.5, -1, 2), b: 0.25 };
  const x = Float64Array.of(1, 2, 3);
  const grad = structuredClone(model);
  const wBuffer = grad.w;
  const [g] = gradientInto([grad], predict, model, x);
  t.is(g, grad);
  t.is(grad.w, wBuffer);
  const y = 0.25 + 0.5 - 2 + 6; // the prediction
  t.deepEqual(Array.from(grad.w), [2 * y * 1, 2 * y * 2, 2 * y * 3]);
  t.is(grad.b, 2 * y);
  t.is(tierOf(predict), 'compiled');
  // nested objects and arrays of objects, on the interpreter (an array of objects is outside the compiled subset)
  const layers = traced((net) => net.layers[0].w[0] * net.layers[1].w[1] + net.scale);
  const net = { layers: [{ w: [2, 3] }, { w: [5, 7] }], scale: 1 };
  const into = structuredClone(net);
  gradientInto([into], layers, net);
  t.deepEqual(into, { layers: [{ w: [7, 0] }, { w: [0, 2] }], scale: 1 });
});

test('gradientInto matches finite differences on a loop with branches (the buffer reused across points)', (t) => {
  const f = traced((x) => {
    let s = 0;
    for (let i = 0; i + 1 < x.length; i++) s += x[i] > 0 ? Math.exp(-x[i] * x[i + 1]) : x[i] * x[i + 1] * x[i + 1];
    return s;
  });
  const buffer = new Float64Array(6);
  for (const point of [[0.3, -0.2, 0.5, 1.1, -0.7, 0.4], [-0.3, 0.8, 0.1, -1.2, 0.6, 0.9]]) {
    const x = Float64Array.from(point);
    gradientInto([buffer], f, x);
    assertClose(t, Array.from(buffer), numericGradient((v) => f(Float64Array.from(v)), point)[0]);
  }
});

test('withGradientInto returns the value (and auxiliary output) beside the written gradient', (t) => {
  const f = traced((w) => (w[0] - 1) ** 2 + 3 * w[1]);
  const g = new Float64Array(2);
  const r = withGradientInto([g], f, Float64Array.of(4, 2));
  t.is(r.value, 15);
  t.is(r.grad[0], g);
  t.deepEqual(Array.from(g), [6, 3]);
  // [loss, ...auxiliary] as withGradient takes it (interpreted: an array output)
  const aux = (w) => [w[0] * w[1], 'note'];
  const g2 = [0, 0];
  const r2 = withGradientInto([g2], aux, [2, 5]);
  t.deepEqual(r2.value, [10, 'note']);
  t.deepEqual(g2, [5, 2]);
  t.deepEqual(withGradient(aux, [2, 5]).grad, [[5, 2]]);
});

test('a buffer the function reads as a table is not written while it runs: the call is interpreted and the gradient copied in', (t) => {
  // the loss reads `table` (a captured array) in both passes; handing the same array in as the gradient buffer must
  // not change what it reads
  const scope = { table: Float64Array.of(1, 2, 3) };
  const f = traced((x) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * x[i] * table[i];
    return s;
  }, scope);
  const x = Float64Array.of(1, 1, 1);
  t.deepEqual(gradient(f, x), [Float64Array.of(2, 4, 6)]);
  t.is(tierOf(f), 'compiled');
  const [g] = gradientInto([scope.table], f, x);
  t.is(g, scope.table);
  t.deepEqual(Array.from(scope.table), [2, 4, 6]);
  // an overlapping view of the table's buffer, likewise
  const shared = new Float64Array(6);
  shared.set([1, 2, 3]);
  scope.table = shared.subarray(0, 3);
  const view = shared.subarray(2, 5);
  gradientInto([view], f, x);
  t.deepEqual(Array.from(view), [2, 4, 6]);
});

test('a compiled call that bails out (an index out of range) leaves the interpreter\'s gradient in the buffer', (t) => {
  const f = traced((x, k) => x[0] * x[1] + x[k] * 3);
  const x = Float64Array.of(2, 5, 7);
  const g = new Float64Array(3);
  gradientInto([g, null], f, x, 2);
  t.deepEqual(Array.from(g), [5, 2, 3]);
  g.fill(NaN);
  const [gx] = gradientInto([g, null], f, x, 1.5); // x[1.5] is undefined: the interpreter's NaN, no gradient through it
  t.is(gx, g);
  t.deepEqual(Array.from(g), [5, 2, 0]);
});

test('buffers that cannot be written are refused with a message that says what to pass instead', (t) => {
  const f = traced(quadratic);
  const x = Float64Array.of(1, 2, 3);
  const refuse = (into, args, pattern) => {
    const e = t.throws(() => gradientInto(into, f, ...args), { instanceOf: TracegradError });
    t.regex(e.message, pattern);
  };
  refuse(new Float64Array(3), [x], /list of gradient buffers.*gradientInto\(\[buffer, \.\.\.\], f, \.\.\.args\)/);
  refuse([new Float64Array(3), null], [x], /2 entries for 1 argument/);
  refuse([new Float64Array(2)], [x], /into\[0\] must be an Array or Float64Array of length 3.*length 2/);
  refuse([new Float32Array(3)], [x], /into\[0\] must be an Array or Float64Array/);
  refuse([x], [x], /shares memory with\) one of f's arguments/);
  const buffer = new Float64Array(6);
  refuse([buffer.subarray(2, 5)], [buffer.subarray(0, 3)], /shares memory/);
  refuse([Object.freeze([0, 0, 0])], [[1, 2, 3]], /into\[0\] is frozen/);
  const g = traced((c, y) => c * y[0]);
  refuse([3, null], [2, x], /argument 1 is a number.*Pass null at into\[0\]/);
  const h = traced((a, b) => a[0] * b[0]);
  const both = new Float64Array(1);
  t.throws(() => gradientInto([both, both], h, [1], [2]), { message: /two gradient buffers are the same array/ });
  const m = traced((map) => map.get('w') * 2);
  t.throws(() => gradientInto([new Map()], m, new Map([['w', 1]])), { message: /args\[0\] is a Map; gradients are written only into arrays and plain objects.*Pass null at into\[0\]/ });
  t.throws(() => gradientInto([{ w: [0] }], traced((o) => o.w[0] * o.w[1]), { w: [1, 2] }), { message: /into\[0\]\.w must be an Array or Float64Array of length 2/ });
  t.throws(() => gradientInto([[0, 0]], traced((o) => o.a), { a: 1 }), { message: /into\[0\] must be a plain object.*structuredClone/ });
  // refused before f runs: nothing was written
  t.deepEqual(Array.from(buffer), [0, 0, 0, 0, 0, 0]);
  // views of one buffer that do not overlap are separate arrays
  const [gv] = gradientInto([buffer.subarray(3, 6)], f, buffer.subarray(0, 3).fill(1));
  t.deepEqual(Array.from(gv), [3, 3, 2]);
  t.notThrows(() => gradientInto([null, null], g, 2, x));
});

test('a model field holding a Map or class instance gets its gradient assigned, as gradient returns it; such an argument itself takes null', (t) => {
  const f = traced((m) => m.w[0] * m.w[1] + m.t.get('k') * 2);
  const model = () => ({ w: [1, 2], t: new Map([['k', 3]]) });
  const [want] = gradient(f, model());
  for (const into of [structuredClone(model()), { w: [0, 0], t: null }, { w: [0, 0] }]) {
    const [g] = gradientInto([into], f, model());
    t.is(g, into);
    t.deepEqual(into.w, [2, 1]);
    t.true(into.t instanceof Map);
    t.deepEqual([...into.t], [...want.t]);
  }
  class Point { constructor() { this.a = [1, 2]; } }
  const p = traced((q) => q.a[0] * q.a[1]);
  t.deepEqual(gradientInto([null], p, new Point()), [{ a: [2, 1] }]);
  t.throws(() => gradientInto([new Point()], p, new Point()), { message: /args\[0\] is a Point.*Pass null at into\[0\]/ });
});

test('gradientInto refuses to run inside another differentiation, saying to use gradient there', (t) => {
  const f = traced((a) => a[0] * a[0] * a[1]);
  const inner = traced((x) => {
    const g = [0, 0];
    gradientInto([g], f, [x, 3]);
    return g[0];
  }, { gradientInto, f });
  t.throws(() => gradient(inner, 2), { instanceOf: TracegradError, message: /cannot run inside another differentiation.*Call gradient/ });
  t.throws(() => derivative(inner, 2), { instanceOf: TracegradError, message: /cannot run inside another differentiation/ });
  // not nested, the same function runs
  t.is(inner(2), 12);
});

test('buffers are checked for what is written: a non-extensible typed array or sealed Array is fine, a frozen Array or a closed object missing fields is not', (t) => {
  const sq = (a) => {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * a[i];
    return s;
  };
  for (const arg of [Float64Array.of(1, 2, 3), [1, 2, 3]]) {
    t.deepEqual(Array.from(gradientInto([Object.preventExtensions(new Float64Array(3))], sq, arg)[0]), [2, 4, 6]);
    t.deepEqual(gradientInto([Object.seal([0, 0, 0])], sq, arg)[0], [2, 4, 6]);
    t.throws(() => gradientInto([Object.freeze([0, 0, 0])], sq, arg), { message: /into\[0\] is frozen/ });
  }
  const m = traced((o) => o.a * o.b);
  t.throws(() => gradientInto([Object.preventExtensions({ a: 0 })], m, { a: 2, b: 3 }), { message: /into\[0\] is frozen, or not extensible and missing fields/ });
  const closed = Object.seal({ a: 0, b: 0 });
  gradientInto([closed], m, { a: 2, b: 3 });
  t.deepEqual(closed, { a: 3, b: 2 });
});
