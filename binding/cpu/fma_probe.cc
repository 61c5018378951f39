// The compute limit the pairwise kernels are held to: fused multiply-adds on registers only
// (no memory traffic), at the widest vector width the CPU has (wide.h picks the clone), on every
// pool thread at once.
#include <algorithm>
#include <chrono>
#include <vector>

#include "fusedloss/probe.h"
#include "parallel.h"
#include "wide.h"

namespace fl {
namespace {

// 12 independent accumulators: enough to cover an FMA latency of 4 at 2 per cycle (and 6 zmm
// registers' worth more on AVX-512), so the loop runs at throughput.
constexpr int kAccumulators = 12;

template <class V>
FL_INLINE void fma_loop(int64_t iters, float* sink, double* flops) {
  constexpr int kLanesPerVec = sizeof(V) / sizeof(float);
  volatile float seed = 0.999999f;  // opaque: the loop cannot be folded away
  const float a = seed, b = seed * 1e-7f;
  V acc[kAccumulators];
  for (int k = 0; k < kAccumulators; ++k) acc[k] = V{} + static_cast<float>(k + 1) * 1e-3f;
  for (int64_t it = 0; it < iters; ++it)
    for (int k = 0; k < kAccumulators; ++k) acc[k] = acc[k] * a + b;
  float sum = 0;
  for (int k = 0; k < kAccumulators; ++k)
    for (int j = 0; j < kLanesPerVec; ++j) sum += acc[k][j];
  *sink = sum;
  *flops = 2.0 * kLanesPerVec * kAccumulators * static_cast<double>(iters);
}

}  // namespace

FL_WIDE_DISPATCH(fma_probe_thread, fma_loop, (int64_t iters, float* sink, double* flops),
                 (iters, sink, flops))

FmaPeak fma_peak_cpu(int64_t iters, int reps) {
  const int n = threads();
  std::vector<float> sink(n);
  std::vector<double> flops(n);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_chunks(
        n, 1, [&](int64_t c, int64_t, int64_t) { fma_probe_thread(iters, &sink[c], &flops[c]); });
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double total = 0;
  for (double f : flops) total += f;
#if defined(__aarch64__)
  const char* name = "NEON (128-bit, FMA)";
#else
  const char* names[] = {"baseline (SSE2, no FMA)", "AVX2 + FMA", "AVX-512"};
  const char* name = names[static_cast<int>(isa())];
#endif
  return FmaPeak{total / best / 1e9, name};
}

}  // namespace fl
