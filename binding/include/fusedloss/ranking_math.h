// Per-list formulas of the ranking family (spec C, D), host+device, shared by the CPU kernels and
// the CUDA kernels. A list here is already gathered: its valid items in the order the loss needs
// (by relevance, or by score), in contiguous arrays; the caller scatters the gradient back.
// Running log-sum-exps keep their largest term apart, so no exp sees a positive argument.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "fusedloss/math.h"
#include "fusedloss/ranking.h"

namespace fl {

FL_HD bool is_padding(float r) {
  return r == -1.0f;
}

// Relevance is a finite number >= 0 or the padding mark -1; `top` bounds it (LambdaLoss's gains
// 2^r - 1 must stay finite).
FL_HD bool relevance_valid(float r, float top) {
  return (r >= 0.0f && r <= top) || is_padding(r);
}

// 32-bit keys whose unsigned order is the descending order of v (v + 0 turns -0 into +0).
FL_HD uint32_t descending_bits(float v) {
  v = v + 0.0f;
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  const uint32_t ascending = (b & 0x80000000u) ? ~b : (b | 0x80000000u);
  return ~ascending;
}

// lowbias32 (C. Wellons): xorshift-multiply rounds, each invertible, so the map is a bijection.
FL_HD uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Where item `item` of list `list` goes among items of equal relevance: its index, or (shuffle) a
// seeded pseudo-random permutation of the list's items. A bijection of the item index, so no two
// items tie, and a function of (seed, list, item) only, so any thread count and the TypeScript
// reference give the same order.
FL_HD uint32_t tie_order(uint32_t item, uint32_t list, uint32_t seed, bool shuffle) {
  return shuffle ? mix32(item ^ mix32(seed ^ mix32(list + 0x9e3779b9u))) : item;
}

// Sort key of an item: relevance descending, then the tie order.
FL_HD uint64_t relevance_key(float r, uint32_t tie) {
  return (static_cast<uint64_t>(descending_bits(r)) << 32) | tie;
}

// A running log(sum_k c_k e^{v_k}) = m + log(s): m the largest v pushed, s the weighted sum scaled
// by e^{-m}. Each push takes one float exp of a non-positive argument. The log-domain values
// (v, m and the LSEs built from them) are doubles: they are differences of scores, and at
// |s| ~ 1e4 a float's ulp (1e-3) would show in the gradient. Empty: m = -inf, s = 0.
struct LseSum {
  double m = -INFINITY;
  double s = 0;
};

FL_HD void lse_push(LseSum& a, double v, float c) {
  if (v > a.m) {
    a.s = a.s * exp_nonpos(static_cast<float>(a.m - v)) + c;
    a.m = v;
  } else {
    a.s += c * exp_nonpos(static_cast<float>(v - a.m));
  }
}

// The associative combine, for parallel scans.
FL_HD LseSum lse_merge(LseSum a, const LseSum& b) {
  if (b.m > a.m) {
    a.s = a.s * exp_nonpos(static_cast<float>(a.m - b.m)) + b.s;
    a.m = b.m;
  } else {
    a.s += b.s * exp_nonpos(static_cast<float>(b.m - a.m));
  }
  return a;
}

FL_HD double lse_log(const LseSum& a) {
  return a.s > 0 ? a.m + std::log(static_cast<float>(a.s)) : -INFINITY;
}

// LSE(x, y) = max(x, y) + log1p(e^{-|x - y|}): the large part exact in double, the small one in
// float (softplus of a large float argument would lose the ulp of the argument).
FL_HD double lse2(double x, double y) {
  return (x > y ? x : y) + log1p_unit(exp_nonpos(static_cast<float>(-std::fabs(x - y))));
}

// Reverse cumulative LSE in one sweep: R[q] = LSE_{j >= q} s_j for q < n, R[n] = -inf.
FL_HD void suffix_lse(const float* s, int32_t n, double* R) {
  LseSum acc;
  R[n] = -INFINITY;
  for (int32_t q = n - 1; q >= 0; --q) {
    lse_push(acc, s[q], 1.0f);
    R[q] = lse_log(acc);
  }
}

// Constraint sets that are suffixes: anchor i is ranked above every position j >= p(i), with
// p non-decreasing and p(i) > i (p(i) >= n: no constraint). ListMLE is p(i) = i + 1.
struct SuffixStarts {
  const int32_t* p;
  FL_HD int32_t operator()(int32_t i) const { return p[i]; }
};

// Anchor weights: 1, or a_i for positions below top_k and 0 from there on.
struct PositionWeights {
  const float* a = nullptr;  // null: all 1
  int32_t top_k = INT32_MAX;
  FL_HD float operator()(int32_t i) const { return i >= top_k ? 0.0f : a ? a[i] : 1.0f; }
};

// The anchor form (spec C.2 item 3, D.2): L = sum_i a_i softplus(A_i), A_i = R[p(i)] - s_i, so
// with p(i) = i + 1 the Plackett-Luce NLL sum_i a_i (LSE_{j >= i} s_j - s_i). Gradient:
//   g_j = -a_j sigma(A_j) + sum_{i: p(i) <= j} a_i exp(s_j - Z_i),  Z_i = s_i + softplus(A_i),
// the sum a forward running LSE of -Z_i weighted by a_i; s_j + m <= 0 as Z_i >= R[p(i)] >= s_j.
// Z_i = LSE(s_i, R[p(i)]) is taken by lse2, not as s_i + softplus(A_i) in float.
// One reverse sweep, one forward sweep; R (n + 1 doubles) is scratch, g receives the gradient.
template <class Suffix, class Weight>
FL_HD double anchor_suffix_loss(const float* s, int32_t n, Suffix p, Weight a, double* R,
                                float* g) {
  suffix_lse(s, n, R);
  double loss = 0;
  LseSum acc;
  int32_t pushed = 0;
  for (int32_t j = 0; j < n; ++j) {
    // Anchors i < j are final: R[i] holds -Z_i (or nothing to push when a_i = 0 or no constraint).
    for (; pushed < j && p(pushed) <= j; ++pushed)
      if (a(pushed) > 0.0f && p(pushed) < n) lse_push(acc, R[pushed], a(pushed));
    g[j] =
        acc.s > 0 ? static_cast<float>(acc.s * exp_nonpos(static_cast<float>(s[j] + acc.m))) : 0.0f;
    const float aj = a(j);
    if (p(j) < n && aj > 0.0f) {
      const SigmoidSoftplus t = sigmoid_softplus(static_cast<float>(R[p(j)] - s[j]));
      loss += static_cast<double>(aj) * t.softplus;
      g[j] -= aj * t.sigmoid;
      R[j] = -lse2(s[j], R[p(j)]);  // -Z_j; R[j] is read only by anchors before j, all done
    }
  }
  return loss;
}

// RankList's pair rule (spec C.1): i (more relevant) is constrained above j when their relevance
// differs by at least the margin, and strictly: equal relevance is always a tie.
FL_HD bool constrained(float ri, float rj, float margin) {
  const float d = ri - rj;
  return d > 0.0f && d >= margin;
}

// The pairwise logistic term of RankNet and LambdaLoss for d = s_i - s_j, i preferred:
// loss w softplus(-sigma d), and c = d loss / d s_j = -d loss / d s_i = w sigma sigmoid(-sigma d).
struct PairTerm {
  float loss, c;
};

FL_HD PairTerm pair_logistic(float d, float sigma, float w) {
  const SigmoidSoftplus t = sigmoid_softplus(-sigma * d);
  return PairTerm{w * t.softplus, w * sigma * t.sigmoid};
}

// LambdaLoss discount of 1-based rank rho, log2(1 + rho), and ndcgLoss2's
// delta_n = |1/log2(1 + n) - 1/log2(2 + n)| for ranks n apart (spec D.4).
FL_HD float discount(int32_t rho) {
  return std::log2(1.0f + static_cast<float>(rho));
}
FL_HD float ndcg2_delta(int32_t n) {
  return std::fabs(1.0f / discount(n) - 1.0f / discount(n + 1));
}

// RankList over windowed constraint sets (spec C.2, skip-wise C_m): anchor i is constrained above
// positions [p(i), hi(i)], hi(i) = min(n - 1, i + skip) (skip 0: n - 1). Pair loops, O(n window);
// the suffix forms above serve anchor and lse when every window reaches the end. A (n doubles) is
// scratch; every exponent is <= 0.
FL_HD double ranklist_window_loss(RankListForm form, const float* s, int32_t n, const int32_t* p,
                                  int32_t skip, double* A, float* g) {
  auto hi = [&](int32_t i) { return skip > 0 && i + skip < n - 1 ? i + skip : n - 1; };
  for (int32_t i = 0; i < n; ++i) g[i] = 0.0f;
  double loss = 0;
  if (form == RankListForm::Exact) {
    for (int32_t i = 0; i < n; ++i)
      for (int32_t j = p[i]; j <= hi(i); ++j) {
        const SigmoidSoftplus t = sigmoid_softplus(s[j] - s[i]);
        loss += t.softplus;
        g[j] += t.sigmoid;
        g[i] -= t.sigmoid;
      }
    return loss;
  }
  LseSum all;  // lse form: over every constrained pair
  for (int32_t i = 0; i < n; ++i) {
    LseSum w;
    for (int32_t j = p[i]; j <= hi(i); ++j) lse_push(w, s[j], 1.0f);
    A[i] = lse_log(w) - s[i];  // -inf without a constraint
    if (p[i] > hi(i)) continue;
    if (form == RankListForm::Lse) {
      lse_push(all, A[i], 1.0f);
      continue;
    }
    const SigmoidSoftplus t = sigmoid_softplus(static_cast<float>(A[i]));
    const double z = lse2(s[i], A[i] + s[i]);
    loss += t.softplus;
    g[i] -= t.sigmoid;
    for (int32_t j = p[i]; j <= hi(i); ++j) g[j] += exp_nonpos(static_cast<float>(s[j] - z));
  }
  if (form == RankListForm::Anchor || all.s == 0) return loss;
  const double lambda = lse_log(all);
  const SigmoidSoftplus top = sigmoid_softplus(static_cast<float>(lambda));
  for (int32_t i = 0; i < n; ++i)
    for (int32_t j = p[i]; j <= hi(i); ++j) {
      const float e = top.sigmoid * exp_nonpos(static_cast<float>(double{s[j]} - s[i] - lambda));
      g[j] += e;
      g[i] -= e;
    }
  return top.softplus;
}

// ListNet (spec D.1) over one list's valid items: L = LSE(x) - sum_i t_i x_i with x = s / T and
// t = softmax(r) or r / sum(r); g_i = (softmax(x)_i - t_i) / T. 'normalize' drops a list whose
// relevance sums to 0 (TF-Ranking): loss and gradient 0.
FL_HD double listnet_list(const float* s, const float* r, int32_t n, ListNetTarget target,
                          float temperature, float* g) {
  const float inv_t = 1.0f / temperature;
  float ms = -INFINITY, mr = -INFINITY;
  double rsum = 0;
  for (int32_t i = 0; i < n; ++i) {
    ms = s[i] * inv_t > ms ? s[i] * inv_t : ms;
    mr = r[i] > mr ? r[i] : mr;
    rsum += r[i];
  }
  double es = 0, er = 0;
  for (int32_t i = 0; i < n; ++i) {
    es += exp_nonpos(s[i] * inv_t - ms);
    er += exp_nonpos(r[i] - mr);
  }
  const bool softmax = target == ListNetTarget::Softmax;
  if (n == 0 || (!softmax && rsum == 0)) {
    for (int32_t i = 0; i < n; ++i) g[i] = 0.0f;
    return 0;
  }
  const double lse = ms + std::log(static_cast<float>(es));
  const float tnorm = softmax ? static_cast<float>(1.0 / er) : static_cast<float>(1.0 / rsum);
  double cross = 0;
  for (int32_t i = 0; i < n; ++i) {
    const float x = s[i] * inv_t;
    const float t = softmax ? exp_nonpos(r[i] - mr) * tnorm : r[i] * tnorm;
    cross += static_cast<double>(t) * x;
    g[i] = (exp_nonpos(static_cast<float>(x - lse)) - t) * inv_t;
  }
  return lse - cross;
}

// LambdaLoss pair weight w_ij (spec D.4) for items at 0-based predicted positions i, j with gains
// G (already divided by the ideal DCG when normalising) and discounts D = log2(2 + position).
FL_HD float lambda_weight(LambdaScheme scheme, float mu, int32_t i, int32_t j, float Gi, float Gj,
                          float Di, float Dj) {
  const float dg = std::fabs(Gi - Gj);
  const float lambda_rank = std::fabs(1.0f / Di - 1.0f / Dj) * dg;
  const int32_t apart = i > j ? i - j : j - i;
  const float ndcg2 = apart == 0 ? 0.0f : ndcg2_delta(apart) * dg;
  switch (scheme) {
    case LambdaScheme::LambdaRank:
      return lambda_rank;
    case LambdaScheme::NdcgLoss1:
      return Gi / Di;
    case LambdaScheme::NdcgLoss2:
      return ndcg2;
    case LambdaScheme::NdcgLoss2PP:
      return mu * ndcg2 + lambda_rank;
    default:
      return 1.0f;
  }
}

}  // namespace fl
