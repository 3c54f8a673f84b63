// Tensor primitives: each declared once with its forward kernel, its pullback and its tangent rule (elementwise ones straight from the scalar rule table), applied level by level like the scalar ops.
import { O, tensorHooks, NOT_TENSOR } from '../rules/registry';
import { unaryRules, binaryRules } from '../rules/scalar';
import { Tracked, primal } from '../trace/tracked';
import { opId, type Tape } from '../trace/tape';
import { resolveInactive } from '../ops';
import { TracegradError } from '../errors';
import { Tensor, isTensor, sizeOf, type DType } from './tensor';
import * as K from './kernels';
import { kernels } from './backend';
import { fusedMap, fusedZip, isFused } from './fuse';
import { nativeFusion } from './fuse-native';

/**
 * A primitive on tensors (and numbers). `forward` takes plain values. `back(g, xs, y, needed)` returns one cotangent
 * per operand (null where `needed` is false), `jvp(ts, xs, y)` the output's tangent from the operands' tangents
 * (undefined where an operand has none); both are written in overloaded operations on xs and y, which may be tracked
 * by outer levels, so they can be differentiated again (nested AD).
 */
interface Prim {
  name: string;
  forward(xs: any[], params: any): any;
  back(g: any, xs: any[], y: any, needed: boolean[], params: any): any[];
  jvp(ts: any[], xs: any[], y: any, params: any): any;
}

/**
 * Apply a primitive: on the innermost-nested (highest-level) tape among the operands, one entry whose operands are
 * computed one level down, recursively, as ops.ts does for scalars.
 */
export function apply(p: Prim, args: any[], params?: any): any {
  let t: Tape | null = null;
  for (let i = 0; i < args.length; i++) {
    const x = args[i];
    if (!(x instanceof Tracked)) continue;
    if (!x.t.active) return apply(p, args.map((a, j) => (j === i ? resolveInactive(a) : a)), params);
    if (t === null || x.t.level > t.level) t = x.t;
  }
  if (t === null) return p.forward(args, params);
  const tape = t;
  const on = args.map((x) => x instanceof Tracked && x.t === tape);
  const xs = args.map((x, i) => (on[i] ? x.v : x));
  const y = apply(p, xs, params);
  return tape.tensorOp(y, args.map((x, i) => (on[i] ? x.i : -1)), (g) => p.back(g, xs, y, on, params), (ts) => p.jvp(ts, xs, y, params), opId(`tensor:${p.name}`));
}

/** Whether elementwise results stay lazy for fusion: on the JS kernels, and on native ones that evaluate fused programs. */
const fusing = () => kernels() === K || nativeFusion();
/** A tensor's elements for a view of them: its device buffer where it has one (not read back), else its data. */
const storageOf = (x: Tensor) => (x.device !== null && !isFused(x) ? x.device : x.data);

/** The primal shape of a value: a tensor's, or null for a number. */
export const shapeOf = (x: any): readonly number[] | null => {
  const v = primal(x);
  return isTensor(v) ? v.shape : null;
};
const dtypeOf = (x: any): DType | null => {
  const v = primal(x);
  return isTensor(v) ? v.dtype : null;
};

/** Σ of present terms (undefined: no term), as the forward tape sums tangents. */
function sumTerms(terms: any[]): any {
  let s: any;
  for (const t of terms) if (t !== undefined) s = s === undefined ? t : O.add(s, t);
  return s;
}

/** A cotangent brought to its operand's form: summed over broadcast axes (all of them for a number), in its dtype. */
export function toLike(c: any, x: any): any {
  const shape = shapeOf(x);
  if (shape === null) return shapeOf(c) === null ? c : sum(c);
  if (shapeOf(c) === null) c = broadcastTo(c, shape);
  else if (!K.sameShape(shapeOf(c)!, shape)) c = apply(sumToPrim, [c], shape);
  return dtypeOf(c) === dtypeOf(x) ? c : astype(c, dtypeOf(x)!);
}

/** A tangent broadcast to the shape of the value it belongs to (undefined stays undefined). */
function toShapeOf(t: any, y: any): any {
  if (t === undefined) return undefined;
  const shape = shapeOf(y);
  if (shape === null) return t;
  const ts = shapeOf(t);
  return ts !== null && K.sameShape(ts, shape) ? t : broadcastTo(t, shape);
}

// ---- elementwise, from the scalar rule table ----

const unaryPrims = new Map<string, Prim>();
for (const [name, rule] of Object.entries(unaryRules) as [string, any][]) {
  unaryPrims.set(name, {
    name,
    forward: ([x]) => (isTensor(x) ? (fusing() ? fusedMap(x, rule.f, name) : undefined) ?? kernels().map(x, rule.f) : rule.f(x)),
    back: (g, [x], y) => [O.mul(g, rule.d(x, y))],
    jvp: ([t], [x], y) => (t === undefined ? undefined : O.mul(rule.d(x, y), t)),
  });
}
/**
 * g times a partial, where a partial of exactly 1 (+, and − for its left operand) hands g on as it is: both operands of
 * a sum then share one cotangent object, so a fused (lazy) g is evaluated once, not once per operand. The gradients
 * handed back are made distinct objects where one would reach two arguments (handOut in lib/trace/containers.ts).
 */
const times = (g: any, partial: any) => (partial === 1 ? g : O.mul(g, partial));

const binaryPrims = new Map<string, Prim>();
for (const [name, rule] of Object.entries(binaryRules) as [string, any][]) {
  binaryPrims.set(name, {
    name,
    forward: ([a, b]) => (isTensor(a) || isTensor(b) ? (fusing() ? fusedZip(a, b, rule.f, name) : undefined) ?? kernels().zip(a, b, rule.f) : rule.f(a, b)),
    // ∂/∂a and ∂/∂b as the scalar rules give them, elementwise; each summed back to its operand's shape
    back: (g, [a, b], y, needed) => [needed[0] ? toLike(times(g, rule.da(a, b, y)), a) : null, needed[1] ? toLike(times(g, rule.db(a, b, y)), b) : null],
    // a constant partial (1 for +) keeps the operand's shape: the tangent is broadcast to the result's
    jvp: ([ta, tb], [a, b], y) => toShapeOf(sumTerms([ta === undefined ? undefined : O.mul(rule.da(a, b, y), ta), tb === undefined ? undefined : O.mul(rule.db(a, b, y), tb)]), y),
  });
}

