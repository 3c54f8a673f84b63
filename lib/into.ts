// Gradients written into the caller's buffers (gradientInto, withGradientInto): no fresh arrays per call.
import { compiledFor } from './jit/tier';
import { ensureTraced } from './rewrite/traced';
import { interpretedGradient, interpretedWithGradient } from './api';
import { TracegradError } from './errors';
import { state } from './trace/context';

/*
 * Why: a gradient is a fresh array per call, and a fresh array of more than a few KB costs its page faults again on
 * every call (measured here: a fresh 8 MB Float64Array written once takes 3–7 ms, more than the ADBench BA objective
 * it is the Jacobian of). An optimiser or a Jacobian sweep that reuses one buffer pays that once. The compiled tier
 * accumulates straight into the buffer; the interpreter computes the gradient as usual and copies it in.
 */

/**
 * `gradientInto(into, f, ...args)`: gradient(f, ...args), with the gradients of array arguments written into buffers
 * you own instead of fresh arrays. `into` is parallel to args: `into[k]` is null (allocate as gradient does) or a
 * destination of args[k]'s shape: for an array of numbers (Array or Float64Array) an Array or Float64Array of the
 * same length; for a plain object (a model) an object with the same fields, array fields holding such destinations
 * (`structuredClone(args[k])` makes one); a field holding a Map or class instance gets its gradient assigned, as a
 * number field does. Each destination is overwritten whole: entries no gradient reaches become 0 (where gradient
 * would return null, the buffer holds zeros and is returned). Not inside another differentiation (use gradient there). Returns gradient's list with the
 * destinations in their places. A destination must not share memory with an argument or with another destination;
 * number arguments take null (their gradients are returned).
 *
 * @example
 * ```js
 * import { gradientInto } from 'tracegrad';
 * const sumSquares = (x) => { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * x[i]; return s; };
 * const g = new Float64Array(3);
 * const [gx] = gradientInto([g], sumSquares, Float64Array.of(1, 2, 3));
 * gx === g; // → true
 * Array.from(g); // → [2, 4, 6]
 * // a model kept in an object: a copy of it receives the gradient field by field
 * const model = { w: [1, 2], b: 0.5 };
 * const grad = structuredClone(model);
 * gradientInto([grad], (m) => m.w[0] * m.w[1] + m.b, model);
 * grad; // → { w: [2, 1], b: 1 }
 * ```
 */
export function gradientInto(into: any[], f: (...args: any[]) => any, ...args: any[]): any[] {
  checkInto(into, args, 'gradientInto');
  const fast = compiledFor(ensureTraced(f), args)?.(args, into);
  return written(into, args, fast != null ? fast.grad : interpretedGradient(f, args));
}

/**
 * `withGradientInto(into, f, ...args)`: withGradient(f, ...args) (`{ value, grad }`, f may return [loss, ...extra] or
 * { loss, ...extra }) with the gradients written into `into` as gradientInto does.
 *
 * @example
 * ```js
 * import { withGradientInto } from 'tracegrad';
 * const loss = (w) => (w[0] - 1) ** 2 + (w[1] + 2) ** 2;
 * const w = Float64Array.of(0, 0), g = new Float64Array(2);
 * for (let step = 0; step < 100; step++) {
 *   withGradientInto([g], loss, w); // the same buffer every step
 *   for (let i = 0; i < 2; i++) w[i] -= 0.1 * g[i];
 * }
 * Array.from(w, Math.round); // → [1, -2]
 * withGradientInto([g], loss, w).value < 1e-12; // → true
 * ```
 */
export function withGradientInto(into: any[], f: (...args: any[]) => any, ...args: any[]): { value: any; grad: any[] } {
  checkInto(into, args, 'withGradientInto');
  const fast = compiledFor(ensureTraced(f), args)?.(args, into);
  const r = fast != null ? fast : interpretedWithGradient(f, args);
  return { value: r.value, grad: written(into, args, r.grad) };
}

// ---- checking the destinations (before f runs) ----

