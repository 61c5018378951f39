// CUDA kernel of the ranking metrics (ranking_metrics.h, formulas R): a team per list (rows.cuh:
// a lane group for short lists, a block for long ones), launched in the list losses' sets
// (lists.cuh), running list_metrics.cuh on the list as stored in global memory: no sort. The list
// losses run the same code in their own pass when a call asks them for metrics, and give the same
// bits.
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
  const int32_t* ids;  // row r is list ids[r]; null: list r
  RankMetricParams p;
  MetricSlots slots;
  double* per_list;
  int* bad;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t row, bool active) const {
    const int64_t l = ids ? ids[row] : row;
    const int64_t b = offsets ? offsets[l] : l * list_size;
    const int32_t n =
        active ? static_cast<int32_t>((offsets ? offsets[l + 1] : b + list_size) - b) : 0;
    const float* s = scores + b;
    const float* r = relevance + b;
    bool flagged = false;
    for (int32_t i = t.lane; i < n; i += t.width)
      flagged =
          flagged || !relevance_valid(r[i], FLT_MAX) || (!is_padding(r[i]) && !is_finite(s[i]));
    if (flagged) atomicExch(bad, 1);
    team_list_metrics(t, p, MetricItems{s, r, nullptr, n}, ItemOrder::Any, slots.at(b + l),
                      active ? per_list + l * p.count : nullptr);
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
  MetricSlots slots{};
  int* flag = nullptr;
  ListSet sets[2] = {};
  const auto items = static_cast<size_t>(shape.items);
  if (st.ok()) st = s.upload(Slot::Scores, pb.scores, items, &scores);
  if (st.ok()) st = s.upload(Slot::Labels, pb.relevance, items, &relevance);
  if (st.ok() && pb.offsets)
    st = s.upload(Slot::Offsets, pb.offsets, static_cast<size_t>(pb.lists) + 1, &offsets);
  if (st.ok()) st = list_sets(s, shape, sets);
  if (st.ok()) st = metric_buffers(s, shape, p.count, &out, &slots);
  if (st.ok()) st = s.buffer(Slot::Result, 1, &flag);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(flag, 0, sizeof(int), s.stream()), "clearing the fault flag");
  s.mark(Phase::Uploaded);
  st = each_set(sets, [&](const ListSet& set) {
    const MetricsOp op{scores, relevance, offsets, pb.list_size, set.ids, p, slots, out, flag};
    return launch_teams(s, op, set.count, set.longest, kBlockListMin, [](int) { return 0; });
  });
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
  st = s.copy_out(per_list, out, static_cast<size_t>(pb.lists) * p.count * sizeof(double));
  s.mark(Phase::Downloaded);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
