// The 'native' backend: lib/tensor/kernels.ts's interface on the SIMD addon in native/, with the JS kernels for the rest and for small arrays.
import * as path from 'path';
import * as fs from 'fs';
import * as JS from './kernels';
import { Tensor, allocate, sizeOf, type Data, type DType } from './tensor';
import { unaryRules, binaryRules } from '../rules/scalar';
import type { Kernels } from './backend';

/** What native/src/binding.cc exports. */
export interface Addon {
  gemm(a: Data, b: Data, c: Data, m: number, n: number, k: number, rsa: number, csa: number, rsb: number, csb: number, offsets?: Float64Array): void;
  unary(op: number, x: Data, y: Data): void;
  binary(op: number, a: Data | number, b: Data | number, y: Data, outer: number, inner: number, aso: number, asi: number, bso: number, bsi: number): void;
  sum(x: Data, y: Data, outer: number, mid: number, inner: number): void;
  transpose(x: Data, y: Data, batch: number, rows: number, cols: number): void;
  /** Runs a fused elementwise program into `out` (the layout is in binding.cc and kernels.h). */
  fused(prog: Int32Array, consts: Float64Array, out: Data, ...leaves: Data[]): void;
  isa(): string;
  isas(): string[];
  setIsa(name: string): boolean;
  /** The threads GEMMs, transcendental maps and fused programs use (the caller included), after setting it to n. */
  threads(n?: number): number;
  unaryOps: string[];
  binaryOps: string[];
}

/** The kernels, plus the addon's ISA controls (for tests and benchmarks). */
export type NativeKernels = Kernels & {
  addon: Addon;
  /** The ISA build in use ('avx512', 'avx2', 'sse2'; 'generic' off x86-64). */
  isa(): string;
  /** The builds this CPU runs, best first. */
  isas(): string[];
  /** Switch builds; false where this CPU lacks `name`. TRACEGRAD_NATIVE_ISA chooses at load the same way. */
  setIsa(name: string): boolean;
  /**
   * A fused elementwise expression (lib/tensor/fuse.ts's nodes) evaluated by one native call into a new array of
   * `shape`, or undefined where it has an op the addon does not compute (then the JS fused loop runs).
   */
  fused(root: FusedNode, shape: readonly number[], dtype: DType): Data | undefined;
};

/** An expression as lib/tensor/fuse.ts builds it: tensors, numbers, and ops (rounded to float32 where f32). */
export type FusedNode =
  | { k: 'leaf'; t: Tensor }
  | { k: 'num'; v: number }
  | { k: 'op'; name: string; f: (...xs: number[]) => number; args: FusedNode[]; f32: boolean };

/*
 * Sizes below which an op stays in JS. A native call costs ~90 ns for unary (N-API with two typed arrays), ~190 ns
 * for binary (ten arguments) on top of allocating the result and the Tensor, which the JS kernels pay too; the JS
 * kernels' own per-call work (closures, shape checks, scratch arrays) is larger for zip, sumTo and matmul. Measured
 * with lib/tensor/kernels.ts of this tree (Intel Xeon, AVX-512, Node 20, float64, best of 7, other jobs running),
 * ns per call as JS / native:
 *   map Math.exp, n elements:  n=8: 156/446   n=16: 349/475   n=32: 545/533   n=64: 720/545
 *   zip a + b, same shape:     n=32: 602/644  n=64: 555/737   n=128: 1047/680  n=256: 955/762
 *   sumTo a row of n to [1,1]: n=8: 653/479   n=16: 427/362   n=64: 574/490    n=256: 1091/458
 *   matmul m=n=k:              2: 1998/854    4: 1292/848     8: 1782/1046
 * (a second run: exp n=32: 918/1061, n=64: 1309/1127; add n=64: 998/1109, n=128: 1220/1087; matmul 2: 725/834, 3: 1838/806).
 */
const MAP_MIN = 48;
const ZIP_MIN = 128;
const SUM_MIN = 16;
const GEMM_MIN = 8;  // m·n·k
/** A 512×512 float64 transpose: 2.5–4 ms in JS (strided reads), 1.2 ms natively (0.2 the tiled copy, the rest first touches of the new array). */
const TRANSPOSE_MIN = 256;

