// The ranking metrics of one list over a team (rows.cuh), shared by the metrics kernel
// (ranking_metrics.cu: the list as stored, padding included) and the list losses (lists.cuh: the
// list as the loss gathered it, in the loss's own pass). Each relevant item's predicted rank P
// (items scored above it, ties by index), its ideal rank I and the relevant items above it A are
// counted, or read off the order the items come in; the item is filed at its ranks, and the team
// then walks the ranks in order, adding ranking_metrics.h's terms. The sums run over ranks, not
// items, so a list gives the same bits in any order, for the same team width.
#pragma once

#include <cstdint>

#include "fusedloss/ranking_math.h"
#include "fusedloss/ranking_metrics.h"
#include "rows.cuh"

namespace fl {
namespace FL_GPU_NS {

// The order a list's entries come in: any (ranks counted), by relevance descending (the ideal
// order itself: relevant items first), or by score descending, ties by index (the predicted order
// itself; no padding among the entries).
enum class ItemOrder : int32_t { Any, Relevance, Score };

// One list's entries: entry j < n is an item unless its relevance is the padding mark.
struct MetricItems {
  const float* s;
  const float* r;
  const int32_t* index;  // each entry's index in its list (breaks ties); null: j itself
  int32_t n;
  __device__ int32_t at(int32_t j) const { return index ? index[j] : j; }
};

// The ranks a list's relevant items are filed at, from rank 1: the relevance at each predicted
// rank, the relevant items above it, and the relevance at each ideal rank. One slot per item and
// one per list, as ListArrays: list l's at begin(l) + l.
struct MetricSlots {
  float* pred;
  int32_t* above;
  float* ideal;
  static constexpr size_t kBytesPerSlot = 2 * sizeof(float) + sizeof(int32_t);
  __device__ MetricSlots at(int64_t k) const { return MetricSlots{pred + k, above + k, ideal + k}; }
};

// The p.count metrics of the list into out[0, p.count) (out null: an idle team, which writes
// nothing but meets every barrier). The path depends on p and the order alone, so the teams that
// share a warp meet the same barriers.
template <class Team>
__device__ void team_list_metrics(const Team& t, const RankMetricParams& p, const MetricItems& it,
                                  ItemOrder order, const MetricSlots& sl, double* out) {
  double items = 0, relevant_here = 0;
  for (int32_t j = t.lane; j < it.n; j += t.width) {
    items += is_padding(it.r[j]) ? 0 : 1;
    relevant_here += it.r[j] > 0.0f ? 1 : 0;
  }
  const auto m = static_cast<int32_t>(t.sum(items));
  const auto relevant = static_cast<int32_t>(t.sum(relevant_here));
  const int32_t cut = metric_reach(p);
  const int32_t reach = m < cut ? m : cut;  // a rank past it adds nothing
  // What the order gives is read where it is; the rest is filed.
  const float* pred = order == ItemOrder::Score ? it.r : sl.pred;
  const float* ideal = order == ItemOrder::Relevance ? it.r : sl.ideal;
  for (int32_t q = t.lane; q < reach; q += t.width) {
    sl.pred[q] = 0.0f;
    sl.ideal[q] = 0.0f;
  }
  t.sync();
  for (int32_t j = t.lane; j < it.n; j += t.width) {
    const float rj = it.r[j];
    if (!(rj > 0.0f)) continue;
    const float sj = it.s[j];
    const int32_t own = it.at(j);
    int32_t P = 1, I = 1, A = 0;
    for (int32_t k = 0; k < it.n; ++k) {
      const float rk = it.r[k];
      if (is_padding(rk)) continue;
      const float sk = it.s[k];
      const int32_t ik = it.at(k);
      const bool above = order == ItemOrder::Score ? k < j : sk > sj || (sk == sj && ik < own);
      P += above;
      A += above && rk > 0.0f;
      I += rk > rj || (rk == rj && ik < own);
    }
    if (P <= reach) {
      sl.pred[P - 1] = rj;
      sl.above[P - 1] = A;
    }
    if (order != ItemOrder::Relevance && I <= reach) sl.ideal[I - 1] = rj;
  }
  t.sync();
  MetricSums sums;
  metric_sums_clear(sums, p.count);
  const RankTerms terms{p.discount};
  for (int32_t q = t.lane; q < reach; q += t.width) {
    if (pred[q] > 0.0f)
      metric_item_predicted(p, metric_gain(p.gain, pred[q]), q + 1, sl.above[q], terms, sums);
    if (ideal[q] > 0.0f) metric_item_ideal(p, metric_gain(p.gain, ideal[q]), q + 1, terms, sums);
  }
  for (int32_t q = 0; q < 2 * p.count; ++q) sums.v[q] = t.sum(sums.v[q]);
  if (out && t.lane == 0)
    for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, sums, m, relevant);
}

}  // namespace FL_GPU_NS
}  // namespace fl
