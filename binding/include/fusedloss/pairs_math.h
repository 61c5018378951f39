// Per-pair formulas of the pairwise family (formulas E), shared by the CPU kernels and the CUDA
// kernels (host+device): which pairs a loss uses, the mining thresholds, each pair's logit, and
// the pair weight G_ij = dL/dS_ij from the row statistics a first sweep reduced; then the row
// steps (host) that turn reduced statistics into those row statistics and the loss. How a
// backend reduces the statistics (tiles, warps) is its own business; what they mean is fixed here.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "fusedloss/math.h"
#include "fusedloss/pairs.h"

namespace fl {

constexpr float kMinNorm = 1e-12f;  // F.normalize's floor (formulas "Conventions")

// With normalize false the rows are taken as given, and a row's L2 norm must be at most this:
// similarities then stay within 1e8 and every scaled similarity and gradient term within float
// range, where 1e30-sized rows would overflow S to infinity. Checked by pair_input_fault.
constexpr double kMaxRawNorm = 1e4;

// Whether a row of squared norm norm2 is one the kernels take: finite and, unnormalised, within
// kMaxRawNorm (a NaN fails both tests).
FL_HD bool row_usable(bool normalize, double norm2) {
  return normalize ? norm2 <= DBL_MAX : norm2 <= kMaxRawNorm * kMaxRawNorm;
}

// Whether the normalisation backward projects a row with this scale (1 / its clamped norm): below
// the norm floor F.normalize is x / 1e-12, a plain scaling, with no projection.
FL_HD bool normalisation_projects(bool normalize, float scale) {
  return normalize & (scale < static_cast<float>(1.0 / static_cast<double>(kMinNorm)));
}

// The similarity type of a sweep: float with normalize (|S| <= 1), double without, where S (up to
// 1e8) and the logits scaled from it (gamma S^2 up to 1e18) must resolve differences of 1e-5
// between logits: a float S, whose rounding is 6e-8 |S|, times the loss's scale, did not
// (formulas E.0).
template <class T>
constexpr bool kWideSim = sizeof(T) == sizeof(double);

// A log-sum-exp reduced online: a running max and the sum of exponentials below it. Starting from
// max 0 and sum 1 counts an implicit zero logit (formulas E.1); from -inf and 0, none. The max is
// a double so that logits from a double S keep their precision.
struct Lse {
  double max = -INFINITY;
  double sum = 0;
  bool any = false;  // some logit was added (the implicit zero aside)

