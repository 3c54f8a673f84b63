// Higher-order derivatives composed from the two modes: Hessian-vector products and Hessians (reverse over forward, or forward over reverse), Taylor coefficients.
import { gradient } from './api';
import { jvp, derivative } from './forward/api';
import { Tracked, primal } from './trace/tracked';
import { isTypedFloat } from './trace/containers';
import { TracegradError } from './errors';
import { markTraced } from './ops';
import { ensureTraced } from './rewrite/traced';
import { compiledHvpFor } from './jit/tier';

/** How a Hessian-vector product nests the two modes (both cost a small multiple of one gradient). */
export type HvpMode = 'reverse-over-forward' | 'forward-over-reverse';

/**
 * `hvp(f, x, v, { mode }?)`: the Hessian of the scalar function f at x times v, without forming the Hessian. x is a
 * number or an array (nested arrays too); v has x's shape; the result has it too (a Float64Array for a Float64Array
 * x). Two nestings give the same numbers up to rounding:
 * - `'reverse-over-forward'` (the default): the gradient of the directional derivative ⟨∇f(x), v⟩, i.e. one
 *   forward-mode pass recorded for one reverse sweep. A traced f whose source is in the compiled subset runs compiled
 *   code for it (see `tierOf(f, 'hvp')`), bit-identical to the interpreter.
 * - `'forward-over-reverse'`: the directional derivative along v of f's gradient (Pearlmutter's trick), interpreted.
 *
 * @example
 * ```js
 * import { hvp } from 'tracegrad';
 * // f(x, y) = x²y has the Hessian [[2y, 2x], [2x, 0]] = [[4, 2], [2, 0]] at (1, 2)
 * hvp(([x, y]) => x * x * y, [1, 2], [1, 0]); // → [4, 2]
 * hvp(([x, y]) => x * x * y, [1, 2], [0, 1], { mode: 'forward-over-reverse' }); // → [2, 0]
 * hvp((x) => x ** 3, 2, 1); // → 12
 * ```
 */
export function hvp(f: (x: any) => any, x: any, v: any, options: { mode?: HvpMode } = {}): any {
  const mode = options.mode ?? 'reverse-over-forward';
  const fn = ensureTraced(f);
  if (mode === 'forward-over-reverse') return jvp(markTraced((u: any) => filled(gradient(fn, u)[0], u)), [x], [v])[1];
  if (mode !== 'reverse-over-forward')
    throw new TracegradError(`tracegrad: hvp's mode is 'reverse-over-forward' (the default) or 'forward-over-reverse', got ${String(mode)}.`);
  const fast = compiledHvpFor(fn, x, v)?.([x, v]);
  // compiled: a flat gradient of numbers already (null when nothing reached)
  if (fast != null) return fast.grad[0] ?? zerosLike(x);
  const directional = markTraced((u: any) => {
    const [y, dy] = jvp(fn, [u], [v]);
    if (typeof primal(y) !== 'number')
      throw new TracegradError(`tracegrad: hvp(f, x, v) needs f to return a number, but it returned ${y === null || y === undefined ? String(y) : `a ${typeof y === 'object' ? y.constructor?.name ?? 'object' : typeof y}`}.`);
    return dy;
  });
  return filled(gradient(directional, x)[0], x);
}

/** A gradient with x's shape: null (nothing reached) becomes zeros, row by row in nested arrays. */
function filled(g: any, x: any): any {
  if (g === null || g === undefined) return zerosLike(x);
  if (Array.isArray(x) && Array.isArray(g)) return x.map((xi, i) => filled(g[i], xi));
  return g;
}

/**
 * `hessian(f, x, { mode }?)`: ∂²f/∂xᵢ∂xⱼ. A number for a number x; for an array x (nested arrays are flattened
 * row-major, so x = [[a, b], [c, d]] has variables a, b, c, d in that order) an n×n nested array, row i holding
 * ∂²f/∂xᵢ∂xⱼ for all j. Modes, which agree up to rounding:
 * - `'forward'` (the default): n Hessian-vector products along the unit vectors, forward mode for the second
 *   derivative (hvp's default nesting, reverse over forward: compiled when f is in the compiled subset);
 * - `'forward-over-reverse'`: the same products as forward mode over the gradient (interpreted);
 * - `'reverse'`: reverse over reverse, the gradient of each gradient entry.
 *
 * @example
 * ```js
 * import { hessian } from 'tracegrad';
 * hessian((x) => x ** 3, 2); // → 12
 * // f(x, y) = x²y: [[2y, 2x], [2x, 0]] at (1, 2)
 * hessian(([x, y]) => x * x * y, [1, 2]); // → [[4, 2], [2, 0]]
 * hessian(([x, y]) => x * x * y, [1, 2], { mode: 'reverse' }); // → [[4, 2], [2, 0]]
 * ```
 */
