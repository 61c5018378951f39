// Machine limits measured in the same run as the benchmarks (DESIGN "Performance method").
#pragma once

#include <cstdint>

namespace fl {

// STREAM-like triad a = b + s c over three arrays of n doubles on the CPU pool; best of `reps`
// runs, in GB/s counting 24 bytes per element as STREAM does.
double triad_bandwidth_cpu(int64_t n, int reps);

// Register-only fused multiply-adds on every pool thread at once, at the widest vector width
// the CPU has; best of `reps` runs of `iters` iterations per thread. GFLOP/s counting 2 flops per
// lane per multiply-add, and the instruction set used.
struct FmaPeak {
  double gflops;
  const char* isa;
};
FmaPeak fma_peak_cpu(int64_t iters, int reps);

// The kernels' float exponential (exp_nonpos) over an L1-resident block on every pool thread at
// once, at the level the kernels run at; best of `reps` runs of `iters` passes per thread. In
// billions of exponentials per second, and the level's name (simd.h isa_name).
struct ExpRate {
  double gexps;
  const char* isa;
};
ExpRate exp_rate_cpu(int64_t iters, int reps);

}  // namespace fl
