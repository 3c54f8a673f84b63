// Fusion of elementwise chains: elementwise results stay unevaluated expressions until something reads them, then the whole chain runs as one generated loop (cached by structure, shapes and dtypes).
import { Tensor, allocate, sizeOf, type Data, type DType, type DeviceStorage } from './tensor';
import * as K from './kernels';
import { state } from '../trace/context';
import { evaluateNative } from './fuse-native';

/** An unevaluated elementwise expression over tensors (leaves) and numbers. */
type Node =
  | { k: 'leaf'; t: Tensor }
  | { k: 'num'; v: number }
  | { k: 'op'; name: string; f: (...xs: number[]) => number; args: Node[]; f32: boolean };

/**
 * Switches: fusion on (TRACEGRAD_FUSE=0 turns it off), the smallest result fused, the largest expression kept lazy;
 * and a count of fused loops run (each evaluates a whole chain).
 *
 * @example
 * ```js
 * import { fusion, tensor, sum, gradient, traced } from 'tracegrad';
 * const x = tensor(Array.from({ length: 1000 }, (_, i) => i / 1000));
 * const f = traced((x) => sum(Math.tanh(x * 2 + 1) * x), { sum });
 * fusion.enabled = false; // as TRACEGRAD_FUSE=0: one operation at a time
 * const unfused = gradient(f, x)[0];
 * fusion.enabled = true; // the default: the elementwise chain runs as one generated loop, with the same results
 * const before = fusion.evaluations;
 * gradient(f, x)[0]; // → unfused
 * fusion.evaluations > before; // → true
 * ```
 */
export const fusion = { enabled: process.env.TRACEGRAD_FUSE !== '0', minSize: 256, maxNodes: 64, evaluations: 0 };

/**
 * Fusion happens only inside differentiation (a tape recording, or a backward sweep: `sweeps`), where tensors are
 * not changed in place between an operation and its use, and what is handed back to the caller is evaluated first
 * (`settle`). Outside, elementwise operations run at once.
 */
export const fusionScope = { sweeps: 0 };
const active = () => fusion.enabled && (state.tapes.length > 0 || fusionScope.sweeps > 0);

/** Evaluate every lazy tensor in a returned structure (arrays, plain objects, Maps), in place. */
export function settle(x: any, seen = new Set<any>()): any {
  if (x instanceof Tensor) {
    if (x.device instanceof Lazy) void x.data;
    return x;
  }
  if (x === null || typeof x !== 'object' || seen.has(x)) return x;
  seen.add(x);
  if (x instanceof Map) for (const v of x.values()) settle(v, seen);
  else if (Array.isArray(x) || Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) settle(v, seen);
  return x;
}

/** The storage of a fused, not yet evaluated, elementwise result: `read()` runs the generated loop once. */
class Lazy implements DeviceStorage {
  constructor(readonly node: Node, readonly dtype: DType, readonly length: number, readonly shape: readonly number[], readonly nodes: number) {}
  read(): Data {
    return evaluate(this.node, this.shape, this.dtype);
  }
}

/** A lazy tensor's expression, or a leaf for one that is evaluated (or not fused). */
function nodeOf(x: Tensor | number): Node {
  if (typeof x === 'number') return { k: 'num', v: x };
  const d = x.device;
  return d instanceof Lazy ? d.node : { k: 'leaf', t: x };
}
const count = (x: Tensor | number) => (typeof x !== 'number' && x.device instanceof Lazy ? x.device.nodes : 1);

/** f applied elementwise, fused: a lazy tensor (or undefined when fusion does not apply: the caller computes). */
export function fusedMap(x: Tensor, f: (v: number) => number, name: string): Tensor | undefined {
  if (!active() || x.size < fusion.minSize) return undefined;
  return lazy(name, f, [x], x.shape, x.dtype);
}
/** f of two operands elementwise with broadcasting, fused (undefined when fusion does not apply). */
export function fusedZip(a: Tensor | number, b: Tensor | number, f: (x: number, y: number) => number, name: string): Tensor | undefined {
  if (!active()) return undefined;
  const sa = typeof a === 'number' ? [] : a.shape, sb = typeof b === 'number' ? [] : b.shape;
  const shape = K.sameShape(sa, sb) ? sa : K.broadcastShapes(sa, sb);
  if (sizeOf(shape) < fusion.minSize) return undefined;
  const dtype: DType = [a, b].some((x) => typeof x !== 'number' && x.dtype === 'float64') ? 'float64' : 'float32';
  return lazy(name, f, [a, b], shape, dtype);
}

function lazy(name: string, f: (...xs: number[]) => number, xs: (Tensor | number)[], shape: readonly number[], dtype: DType): Tensor {
  // a long chain is cut: its operands are evaluated (so no expression grows without bound, nor is recomputed a lot)
  if (xs.reduce<number>((n, x) => n + count(x), 1) > fusion.maxNodes) for (const x of xs) if (typeof x !== 'number') void x.data;
  const node: Node = { k: 'op', name, f, args: xs.map(nodeOf), f32: dtype === 'float32' };
  return new Tensor(new Lazy(node, dtype, sizeOf(shape), shape, xs.reduce<number>((n, x) => n + count(x), 1)), shape);
}

