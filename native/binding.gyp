# The flywheel native kernels: a plain N-API addon over OpenBLAS.
# Build: npm run build:native (node-gyp rebuild --directory native).
# Needs g++ and libopenblas-dev (apt-get install libopenblas-dev). It links
# the pthread variant of OpenBLAS explicitly (not whatever the Debian
# alternatives symlink points at) and records that path as the rpath.
# Compiled for the machine it runs on (-march=native). No -ffast-math: the
# softmax and attention kernels rely on -inf and NaN behaving. No loop
# distribution into memcpy/memset calls: our copy loops move rows of 16-128
# floats (attention's per-head copies), where a libc call per row cost more
# than the copy (37% of attention's time).
{
  "variables": {
    "multiarch%": "<!(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)",
  },
  "targets": [
    {
      "target_name": "flywheel",
      "sources": ["addon.cc", "pool.cc", "matmul.cc", "attention.cc", "decode.cc", "kernels.cc", "signal_exit.cc"],
      "include_dirs": ["/usr/include/<(multiarch)/openblas-pthread"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags": ["-O3", "-march=native", "-mprefer-vector-width=512", "-fno-math-errno", "-fno-tree-loop-distribute-patterns", "-Wall", "-Wno-unused-function"],
      "cflags_cc": ["-std=gnu++20"],
      "libraries": [
        "-L/usr/lib/<(multiarch)/openblas-pthread",
        "-Wl,-rpath,/usr/lib/<(multiarch)/openblas-pthread",
        "-lopenblas",
        "-lpthread",
      ],
    }
  ]
}
