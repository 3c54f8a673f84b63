// Containers: arguments become inputs in place, typed arrays get shadows, writes are logged, and calls end leak-free.
import { Tracked, primal } from './tracked';
import { Tape, type ShadowEntry } from './tape';
import { state, top } from './context';
import { O } from '../rules/registry';
import { TracegradError } from '../errors';
import { numberTypeFor } from '../rules/numbers';
import { Tensor } from '../tensor/tensor';

// ---- which objects we walk ----

const nativeCtors = new WeakMap<Function, boolean>();
function isNativeCtor(c: any): boolean {
  if (typeof c !== 'function') return false;
  let r = nativeCtors.get(c);
  if (r === undefined) {
    r = /\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(c));
    nativeCtors.set(c, r);
  }
  return r;
}

/**
 * A function carrying its parameters as fields (made by withParams, dense, chain: lib/tensor/layers.ts): a container
 * of those fields, so gradient(m => loss(m(x)), model) reaches them.
 */
export const MODULE = Symbol.for('tracegrad.module');
const isModule = (x: any) => typeof x === 'function' && x[MODULE] === true;
/** An object or module a walk over containers goes into. */
const walkable = (v: any) => v !== null && (typeof v === 'object' || isModule(v));

/** Arrays, Maps, Sets, plain objects, class instances and modules: the containers whose numbers we differentiate. */
export function isContainer(x: any): boolean {
  if (isModule(x)) return true;
  if (x === null || typeof x !== 'object' || x instanceof Tracked) return false;
  if (Array.isArray(x) || x instanceof Map || x instanceof Set) return true;
  const proto = Object.getPrototypeOf(x);
  if (proto === Object.prototype || proto === null) return true;
  // a class instance, or an object made with Object.create(plainObject); not a Date, RegExp or other built-in
  return !Object.prototype.hasOwnProperty.call(proto, 'constructor') || !isNativeCtor(proto.constructor);
}

export function isTypedFloat(x: any): x is Float64Array | Float32Array {
  return x instanceof Float64Array || x instanceof Float32Array;
}

// ---- arguments become inputs ----

/** Where each argument's inputs are, so their adjoints can be gathered into a gradient of the same shape. */
export type InputNode =
  | { k: 'arr'; items: Slot[] }
  | { k: 'obj'; keys: string[]; fields: Slot[]; ctor?: any }
  | { k: 'map'; keys: any[]; vals: Slot[] }
  | { k: 'typed'; ctor: any; offset: number; length: number; entry: ShadowEntry };
/** A container slot: the tape index of a numeric input leaf, a nested container's node, or null. */
type Slot = number | InputNode | null;

/**
 * Make every numeric leaf of the arguments an input of `tape`. Containers are changed in place (the caller's own
 * arrays and objects then hold tracked values until the call ends), so identity and aliasing survive. Typed arrays
 * cannot hold objects: they get a shadow whose inputs are created when an element is first read.
 */
export function enterArgs(tape: Tape, args: any[]): { values: any[]; nodes: Slot[] } {
  const seen = new Map<object, InputNode | null>();
  const values = args.slice();
  const nodes = args.map((a, i): Slot => {
    if (isLeaf(a, tape)) {
      const t = a instanceof Tracked && a.t === tape ? a : tape.input(a);
      values[i] = t;
      return t.i;
    }
    return enterContainer(tape, a, seen);
  });
  return { values, nodes };
}

/** A number, a tensor (one input holding the whole array: lib/tensor), or a value tracked by this or an outer call. */
function isLeaf(x: any, tape: Tape): boolean {
  return typeof x === 'number' || x instanceof Tensor || (x instanceof Tracked && (x.t === tape || x.t.active));
}

