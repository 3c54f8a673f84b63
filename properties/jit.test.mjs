// Property tests of the compiled tier: on random programs in the compiled subset (numbers, read-only Float64Array and Array parameters, local scratch Float64Arrays, plain copies), compiled values and gradients are bit-identical (Object.is) to the interpreter's.
import test from 'ava';
import fc from 'fast-check';
import { traced, gradient, withGradient, jvp, jit, tierOf } from '../dist/index.js';
import { scalarProgramArbitrary } from './arbitraries/scalar-program.mjs';
import { programArbitrary, compileProgram } from '../esm/fast-check/program.mjs';
import { jumpProgram } from './arbitraries/jump-program.mjs';

const NUM_RUNS = 200;
const INPUTS_PER_PROGRAM = 4;

/** Several input vectors per program (so branches flip and trip counts change between calls of one compiled function). */
const inputs = fc.array(
  fc.tuple(
    ...[0, 1, 2].map(() =>
      fc.oneof(
        { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
        // values that sit on or near the generated tests' thresholds and kinks
        { weight: 2, arbitrary: fc.constantFrom(0, -0, 0.5, -0.5, 1, -1, 2, 1.5, 0.25, 0.1, -2.5, 3) },
        { weight: 1, arbitrary: fc.noBias(fc.integer({ min: -3e6, max: 3e6 })).map((i) => i / 1e6) },
      ),
    ),
  ),
  { minLength: INPUTS_PER_PROGRAM, maxLength: INPUTS_PER_PROGRAM },
);

const show = (v) => (Object.is(v, -0) ? '-0' : String(v));

/**
 * A rare generated program is too large for the compiled tier (its generated code would pass the statement cap):
 * it is rightly interpreted, so the sample is skipped (fc.pre), not failed.
 */
const skipIfTooLarge = (tier) => fc.pre(!/would have \d+ statements/.test(tier));
const showResult = (r) => `{ value: ${show(r.value)}, grad: [${r.grad.map(show).join(', ')}] }`;

/** Object.is on the value and every gradient entry (null vs 0 and -0 vs 0 included); a message, or null when equal. */
function difference(expected, actual, what) {
  if (!Object.is(expected.value, actual.value)) return `${what}: value ${show(actual.value)}, interpreter ${show(expected.value)}`;
  return gradDifference(expected.grad, actual.grad, what);
}
function gradDifference(expected, actual, what) {
  if (!Array.isArray(actual) || actual.length !== expected.length)
    return `${what}: gradient ${JSON.stringify(actual)} has a different shape than the interpreter's ${JSON.stringify(expected)}`;
  for (let i = 0; i < expected.length; i++)
    if (!Object.is(expected[i], actual[i])) return `${what}: grad[${i}] ${show(actual[i])}, interpreter ${show(expected[i])}`;
  return null;
}

/**
 * Check one program on several inputs: reference from the interpreter (jit.enabled = false), then the same traced
 * function with the JIT on: its first calls are interpreted until it is compiled (on the jit.threshold-th call); every
 * later call (withGradient and gradient) must run compiled and match the reference exactly.
 */
function checkProgram({ source, arity }, vectors) {
  const T = traced(new Function(`return ${source};`)());
  const xsList = vectors.map((v) => v.slice(0, arity));
  const reference = [];
  try {
    jit.enabled = false;
    for (const xs of xsList) reference.push(withGradient(T, ...xs));
  } finally {
    jit.enabled = true;
  }
  const problems = [];
  for (let k = 0; k < xsList.length; k++) {
    const xs = xsList[k];
    const ref = reference[k];
    // the calls before the JIT decides are interpreted (jit.threshold of them); they must agree too
    for (let i = 0; i < jit.threshold && tierOf(T) === 'not yet decided'; i++) {
      const early = withGradient(T, ...xs);
      const d = difference(ref, early, `call ${i + 1} with the JIT on`);
      if (d) problems.push(d);
    }
    const compiled = withGradient(T, ...xs);
    const tier = tierOf(T);
    skipIfTooLarge(tier);
    if (tier !== 'compiled')
      throw new Error(`the generated program left the compiled subset (tierOf: ${tier}); fix the generator.\n${source}`);
    const d1 = difference(ref, compiled, `withGradient(f, ${xs.map(show).join(', ')})`);
    if (d1) problems.push(`${d1}\n    interpreter ${showResult(ref)}\n    compiled    ${showResult(compiled)}`);
    const d2 = gradDifference(ref.grad, gradient(T, ...xs), `gradient(f, ${xs.map(show).join(', ')})`);
    if (d2) problems.push(d2);
  }
  if (problems.length) throw new Error(`compiled and interpreted results differ:\n  ${problems.join('\n  ')}\nprogram:\n${source}`);
}

test('compiled gradients are bit-identical to the interpreter on random programs in the subset', (t) => {
  fc.assert(fc.property(scalarProgramArbitrary(), inputs, checkProgram), { numRuns: NUM_RUNS });
  t.true(jit.enabled);
});

test('every generated program is in the compiled subset, and the JIT is back on afterwards', (t) => {
  // the property above fails loudly on a program outside the subset; this checks the generator alone, quickly
  const reasons = new Map();
  for (const { source, arity } of fc.sample(scalarProgramArbitrary(), { numRuns: 100, seed: 7 })) {
    const T = traced(new Function(`return ${source};`)());
    const xs = Array.from({ length: arity }, (_, i) => 0.3 + i);
    for (let i = 0; i <= jit.threshold; i++) withGradient(T, ...xs);
    const tier = tierOf(T);
    if (tier !== 'compiled') reasons.set(tier, source);
  }
  t.deepEqual([...reasons.keys()], []);
  t.true(jit.enabled);
});

// Regression (fixed): with the finiteness guards dropped (sqrt/log/division of raw values, pow with a negative base, inputs at 0),
// the compiled code sweeps assignments whose values never reach the output with adjoint 0, and 0 * Infinity = NaN
// poisons gradients the interpreter gets right (it skips tape entries no path from the output touches). Smallest
// program found: `(x0) => { let v0 = Math.tanh(0); let u0 = Math.tanh((0 / (x0 + v0))); v0 += u0; return x0; }` at 0
// (interpreter [1], compiled [NaN]); see test/jit/compile.test.mjs for hand-shrunk repros. Fixed seed: deterministic.
test('wild programs (infinite and NaN partial derivatives) are bit-identical too', (t) => {
  const wildInputs = fc.array(
    fc.tuple(...[0, 1, 2].map(() => fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(0, -0, 1, -1, 0.5)))),
    { minLength: INPUTS_PER_PROGRAM, maxLength: INPUTS_PER_PROGRAM },
  );
  fc.assert(fc.property(scalarProgramArbitrary({ wild: true }), wildInputs, checkProgram), { numRuns: 150, seed: 42, endOnFailure: true });
  t.pass();
});

