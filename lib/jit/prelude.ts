// What every generated function starts with: bail-out markers, captured-value reads, the n-ary rules' partials, the rule objects.
import { unaryRules, binaryRules } from '../rules/scalar';

/** What both generated passes need: bail-out markers, captured-value reads, the n-ary rules' partials. */
export const PRELUDE = `
const BAIL = new Error('bail out to the interpreter');
const STALE = { stale: true };
const LIVE_SCOPE = Symbol.for('tracegrad.liveScope');
/** Rounding for counted loops' trip counts (Math's, as it was when the code was made). */
const CEIL = Math.ceil, FLOOR = Math.floor;
/** A captured value, read as the traced code would, except that an accessor bails out (it would run once per read there). */
function captured(o, prop) {
  for (; o !== null; o = Object.getPrototypeOf(o)) {
    const d = Object.getOwnPropertyDescriptor(o, prop);
    if (d !== undefined) {
      if (!('value' in d)) {
        if (o[LIVE_SCOPE] === true) return d.get.call(o); // a module binding (jit/scopes.ts)
        throw BAIL;
      }
      return d.value;
    }
  }
  return undefined;
}
/** ∂ max/min(vals)/∂ vals[i]: 1/k for each of k tied winners, 0 for the others, NaN if the result is NaN (ops.ts). */
function extremumPartial(vals, y, i) {
  if (y !== y) return NaN;
  let ties = 0;
  for (const v of vals) if (v === y) ties++;
  return vals[i] === y ? 1 / ties : 0;
}
/**
 * A plain array of n zeros held as doubles, for a plain-array argument's gradient: a copy of a template (V8 allocates
 * it in one go, already holding doubles, so the first gradient entry written changes no elements kind).
 */
let ZT = [];
function zerosArray(n) {
  if (ZT.length !== n) {
    ZT = [];
    for (let i = 0; i < n; i++) ZT.push(0.5);
    ZT.fill(0);
  }
  return ZT.slice();
}
/** ∂ hypot(vals)/∂ vals[i] = vals[i]/hypot, 0 at the origin (ops.ts). */
function hypotPartial(vals, y, i) { return y === 0 ? 0 : vals[i] / y; }
/** Whether a gradient buffer and a table share memory: the same array, or overlapping views of one buffer. */
function sharesMemory(a, b) {
  if (a === b) return true;
  if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.buffer !== b.buffer) return false;
  return a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
/** A captured table: a typed array of numbers (scopes.ts's isNumberArray). */
function numberArray(v) { return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array); }
`;

/**
 * A zeroed Float64Array of length n for a result handed to the caller. V8 here takes ~0.6 µs to allocate a typed array
 * above 64 bytes (an off-heap backing store), more than a whole compiled gradient of 100 elements; a view into a
 * shared buffer costs ~30 ns. So small results are carved, never reused, from 64 KiB buffers, as Node's Buffer pool
 * does: such an array's .buffer is the shared one (copy it before transferring that buffer to a worker).
 */
let pool = new Float64Array(8192), poolAt = 0;
export function freshF64(n: number): Float64Array {
  if (n > 512 || n >>> 0 !== n) return new Float64Array(n);
  if (poolAt + n > pool.length || pool.buffer.byteLength === 0) (pool = new Float64Array(8192)), (poolAt = 0);
  return pool.subarray(poolAt, (poolAt += n));
}

/** The rule objects, passed to the generated code as U_name (unary) and B_name (binary) constants, and freshF64. */
export const RULES: [string, any][] = [
  ...Object.entries(unaryRules).map(([k, r]) => [`U_${k}`, r] as [string, any]),
  ...Object.entries(binaryRules).map(([k, r]) => [`B_${k}`, r] as [string, any]),
  ['freshF64', freshF64],
];