  FL_HD static Lse with_zero() { return Lse{0.0, 1.0, false}; }
  FL_HD double value() const { return sum > 0 ? max + std::log(sum) : -INFINITY; }
  FL_HD void add(double logit) {
    any = true;
    if (logit > max) {
      sum = sum * std::exp(max - logit) + 1;
      max = logit;
    } else {
      sum += std::exp(logit - max);
    }
  }
  FL_HD void merge(const Lse& o) {
    if (!(o.sum > 0)) return;
    any |= o.any;
    if (o.max > max) {
      sum = sum * std::exp(max - o.max) + o.sum;
      max = o.max;
    } else {
      sum += o.sum * std::exp(o.max - max);
    }
  }
};

// A row's LSE as the weights read it: with a float S, its value; with a double S (kWideSim), its
// max and the log of its sum apart, since a logit of 1e17 (circle's gamma S^2 at S = 4e7) would
// absorb the log of a count (ties), and logit - max is exact where the weight is not negligible.
struct SplitLse {
  double max, log_sum;
  FL_HD SplitLse(double m = -INFINITY, double l = 0) : max(m), log_sum(l) {}
};
FL_HD double operator-(double logit, const SplitLse& l) {
  return (logit - l.max) - l.log_sum;
}
FL_HD double operator-(const SplitLse& l, double logit) {
  return (l.max - logit) + l.log_sum;
}
FL_HD bool operator>(const SplitLse& l, double v) {
  return l.max + l.log_sum > v;
}

template <class T>
using RowLse = std::conditional_t<kWideSim<T>, SplitLse, T>;

template <class T>
FL_HD RowLse<T> row_lse(const Lse& l) {
  if constexpr (kWideSim<T>)
    return SplitLse(l.max, l.sum > 0 ? std::log(l.sum) : -INFINITY);
  else
    return static_cast<T>(l.value());
}

// A candidate pair (i, j): same label or not; `self` is the pair of a row with itself, which no
// loss uses (Multi-Similarity 'paper' drops it by its similarity instead, formulas E.1).
struct PairKind {
  bool same, self;
};

FL_HD bool is_positive(PairKind k) {
  return k.same & !k.self;
}
FL_HD bool is_negative(PairKind k) {
  return !k.same;
}

// min and max as selects: fminf / fmaxf are library calls on x86 (NaN rules), which keep loops
// scalar; the operands here are never NaN.
template <class T>
FL_HD T min_of(T a, T b) {
  return a < b ? a : b;
}
template <class T>
FL_HD T max_of(T a, T b) {
  return a > b ? a : b;
}

// exp(min(x, 0)) in float, from a logit difference x of either precision.
template <class T>
FL_HD float exp_capped(T x) {
  return exp_nonpos(static_cast<float>(min_of(x, T(0))));
}

// ---- distances (contrastive, triplet): d^2 = q_i + q_j - 2 S_ij, q the squared row norms ----

// S and q are float, rounded by a few ulps of q_i + q_j, so d^2 from them is off by about 1e-7
// (q_i + q_j): 1e-3 of d at pairs 1% apart. Below kNearPair (q_i + q_j) (pairs closer than half
// their norms) d^2 is taken again, directly from the rows: pair_d2 says when, and row_d2 does it.
constexpr float kNearPair = 0.125f;

// d^2 from S and the squared norms: kernels take this for every pair (one vector op), then
// row_d2 where pair_near says its cancellation shows.
FL_HD float pair_d2(float s, float qi, float qj) {
  return qi + qj - 2.0f * s;
}
FL_HD bool pair_near(float d2, float qi, float qj) {
  return d2 < kNearPair * (qi + qj);
}

// d^2 as the sum of squared differences of two rows, in double: a difference of floats is exact
// there and the sum has only nonnegative terms, so nothing cancels (formulas E.0). Eight partial
// sums, so the loop is not one chain of dependent adds (it vectorises).
FL_HD float row_d2(const float* a, const float* b, int32_t dim) {
  constexpr int kParts = 8;
  double part[kParts] = {};
  int32_t k = 0;
  for (; k + kParts <= dim; k += kParts)
    for (int j = 0; j < kParts; ++j) {
      const double t = static_cast<double>(a[k + j]) - b[k + j];
      part[j] += t * t;
    }
  for (; k < dim; ++k) {
    const double t = static_cast<double>(a[k]) - b[k];
    part[0] += t * t;
  }
  double sum = 0;
  for (int j = 0; j < kParts; ++j) sum += part[j];
  return static_cast<float>(sum);
}

// d from d^2. Pairs closer than 1e-3 of their norms count as coincident (d = 0, no gradient):
// dd/dS = -1/d is singular there, and the float rows' own rounding is a large part of d
// (formulas E.0).
FL_HD float distance_of(float d2, float qi, float qj) {
  return d2 > 1e-6f * (qi + qj) ? std::sqrt(d2) : 0.0f;
}

// d of rows a and b (dim floats each) from S and the squared norms, near pairs taken directly.
FL_HD float pair_distance(float s, float qi, float qj, const float* a, const float* b,
                          int32_t dim) {
  float d2 = pair_d2(s, qi, qj);
  if (pair_near(d2, qi, qj)) d2 = row_d2(a, b, dim);
  return distance_of(d2, qi, qj);
}

// ---- Multi-Similarity (formulas E.1) ----

// In the precision of the sweep's S (kWideSim).
template <class T>
struct MsConstantsOf {
  T alpha, beta, base, epsilon;
  MsSemantics semantics;
  bool mining;
};
using MsConstants = MsConstantsOf<float>;

template <class T = float>
FL_HD MsConstantsOf<T> ms_constants(const PairParams& p) {
  return MsConstantsOf<T>{static_cast<T>(p.alpha),
                          static_cast<T>(p.beta),
                          static_cast<T>(p.base),
                          static_cast<T>(p.epsilon),
                          p.semantics,
                          p.ms_mining};
}

// The unmined positive set P_i: 'paper' keeps same-label pairs with S < 1 - 1e-5 (which drops
// the self pair and exact duplicates), 'pml' drops the self pair by index.
template <class T>
FL_HD bool ms_positive(T s, PairKind k, const MsConstantsOf<T>& c) {
  const bool paper = c.semantics == MsSemantics::Paper;  // as a mask: no branch in pair loops
  return (paper & k.same & (s < T(1) - T(1e-5))) | (!paper & is_positive(k));
}

// Mining against the unmined sets' extremes: min over P_i, max over N_i. Without mining every
// pair of the sets is kept.
template <class T>
FL_HD bool ms_positive_mined(T s, T max_negative, const MsConstantsOf<T>& c) {
  return !c.mining | (s - c.epsilon < max_negative);
}
template <class T>
FL_HD bool ms_negative_mined(T s, T min_positive, const MsConstantsOf<T>& c) {
  return !c.mining | (s + c.epsilon > min_positive);
}

// Whether a half keeps any pair: its set is not empty (the extreme is finite) and, mined, the
// extreme itself is kept (it is whenever any pair is: the logits are monotone in S).
template <class T>
FL_HD bool ms_positive_any(T min_positive, T max_negative, const MsConstantsOf<T>& c) {
  return (min_positive < T(INFINITY)) & ms_positive_mined(min_positive, max_negative, c);
}
template <class T>
FL_HD bool ms_negative_any(T max_negative, T min_positive, const MsConstantsOf<T>& c) {
  return (max_negative > -T(INFINITY)) & ms_negative_mined(max_negative, min_positive, c);
}

template <class T>
FL_HD T ms_positive_logit(T s, const MsConstantsOf<T>& c) {
  return -c.alpha * (s - c.base);
}
template <class T>
FL_HD T ms_negative_logit(T s, const MsConstantsOf<T>& c) {
  return c.beta * (s - c.base);
}

// Row statistics: the mining extremes, then each half's LSE with its implicit zero logit and
// the scale its weights carry (1/B for a counted half, 0 for a skipped one).
template <class T>
struct MsRowOf {
  T min_positive, max_negative;
  RowLse<T> lse_positive, lse_negative;
  float scale_positive, scale_negative;
};
using MsRow = MsRowOf<float>;

template <class T>
FL_HD float ms_weight(const MsRowOf<T>& r, T s, PairKind k, const MsConstantsOf<T>& c) {
  // Branch-free (both logits, one exponential), so loops over a tile row vectorise; the row
  // statistics are read unconditionally, since GCC turns a load under a select into a masked
  // load, which keeps the loop scalar.
  const MsRowOf<T> row = r;
  const bool pos = ms_positive(s, k, c) & ms_positive_mined(s, row.max_negative, c);
  const bool neg = is_negative(k) & ms_negative_mined(s, row.min_positive, c);
  const T logit =
      pos ? ms_positive_logit(s, c) - row.lse_positive : ms_negative_logit(s, c) - row.lse_negative;
  const float scale = pos ? -row.scale_positive : (neg ? row.scale_negative : 0.0f);
  return scale * exp_capped(logit);
}

// ---- contrastive (formulas E.2): relu(d - m_pos) on positives, relu(m_neg - d) on negatives, each
// half the mean over its non-zero terms ----

FL_HD float contrastive_term(float d, PairKind k, const PairParams& p) {
  const float pos = max_of(d - static_cast<float>(p.pos_margin), 0.0f);
  const float neg = max_of(static_cast<float>(p.neg_margin) - d, 0.0f);
  return is_positive(k) ? pos : (is_negative(k) ? neg : 0.0f);
}

// inv_pos, inv_neg: 1 / the number of non-zero terms of each half (0 for none).
FL_HD float contrastive_weight(float d, PairKind k, const PairParams& p, float inv_pos,
                               float inv_neg) {
  const bool used = (d > 0.0f) & (contrastive_term(d, k, p) > 0.0f);
  const float inv = is_positive(k) ? -inv_pos : inv_neg;
  return used ? inv / max_of(d, 1e-30f) : 0.0f;  // dL/dd * dd/dS, dd/dS = -1/d
}

// ---- circle loss (formulas E.4); a_p, a_n are constants of the gradient, as the paper says ----

template <class T>
FL_HD T circle_slope(T s, PairKind k, T m) {
  return is_positive(k) ? -max_of(T(1) + m - s, T(0)) : max_of(s + m, T(0));
}

// a b rounded to double, never fused into a later add (GCC's -ffp-contract=fast, nvcc's fmad):
// circle's logits reach 5e17, where a product rounds by up to 32, and a pass that fused logit - max
// into one FMA saw the exact product where the pass that took the max saw the rounded one.
FL_HD double rounded_product(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  double p = a * b;
#if defined(__GNUC__) && defined(__x86_64__)
  __asm__("" : "+x"(p));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(p));
#endif
  return p;
#endif
}

