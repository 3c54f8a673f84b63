// Runtime ISA dispatch: the best build this CPU runs (__builtin_cpu_supports), or the one TRACEGRAD_NATIVE_ISA names.
#include <cstdlib>
#include <cstring>
#include "kernels.h"

namespace tg {
namespace {

struct Build {
  const char* name;
  const Table* (*table)();
  bool (*runs)();
};

#if defined(__x86_64__)
bool runs_avx512() { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"); }
bool runs_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool runs_base() { return true; }
const Build builds[] = {{"avx512", table_avx512, runs_avx512}, {"avx2", table_avx2, runs_avx2}, {"sse2", table_base, runs_base}};
#else
bool runs_base() { return true; }
const Build builds[] = {{"generic", table_base, runs_base}};
#endif

const Table* current = nullptr;
char error[256] = "";

const Table* best() {
  for (const Build& b : builds)
    if (b.runs()) return b.table();
  return nullptr;
}

/** Chooses once, at load: an ISA the environment names must exist here, or loading fails with the reason. */
void choose() {
  if (current) return;
#if defined(__x86_64__)
  __builtin_cpu_init();
#endif
  const char* want = std::getenv("TRACEGRAD_NATIVE_ISA");
  if (want && *want && !set_isa(want)) {
    std::strcpy(error, "TRACEGRAD_NATIVE_ISA=");
    std::strncat(error, want, 40);
    std::strcat(error, " is not a build this CPU runs; it runs:");
    for (const Build& b : builds)
      if (b.runs()) std::strcat(error, " "), std::strcat(error, b.name);
  }
  if (!current) current = best();
}

}  // namespace

const Table& active() {
  choose();
  return *current;
}

bool set_isa(const char* name) {
  for (const Build& b : builds)
    if (std::strcmp(b.name, name) == 0 && b.runs()) {
      current = b.table();
      return true;
    }
  return false;
}

int supported_isas(const char** names, int max) {
  int n = 0;
  for (const Build& b : builds)
    if (n < max && b.runs()) names[n++] = b.name;
  return n;
}

const char* load_error() {
  choose();
  return error[0] ? error : nullptr;
}

}  // namespace tg
