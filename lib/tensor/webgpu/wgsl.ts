// WGSL sources of the WebGPU backend: float32 versions of the scalar rules with JavaScript's semantics, and the compute shaders (elementwise, strided copies, reductions, tiled matmul, gather/scatter).

/**
 * Every shader has the same bindings: 0 = `prm` (u32 parameters: sizes, shapes, strides; read-only storage, so
 * uniform for WGSL's uniformity analysis), 1 = `dst` (the result), 2 = `A` and 3 = `B` (the operands, when used).
 * Elementwise shaders run 256 invocations per workgroup on a 2-D grid (x ≤ 65535 groups): element i = x + y·(256·nx).
 */
export const WORKGROUP = 256;
/** Rank limit of the generic index arithmetic (higher ranks use the JS kernels). */
export const MAX_RANK = 8;
/** Matmul: each 16×16 workgroup computes a 64×64 output tile (4×4 per invocation), stepping k by 16. */
export const MM_TILE = 64;

/**
 * Float32 versions of lib/rules/scalar.ts's functions. WGSL's builtins are allowed large errors (sin/cos: 2^-11 absolute
 * on [-π, π]; atan: 4096 ULP; log: 2^-21 absolute on [0.5, 2]; pow: exp2(y·log2 x), undefined for x < 0), so the ones
 * that matter are written here: Cody–Waite reduction by π/2 and Cephes minimax polynomials for sin/cos/tan/atan,
 * log near 1 by the atanh series (log x = 2 atanh((x−1)/(x+1))), expm1 by its Taylor series below |x| < 1/2, fmod by
 * exact long division (each step subtracts d·2^k ≤ r < 2·d·2^k, exact by Sterbenz's lemma), pow by repeated squaring
 * for integer exponents (so negative bases work as in JavaScript). NaN and ±Infinity are runtime values: a WGSL
 * constant expression may not evaluate to them.
 */
