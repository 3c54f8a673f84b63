// Tiering: when a traced function's gradients run compiled code instead of the tape interpreter, and the switches for it.
import { compileGradient, compileProgram, Ineligible, type CompiledGradient, type ArgKind } from './compile';
import type { LeafKind } from './lower';
import { compileTangent, type CompiledTangent } from './tangent';
import { lower } from './lower';
import { tangentProgram } from './jvp';
import { resolver, checkScope, scopedMath, scopes } from './scopes';
import { state } from '../trace/context';
import { ORIGINAL, adjointFor } from '../rules/custom';
import { ruleVersion } from '../rules/registry';

/**
 * The policy. Tier 0 (the tape interpreter) always works. A function traced by traced() (or traced automatically by
 * gradient) is compiled on its first top-level gradient call whose arguments are numbers, Float64Arrays or arrays of
 * numbers, once per such argument signature, if its source is in the compiled subset (see lower.ts); a signature
 * outside the subset is marked and never tried again. A compiled call that cannot answer exactly bails out and the
 * interpreter redoes it; a variant that bails out on more than half of its calls (after BAIL_GRACE) is dropped and
 * marked. Nested gradients, other arguments, a `Math` given in traced()'s scope and functions with custom rules stay
 * in tier 0. `TRACEGRAD_JIT=0` turns compilation off; `TRACEGRAD_JIT_LOG=1` logs each decision (and each bail-out)
 * to stderr.
 *
 * @example
 * ```js
 * import { jit, traced, gradient, tierOf } from 'tracegrad';
 * jit.enabled = false; // as TRACEGRAD_JIT=0: every gradient runs on the tape interpreter
 * const f = traced((x) => x * x);
 * gradient(f, 3); // → [6]
 * tierOf(f); // → 'not yet decided'
 * jit.enabled = true;
 * gradient(f, 3); // → [6]
 * tierOf(f); // → 'compiled'
 * ```
 */
export const jit = {
  enabled: process.env.TRACEGRAD_JIT !== '0',
  log: process.env.TRACEGRAD_JIT_LOG === '1',
  /** Top-level gradient calls of a function before it is compiled (source-based: compiling once pays off at once). */
  threshold: 1,
};

/** Calls a compiled variant may bail out on before the policy looks at its bail-out rate. */
const BAIL_GRACE = 8;
const fnName = (fn: Function) => (fn as any)[ORIGINAL]?.name || fn.name || 'anonymous';

interface Entry {
  calls: number;
  compiled: CompiledGradient | CompiledTangent | null;
  /** The rule registry's version the code was compiled under: a custom rule defined since (on an inlined callee, say) makes it stale. */
  rules: number;
  ineligible: string | null;
  /** When it was last decided (compiled or marked), for tierOf's "most recent". */
  decided: number;
}
let decisions = 0;
/**
 * One function's variants in one mode, by argument signature (e.g. "number,f64"), with the last signature looked up:
 * a loop calls with one signature, so a call that matches it compares kinds and builds no key string.
 */
class Variants extends Map<string, Entry> {
  lastKinds: ArgKind[] | null = null;
  lastEntry: Entry | null = null;
}
/** Per traced function, per mode ('' gradients, 'jvp ', 'hvp ', 'hvp dense '): its variants (see Variants). */
const entries = new WeakMap<Function, Map<string, Variants>>();

/** Whether two signatures are the same (kinds are strings, or objects of named field kinds). */
function sameKinds(a: readonly ArgKind[], b: readonly ArgKind[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameKind(a[i], b[i])) return false;
  return true;
}
function sameKind(a: ArgKind, b: ArgKind): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (a.fields.length !== b.fields.length) return false;
  for (let i = 0; i < a.fields.length; i++) if (a.fields[i][0] !== b.fields[i][0] || !sameKind(a.fields[i][1], b.fields[i][1])) return false;
  return true;
}


/** An array the interpreter would make all inputs of: no holes, only numbers, not frozen (frozen ones it refuses). */
function denseNumbers(a: any[]): boolean {
  if (Object.isFrozen(a)) return false;
  for (let j = 0; j < a.length; j++) if (typeof a[j] !== 'number' || !(j in a)) return false;
  return true;
}

/** A number, Float64Array or dense number array: its kind, else null. */
function leafKind(a: any): LeafKind | null {
  if (typeof a === 'number') return 'number';
  // exactly a Float64Array: a subclass's gradient is built as the subclass by the interpreter
  if (a instanceof Float64Array && Object.getPrototypeOf(a) === Float64Array.prototype) return 'f64';
  if (Array.isArray(a) && denseNumbers(a)) return 'array';
  return null;
}

