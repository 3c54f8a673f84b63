// Test helper: run a traced function with the compiled tier and with the interpreter (the reference), and compare bit for bit.
import { withGradient, jvp, jit, tierOf } from '../../dist/index.js';

/** Numbers with -0 shown, typed arrays with their type, objects field by field: for messages. */
export const show = (v) => (Object.is(v, -0) ? '-0' : ArrayBuffer.isView(v) ? `${v.constructor.name}[${[...v].map(show)}]`
  : Array.isArray(v) ? `[${v.map(show)}]` : v !== null && typeof v === 'object' ? `{${Object.entries(v).map(([k, x]) => `${k}: ${show(x)}`)}}` : String(v));

/** Object.is on numbers, element by element on arrays (same constructor), field by field on objects (same keys, same order). */
export function same(a, b) {
  if (Object.is(a, b)) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => kb[i] === k && same(a[k], b[k]));
}

/** The result of call() (or the error it throws) with the JIT off: the interpreter is the reference. */
export function interpretedRun(call) {
  jit.enabled = false;
  try {
    return { result: call() };
  } catch (error) {
    return { error };
  } finally {
    jit.enabled = true;
  }
}

/**
 * call() (building fresh arguments each time) three times with the JIT on against once with it off: results (value
 * and every gradient/tangent entry) Object.is-identical, or the same error message; optionally the tier compiled.
 */
export function assertAgrees(t, T, call, { compiled = true, what = '' } = {}) {
  const ref = interpretedRun(call);
  for (let k = 0; k < 3; k++) {
    let got;
    try {
      got = { result: call() };
    } catch (error) {
      got = { error };
    }
    if (ref.error || got.error) t.is(got.error?.message, ref.error?.message, `${what} call ${k}: thrown error`);
    else t.true(same(got.result, ref.result), `${what} call ${k}: ${show(got.result)} vs interpreted ${show(ref.result)}`);
  }
  if (compiled) t.is(tierOf(T), 'compiled', what);
}
/** assertAgrees on withGradient(T, ...args()). */
export const assertGradient = (t, T, args, opts) => assertAgrees(t, T, () => withGradient(T, ...args()), opts);
/** assertAgrees on jvp(T, args(), tangents()). */
export const assertJvp = (t, T, args, tangents, opts) => assertAgrees(t, T, () => jvp(T, args(), tangents()), opts);
