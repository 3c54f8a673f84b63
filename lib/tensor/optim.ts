// Optimizers that update a model (any structure of tensors and numbers: objects, arrays, Maps, class instances, models made by withParams/dense/chain) in place from a gradient of the same structure.
import { primal } from '../trace/tracked';
import { MODULE } from '../trace/containers';
import { TracegradError } from '../errors';
import { Tensor, isTensor } from './tensor';

/** Per-parameter state: for a tensor, kept by the tensor; for a number, by its container and key. */
class State<S> {
  private byTensor = new WeakMap<Tensor, S>();
  private byPlace = new WeakMap<object, Map<any, S>>();
  get(holder: object, key: any, p: any, make: () => S): S {
    if (isTensor(p)) {
      let s = this.byTensor.get(p);
      if (s === undefined) this.byTensor.set(p, (s = make()));
      return s;
    }
    let m = this.byPlace.get(holder);
    if (m === undefined) this.byPlace.set(holder, (m = new Map()));
    let s = m.get(key);
    if (s === undefined) m.set(key, (s = make()));
    return s;
  }
}

/**
 * Walk a model and its gradient together; `update(p, g, holder, key)` returns the new value for a number (tensors are
 * changed in place and return nothing). A null gradient leaves its part alone.
 */
function visit(model: any, grad: any, update: (p: any, g: any, holder: object, key: any) => any, path = 'model'): void {
  if (grad === null || grad === undefined) return;
  const step = (holder: any, key: any, read: () => any, write: (v: any) => void, g: any, where: string) => {
    const p = read();
    if (g === null || g === undefined) return;
    if (typeof p === 'number') {
      if (typeof g !== 'number') throw new TracegradError(`tracegrad: optimizer: the gradient at ${where} is not a number (the parameter is).`);
      write(update(p, g, holder, key));
    } else if (isTensor(p)) {
      if (!isTensor(g) || g.size !== p.size) throw new TracegradError(`tracegrad: optimizer: the gradient at ${where} is not a tensor of the parameter's shape [${p.shape}].`);
      update(p, g, holder, key);
    } else visit(p, g, update, where);
  };
  if (Array.isArray(model)) model.forEach((_v, i) => step(model, i, () => model[i], (v) => (model[i] = v), grad[i], `${path}[${i}]`));
  else if (model instanceof Map) for (const k of model.keys()) step(model, k, () => model.get(k), (v) => model.set(k, v), grad instanceof Map ? grad.get(k) : undefined, `${path}.get(${String(k)})`);
  else if (model !== null && (typeof model === 'object' || (typeof model === 'function' && model[MODULE] === true)))
    for (const k of Object.keys(model)) step(model, k, () => model[k], (v) => (model[k] = v), grad[k], `${path}.${k}`);
}

export interface Optimizer {
  /** One update of `model` in place from `grad` (its gradient, same structure); returns the model. */
  step<M>(model: M, grad: any): M;
}

/**
 * `sgd({ lr, momentum? })`: p ← p − lr·v with v ← momentum·v + g (plain gradient descent when momentum is 0).
 *
 * @example
 * ```js
 * import { sgd, gradient } from 'tracegrad';
 * const params = { w: 4 };
 * const opt = sgd({ lr: 0.25 });
 * // on w², each step is w ← w − 0.25·2w = w/2
 * for (let i = 0; i < 3; i++) opt.step(params, gradient((p) => p.w ** 2, params)[0]);
 * params.w; // → 0.5
 * ```
 */
export function sgd(options: { lr: number; momentum?: number }): Optimizer {
  const lr = checkRate(options?.lr, 'sgd'), mu = options.momentum ?? 0;
  const state = new State<{ v: any }>();
  return {
    step(model, grad) {
      visit(model, grad, (p, g, holder, key) => {
        if (mu === 0) return descend(p, g, lr);
        const s = state.get(holder, key, p, () => ({ v: isTensor(p) ? new Float64Array(p.size) : 0 }));
        if (isTensor(p)) {
          const v = s.v as Float64Array, d = p.data, gd = primal(g).data;
          for (let i = 0; i < d.length; i++) (v[i] = mu * v[i] + gd[i]), (d[i] -= lr * v[i]);
          return;
        }
        s.v = mu * s.v + g;
        return p - lr * s.v;
      });
      return model;
    },
  };
}

/**
 * `adam({ lr?, beta1?, beta2?, eps? })`: Adam (Kingma & Ba) with bias correction; defaults 1e-3, 0.9, 0.999, 1e-8.
 *
 * @example
 * ```js
 * import { adam, gradient } from 'tracegrad';
 * const params = { w: 1 };
 * const opt = adam({ lr: 0.1 });
 * // Adam's first step is lr·g/(|g| + eps) with bias correction: about lr·sign(g) = 0.1
 * opt.step(params, gradient((p) => p.w ** 2, params)[0]);
 * params.w; // ≈ 0.90000000
 * ```
 */
export function adam(options: { lr?: number; beta1?: number; beta2?: number; eps?: number } = {}): Optimizer {
  const lr = checkRate(options.lr ?? 1e-3, 'adam'), b1 = options.beta1 ?? 0.9, b2 = options.beta2 ?? 0.999, eps = options.eps ?? 1e-8;
  const state = new State<{ m: any; v: any; t: number }>();
  return {
    step(model, grad) {
      visit(model, grad, (p, g, holder, key) => {
        const s = state.get(holder, key, p, () => (isTensor(p) ? { m: new Float64Array(p.size), v: new Float64Array(p.size), t: 0 } : { m: 0, v: 0, t: 0 }));
        s.t++;
        const c1 = 1 - b1 ** s.t, c2 = 1 - b2 ** s.t;
        const one = (x: number, gi: number, m: number, v: number): [number, number, number] => {
          m = b1 * m + (1 - b1) * gi;
          v = b2 * v + (1 - b2) * gi * gi;
          return [x - (lr * (m / c1)) / (Math.sqrt(v / c2) + eps), m, v];
        };
        if (isTensor(p)) {
          const d = p.data, gd = primal(g).data;
          for (let i = 0; i < d.length; i++) [d[i], s.m[i], s.v[i]] = one(d[i], gd[i], s.m[i], s.v[i]);
          return;
        }
        const [x, m, v] = one(p, g, s.m, s.v);
        s.m = m;
        s.v = v;
        return x;
      });
      return model;
    },
  };
}

function descend(p: any, g: any, lr: number): any {
  if (!isTensor(p)) return p - lr * g;
  const d = p.data, gd = primal(g).data;
  for (let i = 0; i < d.length; i++) d[i] -= lr * gd[i];
}
function checkRate(lr: any, name: string): number {
  if (typeof lr !== 'number' || !(lr > 0)) throw new TracegradError(`tracegrad: ${name} needs a positive learning rate lr, got ${String(lr)}.`);
  return lr;
}
