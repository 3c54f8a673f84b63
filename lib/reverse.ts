// The backward sweep: walk the tape from the output down, accumulating adjoints into parents.
import { Kind, type Tape, type ExternRecord } from './trace/tape';
import { Tracked, primal } from './trace/tracked';
import { belowLevel } from './trace/context';
import { O } from './rules/registry';
import { TracegradError } from './errors';
import { holdsTracked } from './trace/containers';
import { fusionScope } from './tensor/fuse';
import { Tensor } from './tensor/tensor';

/** Adjoints after a sweep. `touched[i]` says whether any path from the output reached slot i (null vs 0). */
export interface Adjoints {
  adj: ArrayLike<any>;
  touched: Uint8Array;
}

/**
 * Sweep from `out` with cotangent `seed`. Plain-number tapes use Float64Array adjoints; a tape whose partials or
 * seed are themselves tracked (nested AD) sweeps with overloaded arithmetic, so the sweep is recorded one level down.
 */
export function sweep(tape: Tape, out: number, seed: any): Adjoints {
  if (!tape.generic && typeof seed === 'number') return sweepNumeric(tape, out, seed);
  fusionScope.sweeps++; // tensor cotangents may fuse (lib/tensor/fuse.ts); the caller settles what it returns
  try {
    return sweepGeneric(tape, out, seed);
  } finally {
    fusionScope.sweeps--;
  }
}

function sweepNumeric(tape: Tape, out: number, seed: number): Adjoints {
  const { kind, a0, a1, d0, d1, ext } = tape;
  const adj = new Float64Array(tape.n);
  const touched = new Uint8Array(tape.n);
  const structuredDy = new Map<number, any>();
  adj[out] = seed;
  touched[out] = 1;
  for (let i = out; i >= 0; i--) {
    if (touched[i] === 0) continue;
    const g = adj[i];
    switch (kind[i]) {
      case Kind.Unary: {
        const p = a0[i];
        adj[p] += g * d0[i];
        touched[p] = 1;
        break;
      }
      case Kind.Binary: {
        const p = a0[i], q = a1[i];
        adj[p] += g * d0[i];
        adj[q] += g * d1[i];
        touched[p] = 1;
        touched[q] = 1;
        break;
      }
      case Kind.Nary: {
        const { parents, partials } = ext[i];
        for (let k = 0; k < parents.length; k++) {
          adj[parents[k]] += g * partials[k];
          touched[parents[k]] = 1;
        }
        break;
      }
      case Kind.ExternOut:
        depositOut(ext[i], g, structuredDy, touched);
        break;
      case Kind.Extern:
        runExtern(tape, ext[i], ext[i].structured ? structuredDy.get(i) : g, (p, v) => {
          if (typeof v !== 'number') throw new TracegradError('tracegrad internal error: tracked cotangent on a first-order tape');
          adj[p] += v;
          touched[p] = 1;
        });
        break;
    }
  }
  return { adj, touched };
}

function sweepGeneric(tape: Tape, out: number, seed: any): Adjoints {
  const { kind, a0, a1, d0, d1, ext } = tape;
  const adj: any[] = new Array(tape.n).fill(0);
  const touched = new Uint8Array(tape.n);
  const structuredDy = new Map<number, any>();
  const acc = (p: number, v: any) => {
    // a tensor's first cotangent is its adjoint as it is (0 + v would be a copy, or a fused pass, for nothing)
    adj[p] = touched[p] === 0 && v instanceof Tensor ? v : O.add(adj[p], v);
    touched[p] = 1;
  };
  adj[out] = seed;
  touched[out] = 1;
  for (let i = out; i >= 0; i--) {
    if (touched[i] === 0) continue;
    const g = adj[i];
    const k = kind[i];
    if (k === Kind.Unary) acc(a0[i], O.mul(g, ext[i] === undefined ? d0[i] : ext[i][0]));
    else if (k === Kind.Binary) {
      acc(a0[i], O.mul(g, ext[i] === undefined ? d0[i] : ext[i][0]));
      acc(a1[i], O.mul(g, ext[i] === undefined ? d1[i] : ext[i][1]));
    } else if (k === Kind.Nary) {
      const { parents, partials } = ext[i];
      for (let j = 0; j < parents.length; j++) acc(parents[j], O.mul(g, partials[j]));
    } else if (k === Kind.ExternOut) depositOut(ext[i], g, structuredDy, touched);
    else if (k === Kind.Extern) runExtern(tape, ext[i], ext[i].structured ? structuredDy.get(i) : g, acc);
    else if (k === Kind.Pullback) {
      const { parents, back } = ext[i];
      const cots = belowLevel(tape.level, () => back(g));
      for (let j = 0; j < parents.length; j++) if (parents[j] >= 0 && cots[j] !== null && cots[j] !== undefined) acc(parents[j], cots[j]);
    }
  }
  return { adj, touched };
}

/** One numeric leaf of a structured extern output adds its adjoint into the extern's output cotangent. */
function depositOut(e: { node: number; path: (string | number)[] }, g: any, dys: Map<number, any>, touched: Uint8Array) {
  touched[e.node] = 1;
  const parts = dys.get(e.node) ?? [];
  parts.push([e.path, g]);
  dys.set(e.node, parts);
}

