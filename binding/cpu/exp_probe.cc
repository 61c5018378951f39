// The exponential limit of the streaming losses: the kernels' own exp (exp_nonpos, math.h) over
// an L1-resident block, on every pool thread at once, compiled for the level the kernels run at
// (simd.h). A loss that evaluates E exponentials cannot finish in less than E / this rate.
#include <algorithm>
#include <chrono>
#include <vector>

#include "fusedloss/math.h"
#include "fusedloss/probe.h"
#include "parallel.h"
#include "simd.h"

namespace fl {
namespace {

constexpr int kBlock = 2048;  // 16 KB in and out: in L1, so no memory traffic is timed

FL_ISA_BODY void exp_block(const float* __restrict in, float* __restrict out, int64_t iters) {
  for (int64_t it = 0; it < iters; ++it) {
    // A different argument each pass, so the passes cannot be folded into one.
    const float shift = static_cast<float>(it & 7) * -0.125f;
    for (int i = 0; i < kBlock; ++i) out[i] = exp_nonpos(in[i] + shift);
  }
}

}  // namespace

ExpRate exp_rate_cpu(int64_t iters, int reps) {
  const int n = threads();
  std::vector<float> in(static_cast<size_t>(n) * kBlock), out(in.size());
  for (size_t i = 0; i < in.size(); ++i) in[i] = -static_cast<float>(i % 977) * (20.0f / 977);
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_chunks(n, 1, [&](int64_t c, int64_t, int64_t) {
      FL_ISA_CALL(exp_block(&in[c * kBlock], &out[c * kBlock], iters));
    });
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return ExpRate{static_cast<double>(n) * kBlock * static_cast<double>(iters) / best / 1e9,
                 isa_name(isa())};
}

}  // namespace fl