function enterContainer(tape: Tape, x: any, seen: Map<object, InputNode | null>): InputNode | null {
  if (x === null || (typeof x !== 'object' && !isModule(x))) return null;
  if (seen.has(x)) return seen.get(x)!;
  if (isTypedFloat(x)) {
    const node: InputNode = { k: 'typed', ctor: x.constructor, offset: x.byteOffset / x.BYTES_PER_ELEMENT,
      length: x.length, entry: shadowFor(tape, x.buffer, true) };
    seen.set(x, node);
    return node;
  }
  if (!isContainer(x)) {
    seen.set(x, null);
    return null;
  }
  if (Object.isFrozen(x) && holdsNumber(x))
    throw new TracegradError(
      'tracegrad: an argument holds numbers in a frozen object or array, which cannot be made inputs (tracegrad ' +
        'differentiates arguments in place). Pass an unfrozen copy to differentiate it, or reach the constants ' +
        'through a closure (the traced scope) instead of an argument.',
    );
  // a numeric leaf becomes an input in place (its slot is the input's tape index); containers recurse
  const input = (v: any): Tracked => (v instanceof Tracked && v.t === tape ? v : tape.input(v));
  if (Array.isArray(x)) {
    const items: Slot[] = new Array(x.length);
    const node: InputNode = { k: 'arr', items };
    seen.set(x, node);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (isLeaf(v, tape)) {
        const t = input(v);
        x[i] = t;
        items[i] = t.i;
      } else items[i] = enterContainer(tape, v, seen);
    }
    return node;
  }
  if (x instanceof Map) {
    const node = { k: 'map' as const, keys: [] as any[], vals: [] as Slot[] };
    seen.set(x, node);
    for (const [key, v] of [...x]) {
      node.keys.push(key);
      if (isLeaf(v, tape)) {
        const t = input(v);
        x.set(key, t);
        node.vals.push(t.i);
      } else node.vals.push(enterContainer(tape, v, seen));
    }
    return node;
  }
  if (x instanceof Set) {
    seen.set(x, null);
    return null;
  }
  const node = { k: 'obj' as const, keys: [] as string[], fields: [] as Slot[], ctor: x.constructor };
  seen.set(x, node);
  for (const key of Object.keys(x)) {
    const d = Object.getOwnPropertyDescriptor(x, key)!;
    node.keys.push(key);
    if (!('value' in d) || !d.writable) node.fields.push(null);
    else if (isLeaf(d.value, tape)) {
      const t = input(d.value);
      x[key] = t;
      node.fields.push(t.i);
    } else node.fields.push(enterContainer(tape, d.value, seen));
  }
  return node;
}

function holdsNumber(x: any): boolean {
  const values = x instanceof Map ? [...x.values()] : Object.values(x);
  return values.some((v) => typeof v === 'number' || v instanceof Tracked);
}

/** Whether x holds a tracked value of `tape` anywhere inside (cycles allowed). */
export function holdsTracked(x: any, tape: Tape, seen = new Set<any>()): boolean {
  if (x instanceof Tracked) return x.t === tape;
  if (!walkable(x) || seen.has(x) || !isContainer(x)) return false;
  seen.add(x);
  const values = x instanceof Map || x instanceof Set ? [...x.values()] : Object.values(x);
  return values.some((v) => holdsTracked(v, tape, seen));
}

// ---- gradients of the same shape as the arguments ----

/** Gradient for one argument: see the table in README (numbers, arrays, typed arrays, objects, Maps; null if unreached). */
export function gatherGradient(node: Slot, adj: ArrayLike<any>, touched: Uint8Array, handed: HandedOut = new Map()): any {
  if (typeof node === 'number') return touched[node] === 1 ? handOut(adj[node], node, handed) : null;
  return gather(node, adj, touched, new Map(), handed).g;
}

/** The tensor (or tracked) gradients handed out by one call's gatherGradient calls, each with the leaf slot it came from. */
export type HandedOut = Map<object, number>;

/**
 * A leaf's adjoint as the caller gets it. Two leaves can hold one object (both operands of a + get the cotangent as it
 * is, and a custom adjoint may return one tensor twice): the second leaf gets a copy, so that changing one gradient in
 * place cannot change another. One leaf reached from two places (an argument passed twice) keeps one object, as its
 * containers do.
 */
function handOut(a: any, slot: number, handed: HandedOut): any {
  if (a === null || typeof a !== 'object') return a;
  const first = handed.get(a);
  if (first === undefined) handed.set(a, slot);
  else if (first !== slot) return O.mul(a, 1);  // x·1 is x exactly (−0 and NaN included), in a new array
  return a;
}


interface Gathered {
  g: any;
  reached: boolean;
  /** Still being built: a cycle back to it links the gradient container without counting as a reach. */
  open: boolean;
}
const unreachedLeaf: Gathered = { g: null, reached: false, open: false };