template <class T>
FL_HD T circle_logit(T s, PairKind k, T m, T gamma) {
  const T delta = is_positive(k) ? T(1) - m : m;
  if constexpr (kWideSim<T>)
    return rounded_product(gamma * circle_slope(s, k, m), s - delta);
  else
    return gamma * circle_slope(s, k, m) * (s - delta);
}

// coef = sigma(Z) / (anchors counted), 0 for an anchor lacking positives or negatives.
template <class T>
struct CircleRowOf {
  RowLse<T> lse_positive, lse_negative;
  float coef;
};
using CircleRow = CircleRowOf<float>;

template <class T>
FL_HD float circle_weight(const CircleRowOf<T>& r, T s, PairKind k, T m, T gamma) {
  const bool used = (r.coef != 0.0f) & (is_positive(k) | is_negative(k));
  const RowLse<T> lse = is_positive(k) ? r.lse_positive : r.lse_negative;
  const float e = exp_capped(circle_logit(s, k, m, gamma) - lse);
  return used ? static_cast<float>(r.coef * gamma * circle_slope(s, k, m)) * e : 0.0f;
}

// ---- SupCon (formulas E.5): softmax over every a != i of S / tau, minus 1/|P| on positives ----

// coef = 1 / (base temperature * anchors with a positive), 0 for an anchor without one.
template <class T>
struct SupConRowOf {
  RowLse<T> lse;
  float inv_positives, coef;
};
using SupConRow = SupConRowOf<float>;

