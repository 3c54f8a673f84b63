// The public differentiation API, built from small pieces: pullback records and sweeps; gradient seeds it with 1.
import { Tracked, primal } from './trace/tracked';
import { pushTape, popTape } from './trace/context';
import { enterArgs, gatherGradient, cleanUp, stripValue, isContainer, isTypedFloat, type HandedOut } from './trace/containers';
import { sweep } from './reverse';
import { adjointFor, inner } from './rules/custom';
import { ensureTraced } from './rewrite/traced';
import { compiledFor } from './jit/tier';
import { TracegradError } from './errors';
import { isTensor } from './tensor/tensor';
import { settle } from './tensor/fuse';
import { numberTypeOf } from './rules/numbers';
import type { Tape } from './trace/tape';

/**
 * Call f on fresh inputs under a new tape; return the raw output, the tape and where each argument's inputs are.
 * `annotate` keeps each entry's source location and value (for inspect()).
 */
export function record(f: Function, args: any[], annotate = false) {
  const fn = ensureTraced(f);
  const call = adjointFor(fn) ?? fn;
  const tape = pushTape();
  if (annotate) tape.notes = [];
  let out: any;
  let nodes: any[] = [];
  try {
    const entered = enterArgs(tape, args);
    nodes = entered.nodes;
    out = call(...entered.values);
  } catch (e) {
    popTape(tape);
    cleanUp(tape, args); // a throwing f must not leave tracked values in the caller's containers
    tape.release();
    throw e;
  }
  popTape(tape);
  return { out, tape, nodes };
}

/** A step into a container: an array index or object key, or a Map key. */
type Step = string | number | { mapKey: any };

/** The tracked leaves of an output (a number, or a container of numbers) with the steps that reach each. */
function outputLeaves(out: any, tape: Tape): { idx: number[]; paths: Step[][] } {
  const idx: number[] = [];
  const paths: Step[][] = [];
  const seen = new Set<any>();
  const walk = (x: any, path: Step[]) => {
    if (x instanceof Tracked) {
      if (x.t === tape) {
        idx.push(x.i);
        paths.push(path);
      }
    } else if (isTypedFloat(x) || (isContainer(x) && !seen.has(x))) {
      seen.add(x);
      if (x instanceof Map) for (const [k, v] of x) walk(v, [...path, { mapKey: k }]);
      else for (const k of Object.keys(x)) walk(x[k], [...path, k]);
    }
  };
  walk(out, []);
  return { idx, paths };
}

function readPath(x: any, path: Step[]): any {
  for (const step of path) {
    if (x === null || x === undefined) return undefined;
    x = typeof step === 'object' ? (x instanceof Map ? x.get(step.mapKey) : undefined) : x[step];
  }
  return x;
}

const showPath = (path: Step[]) => path.map((s) => (typeof s === 'object' ? `.get(${String(s.mapKey)})` : `[${s}]`)).join('');

function checkSeed(seed: any, where: string): void {
  const p = primal(seed);
  if (typeof p !== 'number' || !Number.isFinite(p))
    throw new TracegradError(`tracegrad: ${where} got the seed ${String(p)}; a seed must be a finite number (the cotangent of the output).`);
}

/** Build the per-argument cotangents of `f` at `args` for output seeds. */
function backFrom(tape: Tape, nodes: any[], outIdx: number[], seeds: any[]): any[] {
  if (outIdx.length === 0) return nodes.map(() => null);
  const { adj, touched } = sweepMany(tape, outIdx, seeds);
  // tensor gradients may be fused expressions still: evaluated before they reach the caller
  const handed: HandedOut = new Map();
  return nodes.map((n) => settle(gatherGradient(n, adj, touched, handed)));
}

/** Several outputs: sweep once from a synthetic sum, by seeding each output slot. */
function sweepMany(tape: Tape, outIdx: number[], seeds: any[]) {
  if (outIdx.length === 1) return sweep(tape, outIdx[0], seeds[0]);
  // a linear combination of the outputs: one extra Nary entry whose partials are the seeds
  const sum = tape.nary(0, outIdx, seeds, 0);
  return sweep(tape, sum.i, 1);
}

/**
 * `pullback(f, ...args)` returns `[y, back]`: y is f's output (plain numbers), and `back(seed = 1)` returns one
 * cotangent per argument (see README for their shapes). back may be called many times. For a container output,
 * seed is a container of the same shape.
 *
 * @example
 * ```js
 * import { pullback } from 'tracegrad';
 * const [y, back] = pullback((x, y) => x * y, 3, 4);
 * y; // → 12
 * back(); // → [4, 3]
 * back(2); // → [8, 6]
 * // an array output takes a seed of its shape: a vector–Jacobian product, here [1, 1]·[1, 2x] at x = 3
 * const [pair, vjp] = pullback((x) => [x, x * x], 3);
 * pair; // → [3, 9]
 * vjp([1, 1]); // → [7]
 * ```
 */
