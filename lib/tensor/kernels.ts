// The JS reference kernels: elementwise maps with NumPy broadcasting, reductions to a shape, transpose and (batched) matmul.
import { Tensor, allocate, sizeOf, type DType, type Data } from './tensor';
import { TracegradError } from '../errors';

/** The shape two shapes broadcast to (NumPy rules: align right, a 1 stretches), or a clear error. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1, db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new TracegradError(`tracegrad: shapes [${a}] and [${b}] do not broadcast (axis ${i} of the result: ${da} vs ${db}); reshape one of them or use matmul for a matrix product.`);
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Row-major strides of `shape` read as `target` (aligned right): 0 along axes it is broadcast over. */
export function stridesIn(shape: readonly number[], target: readonly number[]): number[] {
  const out = new Array(target.length).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const j = target.length - shape.length + i;
    out[j] = shape[i] === 1 && target[j] !== 1 ? 0 : s;
    s *= shape[i];
  }
  return out;
}

/**
 * Visit every index of `shape` row by row: `row(offsets, n, inner)` gets, per operand, the offset of the row's first
 * element (from that operand's strides), the row length, and each operand's stride along the last axis.
 */
export function rows(shape: readonly number[], strides: number[][], row: (offsets: number[], n: number, inner: number[]) => void): void {
  const r = shape.length;
  if (sizeOf(shape) === 0) return;
  if (r === 0) return row(strides.map(() => 0), 1, strides.map(() => 0));
  const n = shape[r - 1], inner = strides.map((s) => s[r - 1]);
  const index = new Array(r - 1).fill(0);
  const offsets = strides.map(() => 0);
  for (;;) {
    row(offsets, n, inner);
    let d = r - 2;
    for (; d >= 0; d--) {
      index[d]++;
      for (let k = 0; k < strides.length; k++) offsets[k] += strides[k][d];
      if (index[d] < shape[d]) break;
      for (let k = 0; k < strides.length; k++) offsets[k] -= strides[k][d] * shape[d];
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

const dtypeOf = (...xs: (Tensor | number)[]): DType => (xs.some((x) => x instanceof Tensor && x.dtype === 'float64') ? 'float64' : 'float32');

/** f applied to each element. */
export function map(x: Tensor, f: (v: number) => number): Tensor {
  const d = x.data, out = allocate(x.dtype, d.length);
  for (let i = 0; i < d.length; i++) out[i] = f(d[i]);
  return new Tensor(out, x.shape);
}

/** f of corresponding elements, broadcast (a number stands for a tensor of any shape). */
export function zip(a: Tensor | number, b: Tensor | number, f: (x: number, y: number) => number): Tensor {
  const dtype = dtypeOf(a, b);
  if (typeof a === 'number') {
    const B = b as Tensor, d = B.data, out = allocate(dtype, d.length);
    for (let i = 0; i < d.length; i++) out[i] = f(a, d[i]);
    return new Tensor(out, B.shape);
  }
  if (typeof b === 'number') {
    const d = a.data, out = allocate(dtype, d.length);
    for (let i = 0; i < d.length; i++) out[i] = f(d[i], b);
    return new Tensor(out, a.shape);
  }
  const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape);
  const out = allocate(dtype, sizeOf(shape));
  const da = a.data, db = b.data;
  if (sameShape(a.shape, b.shape)) {
    for (let i = 0; i < out.length; i++) out[i] = f(da[i], db[i]);
    return new Tensor(out, shape);
  }
  let o = 0;
  rows(shape, [stridesIn(a.shape, shape), stridesIn(b.shape, shape)], ([oa, ob], n, [sa, sb]) => {
    for (let i = 0; i < n; i++) out[o++] = f(da[oa + i * sa], db[ob + i * sb]);
  });
  return new Tensor(out, shape);
}

export const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** x summed down to `shape` (which broadcasts to x's shape): the adjoint of broadcasting. */
export function sumTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const out = allocate(x.dtype, sizeOf(shape));
  const d = x.data;
  let i = 0;
  rows(x.shape, [stridesIn(shape, x.shape)], ([o], n, [s]) => {
    for (let k = 0; k < n; k++) out[o + k * s] += d[i++];
  });
  return new Tensor(out, shape);
}

/** x repeated along broadcast axes to `shape`. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(x.shape, shape)) return x;
  broadcastShapes(x.shape, shape); // the error, if it does not
  const out = allocate(x.dtype, sizeOf(shape));
  const d = x.data;
  let i = 0;
  rows(shape, [stridesIn(x.shape, shape)], ([o], n, [s]) => {
    for (let k = 0; k < n; k++) out[i++] = d[o + k * s];
  });
  return new Tensor(out, shape);
}

/** Axes permuted: result axis i is x's axis perm[i]. */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((p) => x.shape[p]);
  const own = stridesIn(x.shape, x.shape);
  const strides = perm.map((p) => own[p]);
  const out = allocate(x.dtype, x.size);
  const d = x.data;
  let i = 0;
  rows(shape, [strides], ([o], n, [s]) => {
    for (let k = 0; k < n; k++) out[i++] = d[o + k * s];
  });
  return new Tensor(out, shape);
}

/**
 * Matrix product of the last two axes, batched over the others with broadcasting: op(a) · op(b) with op the
 * identity or (ta, tb) the transpose of the last two axes: [..., m, k] × [..., k, n] → [..., m, n]. (Vectors are
 * handled by the caller, as NumPy does: reshaped to a row or column and back.) Each output element is the dot
 * product Σₚ aᵢₚ·bₚⱼ summed in order of p from 0, in doubles (rounded once into a float32 result).
 */
export function matmul(a: Tensor, b: Tensor, ta = false, tb = false): Tensor {
  const ra = a.shape.length, rb = b.shape.length;
  const [ar, ac] = [a.shape[ra - 2], a.shape[ra - 1]], [br, bc] = [b.shape[rb - 2], b.shape[rb - 1]];
  const [m, k] = ta ? [ac, ar] : [ar, ac], [k2, n] = tb ? [bc, br] : [br, bc];
  if (k !== k2) throw new TracegradError(`tracegrad: matmul of shapes [${a.shape}]${ta ? 'ᵀ' : ''} and [${b.shape}]${tb ? 'ᵀ' : ''}: the inner dimensions ${k} and ${k2} differ.`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = allocate(dtypeOf(a, b), sizeOf(batch) * m * n);
  const sa = stridesIn(a.shape.slice(0, -2), batch), sb = stridesIn(b.shape.slice(0, -2), batch);
  // the kernel wants A as m×k rows and B as n×k rows (both read along k): transpose the blocks that are not
  const A = a.data, B = b.data;
  const rowsA = new Float64Array(m * k), rowsB = new Float64Array(n * k);
  let o = 0;
  const one = (oa: number, ob: number) => {
    if (ta) transposeBlock(A, oa, ar, ac, rowsA);
    else rowsA.set(A.subarray(oa, oa + m * k));
    if (tb) rowsB.set(B.subarray(ob, ob + n * k));
    else transposeBlock(B, ob, br, bc, rowsB);
    dotRows(rowsA, rowsB, out, o, m, n, k);
    o += m * n;
  };
  if (batch.length === 0) one(0, 0);
  else rows(batch, [sa, sb], ([oa, ob], len, [ia, ib]) => {
    for (let t = 0; t < len; t++) one((oa + t * ia) * ar * ac, (ob + t * ib) * br * bc);
  });
  return new Tensor(out, [...batch, m, n]);
}

/** The r×c block at `from` of X, transposed into `to` (c×r). */
function transposeBlock(X: Data, from: number, r: number, c: number, to: Float64Array): void {
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) to[j * r + i] = X[from + i * c + j];
}

/**
 * C[o + i·n + j] = Σₚ A[i·k + p]·B[j·k + p]: dot products of rows, two rows of A by two rows of B at a time, so four
 * products share four loads (V8 keeps the four sums in registers).
 */
function dotRows(A: Float64Array, B: Float64Array, C: Data, o: number, m: number, n: number, k: number): void {
  let i = 0;
  for (; i + 1 < m; i += 2) {
    const a0 = i * k, a1 = a0 + k, c0 = o + i * n, c1 = c0 + n;
    let j = 0;
    for (; j + 1 < n; j += 2) {
      const b0 = j * k, b1 = b0 + k;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p], x1 = A[a1 + p], y0 = B[b0 + p], y1 = B[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      C[c0 + j] = s00;
      C[c0 + j + 1] = s01;
      C[c1 + j] = s10;
      C[c1 + j + 1] = s11;
    }
    if (j < n) {
      const b0 = j * k;
      let s0 = 0, s1 = 0;
      for (let p = 0; p < k; p++) (s0 += A[a0 + p] * B[b0 + p]), (s1 += A[a1 + p] * B[b0 + p]);
      C[c0 + j] = s0;
      C[c1 + j] = s1;
    }
  }
  if (i < m) {
    const a0 = i * k, c0 = o + i * n;
    for (let j = 0; j < n; j++) {
      const b0 = j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += A[a0 + p] * B[b0 + p];
      C[c0 + j] = s;
    }
  }
}

/** Elements converted to another dtype (the same tensor if it already has it). */
export function astype(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  const out: Data = allocate(dtype, x.size);
  out.set(x.data);
  return new Tensor(out, x.shape);
}

/** The block of x from `begin` (per axis) with `size` (per axis). */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const out = allocate(x.dtype, sizeOf(size));
  const strides = stridesIn(x.shape, x.shape);
  const base = begin.reduce((s, b, i) => s + b * strides[i], 0);
  const d = x.data;
  let i = 0;
  rows(size, [strides], ([o], n, [s]) => {
    for (let k = 0; k < n; k++) out[i++] = d[base + o + k * s];
  });
  return new Tensor(out, size);
}

