// The object instrumented code calls (`__tg`): operators, tests, element access, call hooks and the Math namespace.
import { O, lt, gt, le, ge, seq, eq, truthy, switchKey } from './ops';
import { Tracked, primal, settled } from './trace/tracked';
import { state, top } from './trace/context';
import { readElement, writeElement, noteWrite, elementsOf, isTypedFloat } from './trace/containers';
import { adjointFor } from './rules/custom';
import { builtinHook, constructorHook } from './rules/builtins';
import { mathNamespace } from './rules/math';
import { registerModuleFunctions } from './jit/scopes';

let lastLhs: any;
/** Targets of compound member assignments in progress (nested ones stack up). */
const pending: any[] = [];

/** Bitwise operators truncate to integers: their result is a constant (derivative 0 almost everywhere). */
const bit = (f: (a: number, b: number) => number) => (a: any, b: any) =>
  typeof a === 'number' && typeof b === 'number' ? f(a, b) : f(primal(a) as number, primal(b) as number);

const elementView: ProxyHandler<any> = {
  get: (o, k) => (typeof k === 'string' ? readElement(o, k) : o[k]),
};

export const runtime = {
  st: state,
  /** The loader's registration of a module's top-level functions for the compiled tier (rewrite/module.ts). */
  module: registerModuleFunctions,
  M: mathNamespace,
  add: O.add, sub: O.sub, mul: O.mul, div: O.div, mod: O.mod, pow: O.pow,
  neg: O.neg,
  pos: O.pos,
  lt, gt, le, ge, seq, eq,
  sne: (a: any, b: any) => !seq(a, b),
  ne: (a: any, b: any) => !eq(a, b),
  band: bit((a, b) => a & b), bor: bit((a, b) => a | b), bxor: bit((a, b) => a ^ b),
  shl: bit((a, b) => a << b), shr: bit((a, b) => a >> b), ushr: bit((a, b) => a >>> b),
  bnot: (x: any) => ~(primal(x) as number),
  truthy,
  typeOf: (x: any) => (x instanceof Tracked ? 'number' : typeof x),
  // ++ and -- convert to a number first (a string '1' becomes 2), keep BigInts BigInt, and track tracked values
  inc: (x: any) => (typeof x === 'number' ? x + 1 : x instanceof Tracked ? O.add(x, 1) : typeof x === 'bigint' ? x + 1n : +x + 1),
  dec: (x: any) => (typeof x === 'number' ? x - 1 : x instanceof Tracked ? O.sub(x, 1) : typeof x === 'bigint' ? x - 1n : +x - 1),
  /** Postfix update whose value is used: the old value, converted (the assignment already ran as the second argument). */
  post: (old: any, _assigned: any) => (old instanceof Tracked || typeof old === 'bigint' ? old : +old),
  /** `a && b` / `a || b`: remember a, return its truthiness; `last()` gives it back. */
  lhs(x: any): boolean {
    lastLhs = x;
    return truthy(x);
  },
  last(): any {
    const x = lastLhs;
    lastLhs = undefined;
    return x;
  },
  get: readElement,
  /** `o[k] = v` with pure o and k: the value to store. */
  wr: writeElement,
  /** `o.f = v`: log the container if it now holds something tracked. */
  wf(o: any, v: any): any {
    if (v !== null && typeof v === 'object' && state.tapes.length !== 0) noteWrite(o);
    return v;
  },
  /** `o[k] = v` where o or k has side effects: evaluate each once. */
  put(o: any, k: any, v: any): any {
    o[k] = writeElement(o, k, v);
    return v;
  },
  /**
   * `o[k] op= v` and `o[k]++` in two steps, so the old value is read before v is evaluated: ref(o, k) saves the
   * target and its value and returns a slot; upd(slot, op, v, post) writes the result (post = 1: returns the old value).
   */
  ref(o: any, k: any): number {
    const slot = pending.length;
    pending.push(o, k, state.shadowCount === 0 ? o[k] : readElement(o, k));
    return slot;
  },
  upd(slot: number, op: string, v: any, post: number): any {
    const o = pending[slot], k = pending[slot + 1], old = pending[slot + 2];
    pending.length = slot;
    const nv = (O as any)[op] !== undefined ? (O as any)[op](old, v) : (runtime as any)[op](old, v);
    o[k] = writeElement(o, k, nv);
    return post === 1 ? runtime.post(old, nv) : nv;
  },
  /** A write to a variable that outlives the call: register its cleanup if a tracked value lands there. */
  wv(v: any, fix: () => void): any {
    if (v !== null && typeof v === 'object' && state.tapes.length !== 0) {
      const t = top()!;
      if (v instanceof Tracked) t.varFixes.push(fix);
      else noteWrite(v);
    }
    return v;
  },
  /** A variable's value once its call has ended: layers of finished tapes removed. */
  settled,
  /** Call sites: a custom adjoint if the callee has one, a tracking-aware version of some built-ins, else f. */
  C(f: any): any {
    if (typeof f !== 'function') return f;
    const a = adjointFor(f);
    if (a !== undefined) return a;
    return state.tapes.length === 0 ? f : builtinHook(f);
  },
  /** A method call whose receiver has side effects: `o[k](...args)` through the same call hook as C. */
  mc(o: any, k: any, ...args: any[]): any {
    return runtime.C(o[k]).apply(o, args);
  },
  /** `new C(...)`: typed arrays built from tracked values keep them. */
  N: constructorHook,
  /** switch discriminants and case labels compare primals (a tracked value is an object to `===`). */
  key: switchKey,
  /** Object destructuring of a typed array with tracked elements (`const { 0: u } = ta`) reads them through a view. */
  D(x: any): any {
    return state.shadowCount !== 0 && isTypedFloat(x) ? new Proxy(x, elementView) : x;
  },
  /** for-of and spread over a typed array with tracked elements iterate the tracked values. */
  I(x: any): any {
    return state.shadowCount !== 0 && isTypedFloat(x) ? elementsOf(x) : x;
  },
};