export const PRELUDE = /* wgsl */ `
const MAXF: f32 = 3.40282346638528859812e+38;
const PI: f32 = 3.14159265358979323846;
const PIO2: f32 = 1.57079632679489661923;
const PIO4: f32 = 0.785398163397448309616;
const LN2: f32 = 0.693147180559945309417;
const INV_LN2: f32 = 1.44269504088896340736;
const INV_LN10: f32 = 0.434294481903251827651;
fn tg_nan(x: f32) -> f32 { return bitcast<f32>(0x7fc00000u | (bitcast<u32>(x) & 0u)); }
fn tg_inf(x: f32) -> f32 { return bitcast<f32>(0x7f800000u | (bitcast<u32>(x) & 0u)); }
fn tg_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn tg_signbit(x: f32) -> bool { return (bitcast<u32>(x) >> 31u) == 1u; }
fn tg_round(x: f32) -> f32 { let f = floor(x); return select(f, f + 1.0, x - f >= 0.5); }
fn tg_max(a: f32, b: f32) -> f32 { return select(max(a, b), tg_nan(a), tg_isnan(a) || tg_isnan(b)); }
fn tg_min(a: f32, b: f32) -> f32 { return select(min(a, b), tg_nan(a), tg_isnan(a) || tg_isnan(b)); }
// log(1 + t) = 2 atanh(s), s = t/(2 + t), |s| ≤ 1/3 for t in [-1/2, 1]: terms to s^19 leave < 1e-9 relative
fn tg_log1p_series(t: f32) -> f32 {
  let s = t / (2.0 + t);
  let z = s * s;
  var p: f32 = 1.0 / 19.0;
  p = p * z + 1.0 / 17.0; p = p * z + 1.0 / 15.0; p = p * z + 1.0 / 13.0; p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0; p = p * z + 1.0 / 7.0; p = p * z + 1.0 / 5.0; p = p * z + 1.0 / 3.0;
  return 2.0 * (s + s * z * p);
}
fn tg_log(x: f32) -> f32 { if (x >= 0.5 && x <= 2.0) { return tg_log1p_series(x - 1.0); } return log(x); }
fn tg_log1p(x: f32) -> f32 { if (x >= -0.5 && x <= 1.0) { return tg_log1p_series(x); } return log(1.0 + x); }
fn tg_expm1(x: f32) -> f32 {
  if (abs(x) < 0.5) {
    return x * (1.0 + x / 2.0 * (1.0 + x / 3.0 * (1.0 + x / 4.0 * (1.0 + x / 5.0 * (1.0 + x / 6.0 * (1.0 + x / 7.0 * (1.0 + x / 8.0 * (1.0 + x / 9.0))))))));
  }
  return exp(x) - 1.0;
}
// x = k·π/2 + r with |r| ≤ π/4 (π/2 split in three parts, the first two short enough that k·part is exact)
struct TgReduced { r: f32, q: u32 }
fn tg_reduce(x: f32) -> TgReduced {
  let k = round(x * 0.636619772367581343);
  let r = ((x - k * 1.5703125) - k * 4.837512969970703125e-4) - k * 7.54978995489188216e-8;
  return TgReduced(r, u32(i32(k) & 3));
}
fn tg_sinp(r: f32) -> f32 { let z = r * r; return ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r; }
fn tg_cosp(r: f32) -> f32 { let z = r * r; return ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z - 0.5 * z + 1.0; }
fn tg_sin(x: f32) -> f32 {
  let d = tg_reduce(x); let s = tg_sinp(d.r); let c = tg_cosp(d.r);
  if (d.q == 0u) { return s; } if (d.q == 1u) { return c; } if (d.q == 2u) { return -s; } return -c;
}
fn tg_cos(x: f32) -> f32 {
  let d = tg_reduce(x); let s = tg_sinp(d.r); let c = tg_cosp(d.r);
  if (d.q == 0u) { return c; } if (d.q == 1u) { return -s; } if (d.q == 2u) { return -c; } return s;
}
fn tg_tan(x: f32) -> f32 {
  let d = tg_reduce(x); let s = tg_sinp(d.r); let c = tg_cosp(d.r);
  if ((d.q & 1u) == 0u) { return s / c; } return -c / s;
}
fn tg_atan(x0: f32) -> f32 {
  var x = abs(x0);
  var y: f32 = 0.0;
  if (x > 2.414213562373095) { y = PIO2; x = -1.0 / x; }
  else if (x > 0.4142135623730950) { y = PIO4; x = (x - 1.0) / (x + 1.0); }
  let z = x * x;
  y = y + ((((8.05374449538e-2 * z - 1.38776856032e-1) * z + 1.99777106478e-1) * z - 3.33329491539e-1) * z * x + x);
  return select(y, -y, x0 < 0.0);
}
fn tg_atan2(y: f32, x: f32) -> f32 {
  if (tg_isnan(x) || tg_isnan(y)) { return tg_nan(x); }
  if (x == 0.0) {
    if (y > 0.0) { return PIO2; }
    if (y < 0.0) { return -PIO2; }
    if (tg_signbit(x)) { return select(PI, -PI, tg_signbit(y)); }
    return y;
  }
  let a = tg_atan(y / x);
  if (x > 0.0) { return a; }
  if (tg_signbit(y)) { return a - PI; }
  return a + PI;
}
fn tg_asin(x: f32) -> f32 { if (abs(x) > 1.0) { return tg_nan(x); } return tg_atan2(x, sqrt((1.0 - x) * (1.0 + x))); }
fn tg_acos(x: f32) -> f32 { if (abs(x) > 1.0) { return tg_nan(x); } return tg_atan2(sqrt((1.0 - x) * (1.0 + x)), x); }
fn tg_sinh(x: f32) -> f32 {
  let a = abs(x);
  var v: f32;
  if (a > 20.0) { v = exp(a - LN2); } else { let e = tg_expm1(a); v = 0.5 * (e + e / (e + 1.0)); }
  return select(v, -v, x < 0.0);
}
fn tg_cosh(x: f32) -> f32 { let a = abs(x); if (a > 20.0) { return exp(a - LN2); } let e = exp(a); return 0.5 * (e + 1.0 / e); }
fn tg_tanh(x: f32) -> f32 {
  let a = abs(x);
  var v: f32 = 1.0;
  if (a < 10.0) { let e = tg_expm1(2.0 * a); v = e / (e + 2.0); }
  if (tg_isnan(x)) { return x; }
  return select(v, -v, x < 0.0);
}
fn tg_asinh(x: f32) -> f32 {
  let a = abs(x);
  var v: f32;
  if (a > 1.0e4) { v = tg_log(a) + LN2; } else { v = tg_log1p(a + a * a / (1.0 + sqrt(1.0 + a * a))); }
  return select(v, -v, x < 0.0);
}
fn tg_acosh(x: f32) -> f32 {
  if (x < 1.0) { return tg_nan(x); }
  if (x > 1.0e4) { return tg_log(x) + LN2; }
  let t = x - 1.0;
  return tg_log1p(t + sqrt(2.0 * t + t * t));
}
fn tg_atanh(x: f32) -> f32 {
  let a = abs(x);
  if (a > 1.0) { return tg_nan(x); }
  if (a == 1.0) { return select(tg_inf(x), -tg_inf(x), x < 0.0); }
  let v = 0.5 * tg_log1p(2.0 * a / (1.0 - a));
  return select(v, -v, x < 0.0);
}
fn tg_cbrt(x: f32) -> f32 {
  let a = abs(x);
  if (a == 0.0 || a > MAXF || tg_isnan(x)) { return x; }
  var y = exp2(log2(a) / 3.0);
  y = y - (y - a / (y * y)) / 3.0;
  return select(y, -y, x < 0.0);
}
fn tg_fmod(a: f32, b: f32) -> f32 {
  let d = abs(b);
  var r = abs(a);
  if (d == 0.0 || tg_isnan(a) || tg_isnan(b) || r > MAXF) { return tg_nan(a); }
  if (d > MAXF || r < d) { return a; }
  for (var i = 0; i < 300 && r >= d; i++) {
    var t = ldexp(frexp(d).fract, frexp(r).exp);
    if (t > r) { t = t * 0.5; }
    r = r - t;
  }
  return select(r, -r, a < 0.0);
}
fn tg_powi(x: f32, n0: u32) -> f32 {
  var n = n0; var b = x; var r: f32 = 1.0;
  loop {
    if ((n & 1u) == 1u) { r = r * b; }
    n = n >> 1u;
    if (n == 0u) { break; }
    b = b * b;
  }
  return r;
}
fn tg_pow(x: f32, y: f32) -> f32 {
  if (y == 0.0) { return 1.0; }
  if (tg_isnan(x) || tg_isnan(y)) { return tg_nan(x); }
  if (y == trunc(y) && abs(y) <= 32.0) {
    let r = tg_powi(x, u32(abs(y)));
    return select(r, 1.0 / r, y < 0.0);
  }
  if (y == 0.5 && x >= 0.0) { return sqrt(x); }
  let a = abs(x);
  if (a == 0.0) { return select(0.0, tg_inf(x), y < 0.0); }
  let r = exp2(y * tg_log(a) * INV_LN2);
  if (x < 0.0) {
    if (y != trunc(y)) { return tg_nan(x); }
    let odd = abs(y) < 16777216.0 && fract(y * 0.5) != 0.0;
    return select(r, -r, odd);
  }
  return r;
}
`;

