// The dense softmax step of dense_head.h: logits by a class-blocked product, the fused
// softmax cross-entropy kernel, then one pass over W for both dL/dH and the update.
#include "fusedloss/dense_head.h"

#include <algorithm>
#include <vector>

#include "fusedloss/spherical.h"
#include "parallel.h"
#include "simd.h"

namespace fl {
namespace {

// 32 float lanes: four independent vectors of FMAs hide their latency.
FL_INLINE float dot32(const float* __restrict a, const float* __restrict b, int32_t n) {
  float acc[32] = {};
  int32_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int l = 0; l < 32; ++l) acc[l] += a[i + l] * b[i + l];
  float s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (float v : acc) s += v;
  return s;
}

FL_ISA_BODY void logit_rows(const float* hidden, int64_t m, const float* W, int64_t classes,
                            int32_t dim, int64_t lo, int64_t hi, float* logits) {
  for (int64_t c = lo; c < hi; ++c)
    for (int64_t j = 0; j < m; ++j)
      logits[j * classes + c] = dot32(&W[c * dim], &hidden[j * dim], dim);
}

// Classes [lo, hi): dH += G[:, c] W_c (old W), then W_c -= lr G[:, c]^T H.
FL_ISA_BODY void backward_rows(const float* hidden, int64_t m, float* W, int64_t classes,
                               int32_t dim, double lr, const float* grad, int64_t lo, int64_t hi,
                               float* dh) {
  std::vector<float> step(static_cast<size_t>(dim));
  const float rate = static_cast<float>(lr);
  for (int64_t c = lo; c < hi; ++c) {
    float* w = &W[c * dim];
    std::fill(step.begin(), step.end(), 0.0f);
    for (int64_t j = 0; j < m; ++j) {
      const float g = grad[j * classes + c];
      if (g == 0) continue;
      const float* h = &hidden[j * dim];
      float* d = &dh[j * dim];
      for (int32_t i = 0; i < dim; ++i) {
        d[i] += g * w[i];
        step[i] += g * h[i];
      }
    }
    for (int32_t i = 0; i < dim; ++i) w[i] -= rate * step[i];
  }
}

}  // namespace

double dense_softmax_step(const float* hidden, const int32_t* targets, int64_t m, float* W,
                          int64_t classes, int32_t dim, double lr, float* logits, float* grad,
                          float* grad_hidden) {
  parallel_chunks(classes, 256, [&](int64_t, int64_t lo, int64_t hi) {
    FL_ISA_CALL(logit_rows(hidden, m, W, classes, dim, lo, hi, logits));
  });
  ClassProblem pb;
  pb.logits = logits;
  pb.rows = m;
  pb.classes = static_cast<int32_t>(classes);
  pb.targets = targets;
  double loss = 0;
  softmax_loss_cpu(pb, SoftmaxWeights{}, SoftmaxParams{}, Reduction::Mean,
                   LossOutputs{&loss, nullptr, grad});
  // At most 64 chunks, each with its own m x d partial of dH, summed in chunk order.
  const int64_t chunk = std::max<int64_t>(256, (classes + 63) / 64);
  std::vector<float> partial(static_cast<size_t>(chunk_count(classes, chunk) * m * dim), 0.0f);
  parallel_chunks(classes, chunk, [&](int64_t ci, int64_t lo, int64_t hi) {
    FL_ISA_CALL(
        backward_rows(hidden, m, W, classes, dim, lr, grad, lo, hi, &partial[ci * m * dim]));
  });
  std::vector<double> dh(static_cast<size_t>(m * dim), 0.0);
  for (size_t p = 0; p < partial.size(); ++p) dh[p % dh.size()] += partial[p];
  std::copy(dh.begin(), dh.end(), grad_hidden);
  return loss;
}

}  // namespace fl
