// Property tests of compiled Hessian-vector products: on random programs, hvp with the compiled tier is bit-identical (Object.is) to the interpreter's reverse over forward, for directions with and without zero entries.
import test from 'ava';
import fc from 'fast-check';
import { traced, hvp, jit, tierOf } from '../dist/index.js';
import { scalarProgramArbitrary } from './arbitraries/scalar-program.mjs';
import { jumpProgram } from './arbitraries/jump-program.mjs';

const show = (v) => (Object.is(v, -0) ? '-0' : String(v));
/** Values on the generated programs' thresholds and kinks, and plain ones. */
const element = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, 0.5, -0.5, 1, -1, 2, 1.5, 0.25, 0.1, -2.5, 3) },
);

/**
 * A one-argument wrapper of a generated program for hvp: X holds the program's numbers, then the entries of each array
 * parameter (copied into a local Float64Array of the program's minimum length). The program is inlined when compiled.
 */
function wrap(program) {
  const P = traced(new Function(`return ${program.source};`)());
  const kinds = program.kinds ?? Array(program.arity).fill('number');
  let at = 0;
  const lines = [], args = [];
  kinds.forEach((k, i) => {
    if (k === 'number') return void args.push(`X[${at++}]`);
    const n = program.arrays.find((a) => a.index === i).minLength;
    lines.push(`const a${i} = new Float64Array(${n}); for (let j = 0; j < ${n}; j++) a${i}[j] = X[${at} + j];`);
    at += n;
    args.push(`a${i}`);
  });
  const source = `(X) => { ${lines.join(' ')} return P(${args.join(', ')}); }`;
  return { W: traced(new Function('P', `return ${source};`)(P), { P }), size: at, source };
}

const seen = { compiled: 0, interpreted: 0 };
/** hvp compiled against interpreted, Object.is on every entry; the reason when the compiled tier declined. */
function check(program, xs, vs) {
  const { W, size } = wrap(program);
  if (size === 0) return;
  const x = Float64Array.from({ length: size }, (_v, i) => xs[i % xs.length]);
  for (const pattern of ['dense', 'sparse']) {
    const v = Float64Array.from({ length: size }, (_v, i) => (pattern === 'sparse' && i % 2 === 1 ? 0 : vs[i % vs.length] || 0.5));
    let ref;
    try {
      jit.enabled = false;
      ref = hvp(W, x, v);
    } finally {
      jit.enabled = true;
    }
    const got = hvp(W, x, v);
    const tier = tierOf(W, 'hvp');
    seen[tier === 'compiled' ? 'compiled' : 'interpreted']++;
    for (let i = 0; i < size; i++)
      if (!Object.is(ref[i], got[i]))
        throw new Error(`hvp[${i}] (${pattern} v, ${tier}): ${show(got[i])}, interpreter ${show(ref[i])}\nx = [${[...x].map(show)}], v = [${[...v].map(show)}]\nprogram:\n${program.source}`);
  }
}

const inputs = fc.tuple(fc.array(element, { minLength: 4, maxLength: 4 }), fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }));

test('compiled hvp is bit-identical to the interpreter on random scalar programs (dense and sparse directions)', (t) => {
  fc.assert(fc.property(scalarProgramArbitrary(), inputs, (p, [xs, vs]) => check(p, xs, vs)), { numRuns: 150 });
  t.log(`hvp tiers: compiled ${seen.compiled}, interpreted ${seen.interpreted}`);
  // most generated programs use a kink (abs, %) whose second derivative stays interpreted; enough must compile
  t.true(seen.compiled >= 40, `only ${seen.compiled} compiled hvps`);
});

test('compiled hvp is bit-identical on wild programs (NaN and infinite partials) and on programs with array parameters', (t) => {
  fc.assert(fc.property(scalarProgramArbitrary({ wild: true }), inputs, (p, [xs, vs]) => check(p, xs, vs)), { numRuns: 100 });
  fc.assert(fc.property(scalarProgramArbitrary({ arrays: true, locals: true, copies: true }), inputs, (p, [xs, vs]) => check(p, xs, vs)), { numRuns: 100 });
  t.pass();
});

test('compiled hvp is bit-identical on loop nests with break, continue and early return', (t) => {
  // (x0, a0) with a0 of length 4: X = [x0, ...a0]
  const asProgram = ({ source }) => ({ source, arity: 2, kinds: ['number', 'f64'], arrays: [{ index: 1, minLength: 4 }] });
  const before = seen.compiled;
  fc.assert(fc.property(jumpProgram, inputs, (p, [xs, vs]) => check(asProgram(p), xs, vs)), { numRuns: 150 });
  t.true(seen.compiled - before >= 150, `only ${seen.compiled - before} of 300 hvps compiled`);
});
