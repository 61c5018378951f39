// Per-list formulas of the ranking family (formulas C, D), host+device, shared by the CPU kernels
// and the CUDA kernels. A list here is already gathered: its valid items in the order the loss
// needs (by relevance, or by score), in contiguous arrays; the caller scatters the gradient back.
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
  if (b.s == 0) return a;  // empty: its m - a.m may be -inf - -inf
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

// lse_log(a) - v with the large parts subtracted first: at |v| = 1e15 lse_log's own ulp (0.125)
// would show in e^{s - LSE} of tied scores.
FL_HD double lse_minus(const LseSum& a, double v) {
  return a.s > 0 ? (a.m - v) + std::log(static_cast<float>(a.s)) : -INFINITY;
}

// LSE(x, y) = max(x, y) + log1p(e^{-|x - y|}): the large part exact in double, the small one in
// float (softplus of a large float argument would lose the ulp of the argument).
FL_HD double lse2(double x, double y) {
  return (x > y ? x : y) + log1p_unit(exp_nonpos(static_cast<float>(-std::fabs(x - y))));
}

// Reverse cumulative LSE in one sweep: R[q] = LSE_{j >= q} s_j for q < n, R[n] = -inf, each kept
// as its (max, scaled sum) pair (read through lse_minus).
FL_HD void suffix_lse(const float* s, int32_t n, LseSum* R) {
  LseSum acc;
  R[n] = acc;
  for (int32_t q = n - 1; q >= 0; --q) {
    lse_push(acc, s[q], 1.0f);
    R[q] = acc;
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

// The anchor form (formulas C.2 item 3, D.2): L = sum_i a_i softplus(A_i), A_i = R[p(i)] - s_i, so
// with p(i) = i + 1 the Plackett-Luce NLL sum_i a_i (LSE_{j >= i} s_j - s_i). Gradient:
//   g_j = -a_j sigma(A_j) + sum_{i: p(i) <= j} a_i exp(s_j - Z_i),  Z_i = s_i + softplus(A_i),
// the sum a forward running LSE of -Z_i weighted by a_i. e^{-Z_i} enters as a score times a weight
// of at most 1, never as one double -Z_i (whose ulp, 0.125 at 1e15, would show when scores tie):
// e^{-s_i} sigma(-A_i) when A_i <= 0, else e^{-m} sigma(A_i) / S with R[p(i)] = m + log S. Either
// score is >= s_j, so s_j + m <= 0.

// Anchor i's own part: its loss a_i softplus(A_i), its gradient term -a_i sigma(A_i), and
// a_i e^{-Z_i}, what it adds to the running sum of the items below it. `r_below` is R[p(i)].
struct AnchorTerm {
  double loss;
  float g;
  LseSum neg_z;
};

FL_HD AnchorTerm anchor_term(float s_i, const LseSum& r_below, float a_i) {
  const double A = lse_minus(r_below, s_i);
  const SigmoidSoftplusWide t = sigmoid_softplus_wide(A);
  const LseSum z = A > 0 ? LseSum{-r_below.m, a_i * t.sigmoid / r_below.s}
                         : LseSum{-static_cast<double>(s_i), a_i * (1.0f - t.sigmoid)};
  return AnchorTerm{a_i * t.softplus, -a_i * t.sigmoid, z};
}

// sum_i c_i exp(x + v_i - d) over what `acc` holds (its pushes (v_i, c_i)), given x + v_i - d <= 0;
// x + v_i first: scores, whose difference is exact where they tie.
FL_HD float entered_sum(const LseSum& acc, double x, double d = 0) {
  return acc.s > 0 ? static_cast<float>(acc.s * exp_nonpos(static_cast<float>((x + acc.m) - d)))
                   : 0.0f;
}

// One reverse sweep, one forward sweep; R (n + 1 pairs) is scratch, g receives the gradient.
template <class Suffix, class Weight>
FL_HD double anchor_suffix_loss(const float* s, int32_t n, Suffix p, Weight a, LseSum* R,
                                float* g) {
  suffix_lse(s, n, R);
  double loss = 0;
  LseSum acc;
  int32_t pushed = 0;
  for (int32_t j = 0; j < n; ++j) {
    // Anchors i < j are final: R[i] holds a_i e^{-Z_i} (or nothing to push when a_i = 0 or no
    // constraint).
    for (; pushed < j && p(pushed) <= j; ++pushed)
      if (a(pushed) > 0.0f && p(pushed) < n) acc = lse_merge(acc, R[pushed]);
    g[j] = entered_sum(acc, s[j]);
    const float aj = a(j);
    if (p(j) < n && aj > 0.0f) {
      const AnchorTerm t = anchor_term(s[j], R[p(j)], aj);
      loss += t.loss;
      g[j] += t.g;
      R[j] = t.neg_z;  // R[j] is read only by anchors before j, all done
    }
  }
  return loss;
}

// RankList's pair rule (formulas C.1): i (more relevant) is constrained above j when their
// relevance differs by at least the margin, and strictly: equal relevance is always a tie.
FL_HD bool constrained(float ri, float rj, float margin) {
  const float d = ri - rj;
  return d > 0.0f && d >= margin;
}

// The pairwise logistic term of RankNet and LambdaLoss for d = s_i - s_j, i preferred:
// loss w softplus(-sigma d), and c = d loss / d s_j = -d loss / d s_i = w sigma sigmoid(-sigma d).
// The loss is a double: at |s| near FLT_MAX, sigma d exceeds float's range, and weights (2^64
// gains) times softplus may exceed it too.
struct PairTerm {
  double loss;
  float c;
};

// Both directions of a pair from one exponential: for u = sigma (s_j - s_i), given e = exp(-|u|)
// and lp = log1p(e), softplus(u) and softplus(-u) and sigmoid(u) and sigmoid(-u). U and F are a
// float or double and a float, or (the CPU's vector pair loops) vectors of floats.
template <class U, class F>
struct LogisticBoth {
  U softplus_up, softplus_down;
  F sigmoid_up, sigmoid_down;
};

template <class U, class F>
FL_HD LogisticBoth<U, F> logistic_both(U u, F e, F lp) {
  const F inv = 1.0f / (1.0f + e);
  const auto up = u >= U{};
  return LogisticBoth<U, F>{(up ? u : U{}) + lp, (up ? U{} : -u) + lp, up ? inv : e * inv,
                            up ? e * inv : inv};
}

// The pair (i, j) with weight a (loss a softplus(u), c_ij = a sigma sigmoid(u)) and (j, i) with
// weight b (loss b softplus(-u), c_ji = b sigma sigmoid(-u)). Returns the losses' sum and
// c = c_ij - c_ji. T is float, or double where u may pass float's range (then only the exponential
// and its log1p are floats).
template <class T>
FL_HD PairTerm pair_logistic2(T u, float sigma, float a, float b) {
  const float e = exp_nonpos(static_cast<float>(-std::fabs(u)));
  const LogisticBoth<T, float> f = logistic_both(u, e, log1p_unit(e));
  return PairTerm{static_cast<double>(a) * f.softplus_up + static_cast<double>(b) * f.softplus_down,
                  a * sigma * f.sigmoid_up - b * sigma * f.sigmoid_down};
}

// One direction, (i, j); only where sigma d exceeds float's range is u taken in double (the float
// form is cheaper).
FL_HD PairTerm pair_logistic(float si, float sj, float sigma, float w) {
  const float t = -sigma * (si - sj);
  if (std::fabs(t) <= FLT_MAX) return pair_logistic2(t, sigma, w, 0.0f);
  return pair_logistic2(-sigma * (static_cast<double>(si) - sj), sigma, w, 0.0f);
}

// The pairwise hinge term (formulas D.6) for i preferred: loss max(0, margin - (s_i - s_j)), taken
// in double (s_i - s_j may pass float's range), and c = 1 inside the margin (relu's derivative at 0
// is 0, as TF Ranking's).
FL_HD PairTerm pair_hinge(float si, float sj, float margin) {
  const double d = static_cast<double>(si) - sj;
  return d < margin ? PairTerm{margin - d, 1.0f} : PairTerm{0, 0.0f};
}

// LambdaLoss discount of 1-based rank rho, log2(1 + rho), and ndcgLoss2's
// delta_n = |1/log2(1 + n) - 1/log2(2 + n)| for ranks n apart (formulas D.4).
FL_HD float discount(int32_t rho) {
  return std::log2(1.0f + static_cast<float>(rho));
}
FL_HD float ndcg2_delta(int32_t n) {
  return std::fabs(1.0f / discount(n) - 1.0f / discount(n + 1));
}

// RankList over windowed constraint sets (formulas C.2, skip-wise C_m): anchor i is constrained
// above positions W(i) = [p(i), hi(i)], hi(i) = min(n - 1, i + skip) (skip 0: n - 1); O(n window).
// The suffix forms above serve anchor and lse when every window reaches the end. Each item's terms
// below read the list and not each other's results, so the CPU loops over the items and the GPU
// strides them over a team. Every exponent is <= 0.
struct RankListWindows {
  const float* s;
  const int32_t* p;
  int32_t n, skip;
  FL_HD int32_t hi(int32_t i) const { return skip > 0 && i + skip < n - 1 ? i + skip : n - 1; }
  // The anchors whose window may hold k are in [first_anchor(k), k).
  FL_HD int32_t first_anchor(int32_t k) const { return skip > 0 && k > skip ? k - skip : 0; }
  FL_HD bool holds(int32_t i, int32_t k) const { return p[i] <= k && k <= hi(i); }
  // A_i = LSE_{j in W(i)} s_j - s_i; -inf without a constraint.
  FL_HD double anchor_a(int32_t i) const {
    LseSum w;
    for (int32_t j = p[i]; j <= hi(i); ++j) lse_push(w, s[j], 1.0f);
    return lse_log(w) - s[i];
  }
};

// Exact form: the loss of the pairs item k anchors, and g_k = -sum_{j in W(k)} sigma(s_j - s_k)
// + sum_{i: k in W(i)} sigma(s_k - s_i).
FL_HD double exact_window_item(const RankListWindows& w, int32_t k, float* g) {
  double loss = 0;
  float gk = 0.0f;
  for (int32_t j = w.p[k]; j <= w.hi(k); ++j) {
    const SigmoidSoftplusWide t = sigmoid_softplus_wide(static_cast<double>(w.s[j]) - w.s[k]);
    loss += t.softplus;
    gk -= t.sigmoid;
  }
  for (int32_t i = w.first_anchor(k); i < k; ++i)
    if (w.holds(i, k)) gk += sigmoid_softplus_wide(static_cast<double>(w.s[k]) - w.s[i]).sigmoid;
  g[k] = gk;
  return loss;
}

// Anchor form, A holding anchor_a of every item: item k's loss softplus(A_k) and
// g_k = -sigma(A_k) + sum_{i: k in W(i)} e^{s_k - Z_i}, Z_i = LSE(s_i, A_i + s_i).
FL_HD double anchor_window_item(const RankListWindows& w, const double* A, int32_t k, float* g) {
  double loss = 0;
  float gk = 0.0f;
  if (w.p[k] <= w.hi(k)) {
    const SigmoidSoftplusWide t = sigmoid_softplus_wide(A[k]);
    loss = t.softplus;
    gk = -t.sigmoid;
  }
  for (int32_t i = w.first_anchor(k); i < k; ++i)
    if (w.holds(i, k)) gk += exp_nonpos(static_cast<float>(w.s[k] - lse2(w.s[i], A[i] + w.s[i])));
  g[k] = gk;
  return loss;
}

// Lse form, Lambda = LSE of the constrained A_i, sig = sigma(Lambda): g_k = sig (sum_{i: k in
// W(i)} e^{s_k - s_i - Lambda} - sum_{j in W(k)} e^{s_j - s_k - Lambda}).
FL_HD float lse_window_grad(const RankListWindows& w, int32_t k, double lambda, float sig) {
  float gk = 0.0f;
  for (int32_t i = w.first_anchor(k); i < k; ++i)
    if (w.holds(i, k)) gk += sig * exp_nonpos(static_cast<float>(double{w.s[k]} - w.s[i] - lambda));
  for (int32_t j = w.p[k]; j <= w.hi(k); ++j)
    gk -= sig * exp_nonpos(static_cast<float>(double{w.s[j]} - w.s[k] - lambda));
  return gk;
}

// The three forms over one list, item by item; A (n doubles) is scratch.
FL_HD double ranklist_window_loss(RankListForm form, const float* s, int32_t n, const int32_t* p,
                                  int32_t skip, double* A, float* g) {
  const RankListWindows w{s, p, n, skip};
  double loss = 0;
  if (form == RankListForm::Exact) {
    for (int32_t k = 0; k < n; ++k) loss += exact_window_item(w, k, g);
    return loss;
  }
  LseSum all;  // lse form: over every constrained pair
  for (int32_t i = 0; i < n; ++i) {
    A[i] = w.anchor_a(i);
    if (form == RankListForm::Lse && p[i] <= w.hi(i)) lse_push(all, A[i], 1.0f);
  }
  if (form == RankListForm::Anchor) {
    for (int32_t k = 0; k < n; ++k) loss += anchor_window_item(w, A, k, g);
    return loss;
  }
  if (all.s == 0) {
    for (int32_t k = 0; k < n; ++k) g[k] = 0.0f;
    return 0;
  }
  const double lambda = lse_log(all);
  const SigmoidSoftplusWide top = sigmoid_softplus_wide(lambda);
  for (int32_t k = 0; k < n; ++k) g[k] = lse_window_grad(w, k, lambda, top.sigmoid);
  return top.softplus;
}

// ListNet (formulas D.1) over one list's valid items: L = LSE(x) - sum_i t_i x_i with x = s / T and
// t = softmax(r) or r / sum(r); g_i = (softmax(x)_i - t_i) / T. 'normalize' drops a list whose
// relevance sums to 0 (TF-Ranking): loss and gradient 0. Two passes over the list gather its
// statistics (the maxima, then the sums of exponentials); a third gives each item's target and
// gradient (binding/cpu/ranking.cc on the CPU, cuda/ranking.cu on the GPU).
struct ListNetStats {
  float xmax = -INFINITY, rmax = -INFINITY;
  double rsum = 0, xexp = 0, rexp = 0;
};

// What the third pass needs: the log-partition of x taken about xmax, lse = log sum e^{x_i - xmax},
// and the target's normaliser. Both the loss, lse - sum t_i (x_i - xmax) (sum t_i = 1), and the
// gradient read x_i - xmax in double: at |s| = 1e8 the log-partition itself would carry float's
// ulp of the scores (8) into every term, and the loss would cancel.
struct ListNetNorm {
  double lse;
  float xmax;
  float tnorm;
  bool softmax;
  bool dropped;  // the list contributes 0
};

FL_HD ListNetNorm listnet_norm(const ListNetStats& st, ListNetTarget target, int32_t n) {
  const bool softmax = target == ListNetTarget::Softmax;
  if (n == 0 || (!softmax && st.rsum == 0)) return ListNetNorm{0, 0, 0, softmax, true};
  const float tnorm = static_cast<float>(1.0 / (softmax ? st.rexp : st.rsum));
  return ListNetNorm{std::log(st.xexp), st.xmax, tnorm, softmax, false};
}

FL_HD float listnet_target(const ListNetNorm& nm, float r, float rmax) {
  return nm.softmax ? exp_nonpos(r - rmax) * nm.tnorm : r * nm.tnorm;
}

FL_HD double listnet_centred(const ListNetNorm& nm, float x) {
  return static_cast<double>(x) - nm.xmax;
}

FL_HD float listnet_grad(const ListNetNorm& nm, float x, float t, float inv_t) {
  return (exp_nonpos(static_cast<float>(listnet_centred(nm, x) - nm.lse)) - t) * inv_t;
}

// RankNet's weight of pair (i, j), r_i > r_j (formulas D.5).
FL_HD float ranknet_weight(PairWeighting w, float ri, float rj) {
  return w == PairWeighting::LabelDiff          ? ri - rj
         : w == PairWeighting::LabelDiffSquared ? ri * ri - rj * rj
                                                : 1.0f;
}

// LambdaLoss pair weight w_ij (formulas D.4), i preferred, from the gains G (already divided by
// the ideal DCG when normalising), the inverse discounts 1 / D of the items' predicted positions
// (D = log2(2 + position)) and delta = ndcg2_delta of their distance (0 for i = j). Branch-free
// but for the scheme, which the CPU's pair loops fix at compile time.
FL_HD float lambda_weight(LambdaScheme scheme, float mu, float Gi, float Gj, float inv_di,
                          float inv_dj, float delta) {
  const float dg = std::fabs(Gi - Gj);
  const float lambda_rank = std::fabs(inv_di - inv_dj) * dg;
  const float ndcg2 = delta * dg;
  switch (scheme) {
    case LambdaScheme::LambdaRank:
      return lambda_rank;
    case LambdaScheme::NdcgLoss1:
      return Gi * inv_di;
    case LambdaScheme::NdcgLoss2:
      return ndcg2;
    case LambdaScheme::NdcgLoss2PP:
      return mu * ndcg2 + lambda_rank;
    default:
      return 1.0f;
  }
}

// LambdaLoss counts pair (i, j) when r_i > r_j; ndcgLoss1 counts every pair of the top k, i = j
// included (allRank applies no filter for it).
FL_HD bool lambda_counts(LambdaScheme scheme, float ri, float rj) {
  return scheme == LambdaScheme::NdcgLoss1 || ri > rj;
}

// 2^r - 1: the gain of relevance r, and the numerator of the ideal DCG's terms.
FL_HD double lambda_gain(float r) {
  return std::exp2(static_cast<double>(r)) - 1;
}

// ApproxNDCG (formulas D.7), a list's valid items: smooth ranks pi_i = 1 + sum_{j != i}
// sigmoid((s_j - s_i) / T), loss -sum_i G_i / log2(1 + pi_i) / IDCG, and with
// a_i = dL/dpi_i = G_i ln 2 / (IDCG (1 + pi_i) ln^2(1 + pi_i)) the gradient
// g_k = (1 / T) sum_{j != k} sigmoid'((s_k - s_j) / T) (a_j - a_k). Differences in double.
FL_HD float approx_sigmoid(float sj, float si, float inv_t) {
  return sigmoid_softplus_wide((static_cast<double>(sj) - si) * inv_t).sigmoid;
}

// Item i's a_i, given pi_i, its gain and 1 / IDCG; its loss term -G_i / log2(1 + pi_i) / IDCG is
// added to *loss.
FL_HD double approx_ndcg_weight(double pi, double gain, double inv_idcg, double* loss) {
  const double l = std::log1p(pi);
  *loss -= gain * M_LN2 / l * inv_idcg;
  return gain * M_LN2 * inv_idcg / ((1.0 + pi) * l * l);
}

// Item k's gradient from the a_j of its list.
FL_HD float approx_ndcg_grad(const float* s, const double* a, int32_t m, int32_t k, float inv_t) {
  double g = 0;
  for (int32_t j = 0; j < m; ++j) {
    if (j == k) continue;
    const float sig = approx_sigmoid(s[k], s[j], inv_t);
    g += sig * (1.0f - sig) * (a[j] - a[k]);
  }
  return static_cast<float>(g * inv_t);
}

// LambdaLoss's term for items at 0-based predicted positions i and j with scores s_i, s_j and
// gains G (divided by the ideal DCG when normalising); log2 as allRank's "binary" reduction_log.
FL_HD PairTerm lambda_pair(const LambdaParams& p, int32_t i, int32_t j, float si, float sj,
                           double Gi, double Gj) {
  const int32_t apart = i > j ? i - j : j - i;
  const float w = lambda_weight(p.scheme, p.mu, static_cast<float>(Gi), static_cast<float>(Gj),
                                1.0f / discount(i + 1), 1.0f / discount(j + 1),
                                apart == 0 ? 0.0f : ndcg2_delta(apart));
  return pair_logistic(si, sj, p.sigma, w * static_cast<float>(M_LOG2E));
}

}  // namespace fl
