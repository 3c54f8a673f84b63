// gradcheck: a function's gradient against Richardson-extrapolated finite differences, leaf by leaf, with kinks told apart from errors; forward against reverse; compiled against interpreted.
import { gradient } from '../api';
import { jvp } from '../forward/api';
import { jit, tierOf } from '../jit/tier';
import { ensureTraced } from '../rewrite/traced';
import { Tensor, isTensor } from '../tensor/tensor';
import { MODULE } from '../trace/containers';
import { TracegradError } from '../errors';
import { localizeFault, type Fault } from './localize';
import { estimate } from './differences';
import { mulberry32 } from '../random';
import { markTraced } from '../ops';
import { O } from '../rules/registry';
import { primal } from '../trace/tracked';
import { sum } from '../tensor/prims';

/** One numeric leaf of the arguments: where it is, and how to read and write it in a copy of them. */
interface Leaf {
  path: string;
  get(args: any[]): number;
  set(args: any[], v: number): void;
  /** The leaf's entry in a gradient of the arguments (0 where the gradient has nothing there). */
  grad(g: any[]): number;
}

export interface LeafReport {
  path: string;
  analytic: number;
  numeric: number;
  absError: number;
  relError: number;
  /** The finite-difference estimate's own error (Richardson): large where f is not smooth at this point. */
  numericError: number;
}

export interface GradcheckReport {
  /** Every smooth leaf within tolerance (and the forward and compiled checks, when asked, agree). */
  ok: boolean;
  maxAbsError: number;
  maxRelError: number;
  /** The leaf with the largest error relative to the tolerance (null when there are no leaves). */
  worst: LeafReport | null;
  /** Leaves outside tolerance. */
  failures: LeafReport[];
  /** Leaves where f is not smooth (one-sided slopes differ, or the difference estimates do not settle): not failures. */
  notSmooth: LeafReport[];
  /** The first finite-difference step (each leaf halves it in the Richardson tableau). */
  step: number;
  leaves: number;
  /** forward: ⟨∇f, u⟩ by jvp against the reverse gradient for a random u; compiled: compiled against interpreted, bit for bit. */
  forward?: { ok: boolean; jvp: number; reverse: number; skipped?: string };
  compiled?: { ok: boolean; tier: string; differences: string[] };
  /** Where a failure comes from: the first recorded operation whose local derivative disagrees with finite differences. */
  fault?: Fault | null;
}

export interface GradcheckOptions {
  /** Tolerance: |analytic − numeric| ≤ atol + rtol·|numeric| (defaults 1e-5 and 1e-7). */
  rtol?: number;
  atol?: number;
  /** First step, relative to max(1, |x|) (default 2⁻⁷). */
  step?: number;
  /** Also check forward mode against reverse mode (default true). */
  forward?: boolean;
  /** Also check the compiled tier against the interpreter, bit for bit (default true). */
  compiled?: boolean;
  /** Seed of the random direction of the forward check (default 1). */
  seed?: number;
}
const OPTION_KEYS = new Set(['rtol', 'atol', 'step', 'forward', 'compiled', 'seed']);
const isOptions = (x: any) => x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype &&
  Object.keys(x).length > 0 && Object.keys(x).every((k) => OPTION_KEYS.has(k));

/**
 * `gradcheck(f, ...args, options?)`: check f's gradient at args. Each numeric leaf of the arguments (numbers in
 * arrays, typed arrays, objects, class instances, Maps, Complex, Tensor elements) is perturbed alone in a copy of the
 * arguments, and ∂f/∂leaf estimated by central differences with Richardson extrapolation; a leaf whose one-sided
 * slopes disagree (abs at 0, a max tie) is reported as not smooth there rather than as a failure. The report names the
 * worst leaf by path, e.g. `args[2].W[3][1]` (a tensor element: `args[0][1, 2]`). A trailing plain object whose keys
 * are all options is the options object.
 *
 * @example
 * ```js
 * import { gradcheck, defineAdjoint, traced } from 'tracegrad';
 * gradcheck((x, y) => x * Math.sin(y), 2, 1).ok; // → true
 * // abs at 0 is a kink: reported as not smooth, not as a failure
 * gradcheck(Math.abs, 0).notSmooth.length; // → 1
 * // a wrong rule (d/dx x² is 2x, not x) is caught, and the fault names it
 * const square = (x) => x * x;
 * defineAdjoint(square, (x) => [x * x, (dy) => [dy * x]]);
 * const bad = gradcheck(traced((x) => square(x) + 1, { square }), 3);
 * [bad.ok, bad.worst.analytic, bad.fault.op]; // → [false, 3, 'adjoint of square']
 * ```
 */
