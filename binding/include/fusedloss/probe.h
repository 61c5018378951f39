// Machine limits measured in the same run as the benchmarks (DESIGN "Performance method").
#pragma once

#include <cstdint>

namespace fl {

// STREAM-like triad a = b + s c over three arrays of n doubles on the CPU pool; best of `reps`
// runs, in GB/s counting 24 bytes per element as STREAM does.
double triad_bandwidth_cpu(int64_t n, int reps);

}  // namespace fl
