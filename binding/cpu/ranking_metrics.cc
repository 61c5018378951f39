// CPU kernel of the ranking metrics (ranking_metrics.h, formulas R), and the same metrics from a
// list loss's own pass (ranking_lists.h MetricsPass): per list, each relevant item's predicted rank
// by counting the items scored above it, O(n x relevant) with no sort by score: 8 relevant items at
// a time against each item of the list, in vector lanes. The metrics kernel gathers the valid items
// in relevance order (the losses' gather: a counting sort for graded relevance), so each item's
// ideal rank is its position and the relevant items are a prefix; a loss that gathered them in
// another order (by index, by score) gathers the list again by relevance while it is in cache.
// Only the items that can add to a metric reach metric_item. Discounts and integer gains come from
// tables made once a call. Lists run in parallel (ranking_lists.h); each writes only its own.
#include "fusedloss/ranking_metrics.h"

#include <cstring>
#include <vector>

#include "ranking_lists.h"
#include "wide.h"

namespace fl {
namespace {

using ranking::Order;
using ranking::Scratch;

// 8 ranks a block (16, a zmm register, ran 10x slower: GCC split the vectors through memory).
typedef int32_t Int16 __attribute__((vector_size(32)));
static_assert(sizeof(Int16) == sizeof(Vec8), "a lane of ranks per lane of scores");
constexpr int32_t kBlock = 8;
static_assert(Scratch::kSlack >= kBlock, "a block read past a list stays in the scratch's slack");

// For each of the first `relevant` items k: above[k], the items of [0, m) ranked above it by
// score (descending, ties by item index), and above_rel[k], those among the first `relevant`.
// Reads and writes up to kBlock - 1 entries past `relevant` (the buffers have that slack).
FL_ISA_BODY void rank_counts(const float* __restrict s, const int32_t* __restrict item, int32_t m,
                             int32_t relevant, int32_t* __restrict above,
                             int32_t* __restrict above_rel) {
  for (int32_t k = 0; k < relevant; k += kBlock) {
    Vec8 sk;
    Int16 ik;
    std::memcpy(&sk, s + k, sizeof sk);
    std::memcpy(&ik, item + k, sizeof ik);
    Int16 count = {};
    const auto add = [&](int32_t j) FL_LAMBDA_INLINE {
      const Vec8 sj = Vec8{} + s[j];
      count -= (sj > sk) | ((sj == sk) & ((Int16{} + item[j]) < ik));  // true is -1
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
  // The cutoff past which an item (by score and ideally) adds to no metric but MRR, which counts
  // only the first relevant item by score (metric_item: A = 0).
  int32_t reach_but_mrr = 0;
  Tables(const RankMetricParams& p, int64_t longest)
      : discount(static_cast<size_t>(longest) + 1), reciprocal(static_cast<size_t>(longest) + 1) {
    for (int32_t i = 0; i < p.count; ++i)
      if (p.specs[i].metric != RankMetric::Mrr)
        reach_but_mrr = std::max(reach_but_mrr, metric_cut(p.specs[i]));
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
  std::vector<int32_t> item, above, above_rel, adds;
  void fit(int32_t n) {
    const size_t size = static_cast<size_t>(n) + kBlock;
    if (item.size() >= size) return;
    for (auto* v : {&item, &above, &above_rel, &adds}) v->resize(size);
  }
};

}  // namespace

namespace ranking {

struct MetricTables : Tables {
  using Tables::Tables;
};

MetricsPass::MetricsPass(const RankingProblem& pb, const RankMetricParams* p, double* per_list)
    : pb_(&pb), p_(p), per_list_(per_list) {
  if (!p) return;
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  tables_ = std::make_unique<const MetricTables>(*p, longest);
}

MetricsPass::~MetricsPass() = default;

void MetricsPass::list(int64_t l, const Scratch& sc, int32_t m, Order order) const {
  if (order != Order::Relevance && order != Order::Shuffled) {
    // Gathered by index or by score: gather the list again, by relevance, while it is in cache
    // (measured cheaper than moving the relevant items to the front and counting their ideal
    // ranks).
    thread_local Scratch own;
    ranked(l, own, gather(*pb_, l, own, Order::Relevance, 0));
    return;
  }
  ranked(l, sc, m);
}

void MetricsPass::ranked(int64_t l, const Scratch& sc, int32_t m) const {
  thread_local Counts c;
  c.fit(m);
  const RankMetricParams& p = *p_;
  const MetricTables& t = *tables_;
  // Relevance descending (ties in any order): the relevant items are a prefix (counted without a
  // branch per item: the loop's exit was a mispredicted branch a list), each item's ideal rank is
  // its position.
  int32_t relevant = 0;
  for (int32_t k = 0; k < m; ++k) relevant += sc.r[k] > 0.0f;
  for (int32_t k = 0; k < m; ++k) c.item[k] = sc.keys[k].item;
  FL_ISA_CALL(
      rank_counts(sc.s.data(), c.item.data(), m, relevant, c.above.data(), c.above_rel.data()));
  // The items that add to a metric, listed without a branch per item (whether one does is as good
  // as random), then their terms.
  const int32_t reach = t.reach_but_mrr;
  int32_t adding = 0;
  for (int32_t k = 0; k < relevant; ++k) {
    c.adds[adding] = k;
    adding += (k < reach) | (c.above[k] < reach) | (c.above_rel[k] == 0);
  }
  MetricSums sums;
  metric_sums_clear(sums, p.count);
  for (int32_t q = 0; q < adding; ++q) {
    const int32_t k = c.adds[q];
    metric_item(p, t.gain_of(p.gain, sc.r[k]), c.above[k] + 1, k + 1, c.above_rel[k], t, sums);
  }
  double* out = per_list_ + l * p.count;
  for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, sums, m, relevant);
}

}  // namespace ranking

Status ranking_metrics_cpu(const RankingProblem& pb, const RankMetricParams& p, double* per_list) {
  const ranking::MetricsPass metrics(pb, &p, per_list);
  const ranking::ListSum total =
      ranking::over_lists(pb.lists, pb.items(), [&](int64_t l, Scratch& sc) {
        ranking::ListSum one;
        one.status = ranking::list_fault(pb, pb.begin(l), pb.end(l), FLT_MAX);
        if (!one.status.ok()) return one;
        const int32_t m = ranking::gather(pb, l, sc, Order::Relevance, 0);
        metrics.list(l, sc, m, Order::Relevance);
        return one;
      });
  return total.status;
}

}  // namespace fl