/*
 * Ops the addon computes, by the function prims.ts passes (the rule table's f, which for Math functions is Math.f).
 * exp, expm1, log, sin, cos, sinh, cosh and tanh are fdlibm's algorithms (the ones V8's Math uses) on vectors, the
 * same operations in the same order: equal to Math.f to the bit on Node 20 (sin and cos past |x| = 2^19·π/2 call
 * glibc: within 1 ulp). The other transcendental ones call glibc, within 2 ulp of V8 (measured ≤ 1 on random
 * inputs); cbrt and log10 stay in JS (glibc's differ from V8's by up to 3 and 2 ulp). Arithmetic, sqrt and rounding
 * are exact. float32 data is computed in double and rounded, as the JS kernel does. Tolerances the tests hold:
 * 1 ulp (float64) for the fdlibm ones, 2 ulp for glibc's, 0 for the exact ones, 1 float ulp for float32.
 */
const NATIVE_UNARY = ['neg', 'pos', 'abs', 'sign', 'floor', 'ceil', 'round', 'trunc', 'fround', 'sqrt', 'exp', 'expm1', 'log', 'log1p',
  'log2', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'];
const NATIVE_BINARY = ['add', 'sub', 'mul', 'div', 'mod', 'pow', 'atan2'];

const ADDON = path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'tracegrad_native.node');

/**
 * `loadNative()`: the native kernels, or a string saying why not (not built, switched off with TRACEGRAD_NATIVE=off,
 * or the addon refuses to load, e.g. when TRACEGRAD_NATIVE_ISA names an ISA this CPU lacks).
 */
export function loadNative(): NativeKernels | string {
  return (loaded ??= load());
}
let loaded: NativeKernels | string | undefined;

function load(): NativeKernels | string {
  // as if it were not built: for running everything on the JS kernels alone (CI checks that the suite passes so)
  if (process.env.TRACEGRAD_NATIVE === 'off') return 'the native addon is switched off (TRACEGRAD_NATIVE=off)';
  if (!fs.existsSync(ADDON)) return `the native addon is not built (no ${path.relative(process.cwd(), ADDON) || ADDON}); \`node native/build.mjs\` builds it where a C++ compiler and Node headers exist`;
  let addon: Addon;
  try {
    addon = require(ADDON);
  } catch (e: any) {
    return `the native addon does not load: ${e?.message ?? e}`;
  }
  return nativeKernels(addon);
}

