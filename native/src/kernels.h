// The kernel table each ISA build (isa_*.cc) fills in, and the op numbering shared with binding.cc and lib/tensor/native.ts.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tg {

// Unary ops: the order is the list `unaryOps` the addon exports; native.ts maps rule names through it.
#define TG_UNARY_OPS(X) \
  X(neg) X(pos) X(abs) X(sign) X(floor) X(ceil) X(round) X(trunc) X(fround) X(sqrt) X(cbrt) \
  X(exp) X(expm1) X(log) X(log1p) X(log2) X(log10) X(sin) X(cos) X(tan) X(asin) X(acos) X(atan) \
  X(sinh) X(cosh) X(tanh) X(asinh) X(acosh) X(atanh)
#define TG_BINARY_OPS(X) X(add) X(sub) X(mul) X(div) X(max) X(min) X(mod) X(pow) X(atan2)

#define TG_ENUM(name) U_##name,
enum Unary { TG_UNARY_OPS(TG_ENUM) U_COUNT };
#undef TG_ENUM
#define TG_ENUM(name) B_##name,
enum Binary { TG_BINARY_OPS(TG_ENUM) B_COUNT };
#undef TG_ENUM

/** C (m×n, row stride ldc) = A·B, element (i, p) of A at a[i·rsa + p·csa] and (p, j) of B at b[p·rsb + j·csb]. */
template <class T> struct Gemm {
  const T* a; long rsa, csa;
  const T* b; long rsb, csb;
  T* c; long ldc;
  long m, n, k;
};

/**
 * An operand of a binary op over an outer×inner grid: element (o, i) at p[o·so + i·si]; so, si ∈ {0, 1, inner}, which
 * covers same-shape operands, scalars, rows repeated down and columns repeated across. A scalar operand has p = null
 * and its value in s (kept in double: JS computes number ∘ element in doubles, also for float32 results).
 */
template <class T> struct Operand {
  const T* p; long so, si; double s;
};

/**
 * A fused elementwise program (fused.inc; binding.cc checks it before any table sees it). The output, n elements
 * row-major over `shape` (ndim ≥ 1), is computed in blocks: each instruction is five int32s
 * {opcode, dst, a, b, op}, over slots of one block of doubles:
 *   F_LOAD  dst ← leaf a (element index = Σ coordinate·strides[a·ndim + d]; 0 strides broadcast)
 *   F_FILL  dst ← consts[a]
 *   F_UNARY dst ← unary op (op & 0xff) of slot a
 *   F_BINARY dst ← binary op (op & 0xff) of a and b, each a slot (≥ 0) or a constant consts[−1 − ref]
 * and with F_ROUND set in op the result is rounded to float32. The value of slot `result` is stored to `out`.
 * Unary and binary ops use the op numbering below and the same per-element code as the unfused kernels.
 */
enum FusedOp { F_LOAD, F_FILL, F_UNARY, F_BINARY };
constexpr int F_ROUND = 0x100;
constexpr int F_MAX_DIMS = 16, F_MAX_SLOTS = 32, F_MAX_LEAVES = 60;
struct Program {
  const int32_t* code; long ninstr;
  int nslots, result;
  const double* consts;
  int ndim; const long* shape;
  int nleaves; const void* const* leaf; const bool* leaf_f32; const long* strides;  // nleaves × ndim
  void* out; bool out_f32; long n;
};

struct Table {
  const char* name;
  /** false when the packing buffers cannot be allocated (C is then left as it was). */
  bool (*gemm_d)(const Gemm<double>&);
  bool (*gemm_f)(const Gemm<float>&);
  void (*unary_d)(int op, const double* x, double* y, long n);
  void (*unary_f)(int op, const float* x, float* y, long n);
  void (*binary_d)(int op, const Operand<double>& a, const Operand<double>& b, double* y, long outer, long inner);
  void (*binary_f)(int op, const Operand<float>& a, const Operand<float>& b, float* y, long outer, long inner);
  /** y[o, j] = Σₘ x[o, m, j] (x is outer×mid×inner, y outer×inner). */
  void (*sum_d)(const double* x, double* y, long outer, long mid, long inner);
  void (*sum_f)(const float* x, float* y, long outer, long mid, long inner);
  /** y[b, j, i] = x[b, i, j] (x is batch×rows×cols). */
  void (*transpose_d)(const double* x, double* y, long batch, long rows, long cols);
  void (*transpose_f)(const float* x, float* y, long batch, long rows, long cols);
  /** Runs output elements [from, to) of a fused elementwise program (see Program); from is a multiple of 256. */
  void (*fused)(const Program& p, long from, long to);
  /** The GEMM micro-tile (rows, columns) of each dtype: binding.cc splits C between threads along whole tiles. */
  int tile_d[2], tile_f[2];
};

/** The builds in this binary, best first; each is null where the CPU or the compiler target lacks it. */
const Table* table_avx512();
const Table* table_avx2();
const Table* table_base();

/** The active table (dispatch.cc): chosen at load from the CPU and TRACEGRAD_NATIVE_ISA. */
const Table& active();
/** Makes the build called `name` active; false where this CPU or binary lacks it. */
bool set_isa(const char* name);
/** Names of the builds this CPU runs, best first, and the reason the environment's choice failed (or null). */
int supported_isas(const char** names, int max);
const char* load_error();

}  // namespace tg
