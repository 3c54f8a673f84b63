// The AVX-512 build of the kernels (512-bit vectors, FMA, 32 registers): used where the CPU has AVX-512F.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,fma")
namespace tg { namespace avx512 {
constexpr int VBYTES = 64;
#define TG_ISA_NAME "avx512"
// 14×16 f64 tile: 28 accumulators + 2 B vectors + a broadcast fill the 32 zmm registers (83 GFLOP/s at 512² into a
// reused C; 6×32, 8×24, 12×16, 7×32, KC = 192 or 384 measured the same within noise, 81–86).
struct GemmD { static constexpr int MR = 14, NV = 2; static constexpr long KC = 256, MC = 112, NC = 4096; };
struct GemmF { static constexpr int MR = 14, NV = 2; static constexpr long KC = 256, MC = 112, NC = 4096; };
#include "isa_body.inc"
#undef TG_ISA_NAME
}}  // namespace tg::avx512
#pragma GCC pop_options

const tg::Table* tg::table_avx512() { return &avx512::table; }