/** Rebuild the output cotangent from its leaves: same shape as the output, 0 where nothing flowed. */
function assembleDy(shape: any, parts: [(string | number)[], any][] | undefined): any {
  const dy = zeroLike(shape);
  for (const [path, g] of parts ?? []) {
    let c = dy;
    for (let k = 0; k < path.length - 1; k++) c = c instanceof Map ? c.get(path[k]) : c[path[k]];
    const last = path[path.length - 1];
    if (c instanceof Map) c.set(last, O.add(c.get(last), g));
    else c[last] = O.add(c[last], g);
  }
  return dy;
}

function zeroLike(x: any): any {
  if (typeof x === 'number') return 0;
  if (Array.isArray(x)) return x.map(zeroLike);
  if (ArrayBuffer.isView(x)) return new (x.constructor as any)((x as any).length);
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [k, zeroLike(v)]));
  if (x !== null && typeof x === 'object') {
    const o: any = {};
    for (const k of Object.keys(x)) o[k] = zeroLike(x[k]);
    return o;
  }
  return null;
}

/** Call a custom adjoint's back one level down, then route each argument's cotangent into its tracked leaves. */
function runExtern(tape: Tape, rec: ExternRecord, dy: any, acc: (p: number, v: any) => void): void {
  const cotangent = rec.structured ? assembleDy(rec.dy, dy) : dy;
  const cots = belowLevel(tape.level, () => rec.back(cotangent));
  if (!Array.isArray(cots))
    throw new TracegradError(
      `tracegrad: the adjoint of ${rec.name} returned ${describe(cots)} from back(dy); it must return an array with ` +
        `one cotangent per argument (null for arguments without one), e.g. dy => [dy * cos(x), null].`,
    );
  // extra trailing nulls (a rule written for optional arguments) and missing cotangents of arguments that carry no
  // tracked value are harmless; anything else would silently drop or invent a gradient
  const extra = cots.slice(rec.args.length).some((c) => c !== null && c !== undefined);
  const missing = rec.args.slice(cots.length).some((a) => holdsTracked(a, tape));
  if (extra || missing)
    throw new TracegradError(
      `tracegrad: the adjoint of ${rec.name} returned ${cots.length} cotangent${cots.length === 1 ? '' : 's'} for ` +
        `${rec.args.length} argument${rec.args.length === 1 ? '' : 's'}; back(dy) must return one per argument (null for none).`,
    );
  for (let k = 0; k < rec.args.length; k++) routeCotangent(tape, rec.args[k], cots[k], acc, rec.name, `[${k}]`);
}

function describe(x: any): string {
  return x === null ? 'null' : Array.isArray(x) ? 'an array' : x instanceof Map ? 'a Map' : typeof x === 'object' ? 'an object' : `a ${typeof x}`;
}

/** Walk an argument structure and its cotangent together; tracked leaves of this tape receive their share. */
function routeCotangent(tape: Tape, arg: any, cot: any, acc: (p: number, v: any) => void, name: string, path: string) {
  if (cot === null || cot === undefined) return;
  if (arg instanceof Tracked) {
    if (arg.t !== tape) return;
    const value = primal(arg);
    if (value instanceof Tensor) {
      // a tensor argument's cotangent is a tensor of its shape
      const c = primal(cot);
      if (!(c instanceof Tensor) || c.shape.join() !== value.shape.join())
        throw new TracegradError(`tracegrad: the adjoint of ${name} gave ${c instanceof Tensor ? `a Tensor of shape [${c.shape}]` : describe(cot)} as the cotangent of tensor argument ${path}; expected a Tensor of shape [${value.shape}].`);
      acc(arg.i, cot);
      return;
    }
    if (typeof cot !== 'number' && !(cot instanceof Tracked))
      throw new TracegradError(`tracegrad: the adjoint of ${name} gave ${describe(cot)} as the cotangent of number argument ${path}; expected a number.`);
    acc(arg.i, cot);
    return;
  }
  if (arg === null || typeof arg !== 'object') return;
  const kind = (x: any) => (Array.isArray(x) || ArrayBuffer.isView(x) ? 'array' : x instanceof Map ? 'Map' : typeof x === 'object' ? 'object' : typeof x);
  if (kind(arg) !== kind(cot))
    throw new TracegradError(
      `tracegrad: the adjoint of ${name} gave ${describe(cot)} as the cotangent of argument ${path}, which is ` +
        `${kind(arg) === 'array' ? 'an array' : kind(arg) === 'Map' ? 'a Map' : 'an object'}; a cotangent has the shape of its argument (or is null).`,
    );
  if (arg instanceof Map) {
    for (const [k, v] of arg) routeCotangent(tape, v, cot instanceof Map ? cot.get(k) : undefined, acc, name, `${path}.get(${String(k)})`);
    return;
  }
  for (const k of Object.keys(arg)) routeCotangent(tape, arg[k], cot[k], acc, name, `${path}[${k}]`);
}