function gather(node: InputNode | null, adj: ArrayLike<any>, touched: Uint8Array, memo: Map<InputNode, Gathered>, handed: HandedOut): Gathered {
  if (node === null) return unreachedLeaf;
  const hit = memo.get(node);
  if (hit !== undefined) return hit;
  const result: Gathered = { g: null, reached: false, open: true };
  memo.set(node, result);
  /** A slot's gradient: the adjoint of a reached leaf, `unreached` for one nothing reached, a nested gradient. */
  const slot = (n: Slot, unreached: any) => {
    if (typeof n === 'number') {
      if (touched[n] === 0) return unreached;
      result.reached = true;
      return handOut(adj[n], n, handed);
    }
    const r = gather(n, adj, touched, memo, handed);
    if (r.reached) result.reached = true;
    return r.reached || r.open ? r.g : null;
  };
  if (node.k === 'arr') {
    const g = (result.g = new Array(node.items.length));
    for (let i = 0; i < g.length; i++) g[i] = slot(node.items[i], 0);
  } else if (node.k === 'obj') {
    result.g = {};
    node.keys.forEach((key, i) => (result.g[key] = slot(node.fields[i], null)));
  } else if (node.k === 'map') {
    result.g = new Map();
    node.keys.forEach((key, i) => {
      const n = node.vals[i];
      const reached = typeof n === 'number' ? touched[n] === 1 : n !== null && gather(n, adj, touched, memo, handed).reached;
      if (reached) result.g.set(key, slot(n, null));
    });
  } else {
    result.g = new node.ctor(node.length);
    for (let k = 0; k < node.length; k++) {
      const t = node.entry.inputs[node.offset + k];
      if (t !== undefined && touched[t.i]) {
        // under nested AD the adjoint is tracked one level down: the typed array shadows it there
        const a = adj[t.i];
        result.g[k] = typeof a === 'number' ? a : writeElement(result.g, k, a);
        result.reached = true;
      }
    }
  }
  result.open = false;
  if (!result.reached) result.g = null;
  else if (node.k === 'obj') {
    // a number type's gradient is one of its own (a Complex for a Complex argument)
    const type = numberTypeFor(node.ctor);
    if (type?.fromFields !== undefined) result.g = type.fromFields(result.g);
  }
  return result;
}

// ---- typed-array shadows ----

function shadowFor(tape: Tape, buffer: ArrayBufferLike, lazy: boolean): ShadowEntry {
  let e = tape.shadows.get(buffer);
  if (e === undefined) {
    e = { items: [], inputs: [], lazy };
    tape.shadows.set(buffer, e);
    state.shadowCount++;
  } else if (lazy) e.lazy = true;
  return e;
}

function elementIndex(o: any, k: any): number {
  if (k instanceof Tracked) k = primal(k); // a tracked index addresses the element its value names
  const i = typeof k === 'number' ? k : typeof k === 'string' && /^(0|[1-9]\d*)$/.test(k) ? +k : -1;
  return Number.isInteger(i) && i >= 0 && i < o.length ? i + o.byteOffset / o.BYTES_PER_ELEMENT : -1;
}

/**
 * `o[k]` in traced code while shadows exist. For a float typed array, the tracked value stored at that element (if
 * its primal still matches what the array holds: a write by untraced code drops the shadow), or a lazily made input.
 */
export function readElement(o: any, k: any): any {
  const v = o[k];
  if (typeof v !== 'number' || !isTypedFloat(o)) return v;
  const idx = elementIndex(o, k);
  return idx < 0 ? v : shadowRead(o.buffer, idx, v, state.tapes.length - 1);
}

function shadowRead(buffer: ArrayBufferLike, idx: number, v: number, level: number): any {
  for (let l = level; l >= 0; l--) {
    const tape = state.tapes[l];
    const e = tape.shadows.get(buffer);
    if (e === undefined) continue;
    const item = e.items[idx];
    if (item instanceof Tracked) {
      if (Object.is(primal(item), v)) return item;
      e.items[idx] = null;
    } else if (item === undefined && e.lazy) {
      const t = tape.input(shadowRead(buffer, idx, v, l - 1));
      if (e.seeds !== undefined) tape.seed(t.i, e.seeds[idx]);
      e.items[idx] = t;
      e.inputs[idx] = t;
      return t;
    }
  }
  return v;
}

/** The value to store for `o[k] = v` in traced code: typed arrays keep the primal and shadow the tracked value. */
export function writeElement(o: any, k: any, v: any): any {
  if (typeof v === 'number') {
    if (state.shadowCount !== 0 && isTypedFloat(o)) shadowWrite(o, k, null);
    return v;
  }
  if (v instanceof Tracked) {
    if (isTypedFloat(o)) {
      // a Float32Array stores fround(v): the shadow must carry that rounded value (fround has derivative 1)
      const stored = o instanceof Float32Array ? O.fround(v) : v;
      shadowWrite(o, k, stored);
      return primal(stored);
    }
    // integer typed arrays truncate (derivative 0): they store the primal
    if (ArrayBuffer.isView(o)) return primal(v);
    noteWrite(o);
  } else if (v !== null && typeof v === 'object') noteWrite(o);
  return v;
}