export function pullback(f: (...args: any[]) => any, ...args: any[]): [any, (seed?: any) => any[]] {
  const { out, tape, nodes } = record(f, args);
  if (out !== null && typeof out === 'object' && typeof out.then === 'function') {
    cleanUp(tape, args);
    throw scalarOutputError(out, 'pullback');
  }
  const leaves = outputLeaves(out, tape);
  const scalar = out instanceof Tracked || typeof out === 'number';
  const y = settle(stripValue(out, tape));
  cleanUp(tape, args);
  const back = (seed: any = 1): any[] => {
    if (scalar) {
      checkSeed(seed, 'back(seed)');
      return backFrom(tape, nodes, leaves.idx, [seed]);
    }
    const seeds = leaves.paths.map((p) => {
      const s = readPath(seed, p);
      checkSeed(s, `back(seed) at output${showPath(p)}`);
      return s;
    });
    return backFrom(tape, nodes, leaves.idx, seeds);
  };
  return [y, back];
}

function scalarOutputError(out: any, fname: string): TracegradError {
  if (out !== null && typeof out === 'object' && typeof out.then === 'function')
    return new TracegradError(
      `tracegrad: ${fname} got a Promise from f. An async function cannot be differentiated: recording ends when f ` +
        `returns, before its awaits resume. Differentiate the synchronous part (await the inputs first, then call a ` +
        `plain function on them).`,
    );
  if (numberTypeOf(out) !== undefined)
    return new TracegradError(
      `tracegrad: ${fname} needs f to return a real number (the loss), but it returned a ${out.constructor.name}. ` +
        `A ${out.constructor.name} loss has no gradient of its own: return a real part of it (for a Complex z: z.re, ` +
        `z.im or Math.abs(z)), or use pullback with a seed of its type (seeds 1 and i give the Wirtinger derivatives).`,
    );
  if (isTensor(primal(out)))
    return new TracegradError(
      `tracegrad: ${fname} needs f to return a single number (the loss), but it returned a Tensor of shape [${primal(out).shape}]. ` +
        `Reduce it to a number with sum(t) or mean(t); for the derivatives of every element use jacobian or pullback with a seed tensor.`,
    );
  const what = Array.isArray(out) || isTypedFloat(out) ? `an array of length ${(out as any).length}`
    : out === null || out === undefined ? String(out) : typeof out === 'object' ? 'an object' : `a ${typeof out}`;
  return new TracegradError(
    `tracegrad: ${fname} needs f to return a single number (the loss), but it returned ${what}. ` +
      `For the derivatives of every output use jacobian(f, ...args); to return extra values beside the loss use ` +
      `withGradient(f, ...args) with [loss, ...extra] or { loss, ...extra }; or seed the output yourself with pullback.`,
  );
}

/**
 * `gradient(f, ...args)`: one gradient per argument of the number f returns. An untraced f is traced automatically.
 *
 * @example
 * ```js
 * import { gradient } from 'tracegrad';
 * gradient((x, y) => x * x * y, 3, 2); // → [12, 9]
 * // each gradient has its argument's structure; an entry no gradient reaches is 0
 * gradient((p) => p.a * p.b[1], { a: 2, b: [5, 7] }); // → [{ a: 7, b: [0, 2] }]
 * gradient((x) => Math.sin(x), 0); // → [1]
 * ```
 */
export function gradient(f: (...args: any[]) => any, ...args: any[]): any[] {
  const fast = compiledFor(ensureTraced(f), args)?.(args);
  if (fast != null) return fast.grad;
  return interpretedGradient(f, args);
}

/** gradient on the tape interpreter (after the compiled tier declined or bailed out). */
export function interpretedGradient(f: (...args: any[]) => any, args: any[]): any[] {
  const { out, tape, nodes } = record(f, args);
  try {
    if ((!(out instanceof Tracked) && typeof out !== 'number') || isTensor(primal(out))) throw scalarOutputError(out, 'gradient');
    if (!(out instanceof Tracked) || out.t !== tape) return nodes.map(() => null);
    return backFrom(tape, nodes, [out.i], [1]);
  } finally {
    stripValue(out, tape);
    cleanUp(tape, args);
    tape.release();
  }
}

/**
 * `withGradient(f, ...args)` returns `{ value, grad }`. If f returns an array, element 0 is the loss and the rest is
 * auxiliary output; if it returns a plain object, its first key is the loss. value is f's whole output.
 *
 * @example
 * ```js
 * import { withGradient } from 'tracegrad';
 * withGradient((x) => x ** 2, 3); // → { value: 9, grad: [6] }
 * // [loss, ...auxiliary]: only element 0 is differentiated
 * withGradient((x) => [Math.sin(x), 'aux'], 0); // → { value: [0, 'aux'], grad: [1] }
 * withGradient((x) => ({ loss: 2 * x, double: x + x }), 5); // → { value: { loss: 10, double: 10 }, grad: [2] }
 * ```
 */