// ---- array parameters: read-only Float64Arrays and Arrays of numbers ----

const ARRAY_RUNS = 150;
const ARRAY_INPUTS_PER_PROGRAM = 3;

/** One input vector: 3 numbers, 2 pools of 6 elements and 2 length choices (a program takes what it needs). */
const element = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, 0.5, -0.5, 1, -1, 2, 1.5, 0.25, 0.1, -2.5, 3) },
  { weight: 1, arbitrary: fc.noBias(fc.integer({ min: -3e6, max: 3e6 })).map((i) => i / 1e6) },
);
const arrayInputs = fc.array(
  fc.record({
    numbers: fc.tuple(element, element, element),
    pools: fc.tuple(fc.array(element, { minLength: 6, maxLength: 6 }), fc.array(element, { minLength: 6, maxLength: 6 })),
    lengths: fc.tuple(fc.nat(2), fc.nat(2)),
  }),
  { minLength: ARRAY_INPUTS_PER_PROGRAM, maxLength: ARRAY_INPUTS_PER_PROGRAM },
);

/** Fresh arguments for one call: arrays as Float64Arrays ('f64') or Arrays ('array'), of a length in their range. */
function argumentsFor({ kinds, arrays }, vector, kind) {
  let n = 0;
  return kinds.map((k, i) => {
    if (k === 'number') return vector.numbers[n++];
    const j = arrays.findIndex((a) => a.index === i);
    const { minLength, maxLength } = arrays[j];
    const xs = vector.pools[j].slice(0, minLength + (vector.lengths[j] % (maxLength - minLength + 1)));
    return kind === 'f64' ? new Float64Array(xs) : xs;
  });
}
const showArg = (a) => (typeof a === 'number' ? show(a) : `${a.constructor === Float64Array ? 'new Float64Array(' : ''}[${[...a].map(show).join(', ')}]${a.constructor === Float64Array ? ')' : ''}`);
const showGrad = (g) => (g === null ? 'null' : typeof g === 'number' ? show(g) : `${g.constructor.name}[${[...g].map(show).join(', ')}]`);

