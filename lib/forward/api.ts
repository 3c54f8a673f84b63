// Forward-mode API: jvp (Jacobian-vector products) and derivative, on the same traced code and rules as reverse mode.
import { ForwardTape } from './tape';
import { Tracked, primal } from '../trace/tracked';
import { Tensor, isTensor } from '../tensor/tensor';
import { settle } from '../tensor/fuse';
import { state, popTape } from '../trace/context';
import { enterArgs, cleanUp, stripValue, isContainer, isTypedFloat, type InputNode } from '../trace/containers';
import { adjointFor, inner } from '../rules/custom';
import { ensureTraced } from '../rewrite/traced';
import { TracegradError } from '../errors';
import { compiledTangentFor } from '../jit/tier';
import { numberTypeFor } from '../rules/numbers';

type Slot = number | InputNode | null;

/**
 * `jvp(f, args, tangents)` returns `[y, dy]`: f's output at args (plain numbers) and its directional derivative along
 * the tangents, dy = J·t, in one forward pass. `tangents` has one entry per argument with the argument's shape (a
 * number, an array, a typed array, an object or a Map of tangents); null or 0 means "not perturbed". dy has the
 * output's shape: a number for a number, arrays for arrays, objects for objects.
 *
 * @example
 * ```js
 * import { jvp } from 'tracegrad';
 * // f(x, y) = xy along (1, 0): ∂f/∂x = y
 * const [y, dy] = jvp((x, y) => x * y, [3, 4], [1, 0]);
 * [y, dy]; // → [12, 4]
 * // an array argument takes an array tangent: d/ds (v0·v1) at v = [2, 5] along [1, 1] is 5 + 2
 * jvp((v) => v[0] * v[1], [[2, 5]], [[1, 1]]); // → [10, 7]
 * jvp((x) => [x, x * x], [3], [1]); // → [[3, 9], [1, 6]]
 * ```
 */
export function jvp(f: (...args: any[]) => any, args: any[], tangents: any[]): [any, any] {
  if (!Array.isArray(args) || !Array.isArray(tangents))
    throw new TracegradError('tracegrad: jvp(f, args, tangents) takes the arguments and their tangents as two arrays, e.g. jvp(f, [x], [1]).');
  if (tangents.length !== args.length)
    throw new TracegradError(`tracegrad: jvp got ${args.length} argument${args.length === 1 ? '' : 's'} but ${tangents.length} tangent${tangents.length === 1 ? '' : 's'}; give one tangent per argument (null for an argument that is not perturbed).`);
  const fn = ensureTraced(f);
  const fast = compiledTangentFor(fn, args)?.(args, tangents);
  if (fast != null) return [fast.value, fast.tangent];
  const call = adjointFor(fn) ?? fn;
  const tape = new ForwardTape(state.tapes.length + 1);
  state.tapes.push(tape);
  let out: any;
  try {
    const { values, nodes } = enterArgs(tape, args);
    nodes.forEach((node, k) => seedSlot(tape, node, tangents[k], args[k], `tangents[${k}]`));
    out = call(...values);
  } catch (e) {
    popTape(tape);
    cleanUp(tape, args);
    tape.release();
    throw e;
  }
  popTape(tape);
  try {
    if (out !== null && typeof out === 'object' && typeof out.then === 'function')
      throw new TracegradError('tracegrad: jvp got a Promise from f; an async function cannot be differentiated (await first, then call a plain function).');
    const dy = settle(tangentOf(out, tape, new Map()));
    return [settle(stripValue(out, tape)), dy];
  } finally {
    cleanUp(tape, args);
    tape.release();
  }
}

/**
 * `derivative(f, x)`: df/dx for a number x and a number output, in forward mode.
 *
 * @example
 * ```js
 * import { derivative } from 'tracegrad';
 * derivative(Math.sin, 0); // → 1
 * derivative((x) => x ** 3, 2); // → 12
 * derivative((x) => Math.exp(2 * x), 0); // → 2
 * ```
 */
export function derivative(f: (x: any) => any, x: any): any {
  if (typeof x !== 'number' && !(x instanceof Tracked))
    throw new TracegradError(`tracegrad: derivative(f, x) needs a number x, got ${describe(x)}; for other arguments use jvp(f, [x], [tangent]) or gradient(f, x).`);
  const [y, dy] = jvp(f, [x], [1]);
  if (typeof y !== 'number' && !(y instanceof Tracked))
    throw new TracegradError(`tracegrad: derivative(f, x) needs f to return a number, but it returned ${describe(y)}; jvp(f, [x], [1]) gives the derivative of every output.`);
  return dy;
}

/** A zero tangent of a value's form: 0, or a tensor of zeros. */
const zeroLike = (v: any) => (isTensor(v) ? new Tensor(v.dtype === 'float32' ? new Float32Array(v.size) : new Float64Array(v.size), v.shape) : 0);