/**
 * A plain object (a model kept in an object) whose own properties are all enumerable, writable data fields holding
 * numbers, arrays or such objects (nested up to 4 deep): its fields in order, else null. Frozen objects, accessors,
 * symbols and other prototypes are left to the interpreter; so is one object or array reached twice (`seen`).
 */
function objectKind(o: any, seen: any[], depth = 0): ArgKind | null {
  if (o === null || typeof o !== 'object' || Object.isFrozen(o) || depth > 4) return null;
  const proto = Object.getPrototypeOf(o);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(o).length > 0) return null;
  seen.push(o);
  const fields: [string, ArgKind][] = [];
  for (const name of Object.getOwnPropertyNames(o)) {
    const d = Object.getOwnPropertyDescriptor(o, name)!;
    // a read-only field cannot become an input in the interpreter (it stays a constant there)
    if (!d.enumerable || !d.writable) return null;
    const k = leafKind(d.value) ?? objectKind(d.value, seen, depth + 1);
    if (k === null) return null;
    if (k === 'f64' || k === 'array') seen.push(d.value);
    fields.push([name, k]);
  }
  return fields.length > 0 ? { fields } : null;
}

/** What the compiled code is specialised on; null when an argument is something it does not take. */
export function argKinds(args: any[]): ArgKind[] | null {
  const kinds: ArgKind[] = [];
  const seen: any[] = []; // every array and object the arguments hold
  for (const a of args) {
    const k = leafKind(a) ?? objectKind(a, seen);
    if (k === null) return null;
    kinds.push(k);
    if (k === 'f64' || k === 'array') seen.push(a);
  }
  // the same array or object passed twice (or held by two fields), or two views of one buffer, share inputs in the
  // interpreter: leave them to it (pairwise for the usual few arrays: cheaper than two Sets per call)
  return seen.length < 2 ? kinds : seen.length <= 8 ? (distinctPairwise(seen) ? kinds : null) : distinctBySet(seen) ? kinds : null;
}

function sharesInputs(a: any, b: any): boolean {
  return a === b || (a instanceof Float64Array && b instanceof Float64Array && a.buffer === b.buffer);
}
function distinctPairwise(seen: any[]): boolean {
  for (let i = 0; i < seen.length; i++) for (let j = i + 1; j < seen.length; j++) if (sharesInputs(seen[i], seen[j])) return false;
  return true;
}
function distinctBySet(seen: any[]): boolean {
  if (new Set(seen).size !== seen.length) return false;
  const buffers = seen.filter((a) => a instanceof Float64Array).map((a) => a.buffer);
  return new Set(buffers).size === buffers.length;
}

/** What an argument outside the compiled signatures is, in words (for tierOf; computed once per function and mode). */
function describeArgument(a: any): string {
  if (a === null || a === undefined) return String(a);
  if (typeof a !== 'object') return `a ${typeof a}`;
  if (Array.isArray(a)) {
    if (Object.isFrozen(a)) return 'a frozen array';
    const other = a.find((v) => typeof v !== 'number');
    return other === undefined ? 'an array with holes' : `an array holding ${other === null ? 'null' : Array.isArray(other) ? 'arrays' : `${typeof other}s`}`;
  }
  if (ArrayBuffer.isView(a)) return `a ${a.constructor.name}`;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.prototype && proto !== null) return a instanceof Map ? 'a Map' : `an instance of ${proto?.constructor?.name ?? 'a class'}`;
  return 'an object with a field of another kind (a Map, a class instance, a string, an accessor, or nesting deeper than 4)';
}

/** Why argKinds(args) is null: the first argument it cannot take, or the sharing it leaves to the interpreter. */
function unsupportedArguments(args: any[]): string {
  const seen: any[] = [];
  for (let i = 0; i < args.length; i++)
    if ((leafKind(args[i]) ?? objectKind(args[i], seen)) === null) return `argument ${i + 1} is ${describeArgument(args[i])}`;
  return 'one array or object is reached twice (passed twice, or held by two fields), or two typed arrays share a buffer';
}
const ARGUMENTS_KEY = '(arguments)';

/** The cache key of a signature: `number,f64,{W:f64,b:number}`. */
const kindKey = (k: ArgKind): string => (typeof k === 'string' ? k : `{${k.fields.map(([f, fk]) => `${JSON.stringify(f)}:${kindKey(fk)}`).join(',')}}`);
const keyOf = (kinds: ArgKind[]) => (kinds.length === 1 ? kindKey(kinds[0]) : kinds.map(kindKey).join(','));

/** The compiled gradient of fn for these arguments, or undefined to use the interpreter. */
export function compiledFor(fn: Function, args: any[]): CompiledGradient | undefined {
  return variant(fn, args, '', compileFor);
}