/** WGSL expressions of lib/rules/scalar.ts's unary functions (and Math's), in `x`. */
export const UNARY: Record<string, string> = {
  neg: '-x', pos: 'x', abs: 'abs(x)', sign: 'sign(x)', floor: 'floor(x)', ceil: 'ceil(x)', round: 'tg_round(x)',
  trunc: 'trunc(x)', fround: 'x', exp: 'exp(x)', expm1: 'tg_expm1(x)', log: 'tg_log(x)', log1p: 'tg_log1p(x)',
  log2: 'tg_log(x) * INV_LN2', log10: 'tg_log(x) * INV_LN10', sqrt: 'sqrt(x)', cbrt: 'tg_cbrt(x)', sin: 'tg_sin(x)',
  cos: 'tg_cos(x)', tan: 'tg_tan(x)', asin: 'tg_asin(x)', acos: 'tg_acos(x)', atan: 'tg_atan(x)', sinh: 'tg_sinh(x)',
  cosh: 'tg_cosh(x)', tanh: 'tg_tanh(x)', asinh: 'tg_asinh(x)', acosh: 'tg_acosh(x)', atanh: 'tg_atanh(x)',
};
/** WGSL expressions of the binary functions, in `a` and `b`. */
export const BINARY: Record<string, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b', mod: 'tg_fmod(a, b)', pow: 'tg_pow(a, b)',
  atan2: 'tg_atan2(a, b)', max: 'tg_max(a, b)', min: 'tg_min(a, b)',
};

