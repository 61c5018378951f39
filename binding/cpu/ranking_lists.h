// The CPU kernels' list machinery, shared by ranking.cc (listwise) and ranking_pairs.cc
// (pairwise): lists run in parallel, one list per task, in chunks fixed by the problem alone;
// per-list losses are summed in double within a chunk and the chunks combined in order, so the
// result is the same for any thread count. Each list is gathered into per-thread buffers.
#pragma once

#include <algorithm>
#include <cfloat>
#include <memory>
#include <vector>

#include "fusedloss/ranking.h"
#include "fusedloss/ranking_math.h"
#include "parallel.h"
#include "simd.h"

namespace fl::ranking {

// An item of a list and its sort key.
struct Keyed {
  uint64_t key;
  int32_t item;
};

// Per-thread buffers, grown to the longest list seen and kept between calls: the gathered list
// (keys, s, r), its gradient g, and the sweeps' working arrays. Each holds n + kSlack entries: the
// sweeps read and write whole blocks of kLanes past the list's end, and one entry past that.
struct Scratch {
  static constexpr size_t kSlack = 2 * kLanes;
  std::vector<Keyed> keys;
  std::vector<float> s, r, g, m, x, y, e, enter;
  std::vector<double> R, A;
  std::vector<LseSum> L;  // the anchor form's suffix log-sum-exps
  std::vector<int32_t> p, count;
  void fit(int32_t n) {
    const size_t size = static_cast<size_t>(n) + kSlack;
    if (keys.size() >= size) return;
    keys.resize(size);
    for (auto* v : {&s, &r, &g, &m, &x, &y, &e, &enter}) v->resize(size);
    for (auto* v : {&R, &A}) v->resize(size);
    L.resize(size);
    p.resize(size);
  }
};

inline Scratch& scratch() {
  thread_local Scratch sc;
  return sc;
}

// What one list (or one chunk of lists) adds: its loss and, for RankNet, its pair count.
struct ListSum {
  double loss = 0, pairs = 0;
  Status status;
};

// Lists per chunk: about kChunkItems items, from the average list length (never the threads).
// Small enough that the last chunks even out the threads' loads (a chunk is ~20 us of ListMLE).
inline int64_t lists_per_chunk(int64_t lists, int64_t items) {
  constexpr int64_t kChunkItems = 4096;
  const int64_t avg = lists > 0 ? std::max<int64_t>(1, items / lists) : 1;
  return std::max<int64_t>(1, kChunkItems / avg);
}

// Runs chunk(b, e, scratch, part) for the chunks [b, e) of lists [0, lists) in parallel: it sums
// its lists into part in list order, stopping at the first fault (its status). The chunks are
// combined in order and the first chunk's fault is returned, so the earliest bad list is reported.
template <class Chunk>
ListSum over_list_chunks(int64_t lists, int64_t items, Chunk chunk) {
  const int64_t size = lists_per_chunk(lists, items);
  std::vector<ListSum> parts(static_cast<size_t>(chunk_count(lists, size)));
  parallel_chunks(lists, size,
                  [&](int64_t c, int64_t b, int64_t e) { chunk(b, e, scratch(), parts[c]); });
  ListSum total;
  for (const ListSum& p : parts) {
    if (!p.status.ok()) return p;
    total.loss += p.loss;
    total.pairs += p.pairs;
  }
  return total;
}

// Adds one list's result to a chunk's; false (and its status taken) at a fault.
inline bool add_list(ListSum& part, const ListSum& one) {
  if (!one.status.ok()) {
    part.status = one.status;
    return false;
  }
  part.loss += one.loss;
  part.pairs += one.pairs;
  return true;
}

// over_list_chunks with body(l, scratch) -> ListSum for one list at a time.
template <class Body>
ListSum over_lists(int64_t lists, int64_t items, Body body) {
  return over_list_chunks(lists, items, [&](int64_t b, int64_t e, Scratch& sc, ListSum& part) {
    for (int64_t l = b; l < e; ++l)
      if (!add_list(part, body(l, sc))) return;
  });
}

// Whether every item of a list of n is valid: relevance valid (at most `top`), score finite unless
// padded. A branch-free vector sweep (padded scores are read but not used); in ranking_sweeps.cc,
// compiled per ISA.
bool list_valid(const float* r, const float* s, int32_t n, float top);

// The first invalid entry of list [b, e): each item's relevance, then its score unless padded.
// The sweep first, the exact search only if it fails.
inline Status list_fault(const RankingProblem& pb, int64_t b, int64_t e, float top) {
  const bool bad = !list_valid(pb.relevance + b, pb.scores + b, static_cast<int32_t>(e - b), top);
  for (int64_t i = b; bad && i < e; ++i) {
    const float r = pb.relevance[i];
    if (!relevance_valid(r, top)) return Status::at(Fault::RelevanceInvalid, i, r);
    if (!is_padding(r) && !(std::fabs(pb.scores[i]) <= FLT_MAX))
      return Status::at(Fault::ScoreNotFinite, i, pb.scores[i]);
  }
  return Status{};
}

// Graded relevance (integers, at most about twice the list length): the valid items of a list of
// n into sc.keys by a counting sort, relevance descending and ties by index, with their scores
// and relevance in sc.s and sc.r; O(n) where a comparison sort takes O(n log n) with a
// mispredicted branch per comparison. Returns their count, or -1 if the relevance is not graded.
// The relevance was checked (>= 0 or padding). In ranking_sweeps.cc, compiled per ISA.
int32_t sort_graded(const float* r, const float* s, int32_t n, Scratch& sc);

// The valid items of list [b, b + n) into sc.keys, ordered by their keys (key(i) for local index
// i) when `sort`, else in index order (`graded`: by the counting sort where it applies), with
// their scores and relevance gathered into sc.s and sc.r. Returns their count.
template <class Key>
int32_t gather_sorted(const RankingProblem& pb, int64_t b, int32_t n, Scratch& sc, bool sort,
                      bool graded, Key key) {
  sc.fit(n);
  if (graded) {
    const int32_t m = sort_graded(pb.relevance + b, pb.scores + b, n, sc);
    if (m >= 0) return m;
  }
  int32_t m = 0;
  if (!sort) {
    // In index order: compacted without a branch per item (each slot written, kept when valid),
    // the scores and relevance copied on the way.
    for (int32_t i = 0; i < n; ++i) {
      const float r = pb.relevance[b + i];
      sc.keys[m].item = i;
      sc.s[m] = pb.scores[b + i];
      sc.r[m] = r;
      m += !is_padding(r);
    }
    return m;
  }
  for (int32_t i = 0; i < n; ++i)
    if (!is_padding(pb.relevance[b + i])) sc.keys[m++] = Keyed{key(i), i};
  std::sort(sc.keys.begin(), sc.keys.begin() + m,
            [](const Keyed& x, const Keyed& y) { return x.key < y.key; });
  for (int32_t k = 0; k < m; ++k) {
    sc.s[k] = pb.scores[b + sc.keys[k].item];
    sc.r[k] = pb.relevance[b + sc.keys[k].item];
  }
  return m;
}

// Writes scale * sc.g back to the list's items in gathered order; padded items get 0. `in_order`:
// the gather kept index order, so with no padding item k is list item k (a straight copy).
inline void scatter(int64_t b, int32_t n, int32_t m, const Scratch& sc, float scale, float* grad,
                    bool in_order = false) {
  if (in_order && m == n) {
    for (int32_t k = 0; k < n; ++k) grad[b + k] = scale * sc.g[k];
    return;
  }
  if (m < n) std::fill(grad + b, grad + b + n, 0.0f);
  for (int32_t k = 0; k < m; ++k) grad[b + sc.keys[k].item] = scale * sc.g[k];
}

// The order a loss reads a list's valid items in: by relevance (ties by index, or shuffled), by
// score (descending, ties by index), or as they come.
enum class Order { Relevance, Shuffled, Score, Index };

// Gathers list l's valid items in that order; returns their count.
inline int32_t gather(const RankingProblem& pb, int64_t l, Scratch& sc, Order order,
                      uint32_t seed) {
  const int64_t b = pb.begin(l);
  const bool shuffle = order == Order::Shuffled;
  const auto key = [&](int32_t i) {
    if (order == Order::Score)
      return (static_cast<uint64_t>(descending_bits(pb.scores[b + i])) << 32) |
             static_cast<uint32_t>(i);
    const uint32_t tie =
        tie_order(static_cast<uint32_t>(i), static_cast<uint32_t>(l), seed, shuffle);
    return relevance_key(pb.relevance[b + i], tie);
  };
  return gather_sorted(pb, b, static_cast<int32_t>(pb.end(l) - b), sc, order != Order::Index,
                       order == Order::Relevance, key);
}

struct MetricTables;  // ranking_metrics.cc

// Ranking metrics (fusedloss/ranking_metrics.h) computed list by list from a list's gathered valid
// items, in whatever order the caller gathered them: the metrics kernel's own pass, or a loss's
// (pb.metrics), so a loss returns them without a second gather. In ranking_metrics.cc.
class MetricsPass {
 public:
  // Nothing to compute when p is null.
  MetricsPass(const RankingProblem& pb, const RankMetricParams* p, double* per_list);
  ~MetricsPass();
  explicit operator bool() const { return p_ != nullptr; }
  // List l's metrics from its m valid items in sc (keys, s, r), gathered in `order`; sc.s and sc.r
  // are read, not changed.
  void list(int64_t l, const Scratch& sc, int32_t m, Order order) const;

