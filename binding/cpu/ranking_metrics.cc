// CPU kernel of the ranking metrics (ranking_metrics.h, formulas R): per list, the valid items in
// relevance order (the losses' gather: a counting sort for graded relevance), so each item's ideal
// rank is its position and the relevant items are a prefix; then each relevant item's predicted
// rank by counting the items scored above it, a branch-free vector count, O(n x relevant) with no
// sort by score. Lists run in parallel (ranking_lists.h); each writes only its own results.
#include "fusedloss/ranking_metrics.h"

#include <vector>

#include "ranking_lists.h"

namespace fl {
namespace {

using ranking::Order;
using ranking::Scratch;

// For each of the first `relevant` items k: above[k] items of [0, m) ranked above it by score
// (descending, ties by item index) and above_rel[k] of them among the first `relevant`.
FL_SIMD_CLONES void rank_counts(const float* __restrict s, const int32_t* __restrict item,
                                int32_t m, int32_t relevant, int32_t* __restrict above,
                                int32_t* __restrict above_rel) {
  for (int32_t k = 0; k < relevant; ++k) {
    const float sk = s[k];
    const int32_t ik = item[k];
    int32_t rel = 0, rest = 0;
    for (int32_t j = 0; j < relevant; ++j) rel += (s[j] > sk) | ((s[j] == sk) & (item[j] < ik));
    for (int32_t j = relevant; j < m; ++j) rest += (s[j] > sk) | ((s[j] == sk) & (item[j] < ik));
    above_rel[k] = rel;
    above[k] = rel + rest;
  }
}

struct Counts {
  std::vector<int32_t> item, above, above_rel;
  void fit(int32_t n) {
    if (item.size() >= static_cast<size_t>(n)) return;
    for (auto* v : {&item, &above, &above_rel}) v->resize(static_cast<size_t>(n));
  }
};

// The metrics of one list, its m valid items gathered in relevance order in sc.
void list_metrics(const Scratch& sc, int32_t m, const RankMetricParams& p, double* out) {
  thread_local Counts c;
  c.fit(m);
  int32_t relevant = 0;
  while (relevant < m && sc.r[relevant] > 0.0f) ++relevant;
  for (int32_t k = 0; k < m; ++k) c.item[k] = sc.keys[k].item;
  rank_counts(sc.s.data(), c.item.data(), m, relevant, c.above.data(), c.above_rel.data());
  MetricSums sums;
  metric_sums_clear(sums, p.count);
  for (int32_t k = 0; k < relevant; ++k)
    metric_item(p, metric_gain(p.gain, sc.r[k]), c.above[k] + 1, k + 1, c.above_rel[k], sums);
  for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, sums, m, relevant);
}

}  // namespace

Status ranking_metrics_cpu(const RankingProblem& pb, const RankMetricParams& p, double* per_list) {
  const ranking::ListSum total =
      ranking::over_lists(pb.lists, pb.items(), [&](int64_t l, Scratch& sc) {
        ranking::ListSum one;
        one.status = ranking::list_fault(pb, pb.begin(l), pb.end(l), FLT_MAX);
        if (!one.status.ok()) return one;
        const int32_t m = ranking::gather(pb, l, sc, Order::Relevance, 0);
        list_metrics(sc, m, p, per_list + l * p.count);
        return one;
      });
  return total.status;
}

}  // namespace fl
