// Higher-order derivatives composed from the two modes: Hessian-vector products and Hessians (forward over reverse), Taylor coefficients.
import { gradient } from './api';
import { jvp, derivative } from './forward/api';
import { Tracked } from './trace/tracked';
import { isTypedFloat } from './trace/containers';
import { TracegradError } from './errors';
import { markTraced } from './ops';

/**
 * `hvp(f, x, v)`: the Hessian of the scalar function f at x times v, without forming the Hessian: the directional
 * derivative along v of f's gradient (forward mode over reverse mode). x is a number or an array (nested arrays
 * too); v has x's shape; the result has it too.
 */
export function hvp(f: (x: any) => any, x: any, v: any): any {
  return jvp(markTraced((u: any) => filled(gradient(f, u)[0], u)), [x], [v])[1];
}

/** A gradient with x's shape: null (nothing reached) becomes zeros, row by row in nested arrays. */
function filled(g: any, x: any): any {
  if (g === null || g === undefined) return zerosLike(x);
  if (Array.isArray(x) && Array.isArray(g)) return x.map((xi, i) => filled(g[i], xi));
  return g;
}

/**
 * `hessian(f, x)`: ∂²f/∂xᵢ∂xⱼ. A number for a number x; for an array x (nested arrays are flattened row-major, so
 * x = [[a, b], [c, d]] has variables a, b, c, d in that order) an n×n nested array, row i holding ∂²f/∂xᵢ∂xⱼ for all
 * j. Forward over reverse by default (n Hessian-vector products); `{ mode: 'reverse' }` runs reverse over reverse
 * (n gradients of gradient entries), which must agree.
 */
export function hessian(f: (x: any) => any, x: any, options: { mode?: 'forward' | 'reverse' } = {}): any {
  const mode = options.mode ?? 'forward';
  if (mode !== 'forward' && mode !== 'reverse') throw new TracegradError(`tracegrad: hessian's mode is 'forward' (forward over reverse) or 'reverse', got ${String(mode)}.`);
  if (typeof x === 'number' || x instanceof Tracked) {
    if (mode === 'reverse') return gradient(markTraced((u: any) => gradient(f, u)[0] ?? 0), x)[0] ?? 0;
    return derivative(markTraced((u: any) => gradient(f, u)[0] ?? 0), x);
  }
  const n = flatten(x).length;
  if (n === 0 || !flatten(x).every((v) => typeof v === 'number' || v instanceof Tracked))
    throw new TracegradError('tracegrad: hessian(f, x) needs x to be a number or a (nested) array of numbers; for other arguments use hvp or nest gradient.');
  const H: any[][] = Array.from({ length: n }, () => new Array(n).fill(0));
  for (let j = 0; j < n; j++) {
    // column j: forward mode along eⱼ through the gradient; reverse: the gradient of the gradient's j-th entry
    const col = mode === 'forward'
      ? flatten(hvp(f, x, unit(x, j)))
      : flatten(filled(gradient(markTraced((u: any) => flatten(filled(gradient(f, u)[0], u))[j]), x)[0], x));
    for (let i = 0; i < n; i++) H[i][j] = col[i] ?? 0;
  }
  return H;
}

/**
 * `taylor(f, x, order)`: the Taylor coefficients [f(x), f'(x), f''(x)/2!, …] up to `order` of a scalar function at a
 * number x, by nesting forward mode `order` times (the same rules, differentiated again at each level).
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
  if (Array.isArray(x) || isTypedFloat(x)) return Array.from(x as any).flatMap(flatten);
  return [x];
}

/** x's shape with 1 at flat position j and 0 elsewhere. */
function unit(x: any, j: number): any {
  let k = 0;
  const walk = (v: any): any => (Array.isArray(v) ? v.map(walk) : isTypedFloat(v) ? Array.from(v, () => (k++ === j ? 1 : 0)) : k++ === j ? 1 : 0);
  return walk(x);
}

function zerosLike(x: any): any {
  return Array.isArray(x) ? x.map(zerosLike) : isTypedFloat(x) ? Array.from(x, () => 0) : 0;
}