/** Elementwise maximum and minimum of two operands: the winner gets the gradient, ties split it (as Math.max). */
function extremum(name: 'max' | 'min'): Prim {
  const pick = name === 'max' ? Math.max : Math.min;
  // ∂/∂a: 1 where a wins, ½ on a tie, NaN where the result is NaN (a constant mask: its own derivative is 0)
  const share = (a: any, b: any, first: boolean) => kernels().zip(primal(a), primal(b), (x, y) => {
    const m = pick(x, y);
    if (m !== m) return NaN;
    return x === y ? 0.5 : (first ? x : y) === m ? 1 : 0;
  });
  return {
    name,
    forward: ([a, b]) => (isTensor(a) || isTensor(b) ? kernels().zip(a, b, pick) : pick(a, b)),
    back: (g, [a, b], _y, needed) => [needed[0] ? toLike(O.mul(g, share(a, b, true)), a) : null, needed[1] ? toLike(O.mul(g, share(a, b, false)), b) : null],
    jvp: ([ta, tb], [a, b], y) => toShapeOf(sumTerms([ta === undefined ? undefined : O.mul(share(a, b, true), ta), tb === undefined ? undefined : O.mul(share(a, b, false), tb)]), y),
  };
}
const extremumPrims = { max: extremum('max'), min: extremum('min') };

// ---- shape and reduction primitives ----

const sumToPrim: Prim = {
  name: 'sumTo',
  forward: ([x], shape) => kernels().sumTo(x, shape),
  back: (g, [x]) => [broadcastTo(g, shapeOf(x)!)],
  jvp: ([t], _xs, _y, shape) => (t === undefined ? undefined : apply(sumToPrim, [t], shape)),
};
const broadcastPrim: Prim = {
  name: 'broadcastTo',
  forward: ([x], shape) => (isTensor(x) ? kernels().broadcastTo(x, shape) : kernels().broadcastTo(new Tensor(new Float64Array([x]), []), shape)),
  back: (g, [x]) => [toLike(g, x)],
  jvp: ([t], _xs, _y, shape) => (t === undefined ? undefined : broadcastTo(t, shape)),
};
const reshapePrim: Prim = {
  name: 'reshape',
  forward: ([x], shape) => new Tensor(storageOf(x), shape), // a view: the same data (or the same device buffer)
  back: (g, [x]) => [reshape(g, shapeOf(x)!)],
  jvp: ([t], _xs, _y, shape) => (t === undefined ? undefined : reshape(t, shape)),
};
const transposePrim: Prim = {
  name: 'transpose',
  forward: ([x], perm) => kernels().transpose(x, perm),
  back: (g, _xs, _y, _n, perm) => [transpose(g, inverse(perm))],
  jvp: ([t], _xs, _y, perm) => (t === undefined ? undefined : transpose(t, perm)),
};
const astypePrim: Prim = {
  name: 'astype',
  forward: ([x], dtype) => kernels().astype(x, dtype),
  back: (g, [x]) => [astype(g, dtypeOf(x)!)],
  jvp: ([t], _xs, _y, dtype) => (t === undefined ? undefined : astype(t, dtype)),
};
/** Sum over axes (all: a number); params = { axes, keep } with keep the shape with those axes set to 1. */
const sumPrim: Prim = {
  name: 'sum',
  forward: ([x], { axes, keep }) => {
    if (axes === null) {
      if (kernels() === K) {
        let s = 0;
        for (const v of x.data) s += v;
        return s;
      }
      return kernels().sumTo(x, x.shape.map(() => 1)).data[0]; // on a device: one element comes back
    }
    const r = kernels().sumTo(x, keep);
    return new Tensor(storageOf(r), x.shape.filter((_d: number, i: number) => !axes.includes(i)));
  },
  back: (g, [x], _y, _n, { axes, keep }) => [axes === null ? broadcastTo(g, shapeOf(x)!) : broadcastTo(reshape(g, keep), shapeOf(x)!)],
  jvp: ([t], _xs, _y, params) => (t === undefined ? undefined : apply(sumPrim, [t], params)),
};
/**
 * Matrix product over the last two axes, batched with broadcasting (both operands of rank ≥ 2), of op(a)·op(b) where
 * params { ta, tb } say which operand enters transposed. C = op(A)·op(B) has dA = G·op(B)ᵀ and dB = op(A)ᵀ·G, each
 * written back through op again; so the pullback is four transposition cases of the same primitive, and no transposed
 * copy is made as a separate step.
 */
const matmulPrim: Prim = {
  name: 'matmul',
  forward: ([a, b], { ta, tb }) => kernels().matmul(a, b, ta, tb),
  back: (g, [a, b], _y, needed, { ta, tb }) => [
    // dA: (G·op(B)ᵀ) for op(A) = A, its transpose for op(A) = Aᵀ
    needed[0] ? toLike(ta ? mm(b, g, tb, true) : mm(g, b, false, !tb), a) : null,
    // dB: (op(A)ᵀ·G) for op(B) = B, its transpose for op(B) = Bᵀ
    needed[1] ? toLike(tb ? mm(g, a, true, ta) : mm(a, g, !ta, false), b) : null,
  ],
  jvp: ([ta_, tb_], [a, b], _y, { ta, tb }) => sumTerms([ta_ === undefined ? undefined : mm(ta_, b, ta, tb), tb_ === undefined ? undefined : mm(a, tb_, ta, tb)]),
};
const mm = (a: any, b: any, ta: boolean, tb: boolean) => apply(matmulPrim, [a, b], { ta, tb });

