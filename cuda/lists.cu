// The host side of a list loss call (lists.cuh): uploads, device buffers, and the fixed-order sums
// of the per-list results.
#include <algorithm>
#include <cstring>
#include <vector>

#include "lists.cuh"
#include "reduce.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

// RankNet's mean is over the pairs of the whole batch, known once every list is done.
__global__ void divide_by_pairs(float* grad, int64_t n, const double* pairs) {
  const float f = *pairs > 0 ? static_cast<float>(1.0 / *pairs) : 0.0f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    grad[i] *= f;
}

// out = the sum of v[0, n), in a fixed order.
Status sum_into(Session& s, const double* v, int64_t n, double* partials, double* out) {
  const int blocks = grid_for(n, kRowThreads);
  FL_LAUNCH(blocks, kRowThreads, 0, s.stream(), partial_sums<double>)(v, n, partials);
  FL_CUDA_LAUNCHED("partial_sums");
  FL_LAUNCH(1, 32, 0, s.stream(), column_sums<double>)(partials, blocks, 1, out);
  FL_CUDA_LAUNCHED("column_sums");
  return Status{};
}

}  // namespace

Status list_sets(Session& s, const ListShape& sh, ListSet (&sets)[2]) {
  sets[0] = ListSet{nullptr, sh.lists, sh.longest};
  sets[1] = ListSet{};
  if (!sh.offsets || sh.longest < kBlockListMin) return Status{};
  std::vector<int32_t> ids;
  int32_t longest_short = 0;
  for (int64_t l = 0; l < sh.lists; ++l) {
    const int32_t n = sh.offsets[l + 1] - sh.offsets[l];
    if (n < kBlockListMin) {
      ids.push_back(static_cast<int32_t>(l));
      longest_short = std::max(longest_short, n);
    }
  }
  const int64_t shorts = static_cast<int64_t>(ids.size());
  if (shorts == 0) return Status{};  // every list long: one launch of blocks
  for (int64_t l = 0; l < sh.lists; ++l)
    if (sh.offsets[l + 1] - sh.offsets[l] >= kBlockListMin) ids.push_back(static_cast<int32_t>(l));
  int32_t* dev = nullptr;
  const Status st = s.upload(Slot::ListIds, ids.data(), ids.size(), &dev);
  if (!st.ok()) return st;
  sets[0] = ListSet{dev, shorts, longest_short};
  sets[1] = ListSet{dev + shorts, sh.lists - shorts, sh.longest};
  return Status{};
}

Status metric_buffers(Session& s, const ListShape& sh, int32_t count, double** values,
                      MetricSlots* slots) {
  const size_t n = static_cast<size_t>(sh.lists) * count;
  const size_t at = static_cast<size_t>(sh.items + sh.lists);
  unsigned char* buf = nullptr;
  const Status st =
      s.buffer(Slot::Metrics, n * sizeof(double) + at * MetricSlots::kBytesPerSlot, &buf);
  if (!st.ok()) return st;
  *values = reinterpret_cast<double*>(buf);
  slots->pred = reinterpret_cast<float*>(*values + n);
  slots->ideal = slots->pred + at;
  slots->above = reinterpret_cast<int32_t*>(slots->ideal + at);
  return Status{};
}

Status ListCall::prepare() {
  const ListShape& sh = shape_;
  const size_t items = static_cast<size_t>(sh.items);
  const size_t lists = static_cast<size_t>(sh.lists);
  float* scores = nullptr;
  float* relevance = nullptr;
  int32_t* offsets = nullptr;
  Status st = s_.upload(Slot::Scores, sh.scores, items, &scores);
  if (st.ok()) st = s_.upload(Slot::Labels, sh.relevance, items, &relevance);
  if (st.ok() && sh.offsets) st = s_.upload(Slot::Offsets, sh.offsets, lists + 1, &offsets);
  if (st.ok()) st = list_sets(s_, sh, sets_);
  if (st.ok()) st = s_.buffer(Slot::Grad, items, &d_.grad);
  if (st.ok()) st = s_.buffer(Slot::Rows, 2 * lists, &d_.list_loss);
  if (st.ok()) st = s_.buffer(Slot::Result, 3, &result_);
  if (st.ok())
    st =
        s_.buffer(Slot::Partials, static_cast<size_t>(grid_for(sh.lists, kRowThreads)), &partials_);
  if (st.ok() && sh.metrics) {
    d_.metrics = *sh.metrics;
    st = metric_buffers(s_, sh, d_.metrics.count, &d_.metric_values, &d_.metric_slots);
  }
  // The sorted lists: one slot per item and one per list, array after array (doubles first).
  const size_t slots = items + lists;
  unsigned char* scratch = nullptr;
  if (st.ok()) st = s_.buffer(Slot::Scratch, slots * ListArrays::kBytesPerSlot, &scratch);
  if (!st.ok()) return st;
  ListArrays& a = d_.a;
  a.R = reinterpret_cast<double*>(scratch);
  a.F = reinterpret_cast<LseSum*>(a.R + slots);
  a.L = a.F + slots;
  a.s = reinterpret_cast<float*>(a.L + slots);
  a.r = a.s + slots;
  a.g = a.r + slots;
  a.item = reinterpret_cast<int32_t*>(a.g + slots);
  a.p = a.item + slots;
  d_.scores = scores;
  d_.relevance = relevance;
  d_.offsets = offsets;
  d_.list_size = sh.list_size;
  d_.scale = scale_;
  d_.list_pairs = d_.list_loss + lists;
  d_.bad = reinterpret_cast<int*>(result_ + 1);
  FL_CUDA_CHECK(cudaMemsetAsync(result_, 0, 3 * sizeof(double), s_.stream()),
                "clearing the fault flag");
  s_.mark(Phase::Uploaded);
  return Status{};
}

Status ListCall::finish(bool per_pair, float* grad, ListResult* total, bool* flagged) {
  const int64_t lists = shape_.lists;
  Status st = sum_into(s_, d_.list_loss, lists, partials_, result_);
  if (st.ok()) st = sum_into(s_, d_.list_pairs, lists, partials_, result_ + 2);
  if (!st.ok()) return st;
  if (per_pair) {
    FL_LAUNCH(grid_for(shape_.items, kRowThreads), kRowThreads, 0, s_.stream(), divide_by_pairs)
    (d_.grad, shape_.items, result_ + 2);
    FL_CUDA_LAUNCHED("divide_by_pairs");
  }
  s_.mark(Phase::Computed);
  double result[3];
  st = s_.copy_out(result, result_, sizeof result);
  if (!st.ok()) return st;
  int bad;
  std::memcpy(&bad, &result[1], sizeof bad);
  *flagged = bad != 0;
  if (*flagged) return Status{};
  st = s_.copy_out(grad, d_.grad, static_cast<size_t>(shape_.items) * sizeof(float));
  if (st.ok() && shape_.metrics)
    st = s_.copy_out(shape_.metrics_out, d_.metric_values,
                     static_cast<size_t>(lists) * d_.metrics.count * sizeof(double));
  s_.mark(Phase::Downloaded);
  total->loss = result[0];
  total->pairs = result[2];
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
