// Lists of the ranking family, one per team of threads (rows.cuh: a lane group for short lists, a
// block for long ones): the list's valid items sorted by a key and gathered into per-list device
// arrays, then the running log-sum-exps of ranking_math.h as team scans. Lanes own fixed chunks
// and lane 0 carries sums across them in lane order, so every result is the same on every run.
#pragma once

#include <algorithm>
#include <cstdint>

#include "fusedloss/ranking_math.h"
#include "list_metrics.cuh"
#include "rows.cuh"

namespace fl {
namespace FL_GPU_NS {

// Lists at least this long get a whole block; shorter ones a group of at most 32 lanes, whose
// shared slice (carries and a sort of at most 256 keys) keeps 8 groups per block under 29 KiB.
constexpr int32_t kBlockListMin = 257;
// Lists up to this long are sorted in shared memory (12 bytes a slot: 24 KiB); longer ones are
// ranked in global memory, O(n^2 / lanes).
constexpr int32_t kSharedSortMax = 2048;

// The sorted lists in device memory: list l's item k at [begin(l) + l + k], one spare slot per
// list, so R can hold n + 1 entries.
struct ListArrays {
  double* R;      // reverse running LSE of the scores, or per-anchor values
  LseSum* F;      // forward running sums
  LseSum* L;      // the suffix log-sum-exps of the scores, (max, sum) pairs
  float* s;       // scores, sorted
  float* r;       // relevance (or weights), sorted
  float* g;       // gradient, sorted
  int32_t* item;  // index of the item in its list
  int32_t* p;     // RankList: the first position constrained below each anchor
  static constexpr size_t kBytesPerSlot =
      sizeof(double) + 2 * sizeof(LseSum) + 3 * sizeof(float) + 2 * sizeof(int32_t);
};

// One list's slice of the arrays, m of its items valid.
struct ListView {
  double* R;
  LseSum* F;
  LseSum* L;
  float* s;
  float* r;
  float* g;
  int32_t* item;
  int32_t* p;
  int32_t m;
};

__device__ __forceinline__ ListView list_view(const ListArrays& a, int64_t at) {
  return ListView{a.R + at, a.F + at,    a.L + at, a.s + at, a.r + at,
                  a.g + at, a.item + at, a.p + at, 0};
}

__device__ __forceinline__ bool is_finite(float v) {
  return fabsf(v) <= FLT_MAX;
}

// A list's loss and (RankNet, LambdaLoss) its pair count.
struct ListResult {
  double loss = 0, pairs = 0;
};

// Keys sorted in shared memory for lists of up to `longest` items: a power of two, or 0 when they
// are ranked in global memory.
inline int32_t sort_slots(int32_t longest) {
  if (longest > kSharedSortMax) return 0;
  int32_t slots = 1;
  while (slots < longest) slots *= 2;
  return slots;
}

// A team's shared slice: one carry (LseSum) per lane, then the sort's keys and item indices.
inline int team_shared_bytes(int width, int32_t slots) {
  const size_t bytes = width * sizeof(LseSum) + slots * (sizeof(uint64_t) + sizeof(int32_t));
  return static_cast<int>((bytes + 15) / 16 * 16);
}

// Sorts the items i < n of a list with is_item(i) by key(i) (ascending, distinct) and hands each
// to take(k, i) at its sorted position k; returns their count. With slots > 0 (a power of two
// >= n, the same for every team of the launch, so all lanes of a warp meet the same barriers) a
// bitonic sort in the team's shared slice; with 0 each item's position is counted against every
// other item.
template <class Team, class IsItem, class Key, class Take>
__device__ int32_t sort_items(const Team& t, int32_t n, int32_t slots, IsItem is_item, Key key,
                              Take take) {
  int32_t count = 0;
  for (int32_t i = t.lane; i < n; i += t.width) count += is_item(i) ? 1 : 0;
  const int32_t m = static_cast<int32_t>(t.sum(static_cast<double>(count)));
  if (slots == 0) {
    for (int32_t i = t.lane; i < n; i += t.width) {
      if (!is_item(i)) continue;
      const uint64_t own = key(i);
      int32_t before = 0;
      for (int32_t j = 0; j < n; ++j) before += is_item(j) && key(j) < own ? 1 : 0;
      take(before, i);
    }
    t.sync();
    return m;
  }
  uint64_t* keys = reinterpret_cast<uint64_t*>(t.shared + t.width * sizeof(LseSum));
  int32_t* items = reinterpret_cast<int32_t*>(keys + slots);
  for (int32_t i = t.lane; i < slots; i += t.width) {
    keys[i] = i < n && is_item(i) ? key(i) : ~uint64_t{0};  // absent slots sort last
    items[i] = i;
  }
  t.sync();
  for (int32_t size = 2; size <= slots; size *= 2)
    for (int32_t stride = size / 2; stride > 0; stride /= 2) {
      for (int32_t i = t.lane; i < slots; i += t.width) {
        const int32_t o = i ^ stride;
        if (o > i && (keys[i] > keys[o]) == ((i & size) == 0)) {
          const uint64_t k = keys[i];
          keys[i] = keys[o];
          keys[o] = k;
          const int32_t it = items[i];
          items[i] = items[o];
          items[o] = it;
        }
      }
      t.sync();
    }
  for (int32_t k = t.lane; k < m; k += t.width) take(k, items[k]);
  t.sync();
  return m;
}

// A running LSE over positions [0, m), forward or in reverse: push(acc, k) adds position k, then
// out(k, acc) sees the sum over the positions up to k. Each lane sweeps one contiguous chunk
// twice, the second time starting from the sum of the chunks before it.
template <class Team, class Push, class Out>
__device__ void lse_scan(const Team& t, int32_t m, bool reverse, Push push, Out out) {
  LseSum* carry = reinterpret_cast<LseSum*>(t.shared);
  const int32_t chunk = (m + t.width - 1) / t.width;
  const int32_t lo = t.lane * chunk < m ? t.lane * chunk : m;
  const int32_t hi = lo + chunk < m ? lo + chunk : m;
  auto sweep = [&](LseSum acc, bool emit) {
    for (int32_t q = 0; q < hi - lo; ++q) {
      const int32_t k = reverse ? hi - 1 - q : lo + q;
      push(acc, k);
      if (emit) out(k, acc);
    }
    return acc;
  };
  carry[t.lane] = sweep(LseSum{}, false);
  t.sync();
  if (t.lane == 0) {
    LseSum acc;
    for (int q = 0; q < t.width; ++q) {
      LseSum& c = carry[reverse ? t.width - 1 - q : q];
      const LseSum own = c;
      c = acc;
      acc = lse_merge(acc, own);
    }
  }
  t.sync();
  const LseSum before = carry[t.lane];
  t.sync();  // read before the next scan writes the carries again
  sweep(before, true);
}

// The merge of every lane's sum, in lane order, on every lane.
template <class Team>
__device__ LseSum lse_total(const Team& t, const LseSum& own) {
  LseSum* carry = reinterpret_cast<LseSum*>(t.shared);
  carry[t.lane] = own;
  t.sync();
  if (t.lane == 0) {
    LseSum acc;
    for (int q = 0; q < t.width; ++q) acc = lse_merge(acc, carry[q]);
    carry[0] = acc;
  }
  t.sync();
  const LseSum total = carry[0];
  t.sync();
  return total;
}

// L[k] = LSE_{j >= k} s_j for k < m, as its (max, sum) pair (ranking_math.h's suffix_lse).
template <class Team>
__device__ void team_suffix_lse(const Team& t, const ListView& v) {
  lse_scan(
      t, v.m, true, [&](LseSum& acc, int32_t k) { lse_push(acc, v.s[k], 1.0f); },
      [&](int32_t k, const LseSum& acc) { v.L[k] = acc; });
  t.sync();
}

// The anchors i < j with p(i) <= j (p non-decreasing, p(i) > i): a binary search.
template <class Starts>
__device__ int32_t anchors_above(Starts p, int32_t j) {
  int32_t lo = 0, hi = j;
  while (lo < hi) {
    const int32_t mid = (lo + hi) / 2;
    if (p(mid) <= j)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

// ListMLE's constraint set: each position above all later ones.
struct NextStart {
  __device__ int32_t operator()(int32_t i) const { return i + 1; }
};

// ranking_math.h's anchor form (anchor_suffix_loss) over a team: L by a reverse scan, the
// anchors' e^{-Z_i} by a forward scan, then each item's gradient from the anchors above it. Leaves
// the gradient in v.g and returns the list's loss on every lane.
template <class Team, class Starts, class Weight>
__device__ double team_anchor_loss(const Team& t, const ListView& v, Starts p, Weight a) {
  const int32_t m = v.m;
  team_suffix_lse(t, v);
  lse_scan(
      t, m, false,
      [&](LseSum& acc, int32_t i) {
        if (p(i) < m && a(i) > 0.0f)
          acc = lse_merge(acc, anchor_term(v.s[i], v.L[p(i)], a(i)).neg_z);
      },
      [&](int32_t i, const LseSum& acc) { v.F[i] = acc; });
  t.sync();
  double loss = 0;
  for (int32_t j = t.lane; j < m; j += t.width) {
    const int32_t above = anchors_above(p, j);
    float g = above > 0 ? entered_sum(v.F[above - 1], v.s[j]) : 0.0f;
    if (p(j) < m && a(j) > 0.0f) {
      const AnchorTerm own = anchor_term(v.s[j], v.L[p(j)], a(j));
      loss += own.loss;
      g += own.g;
    }
    v.g[j] = g;
  }
  return t.sum(loss);
}

// What a list op reads and writes.
struct ListData {
  const float* scores;
  const float* relevance;  // PLD: the teacher logits
  const int32_t* offsets;  // null: a list every list_size items
  int32_t list_size;
  float scale;  // the gradient's factor
  float* grad;
  double* list_loss;   // per list
  double* list_pairs;  // per list
  int* bad;            // set when an input is invalid; the host then names it
  ListArrays a;
  RankMetricParams metrics;  // asked of the loss (count 0: none), from its own pass
  double* metric_values;     // per list, metrics.count each
  MetricSlots metric_slots;
  __device__ int64_t begin(int64_t l) const { return offsets ? offsets[l] : l * list_size; }
  __device__ int64_t end(int64_t l) const { return offsets ? offsets[l + 1] : (l + 1) * list_size; }
};

// The items of RankingProblem lists: relevance -1 is padding; the others need a finite score and
// relevance in [0, top]. kOrder: the order the loss's key gathers them in, for the metrics (a loss
// that sorts by relevance or by score says so; Any is right for every order).
struct PaddedItems {
  static constexpr ItemOrder kOrder = ItemOrder::Any;
  float top;
  __device__ bool valid(const ListData& d, int64_t i) const {
    const float r = d.relevance[i];
    return relevance_valid(r, top) && (is_padding(r) || is_finite(d.scores[i]));
  }
  __device__ bool list_valid(const ListData&, int64_t) const { return true; }
  __device__ bool is_item(const ListData& d, int64_t i) const {
    return !is_padding(d.relevance[i]);
  }
};

// One list per call: checks its items, sorts and gathers them by loss.key, runs loss.run (which
// leaves the gradient in v.g) and scatters the gradient times d.scale; padding gets 0. Then the
// metrics asked of the loss from the gathered list, as the metrics kernel computes them. Row `row`
// of the launch is list ids[row] (null ids: list `row`).
template <class Loss>
struct ListsOp {
  ListData d;
  Loss loss;
  int32_t slots;
  const int32_t* ids;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t row, bool active) const {
    const int64_t l = ids ? ids[row] : row;
    const int64_t b = d.begin(l);
    const int32_t n = active ? static_cast<int32_t>(d.end(l) - b) : 0;  // idle teams: no items
    bool bad = active && !loss.list_valid(d, l);
    for (int32_t i = t.lane; i < n; i += t.width) bad = bad || !loss.valid(d, b + i);
    if (bad) atomicExch(d.bad, 1);
    ListView v = list_view(d.a, b + l);
    v.m = sort_items(
        t, n, slots, [&](int32_t i) { return loss.is_item(d, b + i); },
        [&](int32_t i) { return loss.key(d, l, b, i); },
        [&](int32_t k, int32_t i) {
          v.item[k] = i;
          v.s[k] = d.scores[b + i];
          v.r[k] = d.relevance[b + i];
        });
    const ListResult one = loss.run(t, v, l);
    t.sync();
    for (int32_t k = t.lane; k < v.m; k += t.width) d.grad[b + v.item[k]] = d.scale * v.g[k];
    for (int32_t i = t.lane; i < n; i += t.width)
      if (!loss.is_item(d, b + i)) d.grad[b + i] = 0.0f;
    if (active && t.lane == 0) {
      d.list_loss[l] = one.loss;
      d.list_pairs[l] = one.pairs;
    }
    if (d.metrics.count > 0)
      team_list_metrics(t, d.metrics, MetricItems{v.s, v.r, v.item, v.m}, Loss::kOrder,
                        d.metric_slots.at(b + l),
                        active ? d.metric_values + l * d.metrics.count : nullptr);
  }
};

// The lists of a call, as the host sees them.
struct ListShape {
  const float* scores;
  const float* relevance;
  const int32_t* offsets;  // null: a list every list_size items
  int64_t lists;
  int32_t list_size;
  int64_t items;
  int32_t longest;
  const RankMetricParams* metrics = nullptr;  // asked of a loss, or null (RankingProblem's)
  double* metrics_out = nullptr;
};

// Lists launched together: `count` of them, ids[0, count) (null: all lists, in order), none
// longer than `longest`.
struct ListSet {
  const int32_t* ids;
  int64_t count;
  int32_t longest;
};

// The launch sets of a call's lists (the lists uploaded to the device): short lists (a lane group
// each) and long lists (a block each) of a ragged batch apart, so one long list does not give
// every short one a block. The metrics kernel takes the same sets as the losses, so a list gets a
// team of the same width, and its metrics the same bits, from either.
Status list_sets(Session& s, const ListShape& sh, ListSet (&sets)[2]);

// Runs launch(set) for each nonempty set.
template <class Launch>
Status each_set(const ListSet (&sets)[2], Launch launch) {
  for (const ListSet& set : sets) {
    if (set.count == 0) continue;
    const Status st = launch(set);
    if (!st.ok()) return st;
  }
  return Status{};
}

// Device buffers of `count` metrics per list (values) and their rank slots.
Status metric_buffers(Session& s, const ListShape& sh, int32_t count, double** values,
                      MetricSlots* slots);

// The device side of one call of a list loss (lists.cu): prepare uploads the lists and sizes the
// buffers, launch runs a loss over them (and the metrics asked of it), finish sums the list
// results and copies the gradient and the metrics out.
class ListCall {
 public:
  ListCall(Session& s, const ListShape& shape, float scale) : s_(s), shape_(shape), scale_(scale) {}
  Status prepare();
  template <class Loss>
  Status launch(const Loss& loss) {
    return each_set(sets_, [&](const ListSet& set) {
      const int32_t slots = sort_slots(set.longest);
      return launch_teams(s_, ListsOp<Loss>{d_, loss, slots, set.ids}, set.count, set.longest,
                          kBlockListMin,
                          [&](int width) { return team_shared_bytes(width, slots); });
    });
  }
  // per_pair: the gradient is divided by the batch's pair count (RankNet). flagged: the device
  // found an invalid input (then nothing is copied out).
  Status finish(bool per_pair, float* grad, ListResult* total, bool* flagged);

 private:
  Session& s_;
  ListShape shape_;
  float scale_;
  ListData d_{};
  double* result_ = nullptr;  // [0] summed losses, [1] the fault flag, [2] summed pairs
  double* partials_ = nullptr;
  ListSet sets_[2] = {};  // short lists, then long ones
};

// 1 / n as the gradient's scale (0 for none), as the CPU kernels take it.
inline float inverse_count(int64_t n) {
  return n > 0 ? static_cast<float>(1.0 / static_cast<double>(n)) : 0.0f;
}

inline ListShape list_shape(const RankingProblem& pb) {
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  return ListShape{pb.scores,
                   pb.relevance,
                   pb.offsets,
                   pb.lists,
                   pb.list_size,
                   pb.items(),
                   static_cast<int32_t>(longest),
                   pb.metrics,
                   pb.metrics_out};
}

// One list loss on the device: the list losses and pair counts summed into total, the gradient
// (times scale; per_pair: then over the batch's pairs) into grad, the metrics the shape asks for
// into its metrics_out. make_loss(session, &status)
// uploads what the loss reads and returns it. When the device flags an input, fault() names it as
// the CPU would.
template <class MakeLoss, class Fault>
Status run_lists(const ListShape& shape, MakeLoss make_loss, float scale, bool per_pair,
                 Fault fault, float* grad, ListResult* total) {
  Session s;
  ListCall call(s, shape, scale);
  Status st = s.status();
  if (st.ok()) st = call.prepare();
  if (st.ok()) {
    const auto loss = make_loss(s, &st);
    if (st.ok()) st = call.launch(loss);
  }
  bool flagged = false;
  if (st.ok()) st = call.finish(per_pair, grad, total, &flagged);
  if (!st.ok() || !flagged) return st;
  st = fault();
  return st.ok() ? cuda_fault(cudaErrorUnknown, "the device flagged an input the host finds valid")
                 : st;
}

// A loss whose inputs are all in the list arrays: make_loss for run_lists.
template <class Loss>
auto loss_as_is(const Loss& loss) {
  return [loss](Session&, Status*) { return loss; };
}

}  // namespace FL_GPU_NS
}  // namespace fl
