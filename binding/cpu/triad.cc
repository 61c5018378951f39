#include <algorithm>
#include <chrono>
#include <memory>

#include "fusedloss/probe.h"
#include "parallel.h"

namespace fl {

double triad_bandwidth_cpu(int64_t n, int reps) {
  constexpr int64_t kChunk = 1 << 16;
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  // First touch from the pool, so pages land where the threads that use them run.
  parallel_chunks(n, kChunk, [&](int64_t, int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      a[i] = 0;
      b[i] = 1;
      c[i] = 2;
    }
  });
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_chunks(n, kChunk, [&](int64_t, int64_t lo, int64_t hi) {
      double* __restrict pa = a.get();
      const double* __restrict pb = b.get();
      const double* __restrict pc = c.get();
      for (int64_t i = lo; i < hi; ++i) pa[i] = pb[i] + 3.0 * pc[i];
    });
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return 24.0 * static_cast<double>(n) / best / 1e9;
}

}  // namespace fl
