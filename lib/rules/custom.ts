// Custom rules: defineAdjoint (the talk's @adjoint), nondifferentiable, ignore, hook and checkpoint.
import { Tracked, primal } from '../trace/tracked';
import { state, top, belowLevel } from '../trace/context';
import { opId, type Tape, type ExternRecord } from '../trace/tape';
import { isContainer, isTypedFloat, readElement, holdsTracked } from '../trace/containers';
import { bumpRuleVersion, O } from './registry';
import { TracegradError } from '../errors';
import { Tensor } from '../tensor/tensor';

/** `rule(...args)` returns `[y, back]`; `back(dy)` returns one cotangent per argument (null for none). */
export type AdjointRule = (...args: any[]) => [any, (dy: any) => any[]];

/** A rule as callWithRule runs it; hook and checkpoint are such rules, called directly by their functions. */
interface RuleEntry {
  name: string;
  fn: Function | null; // the function itself, called as usual when nothing is being differentiated
  rule: AdjointRule | null; // null: nondifferentiable
}
/** A rule registered for a user's function: traced call sites run `call` instead of the function. */
interface AdjointEntry extends RuleEntry {
  call: (this: any, ...args: any[]) => any;
}

const adjoints = new WeakMap<Function, AdjointEntry>();
let adjointCount = 0;
/** Traced versions point at the function they were made from, so a rule on either applies to both. */
export const ORIGINAL = Symbol('tracegrad.original');

/**
 * The talk's `@adjoint`: calls to `fn` from traced code use `rule` instead of differentiating fn's body. Takes effect
 * at once, for call sites traced before or after. Returns fn.
 *
 * @example
 * ```js
 * import { defineAdjoint, gradient, traced } from 'tracegrad';
 * const softplus = (x) => Math.log(1 + Math.exp(x));
 * // softplus'(x) = 1 / (1 + e^−x); inside the rule x is a plain number
 * defineAdjoint(softplus, (x) => [softplus(x), (dy) => [dy / (1 + Math.exp(-x))]]);
 * gradient(traced((x) => 2 * softplus(x), { softplus }), 0); // → [1]
 * ```
 */
export function defineAdjoint<F extends Function>(fn: F, rule: AdjointRule): F {
  if (typeof fn !== 'function') throw new TracegradError('defineAdjoint(fn, rule): fn must be a function.');
  if (typeof rule !== 'function')
    throw new TracegradError('defineAdjoint(fn, rule): rule must be a function (...args) => [y, dy => [cotangents...]].');
  register(fn, rule);
  return fn;
}

/**
 * Calls to fn from traced code return constants: its result carries no gradient to its arguments. Returns fn.
 *
 * @example
 * ```js
 * import { nondifferentiable, gradient, traced } from 'tracegrad';
 * const roundCents = nondifferentiable((x) => Math.round(x * 100) / 100);
 * // d/dx (x · c) = c: the rounded value is a constant
 * gradient(traced((x) => x * roundCents(x), { roundCents }), 1.234); // → [1.23]
 * ```
 */
export function nondifferentiable<F extends Function>(fn: F): F {
  if (typeof fn !== 'function') throw new TracegradError('nondifferentiable(fn): fn must be a function.');
  register(fn, null);
  return fn;
}

function register(fn: Function, rule: AdjointRule | null): void {
  const name = fn.name || 'an anonymous function';
  const entry: AdjointEntry = {
    name,
    fn,
    rule,
    call(...args: any[]) {
      // a nondifferentiable fn may be untraced: it gets primal copies of tracked arguments
      return rule === null ? constantCall(() => fn.apply(this, args.map(deepPrimal))) : callWithRule(entry, this, args);
    },
  };
  if (!adjoints.has(fn)) adjointCount++;
  adjoints.set(fn, entry);
  bumpRuleVersion();
}