const isArrayOfNumbers = (a: any): boolean => ArrayBuffer.isView(a) || (Array.isArray(a) && a.every((v) => typeof v === 'number'));
const isPlainObject = (o: any) => o !== null && typeof o === 'object' && !Array.isArray(o) && !ArrayBuffer.isView(o) &&
  (Object.getPrototypeOf(o) === Object.prototype || Object.getPrototypeOf(o) === null);
const fail = (fname: string, message: string) => new TracegradError(`tracegrad: ${fname}: ${message}`);
/** What gradients are written into, entry by entry: arrays of numbers, arrays and plain objects. */
const writable = (v: any): boolean => v !== null && typeof v === 'object' && (isArrayOfNumbers(v) || Array.isArray(v) || isPlainObject(v));

/** Throws a TracegradError unless `into` holds, for each argument, null or a writable destination of its shape, sharing no memory. */
function checkInto(into: any[], args: any[], fname: string): void {
  if (state.tapes.length !== 0)
    throw fail(fname, 'it cannot run inside another differentiation (a gradient, jvp or derivative being recorded): the gradients there are tracked values, which your buffers cannot hold. Call gradient (or withGradient) there instead.');
  if (!Array.isArray(into))
    throw fail(fname, `its first argument is the list of gradient buffers, one per argument (null where none), but it got ${describe(into)}. Call it as ${fname}([buffer, ...], f, ...args).`);
  if (into.length > args.length)
    throw fail(fname, `into has ${into.length} entries for ${args.length} argument${args.length === 1 ? '' : 's'}; give one entry per argument (null where none).`);
  if (typedOnly(into, args)) return;
  const argObjects = new Set<any>();
  const argViews: ArrayBufferView[] = [];
  const collect = (a: any, depth: number) => {
    if (a === null || typeof a !== 'object' || argObjects.has(a) || depth > 32) return;
    argObjects.add(a);
    if (ArrayBuffer.isView(a)) argViews.push(a);
    else for (const v of Array.isArray(a) ? a : Object.values(a)) collect(v, depth + 1);
  };
  args.forEach((a) => collect(a, 0));
  const destinations: any[] = [];
  const visit = (dest: any, arg: any, path: string) => {
    // entries and fields are overwritten (typed arrays' always can be), and a plain object's missing fields added
    if (dest !== null && typeof dest === 'object' && (Object.isFrozen(dest) && (dest as any).length !== 0 ||
      (isPlainObject(dest) && !Object.isExtensible(dest) && Object.keys(arg).some((key) => !(key in dest)))))
      throw fail(fname, `${path} is frozen, or not extensible and missing fields; pass a copy tracegrad can write.`);
    if (isArrayOfNumbers(arg)) {
      const kind = ArrayBuffer.isView(arg) ? arg.constructor.name : 'array of numbers';
      const fits = Array.isArray(dest) || dest instanceof Float64Array || (ArrayBuffer.isView(dest) && dest.constructor === arg.constructor);
      if (!fits || (dest as any).length !== (arg as any).length)
        throw fail(fname, `${path} must be an Array or Float64Array of length ${(arg as any).length} (args${path.slice(4)} is a ${kind} of that length), but it is ${describe(dest)}.`);
      destinations.push(dest);
      return;
    }
    if (Array.isArray(arg)) {
      if (!Array.isArray(dest) || dest.length !== arg.length)
        throw fail(fname, `${path} must be an array of length ${arg.length} mirroring args${path.slice(4)}, but it is ${describe(dest)}.`);
      destinations.push(dest);
      arg.forEach((v, i) => visitField(dest, i, v, `${path}[${i}]`));
      return;
    }
    if (isPlainObject(arg)) {
      if (!isPlainObject(dest))
        throw fail(fname, `${path} must be a plain object with args${path.slice(4)}'s fields (structuredClone(args${path.slice(4)}) makes one), but it is ${describe(dest)}.`);
      destinations.push(dest);
      for (const [key, v] of Object.entries(arg)) visitField(dest, key, v, `${path}.${key}`);
      return;
    }
    throw fail(fname, `args${path.slice(4)} is ${describe(arg)}; gradients are written only into arrays and plain objects of them. Pass null at ${path} (its gradient is then returned, as gradient returns it).`);
  };
  // a field: arrays and plain objects need a destination of their own; a number's gradient is assigned to it, and so
  // is the gradient of a Map, class instance or Tensor (a fresh value, as gradient returns it)
  const visitField = (dest: any, key: string | number, v: any, path: string) => {
    if (writable(v)) visit(dest[key], v, path);
  };
  into.forEach((dest, k) => {
    if (dest === null || dest === undefined) return;
    if (typeof args[k] === 'number')
      throw fail(fname, `argument ${k + 1} is a number: its gradient is returned (grad[${k}]), not written. Pass null at into[${k}].`);
    visit(dest, args[k], `into[${k}]`);
  });
  // the gradient is accumulated while f's arguments are still read: a destination may not be (part of) one
  for (const d of destinations) {
    if (argObjects.has(d) || (ArrayBuffer.isView(d) && argViews.some((v) => overlaps(v, d))))
      throw fail(fname, `a gradient buffer is (or shares memory with) one of f's arguments; pass a separate buffer (for example new Float64Array(n) or structuredClone(arg)).`);
  }
  for (let i = 0; i < destinations.length; i++)
    for (let j = i + 1; j < destinations.length; j++)
      if (destinations[i] === destinations[j] || (ArrayBuffer.isView(destinations[i]) && ArrayBuffer.isView(destinations[j]) && overlaps(destinations[i], destinations[j])))
        throw fail(fname, 'two gradient buffers are the same array or share memory; give each argument its own.');
}

