// CUDA kernel of the ranking metrics (ranking_metrics.h, formulas R): a team per list (rows.cuh:
// a lane group for short lists, a block for long ones). Each lane takes relevant items and counts,
// over the whole list in global memory, the items scored above it (its predicted rank), those of
// them that are relevant, and the items above it in the relevance order (its ideal rank): no sort.
// The per-item terms are summed over the team in a fixed order, so every run gives the same result.
#include <cfloat>

#include "fusedloss/ranking_math.h"
#include "fusedloss/ranking_metrics.h"
#include "lists.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

struct MetricsOp {
  const float* scores;
  const float* relevance;
  const int32_t* offsets;  // null: a list every list_size items
  int32_t list_size;
  RankMetricParams p;
  double* per_list;
  int* bad;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t l, bool active) const {
    const int64_t b = offsets ? offsets[l] : l * list_size;
    const int32_t n =
        active ? static_cast<int32_t>((offsets ? offsets[l + 1] : b + list_size) - b) : 0;
    const float* s = scores + b;
    const float* r = relevance + b;
    bool flagged = false;
    double valid = 0, relevant = 0;
    MetricSums sums;
    metric_sums_clear(sums, p.count);
    for (int32_t i = t.lane; i < n; i += t.width) {
      const float ri = r[i];
      if (!relevance_valid(ri, FLT_MAX) || (!is_padding(ri) && !is_finite(s[i]))) flagged = true;
      if (flagged || is_padding(ri)) continue;
      valid += 1;
      if (!(ri > 0.0f)) continue;
      relevant += 1;
      const float si = s[i];
      int32_t rank = 1, ideal = 1, above_rel = 0;
      for (int32_t j = 0; j < n; ++j) {
        const float rj = r[j];
        if (is_padding(rj)) continue;
        const bool above = s[j] > si || (s[j] == si && j < i);
        rank += above;
        above_rel += above && rj > 0.0f;
        ideal += rj > ri || (rj == ri && j < i);
      }
      metric_item(p, metric_gain(p.gain, ri), rank, ideal, above_rel, RankTerms{p.discount}, sums);
    }
    if (flagged) atomicExch(bad, 1);
    const auto m = static_cast<int32_t>(t.sum(valid));
    const auto rel = static_cast<int32_t>(t.sum(relevant));
    for (int32_t q = 0; q < 2 * p.count; ++q) sums.v[q] = t.sum(sums.v[q]);
    if (active && t.lane == 0)
      for (int32_t i = 0; i < p.count; ++i)
        per_list[l * p.count + i] = metric_value(p, i, sums, m, rel);
  }
};

}  // namespace

Status ranking_metrics(const RankingProblem& pb, const RankMetricParams& p, double* per_list) {
  // Nothing to rank: every list is empty, which the host answers as the CPU does.
  if (pb.items() == 0 || p.count == 0) return ranking_metrics_cpu(pb, p, per_list);
  const ListShape shape = list_shape(pb);
  Session s;
  Status st = s.status();
  float* scores = nullptr;
  float* relevance = nullptr;
  int32_t* offsets = nullptr;
  double* out = nullptr;
  int* flag = nullptr;
  const auto items = static_cast<size_t>(shape.items);
  const size_t values = static_cast<size_t>(pb.lists) * p.count;
  if (st.ok()) st = s.upload(Slot::Scores, pb.scores, items, &scores);
  if (st.ok()) st = s.upload(Slot::Labels, pb.relevance, items, &relevance);
  if (st.ok() && pb.offsets)
    st = s.upload(Slot::Offsets, pb.offsets, static_cast<size_t>(pb.lists) + 1, &offsets);
  if (st.ok()) st = s.buffer(Slot::Rows, values, &out);
  if (st.ok()) st = s.buffer(Slot::Result, 1, &flag);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int), s.stream()), "clearing the fault flag");
  s.mark(Phase::Uploaded);
  const MetricsOp op{scores, relevance, offsets, pb.list_size, p, out, flag};
  st = launch_teams(s, op, pb.lists, shape.longest, kBlockListMin, [](int) { return 0; });
  if (!st.ok()) return st;
  s.mark(Phase::Computed);
  int bad = 0;
  st = s.copy_out(&bad, flag, sizeof bad);
  if (!st.ok()) return st;
  if (bad != 0) {
    st = ranking_problem_fault(pb, FLT_MAX);
    return st.ok()
               ? cuda_fault(cudaErrorUnknown, "the device flagged an input the host finds valid")
               : st;
  }
  st = s.copy_out(per_list, out, values * sizeof(double));
  s.mark(Phase::Downloaded);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
