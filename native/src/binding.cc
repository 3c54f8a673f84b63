// N-API glue: checks the arguments lib/tensor/native.ts passes (typed arrays, sizes, strides) and calls the active kernel table.
#include <node_api.h>
#include <cstdint>
#include <cstring>
#include <atomic>
#include <vector>
#include "kernels.h"
#include "pool.h"

namespace {

using tg::Operand;

struct Arr {
  napi_typedarray_type type = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
};

#define TG_FAIL(msg) (napi_throw_type_error(env, nullptr, "tracegrad native: " msg), nullptr)
#define TG_ARGS(least, most)                                                   \
  size_t argc = most;                                                          \
  napi_value argv[most];                                                       \
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || \
      argc < least)                                                            \
    return TG_FAIL("too few arguments");

bool is_float_array(napi_env env, napi_value v, Arr& a) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &a.type, &a.length, &a.data, &buffer, &offset) != napi_ok) return false;
  return a.type == napi_float64_array || a.type == napi_float32_array;
}

bool get_long(napi_env env, napi_value v, long& out) {
  int64_t x;
  if (napi_get_value_int64(env, v, &x) != napi_ok) return false;
  out = (long)x;
  return true;
}

/** The largest index an m×n block with strides (rs, cs) from `offset` touches fits in `length` (strides ≥ 0). */
bool fits(long offset, long m, long n, long rs, long cs, size_t length) {
  if (m <= 0 || n <= 0) return offset >= 0;
  if (offset < 0 || rs < 0 || cs < 0) return false;
  return (unsigned long)(offset + (m - 1) * rs + (n - 1) * cs) < length;
}

