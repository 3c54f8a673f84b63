// Error reporting: TracegradError messages that say what to do, and stack traces of errors in traced code that point at the user's own file and line.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename } from 'node:path';
import { traced, gradient, withGradient, pullback, jacobian, defineAdjoint, TracegradError } from '../dist/index.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const THIS_NAME = basename(THIS_FILE);
const SOURCE_LINES = readFileSync(THIS_FILE, 'utf8').split('\n');

/** 1-based line of the unique line in this file that contains `// @line <tag>`. */
function lineOf(tag) {
  const marker = `// @line ${tag}`;
  const hits = SOURCE_LINES.flatMap((l, i) => (l.includes(marker) && !l.includes('lineOf(') ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`marker ${marker} found ${hits.length} times`);
  return hits[0];
}

/** Runs fn, which must throw; returns the error. */
function caught(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function assertTracegradError(t, err) {
  t.true(err instanceof TracegradError, `expected a TracegradError, got ${err?.name}: ${err?.message}`);
  t.is(err.name, 'TracegradError');
}

/** The stack names this file at the given line (as `…/errors.test.mjs:LINE:COL`). */
function assertStackAt(t, err, line, what) {
  const re = new RegExp(`${THIS_NAME.replace(/\./g, '\\.')}:${line}:\\d+`);
  t.regex(err.stack, re, `${what}: expected ${THIS_NAME}:${line} in the stack:\n${err.stack}`);
}

// ---------------------------------------------------------------------------------------------------------------
// non-scalar outputs

test('gradient of an array output is a TracegradError that points to jacobian', (t) => {
  const err = caught(() => gradient((x) => [x, x * 2], 3));
  assertTracegradError(t, err);
  t.regex(err.message, /jacobian/);
  t.regex(err.message, /array/);
});

test('gradient of an object, typed-array, string or undefined output points to jacobian', (t) => {
  const outputs = [
    (x) => ({ a: x }),
    (x) => {
      const b = new Float64Array(1);
      b[0] = x;
      return b;
    },
    (x) => 'not a number',
    (x) => {
      x * 2; // forgot to return
    },
  ];
  for (const f of outputs) {
    const err = caught(() => gradient(f, 3));
    assertTracegradError(t, err);
    t.regex(err.message, /jacobian/);
  }
  const err = caught(() => gradient((x) => undefined, 3));
  t.regex(err.message, /undefined/);
});

test('withGradient whose loss is not a number says so and mentions jacobian', (t) => {
  const err = caught(() => withGradient((x) => ['label', x], 1));
  assertTracegradError(t, err);
  t.regex(err.message, /jacobian/);
  t.regex(err.message, /string/);
});

test('jacobian of a non-array output is a TracegradError', (t) => {
  const err = caught(() => jacobian((x) => ({ a: x }), 1));
  assertTracegradError(t, err);
  t.regex(err.message, /jacobian/);
});

// ---------------------------------------------------------------------------------------------------------------
// tracked values reaching untraced code

function helper(v) {
  return v * 2;
}
const arrowHelper = (v) => v + 1;
class Untraced {
  constructor(x) {
    this.x = x;
  }
  square() {
    return this.x * this.x;
  }
}

function assertUntracedMessage(t, err, name) {
  assertTracegradError(t, err);
  t.true(err.message.includes(`\`${name}\``) || err.message.includes(name), `message should name ${name}: ${err.message}`);
  t.true(err.message.includes('traced('), `message should mention traced(: ${err.message}`);
  t.true(err.message.includes('defineAdjoint'), `message should mention defineAdjoint: ${err.message}`);
  t.regex(err.message, /loader|register/);
  t.true(err.message.includes('register'), `message should mention tracegrad/register: ${err.message}`);
}

test('an untraced helper in scope doing arithmetic on a tracked value: the error names it and says how to fix it', (t) => {
  const f = traced((x) => helper(x), { helper });
  const err = caught(() => gradient(f, 3));
  assertUntracedMessage(t, err, 'helper');
  // it also says where the helper is
  t.true(err.message.includes(THIS_NAME), err.message);
});

test('an untraced arrow helper and an untraced class method are named too', (t) => {
  assertUntracedMessage(t, caught(() => gradient(traced((x) => arrowHelper(x), { arrowHelper }), 3)), 'arrowHelper');
  assertUntracedMessage(t, caught(() => gradient(traced((x) => new Untraced(x).square(), { Untraced }), 3)), 'square');
});

test('an untraced helper passed as a callback to a built-in (arr.map(helper)) is named', (t) => {
  const f = traced((arr) => arr.map(helper)[0], { helper });
  assertUntracedMessage(t, caught(() => gradient(f, [3])), 'helper');
});

test('the same helper works once traced (the fix the message suggests)', (t) => {
  const helperT = traced(helper);
  t.deepEqual(gradient(traced((x) => helperT(x) * x, { helperT }), 3), [12]);
});

// ---------------------------------------------------------------------------------------------------------------
// unresolvable free variables

test('traced() with unresolvable free variables names each of them', (t) => {
  const err = caught(() => traced((x) => x * notDefinedAnywhere + alsoMissing));
  assertTracegradError(t, err);
  t.true(err.message.includes('notDefinedAnywhere'), err.message);
  t.true(err.message.includes('alsoMissing'), err.message);
});

test('traced() names only the free variables that the scope does not provide', (t) => {
  const err = caught(() => traced((x) => x * present + absentOne, { present: 2 }));
  assertTracegradError(t, err);
  t.true(err.message.includes('absentOne'), err.message);
  t.false(err.message.includes('`present`'), err.message);
});

test('gradient of an untraced function with free variables names them', (t) => {
  const scale = 3;
  const err = caught(() => gradient((x) => x * scale, 1));
  assertTracegradError(t, err);
  t.true(err.message.includes('scale'), err.message);
});

// ---------------------------------------------------------------------------------------------------------------
// seeds

test('back() with a non-finite seed throws: NaN, Infinity, -Infinity', (t) => {
  const [, back] = pullback((x) => x * 2, 3);
  for (const seed of [NaN, Infinity, -Infinity]) {
    const err = caught(() => back(seed));
    assertTracegradError(t, err);
    t.true(err.message.includes(String(seed)), err.message);
  }
  // a finite seed still works afterwards
  t.deepEqual(back(0.5), [1]);
});

test('back() with a non-finite entry in an array seed throws', (t) => {
  const [, back] = pullback((x) => [x * 2, x * x], 3);
  for (const seed of [[1, NaN], [Infinity, 0]]) {
    const err = caught(() => back(seed));
    assertTracegradError(t, err);
  }
  t.deepEqual(back([1, 0]), [2]);
});

test('back() with a non-number seed throws', (t) => {
  const [, back] = pullback((x) => x * 2, 3);
  for (const seed of ['1', null, {}, [1]]) assertTracegradError(t, caught(() => back(seed)));
});

// ---------------------------------------------------------------------------------------------------------------
// stack traces point at the user's file and line

function throwsOnPositive(x) {
  const y = x * 2;
  if (y > 0) throw new Error('boom'); // @line boom-traced
  return y;
}

test('an error thrown inside traced code shows this file and the line of the throw (traced explicitly)', (t) => {
  const f = traced(throwsOnPositive);
  const err = caught(() => gradient(f, 1));
  t.is(err.message, 'boom');
  assertStackAt(t, err, lineOf('boom-traced'), 'traced(fn)');
});

function throwsAutomatically(x) {
  const y = Math.sin(x) * x;
  if (y > 0) {
    throw new Error('boom-auto'); // @line boom-auto
  }
  return y;
}

test('an error thrown inside a function that gradient() traces automatically shows this file and line', (t) => {
  const err = caught(() => gradient(throwsAutomatically, 1));
  t.is(err.message, 'boom-auto');
  assertStackAt(t, err, lineOf('boom-auto'), 'gradient(fn)');
});

test('an error thrown inside an indented arrow function and through a traced helper shows both lines', (t) => {
  const inner = traced((v) => {
    if (v > 1) throw new RangeError('too big'); // @line boom-inner
    return v;
  });
  const outer = traced((x) => {
    const z = x * 3;
    return inner(z) * 2; // @line call-inner
  }, { inner });
  const err = caught(() => gradient(outer, 1));
  t.true(err instanceof RangeError);
  assertStackAt(t, err, lineOf('boom-inner'), 'inner');
  assertStackAt(t, err, lineOf('call-inner'), 'outer');
});

class Thrower {
  constructor(x) {
    this.x = x;
  }
  check() {
    if (this.x > 0) throw new Error('boom-method'); // @line boom-method
    return this.x;
  }
}
const ThrowerT = traced(Thrower);

test('an error thrown inside a method of a traced class shows this file and line', (t) => {
  const f = traced((x) => new ThrowerT(x * x).check(), { ThrowerT });
  const err = caught(() => gradient(f, 2));
  t.is(err.message, 'boom-method');
  assertStackAt(t, err, lineOf('boom-method'), 'method');
});

// two functions with the same source text at different lines: each must report its own line
const twinA = (x) => { if (x > 0) throw new Error('twin'); return x; }; // @line twin-a
const twinB = (x) => { if (x > 0) throw new Error('twin'); return x; }; // @line twin-b

// Regression (fixed): traced() locates a function by the first occurrence of its source text in the file, so a textually identical function on a later line reports the earlier line in stack traces.
test('an error in one of two textually identical functions reports its own line', (t) => {
  const errA = caught(() => gradient(traced(twinA), 1));
  assertStackAt(t, errA, lineOf('twin-a'), 'twinA');
  const errB = caught(() => gradient(traced(twinB), 1));
  assertStackAt(t, errB, lineOf('twin-b'), 'twinB');
});

function roughSquare(v) {
  return v * v;
}
defineAdjoint(roughSquare, (v) => [
  v * v,
  (dy) => {
    if (dy !== 0) throw new Error('boom-back'); // @line boom-back
    return [0];
  },
]);
function roughCube(v) {
  return v * v * v;
}
defineAdjoint(roughCube, (v) => {
  if (v > 100) throw new Error('boom-forward'); // @line boom-forward
  return [v * v * v, (dy) => [3 * v * v * dy]];
});

test('an error thrown inside a defineAdjoint back function shows this file and the line of the throw', (t) => {
  const f = traced((x) => roughSquare(x) + x, { roughSquare });
  const err = caught(() => gradient(f, 2));
  t.is(err.message, 'boom-back');
  assertStackAt(t, err, lineOf('boom-back'), 'back');
  // the same through pullback: back(seed) runs the rule's back
  const [, back] = pullback(f, 2);
  const err2 = caught(() => back(1));
  assertStackAt(t, err2, lineOf('boom-back'), 'pullback back');
});

test('an error thrown inside a defineAdjoint rule forward shows this file and line', (t) => {
  const f = traced((x) => roughCube(x * 10), { roughCube });
  const err = caught(() => gradient(f, 20));
  t.is(err.message, 'boom-forward');
  assertStackAt(t, err, lineOf('boom-forward'), 'rule forward');
  // below the threshold the rule works
  t.deepEqual(gradient(f, 1), [3 * 100 * 10]);
});

// ---------------------------------------------------------------------------------------------------------------
// defineAdjoint rules of the wrong shape

function wrongShape(name, rule, arity = 1) {
  const fn = arity === 1 ? function (v) { return v; } : function (a, b) { return a; };
  Object.defineProperty(fn, 'name', { value: name });
  defineAdjoint(fn, rule);
  return fn;
}

test('a defineAdjoint rule that does not return [y, back] gives a clear error naming the function', (t) => {
  const notPair = wrongShape('notPair', (v) => v * v);
  const err = caught(() => gradient(traced((x) => notPair(x), { notPair }), 3));
  assertTracegradError(t, err);
  t.true(err.message.includes('notPair'), err.message);
  t.regex(err.message, /\[y, back\]/);

  const backNotFn = wrongShape('backNotFn', (v) => [v * v, 2 * v]);
  const err2 = caught(() => gradient(traced((x) => backNotFn(x), { backNotFn }), 3));
  assertTracegradError(t, err2);
  t.true(err2.message.includes('backNotFn'), err2.message);
});

test('a back function that returns a bare number instead of an array gives a clear error', (t) => {
  const bare = wrongShape('bareCotangent', (v) => [v * v, (dy) => dy * 2 * v]);
  const err = caught(() => gradient(traced((x) => bare(x), { bare }), 3));
  assertTracegradError(t, err);
  t.true(err.message.includes('bareCotangent'), err.message);
  t.regex(err.message, /array/);
});

test('a back function that gives an array or a string as the cotangent of a number argument gives a clear error', (t) => {
  const nested = wrongShape('nestedCotangent', (v) => [v * v, (dy) => [[dy * 2 * v]]]);
  const err = caught(() => gradient(traced((x) => nested(x), { nested }), 3));
  assertTracegradError(t, err);
  t.true(err.message.includes('nestedCotangent'), err.message);
  t.regex(err.message, /number/);
  const str = wrongShape('stringCotangent', (v) => [v * v, (dy) => ['1']]);
  assertTracegradError(t, caught(() => gradient(traced((x) => str(x), { str }), 3)));
});

// Regression (fixed): a back function that gives a number as the cotangent of an array argument is silently ignored (gradient null) instead of a clear error.
test('a back function that gives a number as the cotangent of an array argument gives a clear error', (t) => {
  const sum = wrongShape('sumRule', (a) => [a[0] + a[1], (dy) => [dy]]);
  const err = caught(() => gradient(traced((a) => sum(a), { sum }), [1, 2]));
  assertTracegradError(t, err);
  t.true(err.message.includes('sumRule'), err.message);
});

// Regression (fixed): a back function that gives an array as the cotangent of an object argument is silently ignored (gradient null) instead of a clear error.
test('a back function that gives an array as the cotangent of an object argument gives a clear error', (t) => {
  const field = wrongShape('fieldRule', (o) => [o.a * 2, (dy) => [[dy * 2]]]);
  const err = caught(() => gradient(traced((o) => field(o), { field }), { a: 1 }));
  assertTracegradError(t, err);
  t.true(err.message.includes('fieldRule'), err.message);
});

// Regression (fixed): a back function returning more cotangents than the function has arguments is silently accepted.
test('a back function that returns more cotangents than arguments gives a clear error', (t) => {
  const extra = wrongShape('extraCotangents', (v) => [v * v, (dy) => [dy * 2 * v, 5, 6]]);
  const err = caught(() => gradient(traced((x) => extra(x), { extra }), 3));
  assertTracegradError(t, err);
  t.true(err.message.includes('extraCotangents'), err.message);
});

// Regression (fixed): a back function returning fewer cotangents than arguments silently treats the missing ones as null (a dropped gradient, not an explicit null).
test('a back function that returns fewer cotangents than arguments gives a clear error', (t) => {
  const short = wrongShape('shortCotangents', (a, b) => [a * b, (dy) => [dy * b]], 2);
  const err = caught(() => gradient(traced((x, y) => short(x, y), { short }), 3, 4));
  assertTracegradError(t, err);
  t.true(err.message.includes('shortCotangents'), err.message);
});

// ---------------------------------------------------------------------------------------------------------------
// other misuse

test('misuse of the API gives TracegradErrors that say what was expected', (t) => {
  const cases = [
    [() => traced(3), /function/],
    [() => traced(Array.prototype.push), /defineAdjoint/],
    [() => traced((x) => x, 5), /scope/],
    [() => gradient(3, 1), /function/],
    [() => defineAdjoint(3, () => []), /function/],
    [() => defineAdjoint((x) => x, 3), /rule/],
  ];
  for (const [fn, re] of cases) {
    const err = caught(fn);
    assertTracegradError(t, err);
    t.regex(err.message, re);
  }
});

test('a tracked value kept alive by a closure past its call is reported when used later', (t) => {
  let escaped;
  const keep = (v) => () => v;
  gradient(traced((x) => {
    escaped = keep(x); // a closure over the tracked value: nothing can clean it
    return x;
  }, { keep, set escaped(f) { escaped = f; } }), 3);
  const err = caught(() => gradient(traced((x) => escaped() * x, { escaped: () => escaped() }), 2));
  assertTracegradError(t, err);
  t.regex(err.message, /ignore/);
});

test('a tracked value stored in a WeakMap during the call is a plain number afterwards', (t) => {
  const wm = new WeakMap();
  const key = {};
  gradient(traced((x) => {
    wm.set(key, x * 2);
    return x;
  }, { wm, key }), 3);
  t.is(wm.get(key), 6);
  t.is(typeof wm.get(key), 'number');
});