const describe = (x: any) => (x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x === 'object' ? 'an object' : `a ${typeof x}`);

/** Put an argument's tangent on its inputs (typed arrays: on the inputs their elements get when first read). */
function seedSlot(tape: ForwardTape, node: Slot, tangent: any, arg: any, where: string): void {
  if (tangent === null || tangent === undefined || tangent === 0 || node === null) return; // 0: not perturbed, for any argument
  if (typeof node === 'number') {
    const value = primal(arg);
    if (isTensor(value)) {
      // a tensor argument is one input: its tangent is a tensor of its shape
      const t = primal(tangent);
      if (!isTensor(t) || t.shape.length !== value.shape.length || t.shape.some((d, i) => d !== value.shape[i]))
        throw new TracegradError(`tracegrad: jvp: ${where} must be a Tensor of its argument's shape [${value.shape}], got ${isTensor(t) ? `a Tensor of shape [${t.shape}]` : describe(tangent)}.`);
      return tape.seed(node, tangent);
    }
    if (typeof tangent !== 'number' && !(tangent instanceof Tracked))
      throw new TracegradError(`tracegrad: jvp: ${where} is ${describe(tangent)}, but its argument is a number; give a number.`);
    return tape.seed(node, tangent);
  }
  const length = (x: any) => (typeof x?.length === 'number' && typeof x !== 'string' ? ` of length ${x.length}` : '');
  const mismatch = () => new TracegradError(`tracegrad: jvp: ${where} must have its argument's shape (${describeNode(node)}${nodeLength(node)}), ` +
    `got ${describe(tangent)}${length(tangent)}.`);
  if (node.k === 'typed') {
    if (typeof tangent !== 'object' || typeof tangent.length !== 'number' || tangent.length !== node.length) throw mismatch();
    node.entry.seeds ??= [];
    for (let k = 0; k < node.length; k++) node.entry.seeds[node.offset + k] = tangent[k];
    return;
  }
  if (node.k === 'arr') {
    if (!(Array.isArray(tangent) || isTypedFloat(tangent)) || tangent.length !== node.items.length) throw mismatch();
    node.items.forEach((slot, i) => seedSlot(tape, slot, tangent[i], arg?.[i], `${where}[${i}]`));
    return;
  }
  if (node.k === 'map') {
    if (!(tangent instanceof Map)) throw mismatch();
    node.keys.forEach((key, i) => seedSlot(tape, node.vals[i], tangent.get(key), arg instanceof Map ? arg.get(key) : undefined, `${where}.get(${String(key)})`));
    return;
  }
  if (typeof tangent !== 'object' || Array.isArray(tangent) || tangent instanceof Map || isTypedFloat(tangent)) throw mismatch();
  node.keys.forEach((key, i) => seedSlot(tape, node.fields[i], tangent[key], arg?.[key], `${where}.${key}`));
}

const nodeLength = (n: InputNode) => (n.k === 'arr' ? ` of length ${n.items.length}` : n.k === 'typed' ? ` of length ${n.length}` : '');
const describeNode = (n: InputNode) => (n.k === 'arr' ? 'an array' : n.k === 'typed' ? 'a typed array' : n.k === 'map' ? 'a Map' : 'an object');

/** The output's tangent, in its shape: 0 where nothing perturbed reaches. */
function tangentOf(out: any, tape: ForwardTape, seen: Map<any, any>): any {
  if (out instanceof Tracked) return (out.t === tape ? tape.tan[out.i] : undefined) ?? zeroLike(primal(out));
  if (typeof out === 'number') return 0;
  if (isTensor(out)) return zeroLike(out);
  if (out === null || typeof out !== 'object') return out;
  if (seen.has(out)) return seen.get(out);
  if (isTypedFloat(out)) {
    const t = new (out.constructor as any)(out.length);
    seen.set(out, t);
    const e = tape.shadows.get(out.buffer);
    const base = out.byteOffset / out.BYTES_PER_ELEMENT;
    for (let k = 0; k < out.length; k++) {
      const item = e?.items[base + k];
      if (item instanceof Tracked && item.t === tape) t[k] = tape.tan[item.i] ?? 0;
    }
    return t;
  }
  if (!isContainer(out)) return out;
  if (Array.isArray(out)) {
    const t: any[] = [];
    seen.set(out, t);
    for (const v of out) t.push(tangentOf(v, tape, seen));
    return t;
  }
  if (out instanceof Map) {
    const t = new Map();
    seen.set(out, t);
    for (const [k, v] of out) t.set(k, tangentOf(v, tape, seen));
    return t;
  }
  const t: any = {};
  seen.set(out, t);
  for (const k of Object.keys(out)) t[k] = tangentOf(out[k], tape, seen);
  const type = numberTypeFor(out.constructor);
  return type?.fromFields !== undefined ? type.fromFields(t) : t;
}

inner.jvp = (f, args, tangents) => jvp(f as any, args, tangents);