/** Zeros of `shape` with x added into the block starting at `begin` (the adjoint of slice). */
export function padInto(x: Tensor, shape: readonly number[], begin: readonly number[]): Tensor {
  const out = allocate(x.dtype, sizeOf(shape));
  const strides = stridesIn(shape, shape);
  const base = begin.reduce((s, b, i) => s + b * strides[i], 0);
  const d = x.data;
  let i = 0;
  rows(x.shape, [strides], ([o], n, [s]) => {
    for (let k = 0; k < n; k++) out[base + o + k * s] += d[i++];
  });
  return new Tensor(out, shape);
}

/** Rows `indices` of x along `axis` (indices: integers in range). */
export function gather(x: Tensor, indices: readonly number[], axis: number): Tensor {
  const before = sizeOf(x.shape.slice(0, axis)), len = x.shape[axis], after = sizeOf(x.shape.slice(axis + 1));
  const shape = [...x.shape.slice(0, axis), indices.length, ...x.shape.slice(axis + 1)];
  const out = allocate(x.dtype, sizeOf(shape));
  const d = x.data;
  for (let b = 0; b < before; b++)
    for (let j = 0; j < indices.length; j++) {
      const from = (b * len + indices[j]) * after, to = (b * indices.length + j) * after;
      for (let k = 0; k < after; k++) out[to + k] = d[from + k];
    }
  return new Tensor(out, shape);
}