/** The compiled forward mode (jvp) of fn for these arguments, or undefined to use the interpreter. */
export function compiledTangentFor(fn: Function, args: any[]): CompiledTangent | undefined {
  return variant(fn, args, 'jvp ', compileTangentFor);
}

/**
 * The compiled Hessian-vector product of fn at x along v (reverse mode over the forward-mode program, see jvp.ts), or
 * undefined to use the interpreter. x is a number, Float64Array or array of numbers; v must be of x's kind and length
 * with number entries. Two variants per signature: one for directions without zero entries (every input has a
 * tangent, known when compiling) and one testing at run time which inputs have one.
 */
export function compiledHvpFor(fn: Function, x: any, v: any): CompiledGradient | undefined {
  const n = typeof x === 'number' ? -1 : x?.length;
  if (n === -1 ? typeof v !== 'number' : !((Array.isArray(v) || v instanceof Float64Array) && v.length === n)) return undefined;
  let dense = true;
  if (n === -1) dense = v !== 0;
  else for (let i = 0; i < n; i++) {
    const t = v[i];
    if (typeof t !== 'number') return undefined;
    if (t === 0) dense = false;
  }
  return dense ? variant(fn, [x], 'hvp dense ', compileHvpDense) : variant(fn, [x], 'hvp ', compileHvpSparse);
}
const compileHvpDense = (fn: Function, kinds: ArgKind[]) => compileHvpFor(fn, kinds, true);
const compileHvpSparse = (fn: Function, kinds: ArgKind[]) => compileHvpFor(fn, kinds, false);

/** One compiled variant per function, mode and argument signature, decided on its first call (see the policy above). */
function variant<C extends CompiledGradient | CompiledTangent>(fn: Function, args: any[], mode: string, compile: (fn: Function, kinds: ArgKind[]) => C): C | undefined {
  if (!jit.enabled || state.tapes.length !== 0) return undefined;
  const kinds = argKinds(args);
  let byMode = entries.get(fn);
  if (byMode === undefined) entries.set(fn, (byMode = new Map()));
  let byKind = byMode.get(mode);
  if (byKind === undefined) byMode.set(mode, (byKind = new Variants()));
  if (kinds === null) {
    // arguments the compiled tier does not take: recorded once, so tierOf says why instead of 'not yet decided'
    if (!byKind.has(ARGUMENTS_KEY)) {
      const why = `${unsupportedArguments(args)} (compiled code takes numbers, Float64Arrays, arrays of numbers and plain objects of those)`;
      byKind.set(ARGUMENTS_KEY, { calls: 0, compiled: null, ineligible: why, rules: ruleVersion, decided: ++decisions });
      if (jit.log) console.error(`tracegrad jit: ${fnName(fn)} (${mode}) stays interpreted for these arguments: ${why}`);
    }
    return undefined;
  }
  let e: Entry;
  if (byKind.lastKinds !== null && sameKinds(kinds, byKind.lastKinds)) e = byKind.lastEntry!;
  else {
    const key = keyOf(kinds);
    let found = byKind.get(key);
    if (found === undefined) byKind.set(key, (found = { calls: 0, compiled: null, ineligible: null, rules: ruleVersion, decided: 0 }));
    (byKind.lastKinds = kinds), (byKind.lastEntry = e = found);
  }
  if (e.rules !== ruleVersion || e.compiled?.stale === true) {
    // rules changed since this variant was decided (a callee may have a custom rule now, or none), or a function it
    // inlined was replaced: decide again
    if (jit.log && (e.compiled !== null || e.ineligible !== null)) console.error(`tracegrad jit: ${fnName(fn)} (${mode}${keyOf(kinds)}): rules or callees changed, deciding again`);
    Object.assign(e, { calls: 0, compiled: null, ineligible: null, rules: ruleVersion });
  }
  if (e.compiled !== null) {
    // code that keeps bailing out (indices out of range, fractional counters) only doubles the work: give it up
    if (++e.calls > BAIL_GRACE && e.compiled.bails * 2 > e.calls) {
      e.ineligible = `its compiled code bailed out to the interpreter on ${e.compiled.bails} of ${e.calls - 1} calls`;
      e.decided = ++decisions;
      e.compiled = null;
      if (jit.log) console.error(`tracegrad jit: ${fnName(fn)} (${mode}${keyOf(kinds)}) gives up its compiled code: ${e.ineligible}`);
      return undefined;
    }
    return e.compiled.arity === args.length && adjointFor(fn) === undefined ? (e.compiled as C) : undefined;
  }
  if (e.ineligible !== null || ++e.calls < jit.threshold) return undefined;
  const name = fnName(fn);
  try {
    const compiled = compile(fn, kinds);
    e.compiled = compiled;
    e.decided = ++decisions;
    e.calls = 1;
    compiled.onBail = (why) => {
      if (jit.log) console.error(`tracegrad jit: ${name} (${mode}${keyOf(kinds)}) bailed out to the interpreter: ${why instanceof Error ? why.message : String(why)}`);
    };
    if (jit.log) console.error(`tracegrad jit: compiled ${name} for (${mode}${keyOf(kinds)})`);
    return compiled.arity === args.length ? compiled : undefined;
  } catch (err) {
    if (!(err instanceof Ineligible)) throw err;
    e.ineligible = err.message;
    e.decided = ++decisions;
    if (jit.log) console.error(`tracegrad jit: ${name} (${mode}${keyOf(kinds)}) stays interpreted: ${err.message}`);
    return undefined;
  }
}

