// Custom number types: a class declares its arithmetic once, and traced code then uses + - * / ** %, unary minus, comparisons and Math.f on it.
import { Tracked } from '../trace/tracked';
import { TracegradError } from '../errors';

/**
 * A number type's operations. Binary ones take (a, b) where either may be the type, a number or a tracked number
 * (mixed arithmetic: `2 * v`); unary ones (neg, and Math functions by name: exp, log, sqrt, sin, cos, abs, ...) take
 * one. Comparisons lt, gt, le, ge return booleans. They must be differentiable themselves: library code written with
 * tracegrad's overloaded ops, or functions made by traced() (defineNumberType traces plain ones, with `scope`).
 * `fromFields(g)` builds a gradient or tangent of the type from a plain object of its fields (otherwise they are
 * plain objects).
 */
export interface NumberType {
  add?: (a: any, b: any) => any;
  sub?: (a: any, b: any) => any;
  mul?: (a: any, b: any) => any;
  div?: (a: any, b: any) => any;
  mod?: (a: any, b: any) => any;
  pow?: (a: any, b: any) => any;
  neg?: (a: any) => any;
  lt?: (a: any, b: any) => boolean;
  gt?: (a: any, b: any) => boolean;
  le?: (a: any, b: any) => boolean;
  ge?: (a: any, b: any) => boolean;
  fromFields?: (fields: Record<string, any>) => any;
  [mathFunction: string]: ((...xs: any[]) => any) | undefined;
}

const types = new Map<Function, NumberType>();
/** Set by rewrite/traced.ts (avoids an import cycle): traces an implementation function. */
export const tracer = { traced: null as any as (f: Function, scope?: Record<string, any>) => Function, isTraced: null as any as (f: Function) => boolean };

/**
 * `defineNumberType(Class, ops, scope?)`: instances of Class become numbers to traced code. Each function in ops that
 * is not traced yet is traced (with `scope` for its free variables, e.g. `{ Vec2 }`), so gradients flow through the
 * fields it computes with. Instances are containers like any class instance: as arguments their numeric fields are
 * inputs, and their gradient has the same fields (built with `ops.fromFields` when given).
 *
 * @example
 * ```js
 * import { defineNumberType, gradient } from 'tracegrad';
 * class Vec2 { constructor(x, y) { this.x = x; this.y = y; } }
 * defineNumberType(Vec2, {
 *   add: (a, b) => new Vec2(a.x + b.x, a.y + b.y),
 *   mul: (a, b) => new Vec2(a.x * b.x, a.y * b.y),
 * }, { Vec2 }); // the scope the operations are traced with
 * // r = p·q + p (componentwise): ∂(r.x + r.y)/∂p = q + 1, ∂/∂q = p
 * gradient((p, q) => { const r = p * q + p; return r.x + r.y; }, new Vec2(1, 2), new Vec2(3, 4)); // → [{ x: 4, y: 5 }, { x: 1, y: 2 }]
 * ```
 */
export function defineNumberType(Class: Function, ops: NumberType, scope?: Record<string, any>): void {
  if (typeof Class !== 'function') throw new TracegradError('tracegrad: defineNumberType(Class, ops): Class must be a class (constructor).');
  if (ops === null || typeof ops !== 'object') throw new TracegradError('tracegrad: defineNumberType(Class, ops): ops must be an object of operations, e.g. { add, sub, mul }.');
  const entry: NumberType = {};
  for (const [name, f] of Object.entries(ops)) {
    if (typeof f !== 'function') throw new TracegradError(`tracegrad: defineNumberType: ${name} must be a function.`);
    entry[name] = name === 'fromFields' || tracer.isTraced(f) ? f : (tracer.traced(f, scope) as any);
  }
  types.set(Class, entry);
}

/** Run fn with Class registered as a number type for its duration (internal: the compiled tier's symbolic rule evaluation). */
export function withNumberType<T>(Class: Function, ops: NumberType, fn: () => T): T {
  types.set(Class, ops);
  try {
    return fn();
  } finally {
    types.delete(Class);
  }
}
/** The number type of a value, or undefined (numbers, tracked numbers and other objects). */
export function numberTypeOf(x: any): NumberType | undefined {
  if (types.size === 0 || x === null || typeof x !== 'object' || x instanceof Tracked) return undefined;
  return types.get(x.constructor);
}

/** The number type registered for a constructor, if any. */
export function numberTypeFor(ctor: any): NumberType | undefined {
  return types.size === 0 ? undefined : types.get(ctor);
}

/** Marks "no number type handles this": the caller goes on as for any other operand. */
export const NOT_NUMBER_TYPE = Symbol('not a number type');

/** `a op b` when an operand is of a number type: the left one's op, else the right one's, else a clear error. */
export function numberTypeBinary(op: string, a: any, b: any): any {
  const ta = numberTypeOf(a), tb = numberTypeOf(b);
  if (ta === undefined && tb === undefined) return NOT_NUMBER_TYPE;
  const f = ta?.[op] ?? tb?.[op];
  if (f === undefined) throw missing(op, ta !== undefined ? a : b);
  return f(a, b);
}

/** A unary op or Math function of a number type's value. */
export function numberTypeUnary(op: string, x: any): any {
  const t = numberTypeOf(x);
  if (t === undefined) return NOT_NUMBER_TYPE;
  const f = t[op];
  if (f === undefined) throw missing(op, x);
  return f(x);
}

function missing(op: string, x: any): TracegradError {
  const name = x.constructor?.name ?? 'this type';
  return new TracegradError(`tracegrad: ${name} has no ${op}: add it to defineNumberType(${name}, { ..., ${op}: ... }).`);
}