/** Object.is on every entry of every gradient, and the constructor of array gradients (the argument's own). */
function arrayGradDifference(expected, actual, args, what) {
  if (!Array.isArray(actual) || actual.length !== expected.length) return `${what}: gradient has ${actual?.length} entries, interpreter ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if (e === null || typeof e === 'number') {
      if (!Object.is(e, a)) return `${what}: grad[${i}] ${showGrad(a)}, interpreter ${showGrad(e)}`;
      continue;
    }
    if (a === null || typeof a !== 'object') return `${what}: grad[${i}] ${showGrad(a)}, interpreter ${showGrad(e)}`;
    if (a.constructor !== e.constructor || a.constructor !== args[i].constructor)
      return `${what}: grad[${i}] is a ${a.constructor.name}, interpreter's a ${e.constructor.name}, argument a ${args[i].constructor.name}`;
    if (a.length !== e.length || e.some((v, k) => !Object.is(v, a[k]))) return `${what}: grad[${i}] ${showGrad(a)}, interpreter ${showGrad(e)}`;
  }
  return null;
}

/**
 * One program with array parameters: for every input vector, once with Float64Arrays and once with Arrays (fresh
 * arguments each call, so the two signatures of one traced function compile separately and interleave), the
 * interpreter's withGradient is the reference; the JIT's withGradient and gradient must match it bit for bit, run
 * compiled (tierOf says why not), and leave plain numbers in the arrays.
 */
function checkArrayProgram(program, vectors) {
  const { source } = program;
  const T = traced(new Function(`return ${source};`)());
  const problems = [];
  const seen = new Set();
  for (const vector of vectors) {
    for (const kind of ['f64', 'array']) {
      let ref;
      try {
        jit.enabled = false;
        ref = withGradient(T, ...argumentsFor(program, vector, kind));
      } finally {
        jit.enabled = true;
      }
      const call = `(${argumentsFor(program, vector, kind).map(showArg).join(', ')})`;
      // the first calls of a signature, before the JIT decides, are interpreted: they must agree too
      const first = !seen.has(kind);
      if (first) {
        seen.add(kind);
        for (let i = 1; i < jit.threshold; i++) {
          const early = argumentsFor(program, vector, kind);
          const r = withGradient(T, ...early);
          const d = !Object.is(ref.value, r.value) ? `value ${show(r.value)}, interpreter ${show(ref.value)}` : arrayGradDifference(ref.grad, r.grad, early, 'grad');
          if (d) problems.push(`early call ${i} ${call}: ${d}`);
        }
      }
      const args = argumentsFor(program, vector, kind);
      const got = withGradient(T, ...args);
      if (first) {
        const tier = tierOf(T); // this signature was decided by this call: tierOf reports it
        skipIfTooLarge(tier);
        if (tier !== 'compiled')
          throw new Error(`the generated program left the compiled subset for ${kind} arguments (tierOf: ${tier}); fix the generator.\n${source}`);
      }
      if (!Object.is(ref.value, got.value)) problems.push(`withGradient${call}: value ${show(got.value)}, interpreter ${show(ref.value)}`);
      const d1 = arrayGradDifference(ref.grad, got.grad, args, `withGradient${call}`);
      if (d1) problems.push(`${d1}\n    interpreter [${ref.grad.map(showGrad).join(', ')}]\n    compiled    [${got.grad.map(showGrad).join(', ')}]`);
      const args2 = argumentsFor(program, vector, kind);
      const d2 = arrayGradDifference(ref.grad, gradient(T, ...args2), args2, `gradient${call}`);
      if (d2) problems.push(d2);
      for (const a of [...args, ...args2]) if (typeof a !== 'number' && ![...a].every((v) => typeof v === 'number')) problems.push(`${call}: a tracked value leaked into an argument`);
      if (tierOf(T) !== 'compiled') problems.push(`${call}: tierOf says ${tierOf(T)}`);
    }
  }
  if (problems.length) throw new Error(`compiled and interpreted results differ:\n  ${problems.join('\n  ')}\nprogram:\n${source}`);
}

test('compiled gradients of programs with array parameters (Float64Array and Array) are bit-identical to the interpreter', (t) => {
  try {
    fc.assert(fc.property(scalarProgramArbitrary({ arrays: true }), arrayInputs, checkArrayProgram), { numRuns: ARRAY_RUNS });
  } finally {
    jit.enabled = true;
  }
  t.true(jit.enabled);
});