napi_value string(napi_env env, const char* s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

/** Multiply-adds below which a GEMM task is not worth a thread's wake-up (a few µs): tasks are at least this big. */
constexpr long GEMM_TASK_MIN = 1L << 18;

template <class T> struct GemmTasks {
  bool (*kernel)(const tg::Gemm<T>&);
  std::vector<tg::Gemm<T>> parts;
  std::atomic<bool> failed{false};
};

/**
 * The batches of a GEMM as tasks for parallel_for: each batch entry whole, or, when there are fewer entries than
 * threads, C cut into bands of whole micro-tiles along n (when n ≥ m: each band packs its own part of B and all of the
 * smaller A) or along m. Every element of C is still summed over k in the same order, so the result does not depend on
 * the cut or the thread count (tested bit for bit).
 */
template <class T>
bool gemm_batches(bool (*kernel)(const tg::Gemm<T>&), const int tile[2], const T* a, const T* b, T* c, long m, long n, long k,
                  long rsa, long csa, long rsb, long csb, const double* offsets, size_t batches) {
  GemmTasks<T> job;
  job.kernel = kernel;
  const long threads = tg::pool_threads(), work = m * n * k;
  long cuts = batches >= (size_t)threads ? 1 : (threads + (long)batches - 1) / (long)batches;
  if (work / GEMM_TASK_MIN < cuts) cuts = work / GEMM_TASK_MIN > 1 ? work / GEMM_TASK_MIN : 1;
  const bool along_n = n >= m;
  const long size = along_n ? n : m, unit = along_n ? tile[1] : tile[0], units = (size + unit - 1) / unit;
  if (cuts > units) cuts = units;
  for (size_t t = 0; t < batches; t++) {
    const long oa = (long)offsets[3 * t], ob = (long)offsets[3 * t + 1], oc = (long)offsets[3 * t + 2];
    for (long p = 0; p < cuts; p++) {
      long from = units * p / cuts * unit, to = units * (p + 1) / cuts * unit;
      if (to > size) to = size;
      if (along_n) job.parts.push_back({a + oa, rsa, csa, b + ob + from * csb, rsb, csb, c + oc + from, n, m, to - from, k});
      else job.parts.push_back({a + oa + from * rsa, rsa, csa, b + ob, rsb, csb, c + oc + from * n, n, to - from, n, k});
    }
  }
  tg::parallel_for((long)job.parts.size(), [](void* context, long task) {
    auto& j = *(GemmTasks<T>*)context;
    if (!j.kernel(j.parts[task])) j.failed = true;
  }, &job);
  return !job.failed;
}

/** gemm(A, B, C, m, n, k, rsa, csa, rsb, csb, offsets?): C[oc + i·n + j] = Σₚ A[oa + i·rsa + p·csa]·B[ob + p·rsb + j·csb]
 *  for each (oa, ob, oc) triple of the Float64Array `offsets` (one batch at 0, 0, 0 when it is absent). */
napi_value Gemm(napi_env env, napi_callback_info info) {
  TG_ARGS(10, 11);
  Arr A, B, C;
  long m, n, k, rsa, csa, rsb, csb;
  if (!is_float_array(env, argv[0], A) || !is_float_array(env, argv[1], B) || !is_float_array(env, argv[2], C))
    return TG_FAIL("gemm: A, B and C must be Float64Arrays or Float32Arrays");
  if (A.type != C.type || B.type != C.type) return TG_FAIL("gemm: A, B and C must have one dtype");
  if (!get_long(env, argv[3], m) || !get_long(env, argv[4], n) || !get_long(env, argv[5], k) || !get_long(env, argv[6], rsa) ||
      !get_long(env, argv[7], csa) || !get_long(env, argv[8], rsb) || !get_long(env, argv[9], csb))
    return TG_FAIL("gemm: sizes and strides must be integers");
  if (m < 0 || n < 0 || k < 0) return TG_FAIL("gemm: negative size");
  Arr O;
  const double zero[3] = {0, 0, 0};
  const double* offsets = zero;
  size_t batches = 1;
  if (argc > 10) {
    napi_valuetype t;
    napi_typeof(env, argv[10], &t);
    if (t != napi_undefined && t != napi_null) {
      if (!is_float_array(env, argv[10], O) || O.type != napi_float64_array || O.length % 3 != 0)
        return TG_FAIL("gemm: offsets must be a Float64Array of (a, b, c) triples");
      offsets = (const double*)O.data;
      batches = O.length / 3;
    }
  }
  for (size_t t = 0; t < batches; t++)
    if (!fits((long)offsets[3 * t], m, k, rsa, csa, A.length) || !fits((long)offsets[3 * t + 1], k, n, rsb, csb, B.length) ||
        !fits((long)offsets[3 * t + 2], m, n, n, 1, C.length))
      return TG_FAIL("gemm: a block lies outside its array");
  const tg::Table& K = tg::active();
  const bool ok = C.type == napi_float64_array
    ? gemm_batches<double>(K.gemm_d, K.tile_d, (const double*)A.data, (const double*)B.data, (double*)C.data, m, n, k, rsa, csa, rsb, csb, offsets, batches)
    : gemm_batches<float>(K.gemm_f, K.tile_f, (const float*)A.data, (const float*)B.data, (float*)C.data, m, n, k, rsa, csa, rsb, csb, offsets, batches);
  if (!ok) return (napi_throw_error(env, nullptr, "tracegrad native: gemm: out of memory for packing buffers"), nullptr);
  return nullptr;
}

/** Elements below which a transcendental map is not cut into tasks for the pool. */
constexpr long UNARY_TASK_MIN = 2048;
struct UnaryTasks {
  const tg::Table* K;
  int op;
  bool f64;
  const void* x;
  void* y;
  long n, chunks;
};

/** unary(op, x, y): y = op(x) elementwise; x and y of one dtype and length. */
napi_value Unary(napi_env env, napi_callback_info info) {
  TG_ARGS(3, 3);
  long op;
  Arr X, Y;
  if (!get_long(env, argv[0], op) || op < 0 || op >= tg::U_COUNT) return TG_FAIL("unary: unknown op");
  if (!is_float_array(env, argv[1], X) || !is_float_array(env, argv[2], Y) || X.type != Y.type || X.length != Y.length)
    return TG_FAIL("unary: x and y must be float arrays of one dtype and length");
  const tg::Table& K = tg::active();
  // the transcendental ops cost 2–6 ns an element (fdlibm's, or glibc's): large arrays are cut into chunks for the pool
  // (each element is computed alone, so the result does not depend on the cut)
  const bool cheap = op <= tg::U_sqrt;
  const long n = (long)X.length, chunks = cheap || n < 2 * UNARY_TASK_MIN ? 1 : n / UNARY_TASK_MIN;
  UnaryTasks job{&K, (int)op, X.type == napi_float64_array, X.data, Y.data, n, chunks < tg::pool_threads() ? chunks : tg::pool_threads()};
  tg::parallel_for(job.chunks, [](void* context, long task) {
    const UnaryTasks& j = *(const UnaryTasks*)context;
    const long from = j.n * task / j.chunks / 64 * 64, to = task + 1 == j.chunks ? j.n : j.n * (task + 1) / j.chunks / 64 * 64;
    if (j.f64) j.K->unary_d(j.op, (const double*)j.x + from, (double*)j.y + from, to - from);
    else j.K->unary_f(j.op, (const float*)j.x + from, (float*)j.y + from, to - from);
  }, &job);
  return nullptr;
}

/** An operand of binary(): a typed array of y's dtype read with strides (so, si), or a number. */
template <class T>
bool operand(napi_env env, napi_value v, napi_typedarray_type type, long so, long si, long outer, long inner, Operand<T>& out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    out = {nullptr, 0, 0, 0};
    return napi_get_value_double(env, v, &out.s) == napi_ok;
  }
  Arr a;
  if (!is_float_array(env, v, a) || a.type != type || !fits(0, outer, inner, so, si, a.length)) return false;
  if ((si != 0 && si != 1) || so < 0) return false;
  out = {(const T*)a.data, so, si, 0};
  return true;
}

