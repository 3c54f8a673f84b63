// Models as functions with their parameters as fields (the talk's closure-based dense and chain, with reachable parameters), and tensor makers.
import { O } from '../rules/registry';
import { MODULE } from '../trace/containers';
import { ensureTraced, traced } from '../rewrite/traced';
import { TracegradError } from '../errors';
import { Tensor, allocate, sizeOf, type DType } from './tensor';
import { matmul, reshape, shapeOf } from './prims';
import { mulberry32 } from '../random';

/**
 * `withParams(fn, params)`: a model: a function `(...args) => fn(params, ...args)` that carries `params` as its own
 * fields and is differentiable as a container of them. An argument `model = withParams((p, x) => p.W * x + p.b,
 * { W, b })` gets a gradient `{ W, b }` (gradient(m => loss(m(x)), model)), and optimizers update its fields in place.
 * fn gets its parameters as its first argument because JavaScript closures cannot be reached from outside; fn may be
 * plain JS: it is traced, with `scope` for its free variables (as traced(fn, scope)).
 *
 * @example
 * ```js
 * import { withParams, gradient } from 'tracegrad';
 * const line = withParams((p, x) => p.w * x + p.b, { w: 2, b: 1 });
 * line(3); // → 7
 * // loss (wx + b)² at x = 3: ∂/∂w = 2·7·3, ∂/∂b = 2·7
 * gradient((model) => model(3) ** 2, line); // → [{ w: 42, b: 14 }]
 * ```
 */
export function withParams<P extends Record<string, any>>(fn: (params: P, ...args: any[]) => any, params: P, scope?: Record<string, any>): ((...args: any[]) => any) & P {
  if (typeof fn !== 'function') throw new TracegradError('tracegrad: withParams(fn, params) needs a function (params, ...args) => value.');
  const body = scope === undefined ? ensureTraced(fn) : traced(fn, scope);
  const model: any = (...args: any[]) => body(model, ...args);
  Object.defineProperty(model, MODULE, { value: true });
  Object.assign(model, params);
  return model;
}

const mathByIdentity = new Map<Function, string>(Object.getOwnPropertyNames(Math).filter((k) => typeof (Math as any)[k] === 'function').map((k) => [(Math as any)[k], k]));
/** An activation: a name ('tanh', 'relu', 'sigmoid', 'identity'), a Math function, or a function (traced). */
function activation(a: any): (x: any) => any {
  if (a === undefined || a === null || a === 'identity') return (x) => x;
  if (a === 'relu') return (x) => (O as any).max(x, 0);
  if (a === 'sigmoid') return (x) => O.div(1, O.add(1, O.exp(O.neg(x))));
  if (typeof a === 'string') {
    if (typeof (O as any)[a] !== 'function') throw new TracegradError(`tracegrad: unknown activation ${JSON.stringify(a)}: use 'tanh', 'relu', 'sigmoid', 'identity', a Math function or your own.`);
    return (x) => (O as any)[a](x);
  }
  if (typeof a !== 'function') throw new TracegradError('tracegrad: an activation is a name or a function.');
  const name = mathByIdentity.get(a);
  if (name !== undefined) return (x) => (O as any)[name](x);
  return ensureTraced(a);
}

/**
 * `dense(W, b, σ?)`: the layer x ↦ σ(W·x + b) for a vector x (or a matrix of column vectors), as the talk writes
 * it; its fields W and b are its parameters (a model, see withParams).
 *
 * @example
 * ```js
 * import { dense, sum, tensor, gradient, traced } from 'tracegrad';
 * const layer = dense(tensor([[1, 2], [3, 4]]), tensor([1, -1]), 'relu');
 * const x = tensor([1, 1]);
 * layer(x); // → [4, 6]
 * // relu is active on both outputs: ∂ Σ y / ∂W = [x, x], ∂/∂b = [1, 1]
 * gradient(traced((l) => sum(l(x)), { sum, x }), layer); // → [{ W: [[1, 1], [1, 1]], b: [1, 1] }]
 * ```
 */
export function dense(W: any, b: any, sigma?: any): ((x: any) => any) & { W: any; b: any } {
  const act = activation(sigma);
  const layer: any = (x: any) => {
    const z = matmul(layer.W, x);
    const zs = shapeOf(z);
    // a batch of columns [out, n]: the bias [out] is added to each column
    const bias = zs !== null && zs.length === 2 && shapeOf(layer.b)?.length === 1 ? reshape(layer.b, [-1, 1]) : layer.b;
    return act(O.add(z, bias));
  };
  Object.defineProperty(layer, MODULE, { value: true });
  return Object.assign(layer, { W, b });
}

/**
 * `chain(...layers)`: x run through the layers in order; its field `layers` holds them (a model).
 *
 * @example
 * ```js
 * import { chain, dense, sum, tensor, gradient, traced } from 'tracegrad';
 * // x ↦ 3·(2x) + 1
 * const model = chain(dense(tensor([[2]]), tensor([0])), dense(tensor([[3]]), tensor([1])));
 * const x = tensor([1]);
 * model(x); // → [7]
 * gradient(traced((m) => sum(m(x)), { sum, x }), model); // → [{ layers: [{ W: [[3]], b: [3] }, { W: [[2]], b: [1] }] }]
 * ```
 */
export function chain(...layers: ((x: any) => any)[]): ((x: any) => any) & { layers: any[] } {
  const model: any = (x: any) => model.layers.reduce((h: any, l: any) => l(h), x);
  Object.defineProperty(model, MODULE, { value: true });
  return Object.assign(model, { layers });
}

// ---- makers ----

/**
 * `zeros(shape, dtype?)` and `ones(shape, dtype?)`.
 *
 * @example
 * ```js
 * import { zeros } from 'tracegrad';
 * zeros([2, 3]); // → [[0, 0, 0], [0, 0, 0]]
 * zeros([4], 'float32').dtype; // → 'float32'
 * ```
 */
export function zeros(shape: number[], dtype: DType = 'float64'): Tensor {
  return new Tensor(allocate(dtype, sizeOf(shape)), shape);
}
/**
 * `ones(shape, dtype?)`: a tensor of ones (float64 unless dtype says 'float32').
 *
 * @example
 * ```js
 * import { ones } from 'tracegrad';
 * ones([2, 2]); // → [[1, 1], [1, 1]]
 * ones([3], 'float32').dtype; // → 'float32'
 * ```
 */
export function ones(shape: number[], dtype: DType = 'float64'): Tensor {
  return new Tensor(allocate(dtype, sizeOf(shape)).fill(1), shape);
}
/**
 * `randn(shape, { seed, scale, dtype }?)`: normally distributed entries (mean 0, standard deviation `scale`, default 1),
 * from a seeded generator (default seed 1) so that runs repeat.
 *
 * @example
 * ```js
 * import { randn, mean } from 'tracegrad';
 * const w = randn([100, 50], { seed: 7, scale: 0.1 });
 * w.shape; // → [100, 50]
 * randn([3], { seed: 2 }); // → randn([3], { seed: 2 })
 * // 5,000 draws: their mean is within a few 0.1/√5000 ≈ 0.0014 of 0
 * Math.abs(mean(w)) < 0.01; // → true
 * ```
 */
export function randn(shape: number[], options: { seed?: number; scale?: number; dtype?: DType } = {}): Tensor {
  const uniform = mulberry32(options.seed ?? 1); // then Box–Muller
  const out = allocate(options.dtype ?? 'float64', sizeOf(shape));
  const scale = options.scale ?? 1;
  for (let i = 0; i < out.length; i++) out[i] = scale * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return new Tensor(out, shape);
}
