// The AVX2 build of the kernels (256-bit vectors, FMA, 16 registers): used where the CPU has AVX2 and FMA but not AVX-512.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace tg { namespace avx2 {
constexpr int VBYTES = 32;
#define TG_ISA_NAME "avx2"
// 6×8 f64 tile: 12 accumulators + 2 B vectors + a broadcast of the 16 ymm registers (55 GFLOP/s at 512²; 4×12 and 3×16: 50–51).
struct GemmD { static constexpr int MR = 6, NV = 2; static constexpr long KC = 256, MC = 96, NC = 4096; };
struct GemmF { static constexpr int MR = 6, NV = 2; static constexpr long KC = 256, MC = 96, NC = 4096; };
#include "isa_body.inc"
#undef TG_ISA_NAME
}}  // namespace tg::avx2
#pragma GCC pop_options

const tg::Table* tg::table_avx2() { return &avx2::table; }