export function hessian(f: (x: any) => any, x: any, options: { mode?: 'forward' | 'forward-over-reverse' | 'reverse' } = {}): any {
  const mode = options.mode ?? 'forward';
  if (mode !== 'forward' && mode !== 'reverse' && mode !== 'forward-over-reverse')
    throw new TracegradError(`tracegrad: hessian's mode is 'forward' (the default), 'forward-over-reverse' or 'reverse', got ${String(mode)}.`);
  const fn = ensureTraced(f);
  if (typeof x === 'number' || x instanceof Tracked) {
    if (mode === 'reverse') return gradient(markTraced((u: any) => gradient(fn, u)[0] ?? 0), x)[0] ?? 0;
    if (mode === 'forward-over-reverse') return derivative(markTraced((u: any) => gradient(fn, u)[0] ?? 0), x);
    return hvp(fn, x, 1);
  }
  const entries = flatten(x);
  const n = entries.length;
  if (n === 0 || !entries.every((v) => typeof v === 'number' || v instanceof Tracked))
    throw new TracegradError('tracegrad: hessian(f, x) needs x to be a number or a (nested) array of numbers; for other arguments use hvp or nest gradient.');
  // a flat x (numbers, or a typed array): columns come back flat, no reshaping per column
  const flat = isTypedFloat(x) || x.length === n;
  const H: any[][] = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let j = 0; j < n; j++) {
    // column j: H·eⱼ; reverse: the gradient of the gradient's j-th entry (H is symmetric: row j, read as column j)
    let col: any;
    if (mode === 'reverse') col = filled(gradient(markTraced((u: any) => flatten(filled(gradient(fn, u)[0], u))[j]), x)[0], x);
    else col = hvp(fn, x, unit(x, j, flat), { mode: mode === 'forward' ? 'reverse-over-forward' : 'forward-over-reverse' });
    if (!flat) col = flatten(col);
    for (let i = 0; i < n; i++) H[i][j] = col[i] ?? 0;
  }
  return H;
}

/**
 * `taylor(f, x, order)`: the Taylor coefficients [f(x), f'(x), f''(x)/2!, …] up to `order` of a scalar function at a
 * number x, by nesting forward mode `order` times (the same rules, differentiated again at each level).
 *
 * @example
 * ```js
 * import { taylor } from 'tracegrad';
 * // exp(x) = 1 + x + x²/2 + x³/6 + …
 * taylor(Math.exp, 0, 3); // → [1, 1, 1 / 2, 1 / 6]
 * // sin(x) = x − x³/6 + …
 * taylor((x) => Math.sin(x), 0, 3); // → [0, 1, 0, -1 / 6]
 * ```
 */
export function taylor(f: (x: any) => any, x: number, order: number): number[] {
  if (typeof x !== 'number') throw new TracegradError(`tracegrad: taylor(f, x, order) needs a number x, got ${typeof x}.`);
  if (!Number.isInteger(order) || order < 0 || order > 20) throw new TracegradError('tracegrad: taylor(f, x, order) needs an integer order between 0 and 20.');
  const coefficients: number[] = [];
  let g: (u: any) => any = f;
  let factorial = 1;
  for (let k = 0; k <= order; k++) {
    if (k > 0) factorial *= k;
    const value = k === 0 ? callPlain(f, x) : g(x);
    coefficients.push(value / factorial);
    const previous = g;
    g = markTraced((u: any) => derivative(previous, u));
  }
  return coefficients;
}

function callPlain(f: (x: any) => any, x: number): number {
  const y = f(x);
  if (typeof y !== 'number') throw new TracegradError('tracegrad: taylor(f, x, order) needs f to return a number.');
  return y;
}

/** The numbers of a (nested) array, row-major. */
function flatten(x: any): any[] {
  const out: any[] = [];
  const walk = (v: any): void => {
    if (Array.isArray(v) || isTypedFloat(v)) for (let i = 0; i < (v as any).length; i++) walk((v as any)[i]);
    else out.push(v);
  };
  walk(x);
  return out;
}

/** x's shape with 1 at flat position j and 0 elsewhere (flat x: an array of its kind). */
function unit(x: any, j: number, flat: boolean): any {
  if (flat) {
    const e = isTypedFloat(x) ? new (x.constructor as any)(x.length) : new Array(x.length).fill(0);
    e[j] = 1;
    return e;
  }
  let k = 0;
  const walk = (v: any): any => (Array.isArray(v) ? v.map(walk) : isTypedFloat(v) ? Array.from(v, () => (k++ === j ? 1 : 0)) : k++ === j ? 1 : 0);
  return walk(x);
}

function zerosLike(x: any): any {
  return Array.isArray(x) ? x.map(zerosLike) : isTypedFloat(x) ? new (x.constructor as any)(x.length) : 0;
}