/** binary(op, a, b, y, outer, inner, aso, asi, bso, bsi): y[o·inner + i] = a(o, i) ∘ b(o, i). */
napi_value Binary(napi_env env, napi_callback_info info) {
  TG_ARGS(10, 10);
  long op, outer, inner, s[4];
  Arr Y;
  if (!get_long(env, argv[0], op) || op < 0 || op >= tg::B_COUNT) return TG_FAIL("binary: unknown op");
  if (!is_float_array(env, argv[3], Y)) return TG_FAIL("binary: y must be a float array");
  if (!get_long(env, argv[4], outer) || !get_long(env, argv[5], inner) || outer < 0 || inner < 0 ||
      (unsigned long)(outer * inner) != Y.length)
    return TG_FAIL("binary: y must hold outer·inner elements");
  for (int i = 0; i < 4; i++)
    if (!get_long(env, argv[6 + i], s[i])) return TG_FAIL("binary: strides must be integers");
  const tg::Table& K = tg::active();
  if (Y.type == napi_float64_array) {
    Operand<double> a, b;
    if (!operand(env, argv[1], Y.type, s[0], s[1], outer, inner, a) || !operand(env, argv[2], Y.type, s[2], s[3], outer, inner, b))
      return TG_FAIL("binary: operands must be numbers or arrays of y's dtype that the strides fit");
    K.binary_d((int)op, a, b, (double*)Y.data, outer, inner);
  } else {
    Operand<float> a, b;
    if (!operand(env, argv[1], Y.type, s[0], s[1], outer, inner, a) || !operand(env, argv[2], Y.type, s[2], s[3], outer, inner, b))
      return TG_FAIL("binary: operands must be numbers or arrays of y's dtype that the strides fit");
    K.binary_f((int)op, a, b, (float*)Y.data, outer, inner);
  }
  return nullptr;
}

/** sum(x, y, outer, mid, inner): y[o, j] = Σₘ x[o, m, j]. */
napi_value Sum(napi_env env, napi_callback_info info) {
  TG_ARGS(5, 5);
  Arr X, Y;
  long outer, mid, inner;
  if (!is_float_array(env, argv[0], X) || !is_float_array(env, argv[1], Y) || X.type != Y.type)
    return TG_FAIL("sum: x and y must be float arrays of one dtype");
  if (!get_long(env, argv[2], outer) || !get_long(env, argv[3], mid) || !get_long(env, argv[4], inner) || outer < 0 || mid < 0 ||
      inner < 0 || (unsigned long)(outer * mid * inner) != X.length || (unsigned long)(outer * inner) != Y.length)
    return TG_FAIL("sum: x must hold outer·mid·inner elements and y outer·inner");
  const tg::Table& K = tg::active();
  if (X.type == napi_float64_array) K.sum_d((const double*)X.data, (double*)Y.data, outer, mid, inner);
  else K.sum_f((const float*)X.data, (float*)Y.data, outer, mid, inner);
  return nullptr;
}

/** transpose(x, y, batch, rows, cols): y[b, j, i] = x[b, i, j]. */
napi_value Transpose(napi_env env, napi_callback_info info) {
  TG_ARGS(5, 5);
  Arr X, Y;
  long batch, rows, cols;
  if (!is_float_array(env, argv[0], X) || !is_float_array(env, argv[1], Y) || X.type != Y.type || X.length != Y.length)
    return TG_FAIL("transpose: x and y must be float arrays of one dtype and length");
  if (!get_long(env, argv[2], batch) || !get_long(env, argv[3], rows) || !get_long(env, argv[4], cols) || batch < 0 || rows < 0 ||
      cols < 0 || (unsigned long)(batch * rows * cols) != X.length)
    return TG_FAIL("transpose: x must hold batch·rows·cols elements");
  const tg::Table& K = tg::active();
  if (X.type == napi_float64_array) K.transpose_d((const double*)X.data, (double*)Y.data, batch, rows, cols);
  else K.transpose_f((const float*)X.data, (float*)Y.data, batch, rows, cols);
  return nullptr;
}