/** The function a traced call site actually calls: a custom rule if one is registered, else f itself. */
export function adjointFor(f: any): ((...args: any[]) => any) | undefined {
  if (adjointCount === 0) return undefined;
  const e = adjoints.get(f) ?? (f[ORIGINAL] !== undefined ? adjoints.get(f[ORIGINAL]) : undefined);
  return e === undefined ? undefined : e.call;
}

/**
 * Run a custom rule at the innermost level L: its forward and its back run one level down (as Zygote does), its
 * output becomes an extern entry whose parents are the level-L tracked leaves of the arguments.
 */
function callWithRule(entry: RuleEntry, thisArg: any, args: any[]): any {
  const tape = top();
  if (tape === null) return entry.fn !== null ? entry.fn.apply(thisArg, args) : entry.rule!.apply(thisArg, args)[0];
  const level = state.tapes.length;
  const primalArgs = args.map((a) => unwrapLevel(a, tape));
  const result = belowLevel(level, () => entry.rule!.apply(thisArg, primalArgs));
  if (!Array.isArray(result) || result.length !== 2 || typeof result[1] !== 'function')
    throw new TracegradError(
      `tracegrad: the adjoint rule of ${entry.name} must return [y, back] with back a function dy => [cotangents...], ` +
        `got ${Array.isArray(result) ? `an array of length ${result.length}` : typeof result}.`,
    );
  const [y, back] = result;
  const trackedArgs = args.map(trackedView);
  if (!trackedArgs.some((a) => holdsTracked(a, tape))) return y;
  const forward = (...a: any[]) => entry.rule!.apply(thisArg, a)[0];
  return recordExtern(tape, { back, args: trackedArgs, dy: null, structured: false, name: entry.name, forward, primals: primalArgs.map(deepPrimal) }, y, level);
}

function recordExtern(tape: Tape, rec: ExternRecord, y: any, level: number): any {
  if (level > 1) tape.generic = true; // cotangents from back may be tracked one level down
  const op = opId(`adjoint:${rec.name}`);
  if (y instanceof Tensor) tape.generic = true; // a tensor output is one leaf; its cotangents are tensors
  if (typeof y === 'number' || y instanceof Tracked || y instanceof Tensor) return tape.extern(rec, y, op);
  if (!isContainer(y) && !isTypedFloat(y)) return y;
  rec.structured = true;
  rec.dy = y;
  const node = tape.externIndex(rec, op);
  return outputLeaves(tape, y, node, []);
}

/** A copy of a structured output whose numeric leaves are extern-output entries. */
function outputLeaves(tape: Tape, y: any, node: number, path: (string | number)[]): any {
  if (typeof y === 'number' || y instanceof Tracked) return tape.externOut(y, node, path);
  if (Array.isArray(y) || isTypedFloat(y)) return Array.from(y as any, (v, i) => outputLeaves(tape, v, node, [...path, i]));
  if (y instanceof Map) return new Map([...y].map(([k, v]) => [k, outputLeaves(tape, v, node, [...path, k])]));
  if (isContainer(y)) {
    const o: any = {};
    for (const k of Object.keys(y)) o[k] = outputLeaves(tape, y[k], node, [...path, k]);
    return o;
  }
  return y;
}

/** A copy of x with `tape`'s tracked values replaced by what they carry (containers copied, not changed). */
export function unwrapLevel(x: any, tape: Tape): any {
  return mapLeaves(x, (v) => (v instanceof Tracked && v.t === tape ? v.v : v));
}

/** A copy of x with every level of tracking removed. */
export function deepPrimal(x: any): any {
  return mapLeaves(x, primal);
}

/** The argument structure as the extern sees it: typed arrays become arrays of their tracked elements. */
function trackedView(x: any): any {
  return mapLeaves(x, (v) => v, (ta) => Array.from(ta, (_v: number, i: number) => readElement(ta, i)));
}