/** x with `updates` added at rows `indices` along `axis` (repeated indices add up): the adjoint of gather. */
export function scatterAdd(x: Tensor, indices: readonly number[], updates: Tensor, axis: number): Tensor {
  const before = sizeOf(x.shape.slice(0, axis)), len = x.shape[axis], after = sizeOf(x.shape.slice(axis + 1));
  const out = allocate(x.dtype === 'float64' || updates.dtype === 'float64' ? 'float64' : 'float32', x.size);
  out.set(x.data);
  const u = updates.data;
  for (let b = 0; b < before; b++)
    for (let j = 0; j < indices.length; j++) {
      const to = (b * len + indices[j]) * after, from = (b * indices.length + j) * after;
      for (let k = 0; k < after; k++) out[to + k] += u[from + k];
    }
  return new Tensor(out, x.shape);
}

/**
 * Patches of x [n, c, h, w] as columns: [n, c·kh·kw, oh·ow], entry ((ci·kh + i)·kw + j, y·ow + x) = x[ci, y·s + i − p,
 * x·s + j − p] (0 outside): a convolution is then one matmul per image.
 */
export function im2col(x: Tensor, kh: number, kw: number, stride: number, pad: number, oh: number, ow: number): Tensor {
  const [n, c, h, w] = x.shape;
  const rowsPer = c * kh * kw, cols = oh * ow;
  const out = allocate(x.dtype, n * rowsPer * cols);
  const d = x.data;
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const r = ((b * c + ci) * kh + i) * kw + j;
          for (let y = 0; y < oh; y++) {
            const iy = y * stride + i - pad;
            if (iy < 0 || iy >= h) continue;
            for (let xo = 0; xo < ow; xo++) {
              const ix = xo * stride + j - pad;
              if (ix >= 0 && ix < w) out[r * cols + y * ow + xo] = d[((b * c + ci) * h + iy) * w + ix];
            }
          }
        }
  return new Tensor(out, [n, rowsPer, cols]);
}

/** The adjoint of im2col: columns added back into an image [n, c, h, w]. */
export function col2im(cols: Tensor, shape: readonly number[], kh: number, kw: number, stride: number, pad: number, oh: number, ow: number): Tensor {
  const [n, c, h, w] = shape;
  const out = allocate(cols.dtype, n * c * h * w);
  const d = cols.data, per = oh * ow;
  for (let b = 0; b < n; b++)
    for (let ci = 0; ci < c; ci++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const r = ((b * c + ci) * kh + i) * kw + j;
          for (let y = 0; y < oh; y++) {
            const iy = y * stride + i - pad;
            if (iy < 0 || iy >= h) continue;
            for (let xo = 0; xo < ow; xo++) {
              const ix = xo * stride + j - pad;
              if (ix >= 0 && ix < w) out[((b * c + ci) * h + iy) * w + ix] += d[r * per + y * ow + xo];
            }
          }
        }
  return new Tensor(out, shape);
}
