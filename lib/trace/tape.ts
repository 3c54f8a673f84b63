// The tape: a Wengert list in growable typed arrays, guards as flagged entries, extern entries carrying pullbacks.
import { Tracked, primal } from './tracked';
import { userFrame } from '../errors';

/** Entry kinds. The sweep switches on these (arity and storage), never on operation names. */
export const enum Kind {
  Input = 0, // an argument leaf: no parents
  Unary = 1, // one parent: adj[a0] += g * d0
  Binary = 2, // two parents
  Nary = 3, // any number of parents, partials in ext[i] = { parents, partials }
  Extern = 4, // custom adjoint: ext[i] = ExternRecord, back(dy) gives cotangents for its argument structure
  ExternOut = 5, // one numeric leaf of a structured extern output: ext[i] = { node, path }
  Guard = 6, // a comparison or truthiness test on a tracked value; op = test, d0 = outcome; no gradient flows
  Pullback = 7, // an array operation (tensors): ext[i] = { parents, back }, back(g) gives one cotangent per parent (-1: none)
}

/** Op codes for introspection; index into `opNames`. */
export const opNames: string[] = ['input', 'extern', 'extern-out', 'guard'];
const opIds = new Map<string, number>(opNames.map((n, i) => [n, i]));
export function opId(name: string): number {
  let id = opIds.get(name);
  if (id === undefined) {
    id = opNames.length;
    opNames.push(name);
    opIds.set(name, id);
  }
  return id;
}
const OP_INPUT = 0;
const OP_EXTERN_OUT = 2;
const OP_GUARD = 3;

export interface ExternRecord {
  back: (dy: any) => any; // the user's pullback: dy -> per-argument cotangents
  args: any[]; // argument structure holding this tape's Tracked leaves where gradients go
  dy: any; // output structure; ExternOut leaves write their adjoints into a copy of it
  structured: boolean; // output was a container (ExternOut leaves) rather than one number
  name: string;
  /** The rule's forward at the recorded arguments' primal values: what gradcheck's fault finder differentiates numerically. */
  forward?: (...args: any[]) => any;
  primals?: any[];
}

/** Typed-array storage of finished tapes, reused so a steady stream of gradient calls allocates no tape memory. */
const storagePool: Storage[] = [];
interface Storage {
  kind: Uint8Array;
  op: Uint16Array;
  a0: Int32Array;
  a1: Int32Array;
  d0: Float64Array;
  d1: Float64Array;
}
function newStorage(cap: number): Storage {
  return { kind: new Uint8Array(cap), op: new Uint16Array(cap), a0: new Int32Array(cap), a1: new Int32Array(cap),
    d0: new Float64Array(cap), d1: new Float64Array(cap) };
}

export class Tape {
  n = 0;
  kind: Uint8Array;
  op: Uint16Array;
  a0: Int32Array;
  a1: Int32Array;
  d0: Float64Array;
  d1: Float64Array;
  /** Side storage: n-ary parents, extern records, and partials that are themselves tracked (nested AD). */
  ext: any[] = [];
  /** True once a partial is not a plain number: the sweep must then use overloaded arithmetic (nested AD). */
  generic = false;
  active = true;
  /** Containers written with tracked values during the call: cleaned to plain numbers when the call ends. */
  written: object[] = [];
  lastWritten: object | null = null;
  /** Cleanup closures for captured variables written with tracked values (loader-rewritten modules). */
  varFixes: (() => void)[] = [];
  /** Typed arrays cannot hold objects: their tracked elements live here, keyed by buffer then element index. */
  shadows = new Map<ArrayBufferLike, ShadowEntry>();

  /** Set by inspect(): per entry, the user's source location and the primal value (null on normal tapes). */
  notes: { where: string | null; value: any }[] | null = null;

  private annotate(i: number, y: any): void {
    const frame = userFrame();
    this.notes![i] = { where: frame === null ? null : frame.where, value: primal(y) };
  }

  constructor(public level: number) {
    const st = storagePool.pop() ?? newStorage(256);
    this.kind = st.kind;
    this.op = st.op;
    this.a0 = st.a0;
    this.a1 = st.a1;
    this.d0 = st.d0;
    this.d1 = st.d1;
  }

  /** Give the storage back for reuse; only for a tape no pullback can sweep again. */
  release(): void {
    if (this.active) throw new Error('tracegrad internal error: releasing an active tape');
    if (storagePool.length < 8) storagePool.push({ kind: this.kind, op: this.op, a0: this.a0, a1: this.a1, d0: this.d0, d1: this.d1 });
    const empty = newStorage(0);
    Object.assign(this, empty);
    this.n = 0;
    this.ext = [];
  }