/** The fused evaluator's block (fused.inc's FB): ranges handed to threads are whole blocks. */
constexpr long FUSED_BLOCK = 256;
struct FusedTasks {
  const tg::Table* K;
  const tg::Program* P;
  long blocks, chunks;
};

/**
 * fused(prog, consts, out, ...leaves): runs a fused elementwise program (kernels.h's Program). prog is an Int32Array
 * [ninstr, nslots, result, ndim, nleaves, shape × ndim, strides × nleaves·ndim, instructions × 5·ninstr]; consts a
 * Float64Array; every index, size and stride is checked here, so a wrong program throws instead of reading outside.
 */
napi_value Fused(napi_env env, napi_callback_info info) {
  TG_ARGS(3, 3 + tg::F_MAX_LEAVES);
  Arr prog, consts, out;
  bool isint = false;
  napi_typedarray_type ptype;
  size_t plen, poff;
  void* pdata;
  napi_value pbuf;
  if (napi_is_typedarray(env, argv[0], &isint) != napi_ok || !isint ||
      napi_get_typedarray_info(env, argv[0], &ptype, &plen, &pdata, &pbuf, &poff) != napi_ok || ptype != napi_int32_array)
    return TG_FAIL("fused: prog must be an Int32Array");
  if (!is_float_array(env, argv[1], consts) || consts.type != napi_float64_array) return TG_FAIL("fused: consts must be a Float64Array");
  if (!is_float_array(env, argv[2], out)) return TG_FAIL("fused: out must be a float array");
  const int32_t* p = (const int32_t*)pdata;
  if (plen < 5) return TG_FAIL("fused: prog too short");
  const long ninstr = p[0], nslots = p[1], result = p[2], ndim = p[3], nleaves = p[4];
  if (ninstr < 1 || nslots < 1 || nslots > tg::F_MAX_SLOTS || result < 0 || result >= nslots || ndim < 1 || ndim > tg::F_MAX_DIMS ||
      nleaves < 0 || nleaves > tg::F_MAX_LEAVES || (size_t)nleaves != argc - 3 ||
      plen != (size_t)(5 + ndim + nleaves * ndim + 5 * ninstr))
    return TG_FAIL("fused: bad program header");
  long shape[tg::F_MAX_DIMS], strides[tg::F_MAX_DIMS * tg::F_MAX_LEAVES];
  long n = 1;
  for (long d = 0; d < ndim; d++) {
    shape[d] = p[5 + d];
    if (shape[d] < 1) return TG_FAIL("fused: sizes must be positive");
    n *= shape[d];
  }
  if ((size_t)n != out.length) return TG_FAIL("fused: out must hold the shape's elements");
  const void* leaf[tg::F_MAX_LEAVES];
  bool leaf_f32[tg::F_MAX_LEAVES];
  for (long k = 0; k < nleaves; k++) {
    Arr L;
    if (!is_float_array(env, argv[3 + k], L)) return TG_FAIL("fused: leaves must be float arrays");
    long last = 0;
    for (long d = 0; d < ndim; d++) {
      const long s = p[5 + ndim + k * ndim + d];
      if (s < 0) return TG_FAIL("fused: negative stride");
      strides[k * ndim + d] = s;
      last += (shape[d] - 1) * s;
    }
    if ((size_t)last >= L.length) return TG_FAIL("fused: a leaf's strides reach outside it");
    leaf[k] = L.data;
    leaf_f32[k] = L.type == napi_float32_array;
  }
  const int32_t* code = p + 5 + ndim + nleaves * ndim;
  const long nconsts = (long)consts.length;
  bool written[tg::F_MAX_SLOTS] = {};
  auto readable = [&](long ref, bool constant_ok) {
    return ref >= 0 ? ref < nslots && written[ref] : constant_ok && -1 - ref < nconsts;
  };
  for (long q = 0; q < ninstr; q++) {
    const int32_t* c = code + 5 * q;
    const long dst = c[1], a = c[2], b = c[3], op = c[4] & 0xff;
    if (dst < 0 || dst >= nslots || (c[4] & ~(0xff | tg::F_ROUND)) != 0) return TG_FAIL("fused: bad instruction");
    bool ok = false;
    switch (c[0]) {
      case tg::F_LOAD: ok = a >= 0 && a < nleaves; break;
      case tg::F_FILL: ok = a >= 0 && a < nconsts; break;
      case tg::F_UNARY: ok = op < tg::U_COUNT && a >= 0 && readable(a, false) && a != dst; break;
      case tg::F_BINARY: ok = op < tg::B_COUNT && readable(a, true) && readable(b, true); break;
    }
    if (!ok) return TG_FAIL("fused: bad instruction");
    written[dst] = true;
  }
  if (!written[result]) return TG_FAIL("fused: the result slot is never written");
  const tg::Program P = {code, ninstr, (int)nslots, (int)result, (const double*)consts.data, (int)ndim, shape,
                         (int)nleaves, leaf, leaf_f32, strides, out.data, out.type == napi_float32_array, n};
  // cut into ranges of whole blocks for the pool where the program does enough work an element (a transcendental op,
  // or a few arithmetic ones): each element is computed alone, so the result does not depend on the cut
  bool heavy = ninstr >= 6;
  for (long q = 0; q < ninstr; q++) heavy |= code[5 * q] == tg::F_UNARY && (code[5 * q + 4] & 0xff) > tg::U_sqrt;
  const long blocks = (n + FUSED_BLOCK - 1) / FUSED_BLOCK;
  long chunks = heavy && n >= 2 * UNARY_TASK_MIN ? n / UNARY_TASK_MIN : 1;
  if (chunks > tg::pool_threads()) chunks = tg::pool_threads();
  FusedTasks job{&tg::active(), &P, blocks, chunks};
  tg::parallel_for(chunks, [](void* context, long task) {
    const FusedTasks& j = *(const FusedTasks*)context;
    const long from = j.blocks * task / j.chunks * FUSED_BLOCK, to = j.blocks * (task + 1) / j.chunks * FUSED_BLOCK;
    j.K->fused(*j.P, from, to < j.P->n ? to : j.P->n);
  }, &job);
  return nullptr;
}

