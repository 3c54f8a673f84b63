// Built-ins that would otherwise see tracked values as plain objects: searches, Map/Set keys, typed-array methods.
import { Tracked, primal, settled } from '../trace/tracked';
import { state, top } from '../trace/context';
import { readElement, writeElement, noteWrite, elementsOf, isTypedFloat, isContainer } from '../trace/containers';
import { TracegradError } from '../errors';
import { truthy } from '../ops';
import { mathNamespace } from './math';

const hooks = new Map<Function, Function>();
const AP = Array.prototype as any;
const TAP = Object.getPrototypeOf(Float64Array.prototype);

/** What a traced call site calls instead of built-in f while a gradient is being recorded. */
export function builtinHook(f: Function): Function {
  return hooks.get(f) ?? f;
}

// Searches compare primals: a tracked 3 is found by indexOf(3), and 3 by indexOf(tracked 3).
function search(from: (len: number, k: any) => number, step: number, nan: boolean) {
  return function (this: any, x: any, k?: any) {
    const p = primal(x);
    const len = this.length;
    for (let i = from(len, k); i >= 0 && i < len; i += step) {
      const v = primal(readElementOf(this, i));
      if (v === p || (nan && v !== v && p !== p)) return i;
    }
    return -1;
  };
}
const readElementOf = (o: any, i: number) => (isTypedFloat(o) ? readElement(o, i) : o[i]);
const fromStart = (len: number, k: any) => (k === undefined ? 0 : k < 0 ? Math.max(0, len + k) : k);
const fromEnd = (len: number, k: any) => (k === undefined ? len - 1 : k < 0 ? len + k : Math.min(k, len - 1));
const indexOf = search(fromStart, 1, false);
const lastIndexOf = search(fromEnd, -1, false);
const findSameValueZero = search(fromStart, 1, true);
const includes = function (this: any, x: any, k?: any) {
  return findSameValueZero.call(this, x, k) >= 0;
};
for (const proto of [AP, TAP]) {
  hooks.set(proto.indexOf, indexOf);
  hooks.set(proto.lastIndexOf, lastIndexOf);
  hooks.set(proto.includes, includes);
}

// Mutators that can store tracked values: remember the container so it is cleaned when the call ends.
for (const name of ['push', 'unshift', 'splice', 'fill', 'copyWithin']) {
  const f = AP[name];
  hooks.set(f, function (this: any, ...args: any[]) {
    noteWrite(this);
    return f.apply(this, args);
  });
}
hooks.set(Object.assign, (target: any, ...sources: any[]) => {
  noteWrite(target);
  return Object.assign(target, ...sources);
});

// Sets and Map keys compare by identity (SameValueZero): a tracked element or key is kept (so reading it back carries
// its gradient) but matched by its primal value; a Set or Map that holds one is searched by value.
const MP = Map.prototype as any, SP = Set.prototype as any;
const holdsTrackedKeys = new WeakSet<object>();
const sameValueZero = (a: any, b: any) => a === b || (a !== a && b !== b);
/** The element or key of c equal to k by primal value, or undefined. */
function findKey(c: any, k: any, keys: () => Iterator<any>): any {
  const p = primal(k);
  if ((c instanceof Map ? MP.has : SP.has).call(c, p)) return p;
  if (!holdsTrackedKeys.has(c)) return undefined;
  for (let it = keys(), r = it.next(); !r.done; r = it.next()) if (sameValueZero(primal(r.value), p)) return r.value;
  return undefined;
}
const setKey = (c: Set<any>, k: any) => findKey(c, k, () => SP.values.call(c));
const mapKey = (c: Map<any, any>, k: any) => findKey(c, k, () => MP.keys.call(c));
function setAdd(this: Set<any>, k: any) {
  if (k !== null && typeof k === 'object') noteWrite(this); // an object element may hold tracked values
  if (!(k instanceof Tracked) && !holdsTrackedKeys.has(this)) return SP.add.call(this, k);
  if (setKey(this, k) !== undefined) return this;
  if (k instanceof Tracked) holdsTrackedKeys.add(this);
  return SP.add.call(this, k);
}
function mapSet(this: Map<any, any>, k: any, v: any) {
  if ((v !== null && typeof v === 'object') || k instanceof Tracked) noteWrite(this);
  if (!(k instanceof Tracked) && !holdsTrackedKeys.has(this)) return MP.set.call(this, k, v);
  const existing = mapKey(this, k);
  if (existing === undefined && k instanceof Tracked) holdsTrackedKeys.add(this);
  return MP.set.call(this, existing === undefined ? k : existing, v);
}
hooks.set(SP.add, setAdd);
hooks.set(SP.has, function (this: Set<any>, k: any) {
  return !(k instanceof Tracked) && !holdsTrackedKeys.has(this) ? SP.has.call(this, k) : setKey(this, k) !== undefined;
});
hooks.set(SP.delete, function (this: Set<any>, k: any) {
  const found = !(k instanceof Tracked) && !holdsTrackedKeys.has(this) ? k : setKey(this, k);
  return found === undefined ? false : SP.delete.call(this, found);
});
hooks.set(MP.set, mapSet);
for (const name of ['get', 'has', 'delete']) {
  const f = MP[name];
  hooks.set(f, function (this: Map<any, any>, k: any) {
    if (!(k instanceof Tracked) && !holdsTrackedKeys.has(this)) return f.call(this, k);
    const found = mapKey(this, k);
    return found === undefined ? (name === 'get' ? undefined : false) : f.call(this, found);
  });
}