template <class T>
FL_HD float supcon_weight(const SupConRowOf<T>& r, T s, PairKind k, T inv_tau) {
  const float p = exp_capped(s * inv_tau - r.lse);
  const float w = r.coef * (k.same ? p - r.inv_positives : p);
  return k.self ? 0.0f : w;
}

// ---- NT-Xent as pytorch-metric-learning (formulas E.5): per positive pair (a, p),
// softplus(LSE_n(S_an / tau) - S_ap / tau) with the anchor's negatives n, mean over pairs ----

// lse_negative: LSE over the anchor's negatives (-inf for none); pull = sum over its positives
// of sigma(lse_negative - S_ap / tau); coef = 1 / (tau * positive pairs).
template <class T>
struct NtXentRowOf {
  RowLse<T> lse_negative;
  float pull, coef;
};
using NtXentRow = NtXentRowOf<float>;

template <class T>
FL_HD T ntxent_pair_logit(const NtXentRowOf<T>& r, T s, T inv_tau) {
  return r.lse_negative - s * inv_tau;
}

template <class T>
FL_HD float ntxent_weight(const NtXentRowOf<T>& r, T s, PairKind k, T inv_tau) {
  // An anchor without negatives (lse -inf): every pair's loss is 0, so is its weight.
  const bool has_negative = r.lse_negative > -INFINITY;
  const float pull = -r.coef * logistic(static_cast<float>(ntxent_pair_logit(r, s, inv_tau))).value;
  const float push = r.coef * r.pull * exp_capped(s * inv_tau - r.lse_negative);
  const float w = is_positive(k) ? pull : (is_negative(k) ? push : 0.0f);
  return has_negative ? w : 0.0f;
}

// ---- row steps (host): reduced statistics to row statistics and loss terms, in row order ----

// Multi-Similarity: the row's weights from its two mined LSEs; returns its loss term.
template <class T>
inline double ms_row(const Lse& pos, const Lse& neg, const PairParams& p, float inv_n,
                     MsRowOf<T>& r) {
  const bool both = pos.any && neg.any;
  const double lp = pos.value(), ln = neg.value();
  r.lse_positive = row_lse<T>(pos);
  r.lse_negative = row_lse<T>(neg);
  r.scale_positive = p.semantics == MsSemantics::Pml || both ? inv_n : 0.0f;
  r.scale_negative = r.scale_positive;
  return r.scale_positive > 0 ? lp / p.alpha + ln / p.beta : 0.0;
}

// The count a loss's mean divides by: 1 with per-anchor losses (row_loss, PairProblem), whose
// loss is their sum.
inline int64_t mean_count(const float* row_loss, int64_t count) {
  return row_loss ? 1 : count;
}

// Stores row i's loss term when per-anchor losses are asked for.
inline void store_row_loss(float* row_loss, int64_t i, double term) {
  if (row_loss) row_loss[i] = static_cast<float>(term);
}

// 1 / count, 0 for none (contrastive halves).
inline double inverse_count(int64_t count) {
  return count ? 1.0 / static_cast<double>(count) : 0.0;
}

// Circle loss: an anchor counts with a positive and a negative.
inline bool circle_active(const Lse& pos, const Lse& neg) {
  return pos.sum > 0 && neg.sum > 0;
}
// The row's weights (zero when inactive); returns its loss term.
template <class T>
inline double circle_row(const Lse& pos, const Lse& neg, int64_t active, CircleRowOf<T>& r) {
  r = CircleRowOf<T>{0, 0, 0};
  if (!circle_active(pos, neg)) return 0;
  const double z = pos.value() + neg.value();
  r = CircleRowOf<T>{row_lse<T>(pos), row_lse<T>(neg), static_cast<float>(sigmoid64(z) / active)};
  return softplus64(z);
}