 private:
  // The same from the items in any order and the relevance in ideal order (at least the walk's
  // reach of it); ideal null: gathered by relevance (ties in any order), the list's own.
  void ranked(int64_t l, const Scratch& sc, int32_t m, const float* ideal) const;
  // The same, the items gathered by score (descending, ties by index).
  void scored(int64_t l, const Scratch& sc, int32_t m, const float* ideal) const;
  bool wants_ndcg() const;
  // Writes list l's metrics (m valid items, `relevant` of them) from the relevance by predicted
  // rank (its first `reach` ranks), the relevance in ideal order (at least `reach` entries) and
  // the predicted rank (1-based) of the first relevant item; `graded`: every relevance value is
  // known to be a whole number below 64 (else the walk checks those it reads).
  void finish(int64_t l, int32_t m, const float* by_rank, int32_t reach, const float* ideal,
              int32_t relevant, int32_t first, bool graded) const;
  const RankingProblem* pb_;
  const RankMetricParams* p_;
  double* per_list_;
  std::unique_ptr<const MetricTables> tables_;
};

// Checks each list (relevance at most `top`), gathers its valid items and runs
// per_list(sc, m) -> ListSum on them, which leaves the gradient in sc.g (and sc.s, sc.r as they
// were); then the metrics asked of the loss (pb.metrics) from the same gathered list, and scatters
// the gradient times scale.
template <class PerList>
ListSum each_list(const RankingProblem& pb, Order order, uint32_t seed, float top, float scale,
                  PerList per_list, float* grad) {
  const MetricsPass metrics(pb, pb.metrics, pb.metrics_out);
  return over_lists(pb.lists, pb.items(), [&](int64_t l, Scratch& sc) {
    const int64_t b = pb.begin(l), e = pb.end(l);
    const Status st = list_fault(pb, b, e, top);
    if (!st.ok()) return ListSum{0, 0, st};
    const int32_t m = gather(pb, l, sc, order, seed);
    const ListSum one = m > 0 ? per_list(sc, m) : ListSum{};
    if (metrics) metrics.list(l, sc, m, order);
    scatter(b, static_cast<int32_t>(e - b), m, sc, scale, grad, order == Order::Index);
    return one;
  });
}

inline float inverse(double n) {
  return n > 0 ? static_cast<float>(1.0 / n) : 0.0f;
}

inline double mean(const ListSum& total, int64_t lists) {
  return lists > 0 ? total.loss / static_cast<double>(lists) : 0.0;
}

}  // namespace fl::ranking
