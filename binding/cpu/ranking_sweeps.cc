// Vectorisable sweeps of the listwise losses (see ranking_sweeps.h). The log-domain values (R, A,
// Lambda) are doubles: differences of scores at |s| ~ 1e4 would lose float's ulp (1e-3) in the
// gradient. Each exponential takes a non-positive difference, cast to float only after the
// subtraction; each log takes a sum in [1, n].
#include "ranking_sweeps.h"

#include <algorithm>
#include <cmath>

#include "fusedloss/math.h"
#include "rows.h"
#include "simd.h"

namespace fl::ranking {

FL_SIMD_CLONES void suffix_lse_sweep(const float* __restrict v, int32_t n, Scratch& sc,
                                     double* __restrict R) {
  float* __restrict m = sc.m.data();  // m[q] = max_{j >= q} v_j
  float* __restrict x = sc.x.data();
  float* __restrict y = sc.y.data();
  m[n - 1] = v[n - 1];
  for (int32_t q = n - 2; q >= 0; --q) m[q] = v[q] > m[q + 1] ? v[q] : m[q + 1];
  // S_q = sum_{j >= q} e^{v_j - m_q} = S_{q+1} x_q + y_q: when v_q is the new maximum the old sum
  // is rescaled (x = e^{m_{q+1} - v_q}, y = 1), else v_q's term is added (x = 1, y = e^{v_q -
  // m_q}).
  for (int32_t q = 0; q < n - 1; ++q) {
    const bool top = v[q] > m[q + 1];
    const float e = exp_nonpos(-std::fabs(v[q] - m[q + 1]));
    x[q] = top ? e : 1.0f;
    y[q] = top ? 1.0f : e;
  }
  float S = 1.0f;
  y[n - 1] = S;
  for (int32_t q = n - 2; q >= 0; --q) y[q] = S = S * x[q] + y[q];
  for (int32_t q = 0; q < n; ++q) R[q] = double{m[q]} + double{log_pos(y[q])};
}

// The forward half of both losses, R holding the suffix LSE of s: g_j = scale (C_j e^{s_j - R_j}
// - sub_j) with C_j = sum_{i <= j} add_i e^{R_j - R_i} = C_{j-1} e^{R_j - R_{j-1}} + add_j. Every
// exponent is <= 0 as R only falls; C (double: weights may reach FLT_MAX) is at most sum(add).
FL_INLINE void descend(Scratch& sc, int32_t m, const float* __restrict add,
                       const float* __restrict sub, float scale) {
  const float* __restrict s = sc.s.data();
  const double* __restrict R = sc.R.data();
  float* __restrict x = sc.x.data();
  float* __restrict y = sc.y.data();
  float* __restrict g = sc.g.data();
  x[0] = 0.0f;
  for (int32_t j = 1; j < m; ++j) x[j] = exp_nonpos(static_cast<float>(R[j] - R[j - 1]));
  for (int32_t j = 0; j < m; ++j) y[j] = exp_nonpos(static_cast<float>(s[j] - R[j]));
  double C = 0;
  for (int32_t j = 0; j < m; ++j) {
    C = C * x[j] + add[j];
    g[j] = scale * static_cast<float>(C * y[j] - sub[j]);
  }
}

// L = sum_k a_k (R_k - s_k), R_k = LSE_{j >= k} s_j; g_j = -a_j + sum_{i <= j} a_i e^{s_j - R_i}.
FL_SIMD_CLONES double plackett_luce_sweep(Scratch& sc, int32_t m, const float* __restrict a) {
  const float* __restrict s = sc.s.data();
  const double* __restrict R = sc.R.data();
  suffix_lse_sweep(s, m, sc, sc.R.data());
  const double loss = lane_sum_of(m, [&](int32_t k) { return double{a[k]} * (R[k] - s[k]); });
  descend(sc, m, a, a, 1.0f);
  return loss;
}

// A_i = R_{p(i)} - s_i for the anchors with a constraint (p(i) < m), Lambda = LSE_i A_i, e_i =
// e^{A_i - Lambda}, and g_k = sigma(Lambda) (sum_{i: p(i) <= k} e^{s_k - s_i - Lambda} - e_k).
// As e^{-s_i} = e^{A_i - R_p(i)}, the sum is e^{s_k - R_k} sum_{j <= k} enter_j e^{R_k - R_j} with
// enter_j = sum_{i: p(i) = j} e_i: descend's recurrence.
FL_SIMD_CLONES double ranklist_lse_sweep(Scratch& sc, int32_t m) {
  const float* __restrict s = sc.s.data();
  const int32_t* __restrict p = sc.p.data();
  double* __restrict R = sc.R.data();
  double* __restrict A = sc.A.data();
  suffix_lse_sweep(s, m, sc, R);
  R[m] = -INFINITY;  // p(i) = m: no constraint
  for (int32_t i = 0; i < m; ++i) A[i] = R[p[i]] - s[i];
  const double top_a = lane_max_of(m, [&](int32_t i) { return A[i]; });
  if (top_a == -INFINITY) {
    std::fill(sc.g.begin(), sc.g.begin() + m, 0.0f);
    return 0;
  }
  float* __restrict e = sc.e.data();
  for (int32_t i = 0; i < m; ++i)
    e[i] = p[i] < m ? exp_nonpos(static_cast<float>(A[i] - top_a)) : 0.0f;
  const double sum = nonneg_sum(m, [&](int32_t i) { return e[i]; });
  const float inv = static_cast<float>(1.0 / sum);
  for (int32_t i = 0; i < m; ++i) e[i] *= inv;
  float* __restrict enter = sc.enter.data();
  std::fill(enter, enter + m, 0.0f);
  for (int32_t i = 0; i < m && p[i] < m; ++i) enter[p[i]] += e[i];  // p is non-decreasing
  const SigmoidSoftplus outer = sigmoid_softplus(static_cast<float>(top_a + log_pos(sum)));
  descend(sc, m, enter, e, outer.sigmoid);
  return outer.softplus;
}

}  // namespace fl::ranking
