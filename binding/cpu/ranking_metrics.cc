// CPU kernel of the ranking metrics (ranking_metrics.h, formulas R), and the same metrics from a
// list loss's own pass (ranking_lists.h MetricsPass). Every metric asked for reads only the
// relevance at the predicted ranks up to the largest cutoff but MRR's (the reach), the same ranks
// of the ideal order (NDCG), and the predicted rank of the best-ranked relevant item (MRR). So per
// list: a threshold on the score keys that only the items able to rank within the reach pass (a
// few vector compares; about 13 of 40 items for a reach of 10), then their exact ranks by counting
// the items scored above each (no sort by score: a sort of 40 items mispredicts more branches than
// the count takes), by 32-bit score keys, or by 64-bit (score, index) keys where scores tie; then
// one walk over the reach sums every metric at once. The ideal order is the relevance order a loss
// gathered, else the same ranking by relevance (whose ties need no order: tied items have equal
// gains). Discounts and integer gains come from tables made once a call. Lists run in parallel
// (ranking_lists.h); each writes only its own.
#include "fusedloss/ranking_metrics.h"

#include <cstring>
#include <vector>

#include "ranking_lists.h"
#include "wide.h"

namespace fl {
namespace {

using ranking::Order;
using ranking::Scratch;

// The predicted order as a signed key, smaller ranked higher: the score descending (the sign bit
// flipped so that a signed comparison orders descending_bits), then, in the 64-bit key, the item
// index, which breaks ties. No finite score's 32-bit key is INT32_MAX (the padding below).
FL_INLINE int32_t score_key32(float s) {
  return static_cast<int32_t>(descending_bits(s) ^ 0x80000000u);
}
FL_INLINE int64_t score_key64(float s, int32_t item) {
  const uint64_t key =
      (static_cast<uint64_t>(descending_bits(s)) << 32) | static_cast<uint32_t>(item);
  return static_cast<int64_t>(key ^ (uint64_t{1} << 63));
}

// Integer vectors as wide as the ISA's float vector V (wide.h). A vector_size that depends on a
// template parameter is dropped by GCC, hence one type per width.
template <size_t Bytes>
struct IntVec;
#define FL_INT_VEC(BYTES)                                    \
  template <>                                                \
  struct IntVec<BYTES> {                                     \
    typedef int32_t i32 __attribute__((vector_size(BYTES))); \
    typedef int64_t i64 __attribute__((vector_size(BYTES))); \
  };
FL_INT_VEC(16)
FL_INT_VEC(32)
FL_INT_VEC(64)
#undef FL_INT_VEC

// Keys fall lane by lane into kGroups groups for the threshold (vectors of any width in turn).
constexpr int32_t kGroups = 16;
// Entries past a list's m in the key and count buffers: keys padded to whole groups, and the
// counts' reads and writes of up to two vectors of the widest (Vec16: 16 32-bit keys) past m.
constexpr int32_t kKeySlack = 32;

// The rank counts of m keys: above[k] = how many are smaller (the items ranked above it). Rows run
// two vectors at a time against one broadcast key. Reads up to two vectors' worth of keys past m
// and writes that many counts (the buffers have the slack).
template <class K, class Key>
FL_INLINE void count_above(const Key* key, int32_t m, int32_t* above) {
  constexpr int32_t kKeys = sizeof(K) / sizeof(Key);
  // Counted down from 0 (a true comparison is -1).
  const auto store = [&](int32_t k, const K& count) FL_LAMBDA_INLINE {
    for (int32_t t = 0; t < kKeys; ++t) above[k + t] = static_cast<int32_t>(-count[t]);
  };
  int32_t k = 0;
  for (; k + kKeys < m; k += 2 * kKeys) {
    K row0, row1, count0 = {}, count1 = {};
    std::memcpy(&row0, key + k, sizeof row0);
    std::memcpy(&row1, key + k + kKeys, sizeof row1);
    for (int32_t j = 0; j < m; ++j) {
      const K b = K{} + key[j];
      count0 += b < row0;
      count1 += b < row1;
    }
    store(k, count0);
    store(k + kKeys, count1);
  }
  if (k < m) {
    K row0, count0 = {};
    std::memcpy(&row0, key + k, sizeof row0);
    for (int32_t j = 0; j < m; ++j) count0 += (K{} + key[j]) < row0;
    store(k, count0);
  }
}

// A key at or above which no key ranks within `reach` (reach <= kGroups <= m; key padded with
// INT32_MAX to whole groups): the largest of the groups' minima with fewer than `reach` minima
// below it. At least `reach` keys (those minima) are at or below it, so a key above it ranks past
// the reach.
template <class K>
FL_INLINE int32_t reach_threshold(const int32_t* key, int32_t m, int32_t reach) {
  constexpr int32_t kKeys = sizeof(K) / sizeof(int32_t), kVecs = kGroups / kKeys;
  K low[kVecs];
  for (K& v : low) v = K{} + INT32_MAX;
  for (int32_t k = 0; k < m; k += kGroups)
    for (int32_t v = 0; v < kVecs; ++v) {
      K x;
      std::memcpy(&x, key + k + v * kKeys, sizeof x);
      low[v] = x < low[v] ? x : low[v];
    }
  int32_t minima[kGroups];
  std::memcpy(minima, low, sizeof minima);
  K below[kVecs] = {};  // counted down from 0
  for (int32_t j = 0; j < kGroups; ++j) {
    const K b = K{} + minima[j];
    for (int32_t v = 0; v < kVecs; ++v) below[v] += b < low[v];
  }
  K top = K{} + INT32_MIN;
  for (int32_t v = 0; v < kVecs; ++v) {
    const K in = below[v] > K{} - reach ? low[v] : K{} + INT32_MIN;
    top = in > top ? in : top;
  }
  int32_t t = top[0];
  for (int32_t i = 1; i < kKeys; ++i) t = top[i] > t ? top[i] : t;
  return t;
}

// How many rows top_rows found, and whether two of them tie.
struct TopRows {
  int32_t rows;
  bool tied;
};

// The items of v[0, m) that can rank within `reach` by v descending (all of them in a short list
// or for a long reach), as rows: row[i] the item, above[i] how many items have a larger value (ties
// not counted: every other item's value is smaller than the rows'). key and row_key hold
// m + kKeySlack entries.
template <class V>
FL_INLINE void top_rows_kernel(const float* v, int32_t m, int32_t reach, int32_t* key,
                               int32_t* row_key, int32_t* row, int32_t* above, TopRows* top) {
  typedef typename IntVec<sizeof(V)>::i32 K32;
  for (int32_t k = 0; k < m; ++k) key[k] = score_key32(v[k]);
  int32_t rows = m;
  const int32_t* ranked = key;
  if (m >= 2 * kGroups && reach <= kGroups) {
    for (int32_t k = m; k < m + kGroups; ++k) key[k] = INT32_MAX;
    const int32_t t = reach_threshold<K32>(key, m, reach);
    rows = 0;
    for (int32_t k = 0; k < m; ++k) {
      row[rows] = k;
      row_key[rows] = key[k];
      rows += key[k] <= t;
    }
    ranked = row_key;
  } else {
    for (int32_t k = 0; k < m; ++k) row[k] = k;
  }
  count_above<K32>(ranked, rows, above);
  // The counts sum to rows (rows - 1) / 2 exactly when no two keys tie (a tie of g takes
  // g (g - 1) / 2 off).
  int64_t sum = 0;
  for (int32_t i = 0; i < rows; ++i) sum += above[i];
  *top = TopRows{rows, sum != static_cast<int64_t>(rows) * (rows - 1) / 2};
}

// The counts of `rows` 64-bit keys of (score, item): exact with ties.
template <class V>
FL_INLINE void above_kernel64(const int64_t* key64, int32_t rows, int32_t* above) {
  count_above<typename IntVec<sizeof(V)>::i64>(key64, rows, above);
}

FL_WIDE_DISPATCH(top_rows, top_rows_kernel,
                 (const float* v, int32_t m, int32_t reach, int32_t* key, int32_t* row_key,
                  int32_t* row, int32_t* above, TopRows* top),
                 (v, m, reach, key, row_key, row, above, top))
FL_WIDE_DISPATCH(above_counts64, above_kernel64,
                 (const int64_t* key64, int32_t rows, int32_t* above), (key64, rows, above))

// Per-thread buffers, grown to the longest list seen: keys, rows and their counts, the relevance
// by predicted and ideal rank, and the walk's running sums at each rank.
struct Work {
  std::vector<int32_t> key, row_key, row, above, hits;
  std::vector<int64_t> key64;
  std::vector<float> by_rank, ideal;
  std::vector<double> dcg, ideal_dcg, ap;
  void fit(int32_t n) {
    const size_t size = static_cast<size_t>(n) + kKeySlack + 1;
    if (above.size() >= size) return;
    for (auto* v : {&key, &row_key, &row, &above, &hits}) v->resize(size);
    key64.resize(size);
    for (auto* v : {&by_rank, &ideal}) v->resize(size);
    for (auto* v : {&dcg, &ideal_dcg, &ap}) v->resize(size);
  }
};

Work& work(int32_t m) {
  thread_local Work w;
  w.fit(m);
  return w;
}

// The predicted rank (0-based) of the best-ranked relevant item of the list in sc, by 64-bit keys
// over every item: for lists whose rows held no relevant item.
int32_t first_relevant(const Scratch& sc, int32_t m) {
  int64_t best = INT64_MAX;
  for (int32_t k = 0; k < m; ++k)
    if (sc.r[k] > 0.0f) best = std::min(best, score_key64(sc.s[k], sc.keys[k].item));
  int32_t above = 0;
  for (int32_t k = 0; k < m; ++k) above += score_key64(sc.s[k], sc.keys[k].item) < best;
  return above;
}

// The relevance at predicted ranks 0 to reach - 1 into w.by_rank (w.by_rank[reach] takes the rows
// ranked past it), from the list's m items in sc in any order. Returns the predicted rank (1-based)
// of the best-ranked relevant item; the list has one.
int32_t predicted(const Scratch& sc, int32_t m, int32_t reach, Work& w) {
  TopRows top;
  top_rows(sc.s.data(), m, reach, w.key.data(), w.row_key.data(), w.row.data(), w.above.data(),
           &top);
  const int32_t rows = top.rows;
  if (top.tied) {
    for (int32_t i = 0; i < rows; ++i)
      w.key64[i] = score_key64(sc.s[w.row[i]], sc.keys[w.row[i]].item);
    above_counts64(w.key64.data(), rows, w.above.data());
  }
  // Exact ranks: each of 0 to reach - 1 is written once.
  int32_t first = m;
  for (int32_t i = 0; i < rows; ++i) {
    const int32_t q = w.above[i];
    const float r = sc.r[w.row[i]];
    w.by_rank[q < reach ? q : reach] = r;
    first = r > 0.0f && q < first ? q : first;
  }
  return (first < m ? first : first_relevant(sc, m)) + 1;
}

// The relevance in ideal order (descending) at ranks 0 to reach - 1 into w.ideal, from the list's
// m items in sc in any order.
void ideal_order(const Scratch& sc, int32_t m, int32_t reach, Work& w) {
  TopRows top;
  top_rows(sc.r.data(), m, reach, w.key.data(), w.row_key.data(), w.row.data(), w.above.data(),
           &top);
  const int32_t rows = top.rows;
  float* ideal = w.ideal.data();
  std::fill(ideal, ideal + reach, -1.0f);  // relevance is >= 0
  for (int32_t i = 0; i < rows; ++i) {
    const int32_t q = w.above[i];
    ideal[q < reach ? q : reach] = sc.r[w.row[i]];
  }
  // A tie of g items, each counted at the tie's first rank, leaves the g - 1 ranks after it to it.
  for (int32_t q = 1; q < reach; ++q)
    if (ideal[q] < 0.0f) ideal[q] = ideal[q - 1];
}

}  // namespace

namespace ranking {

// Per call: discounts and reciprocals by rank, gains of the integer grades below kGrades, and
// what the metrics asked for read.
struct MetricTables {
  static constexpr int32_t kGrades = 64;
  std::vector<double> discount, reciprocal;  // [rank], rank 1 to the longest list
  double gain[kGrades];
  // The largest cutoff but MRR's (INT32_MAX: the whole list): the ranks the walk reads. MRR needs
  // only the first relevant item by score.
  int32_t reach_but_mrr = 0;
  bool ndcg = false;  // whether the ideal order is read
  MetricTables(const RankMetricParams& p, int64_t longest)
      : discount(static_cast<size_t>(longest) + 1), reciprocal(static_cast<size_t>(longest) + 1) {
    for (int32_t i = 0; i < p.count; ++i) {
      if (p.specs[i].metric != RankMetric::Mrr)
        reach_but_mrr = std::max(reach_but_mrr, metric_cut(p.specs[i]));
      ndcg |= p.specs[i].metric == RankMetric::Ndcg;
    }
    for (int64_t q = 1; q <= longest; ++q) {
      discount[q] = metric_discount(p.discount, static_cast<int32_t>(q));
      reciprocal[q] = 1.0 / static_cast<double>(q);
    }
    for (int32_t r = 0; r < kGrades; ++r) gain[r] = metric_gain(p.gain, static_cast<float>(r));
  }
  double gain_of(MetricGain g, float r) const {
    const auto i = static_cast<int32_t>(r);
    return r < kGrades && static_cast<float>(i) == r ? gain[i] : metric_gain(g, r);
  }
};

namespace {

// Writes a list's metrics (m valid items, `relevant` of them, at least one) into out from the
// relevance by predicted rank and in ideal order (the first `reach` ranks of each) and the
// predicted rank (1-based) of the first relevant item.
void list_metrics(const RankMetricParams& p, const MetricTables& t, int32_t m, const float* by_rank,
                  int32_t reach, const float* ideal, int32_t relevant, int32_t first, Work& w,
                  double* out) {
  // Running sums over the predicted ranks 1..reach: DCG, ideal DCG, hits and the precision sum
  // of average precision (a hit at rank q adds hits / q). Gain 0 adds nothing, so no branch.
  double dcg = 0, ideal_dcg = 0, ap = 0;
  int32_t hits = 0;
  w.dcg[0] = w.ideal_dcg[0] = w.ap[0] = 0;
  w.hits[0] = 0;
  for (int32_t q = 0; q < reach; ++q) {
    const float r = by_rank[q];
    const int32_t hit = r > 0.0f;
    hits += hit;
    dcg += t.gain_of(p.gain, r) * t.discount[q + 1];
    ideal_dcg += t.gain_of(p.gain, ideal[q]) * t.discount[q + 1];
    ap += hit * hits * t.reciprocal[q + 1];
    w.dcg[q + 1] = dcg;
    w.ideal_dcg[q + 1] = ideal_dcg;
    w.ap[q + 1] = ap;
    w.hits[q + 1] = hits;
  }
  MetricSums sums;
  for (int32_t i = 0; i < p.count; ++i) {
    const int32_t cut = std::min(metric_cut(p.specs[i]), m);
    double* v = sums.v + 2 * i;
    switch (p.specs[i].metric) {
      case RankMetric::Ndcg:
        v[0] = w.dcg[cut];
        v[1] = w.ideal_dcg[cut];
        break;
      case RankMetric::Mrr:
        v[0] = first <= cut ? t.reciprocal[first] : 0.0;
        break;
      case RankMetric::Map:
        v[0] = w.ap[cut];
        v[1] = w.hits[cut];
        break;
      default:  // recall, precision: hits
        v[0] = w.hits[cut];
    }
  }
  for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, sums, m, relevant);
}

}  // namespace

MetricsPass::MetricsPass(const RankingProblem& pb, const RankMetricParams* p, double* per_list)
    : p_(p), per_list_(per_list) {
  if (!p) return;
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  tables_ = std::make_unique<const MetricTables>(*p, longest);
}

MetricsPass::~MetricsPass() = default;

void MetricsPass::list(int64_t l, const Scratch& sc, int32_t m, Order order) const {
  const RankMetricParams& p = *p_;
  double* out = per_list_ + l * p.count;
  int32_t relevant = 0;
  for (int32_t k = 0; k < m; ++k) relevant += sc.r[k] > 0.0f;
  if (relevant == 0) {
    const MetricSums none{};
    for (int32_t i = 0; i < p.count; ++i) out[i] = metric_value(p, i, none, m, 0);
    return;
  }
  Work& w = work(m);
  const int32_t reach = std::min(m, tables_->reach_but_mrr);
  // Gathered by score (descending, ties by index), the order is the predicted one itself.
  const bool scored = order == Order::Score;
  int32_t first = 1;
  if (scored)
    while (!(sc.r[first - 1] > 0.0f)) ++first;
  else
    first = predicted(sc, m, reach, w);
  // Gathered by relevance (ties by index or shuffled), the order is an ideal one. Without NDCG the
  // ideal order is not read.
  const bool gathered_ideal =
      order == Order::Relevance || order == Order::Shuffled || !tables_->ndcg;
  if (!gathered_ideal) ideal_order(sc, m, reach, w);
  list_metrics(p, *tables_, m, scored ? sc.r.data() : w.by_rank.data(), reach,
               gathered_ideal ? sc.r.data() : w.ideal.data(), relevant, first, w, out);
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