function mapLeaves(x: any, leaf: (v: any) => any, typed?: (ta: any) => any, seen = new Map<any, any>()): any {
  if (x instanceof Tracked || typeof x !== 'object' || x === null) return leaf(x);
  if (x instanceof Tensor) return x; // a value: it holds no tracked numbers
  if (seen.has(x)) return seen.get(x);
  if (isTypedFloat(x)) {
    if (typed !== undefined && state.shadowCount > 0) return typed(x);
    const c = x.slice();
    seen.set(x, c);
    return c;
  }
  if (!isContainer(x)) return x;
  if (Array.isArray(x)) {
    const c: any[] = [];
    seen.set(x, c);
    for (const v of x) c.push(mapLeaves(v, leaf, typed, seen));
    return c;
  }
  if (x instanceof Map) {
    const c = new Map();
    seen.set(x, c);
    for (const [k, v] of x) c.set(k, mapLeaves(v, leaf, typed, seen));
    return c;
  }
  if (x instanceof Set) return x;
  const c = Object.create(Object.getPrototypeOf(x));
  seen.set(x, c);
  for (const k of Object.keys(x)) c[k] = mapLeaves(x[k], leaf, typed, seen);
  return c;
}

/** Run `body` with every tape suspended, tracked values read as their primals: its result is a constant. */
function constantCall<T>(body: () => T): T {
  if (state.tapes.length === 0) return body();
  state.ignoring++;
  try {
    return deepPrimal(belowLevel(1, body));
  } finally {
    state.ignoring--;
  }
}

/**
 * Stop the gradient. `ignore(x)` returns x's primal (a copy, for containers); `ignore(() => expr)` evaluates the thunk
 * without recording anything and returns its result as a constant.
 *
 * @example
 * ```js
 * import { ignore, gradient, traced } from 'tracegrad';
 * // d/dx (x · stop(x)) = stop(x) = 3
 * gradient(traced((x) => x * ignore(x), { ignore }), 3); // → [3]
 * gradient(traced((x) => x + ignore(() => x * x), { ignore }), 3); // → [1]
 * ```
 */
export function ignore<T>(x: T | (() => T)): T {
  if (typeof x === 'function') return constantCall(x as () => T);
  return deepPrimal(x);
}

const hookEntry: RuleEntry = {
  name: 'hook',
  fn: null,
  rule: (f: (dy: any) => any, x: any) => [x, (dy) => [null, f(dy)]],
};

/**
 * Identity going forward; on the way back the cotangent of x becomes fn(cotangent). `hook(g => -g, x)` reverses the
 * gradient (the talk's `hook(-, x)`); `hook(g => (console.log(g), g), x)` observes it.
 *
 * @example
 * ```js
 * import { hook, gradient, traced } from 'tracegrad';
 * // d/dx 2x = 2, reversed on its way back to x
 * gradient(traced((x) => hook((g) => -g, x) * 2, { hook }), 5); // → [-2]
 * const seen = [];
 * gradient(traced((x) => hook((g) => (seen.push(g), g), x) * 3, { hook, seen }), 1); // → [3]
 * seen; // → [3]
 * ```
 */
export function hook<T>(fn: (cotangent: any) => any, x: T): T {
  if (typeof fn !== 'function') throw new TracegradError('hook(fn, x): fn must be a function of the cotangent.');
  return callWithRule(hookEntry, undefined, [fn, x]);
}

/** Set by api.ts and forward/api.ts: pullback and jvp without the public argument checks (avoids an import cycle). */
export const inner = {
  pullback: null as any as (f: Function, args: any[]) => [any, (dy: any) => any[]],
  jvp: null as any as (f: Function, args: any[], tangents: any[]) => [any, any],
  ensureTraced: null as any as (f: Function) => (...args: any[]) => any,
};