  private grow(): void {
    const cap = this.kind.length * 2;
    const g = <T extends { length: number; set(a: T): void }>(old: T, C: new (n: number) => T): T => {
      const a = new C(cap);
      a.set(old);
      return a;
    };
    this.kind = g(this.kind, Uint8Array);
    this.op = g(this.op, Uint16Array);
    this.a0 = g(this.a0, Int32Array);
    this.a1 = g(this.a1, Int32Array);
    this.d0 = g(this.d0, Float64Array);
    this.d1 = g(this.d1, Float64Array);
  }

  /** Forward mode sets an input's tangent here (ForwardTape); the reverse tape has none. */
  seed(_i: number, _tangent: any): void {}

  input(v: any): Tracked {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.kind[i] = Kind.Input;
    this.op[i] = OP_INPUT;
    this.n = i + 1;
    if (this.notes !== null) this.annotate(i, v);
    return new Tracked(v, i, this);
  }

  unary(y: any, a: number, da: any, op: number): Tracked {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.kind[i] = Kind.Unary;
    this.op[i] = op;
    this.a0[i] = a;
    if (typeof da === 'number') this.d0[i] = da;
    else this.setGeneric(i, [da]);
    this.n = i + 1;
    if (this.notes !== null) this.annotate(i, y);
    return new Tracked(y, i, this);
  }

  binary(y: any, a: number, da: any, b: number, db: any, op: number): Tracked {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.kind[i] = Kind.Binary;
    this.op[i] = op;
    this.a0[i] = a;
    this.a1[i] = b;
    if (typeof da === 'number' && typeof db === 'number') {
      this.d0[i] = da;
      this.d1[i] = db;
    } else this.setGeneric(i, [da, db]);
    this.n = i + 1;
    if (this.notes !== null) this.annotate(i, y);
    return new Tracked(y, i, this);
  }

  nary(y: any, parents: number[], partials: any[], op: number): Tracked {
    const i = this.push(Kind.Nary, op, { parents, partials });
    if (!partials.every((p) => typeof p === 'number')) this.generic = true;
    return new Tracked(y, i, this);
  }

  /**
   * An operation on arrays (lib/tensor): its parents (tape indices, -1 for operands not on this tape), `back(g)` giving
   * their cotangents in overloaded ops, and `jvp(tangents)` for forward mode. Its adjoints are not numbers: the sweep
   * runs generic.
   */
  tensorOp(y: any, parents: number[], back: (g: any) => any[], _jvp: (tangents: any[]) => any, op: number): Tracked {
    this.generic = true;
    return new Tracked(y, this.push(Kind.Pullback, op, { parents, back }), this);
  }

  extern(record: ExternRecord, y: any, op: number): Tracked {
    return new Tracked(y, this.push(Kind.Extern, op, record), this);
  }

  externIndex(record: ExternRecord, op: number): number {
    return this.push(Kind.Extern, op, record);
  }

  externOut(y: any, node: number, path: (string | number)[]): Tracked {
    return new Tracked(y, this.push(Kind.ExternOut, OP_EXTERN_OUT, { node, path }), this);
  }

  /** Guards record which way a test on a tracked value went; a later JIT checks them before replaying a trace. */
  guard(test: number, operand: number, outcome: boolean): void {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.kind[i] = Kind.Guard;
    this.op[i] = test === 0 ? OP_GUARD : test;
    this.a0[i] = operand;
    this.d0[i] = outcome ? 1 : 0;
    this.n = i + 1;
    if (this.notes !== null) this.annotate(i, outcome);
  }

  private push(kind: Kind, op: number, ext: any): number {
    const i = this.n;
    if (i === this.kind.length) this.grow();
    this.kind[i] = kind;
    this.op[i] = op;
    this.ext[i] = ext;
    this.n = i + 1;
    if (this.notes !== null) this.annotate(i, NaN);
    return i;
  }

  private setGeneric(i: number, partials: any[]): void {
    this.ext[i] = partials;
    this.generic = true;
  }

  noteWrite(container: object): void {
    if (container !== this.lastWritten) {
      this.lastWritten = container;
      this.written.push(container);
    }
  }
}

/**
 * Tracked elements of one typed-array buffer, by element index from the buffer start (so subarray views share them).
 * items[k]: the tracked value now stored there; null once overwritten by a plain number; undefined if never touched.
 * For an argument, `lazy` is set and an input is made for an element the first time it is read (`inputs` keeps them).
 */
export interface ShadowEntry {
  items: (Tracked | null | undefined)[];
  inputs: (Tracked | undefined)[];
  lazy: boolean;
  /** Forward mode: the tangents of the inputs made lazily, by element index from the buffer start. */
  seeds?: any[];
}
