// What the compiled tier knows of a function's surroundings: traced()'s scope object and Math flag, and how free variables resolve.
import { Ineligible, type Captured, type Resolve } from './lower';
import { ORIGINAL, adjointFor } from '../rules/custom';

/** Where a traced() function's free variables live: its scope object for the names it was given, globals otherwise. */
export interface Outside {
  scope: Record<string, any>;
  scopeNames: Set<string>;
}

/** traced() records here the functions whose scope supplies Math (the compiled code would use the global one). */
export const scopedMath = new WeakSet<Function>();
/** traced() records here each function's scope object and the names it resolves from it (the rest are globals). */
export const scopes = new WeakMap<Function, Outside>();

/**
 * Marks a scope object whose accessors read a module's own bindings (the loader makes one per module, see
 * rewrite/module.ts): reading such an accessor once per compiled call is reading the binding, which compiled code
 * cannot change during the call. Other accessors bail out (a user's getter may return something new at each read).
 */
export const LIVE_SCOPE = Symbol.for('tracegrad.liveScope');

/**
 * The loader's registration of a module's top-level functions: each gets its original source (as the function
 * `fn[ORIGINAL]`, evaluated from the text when first asked for: it is never called, only read by the compiler) and
 * the module's bindings as its scope, so the compiled tier can take it as it takes a function made by traced().
 */
const liveScopeNames = new WeakMap<object, Set<string>>();
export function registerModuleFunctions(scope: object, functions: [Function, string][]): void {
  // one name set per module (a module registers once per statement that holds functions)
  let scopeNames = liveScopeNames.get(scope);
  if (scopeNames === undefined) {
    Object.defineProperty(scope, LIVE_SCOPE, { value: true });
    liveScopeNames.set(scope, (scopeNames = new Set(Object.keys(scope))));
  }
  for (const [fn, text] of functions) {
    if (typeof fn !== 'function' || Object.prototype.hasOwnProperty.call(fn, ORIGINAL)) continue;
    let original: Function | null | undefined;
    Object.defineProperty(fn, ORIGINAL, {
      configurable: true,
      get() {
        if (original === undefined) {
          try {
            original = (0, eval)(`(${text}\n)`) as Function; // a function expression of the same text: its toString is the text
          } catch {
            original = null; // syntax valid only in its module (import.meta, ...): the function stays interpreted
          }
        }
        return original ?? undefined;
      },
    });
    if (scopeNames.has('Math')) scopedMath.add(fn);
    scopes.set(fn, { scope, scopeNames });
  }
}

/**
 * A typed array of numbers (not a BigInt one, not a DataView): a free variable the compiled code may read as a constant
 * table (index arrays are often Int32Arrays; Float32Array elements read as the doubles they hold, as traced code reads them).
 */
export function isNumberArray(v: any): boolean {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/**
 * What a free variable holds, looked up where the traced code reads it (the scope object for the names it was given,
 * else globalThis): numbers and typed arrays of numbers held as plain data properties (a getter would run once per call, not per
 * read), and traced functions without custom rules, to inline.
 */
function resolveFree(outside: Outside | undefined, name: string): Captured | null {
  let o: any = outside?.scopeNames.has(name) ? outside.scope : globalThis;
  const holder = o;
  let d: PropertyDescriptor | undefined;
  while (o !== null && (d = Object.getOwnPropertyDescriptor(o, name)) === undefined) o = Object.getPrototypeOf(o);
  if (d === undefined) return null;
  let v: any;
  if ('value' in d) v = d.value;
  else if ((o as any)[LIVE_SCOPE] === true && d.get !== undefined) {
    try {
      v = d.get.call(o);
    } catch {
      return null; // a binding not initialised yet
    }
  } else return null;
  if (typeof v === 'number') return { kind: 'number', holder, prop: name };
  if (isNumberArray(v)) return { kind: 'f64', holder, prop: name };
  if (typeof v !== 'function' || v[ORIGINAL] === undefined) return null;
  const fname = v[ORIGINAL].name || name;
  if (adjointFor(v) !== undefined) throw new Ineligible(`it calls ${fname}, which has a custom rule`);
  if (scopedMath.has(v)) throw new Ineligible(`it calls ${fname}, whose scope supplies Math`);
  checkScope(scopes.get(v));
  return { kind: 'function', fn: v, name: fname, source: Function.prototype.toString.call(v[ORIGINAL]), holder, prop: name };
}

/** How lower() resolves free variables: in the function's scope (its own, for inlined ones), else globalThis. */
export function resolver(outside: Outside | undefined, self: string | undefined): Resolve {
  return (owner, name) => {
    // a function's own name: bound to the function itself in a named function expression, whatever a scope of the
    // same name holds (a loader module's scope holds every module-level name); a call through it is recursion, which
    // cannot be inlined. (An arrow's inferred name binds nothing: refusing it too only leaves that code interpreted.)
    const own = owner === null ? self : (owner as any)[ORIGINAL]?.name;
    const at = owner === null ? outside : scopes.get(owner);
    if (own && name === own) throw new Ineligible(`a recursive call of ${name}`);
    return resolveFree(at, name);
  };
}

/** The compiled code uses the global Number, Float64Array and undefined: a scope that supplies its own is not compiled. */
export function checkScope(outside: Outside | undefined): void {
  for (const name of ['Number', 'Float64Array', 'undefined'])
    if (outside?.scopeNames.has(name)) throw new Ineligible(`its scope supplies ${name}`);
}
