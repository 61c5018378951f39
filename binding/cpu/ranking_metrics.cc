// CPU kernel of the ranking metrics (ranking_metrics.h, formulas R): per list, the valid items in
// relevance order (the losses' gather: a counting sort for graded relevance), so each item's ideal
// rank is its position and the relevant items are a prefix; then each relevant item's predicted
// rank by counting the items scored above it, O(n x relevant) with no sort by score: 8 relevant
// items at a time against each item of the list, in vector lanes. Discounts and integer gains come
// from tables made once a call. Lists run in parallel (ranking_lists.h); each writes only its own.
#include "fusedloss/ranking_metrics.h"

#include <cstring>
#include <vector>

#include "ranking_lists.h"
#include "wide.h"

namespace fl {
namespace {

using ranking::Order;
using ranking::Scratch;

typedef int32_t Int8 __attribute__((vector_size(32)));
static_assert(sizeof(Int8) == sizeof(Vec8), "a lane of ranks per lane of scores");

// For each of the first `relevant` items k: above[k], the items of [0, m) ranked above it by
// score (descending, ties by item index), and above_rel[k], those among the first `relevant`.
// Reads and writes up to kLanes - 1 entries past `relevant` (the buffers have that slack).
FL_ISA_BODY void rank_counts(const float* __restrict s, const int32_t* __restrict item, int32_t m,
                             int32_t relevant, int32_t* __restrict above,
                             int32_t* __restrict above_rel) {
  for (int32_t k = 0; k < relevant; k += kLanes) {
    Vec8 sk;
    Int8 ik;
    std::memcpy(&sk, s + k, sizeof sk);
    std::memcpy(&ik, item + k, sizeof ik);
    Int8 count = {};
    const auto add = [&](int32_t j) FL_LAMBDA_INLINE {
      const Vec8 sj = Vec8{} + s[j];
      count -= (sj > sk) | ((sj == sk) & ((Int8{} + item[j]) < ik));  // true is -1
    };
    for (int32_t j = 0; j < relevant; ++j) add(j);
    std::memcpy(above_rel + k, &count, sizeof count);
    for (int32_t j = relevant; j < m; ++j) add(j);
    std::memcpy(above + k, &count, sizeof count);
  }
}

// Per call: discounts and reciprocals by rank, and gains of the integer grades below kGrades.
struct Tables {
  static constexpr int32_t kGrades = 64;
  std::vector<double> discount, reciprocal;  // [rank], rank 1 to the longest list
  double gain[kGrades];
  int32_t reach;
  Tables(const RankMetricParams& p, int64_t longest)
      : discount(static_cast<size_t>(longest) + 1),
        reciprocal(static_cast<size_t>(longest) + 1),
        reach(metric_reach(p)) {
    for (int64_t q = 1; q <= longest; ++q) {
      discount[q] = metric_discount(p.discount, static_cast<int32_t>(q));
      reciprocal[q] = 1.0 / static_cast<double>(q);
    }
    for (int32_t r = 0; r < kGrades; ++r) gain[r] = metric_gain(p.gain, static_cast<float>(r));
  }
  double discount_of(int32_t rank) const { return discount[rank]; }
  double inverse(int32_t rank) const { return reciprocal[rank]; }
  double gain_of(MetricGain g, float r) const {
    const auto i = static_cast<int32_t>(r);
    return r < kGrades && static_cast<float>(i) == r ? gain[i] : metric_gain(g, r);
  }
};

struct Counts {
  std::vector<int32_t> item, above, above_rel;
  void fit(int32_t n) {
    const size_t size = static_cast<size_t>(n) + kLanes;
    if (item.size() >= size) return;
    for (auto* v : {&item, &above, &above_rel}) v->resize(size);
  }
};

// The metrics of one list, its m valid items gathered in relevance order in sc.
void list_metrics(const Scratch& sc, int32_t m, const RankMetricParams& p, const Tables& t,
                  double* out) {
  thread_local Counts c;
  c.fit(m);
  int32_t relevant = 0;
  while (relevant < m && sc.r[relevant] > 0.0f) ++relevant;
  for (int32_t k = 0; k < m; ++k) c.item[k] = sc.keys[k].item;
  FL_ISA_CALL(
      rank_counts(sc.s.data(), c.item.data(), m, relevant, c.above.data(), c.above_rel.data()));
  MetricSums sums;
  metric_sums_clear(sums, p.count);
  // Items in relevance order: past the reach ideally, only those ranked within it by score count.
  for (int32_t k = 0; k < relevant; ++k)
    if (k < t.reach || c.above[k] < t.reach)
      metric_item(p, t.gain_of(p.gain, sc.r[k]), c.above[k] + 1, k + 1, c.above_rel[k], t, sums);
  for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, sums, m, relevant);
}

}  // namespace

Status ranking_metrics_cpu(const RankingProblem& pb, const RankMetricParams& p, double* per_list) {
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  const Tables tables(p, longest);
  const ranking::ListSum total =
      ranking::over_lists(pb.lists, pb.items(), [&](int64_t l, Scratch& sc) {
        ranking::ListSum one;
        one.status = ranking::list_fault(pb, pb.begin(l), pb.end(l), FLT_MAX);
        if (!one.status.ok()) return one;
        const int32_t m = ranking::gather(pb, l, sc, Order::Relevance, 0);
        list_metrics(sc, m, p, tables, per_list + l * p.count);
        return one;
      });
  return total.status;
}

}  // namespace fl