const inverse = (perm: number[]) => {
  const inv = new Array(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

// ---- the public functions (they accept tensors, numbers and tracked values) ----

function tensorArg(x: any, fname: string): readonly number[] {
  const s = shapeOf(x);
  if (s === null) throw new TracegradError(`tracegrad: ${fname} needs a Tensor, got ${typeof primal(x) === 'number' ? 'a number' : typeof primal(x)}; make one with tensor(data).`);
  return s;
}
function normalizeAxes(axis: number | number[] | undefined, rank: number, fname: string): number[] | null {
  if (axis === undefined || axis === null) return null;
  const axes = (Array.isArray(axis) ? axis : [axis]).map((a) => {
    if (!Number.isInteger(a) || a < -rank || a >= rank) throw new TracegradError(`tracegrad: ${fname}: axis ${a} is out of range for a tensor of rank ${rank}.`);
    return a < 0 ? a + rank : a;
  });
  return [...new Set(axes)].sort((p, q) => p - q);
}

/**
 * `sum(t, axis?)`: the sum of all elements (a number), or over an axis or axes (a tensor without them).
 *
 * @example
 * ```js
 * import { sum, tensor, gradient, traced } from 'tracegrad';
 * const t = tensor([[1, 2], [3, 4]]);
 * sum(t); // → 10
 * sum(t, 0); // → [4, 6]
 * sum(t, 1); // → [3, 7]
 * // d/dt Σ t² = 2t
 * gradient(traced((t) => sum(t * t), { sum }), t); // → [[[2, 4], [6, 8]]]
 * ```
 */
export function sum(t: any, axis?: number | number[]): any {
  if (shapeOf(t) === null) return t;
  const shape = tensorArg(t, 'sum');
  const axes = normalizeAxes(axis, shape.length, 'sum');
  const keep = axes === null ? null : shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return apply(sumPrim, [t], { axes, keep });
}

/**
 * `mean(t, axis?)`: sum divided by the number of elements summed.
 *
 * @example
 * ```js
 * import { mean, tensor, gradient, traced } from 'tracegrad';
 * const t = tensor([[1, 2], [3, 4]]);
 * mean(t); // → 2.5
 * mean(t, 1); // → [1.5, 3.5]
 * // each of the 4 elements weighs 1/4
 * gradient(traced((t) => mean(t), { mean }), t); // → [[[0.25, 0.25], [0.25, 0.25]]]
 * ```
 */
export function mean(t: any, axis?: number | number[]): any {
  const shape = tensorArg(t, 'mean');
  const axes = normalizeAxes(axis, shape.length, 'mean');
  const n = axes === null ? sizeOf(shape) : axes.reduce((p, a) => p * shape[a], 1);
  return O.div(sum(t, axis), n);
}

/**
 * `max(t, axis?)` and `min(t, axis?)` over all elements (a number) or an axis (ties share the gradient).
 *
 * @example
 * ```js
 * import { max, tensor, gradient, traced } from 'tracegrad';
 * max(tensor([1, 5, 3])); // → 5
 * max(tensor([[1, 5], [7, 2]]), 1); // → [5, 7]
 * // a tie splits the gradient between the winners
 * gradient(traced((t) => max(t), { max }), tensor([2, 2, 1])); // → [[0.5, 0.5, 0]]
 * ```
 */
export function maxOf(t: any, axis?: number): any {
  return extremeOf(t, axis, 'max');
}
/**
 * `min(t, axis?)`: the smallest element (a number) or the minima along an axis (ties share the gradient).
 *
 * @example
 * ```js
 * import { min, tensor, gradient, traced } from 'tracegrad';
 * min(tensor([4, -1, 3])); // → -1
 * min(tensor([[1, 5], [7, 2]]), 0); // → [1, 2]
 * gradient(traced((t) => min(t), { min }), tensor([4, -1, 3])); // → [[0, 1, 0]]
 * ```
 */
export function minOf(t: any, axis?: number): any {
  return extremeOf(t, axis, 'min');
}
function extremeOf(t: any, axis: number | undefined, which: 'max' | 'min'): any {
  const shape = tensorArg(t, which);
  const axes = normalizeAxes(axis, shape.length, which);
  // the extreme value as a constant, then the mean of the tied entries: d/dt is 1/k on the k winners, as Math.max
  const v: Tensor = primal(t);
  const keep = axes === null ? shape.map(() => 1) : shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const m = reduceExtreme(v, keep, which);
  const mask = kernels().zip(v, m, (x, y) => (x === y || (x !== x && y !== y) ? 1 : 0));
  const count = kernels().sumTo(mask, keep);
  const picked = O.div(O.mul(t, mask), count); // winners' values / number of winners
  const r = sum(picked, axes === null ? undefined : axes);
  return r;
}
function reduceExtreme(v: Tensor, keep: number[], which: 'max' | 'min'): Tensor {
  const start = which === 'max' ? -Infinity : Infinity;
  const out = K.broadcastTo(new Tensor(new Float64Array([start]), []), keep);
  const o = kernels().astype(out, v.dtype);
  const strides = K.stridesIn(keep, v.shape);
  // index walk over v, folding into the kept slot (NaN wins, as Math.max)
  const idx = new Array(v.shape.length).fill(0);
  for (let i = 0; i < v.size; i++) {
    let off = 0;
    for (let d = 0; d < idx.length; d++) off += idx[d] * strides[d];
    const x = v.data[i], cur = o.data[off];
    o.data[off] = x !== x || cur !== cur ? NaN : which === 'max' ? Math.max(cur, x) : Math.min(cur, x);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < v.shape[d]) break;
      idx[d] = 0;
    }
  }
  return o;
}

/**
 * `logsumexp(t, axis?)`: log Σ exp, shifted by the maximum so that it does not overflow.
 *
 * @example
 * ```js
 * import { logsumexp, tensor, gradient, traced } from 'tracegrad';
 * logsumexp(tensor([0, 0])); // → Math.LN2
 * logsumexp(tensor([1000, 1000])); // → 1000 + Math.LN2
 * logsumexp(tensor([[0, 0], [1, 1]]), 1); // → [Math.LN2, 1 + Math.LN2]
 * // its gradient is the softmax
 * gradient(traced((t) => logsumexp(t), { logsumexp }), tensor([0, 0])); // → [[0.5, 0.5]]
 * ```
 */
export function logsumexp(t: any, axis?: number): any {
  const shape = tensorArg(t, 'logsumexp');
  const axes = normalizeAxes(axis, shape.length, 'logsumexp');
  const keep = axes === null ? shape.map(() => 1) : shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return apply(logsumexpPrim, [t], { axes, keep });
}

/**
 * log Σ exp over axes (params { axes, keep } as sum's), one primitive: forward shifted by the maximum (so it does not
 * overflow; the shift cancels exactly in the value and the derivative), pullback g·softmax(x) = g·exp(x − y), tangent
 * Σ softmax·ṫ, both in overloaded operations (so they nest).
 */
const logsumexpPrim: Prim = {
  name: 'logsumexp',
  forward: ([x], { axes, keep }) => {
    const m = kernels().map(reduceExtreme(x, keep, 'max'), (v) => (Number.isFinite(v) ? v : 0));
    const s = kernels().sumTo(kernels().map(kernels().zip(x, m, binaryRules.sub.f), Math.exp), keep);
    const y = kernels().zip(kernels().map(s, Math.log), m, binaryRules.add.f);
    return axes === null ? y.data[0] : new Tensor(storageOf(y), x.shape.filter((_d: number, i: number) => !axes.includes(i)));
  },
  back: (g, [x], y, _n, { axes, keep }) => {
    const yk = axes === null ? y : reshape(y, keep), gk = axes === null ? g : reshape(g, keep);
    return [O.mul(gk, O.exp(O.sub(x, yk)))];
  },
  jvp: ([t], [x], y, { axes, keep }) => (t === undefined ? undefined : sum(O.mul(O.exp(O.sub(x, axes === null ? y : reshape(y, keep))), t), axes ?? undefined)),
};

/**
 * `softmax(t, axis = -1)`: exp(t − logsumexp(t)) along the axis.
 *
 * @example
 * ```js
 * import { softmax, tensor } from 'tracegrad';
 * // e^0 : e^ln 3 = 1 : 3
 * softmax(tensor([0, Math.log(3)])); // → [0.25, 0.75]
 * softmax(tensor([[1, 1], [0, Math.log(3)]])); // → [[0.5, 0.5], [0.25, 0.75]]
 * // along axis 0: each column sums to 1
 * softmax(tensor([[0, Math.log(3)], [0, 0]]), 0); // → [[0.5, 0.75], [0.5, 0.25]]
 * ```
 */
