// Property tests of the compiled tier: on random programs in the compiled subset, compiled values and gradients are bit-identical (Object.is) to the interpreter's.
import test from 'ava';
import fc from 'fast-check';
import { traced, gradient, withGradient, jit, tierOf } from '../dist/index.js';
import { scalarProgramArbitrary } from './arbitraries/scalar-program.mjs';

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
test('BUG: wild programs (infinite and NaN partial derivatives) are bit-identical too', (t) => {
  const wildInputs = fc.array(
    fc.tuple(...[0, 1, 2].map(() => fc.oneof(fc.double({ min: -3, max: 3, noNaN: true }), fc.constantFrom(0, -0, 1, -1, 0.5)))),
    { minLength: INPUTS_PER_PROGRAM, maxLength: INPUTS_PER_PROGRAM },
  );
  fc.assert(fc.property(scalarProgramArbitrary({ wild: true }), wildInputs, checkProgram), { numRuns: 150, seed: 42, endOnFailure: true });
  t.pass();
});
