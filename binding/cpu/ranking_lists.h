// The CPU kernels' list machinery, shared by ranking.cc (listwise) and ranking_pairs.cc
// (pairwise): lists run in parallel, one list per task, in chunks fixed by the problem alone;
// per-list losses are summed in double within a chunk and the chunks combined in order, so the
// result is the same for any thread count. Each list is gathered into per-thread buffers.
#pragma once

#include <algorithm>
#include <cfloat>
#include <vector>

#include "fusedloss/ranking.h"
#include "fusedloss/ranking_math.h"
#include "parallel.h"

namespace fl::ranking {

// An item of a list and its sort key.
struct Keyed {
  uint64_t key;
  int32_t item;
};

// Per-thread buffers, grown to the longest list seen and kept between calls: the gathered list
// (keys, s, r), its gradient g, and the sweeps' working arrays.
struct Scratch {
  std::vector<Keyed> keys;
  std::vector<float> s, r, g, m, x, y, e, enter;
  std::vector<double> R, A;
  std::vector<int32_t> p, count;
  void fit(int32_t n) {
    if (keys.size() >= static_cast<size_t>(n) + 1) return;
    const size_t size = static_cast<size_t>(n) + 1;
    keys.resize(size);
    for (auto* v : {&s, &r, &g, &m, &x, &y, &e, &enter}) v->resize(size);
    for (auto* v : {&R, &A}) v->resize(size);
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
inline int64_t lists_per_chunk(int64_t lists, int64_t items) {
  constexpr int64_t kChunkItems = 16384;
  const int64_t avg = lists > 0 ? std::max<int64_t>(1, items / lists) : 1;
  return std::max<int64_t>(1, kChunkItems / avg);
}

// Runs body(l, scratch) -> ListSum for lists [0, lists) in parallel and sums the results in list
// order within chunks and chunk order across them. A chunk stops at its first fault; the first
// chunk's fault is returned, so the earliest bad list is reported.
template <class Body>
ListSum over_lists(int64_t lists, int64_t items, Body body) {
  const int64_t chunk = lists_per_chunk(lists, items);
  std::vector<ListSum> parts(static_cast<size_t>(chunk_count(lists, chunk)));
  parallel_chunks(lists, chunk, [&](int64_t c, int64_t b, int64_t e) {
    ListSum& part = parts[c];
    for (int64_t l = b; l < e; ++l) {
      const ListSum one = body(l, scratch());
      if (!one.status.ok()) {
        part.status = one.status;
        return;
      }
      part.loss += one.loss;
      part.pairs += one.pairs;
    }
  });
  ListSum total;
  for (const ListSum& p : parts) {
    if (!p.status.ok()) return p;
    total.loss += p.loss;
    total.pairs += p.pairs;
  }
  return total;
}

// The first invalid entry of list [b, e): each item's relevance, then its score unless padded.
// A branch-free sweep first (padded scores are read but not used), the exact search only if it
// fails.
inline Status list_fault(const RankingProblem& pb, int64_t b, int64_t e, float top) {
  int32_t bad = 0;
  for (int64_t i = b; i < e; ++i) {
    const float r = pb.relevance[i];
    const bool ok =
        relevance_valid(r, top) & (is_padding(r) | (std::fabs(pb.scores[i]) <= FLT_MAX));
    bad |= !ok;
  }
  for (int64_t i = b; bad && i < e; ++i) {
    const float r = pb.relevance[i];
    if (!relevance_valid(r, top)) return Status::at(Fault::RelevanceInvalid, i, r);
    if (!is_padding(r) && !(std::fabs(pb.scores[i]) <= FLT_MAX))
      return Status::at(Fault::ScoreNotFinite, i, pb.scores[i]);
  }
  return Status{};
}

// Graded relevance (integers, at most about twice the list length): the valid items of list
// [b, b + n) into sc.keys by a counting sort, relevance descending and ties by index, in O(n)
// where a comparison sort takes O(n log n) with a mispredicted branch per comparison. The keys
// are not needed once sorted and are left as they were. Returns the count, or -1 if the relevance
// is not graded. The relevance was checked (>= 0 or padding).
inline int32_t sort_graded(const float* __restrict r, int32_t n, Scratch& sc) {
  const float limit = 2.0f * static_cast<float>(n) + 32.0f;
  float top = 0.0f;
  int32_t graded = 1;
  for (int32_t i = 0; i < n; ++i) {
    const float c = r[i] < limit ? r[i] : limit;  // in int range, so the cast is defined
    graded &= static_cast<float>(static_cast<int32_t>(c)) == r[i];
    top = r[i] > top ? r[i] : top;
  }
  if (!graded) return -1;
  // Bucket hi - r: most relevant first; padding (r = -1) lands in bucket hi + 1, after the rest.
  const int32_t hi = static_cast<int32_t>(top);
  sc.count.assign(static_cast<size_t>(hi) + 3, 0);
  int32_t* count = sc.count.data() + 1;
  for (int32_t i = 0; i < n; ++i) ++count[hi - static_cast<int32_t>(r[i])];
  for (int32_t k = 0; k <= hi; ++k) count[k] += count[k - 1];  // count[k - 1]: start of bucket k
  const int32_t valid = count[hi];
  for (int32_t i = 0; i < n; ++i) sc.keys[count[hi - static_cast<int32_t>(r[i]) - 1]++].item = i;
  return valid;
}

// The valid items of list [b, b + n) into sc.keys, ordered by their keys (key(i) for local index
// i) when `sort`, else in index order (`graded`: by the counting sort where it applies), with
// their scores and relevance gathered into sc.s and sc.r. Returns their count.
template <class Key>
int32_t gather_sorted(const RankingProblem& pb, int64_t b, int32_t n, Scratch& sc, bool sort,
                      bool graded, Key key) {
  sc.fit(n);
  int32_t m = graded ? sort_graded(pb.relevance + b, n, sc) : -1;
  if (m < 0) {
    m = 0;
    for (int32_t i = 0; i < n; ++i)
      if (!is_padding(pb.relevance[b + i])) sc.keys[m++] = Keyed{sort ? key(i) : 0, i};
    if (sort)
      std::sort(sc.keys.begin(), sc.keys.begin() + m,
                [](const Keyed& x, const Keyed& y) { return x.key < y.key; });
  }
  for (int32_t k = 0; k < m; ++k) {
    sc.s[k] = pb.scores[b + sc.keys[k].item];
    sc.r[k] = pb.relevance[b + sc.keys[k].item];
  }
  return m;
}

// Writes scale * sc.g back to the list's items in gathered order; padded items get 0.
inline void scatter(int64_t b, int32_t n, int32_t m, const Scratch& sc, float scale, float* grad) {
  std::fill(grad + b, grad + b + n, 0.0f);
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

// Checks each list (relevance at most `top`), gathers its valid items and runs
// per_list(sc, m) -> ListSum on them, which leaves the gradient in sc.g; scatters it times scale.
template <class PerList>
ListSum each_list(const RankingProblem& pb, Order order, uint32_t seed, float top, float scale,
                  PerList per_list, float* grad) {
  return over_lists(pb.lists, pb.items(), [&](int64_t l, Scratch& sc) {
    const int64_t b = pb.begin(l), e = pb.end(l);
    const Status st = list_fault(pb, b, e, top);
    if (!st.ok()) return ListSum{0, 0, st};
    const int32_t m = gather(pb, l, sc, order, seed);
    const ListSum one = m > 0 ? per_list(sc, m) : ListSum{};
    scatter(b, static_cast<int32_t>(e - b), m, sc, scale, grad);
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