export function softmax(t: any, axis = -1): any {
  const shape = tensorArg(t, 'softmax');
  const [a] = normalizeAxes(axis, shape.length, 'softmax')!;
  const lse = logsumexp(t, a);
  return O.exp(O.sub(t, reshape(lse, shape.map((d, i) => (i === a ? 1 : d)))));
}

/**
 * `matmul(a, b)`: the matrix product; batched over leading axes (with broadcasting); vectors as in NumPy.
 *
 * @example
 * ```js
 * import { matmul, sum, tensor, gradient, traced } from 'tracegrad';
 * const W = tensor([[1, 2], [3, 4]]), x = tensor([5, 6]);
 * matmul(W, x); // → [17, 39]
 * matmul(W, tensor([[1, 0], [0, 2]])); // → [[1, 4], [3, 8]]
 * matmul(x, x); // → 61
 * // ∂ Σ(Wx) / ∂W_ij = x_j, ∂/∂x_j = Σ_i W_ij
 * gradient(traced((W, x) => sum(matmul(W, x)), { sum, matmul }), W, x); // → [[[5, 6], [5, 6]], [4, 6]]
 * ```
 */
export function matmul(a: any, b: any): any {
  const sa = tensorArg(a, 'matmul'), sb = tensorArg(b, 'matmul');
  if (sa.length === 0 || sb.length === 0) throw new TracegradError('tracegrad: matmul needs tensors of rank 1 or more; for a scalar factor use *.');
  if (sa.length === 1 && sb.length === 1) return sum(O.mul(a, b));
  if (sa.length === 1) return reshape(mm(reshape(a, [1, sa[0]]), b, false, false), [...sb.slice(0, -2), sb[sb.length - 1]]);
  if (sb.length === 1) return reshape(mm(a, reshape(b, [sb[0], 1]), false, false), sa.slice(0, -1));
  return mm(a, b, false, false);
}

/**
 * `reshape(t, shape)`: the same elements in another shape (one entry may be -1: inferred). A view, no copy.
 *
 * @example
 * ```js
 * import { reshape, tensor } from 'tracegrad';
 * const t = tensor([1, 2, 3, 4, 5, 6]);
 * reshape(t, [2, 3]); // → [[1, 2, 3], [4, 5, 6]]
 * reshape(t, [-1, 2]); // → [[1, 2], [3, 4], [5, 6]]
 * t.reshape([3, 2]).shape; // → [3, 2]
 * reshape(t, [4, 2]); // throws TracegradError
 * ```
 */
export function reshape(t: any, shape: readonly number[]): any {
  const from = tensorArg(t, 'reshape');
  const n = sizeOf(from);
  const known = shape.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const to = shape.map((d) => (d === -1 ? n / known : d));
  if (shape.filter((d) => d === -1).length > 1 || !to.every((d) => Number.isInteger(d) && d >= 0) || sizeOf(to) !== n)
    throw new TracegradError(`tracegrad: cannot reshape a tensor of shape [${from}] (${n} elements) to [${shape}].`);
  if (K.sameShape(from, to)) return t;
  return apply(reshapePrim, [t], to);
}

/**
 * `transpose(t, perm?)`: axes permuted (default: reversed; for a matrix, its transpose).
 *
 * @example
 * ```js
 * import { transpose, tensor, zeros } from 'tracegrad';
 * transpose(tensor([[1, 2, 3], [4, 5, 6]])); // → [[1, 4], [2, 5], [3, 6]]
 * transpose(zeros([2, 3, 4]), [2, 0, 1]).shape; // → [4, 2, 3]
 * tensor([[1, 2]]).T; // → [[1], [2]]
 * ```
 */
export function transpose(t: any, perm?: number[]): any {
  const shape = tensorArg(t, 'transpose');
  const p = perm ?? [...shape.keys()].reverse();
  if (p.length !== shape.length || [...p].sort((x, y) => x - y).some((v, i) => v !== i))
    throw new TracegradError(`tracegrad: transpose: [${p}] is not a permutation of the ${shape.length} axes.`);
  return apply(transposePrim, [t], p);
}

/**
 * `broadcastTo(t, shape)`: t repeated along broadcast axes (NumPy rules).
 *
 * @example
 * ```js
 * import { broadcastTo, sum, tensor, gradient, traced } from 'tracegrad';
 * broadcastTo(tensor([1, 2]), [3, 2]); // → [[1, 2], [1, 2], [1, 2]]
 * // the gradient sums over the repeats
 * gradient(traced((t) => sum(broadcastTo(t, [3, 2])), { sum, broadcastTo }), tensor([1, 2])); // → [[3, 3]]
 * ```
 */
export function broadcastTo(t: any, shape: readonly number[]): any {
  const s = shapeOf(t);
  if (s !== null && K.sameShape(s, shape)) return t;
  return apply(broadcastPrim, [t], [...shape]);
}

/**
 * `astype(t, dtype)`: the elements as 'float64' or 'float32'.
 *
 * @example
 * ```js
 * import { astype, tensor } from 'tracegrad';
 * const single = astype(tensor([0.1, 2]), 'float32');
 * single.dtype; // → 'float32'
 * single; // → [Math.fround(0.1), 2]
 * astype(single, 'float64').dtype; // → 'float64'
 * ```
 */
export function astype(t: any, dtype: DType): any {
  if (dtype !== 'float64' && dtype !== 'float32') throw new TracegradError(`tracegrad: dtype is 'float64' or 'float32', got ${String(dtype)}.`);
  if (dtypeOf(t) === dtype) return t;
  return apply(astypePrim, [t], dtype);
}

// ---- the hooks of the one dispatch point (ops.ts): operators and Math.f on tensors ----

tensorHooks.unary = (name, x) => {
  if (!isTensor(primal(x))) return NOT_TENSOR;
  const p = unaryPrims.get(name);
  if (p === undefined) throw new TracegradError(`tracegrad: ${name} is not defined on tensors.`);
  return apply(p, [x]);
};
tensorHooks.binary = (name, a, b) => {
  const pa = primal(a), pb = primal(b);
  if (!isTensor(pa) && !isTensor(pb)) return NOT_TENSOR;
  for (const v of [pa, pb])
    if (!isTensor(v) && typeof v !== 'number')
      throw new TracegradError(`tracegrad: ${name} of a Tensor and ${v === null ? 'null' : typeof v}: tensors combine with tensors and numbers.`);
  return apply(binaryPrims.get(name)!, [a, b]);
};
tensorHooks.nary = (name, xs) => {
  if (!xs.some((x) => isTensor(primal(x)))) return NOT_TENSOR;
  if (name === 'hypot') return O.sqrt(xs.map((x) => O.mul(x, x)).reduce((s, x) => O.add(s, x)));
  const p = (extremumPrims as any)[name];
  if (p === undefined || xs.length < 1) throw new TracegradError(`tracegrad: Math.${name} is not defined on tensors.`);
  return xs.slice(1).reduce((acc, x) => apply(p, [acc, x]), xs[0]);
};