/** The Kernels interface over `addon`. */
export function nativeKernels(addon: Addon): NativeKernels {
  const unaryCode = new Map<Function, number>();
  for (const name of NATIVE_UNARY) {
    const rule = (unaryRules as any)[name], code = addon.unaryOps.indexOf(name);
    if (rule && code >= 0) unaryCode.set(rule.f, code);
    if (code >= 0 && typeof (Math as any)[name] === 'function') unaryCode.set((Math as any)[name], code);
  }
  const binaryCode = new Map<Function, number>();
  for (const name of NATIVE_BINARY) {
    const rule = (binaryRules as any)[name], code = addon.binaryOps.indexOf(name);
    if (rule && code >= 0) binaryCode.set(rule.f, code);
  }
  // Math.max and Math.min are what prims.ts's elementwise maximum and minimum pass (JS semantics: NaN wins, +0 > −0)
  for (const name of ['max', 'min', 'pow', 'atan2'] as const) binaryCode.set(Math[name], addon.binaryOps.indexOf(name));

  function map(x: Tensor, f: (v: number) => number): Tensor {
    const code = unaryCode.get(f);
    if (code === undefined || x.size < MAP_MIN) return JS.map(x, f);
    const out = allocate(x.dtype, x.size);
    addon.unary(code, x.data, out);
    return new Tensor(out, x.shape);
  }

  function zip(a: Tensor | number, b: Tensor | number, f: (x: number, y: number) => number): Tensor {
    const code = binaryCode.get(f);
    if (code === undefined) return JS.zip(a, b, f);
    if (typeof a === 'number' || typeof b === 'number') {
      const t = (typeof a === 'number' ? b : a) as Tensor;
      if (typeof t === 'number' || t.size < ZIP_MIN) return JS.zip(a, b, f);
      const out = allocate(t.dtype, t.size);
      const [ai, bi] = typeof a === 'number' ? [0, 1] : [1, 0];
      addon.binary(code, typeof a === 'number' ? a : a.data, typeof b === 'number' ? b : b.data, out, 1, t.size, 0, ai, 0, bi);
      return new Tensor(out, t.shape);
    }
    const shape = JS.sameShape(a.shape, b.shape) ? a.shape : JS.broadcastShapes(a.shape, b.shape);
    const n = sizeOf(shape);
    if (n < ZIP_MIN) return JS.zip(a, b, f);
    const grid = twoAxes(shape, [JS.stridesIn(a.shape, shape), JS.stridesIn(b.shape, shape)]);
    if (grid === null) return JS.zip(a, b, f);
    const dtype: DType = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
    const out = allocate(dtype, n);
    const [outer, inner, [aso, asi], [bso, bsi]] = grid;
    addon.binary(code, JS.astype(a, dtype).data, JS.astype(b, dtype).data, out, outer, inner, aso, asi, bso, bsi);
    return new Tensor(out, shape);
  }

  function sumTo(x: Tensor, shape: readonly number[]): Tensor {
    if (JS.sameShape(x.shape, shape) || x.size < SUM_MIN) return JS.sumTo(x, shape);
    // x's axes (size-1 ones dropped) as runs kept or summed; each summed run is one outer × mid × inner pass
    const strides = JS.stridesIn(shape, x.shape);
    const runs: { size: number; kept: boolean }[] = [];
    x.shape.forEach((d, i) => {
      if (d === 1) return;
      const kept = strides[i] !== 0, last = runs[runs.length - 1];
      if (last && last.kept === kept) last.size *= d;
      else runs.push({ size: d, kept });
    });
    if (runs.every((r) => r.kept)) return JS.sumTo(x, shape);
    let data = x.data;
    for (let r = runs.length - 1; r >= 0; r--) {
      if (runs[r].kept) continue;
      let outer = 1, inner = 1;
      for (let i = 0; i < r; i++) outer *= runs[i].size;
      for (let i = r + 1; i < runs.length; i++) inner *= runs[i].size;
      const out = allocate(x.dtype, outer * inner);
      addon.sum(data, out, outer, runs[r].size, inner);
      data = out;
      runs.splice(r, 1);
    }
    return new Tensor(data, shape);
  }

  function matmul(a: Tensor, b: Tensor, ta = false, tb = false): Tensor {
    const ra = a.shape.length, rb = b.shape.length;
    if (ra < 2 || rb < 2) return JS.matmul(a, b, ta, tb);
    const [ar, ac] = [a.shape[ra - 2], a.shape[ra - 1]], [br, bc] = [b.shape[rb - 2], b.shape[rb - 1]];
    const [m, k] = ta ? [ac, ar] : [ar, ac], [k2, n] = tb ? [bc, br] : [br, bc];
    if (k !== k2 || m * n * k < GEMM_MIN) return JS.matmul(a, b, ta, tb);  // JS says what is wrong with the shapes
    const batch = JS.broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    const count = sizeOf(batch);
    const dtype: DType = a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32';
    const out = allocate(dtype, count * m * n);
    // element (i, p) of op(A) is A[i·k + p], or A[p·m + i] when A enters transposed; likewise op(B)
    const [rsa, csa] = ta ? [1, m] : [k, 1], [rsb, csb] = tb ? [1, k] : [n, 1];
    const offsets = new Float64Array(3 * count);
    const sa = JS.stridesIn(a.shape.slice(0, -2), batch), sb = JS.stridesIn(b.shape.slice(0, -2), batch);
    const index = new Array(batch.length).fill(0);
    for (let t = 0; t < count; t++) {
      let oa = 0, ob = 0;
      for (let d = 0; d < batch.length; d++) (oa += index[d] * sa[d]), (ob += index[d] * sb[d]);
      offsets[3 * t] = oa * ar * ac;
      offsets[3 * t + 1] = ob * br * bc;
      offsets[3 * t + 2] = t * m * n;
      for (let d = batch.length - 1; d >= 0 && ++index[d] === batch[d]; d--) index[d] = 0;
    }
    addon.gemm(JS.astype(a, dtype).data, JS.astype(b, dtype).data, out, m, n, k, rsa, csa, rsb, csb, offsets);
    return new Tensor(out, [...batch, m, n]);
  }

  function transpose(x: Tensor, perm: readonly number[]): Tensor {
    const t = x.size < TRANSPOSE_MIN ? null : asSwap(x.shape, perm);
    if (t === null) return JS.transpose(x, perm);
    const out = allocate(x.dtype, x.size);
    addon.transpose(x.data, out, t[0], t[1], t[2]);
    return new Tensor(out, perm.map((p) => x.shape[p]));
  }

  /*
   * The expression as a program of the addon's fused evaluator (native/src/fused.inc): post-order, each op into a
   * slot of one block, a slot freed after its value's last use (an op or tensor used twice is computed or loaded
   * once); numbers are constants the binary ops read directly. The output's axes are merged where every leaf runs
   * on contiguously or stays put across them, so same-shape leaves are one run and a bias a row or column one.
   */
  const F_LOAD = 0, F_FILL = 1, F_UNARY = 2, F_BINARY = 3, F_ROUND = 0x100, MAX_SLOTS = 32, MAX_LEAVES = 60, MAX_DIMS = 16;
  function fused(root: FusedNode, shape: readonly number[], dtype: DType): Data | undefined {
    const n = sizeOf(shape);
    if (n === 0) return allocate(dtype, 0);
    // references to each op node and each tensor (a tensor may sit in several leaf nodes)
    const refs = new Map<object, number>();
    const keyOf = (x: FusedNode): object | null => (x.k === 'op' ? x : x.k === 'leaf' ? x.t : null);
    let ok = true;
    const count = (x: FusedNode): void => {
      const key = keyOf(x);
      if (key === null) return;
      const r = (refs.get(key) ?? 0) + 1;
      refs.set(key, r);
      if (r === 1 && x.k === 'op') {
        const table = x.args.length === 1 ? unaryCode : x.args.length === 2 ? binaryCode : null;
        if (table === null || !table.has(x.f)) ok = false;
        else x.args.forEach(count);
      }
    };
    count(root);
    if (!ok) return undefined;
    const leaves: Tensor[] = [], consts: number[] = [], code: number[] = [];
    const free: number[] = [];
    let nslots = 0;
    const slotOf = new Map<object, number>(), left = new Map<object, number>();
    const take = () => (free.length > 0 ? free.pop()! : nslots++);
    const constant = (v: number) => -1 - (consts.push(v) - 1);
    // a slot (≥ 0) or a constant reference (< 0) for x's value
    const emit = (x: FusedNode): number => {
      if (x.k === 'num') return constant(x.v);
      const key = keyOf(x)!;
      const known = slotOf.get(key);
      if (known !== undefined) return known;
      let dst: number;
      if (x.k === 'leaf') {
        dst = take();
        code.push(F_LOAD, dst, leaves.push(x.t) - 1, 0, 0);
      } else {
        let a = emit(x.args[0]);
        if (a < 0 && (x.args.length === 1 || x.args[1].k === 'num')) {  // an op of numbers alone: the first one in a slot
          const s = take();
          code.push(F_FILL, s, -1 - a, 0, 0);
          a = s;
        }
        const b = x.args.length === 2 ? emit(x.args[1]) : 0;
        dst = take();
        const round = x.f32 ? F_ROUND : 0;
        if (x.args.length === 1) code.push(F_UNARY, dst, a, 0, unaryCode.get(x.f)! | round);
        else code.push(F_BINARY, dst, a, b, binaryCode.get(x.f)! | round);
        // operands whose last use this was free their slots (after dst is taken: a unary op must not overwrite its input)
        if (a >= 0) release(x.args[0], a);
        if (x.args.length === 2 && b >= 0 && x.args[1].k !== 'num') release(x.args[1], b);
      }
      slotOf.set(key, dst);
      left.set(key, refs.get(key)!);
      return dst;
    };
    const release = (x: FusedNode, slot: number) => {
      const key = keyOf(x);
      if (key === null) return free.push(slot);  // a filled number
      const r = left.get(key)! - 1;
      left.set(key, r);
      if (r === 0) free.push(slot), slotOf.delete(key);
    };
    const result = emit(root);
    if (result < 0 || nslots > MAX_SLOTS || leaves.length > MAX_LEAVES) return undefined;
    // merge axes (size-1 axes dropped) where every leaf's strides let two axes be read as one
    const strides = leaves.map((t) => JS.stridesIn(t.shape, shape));
    const dims: number[] = [], st: number[][] = strides.map(() => []);
    shape.forEach((d, i) => {
      if (d === 1) return;
      const j = dims.length - 1;
      if (j >= 0 && strides.every((s, k) => st[k][j] === s[i] * d)) {
        dims[j] *= d;
        strides.forEach((s, k) => (st[k][j] = s[i]));
      } else {
        dims.push(d);
        strides.forEach((s, k) => st[k].push(s[i]));
      }
    });
    if (dims.length === 0) dims.push(1), st.forEach((s) => s.push(0));
    if (dims.length > MAX_DIMS) return undefined;
    const prog = new Int32Array(5 + dims.length * (1 + leaves.length) + code.length);
    prog.set([code.length / 5, nslots, result, dims.length, leaves.length], 0);
    prog.set(dims, 5);
    st.forEach((s, k) => prog.set(s, 5 + dims.length * (1 + k)));
    prog.set(code, 5 + dims.length * (1 + leaves.length));
    const out = allocate(dtype, n);
    addon.fused(prog, Float64Array.from(consts), out, ...leaves.map((t) => t.data));
    return out;
  }

  return {
    ...JS,
    map, zip, sumTo, matmul, transpose, fused,
    addon,
    isa: () => addon.isa(),
    isas: () => addon.isas(),
    setIsa: (name: string) => addon.setIsa(name),
  };
}