// The count SupCon's mean divides by: the anchors with a positive, or every anchor.
inline int64_t supcon_count(const PairParams& p, int64_t with_positive, int64_t n) {
  return p.supcon_all_anchors ? n : with_positive;
}

// SupCon: the row's weights from the LSE over a != i and its positives' similarity sum (zero
// without positives); returns its loss term.
template <class T>
inline double supcon_row(const Lse& all, double pos_sum, int64_t pos_count, int64_t active,
                         const PairParams& p, SupConRowOf<T>& r) {
  r = SupConRowOf<T>{0, 0, 0};
  if (pos_count == 0) return 0;
  const double lse = all.value();
  r = SupConRowOf<T>{row_lse<T>(all), 1.0f / static_cast<float>(pos_count),
                     static_cast<float>(1.0 / (p.base_temperature * active))};
  return p.temperature / p.base_temperature *
         (lse - pos_sum / (p.temperature * static_cast<double>(pos_count)));
}

// NT-Xent: every row's coefficient, from the number of positive pairs.
inline float ntxent_coef(const PairParams& p, int64_t pairs) {
  return pairs ? static_cast<float>(1.0 / (p.temperature * pairs)) : 0.0f;
}

// ---- batch-hard triplet (formulas E.3) ----

struct Hardest {
  float pos_d = -1, neg_d = INFINITY;  // distances of the hardest positive and negative
  int64_t pos = -1, neg = -1;          // their rows (the first on ties)

  FL_HD void add(float d, int64_t j, PairKind k) {
    if (is_positive(k) && d > pos_d) pos_d = d, pos = j;
    if (is_negative(k) && d < neg_d) neg_d = d, neg = j;
  }
  // Merges the hardest of other columns, keeping the first row on ties.
  FL_HD void merge(const Hardest& o) {
    if (o.pos >= 0 && (o.pos_d > pos_d || (o.pos_d == pos_d && o.pos < pos)))
      pos_d = o.pos_d, pos = o.pos;
    if (o.neg >= 0 && (o.neg_d < neg_d || (o.neg_d == neg_d && o.neg < neg)))
      neg_d = o.neg_d, neg = o.neg;
  }
};

// An anchor's loss and dL/d(d+) (= -dL/d(d-)); false when it does not count: no positive or no
// negative, or a hinge at zero (with the soft margin every anchor with both counts).
inline bool triplet_anchor(const Hardest& h, const PairParams& p, double* loss, double* slope) {
  if (h.pos < 0 || h.neg < 0) return false;
  const double gap = static_cast<double>(h.pos_d) - h.neg_d;
  if (p.soft_margin) {
    *loss = softplus64(gap);
    *slope = sigmoid64(gap);
    return true;
  }
  if (!(gap + p.margin > 0)) return false;
  *loss = gap + p.margin;
  *slope = 1;
  return true;
}

// ---- orthogonal projection loss (formulas E.6), from class sums ----

// Sums over the batch: sum_c ||m_c||^2, ||m||^2, sum_i ||fn_i||^2, and the pair counts.
struct OplSums {
  double class_sq = 0, total_sq = 0, self = 0, pos_n = 0, same_n = 0;
};

struct OplScales {
  double pos_den, neg_den;
};

// The pair counts of the batch from its class sizes.
inline OplSums opl_counts(const LabelGroups& g) {
  OplSums s;
  for (int64_t size : g.sizes) {
    s.pos_n += static_cast<double>(size) * (size - 1);
    s.same_n += static_cast<double>(size) * size;
  }
  return s;
}

inline OplScales opl_scales(const OplSums& s, int64_t n) {
  const double neg_n = static_cast<double>(n) * n - s.same_n;
  return OplScales{s.pos_n + 1e-6, neg_n + 1e-6};
}

inline double opl_loss(const OplSums& s, const OplScales& k, double gamma) {
  return 1 - (s.class_sq - s.self) / k.pos_den + gamma * (s.total_sq - s.class_sq) / k.neg_den;
}

// dL/dfn_i in one coordinate: its class sum mc, the batch sum total and fn_i itself.
FL_HD double opl_grad(double mc, double total, double fn, const OplScales& k, double gamma) {
  return -2 * (mc - fn) / k.pos_den + 2 * gamma * (total - mc) / k.neg_den;
}

}  // namespace fl