// ---- indexing: slices, concatenation, gather and scatter, selection ----

const slicePrim: Prim = {
  name: 'slice',
  forward: ([x], { begin, size }) => kernels().slice(x, begin, size),
  back: (g, [x], _y, _n, { begin }) => [apply(padPrim, [g], { shape: shapeOf(x), begin })],
  jvp: ([t], _xs, _y, params) => (t === undefined ? undefined : apply(slicePrim, [t], params)),
};
/** g placed into zeros of `shape` at `begin`: slice's adjoint (and concatenation's pieces). */
const padPrim: Prim = {
  name: 'pad',
  forward: ([x], { shape, begin }) => kernels().padInto(x, shape, begin),
  back: (g, [x], _y, _n, { begin }) => [apply(slicePrim, [g], { begin, size: shapeOf(x) })],
  jvp: ([t], _xs, _y, params) => (t === undefined ? undefined : apply(padPrim, [t], params)),
};
const gatherPrim: Prim = {
  name: 'gather',
  forward: ([x], { indices, axis }) => kernels().gather(x, indices, axis),
  back: (g, [x], _y, _n, { indices, axis }) => [apply(scatterPrim, [zerosOf(x), g], { indices, axis })],
  jvp: ([t], _xs, _y, params) => (t === undefined ? undefined : apply(gatherPrim, [t], params)),
};
const scatterPrim: Prim = {
  name: 'scatterAdd',
  forward: ([x, u], { indices, axis }) => kernels().scatterAdd(x, indices, u, axis),
  back: (g, [x, u], _y, needed, { indices, axis }) => [needed[0] ? toLike(g, x) : null, needed[1] ? toLike(apply(gatherPrim, [g], { indices, axis }), u) : null],
  jvp: ([tx, tu], [x, u], _y, params) => (tx === undefined && tu === undefined ? undefined : apply(scatterPrim, [tx ?? zerosOf(x), tu ?? zerosOf(u)], params)),
};
/** mask ? a : b elementwise, broadcast; the mask is a constant (0/1 tensor). */
const selectPrim: Prim = {
  name: 'where',
  forward: ([a, b], mask: Tensor) => {
    const shape = K.broadcastShapes(K.broadcastShapes(mask.shape, shapeOf(a) ?? []), shapeOf(b) ?? []);
    const A = isTensor(a) ? kernels().broadcastTo(a, shape) : a, B = isTensor(b) ? kernels().broadcastTo(b, shape) : b;
    const M = kernels().broadcastTo(mask, shape);
    const f32 = [a, b].every((x) => !isTensor(x) || x.dtype === 'float32') && [a, b].some(isTensor);
    const out = new Tensor(f32 ? new Float32Array(M.size) : new Float64Array(M.size), shape);
    for (let i = 0; i < out.size; i++) out.data[i] = M.data[i] !== 0 ? (typeof A === 'number' ? A : A.data[i]) : typeof B === 'number' ? B : B.data[i];
    return out;
  },
  // the unchosen side gets exact zeros, as an untaken branch gets nothing
  back: (g, [a, b], _y, needed, mask) => [needed[0] ? toLike(apply(selectPrim, [g, 0], mask), a) : null, needed[1] ? toLike(apply(selectPrim, [0, g], mask), b) : null],
  jvp: ([ta, tb], [a, b], y, mask) => (ta === undefined && tb === undefined ? undefined : toShapeOf(apply(selectPrim, [ta ?? zerosOf(a), tb ?? zerosOf(b)], mask), y)),
};

const zerosOf = (x: any): any => {
  const v = primal(x);
  return isTensor(v) ? new Tensor(v.dtype === 'float32' ? new Float32Array(v.size) : new Float64Array(v.size), v.shape) : 0;
};
function axisOf(axis: number, rank: number, fname: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new TracegradError(`tracegrad: ${fname}: axis ${axis} is out of range for rank ${rank}.`);
  return axis < 0 ? axis + rank : axis;
}
function indexList(indices: any, fname: string, length: number): number[] {
  const list = isTensor(indices) ? Array.from(indices.data) : Array.isArray(indices) || ArrayBuffer.isView(indices) ? Array.from(indices as any, (v) => primal(v)) : null;
  if (list === null) throw new TracegradError(`tracegrad: ${fname} takes its indices as an array (or tensor) of integers.`);
  for (const i of list)
    if (!Number.isInteger(i) || i < 0 || i >= length) throw new TracegradError(`tracegrad: ${fname}: index ${i} is not an integer in [0, ${length}).`);
  return list as number[];
}

/**
 * `slice(t, begin, end?)`: the block from `begin` (one start per axis; missing axes start at 0) up to `end`
 * (exclusive; missing: the end). Negative positions count from the end, as in Array.prototype.slice.
 *
 * @example
 * ```js
 * import { slice, tensor } from 'tracegrad';
 * const t = tensor([[1, 2, 3], [4, 5, 6]]);
 * slice(t, [0, 1]); // → [[2, 3], [5, 6]]
 * slice(t, [1], [2]); // → [[4, 5, 6]]
 * slice(tensor([1, 2, 3, 4]), [-2]); // → [3, 4]
 * ```
 */
export function slice(t: any, begin: number[], end?: number[]): any {
  const shape = tensorArg(t, 'slice');
  const b = shape.map((d, i) => clampPosition(begin[i] ?? 0, d));
  const e = shape.map((d, i) => clampPosition(end?.[i] ?? d, d));
  const size = shape.map((_d, i) => Math.max(0, e[i] - b[i]));
  if (K.sameShape(size, shape)) return t;
  return apply(slicePrim, [t], { begin: b, size });
}
const clampPosition = (p: number, d: number) => {
  if (!Number.isInteger(p)) throw new TracegradError(`tracegrad: slice positions are integers, got ${p}.`);
  return Math.min(d, Math.max(0, p < 0 ? p + d : p));
};

/**
 * `concat(tensors, axis = 0)`: joined along an axis (the other axes must agree).
 *
 * @example
 * ```js
 * import { concat, tensor } from 'tracegrad';
 * const a = tensor([[1, 2]]), b = tensor([[3, 4]]);
 * concat([a, b]); // → [[1, 2], [3, 4]]
 * concat([a, b], 1); // → [[1, 2, 3, 4]]
 * ```
 */