// Number predicates look at the primal (an object would fail them all).
const numberPredicates: [any, string][] = [[Number, 'isFinite'], [Number, 'isNaN'], [Number, 'isInteger'],
  [Number, 'isSafeInteger'], [globalThis, 'isFinite'], [globalThis, 'isNaN']];
for (const [owner, name] of numberPredicates) {
  const f = owner[name];
  hooks.set(f, (x: any) => f(primal(x)));
}
hooks.set(Number, (x: any) => (x instanceof Tracked ? x : Number(x)));
hooks.set(Boolean, (x: any) => truthy(x));

// Math functions reached as values (a table of functions, a callback) are the overloaded ones.
for (const name of Object.getOwnPropertyNames(Math)) {
  const f = (Math as any)[name];
  if (typeof f === 'function') hooks.set(f, mathNamespace[name]);
}

// sort's comparator may return a tracked difference (a - b): the sort only needs its sign.
for (const name of ['sort', 'toSorted']) {
  const native = AP[name];
  if (native === undefined) continue;
  hooks.set(native, function (this: any[], cmp?: (a: any, b: any) => any) {
    return cmp === undefined ? native.call(this) : native.call(this, (a: any, b: any) => primal(cmp(a, b)));
  });
}
hooks.set(Object.is, (a: any, b: any) => Object.is(primal(a), primal(b)));

// Built-ins passed as callbacks (xs.map(Number), xs.filter(Boolean), xs.every(Number.isFinite)) are swapped for
// their tracking-aware versions, since the native caller would call them directly.
for (const name of ['map', 'filter', 'every', 'some', 'find', 'findIndex', 'findLast', 'findLastIndex', 'forEach', 'flatMap']) {
  const native = AP[name];
  if (native === undefined) continue;
  hooks.set(native, function (this: any, cb: any, ...rest: any[]) {
    return native.call(this, typeof cb === 'function' ? builtinHook(cb) : cb, ...rest);
  });
}

// f.call(o, ...) and f.apply(o, args) reach the same hooks as a direct call of f.
const FP = Function.prototype;
// An Array method borrowed for a typed array with tracked elements (Array.prototype.slice.call(ta)) runs on them.
const arrayMethods = new Set(Object.getOwnPropertyNames(AP).map((k) => AP[k]).filter((f) => typeof f === 'function'));
function borrowed(f: Function, thisArg: any, args: any[]): any {
  const self = arrayMethods.has(f) && shadowed(thisArg) ? elementsOf(thisArg) : thisArg;
  return builtinHook(f).apply(self, args);
}
hooks.set(FP.call, function (this: Function, thisArg: any, ...args: any[]) {
  return borrowed(this, thisArg, args);
});
hooks.set(FP.apply, function (this: Function, thisArg: any, args?: ArrayLike<any>) {
  return borrowed(this, thisArg, args === undefined || args === null ? [] : Array.from(args));
});