napi_value Isa(napi_env env, napi_callback_info) { return string(env, tg::active().name); }

napi_value Isas(napi_env env, napi_callback_info) {
  const char* names[8];
  const int n = tg::supported_isas(names, 8);
  napi_value list;
  napi_create_array_with_length(env, n, &list);
  for (int i = 0; i < n; i++) napi_set_element(env, list, i, string(env, names[i]));
  return list;
}

/** threads(n?): the threads GEMMs use (the caller included), after setting it to n when given (1 = serial). */
napi_value Threads(napi_env env, napi_callback_info info) {
  TG_ARGS(0, 1);
  if (argc > 0) {
    long n;
    if (!get_long(env, argv[0], n) || n < 1) return TG_FAIL("threads: the count must be a whole number ≥ 1");
    tg::set_pool_threads((int)n);
  }
  napi_value result;
  napi_create_int32(env, tg::pool_threads(), &result);
  return result;
}

/** setIsa(name): switch builds (for tests and benchmarks); false where this CPU or binary lacks `name`. */
napi_value SetIsa(napi_env env, napi_callback_info info) {
  TG_ARGS(1, 1);
  char name[32];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) return TG_FAIL("setIsa: name must be a string");
  tg::active();  // the environment's choice first, so it cannot override this one later
  napi_value result;
  napi_get_boolean(env, tg::set_isa(name), &result);
  return result;
}

napi_value names(napi_env env, const char* const* list, int n) {
  napi_value arr;
  napi_create_array_with_length(env, n, &arr);
  for (int i = 0; i < n; i++) napi_set_element(env, arr, i, string(env, list[i]));
  return arr;
}

}  // namespace

NAPI_MODULE_INIT() {
  if (const char* why = tg::load_error()) {
    napi_throw_error(env, nullptr, why);
    return nullptr;
  }
#define TG_NAME(name) #name,
  static const char* const unary_names[] = {TG_UNARY_OPS(TG_NAME)};
  static const char* const binary_names[] = {TG_BINARY_OPS(TG_NAME)};
#undef TG_NAME
  const struct { const char* name; napi_callback fn; } fns[] = {
    {"gemm", Gemm}, {"unary", Unary}, {"binary", Binary}, {"sum", Sum}, {"transpose", Transpose}, {"fused", Fused}, {"isa", Isa}, {"isas", Isas}, {"setIsa", SetIsa}, {"threads", Threads}};
  for (const auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &fn);
    napi_set_named_property(env, exports, f.name, fn);
  }
  napi_set_named_property(env, exports, "unaryOps", names(env, unary_names, tg::U_COUNT));
  napi_set_named_property(env, exports, "binaryOps", names(env, binary_names, tg::B_COUNT));
  return exports;
}
