// traced() odds and ends: accessors from descriptors, bound traced functions, async functions, adjoint arity checks, and built-ins under the loader.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { traced, gradient, withGradient, pullback, jacobian, defineAdjoint, TracegradError } from '../../dist/index.js';
import { numericGradient, assertClose } from '../helpers/reference.mjs';

/** Runs fn, which must throw; returns the error. */
function caught(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

// ---------------------------------------------------------------------------------------------------------------
// accessors taken from property descriptors

class V {
  constructor(x) { this.x = x; }
  get cube() { return this.x ** 3; }
  set cube(v) { this.x = Math.cbrt(v) * 2; }
  static get k() { return 3; }
}

test('traced(getter) from Object.getOwnPropertyDescriptor(C.prototype, name).get', (t) => {
  const tg = traced(Object.getOwnPropertyDescriptor(V.prototype, 'cube').get);
  t.is(typeof tg, 'function');
  t.is(tg.call({ x: 2 }), 8);
  const f = traced((x) => tg.call({ x }), { tg });
  assertClose(t, gradient(f, 2), [12]); // 3x²
  assertClose(t, gradient(f, -1.3), numericGradient((x) => x ** 3, -1.3));
});

test('traced(setter) from a class descriptor and traced(getter) from an object literal and a static getter', (t) => {
  const ts = traced(Object.getOwnPropertyDescriptor(V.prototype, 'cube').set);
  const fs = traced((v) => { const o = {}; ts.call(o, v); return o.x; }, { ts });
  assertClose(t, gradient(fs, 8), numericGradient((v) => Math.cbrt(v) * 2, 8)); // 2/(3 v^(2/3)) = 1/6
  const lit = { v: 3, get sq() { return this.v * this.v; } };
  const tl = traced(Object.getOwnPropertyDescriptor(lit, 'sq').get);
  assertClose(t, gradient(traced((v) => tl.call({ v }), { tl }), 3), [6]);
  const tk = traced(Object.getOwnPropertyDescriptor(V, 'k').get);
  t.is(tk.call(V), 3);
});

test('a Math object passed in the scope shadows the global Math', (t) => {
  const f = traced((x) => Math.sin(x), { Math: { sin: traced((v) => v * 2) } });
  assertClose(t, gradient(f, 1), [2]);
});

// ---------------------------------------------------------------------------------------------------------------
// bound traced functions

test('gradient(traced(fn).bind(o), x) uses this from the binding', (t) => {
  assertClose(t, gradient(traced(function (x) { return x * this.k; }).bind({ k: 3 }), 2), [3]);
  const o = { k: 2, m(x) { return this.k * x * x; } };
  assertClose(t, gradient(traced(o.m).bind(o), 2), [8]); // 2kx
  // bound leading argument: only the remaining one is differentiated
  const r = withGradient(traced(function (a, x) { return a * x * this.k; }).bind({ k: 3 }, 5), 2);
  t.is(r.value, 30);
  assertClose(t, r.grad, [15]);
});

test('a bound untraced function is refused with a TracegradError that says to trace first', (t) => {
  const err = caught(() => gradient(function (x) { return x * this.k; }.bind({ k: 3 }), 2));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /bound/);
  t.regex(err.message, /trace the function first/);
});

// ---------------------------------------------------------------------------------------------------------------
// async functions

test('gradient and withGradient of an async function throw a TracegradError about Promise/async', (t) => {
  for (const run of [
    () => gradient(async (x) => x * x, 2),
    () => gradient(traced(async (x) => x * x), 2),
    () => gradient((x) => Promise.resolve(x), 2),
    () => gradient(traced({ async m(x) { return x * x; } }.m), 2),
    () => withGradient(async (x) => x * x, 2),
  ]) {
    const err = caught(run);
    t.true(err instanceof TracegradError, String(err));
    t.regex(err.message, /Promise/);
    t.regex(err.message, /async/);
  }
});

// Regression (fixed): pullback(async f) returns [Promise<Tracked>, back] instead of throwing like gradient/withGradient (the tracked value escapes)
test('pullback of an async function throws a TracegradError about Promise/async', (t) => {
  const err = caught(() => pullback(async (x) => x * x, 2));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /Promise/);
});

// Regression (fixed): jacobian(async f) throws the generic "needs f to return a number or a flat array" message, not the Promise/async one
test('jacobian of an async function names Promise/async in its error', (t) => {
  const err = caught(() => jacobian(async (x) => [x * x], 2));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /Promise/);
});

// ---------------------------------------------------------------------------------------------------------------
// adjoint rule arity