export function gradcheck(f: (...args: any[]) => any, ...rest: any[]): GradcheckReport {
  const options: GradcheckOptions = rest.length > 0 && isOptions(rest[rest.length - 1]) ? rest.pop() : {};
  const args = rest;
  const rtol = options.rtol ?? 1e-5, atol = options.atol ?? 1e-7, step = options.step ?? 2 ** -7;
  const original = ensureTraced(f);
  // an array or tensor output is checked through ⟨v, f(x)⟩ for a random v: its gradient is Jᵀv, and forward mode must
  // give ⟨v, J·u⟩ = ⟨Jᵀv, u⟩
  const y0 = original(...clone(args));
  const v = typeof y0 === 'number' ? null : directionFor(y0, (options.seed ?? 1) + 1);
  const fn = v === null ? original : markTraced((...a: any[]) => dot(v, original(...a)));
  const value = (a: any[]) => {
    const y = fn(...a);
    if (typeof y !== 'number') throw new TracegradError(`tracegrad: gradcheck needs f to return a number, got ${y === null ? 'null' : typeof y}.`);
    return y;
  };
  const analytic = gradient(fn, ...clone(args));
  const leaves = leavesOf(args);
  const report: GradcheckReport = { ok: true, maxAbsError: 0, maxRelError: 0, worst: null, failures: [], notSmooth: [], step, leaves: leaves.length };
  let worstScore = -1;
  for (const leaf of leaves) {
    const x0 = leaf.get(args);
    const at = (x: number) => {
      const a = clone(args);
      leaf.set(a, x);
      try {
        return value(a);
      } finally {
        leaf.set(a, x0); // a model (a function holding its parameters) is shared, not copied: put its leaf back
      }
    };
    const h = step * Math.max(1, Math.abs(x0));
    const { value: numeric, error, kink } = estimate(at, x0, h);
    const a = leaf.grad(analytic);
    const absError = Math.abs(a - numeric), relError = absError / Math.max(Math.abs(numeric), 1e-300);
    const entry: LeafReport = { path: leaf.path, analytic: a, numeric, absError, relError, numericError: error };
    const tol = atol + rtol * Math.abs(numeric);
    if (kink || !(error <= tol)) {
      report.notSmooth.push(entry);
      continue;
    }
    report.maxAbsError = Math.max(report.maxAbsError, absError);
    report.maxRelError = Math.max(report.maxRelError, Math.abs(numeric) > atol ? relError : 0);
    const score = absError / tol;
    if (score > worstScore || Number.isNaN(score)) (worstScore = score), (report.worst = entry);
    if (!(absError <= tol)) report.failures.push(entry);
  }
  report.ok = report.failures.length === 0;
  if (!report.ok) report.fault = localizeFault(fn, clone(args), rtol, atol);
  if (options.forward ?? true) {
    // ⟨∇f, u⟩ from forward mode (one jvp) against the reverse gradient, for a random direction u
    const u = randomLike(args, options.seed ?? 1);
    const reverse = leaves.reduce((s, leaf) => s + leaf.grad(analytic) * leaf.get(u), 0);
    let dy: number;
    try {
      dy = v === null ? jvp(fn, clone(args), u)[1] : dot(v, jvp(original, clone(args), u)[1]);
    } catch (e) {
      if (!(e instanceof TracegradError)) throw e;
      dy = NaN;
      report.forward = { ok: true, jvp: NaN, reverse, skipped: e.message }; // forward mode cannot run this f
    }
    if (report.forward === undefined) {
      const ok = Math.abs(dy - reverse) <= 1e-9 * (1 + Math.abs(reverse)) * Math.max(1, leaves.length);
      report.forward = { ok, jvp: dy, reverse };
      if (!ok) report.ok = false;
    }
  }
  if (options.compiled ?? true) {
    const saved = jit.enabled;
    let interpreted: any[];
    try {
      jit.enabled = false;
      interpreted = gradient(fn, ...clone(args));
    } finally {
      jit.enabled = saved;
    }
    gradient(fn, ...clone(args)); // decide the tier
    const compiledGrad = gradient(fn, ...clone(args));
    const differences = leaves.filter((leaf) => !Object.is(leaf.grad(compiledGrad), leaf.grad(interpreted)))
      .map((leaf) => `${leaf.path}: compiled ${leaf.grad(compiledGrad)}, interpreted ${leaf.grad(interpreted)}`);
    report.compiled = { ok: differences.length === 0, tier: tierOf(fn, 'gradient'), differences };
    if (differences.length > 0) report.ok = false;
  }
  return report;
}

// ---- the arguments' numeric leaves, by path ----

const isModel = (x: any) => typeof x === 'function' && x[MODULE] === true;
const plainProto = (x: any) => {
  const p = Object.getPrototypeOf(x);
  return p === Object.prototype || p === null;
};
const isInstance = (x: any) => x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Map) && !ArrayBuffer.isView(x) && !isTensor(x) && typeof x.then !== 'function';