// ---- code generation ----

const inlineOps: Record<string, (a: string, b: string) => string> = {
  add: (a, b) => `(${a} + ${b})`, sub: (a, b) => `(${a} - ${b})`, mul: (a, b) => `(${a} * ${b})`, div: (a, b) => `(${a} / ${b})`, neg: (a) => `(-${a})`,
};
const compiled = new Map<string, Function>();

/**
 * Evaluate an expression into a new array of `shape`: one loop, each element computed through the whole chain in
 * doubles, rounded to float32 after each operation whose result is float32 (so the values are those of the separate
 * kernels, bit for bit). Leaves are read with their own broadcast strides.
 */
function evaluate(root: Node, shape: readonly number[], dtype: DType): Data {
  const native = evaluateNative(root, shape, dtype);
  if (native !== undefined) {
    fusion.evaluations++;
    return native;
  }
  const leaves: Tensor[] = [], nums: number[] = [], fns: Function[] = [];
  const key: string[] = [];
  // an operation used twice (y in tanh's derivative, a cosh squared) is computed once per element, into a local
  const uses = new Map<Node, number>();
  const countUses = (n: Node): void => {
    uses.set(n, (uses.get(n) ?? 0) + 1);
    if (n.k === 'op' && uses.get(n) === 1) n.args.forEach(countUses);
  };
  countUses(root);
  const shared = new Map<Node, string>();
  const locals: string[] = [];
  // the expression as code, and its structure as the cache key (which leaves broadcast how, which ops, which roundings)
  const emit = (n: Node): string => {
    if (n.k === 'num') {
      nums.push(n.v);
      key.push('n');
      return `N[${nums.length - 1}]`;
    }
    if (n.k === 'leaf') {
      const t = n.t;
      // a lazy leaf evaluated since this node was built reads as an array now
      let i = leaves.indexOf(t);
      if (i < 0) i = leaves.push(t) - 1;
      key.push(`L${i}:${t.dtype === 'float32' ? 'f' : 'd'}:${K.sameShape(t.shape, shape) ? '=' : t.shape.join('x')}`);
      return `v${i}`;
    }
    const known = shared.get(n);
    if (known !== undefined) {
      key.push(`=${known}`);
      return known;
    }
    const args = n.args.map(emit);
    key.push(`${n.name}${n.f32 ? 'f' : ''}/${n.args.length}`);
    let text: string;
    if (inlineOps[n.name] !== undefined) text = inlineOps[n.name](args[0], args[1]);
    else {
      fns.push(n.f);
      text = `F[${fns.length - 1}](${args.join(', ')})`;
    }
    if (n.f32) text = `Math.fround(${text})`;
    if ((uses.get(n) ?? 0) < 2) return text;
    const local = `e${locals.length}`;
    locals.push(`const ${local} = ${text};`);
    shared.set(n, local);
    key.push(`>${local}`);
    return local;
  };
  const expr = emit(root);
  const pre = locals.join(' ');
  const same = leaves.every((t) => K.sameShape(t.shape, shape));
  const cacheKey = `${dtype}|${same ? '=' : shape.length}|${key.join(' ')}|${fns.length}`;
  let run = compiled.get(cacheKey);
  if (run === undefined) {
    const reads = leaves.map((_t, i) => `const v${i} = D${i}[${same ? 'i' : `o${i} + j * s${i}`}];`).join(' ');
    const body = same
      ? `for (let i = 0; i < out.length; i++) { ${reads} ${pre} out[i] = ${expr}; }`
      : `let i = 0; rows(shape, strides, (offs, n, inner) => { ${leaves.map((_t, k) => `const o${k} = offs[${k}], s${k} = inner[${k}];`).join(' ')} for (let j = 0; j < n; j++, i++) { ${reads} ${pre} out[i] = ${expr}; } });`;
    run = new Function('out', 'N', 'F', 'rows', 'shape', 'strides', ...leaves.map((_t, i) => `D${i}`), `"use strict"; ${body}`);
    compiled.set(cacheKey, run);
  }
  fusion.evaluations++;
  const out = allocate(dtype, sizeOf(shape));
  const strides = same ? [] : leaves.map((t) => K.stridesIn(t.shape, shape));
  run(out, nums, fns, K.rows, shape, strides, ...leaves.map((t) => t.data));
  return out;
}

/** How many fused loops have been generated (for tests and inspection). */
export const fusedLoops = () => compiled.size;

/** Whether a tensor's storage is an unevaluated fused expression (not a device buffer a view may share). */
export const isFused = (t: Tensor) => t.device instanceof Lazy;
