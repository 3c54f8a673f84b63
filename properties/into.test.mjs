// Property tests of gradientInto / withGradientInto (lib/into.ts): on random reduction programs, gradients written into kept buffers (stale contents, reused across calls, Arrays or Float64Arrays) are bit-identical to gradient's, compiled and interpreted.
import test from 'ava';
import fc from 'fast-check';
import { traced, withGradient, withGradientInto, jit } from '../dist/index.js';
import { reductionProgram } from './arbitraries/reduction-program.mjs';
import { show } from '../test/helpers/tiers.mjs';

const value = fc.oneof(
  { weight: 4, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
  { weight: 1, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -0, 0.5, -1, 2) },
);
/** One call's inputs (x0, two arrays of one length 0–7, th of 2 entries), as Float64Arrays or plain Arrays. */
const call = fc.record({ x0: value, n: fc.nat(7), elements: fc.array(value, { minLength: 16, maxLength: 16 }), plain: fc.boolean() })
  .map(({ x0, n, elements, plain }) => {
    const make = (xs) => (plain ? xs : Float64Array.from(xs));
    return [x0, make(elements.slice(0, n)), make(elements.slice(7, 7 + n)), make(elements.slice(14, 16))];
  });

/** A buffer against gradient's array: Object.is entry by entry; where gradient gives null, +0 throughout. */
function sameInto(written, fresh) {
  if (fresh === null) return Array.from(written).every((v) => Object.is(v, 0));
  return written.length === fresh.length && Array.from(fresh).every((v, i) => Object.is(written[i], v));
}

test('withGradientInto writes what withGradient returns, bit for bit, into stale reused buffers, compiled and interpreted', (t) => {
  let calls = 0;
  fc.assert(fc.property(reductionProgram(), fc.array(call, { minLength: 3, maxLength: 3 }), fc.boolean(), fc.boolean(), (program, inputs, interpreted, asArrays) => {
    const T = traced(new Function(`return ${program.source};`)());
    // one set of buffers per length, kept across the calls (their old contents must not show), NaN to begin with
    const buffers = new Map();
    const bufferFor = (a, k) => {
      const key = `${k}:${a.length}`;
      if (!buffers.has(key)) buffers.set(key, asArrays ? Array.from({ length: a.length }, () => NaN) : new Float64Array(a.length).fill(NaN));
      return buffers.get(key);
    };
    jit.enabled = !interpreted;
    try {
      inputs.forEach((xs, c) => {
        const fresh = withGradient(T, ...xs);
        const into = xs.map((a, k) => (typeof a === 'number' ? null : bufferFor(a, k)));
        const got = withGradientInto(into, T, ...xs);
        calls++;
        if (!Object.is(got.value, fresh.value)) throw new Error(`call ${c}: value ${got.value}, withGradient ${fresh.value}`);
        fresh.grad.forEach((g, k) => {
          if (into[k] === null) {
            if (!Object.is(got.grad[k], g)) throw new Error(`call ${c}, argument ${k}: ${got.grad[k]}, withGradient ${g}`);
            return;
          }
          if (got.grad[k] !== into[k]) throw new Error(`call ${c}: grad[${k}] is not the buffer`);
          if (!sameInto(got.grad[k], g)) throw new Error(`call ${c}, argument ${k}: written ${show(got.grad[k])}, withGradient ${show(g)}`);
        });
      });
    } finally {
      jit.enabled = true;
    }
  }), { numRuns: 300 });
  t.is(calls, 900, 'every call compared');
});
