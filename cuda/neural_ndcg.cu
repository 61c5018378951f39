// CUDA kernel of NeuralNDCG (formulas D.8): lists.cuh gathers each list's valid items in relevance
// order (the ideal DCG reads its top k); one lane of the list's team then runs neural_ndcg_list,
// the CPU kernel's own per-list code, on the list's slice of a device workspace. The work per list
// is sequential (O(iterations x m^2)); lists run in parallel.
#include <cfloat>
#include <vector>

#include "fusedloss/neural_ndcg.h"
#include "fusedloss/neural_ndcg_math.h"
#include "lists.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

struct NeuralNdcgLoss : PaddedItems {
  static constexpr ItemOrder kOrder = ItemOrder::Relevance;
  NeuralNdcgParams p;
  const int64_t* at;  // list l's workspace: work + at[l]
  double* work;

  __device__ uint64_t key(const ListData& d, int64_t, int64_t b, int32_t i) const {
    return relevance_key(d.relevance[b + i], static_cast<uint32_t>(i));
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t l) const {
    ListResult one;
    if (t.lane == 0 && v.m > 0) one.loss = neural_ndcg_list(v.s, v.r, v.m, p, work + at[l], v.g);
    return one;
  }
};

}  // namespace

Status neural_ndcg(const RankingProblem& pb, const NeuralNdcgParams& p, double* loss, float* grad) {
  *loss = 0;
  if (pb.lists == 0) return Status{};
  const float top = p.gain == MetricGain::Exp2 ? kLambdaMaxRelevance : FLT_MAX;
  // Each list's workspace, sized by its length (padding included), after the table of starts.
  const size_t lists = static_cast<size_t>(pb.lists);
  std::vector<int64_t> at(lists + 1, 0);
  for (size_t l = 0; l < lists; ++l)
    at[l + 1] = at[l] + static_cast<int64_t>(neural_ndcg_workspace(
                            static_cast<int32_t>(pb.end(l) - pb.begin(l)), p.max_iter));
  const auto make = [&](Session& s, Status* st) {
    NeuralNdcgLoss l{};
    l.top = top;
    l.p = p;
    int64_t* buf = nullptr;
    *st = s.buffer(Slot::Workspace, lists + 1 + static_cast<size_t>(at[lists]), &buf);
    if (st->ok()) *st = s.copy_in(buf, at.data(), (lists + 1) * sizeof(int64_t));
    l.at = buf;
    l.work = reinterpret_cast<double*>(buf + lists + 1);
    return l;
  };
  ListResult total;
  const Status st = run_lists(
      list_shape(pb), make, inverse_count(pb.lists), false,
      [&] { return ranking_problem_fault(pb, top); }, grad, &total);
  if (st.ok()) *loss = total.loss / static_cast<double>(pb.lists);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