// Typed arrays with tracked elements: element-reading methods see the tracked values, writers keep the shadows.
const shadowed = (o: any) => state.shadowCount !== 0 && isTypedFloat(o);
/** A typed-array method run as the Array method on the tracked elements; callbacks still get the typed array. */
const viaArray = (name: string, wrapResult: boolean) => {
  const native = TAP[name];
  hooks.set(native, function (this: any, ...args: any[]) {
    if (!shadowed(this)) return native.apply(this, args);
    const self = this;
    const [cb, thisArg] = args;
    if (name === 'reduce' || name === 'reduceRight') args[0] = (acc: any, v: any, i: number) => cb(acc, v, i, self);
    else if (typeof cb === 'function') args = [(v: any, i: number) => cb.call(thisArg, v, i, self)];
    const r = AP[name].apply(elementsOf(this), args);
    return wrapResult ? typedWithTracked(this.constructor, r) : r;
  });
};
for (const name of ['forEach', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex', 'reduce', 'reduceRight', 'at', 'join', 'values', 'entries'])
  viaArray(name, false);
for (const name of ['map', 'filter', 'slice']) viaArray(name, true);
hooks.set(TAP.fill, function (this: any, v: any, start = 0, end = this.length) {
  if (!shadowed(this) && !(v instanceof Tracked)) return TAP.fill.call(this, v, start, end);
  const s = start < 0 ? Math.max(0, this.length + start) : Math.min(start, this.length);
  const e = end < 0 ? Math.max(0, this.length + end) : Math.min(end, this.length);
  for (let i = s; i < e; i++) this[i] = writeElement(this, i, v);
  return this;
});
hooks.set(TAP.set, function (this: any, src: any, offset = 0) {
  if (!shadowed(this) && !(Array.isArray(src) && src.some((v) => v instanceof Tracked)) && !shadowed(src))
    return TAP.set.call(this, src, offset);
  const values = isTypedFloat(src) ? elementsOf(src) : Array.from(src);
  for (let i = 0; i < values.length; i++) this[offset + i] = writeElement(this, offset + i, values[i]);
});
for (const name of ['sort', 'reverse', 'copyWithin']) {
  const native = TAP[name];
  hooks.set(native, function (this: any, ...args: any[]) {
    if (shadowed(this))
      throw new TracegradError(`tracegrad: ${name}() on a typed array holding tracked values would detach their gradients; ` +
        `copy it into a plain array first (Array.from(ta)), or ${name} the plain array.`);
    return native.apply(this, args);
  });
}
hooks.set(Array.from, function (this: any, src: any, ...rest: any[]) {
  return Array.from(shadowed(src) ? elementsOf(src) : src, ...(rest as [any]));
});

/** A typed array of values that may be tracked (new Float64Array(values), Float32Array.from, map/filter/slice results). */
function typedWithTracked(ctor: any, src: any): any {
  const values = shadowed(src) ? elementsOf(src) : Array.from(src);
  const out = new ctor(values.length);
  for (let i = 0; i < values.length; i++) out[i] = writeElement(out, i, values[i]);
  return out;
}
const holdsTrackedLike = (src: any) =>
  src !== null && typeof src === 'object' && (shadowed(src) || (Array.isArray(src) && src.some((v) => v instanceof Tracked)));
hooks.set(TAP.constructor.from, function (this: any, src: any, ...rest: any[]) {
  if (rest.length > 0 || !holdsTrackedLike(src)) return TAP.constructor.from.call(this, src, ...rest);
  return typedWithTracked(this, src);
});
const typedCtors = new Map<Function, Function>();
for (const C of [Float64Array, Float32Array]) {
  typedCtors.set(C, function (this: any, ...args: any[]) {
    return args.length === 1 && holdsTrackedLike(args[0]) ? typedWithTracked(C, args[0]) : new (C as any)(...args.map(sizeOf));
  });
}

hooks.set(TAP.constructor.of, function (this: any, ...values: any[]) {
  return values.some((v) => v instanceof Tracked) ? typedWithTracked(this, values) : TAP.constructor.of.apply(this, values);
});

// new Set(values) / new Map(entries) add through the same value-matching add and set.
const keyedCtors = new Map<Function, Function>([
  [Set, function (src?: any) {
    const c = new Set();
    if (src !== undefined && src !== null) for (const k of src) setAdd.call(c, k);
    return c;
  }],
  [Map, function (src?: any) {
    const c = new Map();
    if (src !== undefined && src !== null) for (const [k, v] of src) mapSet.call(c, k, v);
    return c;
  }],
]);

/**
 * What `new C(...)` in traced code constructs. Typed arrays accept tracked values; Sets and Maps key by primals; other
 * built-in constructors get primals (`new Array(n)` with a tracked whole number n is an array of length n, not [n]).
 */
export function constructorHook(C: any): any {
  if (state.tapes.length === 0 || typeof C !== 'function') return C;
  return typedCtors.get(C) ?? keyedCtors.get(C) ?? sizedCtors.get(C) ?? C;
}
/** A tracked whole number given as a size or length is its primal (sizes are piecewise constant). */
const sizeOf = (a: any) => (a instanceof Tracked ? primal(a) : a);
const sizedCtors = new Map<Function, Function>();
for (const C of [Array, ArrayBuffer]) {
  sizedCtors.set(C, function (...args: any[]) {
    return new (C as any)(...args.map(sizeOf));
  });
}
// integer typed arrays truncate what they store (derivative 0): tracked values, alone or in an array, are primals
const integerValues = (a: any) => (a instanceof Tracked ? primal(a) : Array.isArray(a) ? a.map(sizeOf) : a);
for (const C of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array]) {
  sizedCtors.set(C, function (...args: any[]) {
    return new (C as any)(...args.map(integerValues));
  });
}
hooks.set(Array, sizedCtors.get(Array)!); // Array(n) without new

// structuredClone copies tracked values as they are (a tracked number is a number to the copy).
hooks.set(globalThis.structuredClone, function clone(x: any, seen = new Map<any, any>()): any {
  if (x instanceof Tracked || x === null || typeof x !== 'object') return x;
  if (seen.has(x)) return seen.get(x);
  let c: any;
  if (isTypedFloat(x)) c = shadowed(x) ? typedWithTracked(x.constructor, x) : x.slice();
  else if (Array.isArray(x)) {
    c = [];
    seen.set(x, c);
    for (const v of x) c.push(clone(v, seen));
  } else if (x instanceof Map) {
    c = new Map();
    seen.set(x, c);
    for (const [k, v] of x) c.set(clone(k, seen), clone(v, seen));
  } else if (x instanceof Set) {
    c = new Set();
    seen.set(x, c);
    for (const v of x) c.add(clone(v, seen));
  } else if (isContainer(x)) {
    c = {};
    seen.set(x, c);
    for (const k of Object.keys(x)) c[k] = clone(x[k], seen);
  } else c = structuredClone(x);
  seen.set(x, c);
  return c;
});

// Other ways to read typed-array elements.
hooks.set(Reflect.get, (o: any, k: any, receiver?: any) => (shadowed(o) ? readElement(o, k) : Reflect.get(o, k, receiver ?? o)));
hooks.set(Object.values, (o: any) => (shadowed(o) ? elementsOf(o) : Object.values(o)));
hooks.set(Object.entries, (o: any) => (shadowed(o) ? elementsOf(o).map((v, i) => [String(i), v]) : Object.entries(o)));

// Writes that the end-of-call clean-up cannot find by walking containers.
const WMP = WeakMap.prototype as any;
hooks.set(WMP.set, function (this: WeakMap<any, any>, k: any, v: any) {
  if (v instanceof Tracked) top()?.varFixes.push(() => WMP.set.call(this, k, settled(WMP.get.call(this, k))));
  else if (v !== null && typeof v === 'object') noteWrite(v); // a container value is cleaned like any written one
  return WMP.set.call(this, k, v);
});
hooks.set(Object.defineProperty, (o: any, k: any, d: PropertyDescriptor) => {
  if (d && (d.value instanceof Tracked || (d.value !== null && typeof d.value === 'object'))) noteWrite(o);
  return Object.defineProperty(o, k, d);
});