/**
 * `shape` with per-operand strides (0 where broadcast) as an outer × inner grid, merging adjacent axes where every
 * operand either runs on contiguously or stays put across them; null when more than two axes remain. Each operand
 * comes back as its (outer, inner) strides, the inner one 0 or 1.
 */
function twoAxes(shape: readonly number[], strides: number[][]): [number, number, ...[number, number][]] | null {
  const dims: number[] = [], st: number[][] = strides.map(() => []);
  shape.forEach((d, i) => {
    if (d === 1) return;
    const j = dims.length - 1;
    if (j >= 0 && strides.every((s, k) => (st[k][j] === 0 && s[i] === 0) || (s[i] !== 0 && st[k][j] === s[i] * d))) {
      dims[j] *= d;
      strides.forEach((s, k) => (st[k][j] = s[i]));
    } else {
      dims.push(d);
      strides.forEach((s, k) => st[k].push(s[i]));
    }
  });
  while (dims.length < 2) dims.unshift(1), st.forEach((s) => s.unshift(0));
  if (dims.length > 2 || st.some((s) => s[1] > 1)) return null;
  return [dims[0], dims[1], ...st.map((s) => [s[0], s[1]] as [number, number])];
}

/**
 * A permutation of `shape` as a swap of two blocks after a leading batch block: [batch, rows, cols] → [batch, cols,
 * rows] (axes of size 1 dropped, axes that stay adjacent and in order merged), or null when it is not one.
 */
function asSwap(shape: readonly number[], perm: readonly number[]): [number, number, number] | null {
  const axes = perm.filter((p) => shape[p] !== 1);
  const runs: { first: number; size: number }[] = [];  // in output order
  axes.forEach((p, i) => {
    if (i > 0 && p === axes[i - 1] + 1) runs[runs.length - 1].size *= shape[p];
    else runs.push({ first: p, size: shape[p] });
  });
  const [a, b, c] = runs;
  if (runs.length === 2 && a.first > b.first) return [1, b.size, a.size];
  if (runs.length === 3 && a.first < c.first && c.first < b.first) return [a.size, c.size, b.size];
  return null;
}
