// NeuralNDCG for one list (formulas D.8), host+device: the forward pass (NeuralSort's matrix P0,
// Sinkhorn scaling kept as the scale vectors u, v of P = diag(u) P0 diag(v), the relaxed DCG) and
// its exact reverse pass through every Sinkhorn half-step, which only needs P0 and the stored
// vectors. O(iterations x m^2) time, 2 m^2 + O(iterations x m) doubles (neural_ndcg_workspace).
#pragma once

#include <cmath>
#include <cstdint>

#include "fusedloss/math.h"
#include "fusedloss/neural_ndcg.h"

namespace fl {

namespace neural_ndcg {

// y = P x (rows) or y = P^T x (columns), P m x m row-major.
FL_HD void times(const double* P, const double* x, int32_t m, double* y) {
  for (int32_t i = 0; i < m; ++i) {
    double acc = 0;
    for (int32_t j = 0; j < m; ++j) acc += P[static_cast<int64_t>(i) * m + j] * x[j];
    y[i] = acc;
  }
}

FL_HD void times_t(const double* P, const double* x, int32_t m, double* y) {
  for (int32_t j = 0; j < m; ++j) y[j] = 0;
  for (int32_t i = 0; i < m; ++i)
    for (int32_t j = 0; j < m; ++j) y[j] += x[i] * P[static_cast<int64_t>(i) * m + j];
}

// M += x y^T.
FL_HD void add_outer(double* M, const double* x, const double* y, int32_t m) {
  for (int32_t i = 0; i < m; ++i)
    for (int32_t j = 0; j < m; ++j) M[static_cast<int64_t>(i) * m + j] += x[i] * y[j];
}

// NeuralSort's row scale for 0-based rank i of m: m - 1 - 2i (Grover et al.'s n + 1 - 2i, 1-based).
FL_HD double rank_scale(int32_t i, int32_t m) {
  return static_cast<double>(m - 1 - 2 * i);
}

// A Sinkhorn step's new scale x / max(sum, eps); a row or column whose sum is 0 is all zeros and
// stays so whatever it is divided by (allRank's matrix form), so its scale is left as it is: it
// then multiplies only zeros and never overflows.
FL_HD double rescaled(double x, double sum) {
  return sum > 0 ? x / fmax(sum, kNeuralNdcgEps) : x;
}

// Back through a step x1 = rescaled(x0, x0 o p) (p a product of P0 with the other scale vector):
// dx holds dL/dx1 and becomes dL/dx0 but for p's share; dp gets the adjoint of p's other factor,
// dL/dp o x0. A floored sum passes no gradient to it (PyTorch's clamp); a zero one is the identity.
FL_HD void scale_back(const double* x0, const double* x1, const double* p, int32_t m, double* dx,
                      double* dp) {
  for (int32_t i = 0; i < m; ++i) {
    const double sum = x0[i] * p[i], R = sum > 0 ? fmax(sum, kNeuralNdcgEps) : 1.0;
    const double ds = sum >= kNeuralNdcgEps ? -dx[i] * x1[i] / R : 0.0;
    dx[i] = dx[i] / R + ds * p[i];
    dp[i] = ds * x0[i];
  }
}

// sign(a - b), 0 for a tie (the derivative |x|' that PyTorch takes at 0).
FL_HD double sign_of(float a, float b) {
  return a > b ? 1.0 : a < b ? -1.0 : 0.0;
}

}  // namespace neural_ndcg

// One list's -NDCG (the list's loss) and its gradient g (m entries): s, r its m >= 1 valid items,
// r in descending order (the ideal DCG reads its first k). w: neural_ndcg_workspace(m, max_iter)
// doubles.
FL_HD double neural_ndcg_list(const float* s, const float* r, int32_t m, const NeuralNdcgParams& p,
                              double* w, float* g) {
  using namespace neural_ndcg;
  const int64_t mm = static_cast<int64_t>(m) * m;
  const int32_t T = p.max_iter, K = p.k > 0 && p.k < m ? p.k : m;
  double* P = w;                 // NeuralSort's P0, row i = rank i
  double* Gb = P + mm;           // dL/dP0, then dL/dZ
  double* U = Gb + mm;           // u_0 .. u_T, m each
  double* V = U + (T + 1) * m;   // v_0 .. v_T
  double* Ac = V + (T + 1) * m;  // a_t = P0^T u_{t-1}, t = 1..T
  double* Br = Ac + T * m;       // b_t = P0 v_t
  double* A = Br + T * m;        // sum_l |s_j - s_l|, then column sums of dL/dZ
  double* G = A + m;             // gains
  double* ub = G + m;            // dL/du
  double* vb = ub + m;           // dL/dv
  double* x = vb + m;
  double* y = x + m;
  double* wk = y + m;  // dL/d(relaxed gain at rank i)
  double idcg = 0;
  for (int32_t q = 0; q < K; ++q) idcg += metric_gain(p.gain, r[q]) / std::log2(2.0 + q);
  if (!(idcg > 0)) {
    for (int32_t i = 0; i < m; ++i) g[i] = 0.0f;
    return 0;
  }
  for (int32_t j = 0; j < m; ++j) {
    G[j] = metric_gain(p.gain, r[j]);
    double a = 0;
    for (int32_t l = 0; l < m; ++l) a += std::fabs(static_cast<double>(s[j]) - s[l]);
    A[j] = a;
  }
  // P0 row i = softmax_j(((m - 1 - 2i) s_j - A_j) / tau).
  const double inv_t = 1.0 / p.temperature;
  for (int32_t i = 0; i < m; ++i) {
    double* row = P + static_cast<int64_t>(i) * m;
    double top = -INFINITY;
    for (int32_t j = 0; j < m; ++j) {
      row[j] = (rank_scale(i, m) * s[j] - A[j]) * inv_t;
      top = row[j] > top ? row[j] : top;
    }
    double sum = 0;
    for (int32_t j = 0; j < m; ++j) sum += row[j] = std::exp(row[j] - top);
    for (int32_t j = 0; j < m; ++j) row[j] = row[j] / sum < kNeuralNdcgFloor ? 0.0 : row[j] / sum;
  }
  // Sinkhorn: columns, then rows, each sum floored at eps; stop when every sum is within tol.
  for (int32_t i = 0; i < m; ++i) U[i] = V[i] = 1;
  if (T > 0) times_t(P, U, m, Ac);
  int32_t done = 0;
  for (int32_t t = 1; t <= T; ++t) {
    const double *u0 = U + (t - 1) * m, *v0 = V + (t - 1) * m, *a = Ac + (t - 1) * m;
    double *u1 = U + t * m, *v1 = V + t * m, *b = Br + (t - 1) * m;
    for (int32_t j = 0; j < m; ++j) v1[j] = rescaled(v0[j], v0[j] * a[j]);
    times(P, v1, m, b);
    double off = 0;
    for (int32_t i = 0; i < m; ++i) {
      u1[i] = rescaled(u0[i], u0[i] * b[i]);
      off = fmax(off, std::fabs(u1[i] * b[i] - 1));
    }
    done = t;
    if (t == T) break;
    double* next = Ac + t * m;
    times_t(P, u1, m, next);
    for (int32_t j = 0; j < m; ++j) off = fmax(off, std::fabs(v1[j] * next[j] - 1));
    if (off < p.tol) break;
  }
  // Relaxed DCG: sum_{i < k} u_i (P0 (v o G))_i / log2(2 + i).
  const double* uT = U + done * m;
  const double* vT = V + done * m;
  const double coef = -1.0 / (idcg + kNeuralNdcgEps);
  for (int32_t j = 0; j < m; ++j) x[j] = vT[j] * G[j];
  times(P, x, m, y);
  double loss = 0;
  for (int32_t i = 0; i < m; ++i) {
    wk[i] = i < K ? coef / std::log2(2.0 + i) : 0.0;
    loss += wk[i] * uT[i] * y[i];
    ub[i] = wk[i] * y[i];
    y[i] = wk[i] * uT[i];
  }
  for (int32_t i = 0; i < mm; ++i) Gb[i] = 0;
  add_outer(Gb, y, x, m);
  times_t(P, y, m, vb);
  for (int32_t j = 0; j < m; ++j) vb[j] *= G[j];
  // Back through the half-steps, last first.
  for (int32_t t = done; t >= 1; --t) {
    const double *u0 = U + (t - 1) * m, *v0 = V + (t - 1) * m, *a = Ac + (t - 1) * m;
    const double *u1 = U + t * m, *v1 = V + t * m, *b = Br + (t - 1) * m;
    // u1 = u0 / max(u0 o b, eps), b = P0 v1.
    scale_back(u0, u1, b, m, ub, x);
    times_t(P, x, m, y);
    for (int32_t j = 0; j < m; ++j) vb[j] += y[j];
    add_outer(Gb, x, v1, m);
    // v1 = v0 / max(v0 o a, eps), a = P0^T u0.
    scale_back(v0, v1, a, m, vb, x);
    times(P, x, m, y);
    for (int32_t i = 0; i < m; ++i) ub[i] += y[i];
    add_outer(Gb, u0, x, m);
  }
  // Softmax rows (formulas Conventions): dL/dZ_ij = P_ij (dL/dP_ij - sum_l P_il dL/dP_il).
  for (int32_t j = 0; j < m; ++j) A[j] = x[j] = 0;
  for (int32_t i = 0; i < m; ++i) {
    const double* row = P + static_cast<int64_t>(i) * m;
    double* d = Gb + static_cast<int64_t>(i) * m;
    double mean = 0;
    for (int32_t j = 0; j < m; ++j) mean += row[j] * d[j];
    for (int32_t j = 0; j < m; ++j) {
      const double dz = row[j] * (d[j] - mean);
      A[j] += dz;                     // D_j = sum_i dL/dZ_ij
      x[j] += rank_scale(i, m) * dz;  // sum_i c_i dL/dZ_ij
    }
  }
  // Z_ij = (c_i s_j - sum_l |s_j - s_l|) / tau.
  for (int32_t k = 0; k < m; ++k) {
    double spread = 0;
    for (int32_t l = 0; l < m; ++l) spread += (A[k] + A[l]) * sign_of(s[k], s[l]);
    g[k] = static_cast<float>((x[k] - spread) * inv_t);
  }
  return loss;
}

}  // namespace fl