function compileChecks(fn: Function): void {
  if ((fn as any)[ORIGINAL] === undefined) throw new Ineligible('a function the loader rewrote that is not a module-level one (nested in a function or class, it may close over local variables), or whose source text cannot be read back');
  if (scopedMath.has(fn)) throw new Ineligible('its scope supplies Math');
  if (adjointFor(fn) !== undefined) throw new Ineligible('it has a custom rule');
}

/** Compile fn for these argument kinds, or throw Ineligible saying why it stays interpreted. */
export function compileFor(fn: Function, kinds: ArgKind[]): CompiledGradient {
  compileChecks(fn);
  const original = (fn as any)[ORIGINAL];
  return compileGradient(Function.prototype.toString.call(original), kinds, scopes.get(fn), original.name);
}

/** The same checks, compiling fn's forward mode. */
function compileTangentFor(fn: Function, kinds: ArgKind[]): CompiledTangent {
  compileChecks(fn);
  const original = (fn as any)[ORIGINAL];
  return compileTangent(Function.prototype.toString.call(original), kinds, scopes.get(fn), original.name);
}

/** fn's Hessian-vector product for these argument kinds: the forward-mode program, differentiated by the reverse generator. */
function compileHvpFor(fn: Function, kinds: ArgKind[], dense: boolean): CompiledGradient {
  compileChecks(fn);
  const original = (fn as any)[ORIGINAL];
  const outside = scopes.get(fn);
  checkScope(outside);
  const { program, tangentParams } = tangentProgram(lower(Function.prototype.toString.call(original), kinds, resolver(outside, original.name)), dense);
  const compiled = compileProgram(program, new Set(tangentParams));
  compiled.arity = kinds.length; // called as ([x, v]), looked up by [x]
  return compiled;
}

/**
 * Which tier fn's gradients use now: 'compiled', 'interpreted: <reason>' or 'not yet decided'. With several argument
 * signatures, the most recently decided one; `mode` narrows it to gradients ('gradient': gradient, withGradient),
 * forward mode ('jvp': jvp, derivative) or Hessian-vector products ('hvp': hvp, hessian).
 *
 * @example
 * ```js
 * import { tierOf, traced, gradient } from 'tracegrad';
 * const sumOfSquares = traced((x) => { let s = 0; for (let i = 0; i < x.length; i++) s += x[i] * x[i]; return s; });
 * tierOf(sumOfSquares); // → 'not yet decided'
 * gradient(sumOfSquares, [1, 2]); // → [[2, 4]]
 * tierOf(sumOfSquares); // → 'compiled'
 * // a callback (a nested function) is outside the compiled subset
 * const viaReduce = traced((x) => x.reduce((s, v) => s + v * v, 0));
 * gradient(viaReduce, [1, 2]); // → [[2, 4]]
 * tierOf(viaReduce); // → 'interpreted: nested function'
 * ```
 */
export function tierOf(fn: Function, mode: 'gradient' | 'jvp' | 'hvp' | 'any' = 'any'): string {
  const prefix = mode === 'jvp' ? 'jvp ' : mode === 'hvp' ? 'hvp ' : '';
  const decided = [...(entries.get(fn)?.entries() ?? [])]
    .filter(([key]) => mode === 'any' || (mode === 'gradient' ? key === '' : key.startsWith(prefix)))
    .flatMap(([, byKind]) => [...byKind.values()]).filter((e) => e.compiled !== null || e.ineligible !== null);
  const e = decided.sort((a, b) => a.decided - b.decided)[decided.length - 1];
  if (e === undefined) return 'not yet decided';
  return e.compiled !== null ? 'compiled' : `interpreted: ${e.ineligible}`;
}
