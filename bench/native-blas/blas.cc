// Bench-only N-API addon around OpenBLAS's cblas_dgemm/sgemm: the ceiling bench/matmul.mjs compares the native kernels with.
#include <node_api.h>
#include <cblas.h>

extern "C" char* openblas_get_corename(void);

namespace {

bool array(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  bool is = false;
  napi_is_typedarray(env, v, &is);
  return is && napi_get_typedarray_info(env, v, &type, length, data, &buffer, &offset) == napi_ok && type == want;
}

/** gemm(A, B, C, m, n, k): C = A·B, row-major, dtype from C (Float64Array: dgemm, Float32Array: sgemm). */
napi_value Gemm(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int64_t m, n, k;
  napi_get_value_int64(env, argv[3], &m);
  napi_get_value_int64(env, argv[4], &n);
  napi_get_value_int64(env, argv[5], &k);
  void *a, *b, *c;
  size_t la, lb, lc;
  if (array(env, argv[2], napi_float64_array, &c, &lc) && array(env, argv[0], napi_float64_array, &a, &la) &&
      array(env, argv[1], napi_float64_array, &b, &lb) && la >= size_t(m * k) && lb >= size_t(k * n) && lc >= size_t(m * n))
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, (double*)a, k, (double*)b, n, 0.0, (double*)c, n);
  else if (array(env, argv[2], napi_float32_array, &c, &lc) && array(env, argv[0], napi_float32_array, &a, &la) &&
           array(env, argv[1], napi_float32_array, &b, &lb) && la >= size_t(m * k) && lb >= size_t(k * n) && lc >= size_t(m * n))
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, (float*)a, k, (float*)b, n, 0.0f, (float*)c, n);
  else
    napi_throw_type_error(env, nullptr, "blas gemm: A, B, C must be typed arrays of one float dtype and large enough");
  return nullptr;
}

napi_value Core(napi_env env, napi_callback_info) {
  napi_value s;
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &s);
  return s;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, Gemm, nullptr, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  napi_create_function(env, "core", NAPI_AUTO_LENGTH, Core, nullptr, &fn);
  napi_set_named_property(env, exports, "core", fn);
  return exports;
}