export function concat(ts: any[], axis = 0): any {
  if (!Array.isArray(ts) || ts.length === 0) throw new TracegradError('tracegrad: concat takes a non-empty array of tensors.');
  const shapes = ts.map((x) => tensorArg(x, 'concat'));
  const a = axisOf(axis, shapes[0].length, 'concat');
  for (const s of shapes)
    if (s.length !== shapes[0].length || s.some((d, i) => i !== a && d !== shapes[0][i]))
      throw new TracegradError(`tracegrad: concat along axis ${a}: shapes [${shapes[0]}] and [${s}] differ on another axis.`);
  const total = shapes.reduce((n, s) => n + s[a], 0);
  const out = shapes[0].map((d, i) => (i === a ? total : d));
  // each piece placed into zeros of the result's shape, summed (slice is each one's adjoint)
  let at = 0;
  return ts.map((x, k) => {
    const begin = out.map((_d, i) => (i === a ? at : 0));
    at += shapes[k][a];
    return apply(padPrim, [x], { shape: out, begin });
  }).reduce((s, x) => O.add(s, x));
}

/**
 * `stack(tensors, axis = 0)`: joined along a new axis.
 *
 * @example
 * ```js
 * import { stack, tensor } from 'tracegrad';
 * const a = tensor([1, 2]), b = tensor([3, 4]);
 * stack([a, b]); // → [[1, 2], [3, 4]]
 * stack([a, b], 1); // → [[1, 3], [2, 4]]
 * ```
 */
export function stack(ts: any[], axis = 0): any {
  if (!Array.isArray(ts) || ts.length === 0) throw new TracegradError('tracegrad: stack takes a non-empty array of tensors.');
  const shape = tensorArg(ts[0], 'stack');
  const a = axisOf(axis, shape.length + 1, 'stack');
  return concat(ts.map((x) => reshape(x, [...shape.slice(0, a), 1, ...shape.slice(a)])), a);
}

/**
 * `gather(t, indices, axis = 0)`: the entries at `indices` along an axis (an embedding lookup).
 *
 * @example
 * ```js
 * import { gather, sum, tensor, gradient, traced } from 'tracegrad';
 * const embedding = tensor([[1, 2], [3, 4], [5, 6]]);
 * gather(embedding, [2, 0]); // → [[5, 6], [1, 2]]
 * gather(embedding, [1], 1); // → [[2], [4], [6]]
 * // an index read twice gets its gradient twice
 * gradient(traced((t) => sum(gather(t, [1, 1])), { sum, gather }), tensor([1, 2, 3])); // → [[0, 2, 0]]
 * ```
 */
export function gather(t: any, indices: any, axis = 0): any {
  const shape = tensorArg(t, 'gather');
  const a = axisOf(axis, shape.length, 'gather');
  return apply(gatherPrim, [t], { indices: indexList(indices, 'gather', shape[a]), axis: a });
}

/**
 * `scatterAdd(t, indices, updates, axis = 0)`: t with updates added at `indices` along an axis (repeats add up).
 *
 * @example
 * ```js
 * import { scatterAdd, tensor, zeros } from 'tracegrad';
 * scatterAdd(zeros([3]), [0, 2, 0], tensor([1, 2, 3])); // → [4, 0, 2]
 * scatterAdd(zeros([2, 2]), [1], tensor([[1, 2]])); // → [[0, 0], [1, 2]]
 * ```
 */
export function scatterAdd(t: any, indices: any, updates: any, axis = 0): any {
  const shape = tensorArg(t, 'scatterAdd'), us = tensorArg(updates, 'scatterAdd');
  const a = axisOf(axis, shape.length, 'scatterAdd');
  const idx = indexList(indices, 'scatterAdd', shape[a]);
  const expect = shape.map((d, i) => (i === a ? idx.length : d));
  if (!K.sameShape(us, expect)) throw new TracegradError(`tracegrad: scatterAdd: updates of shape [${us}], expected [${expect}].`);
  return apply(scatterPrim, [t, updates], { indices: idx, axis: a });
}

/**
 * `where(condition, a, b)`: a where the condition (a tensor, nonzero = true, or a boolean) holds, else b; broadcast.
 *
 * @example
 * ```js
 * import { where, greater, sum, tensor, gradient, traced } from 'tracegrad';
 * const t = tensor([-1, 2, -3, 4]);
 * where(greater(t, 0), t, 0); // → [0, 2, 0, 4]
 * where(true, tensor([1, 2]), tensor([3, 4])); // → [1, 2]
 * // the gradient flows to the branch chosen at each element
 * gradient(traced((t) => sum(where(greater(t, 0), t * t, t)), { sum, where, greater }), t); // → [[1, 4, 1, 8]]
 * ```
 */
export function where(condition: any, a: any, b: any): any {
  const c = primal(condition);
  const mask = isTensor(c) ? c : tensor1(c ? 1 : 0);
  return apply(selectPrim, [a, b], mask);
}
const tensor1 = (v: number) => new Tensor(new Float64Array([v]), []);

/** Comparisons, elementwise and broadcast: 1 where true, 0 where false (constants: no derivative flows through). */
function comparison(name: string, test: (x: number, y: number) => boolean) {
  return (a: any, b: any): Tensor => {
    const pa = primal(a), pb = primal(b);
    if (!isTensor(pa) && !isTensor(pb)) throw new TracegradError(`tracegrad: ${name} compares tensors (or a tensor and a number).`);
    return kernels().zip(pa, pb, (x, y) => (test(x, y) ? 1 : 0));
  };
}
/**
 * `less(a, b)`: 1 where a < b and 0 elsewhere, elementwise with broadcasting (tensors, or a tensor and a number);
 * a constant (no derivative flows through it), e.g. the condition of `where(condition, a, b)`.
 *
 * @example
 * ```js
 * import { less, tensor } from 'tracegrad';
 * less(tensor([1, 2, 3]), 2); // → [1, 0, 0]
 * less(tensor([1, 5]), tensor([[2], [6]])); // → [[1, 0], [1, 1]]
 * ```
 */
export const less = comparison('less', (x, y) => x < y);
/**
 * `lessEqual(a, b)`: 1 where a ≤ b and 0 elsewhere, elementwise with broadcasting (tensors, or a tensor and a number);
 * a constant (no derivative flows through it), e.g. the condition of `where(condition, a, b)`.
 *
 * @example
 * ```js
 * import { lessEqual, tensor } from 'tracegrad';
 * lessEqual(tensor([1, 2, 3]), 2); // → [1, 1, 0]
 * ```
 */
