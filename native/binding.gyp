# node-gyp build of tracegrad's optional SIMD addon: one binary holding baseline, AVX2 and AVX-512 builds of the kernels.
{
  "targets": [{
    "target_name": "tracegrad_native",
    "sources": ["src/binding.cc", "src/dispatch.cc", "src/pool.cc", "src/isa_base.cc"],
    "cflags_cc": ["-O3", "-fno-math-errno", "-std=gnu++17", "-Wno-psabi"],
    "conditions": [
      ["target_arch == 'x64'", {"sources": ["src/isa_avx2.cc", "src/isa_avx512.cc"]}],
    ],
  }],
}