/**
 * The common case, checked without allocating (a call of a few microseconds notices a Set): number and typed-array
 * arguments, Float64Array buffers of their lengths, no memory shared. Anything else goes the long way, which words the error.
 */
function typedOnly(into: any[], args: any[]): boolean {
  for (let k = 0; k < args.length; k++) if (typeof args[k] !== 'number' && !ArrayBuffer.isView(args[k])) return false;
  for (let k = 0; k < into.length; k++) {
    const d = into[k], a = args[k];
    if (d === null || d === undefined) continue;
    if (!(d instanceof Float64Array) || typeof a === 'number' || d.length !== a.length) return false;
    for (let j = 0; j < args.length; j++) if (typeof args[j] !== 'number' && overlaps(args[j], d)) return false;
    for (let j = 0; j < k; j++) if (into[j] !== null && into[j] !== undefined && overlaps(into[j], d)) return false;
  }
  return true;
}

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

function describe(x: any): string {
  if (x === null || x === undefined) return String(x);
  if (typeof x !== 'object') return `a ${typeof x}`;
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of length ${(x as any).length}`;
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null ? 'a plain object' : `a ${proto?.constructor?.name ?? 'class instance'}`;
}

// ---- writing (after the gradient is known) ----

/** Writes each gradient into its destination (a compiled call may have written arrays already) and returns the list with the destinations in place. */
function written(into: any[], args: any[], grad: any[]): any[] {
  const out = grad.slice();
  into.forEach((dest, k) => {
    if (dest === null || dest === undefined) return;
    write(dest, grad[k] ?? null, args[k]);
    out[k] = dest;
  });
  return out;
}

function write(dest: any, g: any, arg: any): void {
  if (isArrayOfNumbers(arg)) {
    if (g === dest) return; // the compiled code accumulated into it
    if (g === null) dest.fill(0);
    else for (let i = 0; i < dest.length; i++) dest[i] = g[i] ?? 0;
    return;
  }
  const keys = Array.isArray(arg) ? arg.keys() : Object.keys(arg);
  for (const key of keys) {
    const v = arg[key];
    const gv = g === null ? null : g[key] ?? null;
    if (typeof v === 'number') dest[key] = gv ?? 0;
    else if (writable(v)) write(dest[key], gv, v);
    else if (v !== null && typeof v === 'object') dest[key] = gv;
  }
}