function shadowWrite(o: any, k: any, v: Tracked | null): void {
  const idx = elementIndex(o, k);
  if (idx < 0) return;
  // every active level sees either this value's own layer at that level, or a cut
  for (const tape of state.tapes) {
    let layer: Tracked | null = null;
    for (let x: any = v; x instanceof Tracked; x = x.v) if (x.t === tape) layer = x;
    if (layer !== null) shadowFor(tape, o.buffer, false).items[idx] = layer;
    else {
      const e = tape.shadows.get(o.buffer);
      if (e !== undefined) e.items[idx] = null;
    }
  }
}

/** Remember a container that now holds tracked values (or a container that may), to clean it when the call ends. */
export function noteWrite(o: object): void {
  const t = top();
  if (t !== null) t.noteWrite(o);
}

/** Element reads of typed arrays with shadows, as an array: for-of, spread and the typed-array method hooks use it. */
export function elementsOf(o: any): any[] {
  const out = new Array(o.length);
  for (let i = 0; i < o.length; i++) out[i] = readElement(o, i);
  return out;
}

// ---- the end of a call: no tracked value of the finished tape may stay reachable from user containers ----

/** One layer of `tape` removed. Values of other (outer) tapes stay tracked for their own calls. */
export function stripLevel(x: any, tape: Tape): any {
  return x instanceof Tracked && x.t === tape ? x.v : x;
}

/**
 * Replace this tape's tracked values by their primals in every container reachable from `roots` and from the
 * containers written during the call. Containers are changed in place; the write log passes to the outer tape.
 */
export function cleanUp(tape: Tape, roots: any[]): void {
  const seen = new Set<object>();
  const stack: any[] = [...roots];
  // objects written to that are not containers (functions with static fields, globalThis): their own slots only
  for (const w of tape.written) {
    if (isContainer(w)) stack.push(w);
    else if (w !== null && (typeof w === 'object' || typeof w === 'function') && !seen.has(w)) {
      seen.add(w);
      stripOwn(w, tape, (v) => stack.push(v)); // containers hanging off it (K.list = [x]) are walked
    }
  }
  while (stack.length > 0) {
    const x = stack.pop();
    if (!walkable(x) || seen.has(x) || !isContainer(x)) continue;
    seen.add(x);
    if (Array.isArray(x)) {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        if (v instanceof Tracked) {
          if (v.t === tape) x[i] = v.v;
        } else if (walkable(v)) stack.push(v);
      }
    } else if (x instanceof Map) {
      for (const [k, v] of [...x]) {
        if (k instanceof Tracked && k.t === tape) {
          x.delete(k);
          x.set(k.v, stripLevel(v, tape));
        } else if (v instanceof Tracked) {
          if (v.t === tape) x.set(k, v.v);
        } else if (walkable(v)) stack.push(v);
      }
    } else if (x instanceof Set) {
      for (const v of [...x]) {
        if (v instanceof Tracked && v.t === tape) {
          x.delete(v);
          x.add(v.v);
        } else if (walkable(v)) stack.push(v);
      }
    } else {
      stripOwn(x, tape, (v) => stack.push(v));
      const proto = Object.getPrototypeOf(x);
      if (proto !== null && proto !== Object.prototype) stack.push(proto); // Object.create({ w: x }) keeps x there
    }
  }
  for (const fix of tape.varFixes) fix();
  const outer = state.tapes[state.tapes.length - 1];
  if (outer !== undefined && outer !== tape) for (const w of tape.written) outer.noteWrite(w);
  tape.written = [];
  tape.varFixes = [];
}

/** Strip this tape's tracked values from an object's own slots (symbols and non-enumerable ones too). */
function stripOwn(x: any, tape: Tape, visit: (v: object) => void): void {
  for (const k of Reflect.ownKeys(x)) {
    const d = Object.getOwnPropertyDescriptor(x, k);
    if (d === undefined || !('value' in d)) continue;
    const v = d.value;
    if (v instanceof Tracked) {
      if (v.t !== tape) continue;
      if (d.writable) x[k] = v.v;
      else if (d.configurable) Object.defineProperty(x, k, { ...d, value: v.v });
    } else if (walkable(v)) visit(v);
  }
}

/** A value returned to the user: this tape's layer removed, in place for containers. */
export function stripValue(x: any, tape: Tape): any {
  if (x instanceof Tracked) return stripLevel(x, tape);
  if (walkable(x)) cleanUp(tape, [x]);
  return x;
}