export const lessEqual = comparison('lessEqual', (x, y) => x <= y);
/**
 * `greater(a, b)`: 1 where a > b and 0 elsewhere, elementwise with broadcasting (tensors, or a tensor and a number);
 * a constant (no derivative flows through it), e.g. the condition of `where(condition, a, b)`.
 *
 * @example
 * ```js
 * import { greater, where, tensor } from 'tracegrad';
 * greater(tensor([1, 2, 3]), 2); // → [0, 0, 1]
 * const t = tensor([-1, 2]);
 * where(greater(t, 0), t, 0); // → [0, 2]
 * ```
 */
export const greater = comparison('greater', (x, y) => x > y);
/**
 * `greaterEqual(a, b)`: 1 where a ≥ b and 0 elsewhere, elementwise with broadcasting (tensors, or a tensor and a number);
 * a constant (no derivative flows through it), e.g. the condition of `where(condition, a, b)`.
 *
 * @example
 * ```js
 * import { greaterEqual, tensor } from 'tracegrad';
 * greaterEqual(tensor([1, 2, 3]), 2); // → [0, 1, 1]
 * ```
 */
export const greaterEqual = comparison('greaterEqual', (x, y) => x >= y);
/**
 * `equal(a, b)`: 1 where a === b and 0 elsewhere, elementwise with broadcasting (tensors, or a tensor and a number);
 * a constant (no derivative flows through it), e.g. the condition of `where(condition, a, b)`.
 *
 * @example
 * ```js
 * import { equal, tensor } from 'tracegrad';
 * equal(tensor([1, 2, 3]), 2); // → [0, 1, 0]
 * ```
 */
export const equal = comparison('equal', (x, y) => x === y);

/**
 * `oneHot(indices, depth)`: rows of zeros with a 1 at each index (a constant float64 tensor [n, depth]).
 *
 * @example
 * ```js
 * import { oneHot } from 'tracegrad';
 * oneHot([2, 0], 3); // → [[0, 0, 1], [1, 0, 0]]
 * ```
 */
export function oneHot(indices: any, depth: number): Tensor {
  if (!Number.isInteger(depth) || depth < 1) throw new TracegradError(`tracegrad: oneHot needs a positive integer depth, got ${depth}.`);
  const idx = indexList(indices, 'oneHot', depth);
  const out = new Float64Array(idx.length * depth);
  idx.forEach((j, i) => (out[i * depth + j] = 1));
  return new Tensor(out, [idx.length, depth]);
}

// ---- convolutions: patches as columns (a linear map and its adjoint), then a batched matmul ----

interface Patches { kh: number; kw: number; stride: number; pad: number; oh: number; ow: number; shape: number[] }
const im2colPrim: Prim = {
  name: 'im2col',
  forward: ([x], q: Patches) => K.im2col(x, q.kh, q.kw, q.stride, q.pad, q.oh, q.ow),
  back: (g, _xs, _y, _n, q: Patches) => [apply(col2imPrim, [g], q)],
  jvp: ([t], _xs, _y, q) => (t === undefined ? undefined : apply(im2colPrim, [t], q)),
};
const col2imPrim: Prim = {
  name: 'col2im',
  forward: ([c], q: Patches) => K.col2im(c, q.shape, q.kh, q.kw, q.stride, q.pad, q.oh, q.ow),
  back: (g, _xs, _y, _n, q: Patches) => [apply(im2colPrim, [g], q)],
  jvp: ([t], _xs, _y, q) => (t === undefined ? undefined : apply(col2imPrim, [t], q)),
};

/**
 * `conv2d(x, w, { stride = 1, padding = 0 }?)`: x [n, c, h, w] (or [c, h, w]) with filters w [f, c, kh, kw] →
 * [n, f, oh, ow], oh = ⌊(h + 2·padding − kh)/stride⌋ + 1 (cross-correlation, as in deep-learning libraries).
 *
 * @example
 * ```js
 * import { conv2d, tensor, zeros } from 'tracegrad';
 * // a 2×2 filter adding each pixel to its lower-right neighbour
 * const image = tensor([[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]); // [c = 1, h = 3, w = 3]
 * conv2d(image, tensor([[[[1, 0], [0, 1]]]])); // → [[[6, 8], [12, 14]]]
 * conv2d(zeros([2, 3, 32, 32]), zeros([8, 3, 3, 3]), { padding: 1 }).shape; // → [2, 8, 32, 32]
 * conv2d(zeros([1, 1, 5, 5]), zeros([1, 1, 3, 3]), { stride: 2 }).shape; // → [1, 1, 2, 2]
 * ```
 */
export function conv2d(x: any, w: any, options: { stride?: number; padding?: number } = {}): any {
  let xs = tensorArg(x, 'conv2d');
  const ws = tensorArg(w, 'conv2d');
  const single = xs.length === 3;
  if (single) (x = reshape(x, [1, ...xs])), (xs = [1, ...xs]);
  if (xs.length !== 4 || ws.length !== 4) throw new TracegradError(`tracegrad: conv2d takes x [n, c, h, w] and w [f, c, kh, kw], got [${xs}] and [${ws}].`);
  const stride = options.stride ?? 1, pad = options.padding ?? 0;
  if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(pad) || pad < 0) throw new TracegradError('tracegrad: conv2d: stride is a positive integer and padding a non-negative one.');
  const [n, c, h, wd] = xs, [f, c2, kh, kw] = ws;
  if (c !== c2) throw new TracegradError(`tracegrad: conv2d: x has ${c} channels, the filters ${c2}.`);
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1, ow = Math.floor((wd + 2 * pad - kw) / stride) + 1;
  if (oh < 1 || ow < 1) throw new TracegradError(`tracegrad: conv2d: a ${kh}×${kw} filter does not fit a ${h}×${wd} image with padding ${pad}.`);
  const cols = apply(im2colPrim, [x], { kh, kw, stride, pad, oh, ow, shape: [n, c, h, wd] });
  const y = reshape(mm(reshape(w, [f, c * kh * kw]), cols, false, false), [n, f, oh, ow]);
  return single ? reshape(y, [f, oh, ow]) : y;
}

/**
 * `conv1d(x, w, options?)`: x [n, c, l] (or [c, l]) with filters w [f, c, k] → [n, f, ol]: conv2d with height 1.
 *
 * @example
 * ```js
 * import { conv1d, tensor } from 'tracegrad';
 * // the difference filter [1, −1] over one channel: x[i] − x[i + 1]
 * const x = tensor([[1, 2, 4, 7]]), w = tensor([[[1, -1]]]);
 * conv1d(x, w); // → [[-1, -2, -3]]
 * conv1d(x, w, { padding: 1 }); // → [[-1, -1, -2, -3, 7]]
 * ```
 */