const bindings = (inputs: number) =>
  [
    '@group(0) @binding(0) var<storage, read> prm: array<u32>;',
    '@group(0) @binding(1) var<storage, read_write> dst: array<f32>;',
    inputs >= 1 ? '@group(0) @binding(2) var<storage, read> A: array<f32>;' : '',
    inputs >= 2 ? '@group(0) @binding(3) var<storage, read> B: array<f32>;' : '',
  ].join('\n');

/** An elementwise kernel: `body` computes element i (< prm[0]) of dst. */
const elementwise = (inputs: number, body: string, prelude = false) => `${prelude ? PRELUDE : ''}
${bindings(inputs)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (i >= prm[0]) { return; }
${body}
}`;

/** dst[i] = f(A[i]); prm = [n]. */
export const mapShader = (expr: string) => elementwise(1, `  let x = A[i];\n  dst[i] = ${expr};`, true);

/**
 * dst[i] = f(a, b) in one of four layouts: 'same' (equal shapes; prm = [n]), 'ts' / 'st' (tensor and scalar, the
 * scalar's f32 bits in prm[1]; A is the tensor), 'bcast' (prm = [n, r, shape[r], strideA[r], strideB[r]], strides 0
 * along broadcast axes).
 */
export function zipShader(expr: string, layout: 'same' | 'ts' | 'st' | 'bcast'): string {
  if (layout === 'same') return elementwise(2, `  let a = A[i];\n  let b = B[i];\n  dst[i] = ${expr};`, true);
  if (layout === 'ts') return elementwise(1, `  let a = A[i];\n  let b = bitcast<f32>(prm[1]);\n  dst[i] = ${expr};`, true);
  if (layout === 'st') return elementwise(1, `  let a = bitcast<f32>(prm[1]);\n  let b = A[i];\n  dst[i] = ${expr};`, true);
  return elementwise(2, `  let r = prm[1];
  var t = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(r) - 1; d >= 0; d--) {
    let u = u32(d);
    let s = prm[2u + u];
    let c = t % s;
    t = t / s;
    ia += c * prm[2u + r + u];
    ib += c * prm[2u + 2u * r + u];
  }
  let a = A[ia];
  let b = B[ib];
  dst[i] = ${expr};`, true);
}

/** dst[i] = A[base + Σ_d c_d·stride_d] for the coordinates c of i in `shape`: broadcastTo, transpose, slice. prm = [n, r, base, shape[r], stride[r]]. */
export const copyShader = () => elementwise(1, `  let r = prm[1];
  var t = i;
  var o = prm[2];
  for (var d = i32(r) - 1; d >= 0; d--) {
    let u = u32(d);
    let s = prm[3u + u];
    o += (t % s) * prm[3u + r + u];
    t = t / s;
  }
  dst[i] = A[o];`);