/**
 * `forwardDiff(f, x)` is f(x), differentiated in forward mode: inside a reverse pass its adjoint is Jᵀ·dy with J
 * from one jvp per entry of x (the talk's `@adjoint forwarddiff`), so f's intermediates are never recorded. Worth it
 * where x has few entries and f many operations. x is a number or a flat array (or Float64Array) of numbers.
 *
 * @example
 * ```js
 * import { forwardDiff, gradient, traced } from 'tracegrad';
 * // f(v) = v0·v1 + sin v0, its adjoint from two jvps: ∇f = [v1 + cos v0, v0] = [4, 0] at [0, 3]
 * const f = traced((x) => forwardDiff((v) => v[0] * v[1] + Math.sin(v[0]), x), { forwardDiff });
 * gradient(f, [0, 3]); // → [[4, 0]]
 * ```
 */
export function forwardDiff<T>(f: (x: any) => T, x: any): T {
  if (typeof f !== 'function') throw new TracegradError('forwardDiff(f, x): f must be a function.');
  return callWithRule(forwardDiffEntry, undefined, [f, x]);
}
const forwardDiffEntry: RuleEntry = {
  name: 'forwardDiff',
  fn: null,
  rule: (f: any, x: any) => {
    const y = inner.ensureTraced(f)(x);
    return [y, (dy: any) => [null, transposedJacobianTimes(f, x, dy)]];
  },
};

/** Jᵀ·dy for f at x, column by column of J in forward mode. */
function transposedJacobianTimes(f: any, x: any, dy: any): any {
  const dot = (t: any, d: any): any => {
    if (d === null || d === undefined) return 0;
    if (typeof t === 'number' || t instanceof Tracked) return O.mul(t, d);
    if (t === null || typeof t !== 'object') return 0;
    let s: any = 0;
    if (t instanceof Map) for (const [k, v] of t) s = O.add(s, dot(v, d instanceof Map ? d.get(k) : undefined));
    else for (const k of Object.keys(t)) s = O.add(s, dot(t[k], d[k]));
    return s;
  };
  if (typeof x === 'number' || x instanceof Tracked) return dot(inner.jvp(f, [x], [1])[1], dy);
  if (!(Array.isArray(x) || isTypedFloat(x)) || !Array.from(x as any).every((v) => typeof v === 'number' || v instanceof Tracked))
    throw new TracegradError('tracegrad: forwardDiff(f, x) needs x to be a number or a flat array of numbers.');
  const n = x.length;
  const g: any[] = new Array(n);
  for (let j = 0; j < n; j++) {
    const e = Array.from({ length: n }, (_v, k) => (k === j ? 1 : 0));
    g[j] = dot(inner.jvp(f, [x], [isTypedFloat(x) ? new (x.constructor as any)(e) : e])[1], dy);
  }
  return isTypedFloat(x) && g.every((v) => typeof v === 'number') ? new (x.constructor as any)(g) : g;
}

/**
 * f's intermediates are not kept: the forward runs without recording, and the backward pass runs f again under a
 * fresh tape to get its pullback (trading compute for memory, as in the talk's checkpoint adjoint).
 *
 * @example
 * ```js
 * import { checkpoint, gradient, traced } from 'tracegrad';
 * const cube = traced((x) => x * x * x);
 * // d/dx (x³ + x) = 3x² + 1; cube runs again on the way back instead of keeping its intermediates
 * gradient(traced((x) => checkpoint(cube, x) + x, { checkpoint, cube }), 2); // → [13]
 * ```
 */
export function checkpoint(f: (...args: any[]) => any, ...args: any[]): any {
  if (typeof f !== 'function') throw new TracegradError('checkpoint(f, ...args): f must be a function.');
  return callWithRule(checkpointEntry, undefined, [f, ...args]);
}
const checkpointEntry: RuleEntry = {
  name: 'checkpoint',
  fn: null,
  rule: (f: any, ...args: any[]) => [inner.ensureTraced(f)(...args), (dy: any) => [null, ...inner.pullback(f, args)[1](dy)]],
};
