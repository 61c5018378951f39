// Ranking metrics of the listwise layout (docs/ranking.md, formulas R): NDCG, MRR, MAP, recall and
// precision, each optionally cut at k, over the same lists as the ranking losses (RankingProblem:
// padding -1 is not an item). Items are ranked by score, descending, ties by index (the order
// LambdaLoss reads); an item is relevant when its relevance is > 0. Every metric is a sum over the
// relevant items of a term that needs only the item's gain, its predicted rank P, its ideal rank I
// and how many relevant items are ranked above it, A: so the CPU and the GPU count ranks instead of
// sorting by score, and any set of metrics costs one pass. Host+device, shared by both.
#pragma once

#include <cmath>
#include <cstdint>

#include "fusedloss/math.h"
#include "fusedloss/ranking.h"

namespace fl {

enum class RankMetric : int32_t { Ndcg = 0, Mrr = 1, Map = 2, Recall = 3, Precision = 4 };
// Gain of relevance r: 2^r - 1 (TF Ranking, allRank) or r (TorchMetrics, scikit-learn).
enum class MetricGain : int32_t { Exp2 = 0, Linear = 1 };
// Discount of 1-based rank p: 1 / log2(1 + p), or 1 / p.
enum class MetricDiscount : int32_t { Log2 = 0, Reciprocal = 1 };
// A list without a relevant item: 0, 1, or left out of the mean (TorchMetrics' empty_target_action
// 'neg', 'pos', 'skip'); its per-list value is then NaN.
enum class EmptyTarget : int32_t { Neg = 0, Pos = 1, Skip = 2 };
// Average precision divided by the relevant items of the list (TF Ranking) or by those within the
// cutoff (TorchMetrics).
enum class ApDenominator : int32_t { Relevant = 0, Retrieved = 1 };

constexpr int32_t kMaxRankMetrics = 16;

struct RankMetricSpec {
  RankMetric metric = RankMetric::Ndcg;
  int32_t k = 0;  // cutoff; 0: the whole list
};

// Held by value (it crosses into a kernel's parameters as is).
struct RankMetricParams {
  RankMetricSpec specs[kMaxRankMetrics];
  int32_t count = 0;
  MetricGain gain = MetricGain::Exp2;
  MetricDiscount discount = MetricDiscount::Log2;
  EmptyTarget empty = EmptyTarget::Neg;
  ApDenominator ap = ApDenominator::Relevant;
  bool adaptive_k = true;  // precision@k over min(k, items) (TF Ranking), else over k
};

// Per list, p.count metrics into per_list[l * p.count + i]; NaN for a list left out (Skip).
Status ranking_metrics_cpu(const RankingProblem& pb, const RankMetricParams& p, double* per_list);

FL_HD double metric_gain(MetricGain g, float r) {
  return g == MetricGain::Linear ? static_cast<double>(r) : std::expm1(r * 0.6931471805599453);
}

FL_HD double metric_discount(MetricDiscount d, int32_t rank) {
  return d == MetricDiscount::Reciprocal ? 1.0 / rank : 1.0 / std::log2(1.0 + rank);
}

// Two running sums per metric: NDCG's DCG and ideal DCG, MAP's precision sum and hits.
struct MetricSums {
  double v[2 * kMaxRankMetrics];
};

FL_HD void metric_sums_clear(MetricSums& s, int32_t count) {
  for (int32_t i = 0; i < 2 * count; ++i) s.v[i] = 0;
}

FL_HD int32_t metric_cut(const RankMetricSpec& sp) {
  return sp.k > 0 ? sp.k : INT32_MAX;
}

// Discounts and reciprocals of ranks, computed (the GPU kernels' metric_item_*; the CPU walks
// ranks with tables of them, ranking_metrics.cc).
struct RankTerms {
  MetricDiscount discount;
  FL_HD double discount_of(int32_t rank) const { return metric_discount(discount, rank); }
  FL_HD double inverse(int32_t rank) const { return 1.0 / rank; }
};

// The largest cutoff of the metrics asked for: an item ranked below it, by score and ideally,
// adds nothing.
FL_HD int32_t metric_reach(const RankMetricParams& p) {
  int32_t reach = 0;
  for (int32_t i = 0; i < p.count; ++i)
    reach = reach > metric_cut(p.specs[i]) ? reach : metric_cut(p.specs[i]);
  return reach;
}

// What a relevant item of gain g adds to each metric's sums: at its predicted rank P, with A
// relevant items ranked above it, to every sum but ideal DCG (metric_item_predicted); at its ideal
// rank I, to ideal DCG (metric_item_ideal). Two halves, so that a walk over ranks (the GPU kernels,
// list_metrics.cuh) can add each term at its own rank.
template <class Ranks>
FL_HD void metric_item_predicted(const RankMetricParams& p, double g, int32_t P, int32_t A,
                                 const Ranks& t, MetricSums& s) {
  for (int32_t i = 0; i < p.count; ++i) {
    if (P > metric_cut(p.specs[i])) continue;
    double* v = s.v + 2 * i;
    switch (p.specs[i].metric) {
      case RankMetric::Ndcg:
        v[0] += g * t.discount_of(P);
        break;
      case RankMetric::Mrr:
        if (A == 0) v[0] += t.inverse(P);
        break;
      case RankMetric::Map:
        v[0] += (A + 1) * t.inverse(P);
        v[1] += 1;
        break;
      default:  // recall, precision: hits
        v[0] += 1;
    }
  }
}

template <class Ranks>
FL_HD void metric_item_ideal(const RankMetricParams& p, double g, int32_t I, const Ranks& t,
                             MetricSums& s) {
  for (int32_t i = 0; i < p.count; ++i)
    if (p.specs[i].metric == RankMetric::Ndcg && I <= metric_cut(p.specs[i]))
      s.v[2 * i + 1] += g * t.discount_of(I);
}

// Metric i of a list of m items, `relevant` of them relevant, from its sums.
FL_HD double metric_value(const RankMetricParams& p, int32_t i, const MetricSums& s, int32_t m,
                          int32_t relevant) {
  if (relevant == 0)
    return p.empty == EmptyTarget::Pos ? 1.0 : p.empty == EmptyTarget::Skip ? NAN : 0.0;
  const double* v = s.v + 2 * i;
  const int32_t k = p.specs[i].k > 0 ? p.specs[i].k : m;
  switch (p.specs[i].metric) {
    case RankMetric::Ndcg:
      return v[1] > 0 ? v[0] / v[1] : 0.0;  // ideal DCG 0: gains that underflow
    case RankMetric::Mrr:
      return v[0];
    case RankMetric::Map: {
      const double d = p.ap == ApDenominator::Relevant ? relevant : v[1];
      return d > 0 ? v[0] / d : 0.0;
    }
    case RankMetric::Recall:
      return v[0] / relevant;
    default:
      return v[0] / (p.adaptive_k && m < k ? m : k);
  }
}

}  // namespace fl