function leavesOf(args: any[]): Leaf[] {
  const out: Leaf[] = [];
  // each step goes one level into the copy; the gradient has the same structure (null: nothing reached)
  type Step = { read: (x: any) => any; write: (x: any, v: any) => void; text: string };
  const walk = (x: any, steps: Step[], path: string, seen: Set<any>) => {
    const at = (root: any[]) => steps.reduce((v, s) => (v === null || v === undefined ? v : s.read(v)), root as any);
    if (typeof x === 'number') {
      const last = steps[steps.length - 1], parent = (root: any[]) => steps.slice(0, -1).reduce((v, s) => s.read(v), root as any);
      out.push({ path, get: at, set: (root, v) => last.write(parent(root), v), grad: (g) => num(at(g)) });
      return;
    }
    if (x === null || (typeof x !== 'object' && !isModel(x)) || seen.has(x)) return;
    seen.add(x);
    if (isTensor(x)) {
      for (let i = 0; i < x.size; i++) {
        const idx = unravel(i, x.shape);
        out.push({
          path: `${path}[${idx.join(', ')}]`,
          get: (root) => at(root).data[i],
          set: (root, v) => void (at(root).data[i] = v),
          grad: (g) => {
            const t = at(g);
            return isTensor(t) ? t.data[i] : 0;
          },
        });
      }
      return;
    }
    if (Array.isArray(x) || ArrayBuffer.isView(x)) {
      for (let i = 0; i < (x as any).length; i++)
        walk((x as any)[i], [...steps, { read: (v) => v[i], write: (v, n) => (v[i] = n), text: `[${i}]` }], `${path}[${i}]`, seen);
      return;
    }
    if (x instanceof Map) {
      for (const k of x.keys())
        walk(x.get(k), [...steps, { read: (v) => (v instanceof Map ? v.get(k) : undefined), write: (v, n) => v.set(k, n), text: `.get(${String(k)})` }], `${path}.get(${JSON.stringify(k)})`, seen);
      return;
    }
    if (isModel(x) || isInstance(x) || plainProto(x))
      for (const k of Object.keys(x))
        walk(x[k], [...steps, { read: (v) => v[k], write: (v, n) => (v[k] = n), text: `.${k}` }], `${path}.${k}`, seen);
  };
  args.forEach((a, i) => walk(a, [{ read: (v) => v[i], write: (v, n) => (v[i] = n), text: `[${i}]` }], `args[${i}]`, new Set()));
  return out;
}
const num = (v: any) => (typeof v === 'number' ? v : 0);
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) (idx[d] = i % shape[d]), (i = Math.floor(i / shape[d]));
  return idx;
}

/** A deep copy: arrays, typed arrays, Maps, plain objects, class instances (same prototype), tensors. */
function clone(x: any, seen = new Map<any, any>(), mirrorModels = false): any {
  // a model made by withParams/dense/chain reads its parameters through itself (a closure): it cannot be copied, so it
  // is shared and its leaves are changed in place and put back; as a tangent it is mirrored by a plain object
  if (isModel(x)) {
    if (!mirrorModels) return x;
    if (seen.has(x)) return seen.get(x);
    const c: any = {};
    seen.set(x, c);
    for (const k of Object.keys(x)) c[k] = clone(x[k], seen, true);
    return c;
  }
  if (x === null || typeof x !== 'object') return x;
  if (seen.has(x)) return seen.get(x);
  if (isTensor(x)) return new Tensor(x.data.slice(), x.shape);
  if (ArrayBuffer.isView(x)) return (x as any).slice();
  if (Array.isArray(x)) {
    const c: any[] = [];
    seen.set(x, c);
    for (const v of x) c.push(clone(v, seen, mirrorModels));
    return c;
  }
  if (x instanceof Map) {
    const c = new Map();
    seen.set(x, c);
    for (const [k, v] of x) c.set(k, clone(v, seen, mirrorModels));
    return c;
  }
  const c = Object.create(Object.getPrototypeOf(x));
  seen.set(x, c);
  for (const k of Object.keys(x)) c[k] = clone(x[k], seen, mirrorModels);
  return c;
}

/** The arguments' structure with random numbers in [-1, 1) at the leaves (mulberry32, seeded). */
function randomLike(args: any[], seed: number): any[] {
  const uniform = mulberry32(seed);
  const u = clone(args, new Map(), true);
  for (const leaf of leavesOf(u)) leaf.set(u, 2 * uniform() - 1);
  return u;
}

/** A random direction shaped like an output (an array of numbers, a typed array or a tensor), or an error for others. */
function directionFor(y: any, seed: number): any {
  const ok = isTensor(primal(y)) || ((Array.isArray(y) || ArrayBuffer.isView(y)) && Array.from(y as any).every((e) => typeof primal(e) === 'number'));
  if (!ok) throw new TracegradError(`tracegrad: gradcheck needs f to return a number, an array of numbers or a tensor, got ${y === null ? 'null' : typeof y}.`);
  return randomLike([primal(y)], seed)[0];
}
/** ⟨v, y⟩ in overloaded operations (y may be tracked): a number. */
function dot(v: any, y: any): any {
  if (isTensor(v)) return sum(O.mul(y, v));
  let s: any = 0;
  for (let i = 0; i < v.length; i++) s = O.add(s, O.mul(v[i], y[i]));
  return s;
}