test('an adjoint rule returning trailing extra nulls (or undefined) is accepted', (t) => {
  function sqNull(x) { return x * x; }
  defineAdjoint(sqNull, (x) => [x * x, (dy) => [2 * x * dy, null, null]]);
  assertClose(t, gradient(traced((x) => sqNull(x) * 3, { sqNull }), 2), [12]);
  function sqUndef(x) { return x * x; }
  defineAdjoint(sqUndef, (x) => [x * x, (dy) => [2 * x * dy, undefined, null]]);
  assertClose(t, gradient(traced((x) => sqUndef(x), { sqUndef }), 2), [4]);
});

test('an adjoint rule returning extra non-null cotangents throws a TracegradError naming the function', (t) => {
  function sqExtra(x) { return x * x; }
  defineAdjoint(sqExtra, (x) => [x * x, (dy) => [2 * x * dy, 1]]);
  const err = caught(() => gradient(traced((x) => sqExtra(x) * 3, { sqExtra }), 2));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /sqExtra/);
  t.regex(err.message, /2 cotangents for 1 argument/);
});

test('an adjoint rule missing the cotangent of a tracked argument throws; of a constant argument it is fine', (t) => {
  function mulShort(a, b) { return a * b; }
  defineAdjoint(mulShort, (a, b) => [a * b, (dy) => [b * dy]]);
  const err = caught(() => gradient(traced((x, y) => mulShort(x, y), { mulShort }), 2, 3));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /mulShort/);
  assertClose(t, gradient(traced((x) => mulShort(x, 3), { mulShort }), 2), [3]);
});

// ---------------------------------------------------------------------------------------------------------------
// built-ins: in process and under the loader

test('gradient(Math.sin, 1) is cos(1) (no loader)', (t) => {
  assertClose(t, gradient(Math.sin, 1), [Math.cos(1)]);
  assertClose(t, gradient(Math.exp, 0.5), [Math.exp(0.5)]);
});

test('[x, 2].toSorted() without comparator sorts as strings, like plain JS', (t) => {
  // '10' < '2' as strings, so x stays first
  const r = withGradient((x) => [x, 2].toSorted()[0] * 3, 10);
  t.is(r.value, [10, 2].toSorted()[0] * 3);
  assertClose(t, r.grad, [3]);
});

const fixture = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

test('DataView.setFloat64 on a tracked value throws a TracegradError naming it (no loader)', (t) => {
  const err = caught(() => gradient((x) => { const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, x); return dv.getFloat64(0) * x; }, 1));
  t.true(err instanceof TracegradError);
  t.regex(err.message, /DataView\.setFloat64/);
});

test('under --import tracegrad/register: gradient(Math.sin, 1) is cos(1); DataView.setFloat64 on a tracked value throws naming it', async (t) => {
  const { stdout: out } = await promisify(execFile)(process.execPath, ['--import', 'tracegrad/register', fixture('loader-builtins.mjs')], {
    encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  const r = JSON.parse(out.trim().split('\n').pop());
  assertClose(t, r.sin.value, [Math.cos(1)]);
  assertClose(t, r.sinArrow.value, [2 * Math.cos(1)]);
  assertClose(t, r.toSortedDefault.value, [3]);
  assertClose(t, r.maxApply.value, [3]); // d/dx max(x, 0.5)·x = 2x at 1.5
  t.truthy(r.dataView.error, 'expected DataView.setFloat64 to throw');
  t.true(r.dataView.error.isTracegradError);
  t.regex(r.dataView.error.message, /DataView\.setFloat64/);
  t.regex(r.dataView.error.message, /loader-builtins\.mjs:\d+/);
});

// Regression (fixed): locating a function that is in no file on the stack (made by new Function, or imported) opened an
// inspector session and enabled its debugger for each traced() call; enabling replays every script compiled so far,
// so each call was slower than the last (3000 generated programs: 7 s for the first 500, 46 s for the last 500).
test('regression: traced() on many generated functions enables the inspector debugger at most once', async (t) => {
  const inspector = await import('node:inspector');
  const original = inspector.Session.prototype.post;
  let enables = 0;
  inspector.Session.prototype.post = function (method, ...rest) {
    if (method === 'Debugger.enable') enables++;
    return original.call(this, method, ...rest);
  };
  try {
    for (let i = 0; i < 20; i++) t.is(traced(new Function(`return (x) => x * ${i}`)())(2), 2 * i);
  } finally {
    inspector.Session.prototype.post = original;
  }
  t.true(enables <= 1, `Debugger.enable posted ${enables} times`);
});
