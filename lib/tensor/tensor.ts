// The Tensor type: a dense row-major array of float64 or float32 numbers with a shape (any rank; rank 0 is a scalar).
import { TracegradError } from '../errors';

export type DType = 'float64' | 'float32';
export type Data = Float64Array | Float32Array;
/** Elements kept by a backend on its device: `read()` copies them to the host (once: see Tensor.data). */
export interface DeviceStorage {
  readonly dtype: DType;
  readonly length: number;
  read(): Data;
}

/**
 * A Tensor holds its elements row-major in `data` (a Float64Array or Float32Array, which fixes `dtype`) and its
 * `shape`. Tensors are values: operations make new ones (reshape shares the data, as a view). Inside traced code
 * the operators `+ - * / ** %`, unary minus and `Math.f` work elementwise with NumPy broadcasting, and mix with
 * plain numbers; matrix products are `matmul(a, b)` (or `a.matmul(b)`).
 *
 * @example
 * ```js
 * import { Tensor } from 'tracegrad';
 * const t = new Tensor(new Float64Array([1, 2, 3, 4]), [2, 2]);
 * [t.shape, t.dtype, t.size, t.rank]; // → [[2, 2], 'float64', 4, 2]
 * t.toArray(); // → [[1, 2], [3, 4]]
 * t.T; // → [[1, 3], [2, 4]]
 * t.sum(1); // → [3, 7]
 * ```
 */
export class Tensor {
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  private host: Data | null;
  /**
   * Where the elements live when a backend keeps them on a device (WebGPU): read back to `data` on first use, after
   * which the host copy is the tensor's (a backend uploads it again when it needs it).
   */
  device: DeviceStorage | null;
  constructor(data: Data | DeviceStorage, shape: readonly number[]) {
    const n = sizeOf(shape);
    if (data.length !== n) throw new TracegradError(`tracegrad: a Tensor of shape [${shape}] needs ${n} elements, got ${data.length}.`);
    if (ArrayBuffer.isView(data)) (this.host = data as Data), (this.device = null);
    else (this.host = null), (this.device = data as DeviceStorage);
    this.shape = Object.freeze([...shape]);
    this.size = n;
  }
  /** The elements, row-major (read back from the device first if they are there). */
  get data(): Data {
    if (this.host === null) {
      this.host = this.device!.read();
      this.device = null;
    }
    return this.host;
  }
  get dtype(): DType {
    return this.host !== null ? (this.host instanceof Float32Array ? 'float32' : 'float64') : this.device!.dtype;
  }
  get rank(): number {
    return this.shape.length;
  }
  /** Nested arrays of numbers (a number for rank 0). */
  toArray(): any {
    const { data, shape } = this;
    if (shape.length === 0) return data[0];
    let at = 0;
    const build = (d: number): any => {
      const out = new Array(shape[d]);
      for (let i = 0; i < shape[d]; i++) out[i] = d === shape.length - 1 ? data[at++] : build(d + 1);
      return out;
    };
    return build(0);
  }
  toString(): string {
    return `Tensor(${this.dtype}, [${this.shape}]) ${JSON.stringify(this.toArray())}`;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/**
 * `isTensor(x)`: whether x is a Tensor.
 *
 * @example
 * ```js
 * import { isTensor, tensor } from 'tracegrad';
 * isTensor(tensor([1, 2])); // → true
 * isTensor([1, 2]); // → false
 * ```
 */
export const isTensor = (x: any): x is Tensor => x instanceof Tensor;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function allocate(dtype: DType, n: number): Data {
  return dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
}

/**
 * `tensor(data, { shape, dtype }?)`: a Tensor from nested arrays of numbers (the shape is read from the nesting and
 * must be rectangular), a typed array or flat array (with `shape`, default one-dimensional), or a number (rank 0).
 * dtype is 'float64' (the default, or a Float32Array's own) or 'float32'.
 *
 * @example
 * ```js
 * import { tensor } from 'tracegrad';
 * const a = tensor([[1, 2, 3], [4, 5, 6]]);
 * [a.shape, a.dtype]; // → [[2, 3], 'float64']
 * tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'float32' }); // → [[1, 2], [3, 4]]
 * tensor(new Float32Array([0.5, 1.5])).dtype; // → 'float32'
 * tensor(7).shape; // → []
 * tensor([[1, 2], [3]]); // throws TracegradError /ragged/
 * ```
 */
export function tensor(data: any, options: { shape?: number[]; dtype?: DType } = {}): Tensor {
  const dtype = options.dtype ?? (data instanceof Float32Array ? 'float32' : 'float64');
  if (dtype !== 'float64' && dtype !== 'float32') throw new TracegradError(`tracegrad: tensor dtype is 'float64' or 'float32', got ${String(dtype)}.`);
  if (data instanceof Tensor) return new Tensor(copyAs(data.data, dtype), options.shape ?? data.shape);
  let flat: ArrayLike<number>;
  let shape: number[];
  if (typeof data === 'number') (flat = [data]), (shape = []);
  else if (ArrayBuffer.isView(data)) (flat = data as any), (shape = options.shape ?? [(data as any).length]);
  else if (Array.isArray(data)) {
    shape = nestedShape(data);
    flat = shape.length <= 1 ? data : (data as any[]).flat(shape.length - 1);
    if (options.shape !== undefined) {
      if (sizeOf(options.shape) !== flat.length) throw new TracegradError(`tracegrad: tensor: shape [${options.shape}] needs ${sizeOf(options.shape)} elements, the data has ${flat.length}.`);
      shape = options.shape;
    }
  } else throw new TracegradError(`tracegrad: tensor(data) takes nested arrays of numbers, a typed array or a number; got ${data === null ? 'null' : typeof data}.`);
  for (let i = 0; i < flat.length; i++)
    if (typeof flat[i] !== 'number') throw new TracegradError(`tracegrad: tensor data must be numbers; element ${i} is ${typeof flat[i]}.`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new TracegradError(`tracegrad: a tensor shape holds non-negative integers, got [${shape}].`);
  if (sizeOf(shape) !== flat.length) throw new TracegradError(`tracegrad: tensor: shape [${shape}] needs ${sizeOf(shape)} elements, the data has ${flat.length}.`);
  const out = allocate(dtype, flat.length);
  for (let i = 0; i < flat.length; i++) out[i] = flat[i];
  return new Tensor(out, shape);
}

function copyAs(d: Data, dtype: DType): Data {
  const out = allocate(dtype, d.length);
  out.set(d);
  return out;
}

/** The shape of rectangular nested arrays, or an error naming the first ragged place. */
function nestedShape(x: any[]): number[] {
  const shape: number[] = [];
  for (let v: any = x; Array.isArray(v); v = v[0]) shape.push(v.length);
  const check = (v: any, d: number, path: string) => {
    if (d === shape.length) {
      if (Array.isArray(v)) throw new TracegradError(`tracegrad: tensor: ragged nested arrays at ${path}.`);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) throw new TracegradError(`tracegrad: tensor: ragged nested arrays at ${path} (expected ${shape[d]} entries).`);
    v.forEach((u, i) => check(u, d + 1, `${path}[${i}]`));
  };
  check(x, 0, 'data');
  return shape;
}