test('the array programs cover loops over a.length, a[j + 1], constant and counter indices, branches, Math calls and compound assignments', (t) => {
  // rendering only (no gradients): the shapes the property above is meant to exercise all occur
  const sources = fc.sample(scalarProgramArbitrary({ arrays: true }), { numRuns: 300, seed: 3 }).map((p) => p.source);
  const shapes = {
    'loop over a.length': /for \(let j\d+ = 0; j\d+ < a\d\.length; /,
    'loop over a.length - 1 reading a[j + 1]': /< a\d\.length - 1;[^]*a\d\[j\d+ \+ 1\]/,
    'loop down from a.length - 1': /= a\d\.length - 1; j\d+ >= 0;/,
    'scan whose trip count depends on the elements': /while \(k\d+ < a\d\.length && \(.*a\d\[k\d+/,
    'constant index': /a\d\[\d/,
    'index from a constant loop counter': /a\d\[(2 \* )?i\d+/,
    'element in an if test': /if \(.*a\d\[/,
    'element in a Math call': /Math\.\w+\(a\d\[/,
    'compound assignment of an element': /[-+*]= .*a\d\[/,
    'two array parameters': /\(.*a0.*a1.*\) =>|\(.*a1.*a0.*\) =>/,
  };
  for (const [what, re] of Object.entries(shapes)) t.true(sources.some((s) => re.test(s)), what);
});

// ---- array arguments the interpreter treats differently (found by hand probes next to the property above) ----

/** The interpreter's withGradient (or the error it throws), then the JIT's (two calls: the second one is compiled). */
function bothTiers(f, makeArgs) {
  const T = traced(f);
  const run = () => {
    try {
      return { result: withGradient(T, ...makeArgs()) };
    } catch (error) {
      return { error };
    }
  };
  let interpreted;
  try {
    jit.enabled = false;
    interpreted = run();
  } finally {
    jit.enabled = true;
  }
  run();
  return { T, interpreted, compiled: run() };
}

// Regression (fixed): a holey Array ([1, , 3]) passes argKinds (`every` skips holes) and compiles; the interpreter gives null for the
// hole's gradient entry (a non-numeric entry), the compiled code 0 (and 1 where the hole is read: interpreter null).
// Shrunk: `function (a) { return a[0] * 2 + a[2]; }` at [1, , 3]: interpreter [[2, null, 1]], compiled [[2, 0, 1]].
test('a holey Array argument gets the interpreter\'s gradient (null for the hole): it is left to the interpreter', (t) => {
  const { T, interpreted, compiled } = bothTiers(function (a) { return a[0] * 2 + a[2]; }, () => [[1, , 3]]);
  t.deepEqual(interpreted.result.grad, [[2, null, 1]]);
  t.not(tierOf(T), 'compiled');
  t.deepEqual(compiled.result?.grad, interpreted.result.grad);
});

// Regression (fixed): a frozen Array argument throws TracegradError when interpreted (README: "An argument holding numbers in a
// frozen object or array throws"), but the compiled code answers. Shrunk: `function (a) { return a[0] * a[1]; }` at
// Object.freeze([2, 3]): interpreter throws, compiled { value: 6, grad: [[3, 2]] }. (Likewise, an Array with a
// non-writable or getter element: the interpreter throws a TypeError while writing its inputs in place, compiled answers.)
test('a frozen Array argument throws with the tiers on too, as interpreted', (t) => {
  const { T, interpreted, compiled } = bothTiers(function (a) { return a[0] * a[1]; }, () => [Object.freeze([2, 3])]);
  t.truthy(interpreted.error);
  t.regex(interpreted.error.message, /frozen/);
  t.not(tierOf(T), 'compiled');
  t.truthy(compiled.error, `compiled answered ${JSON.stringify(compiled.result)}`);
});

// ---- local scratch arrays ({ locals: true }) and plain copies ({ copies: true }) ----
// Scratch arrays: `const w0 = new Float64Array(3)` (or `a0.length + 1`), a fresh `wt` per loop iteration, element
// writes `= += -= *=`, fill / reduce / smooth loops, unwritten elements read as 0. Copies: `v = w`, `let c = x0`,
// `v = a0[i]`, `w0[i] = v`, `w0[i] = w0[j]`, max scans followed by log-sum-exp, `return w0[2]`: one value under
// two names, whose adjoint sums both names' uses in the interpreter's order.

const LOCALS_RUNS = 150;

test('compiled gradients of programs with local scratch Float64Arrays are bit-identical to the interpreter', (t) => {
  try {
    fc.assert(fc.property(scalarProgramArbitrary({ locals: true }), inputs, checkProgram), { numRuns: LOCALS_RUNS });
  } finally {
    jit.enabled = true;
  }
  t.true(jit.enabled);
});

test('compiled gradients of programs with plain copies (v = w, let c = x0, max of names) are bit-identical to the interpreter', (t) => {
  try {
    fc.assert(fc.property(scalarProgramArbitrary({ copies: true }), inputs, checkProgram), { numRuns: LOCALS_RUNS });
  } finally {
    jit.enabled = true;
  }
  t.true(jit.enabled);
});

test('compiled gradients of programs with array parameters, scratch arrays and copies are bit-identical to the interpreter', (t) => {
  try {
    fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), arrayInputs, checkArrayProgram), { numRuns: LOCALS_RUNS });
  } finally {
    jit.enabled = true;
  }
  t.true(jit.enabled);
});

test('wild programs with array parameters, scratch arrays and copies (NaN, infinite partials) are bit-identical too', (t) => {
  try {
    fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true, wild: true }), arrayInputs, checkArrayProgram),
      { numRuns: LOCALS_RUNS });
  } finally {
    jit.enabled = true;
  }
  t.true(jit.enabled);
});

/**
 * A generated source as plain JS with every array access checked: parameters and scratch arrays (a stand-in
 * Float64Array) are Proxies that throw on an index that is not an integer in range, and on any write into a
 * parameter. Each call returns the value, how many reads found an element never written (a plain 0) and how many
 * writes overwrote one. (One function per program: every compiled script makes later traced() calls dearer.)
 */
function checkedRunner(source) {
  const log = { unwrittenReads: 0, overwrites: 0 };
  const index = (t, k) => {
    const i = typeof k === 'string' ? Number(k) : NaN;
    if (!Number.isInteger(i) || i < 0 || i >= t.length || String(i) !== k) throw new RangeError(`index ${String(k)} of an array of length ${t.length}`);
    return i;
  };
  function CheckedFloat64Array(length) {
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`scratch array of length ${length}`);
    const t = new Float64Array(length), written = new Uint8Array(length);
    return new Proxy(t, {
      get(_, k) {
        if (k === 'length') return t.length;
        const i = index(t, k);
        if (!written[i]) log.unwrittenReads++;
        return t[i];
      },
      set(_, k, v) {
        const i = index(t, k);
        if (written[i]) log.overwrites++;
        written[i] = 1;
        t[i] = v;
        return true;
      },
    });
  }
  const f = new Function('Float64Array', `return ${source};`)(CheckedFloat64Array);
  return (args) => {
    const checked = args.map((a) => (typeof a === 'number' ? a : new Proxy(a, {
      get: (t, k) => (k === 'length' ? t.length : t[index(t, k)]),
      set: (_t, k) => { throw new TypeError(`write into a parameter at ${String(k)}`); },
    })));
    log.unwrittenReads = log.overwrites = 0;
    const value = f(...checked);
    return { value, ...log };
  };
}

test('scratch-array and copy programs index in range for every length, never write a parameter, and stay finite', (t) => {
  // the generator alone: every element access (read or write) is checked for every length of every array parameter;
  // the interpreter agrees with the plain run, and in safe mode values and gradients are finite
  const problems = [];
  let unwrittenReads = 0, overwrites = 0;
  for (const program of fc.sample(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), { numRuns: 40, seed: 11 })) {
    const { source, kinds, arrays } = program;
    const runChecked = checkedRunner(source);
    const T = traced(new Function(`return ${source};`)());
    let lengthSets = [[]];
    for (const a of arrays) lengthSets = lengthSets.flatMap((ls) => Array.from({ length: a.maxLength - a.minLength + 1 }, (_, k) => [...ls, a.minLength + k]));
    for (const lengths of lengthSets) {
      const args = () => {
        let e = 0; // the same arguments on every call
        return kinds.map((k, i) => (k === 'number' ? 0.4 - 0.3 * i : new Float64Array(lengths[arrays.findIndex((a) => a.index === i)]).map(() => Math.sin(++e))));
      };
      let plain;
      try {
        plain = runChecked(args());
      } catch (error) {
        problems.push(`${error.message} (lengths ${lengths}):\n${source}`);
        continue;
      }
      unwrittenReads += plain.unwrittenReads;
      overwrites += plain.overwrites;
      let result;
      try {
        jit.enabled = false;
        result = withGradient(T, ...args());
      } finally {
        jit.enabled = true;
      }
      const finite = (g) => g === null || (typeof g === 'number' ? Number.isFinite(g) : [...g].every(Number.isFinite));
      if (!Object.is(result.value, plain.value)) problems.push(`interpreter ${show(result.value)}, plain JS ${show(plain.value)}:\n${source}`);
      else if (!Number.isFinite(result.value) || !result.grad.every(finite)) problems.push(`not finite (lengths ${lengths}):\n${source}`);
    }
  }
  t.deepEqual(problems, []);
  t.true(unwrittenReads > 0, 'elements never written are read');
  t.true(overwrites > 0, 'elements are overwritten');
});

test('the scratch-array and copy programs cover their shapes', (t) => {
  // rendering only (no gradients): the shapes the properties above are meant to exercise all occur
  const sources = fc.sample(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), { numRuns: 300, seed: 3 }).map((p) => p.source);
  const shapes = {
    'scratch array of a literal length': /const w\d = new Float64Array\(\d\);/,
    'scratch array sized by an array parameter': /const w\d = new Float64Array\(a\d\.length( \+ \d)?\);/,
    'fresh scratch array declared in a loop body': /for \(let i\d+ = 0; [^\n]*\{\n\s*const wt = new Float64Array\(\d\);/,
    'element write =': /^\s*w\d\[[^\]]+\] = /m,
    'element write +=': /^\s*w\d\[[^\]]+\] \+= /m,
    'element write -=': /^\s*w\d\[[^\]]+\] -= /m,
    'element write *=': /^\s*w\d\[[^\]]+\] \*= /m,
    'element write at a counter index': /^\s*w\d\[[^\]]*[ijk]\d+[^\]]*\] [-+*]?= /m,
    'fill loop from an array parameter': /w\d\[(j\d+)\] [-+]?= [^\n]*a\d\[\1\]/,
    'reduce loop over a scratch array': /for \(let (j\d+) = 0; \1 < (w\d\.length|\d);[^\n]*\n?[^\n]*[-+]?= [^\n]*w\d\[\1\]/,
    'scratch element in a test': /(if|while) \([^\n]*w\d\[/,
    'return of a scratch element': /return w\d\[[^\]]+\];/,
    'copy v = w': /^\s*\w+ = [a-z]\d+;$/m,
    'copy let c = w': /^\s*let \w+ = [a-z]\d+;$/m,
    'copy of a parameter': /let \w+ = x\d;/,
    'parameter element to a variable': /^\s*(let )?\w+ = a\d\[[^\]]+\];$/m,
    'scratch element to a variable': /^\s*(let )?\w+ = w\d\[[^\]]+\];$/m,
    'variable to an element': /^\s*w\d\[[^\]]+\] = [a-z]\d+;$/m,
    'parameter element to an element': /^\s*w\d\[[^\]]+\] = a\d\[[^\]]+\];$/m,
    'element to element': /^\s*w\d\[[^\]]+\] = w\d\[[^\]]+\];$/m,
    'max scan over a scratch array': /let (m\d+) = (w\d)\[0\];\n\s*for \(let (j\d+) = 1; [^\n]*if \(\2\[\3\] > \1\)/,
    'max scan over an array parameter': /let (m\d+) = (a\d)\[0\];\n\s*for \(let (j\d+) = 1; [^\n]*if \(\2\[\3\] > \1\)/,
    'log-sum-exp after a max scan': /\+= Math\.exp\(\w+\[j\d+\] - m\d+\);\n\s*\w+ = m\d+ \+ Math\.log\(s\d+\);/,
    'copy then both names in one product': /(\w+) = (a\d\[[^\]]+\]);\n\s*\w+ \+= \1 \* \2;/,
    'copy inside a branch': /(if \([^\n]*\{|else \{)\n\s*(let )?\w+ = [a-z]\d+(\[[^\]]+\])?;\n/,
    'return of a copy': /return (c|m)\d+;/,
  };
  for (const [what, re] of Object.entries(shapes)) t.true(sources.some((s) => re.test(s)), what);
  // without `copies`, nothing is a copy; without `locals`, nothing allocates
  const plain = fc.sample(scalarProgramArbitrary({ arrays: true, locals: true }), { numRuns: 200, seed: 3 }).map((p) => p.source);
  const copy = /^\s*(let |var |const )?[\w$]+(\[[^\]]+\])? = [A-Za-z_$][\w$]*(\[[^\]]+\])?[;,]$/m;
  t.deepEqual(plain.filter((s) => copy.test(s) || /return [aw]\d\[[^\]]+\];/.test(s)), []);
  const noLocals = fc.sample(scalarProgramArbitrary({ arrays: true, copies: true }), { numRuns: 200, seed: 3 }).map((p) => p.source);
  t.false(noLocals.some((s) => /new |w\d/.test(s)));
});

