# Bench-only addon linking OpenBLAS (apt-get install libopenblas-dev); never built by `npm install`.
{
  "targets": [{
    "target_name": "tracegrad_blas",
    "sources": ["blas.cc"],
    "cflags_cc": ["-O2"],
    "libraries": ["-lopenblas"],
  }],
}