export function conv1d(x: any, w: any, options: { stride?: number; padding?: number } = {}): any {
  const xs = tensorArg(x, 'conv1d'), ws = tensorArg(w, 'conv1d');
  if (ws.length !== 3 || (xs.length !== 2 && xs.length !== 3)) throw new TracegradError(`tracegrad: conv1d takes x [n, c, l] and w [f, c, k], got [${xs}] and [${ws}].`);
  const x4 = reshape(x, xs.length === 2 ? [1, xs[0], 1, xs[1]] : [xs[0], xs[1], 1, xs[2]]);
  const pad = options.padding ?? 0;
  // height 1: pad only along the length (pad a 1-high image by 0 rows, then trim what conv2d's padding adds)
  const y = conv2d(pad === 0 ? x4 : concatZeros(x4, pad), reshape(w, [ws[0], ws[1], 1, ws[2]]), { stride: options.stride, padding: 0 });
  const ys = shapeOf(y)!;
  return reshape(y, xs.length === 2 ? [ys[1], ys[3]] : [ys[0], ys[1], ys[3]]);
}
/** x [n, c, 1, l] with `pad` zeros on both ends of l. */
function concatZeros(x: any, pad: number): any {
  const s = shapeOf(x)!;
  const z = new Tensor(dtypeOf(x) === 'float32' ? new Float32Array(s[0] * s[1] * pad) : new Float64Array(s[0] * s[1] * pad), [s[0], s[1], 1, pad]);
  return concat([z, x, z], 3);
}

/**
 * `prod(t, axis?)`: the product of all elements (a number) or along an axis. Its gradient is the product of the
 * others, exactly (prefix and suffix products, so a zero entry is handled); where a slice has no zero that is y/x,
 * written in differentiable operations, and second derivatives go through it there.
 *
 * @example
 * ```js
 * import { prod, tensor, gradient, traced } from 'tracegrad';
 * prod(tensor([1, 2, 3, 4])); // → 24
 * prod(tensor([[1, 2], [3, 4]]), 1); // → [2, 12]
 * // ∂/∂t_i is the product of the others, also where one of them is 0
 * gradient(traced((t) => prod(t), { prod }), tensor([2, 0, 5])); // → [[0, 10, 0]]
 * ```
 */
export function prod(t: any, axis?: number): any {
  const shape = tensorArg(t, 'prod');
  const v: Tensor = primal(t);
  if (axis === undefined) return prod(reshape(t, [v.size]), 0);
  const a = axisOf(axis, shape.length, 'prod');
  const moved = a === shape.length - 1 ? t : transpose(t, [...shape.keys()].filter((i) => i !== a).concat(a));
  const mv: Tensor = primal(moved);
  const len = shape[a], rows = mv.size / (len || 1);
  const others = new Float64Array(mv.size);
  let hasZero = false;
  for (let r = 0; r < rows; r++) {
    let pre = 1;
    for (let i = 0; i < len; i++) (others[r * len + i] = pre), (pre *= mv.data[r * len + i]);
    let suf = 1;
    for (let i = len - 1; i >= 0; i--) (others[r * len + i] *= suf), (suf *= mv.data[r * len + i]);
    for (let i = 0; i < len; i++) if (mv.data[r * len + i] === 0) hasZero = true;
  }
  // without zeros the gradient is y/x in overloaded operations (differentiable again); with one, the exact products
  return apply(prodPrim, [moved], { others: hasZero ? new Tensor(others, mv.shape) : null });
}
/** Product along the last axis; back: g · (product of the others), from `others` when given (zeros), else y/x. */
const prodPrim: Prim = {
  name: 'prod',
  forward: ([x]) => {
    const len = x.shape[x.shape.length - 1], rows = x.size / (len || 1);
    const out = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let p = 1;
      for (let i = 0; i < len; i++) p *= x.data[r * len + i];
      out[r] = p;
    }
    return x.shape.length === 1 ? out[0] : new Tensor(out, x.shape.slice(0, -1));
  },
  back: (g, [x], y, _n, { others }) => {
    const s = shapeOf(x)!;
    const gy = s.length === 1 ? g : reshape(g, [...s.slice(0, -1), 1]);
    if (others !== null) return [O.mul(gy, others)];
    const yy = s.length === 1 ? y : reshape(y, [...s.slice(0, -1), 1]);
    return [O.mul(gy, O.div(yy, x))];
  },
  jvp: ([t], [x], y, { others }) => {
    if (t === undefined) return undefined;
    const s = shapeOf(x)!;
    const w = others !== null ? O.mul(t, others) : O.mul(t, O.div(s.length === 1 ? y : reshape(y, [...s.slice(0, -1), 1]), x));
    return sum(w, s.length - 1);
  },
};

/**
 * `argmax(t, axis?)` and `argmin`: the index of the largest (smallest) entry, the first on a tie; over all elements (a
 * number, the row-major position) or along an axis (a tensor of indices without that axis). Constants: no gradient.
 *
 * @example
 * ```js
 * import { argmax, tensor } from 'tracegrad';
 * argmax(tensor([3, 9, 2])); // → 1
 * argmax(tensor([[1, 5], [7, 2]])); // → 2
 * argmax(tensor([[1, 5], [7, 2]]), 1); // → [1, 0]
 * argmax(tensor([4, 4, 1])); // → 0
 * ```
 */
export function argmax(t: any, axis?: number): any {
  return argExtreme(t, axis, 'argmax', (x, best) => x > best);
}
/**
 * `argmin(t, axis?)`: the index of the smallest entry, as argmax.
 *
 * @example
 * ```js
 * import { argmin, tensor } from 'tracegrad';
 * argmin(tensor([3, 9, 2])); // → 2
 * argmin(tensor([[1, 5], [7, 2]]), 0); // → [0, 1]
 * ```
 */
export function argmin(t: any, axis?: number): any {
  return argExtreme(t, axis, 'argmin', (x, best) => x < best);
}
function argExtreme(t: any, axis: number | undefined, fname: string, better: (x: number, best: number) => boolean): any {
  const shape = tensorArg(t, fname);
  const v: Tensor = primal(t);
  const pick = (get: (i: number) => number, n: number) => {
    let best = 0;
    for (let i = 1; i < n; i++) {
      const x = get(i), b = get(best);
      if (b !== b) break; // NaN wins, as in NumPy
      if (x !== x || better(x, b)) best = i;
    }
    return best;
  };
  if (axis === undefined) return pick((i) => v.data[i], v.size);
  const a = axisOf(axis, shape.length, fname);
  const len = shape[a], after = shape.slice(a + 1).reduce((p, d) => p * d, 1), before = v.size / (len * after || 1);
  const out = new Float64Array(before * after);
  for (let b = 0; b < before; b++)
    for (let k = 0; k < after; k++) out[b * after + k] = pick((i) => v.data[(b * len + i) * after + k], len);
  return new Tensor(out, shape.filter((_d, i) => i !== a));
}
