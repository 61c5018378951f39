// Row helpers shared by the CPU kernels of every family: the fixed chunking, fixed-order lane
// reductions, and the search for the first invalid element once a fast scan has
// found that something is wrong.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "fusedloss/dispatch.h"
#include "fusedloss/status.h"
#include "simd.h"

namespace fl {

constexpr int64_t kChunk = 8192;  // elements per chunk; fixes the summation order

inline int64_t rows_per_chunk(int32_t classes) {
  return std::max<int64_t>(1, kChunk / classes);
}

// Row sweeps that reduce (max, sums) keep four vectors of lanes: with one, each add waits for the
// last and a 50000-float row's max ran at a third of the speed (4.1 -> 1.5 ms per 6.4M floats).
constexpr int kWide = 4 * kLanes;

// Reductions of nonnegative terms add into float lanes for kBlockSteps steps, then flush them into
// double lanes: a block's float sum of 16 terms is within 1e-6 relative (typically 1e-7), the
// total is a double, and the conversions stay off the per-element path.
constexpr int64_t kBlockSteps = 16;

// Sum of v[0, n) in kLanes double lanes, combined in a fixed order (vectorises).
FL_INLINE double lane_sum(const float* __restrict v, int32_t n) {
  double acc[kLanes] = {};
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += v[i + j];
  for (int j = 0; i < n; ++i, ++j) acc[j] += v[i];
  double s = 0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

// Sum and largest of term(i) (doubles) for i in [0, n), in kLanes lanes combined in a fixed order
// (vectorises); the largest of nothing is -inf.
template <class Term>
FL_INLINE double lane_sum_of(int32_t n, Term term) {
  double acc[kLanes] = {};
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += term(i + j);
  for (int j = 0; i < n; ++i, ++j) acc[j] += term(i);
  double s = 0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

template <class Term>
FL_INLINE double lane_max_of(int32_t n, Term term) {
  double acc[kLanes];
  for (int j = 0; j < kLanes; ++j) acc[j] = -INFINITY;
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double v = term(i + j);
      acc[j] = v > acc[j] ? v : acc[j];
    }
  for (int j = 0; i < n; ++i, ++j) acc[j] = term(i) > acc[j] ? term(i) : acc[j];
  double m = acc[0];
  for (int j = 1; j < kLanes; ++j) m = acc[j] > m ? acc[j] : m;
  return m;
}

// K sums of nonnegative terms at once, term(i, t) filling t[0, K) for i in [0, n): one pass when
// the K terms share work (an exponential). Each sum adds into W float lanes flushed to double every
// kBlockSteps steps (short sums, as a pair tile's rows, take fewer lanes: zeroing and adding up
// kWide lanes cost as much as 96 terms).
template <int K, int W = kWide, class Term>
FL_INLINE void nonneg_sums(int32_t n, Term term, double (&sum)[K]) {
  double acc[K][W] = {};
  int32_t i = 0;
  while (i < n) {
    const int32_t end = static_cast<int32_t>(std::min<int64_t>(n, i + kBlockSteps * W));
    float f[K][W] = {};
    auto take = [&](int32_t k, int j) {
      float t[K];
      term(k, t);
      for (int q = 0; q < K; ++q) f[q][j] += t[q];
    };
    for (; i + W <= end; i += W)
      for (int j = 0; j < W; ++j) take(i + j, j);
    for (int j = 0; i < end; ++i, ++j) take(i, j);
    for (int q = 0; q < K; ++q)
      for (int j = 0; j < W; ++j) acc[q][j] += f[q][j];
  }
  for (int q = 0; q < K; ++q) {
    sum[q] = 0;
    for (int j = 0; j < W; ++j) sum[q] += acc[q][j];
  }
}

// Sum of term(i) >= 0 for i in [0, n).
template <class Term>
FL_INLINE double nonneg_sum(int32_t n, Term term) {
  double sum[1];
  nonneg_sums(
      n, [&](int32_t i, float(&t)[1]) FL_LAMBDA_INLINE { t[0] = term(i); }, sum);
  return sum[0];
}

// Largest of value(i) for i in [0, n) in kLanes lanes (-inf for n = 0), so the loop vectorises
// without reassociating anything. The lanes are one vector: as an array of floats, GCC kept their
// selects scalar (conditional moves through memory, 4x slower in Multi-Similarity's mining pass).
template <class Value>
FL_INLINE float lane_max(int32_t n, Value value) {
  typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
  Lanes m = Lanes{} - INFINITY;
  int32_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Lanes v;
    for (int j = 0; j < kLanes; ++j) v[j] = value(i + j);
    m = v > m ? v : m;
  }
  float r = -INFINITY;
  for (; i < n; ++i) {
    const float v = value(i);
    r = v > r ? v : r;
  }
  for (int j = 0; j < kLanes; ++j) r = m[j] > r ? m[j] : r;
  return r;
}

// Largest of x[0, n), n >= 1; `bad` becomes nonzero if an entry is not finite. The check rides
// along the sweep that reads the data anyway, as a float sum of x * 0 (NaN iff some x is NaN or
// infinite), which vectorises where an integer flag beside the float lanes did not (2x slower).
FL_INLINE float row_max(const float* __restrict x, int32_t n, int& bad) {
  float m[kWide], zero[kWide] = {};
  for (int j = 0; j < kWide; ++j) m[j] = x[0];
  int32_t i = 0;
  for (; i + kWide <= n; i += kWide)
    for (int j = 0; j < kWide; ++j) {
      const float v = x[i + j];
      zero[j] += v * 0.0f;
      m[j] = v > m[j] ? v : m[j];
    }
  for (int j = 0; i < n; ++i, ++j) {
    zero[j] += x[i] * 0.0f;
    m[j] = x[i] > m[j] ? x[i] : m[j];
  }
  float r = m[0], z = 0.0f;
  for (int j = 1; j < kWide; ++j) r = m[j] > r ? m[j] : r;
  for (int j = 0; j < kWide; ++j) z += zero[j];
  bad |= !(z == 0.0f);
  return r;
}

// ---- the exact fault, searched only after a fast scan failed ----

inline Status score_fault(bool logits, int64_t i, float v) {
  if (!(std::fabs(v) <= FLT_MAX)) return Status::at(Fault::ScoreNotFinite, i, v);
  if (!logits && !(v >= 0.0f && v <= 1.0f)) return Status::at(Fault::ProbabilityOutOfRange, i, v);
  return Status{};
}

inline Status weight_fault(const float* w, int64_t i) {
  if (w && !(w[i] >= 0.0f && w[i] <= FLT_MAX)) return Status::at(Fault::WeightInvalid, i, w[i]);
  return Status{};
}

// The first invalid element of rows [b, e) in the order the TypeScript checks report them: each
// row's scores, then its label (label_fault(i) returns the label's Status), then its weight.
template <class LabelFault>
Status first_row_fault(const float* scores, int64_t classes, bool logits, const float* weights,
                       int64_t b, int64_t e, LabelFault label_fault) {
  for (int64_t i = b; i < e; ++i) {
    for (int64_t k = 0; k < classes; ++k) {
      const Status s = score_fault(logits, i * classes + k, scores[i * classes + k]);
      if (!s.ok()) return s;
    }
    const Status l = label_fault(i);
    if (!l.ok()) return l;
    const Status w = weight_fault(weights, i);
    if (!w.ok()) return w;
  }
  return Status{};
}

}  // namespace fl
