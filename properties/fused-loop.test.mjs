// Property tests of the compiled tier's fused last loops (lib/jit/fusedloop.ts): on random reduction loops (counter-offset reads, invariants, branches), compiled values and gradients are bit-identical to the interpreter's, the fusable ones run fused and the near misses do not.
import test from 'ava';
import fc from 'fast-check';
import { traced, withGradient, tierOf, inspect } from '../dist/index.js';
import { reductionProgram } from './arbitraries/reduction-program.mjs';
import { show, same, interpretedRun } from '../test/helpers/tiers.mjs';

// values of mixed magnitudes too: a sum taken in another order then differs in its last bits far more often
const value = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
  { weight: 2, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: -1e-6, max: 1e-6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 0.5, -1, 2, 0.2) },
);
/** One call's inputs: x0, two arrays of one length (0 to 7) and th (2 entries), as Float64Arrays or plain Arrays. */
const call = fc.record({
  x0: value,
  n: fc.nat(7),
  elements: fc.array(value, { minLength: 16, maxLength: 16 }),
  plain: fc.boolean(),
}).map(({ x0, n, elements, plain }) => {
  const make = (xs) => (plain ? xs : Float64Array.from(xs));
  return [x0, make(elements.slice(0, n)), make(elements.slice(7, 7 + n)), make(elements.slice(14, 16))];
});

let fused = 0, clean = 0;
test('reduction loops: compiled (fused where the plan allows) is bit-identical to the interpreter; near misses are not fused', (t) => {
  fc.assert(fc.property(reductionProgram(), fc.array(call, { minLength: 3, maxLength: 3 }), (program, calls) => {
    const T = traced(new Function(`return ${program.source};`)());
    // the interpreter first (helpers/tiers.mjs), then the same calls compiled: Object.is on everything
    const reference = calls.map((xs) => interpretedRun(() => withGradient(T, ...xs)).result);
    calls.forEach((xs, k) => {
      const got = withGradient(T, ...xs);
      if (!same(got, reference[k])) throw new Error(`call ${k} (${xs.map(show).join(', ')}): compiled ${show(got)}, interpreter ${show(reference[k])}`);
    });
    if (tierOf(T) !== 'compiled') throw new Error(`not compiled: ${tierOf(T)}`);
    const isFused = inspect(T, ...calls[0]).compiled.forward.includes('const fi = ');
    if (isFused !== program.fusable) throw new Error(program.fusable ? 'a fusable loop was not fused' : `a near miss (${program.mutation}) was fused`);
    if (program.fusable) (clean++, isFused && fused++);
  }), { numRuns: 400 });
  t.true(clean > 100, `fusable programs generated: ${clean}`);
  t.log(`fused ${fused} of ${clean} fusable programs`);
});