export function withGradient(f: (...args: any[]) => any, ...args: any[]): { value: any; grad: any[] } {
  const fast = compiledFor(ensureTraced(f), args)?.(args);
  if (fast != null) return fast;
  return interpretedWithGradient(f, args);
}

/** withGradient on the tape interpreter. */
export function interpretedWithGradient(f: (...args: any[]) => any, args: any[]): { value: any; grad: any[] } {
  const { out, tape, nodes } = record(f, args);
  try {
    let loss: any = out;
    if (Array.isArray(out)) loss = out[0];
    else if (out !== null && typeof out === 'object' && !(out instanceof Tracked) && isContainer(out) && !(out instanceof Map))
      loss = out[Object.keys(out)[0]];
    if ((!(loss instanceof Tracked) && typeof loss !== 'number') || isTensor(primal(loss))) throw scalarOutputError(loss, 'withGradient (its loss)');
    const grad = loss instanceof Tracked && loss.t === tape ? backFrom(tape, nodes, [loss.i], [1]) : nodes.map(() => null);
    return { value: settle(stripValue(out, tape)), grad };
  } finally {
    cleanUp(tape, args);
    tape.release();
  }
}

/**
 * `jacobian(f, ...args)`: one entry per argument. For an array output of length m, an array argument of length n gives
 * an m×n nested array (row i: the derivatives of output i) and a number argument a length-m array; a number output
 * gives the gradient. Forward mode (one jvp per input entry) when the arguments have fewer entries than the output,
 * reverse mode (one sweep per output) otherwise: the same numbers up to rounding. Forward mode runs f once more to
 * learn the output's length and once per input entry, each time on copies of the array arguments (so a mutation
 * inside f is not seen by the next run); reverse mode runs f once, on the arguments themselves, as gradient does.
 *
 * @example
 * ```js
 * import { jacobian } from 'tracegrad';
 * // f(x, y) = [xy, x + y]: row i holds the derivatives of output i
 * jacobian(([x, y]) => [x * y, x + y], [2, 3]); // → [[[3, 2], [1, 1]]]
 * // a number argument: one derivative per output
 * jacobian((t) => [Math.cos(t), Math.sin(t)], 0); // → [[0, 1]]
 * ```
 */
export function jacobian(f: (...args: any[]) => any, ...args: any[]): any[] {
  const inputs = flatInputCount(args);
  if (inputs !== null) {
    const [y0] = inner.jvp(f, args.map(cloneArg), args.map(() => null));
    if ((Array.isArray(y0) || isTypedFloat(y0)) && (y0 as any).length > inputs && Array.from(y0 as any).every((v) => typeof v === 'number'))
      return forwardJacobian(f, args, (y0 as any).length);
  }
  const [y, back] = pullback(f, ...args);
  if (typeof y === 'number') return back(1);
  const flat: number[] = Array.isArray(y) || isTypedFloat(y) ? Array.from(y as any) : null as any;
  if (flat === null || !flat.every((v) => typeof v === 'number'))
    throw new TracegradError('tracegrad: jacobian needs f to return a number or a flat array of numbers.');
  const rows = flat.map((_v, i) => back(flat.map((_w, j) => (i === j ? 1 : 0))));
  return args.map((_a, k) => rows.map((r) => {
    const g = r[k];
    if (g === null) return typeof args[k] === 'number' ? 0 : zeros(args[k]);
    return isTypedFloat(g) ? Array.from(g) : g;
  }));
}

/** The number of entries of args when each is a number or a flat array of numbers (forward mode can seed them), else null. */
function flatInputCount(args: any[]): number | null {
  let n = 0;
  for (const a of args) {
    if (typeof a === 'number') n++;
    else if ((Array.isArray(a) || isTypedFloat(a)) && Array.from(a as any).every((v) => typeof v === 'number')) n += (a as any).length;
    else return null;
  }
  return n;
}

const cloneArg = (a: any) => (typeof a === 'number' ? a : isTypedFloat(a) ? a.slice() : [...a]);

/** Columns of J by forward mode, one unit tangent per entry of each argument; rows assembled per argument. */
function forwardJacobian(f: (...args: any[]) => any, args: any[], m: number): any[] {
  return args.map((a, k) => {
    const column = (tangent: any) => {
      const tangents = args.map((_b, i) => (i === k ? tangent : null));
      return Array.from(inner.jvp(f, args.map(cloneArg), tangents)[1] as any) as number[];
    };
    if (typeof a === 'number') return column(1);
    const n = a.length;
    const cols = Array.from({ length: n }, (_v, j) => column(Array.from({ length: n }, (_w, l) => (l === j ? 1 : 0))));
    return Array.from({ length: m }, (_v, i) => cols.map((c) => c[i]));
  });
}

function zeros(a: any): any {
  return Array.isArray(a) || isTypedFloat(a) ? Array.from(a as any, () => 0) : null;
}

inner.pullback = (f, args) => pullback(f as any, ...args);
inner.ensureTraced = ensureTraced;