/** padInto: dst[i] = A[Σ (c_d − begin_d)·stride_d] inside the block, else 0. prm = [n, r, shape[r], begin[r], size[r], strideA[r]]. */
export const padShader = () => elementwise(1, `  let r = prm[1];
  var t = i;
  var o = 0u;
  var inside = true;
  for (var d = i32(r) - 1; d >= 0; d--) {
    let u = u32(d);
    let s = prm[2u + u];
    let c = t % s;
    t = t / s;
    let b = prm[2u + r + u];
    if (c < b || c >= b + prm[2u + 2u * r + u]) { inside = false; } else { o += (c - b) * prm[2u + 3u * r + u]; }
  }
  if (inside) { dst[i] = A[o]; } else { dst[i] = 0.0; }`);

/** gather along an axis viewed as [before, len, after]: prm = [n, L, len, after, indices[L]]. */
export const gatherShader = () => elementwise(1, `  let L = prm[1];
  let len = prm[2];
  let after = prm[3];
  let k = i % after;
  let t = i / after;
  let j = t % L;
  let b = t / L;
  dst[i] = A[(b * len + prm[4u + j]) * after + k];`);

/**
 * scatterAdd: dst = A plus the rows of B (updates [before, L, after]) at their indices, repeats added in index order
 * (as the JS kernel). Each output reads the update rows aimed at it from a CSR list: prm = [n, L, len, after,
 * start[len + 1], rows[L]] (rows of output row q: rows[start[q] .. start[q+1]), ascending). No atomics needed.
 */
export const scatterShader = () => elementwise(2, `  let L = prm[1];
  let len = prm[2];
  let after = prm[3];
  let k = i % after;
  let t = i / after;
  let q = t % len;
  let b = t / len;
  var s = A[i];
  for (var p = prm[4u + q]; p < prm[5u + q]; p++) {
    let j = prm[5u + len + p];
    s += B[(b * L + j) * after + k];
  }
  dst[i] = s;`);

/**
 * sumTo. x's axes split into kept ones (the output's, row-major) and reduced ones. prm = [nOut, R, rk, rr,
 * keptShape[rk], keptStride[rk], redShape[rr], redStride[rr]] (strides in x). 'thread': one invocation per output
 * walks its R inputs with an odometer; 'group': a workgroup per output, 256 partial sums then a tree.
 */
export function sumShader(layout: 'thread' | 'group'): string {
  const base = `  let R = prm[1];
  let rk = prm[2];
  let rr = prm[3];
  let q = 4u + 2u * rk;
  var t = o;
  var base = 0u;
  for (var d = i32(rk) - 1; d >= 0; d--) {
    let u = u32(d);
    let s = prm[4u + u];
    base += (t % s) * prm[4u + rk + u];
    t = t / s;
  }`;
  if (layout === 'thread')
    return `${bindings(1)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * ${WORKGROUP}u;
  if (o >= prm[0]) { return; }
${base}
  var c: array<u32, ${MAX_RANK}>;
  var off = base;
  var acc: f32 = 0.0;
  for (var j = 0u; j < R; j++) {
    acc += A[off];
    var d = i32(rr) - 1;
    loop {
      if (d < 0) { break; }
      let u = u32(d);
      c[u] += 1u;
      off += prm[q + rr + u];
      if (c[u] < prm[q + u]) { break; }
      off -= c[u] * prm[q + rr + u];
      c[u] = 0u;
      d -= 1;
    }
  }
  dst[o] = acc;
}`;
  return `${bindings(1)}
var<workgroup> part: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
  let o = wg.x + wg.y * nwg.x;
  let live = o < prm[0];
  var acc: f32 = 0.0;
  if (live) {
${base}
    for (var j = l; j < R; j += ${WORKGROUP}u) {
      var v = j;
      var off = base;
      for (var d = i32(rr) - 1; d >= 0; d--) {
        let u = u32(d);
        let s = prm[q + u];
        off += (v % s) * prm[q + rr + u];
        v = v / s;
      }
      acc += A[off];
    }
  }
  part[l] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s = s >> 1u) {
    if (l < s) { part[l] += part[l + s]; }
    workgroupBarrier();
  }
  if (l == 0u && live) { dst[o] = part[0]; }
}`;
}