// ---- general programs (Maps, objects, closures, helpers, break/continue): whichever tier runs, results agree ----

/** Every leaf of a value (through arrays, typed arrays, Maps and plain objects) with its path. */
function leavesOf(v, path = '', out = []) {
  if (Array.isArray(v) || ArrayBuffer.isView(v)) [...v].forEach((e, i) => leavesOf(e, `${path}[${i}]`, out));
  else if (v instanceof Map) for (const [key, e] of v) leavesOf(e, `${path}.get(${JSON.stringify(key)})`, out);
  else if (v !== null && typeof v === 'object') for (const key of Object.keys(v)) leavesOf(v[key], `${path}.${key}`, out);
  else out.push([path, v]);
  return out;
}

// Their state argument (a Map, an array and an object) keeps them out of the compiled tier today, so this checks that
// the JIT's presence (signature checks, caching, fallbacks) never changes a result; the tier log shows which ran.
test('on general programs (Maps, objects, closures, helpers) the default tiers give the interpreter\'s results bit for bit', (t) => {
  const tiers = new Map();
  fc.assert(
    fc.property(programArbitrary(), fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }), (program, xs) => {
      const x = xs.slice(0, program.k);
      const T = traced(compileProgram(program.source));
      let reference;
      try {
        jit.enabled = false;
        reference = withGradient(T, x.slice(), program.makeData());
      } finally {
        jit.enabled = true;
      }
      const ref = leavesOf(reference);
      for (let call = 0; call < 3; call++) {
        const got = leavesOf(withGradient(T, x.slice(), program.makeData()));
        if (got.length !== ref.length) throw new Error(`call ${call + 1}: ${got.length} leaves vs ${ref.length}\n${program.source}`);
        got.forEach(([path, v], i) => {
          if (path !== ref[i][0] || !Object.is(v, ref[i][1])) throw new Error(`call ${call + 1}: ${path} = ${v}, interpreter ${ref[i][1]}\n${program.source}`);
        });
      }
      const tier = tierOf(T).replace(/:.*/, '');
      tiers.set(tier, (tiers.get(tier) ?? 0) + 1);
    }),
    { numRuns: 100 },
  );
  t.log(`tiers: ${[...tiers].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  t.pass();
});

// ---- object arguments and inlined calls: the same programs, their parameters packed into one object ----

/**
 * `(p) => inner(p.a0, p.x0, ...)` with inner the generated program (traced, passed in the scope): the compiled tier
 * flattens the object's fields and inlines the call. The gradient (an object with one entry per field) must equal
 * the interpreter's bit for bit.
 */
function checkObjectProgram(program, vectors, nested = false) {
  const names = program.kinds.map((_k, i) => program.arrays.find((a) => a.index === i)?.name ?? `x${i}`);
  const inner = traced(new Function(`return ${program.source};`)());
  // nested: the fields alternate between two sub-objects, p.g and p.h (a model of layers)
  const at = (n, i) => (nested ? `${i % 2 ? 'h' : 'g'}.${n}` : n);
  const T = traced(new Function('inner', `return (p) => inner(${names.map((n, i) => `p.${at(n, i)}`).join(', ')});`)(inner), { inner });
  const pack = (args) => {
    if (!nested) return Object.fromEntries(names.map((n, i) => [n, args[i]]));
    const g = {}, h = {};
    names.forEach((n, i) => ((i % 2 ? h : g)[n] = args[i]));
    return Object.keys(h).length ? { g, h } : { g };
  };
  for (const vector of vectors) {
    let ref;
    try {
      jit.enabled = false;
      ref = withGradient(T, pack(argumentsFor(program, vector, 'f64')));
    } finally {
      jit.enabled = true;
    }
    const got = withGradient(T, pack(argumentsFor(program, vector, 'f64')));
    skipIfTooLarge(tierOf(T));
    if (tierOf(T) !== 'compiled') throw new Error(`not compiled (tierOf: ${tierOf(T)})\n${program.source}`);
    const leaves = (r) => leavesOf(r);
    const a = leaves(ref), b = leaves(got);
    const bad = a.length !== b.length ? `${b.length} leaves vs ${a.length}` : a.map(([p, v], i) => (p !== b[i][0] || !Object.is(v, b[i][1]) ? `${p}: ${b[i][1]}, interpreter ${v}` : null)).find(Boolean);
    if (bad) throw new Error(`object argument: ${bad}\nprogram:\n${program.source}`);
  }
}

test('a model packed into one object argument and an inlined call give the interpreter\'s results bit for bit', (t) => {
  fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), arrayInputs, (p, v) => checkObjectProgram(p, v)), { numRuns: 100 });
  fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), arrayInputs, (p, v) => checkObjectProgram(p, v, true)), { numRuns: 100 });
  t.pass();
});

// ---- forward mode (jvp) compiled: bit-identical to the forward tape ----

/** jvp of one program on several inputs, tangents drawn from the same pools (some zero: unperturbed entries). */
function checkTangentProgram(program, vectors) {
  const T = traced(new Function(`return ${program.source};`)());
  const kinds = program.kinds ?? Array(program.arity).fill('number');
  const argsOf = (vector) => (program.kinds ? argumentsFor(program, vector, 'f64') : vector.numbers.slice(0, program.arity));
  const tangentsOf = (vector) => argsOf({ ...vector, numbers: vector.numbers.map((v, i) => (i === 1 ? 0 : Math.cos(3 * v))),
    pools: vector.pools?.map((pool) => pool.map((v, i) => (i % 3 === 2 ? 0 : Math.sin(v + 1)))) });
  for (const vector of vectors) {
    let ref;
    try {
      jit.enabled = false;
      ref = jvp(T, argsOf(vector), tangentsOf(vector));
    } finally {
      jit.enabled = true;
    }
    const got = jvp(T, argsOf(vector), tangentsOf(vector));
    skipIfTooLarge(tierOf(T));
    if (tierOf(T) !== 'compiled') throw new Error(`jvp not compiled (tierOf: ${tierOf(T)})\n${program.source}`);
    if (!Object.is(ref[0], got[0]) || !Object.is(ref[1], got[1]))
      throw new Error(`jvp: compiled [${show(got[0])}, ${show(got[1])}], interpreter [${show(ref[0])}, ${show(ref[1])}] (kinds ${kinds})\nprogram:\n${program.source}`);
  }
}

const vectorsOf = (inputs) => inputs.map((xs) => ({ numbers: xs, pools: [xs.concat(xs), xs.concat(xs)], lengths: [0, 0] }));

test('compiled forward mode (jvp) is bit-identical to the forward tape on random programs', (t) => {
  fc.assert(fc.property(scalarProgramArbitrary(), inputs, (p, xs) => checkTangentProgram(p, vectorsOf(xs))), { numRuns: 150 });
  fc.assert(fc.property(scalarProgramArbitrary({ wild: true }), inputs, (p, xs) => checkTangentProgram(p, vectorsOf(xs))), { numRuns: 100 });
  fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), arrayInputs, checkTangentProgram), { numRuns: 150 });
  t.pass();
});

// ---- break, continue and early return (rewritten into flags): random loop nests, compiled == interpreter ----

test('programs with break, continue and early return inside loop nests are bit-identical to the interpreter, compiled', (t) => {
  fc.assert(
    fc.property(jumpProgram, fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 5, maxLength: 5 }), ({ source }, xs) => {
      const T = traced(new Function(`return ${source};`)());
      const args = () => [xs[0], new Float64Array(xs.slice(1))];
      let ref;
      try {
        jit.enabled = false;
        ref = withGradient(T, ...args());
      } finally {
        jit.enabled = true;
      }
      withGradient(T, ...args());
      const got = withGradient(T, ...args());
      if (tierOf(T) !== 'compiled') throw new Error(`not compiled: ${tierOf(T)}\n${source}`);
      const plain = new Function(`return ${source};`)()(...args());
      const bad = !Object.is(ref.value, got.value) || !Object.is(plain, got.value) ? `value ${got.value}, interpreter ${ref.value}, plain ${plain}`
        : !Object.is(ref.grad[0], got.grad[0]) ? `grad[0] ${got.grad[0]} vs ${ref.grad[0]}`
          : ref.grad[1] === null ? (got.grad[1] === null ? null : 'grad[1] not null')
            : [...ref.grad[1]].some((v, i) => !Object.is(v, got.grad[1][i])) ? `grad[1] ${[...got.grad[1]]} vs ${[...ref.grad[1]]}` : null;
      if (bad) throw new Error(`${bad}\n${source}`);
    }),
    { numRuns: 200 },
  );
  t.pass();
});