/**
 * Batched matmul op(A) · op(B), op the identity or the transpose of the last two axes: [.., m, k] × [.., k, n], batch
 * broadcast; workgroup (x, y, z) = (column tile, row tile, batch). prm = [m, n, k, ta, tb, br, batch[br],
 * strideA[br], strideB[br]] (batch strides in whole matrices). Tiles of op(A) (64×16, stored k-major) and op(B)
 * (16×64) go through workgroup memory, loaded along whichever axis is contiguous in memory; invocation (lx, ly) owns
 * rows ly + 16·r and columns lx + 16·c (r, c < 4), so neighbouring invocations read neighbouring words and store
 * coalesced.
 */
export const matmulShader = () => `${bindings(2)}
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = prm[0];
  let n = prm[1];
  let k = prm[2];
  let ta = prm[3] != 0u;
  let tb = prm[4] != 0u;
  let br = prm[5];
  var t = wg.z;
  var ao = 0u;
  var bo = 0u;
  for (var d = i32(br) - 1; d >= 0; d--) {
    let u = u32(d);
    let s = prm[6u + u];
    let c = t % s;
    t = t / s;
    ao += c * prm[6u + br + u];
    bo += c * prm[6u + 2u * br + u];
  }
  // element (i, p) of op(A) at ao + i·sai + p·sap; (p, j) of op(B) at bo + p·sbp + j·sbj
  let sai = select(k, 1u, ta);
  let sap = select(1u, m, ta);
  let sbp = select(n, 1u, tb);
  let sbj = select(1u, k, tb);
  ao = ao * m * k;
  bo = bo * k * n;
  let oo = wg.z * m * n;
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  let tid = lid.y * 16u + lid.x;
  var c0 = vec4<f32>(0.0);
  var c1 = vec4<f32>(0.0);
  var c2 = vec4<f32>(0.0);
  var c3 = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < k; k0 += 16u) {
    for (var l = 0u; l < 4u; l++) {
      let e = tid + l * 256u;
      let i = select(e / 16u, e % 64u, ta);
      let ka = select(e % 16u, e / 64u, ta);
      var va: f32 = 0.0;
      if (row0 + i < m && k0 + ka < k) { va = A[ao + (row0 + i) * sai + (k0 + ka) * sap]; }
      As[ka * 64u + i] = va;
      let kb = select(e / 64u, e % 16u, tb);
      let j = select(e % 64u, e / 16u, tb);
      var vb: f32 = 0.0;
      if (k0 + kb < k && col0 + j < n) { vb = B[bo + (k0 + kb) * sbp + (col0 + j) * sbj]; }
      Bs[kb * 64u + j] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = vec4<f32>(As[kk * 64u + lid.y], As[kk * 64u + lid.y + 16u], As[kk * 64u + lid.y + 32u], As[kk * 64u + lid.y + 48u]);
      let b = vec4<f32>(Bs[kk * 64u + lid.x], Bs[kk * 64u + lid.x + 16u], Bs[kk * 64u + lid.x + 32u], Bs[kk * 64u + lid.x + 48u]);
      c0 += a.x * b;
      c1 += a.y * b;
      c2 += a.z * b;
      c3 += a.w * b;
    }
    workgroupBarrier();
  }
  var rows = array<vec4<f32>, 4>(c0, c1, c2, c3);
  for (var r = 0u; r < 4u; r++) {
    let gi = row0 + lid.y + 16u * r;
    if (gi < m) {
      for (var c = 0u; c < 4u; c++) {
        let gj = col0 + lid.x + 16u * c;
        if (gj < n) { dst[oo + gi * n + gj] = rows[r][c]; }
      }
    }
  }
}`;
