// CPU kernel of the ranking metrics (ranking_metrics.h, formulas R), and the same metrics from a
// list loss's own pass (ranking_lists.h MetricsPass). Per list: the predicted rank of each item by
// counting the items scored above it (O(n^2) over vectors, no sort by score: a sort of 40 items
// mispredicts more branches than the count takes), as one 32-bit key per score, a comparison one
// vector instruction; (score, index) 64-bit keys, which break ties, only in a list whose scores
// tie. A list whose items are mostly relevant (or gathered by index) ranks them all, and the
// counts' lane bits pick the items within the largest cutoff, written to their ranks; otherwise
// only the relevant items are ranked. One walk over those ranks and the ideal order sums every
// metric at once. The ideal order is the relevance order the losses gather; for a loss that
// gathered by index (every item is then ranked) or by score (the predicted order itself), each
// grade's count in vector lanes gives it where the grades are small integers, else a second
// gather by relevance while the list is in cache. Discounts and integer gains come from tables
// made once a call. Lists run in parallel (ranking_lists.h); each writes only its own.
#include "fusedloss/ranking_metrics.h"

#include <cstring>
#include <vector>

#include "ranking_lists.h"
#include "wide.h"

#if FL_X86_CLONES
#include <immintrin.h>  // declares the builtins lane_bits calls
#endif

namespace fl {
namespace {

using ranking::Order;
using ranking::Scratch;

// The predicted order as a signed key, smaller ranked higher: the score descending (the sign bit
// flipped so that a signed comparison orders descending_bits; score_keys for the 32-bit keys),
// then, in the 64-bit key, the item index, which breaks ties.
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

// Bit t set where lane t of a comparison's result (0 or -1 per lane) is set: one instruction
// where the ISA has it (the count's bits pick the few items ranked within the cutoffs).
template <class K>
FL_INLINE uint32_t lane_bits(const K& v) {
#if FL_X86_CLONES
  if constexpr (sizeof(K) == 64)
    return __builtin_ia32_cvtd2mask512(v);
  else if constexpr (sizeof(K) == 32)
    return static_cast<uint32_t>(__builtin_ia32_movmskps256(Vec8(v)));
  else
    return static_cast<uint32_t>(__builtin_ia32_movmskps(Vec4(v)));
#elif defined(__wasm_simd128__)
  return static_cast<uint32_t>(__builtin_wasm_bitmask_i32x4(v));
#else
  uint32_t bits = 0;
  for (uint32_t t = 0; t < sizeof(K) / sizeof(int32_t); ++t) bits |= (v[t] & 1u) << t;
  return bits;
#endif
}

// Relevance grades whose gains come from a table (Tables::gain): whole numbers below this.
constexpr int32_t kGrades = 64;

// The grades of the relevance values r + k, a vector of them: x + 2^23 rounds x to a whole
// number, so the grade is that sum's low bits; returns the lanes' bits (as lane_bits) of those
// that are not a grade below kGrades: x not whole (the sum less 2^23 is not x, bit for
// bit; -0 counts as not whole, which only costs the slower path) or too large. Comparisons go
// into lane bits one by one: GCC 12 turned the AND of two AVX-512 comparisons into scalar code.
template <class K, class V>
FL_INLINE uint32_t grades_at(const float* r, int32_t k, K* grade) {
  const V big = V{} + 8388608.0f;
  V x, rounded, back;
  load_vec(x, r + k);
  rounded = x + big;
  back = rounded - big;
  K x_bits, back_bits;
  std::memcpy(&x_bits, &x, sizeof x_bits);
  std::memcpy(&back_bits, &back, sizeof back_bits);
  std::memcpy(grade, &rounded, sizeof *grade);
  *grade -= 0x4b000000;  // the bits of 2^23
  return ~(lane_bits(*grade < K{} + kGrades) & lane_bits(back_bits == x_bits));
}

// The lanes' bits (as lane_bits) of the first n of a vector of kKeys lanes.
template <int32_t kKeys>
FL_INLINE uint32_t lanes_below(int32_t n) {
  return n >= kKeys ? (1u << kKeys) - 1 : (1u << n) - 1;
}

// The rank counts of G vectors of row keys from key + k against the m keys, one broadcast key
// at a time: above[] = how many are smaller (the items ranked above), and with kEqual, equal[] =
// how many equal (itself included).
template <class K, int G, bool kEqual, class Key>
FL_INLINE void count_rows(const Key* key, int32_t m, int32_t k, int32_t* above, int32_t* equal) {
  constexpr int32_t kKeys = sizeof(K) / sizeof(Key);
  K row[G], count[G] = {}, same[G] = {};
  for (int g = 0; g < G; ++g) std::memcpy(&row[g], key + k + g * kKeys, sizeof(K));
  for (int32_t j = 0; j < m; ++j) {
    const K b = K{} + key[j];
    for (int g = 0; g < G; ++g) {
      // AVX-512 compares into a mask, which GCC turns into a masked add of this form only; other
      // ISAs compare into a vector (a true comparison is -1) that is subtracted.
      if constexpr (sizeof(K) == 64) {
        count[g] = b < row[g] ? count[g] + 1 : count[g];
        if (kEqual) same[g] = b == row[g] ? same[g] + 1 : same[g];
      } else {
        count[g] -= b < row[g];
        if (kEqual) same[g] -= b == row[g];
      }
    }
  }
  for (int g = 0; g < G; ++g)
    for (int32_t t = 0; t < kKeys; ++t) {
      above[k + g * kKeys + t] = static_cast<int32_t>(count[g][t]);
      if (kEqual) equal[k + g * kKeys + t] = static_cast<int32_t>(same[g][t]);
    }
}

// The rank counts of the first `rows` keys, up to four row vectors per pass over the m keys.
// Reads keys and writes counts up to a vector past `rows` (the buffers have the slack).
template <class K, bool kEqual, class Key>
FL_INLINE void count_above(const Key* key, int32_t m, int32_t rows, int32_t* above,
                           int32_t* equal) {
  constexpr int32_t kKeys = sizeof(K) / sizeof(Key);
  int32_t k = 0;
  for (; k + 3 * kKeys < rows; k += 4 * kKeys) count_rows<K, 4, kEqual>(key, m, k, above, equal);
  const int32_t left = (rows - k + kKeys - 1) / kKeys;
  if (left == 3) count_rows<K, 3, kEqual>(key, m, k, above, equal);
  if (left == 2) count_rows<K, 2, kEqual>(key, m, k, above, equal);
  if (left == 1) count_rows<K, 1, kEqual>(key, m, k, above, equal);
}

// The 32-bit keys of the m scores s (descending_bits with the sign bit flipped) into key, a
// vector at a time, and the largest key (ranked below every item) in the lanes past m up to the
// vector's end; returns those lanes' end.
template <class K, class V>
FL_INLINE int32_t score_keys(const float* s, int32_t m, int32_t* key) {
  constexpr int32_t kKeys = sizeof(K) / sizeof(int32_t);
  K lane;
  for (int32_t t = 0; t < kKeys; ++t) lane[t] = t;
  int32_t k = 0;
  for (; k < m; k += kKeys) {
    V x;
    load_vec(x, s + k);
    x += 0.0f;  // -0 as +0
    K bits, out;
    std::memcpy(&bits, &x, sizeof bits);
    // Non-negative: ~bits; negative: bits with the sign bit cleared.
    const K flip = ~((bits >> 31) & 0x7fffffff);
    const K valid = lane + k < K{} + m;
    out = ((bits ^ flip) & valid) | ((K{} + INT32_MAX) & ~valid);
    std::memcpy(key + k, &out, sizeof out);
  }
  return k;
}

// The rank counts of the first `rows` of the m items of scores s by 32-bit keys (the score alone:
// twice the lanes of the 64-bit ones), with how many keys equal each row's; *tied nonzero when a
// row's score ties another item's (then only the 64-bit keys rank it). key32 and equal hold m +
// kKeySlack entries.
template <class V>
FL_INLINE void above_kernel32(const float* s, int32_t m, int32_t rows, int32_t* key32,
                              int32_t* equal, int32_t* above, int32_t* tied) {
  typedef typename IntVec<sizeof(V)>::i32 K32;
  score_keys<K32, V>(s, m, key32);
  count_above<K32, true>(key32, m, rows, above, equal);
  int32_t any = 0;
  for (int32_t k = 0; k < rows; ++k) any |= equal[k] ^ 1;
  *tied = any;
}

// Every item of the list ranked by 32-bit keys (above[k]: the items ranked above item k) and,
// where no two scores tie, the relevance r of the items ranked within `reach` (<= m) into
// by_rank[rank], a scatter of only those (the lanes' bits pick them; without ties exactly
// `reach` of them, so every rank below reach is written). *first: the best rank (0-based) of a
// relevant item, m if none; -1 when scores tie (by_rank then unwritten: only the 64-bit keys rank
// them). *graded: whether every relevance value is a grade below kGrades (when untied). The
// counts of all m items sum to m (m - 1) / 2 exactly when no two keys tie (a tie of g
// items takes g (g - 1) / 2 off), summed in 32-bit lanes: m at most kRankAllMax. Reads s and r
// up to a vector past m.
constexpr int32_t kRankAllMax = 1 << 14;  // a lane's sum of counts at most 2^28
template <class V>
FL_INLINE void rank_all_kernel(const float* s, const float* r, int32_t m, int32_t reach,
                               int32_t* key32, int32_t* above, float* by_rank, int32_t* first,
                               int32_t* graded) {
  typedef typename IntVec<sizeof(V)>::i32 K;
  constexpr int32_t kKeys = sizeof(K) / sizeof(int32_t);
  const int32_t rows = score_keys<K, V>(s, m, key32);
  count_above<K, false>(key32, m, rows, above, nullptr);
  // The lanes past m count m (every key is below theirs): never within reach, never the best.
  K total = {};
  for (int32_t k = 0; k < rows; k += kKeys) {
    K count;
    std::memcpy(&count, above + k, sizeof count);
    total += count;
  }
  int64_t sum = 0;
  for (int32_t t = 0; t < kKeys; ++t) sum += total[t];
  if (sum != static_cast<int64_t>(m) * (m - 1) / 2 + static_cast<int64_t>(rows - m) * m) {
    *first = -1;
    return;
  }
  K best = K{} + m, grade;
  uint32_t bad = 0;
  for (int32_t k = 0; k < rows; k += kKeys) {
    bad |= grades_at<K, V>(r, k, &grade) & lanes_below<kKeys>(m - k);
    K count;
    V rel;
    std::memcpy(&count, above + k, sizeof count);
    load_vec(rel, r + k);
    const K relevant = rel > V{};
    const K rank = (count & relevant) | ((K{} + m) & ~relevant);
    const K less = rank < best;
    best = (rank & less) | (best & ~less);
    for (uint32_t bits = lane_bits(count < K{} + reach); bits != 0; bits &= bits - 1) {
      const int32_t i = k + __builtin_ctz(bits);
      by_rank[above[i]] = r[i];
    }
  }
  int32_t b = m;
  for (int32_t t = 0; t < kKeys; ++t) b = std::min(b, static_cast<int32_t>(best[t]));
  *first = b;
  *graded = bad == 0;
}

// The same by the 64-bit keys of (score, item), exact with ties.
template <class V>
FL_INLINE void above_kernel64(const int64_t* key64, int32_t m, int32_t rows, int32_t* above) {
  count_above<typename IntVec<sizeof(V)>::i64, false>(key64, m, rows, above, nullptr);
}

FL_WIDE_DISPATCH(above_counts32, above_kernel32,
                 (const float* s, int32_t m, int32_t rows, int32_t* key32, int32_t* equal,
                  int32_t* above, int32_t* tied),
                 (s, m, rows, key32, equal, above, tied))
FL_WIDE_DISPATCH(rank_all, rank_all_kernel,
                 (const float* s, const float* r, int32_t m, int32_t reach, int32_t* key32,
                  int32_t* above, float* by_rank, int32_t* first, int32_t* graded),
                 (s, r, m, reach, key32, above, by_rank, first, graded))
FL_WIDE_DISPATCH(above_counts64, above_kernel64,
                 (const int64_t* key64, int32_t m, int32_t rows, int32_t* above),
                 (key64, m, rows, above))

constexpr int32_t kKeySlack = 32;  // two vectors of the widest (Vec16: 16 32-bit keys)

// Per call: discounts and reciprocals by rank, and gains of the integer grades below kGrades.
struct Tables {
  std::vector<double> discount, reciprocal;  // [rank], rank 1 to the longest list
  double gain[kGrades];
  // The largest cutoff but MRR's (INT32_MAX: the whole list): the ranks the walk reads. MRR needs
  // only the first relevant item by score, found from the counts directly.
  int32_t reach_but_mrr = 0;
  bool ndcg = false;  // the walk sums DCG terms
  bool hits = false;  // the walk counts hits (MAP, recall, precision)
  Tables(const RankMetricParams& p, int64_t longest)
      : discount(static_cast<size_t>(longest) + 1), reciprocal(static_cast<size_t>(longest) + 1) {
    for (int32_t i = 0; i < p.count; ++i) {
      const RankMetric metric = p.specs[i].metric;
      if (metric != RankMetric::Mrr)
        reach_but_mrr = std::max(reach_but_mrr, metric_cut(p.specs[i]));
      ndcg |= metric == RankMetric::Ndcg;
      hits |= metric != RankMetric::Ndcg && metric != RankMetric::Mrr;
    }
    for (int64_t q = 1; q <= longest; ++q) {
      discount[q] = metric_discount(p.discount, static_cast<int32_t>(q));
      reciprocal[q] = 1.0 / static_cast<double>(q);
    }
    for (int32_t r = 0; r < kGrades; ++r) gain[r] = metric_gain(p.gain, static_cast<float>(r));
  }
};

// x[0] + ... + x[n - 1] in four running sums (a serial sum waits on each add).
double sum4(const double* x, int32_t n) {
  double a[4] = {0, 0, 0, 0};
  int32_t q = 0;
  for (; q + 4 <= n; q += 4)
    for (int32_t j = 0; j < 4; ++j) a[j] += x[q + j];
  for (; q < n; ++q) a[q & 3] += x[q];
  return (a[0] + a[1]) + (a[2] + a[3]);
}

// The first `reach` of a list's m relevance values in descending order into ideal, by counting
// each grade's items a vector at a time (their lanes' bits), from the top grade down until reach
// are placed: *graded 0 (ideal not written) unless every value is an integer below
// kGrades. The values are >= 0 (checked, padding gathered out). Reads r up to a vector
// past m.
template <class V>
FL_INLINE void ideal_kernel(const float* r, int32_t m, int32_t reach, float* ideal,
                            int32_t* graded) {
  typedef typename IntVec<sizeof(V)>::i32 K;
  constexpr int32_t kKeys = sizeof(K) / sizeof(int32_t);
  K lane, top = {}, grade;
  for (int32_t t = 0; t < kKeys; ++t) lane[t] = t;
  uint32_t bad = 0;
  for (int32_t k = 0; k < m; k += kKeys) {
    bad |= grades_at<K, V>(r, k, &grade) & lanes_below<kKeys>(m - k);
    const K g = grade & (lane < K{} + (m - k));
    const K more = g > top;
    top = (g & more) | (top & ~more);
  }
  *graded = bad == 0;
  if (bad) return;
  int32_t g = 0;
  for (int32_t t = 0; t < kKeys; ++t) g = std::max(g, static_cast<int32_t>(top[t]));
  // The counts sum to m >= reach: q gets there before g goes below 0.
  for (int32_t q = 0; q < reach; --g) {
    int32_t n = 0;
    for (int32_t k = 0; k < m; k += kKeys) {
      grades_at<K, V>(r, k, &grade);
      n += __builtin_popcount(lane_bits(grade == K{} + g) & lanes_below<kKeys>(m - k));
    }
    for (; n > 0 && q < reach; --n) ideal[q++] = static_cast<float>(g);
  }
}

FL_WIDE_DISPATCH(ideal_by_grades, ideal_kernel,
                 (const float* r, int32_t m, int32_t reach, float* ideal, int32_t* graded),
                 (r, m, reach, ideal, graded))

// Per-thread buffers, grown to the longest list seen: the keys and counts of the relevant items,
// the relevance by predicted rank, and the walk's running sums at each rank.
struct Counts {
  std::vector<int32_t> key32, equal;
  std::vector<int64_t> key64;
  std::vector<int32_t> above, hits;
  std::vector<float> by_rank, ideal_order;
  std::vector<double> dcg, ideal, ap;
  void fit(int32_t n) {
    const size_t size = static_cast<size_t>(n) + kKeySlack + 1;
    if (above.size() >= size) return;
    for (auto* v : {&key32, &equal, &above, &hits}) v->resize(size);
    key64.resize(size);
    for (auto* v : {&by_rank, &ideal_order}) v->resize(size);
    for (auto* v : {&dcg, &ideal, &ap}) v->resize(size);
  }
};

Counts& counts() {
  thread_local Counts c;
  return c;
}

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
  if (order == Order::Relevance || order == Order::Shuffled) return ranked(l, sc, m, nullptr);
  // Gathered by index or by score: the ideal order (read by NDCG alone) from the grades' counts
  // where they are small integers, else from a gather by relevance while the list is in cache.
  Counts& c = counts();
  c.fit(m);
  const float* ideal = sc.r.data();
  if (wants_ndcg()) {
    const int32_t reach = std::min(m, tables_->reach_but_mrr);
    int32_t graded;
    ideal_by_grades(sc.r.data(), m, reach, c.ideal_order.data(), &graded);
    if (graded) {
      ideal = c.ideal_order.data();
    } else {
      thread_local Scratch own;
      gather(*pb_, l, own, Order::Relevance, 0);
      if (order == Order::Index) return ranked(l, own, m, nullptr);
      ideal = own.r.data();
    }
  }
  if (order == Order::Score) return scored(l, sc, m, ideal);
  ranked(l, sc, m, ideal);
}

void MetricsPass::ranked(int64_t l, const Scratch& sc, int32_t m, const float* ideal) const {
  Counts& c = counts();
  c.fit(m);
  // Gathered by relevance (ideal null: descending, ties in any order), the list is its own ideal
  // order and the relevant items are a prefix, the only items that need a rank (all are ranked
  // when they are most of the list); otherwise every item is ranked.
  int32_t relevant = 0;
  for (int32_t k = 0; k < m; ++k) relevant += sc.r[k] > 0.0f;
  if (relevant == 0) return finish(l, m, sc.r.data(), 0, sc.r.data(), 0, 0, false);
  int32_t rows = ideal ? m : relevant;
  if (!ideal) ideal = sc.r.data();
  const int32_t reach = std::min(m, tables_->reach_but_mrr);
  int32_t tied = 1;
  if (2 * rows > m && m <= kRankAllMax) {
    // Most items are rows: rank them all, and without ties the relevance by rank comes with it.
    int32_t first, graded;
    rank_all(sc.s.data(), sc.r.data(), m, reach, c.key32.data(), c.above.data(), c.by_rank.data(),
             &first, &graded);
    if (first >= 0)
      return finish(l, m, c.by_rank.data(), reach, ideal, relevant, first + 1, graded);
    rows = m;
  } else {
    above_counts32(sc.s.data(), m, rows, c.key32.data(), c.equal.data(), c.above.data(), &tied);
  }
  if (tied) {
    for (int32_t k = 0; k < m; ++k) c.key64[k] = score_key64(sc.s[k], sc.keys[k].item);
    above_counts64(c.key64.data(), m, rows, c.above.data());
  }
  // The relevance by predicted rank up to the walk's reach (an item ranked past it goes to a slot
  // past the end), and the best predicted rank of a relevant item (others count m past theirs).
  // Arithmetic, not conditions: GCC made branches of those, which mispredict.
  std::fill(c.by_rank.begin(), c.by_rank.begin() + reach + 1, 0.0f);
  int32_t first = m;
  for (int32_t k = 0; k < rows; ++k) {
    const int32_t q = c.above[k];
    const float r = sc.r[k];
    c.by_rank[q < reach ? q : reach] = r;
    first = std::min(first, q + (1 - static_cast<int32_t>(r > 0.0f)) * m);
  }
  finish(l, m, c.by_rank.data(), reach, ideal, relevant, first + 1, false);
}

void MetricsPass::scored(int64_t l, const Scratch& sc, int32_t m, const float* ideal) const {
  // Gathered by score (descending, ties by index): the predicted order itself.
  int32_t relevant = 0, first = 0;
  for (int32_t k = 0; k < m; ++k) relevant += sc.r[k] > 0.0f;
  while (relevant > 0 && !(sc.r[first] > 0.0f)) ++first;
  finish(l, m, sc.r.data(), std::min(m, tables_->reach_but_mrr), ideal, relevant, first + 1, false);
}

bool MetricsPass::wants_ndcg() const {
  for (int32_t i = 0; i < p_->count; ++i)
    if (p_->specs[i].metric == RankMetric::Ndcg) return true;
  return false;
}

void MetricsPass::finish(int64_t l, int32_t m, const float* by_rank, int32_t reach,
                         const float* ideal, int32_t relevant, int32_t first, bool graded) const {
  const RankMetricParams& p = *p_;
  const MetricTables& t = *tables_;
  double* out = per_list_ + l * p.count;
  MetricSums sums;
  metric_sums_clear(sums, p.count);
  if (relevant > 0) {
    Counts& c = counts();
    c.fit(m);  // a no-op after ranked's (by_rank stays where it is)
    // Running sums over the predicted ranks 1..reach: DCG, ideal DCG, hits and the precision sum
    // of average precision (a hit at rank q adds hits / q). Gain 0 adds nothing, so no branch.
    if (t.ndcg) {
      // DCG's and ideal DCG's terms by rank, the gains from the table when every grade read is a
      // small integer: known (graded), else checked on the way (a branch per rank on that cost
      // more than the rest of the walk). GCC unswitches the loop on `graded`.
      bool whole = true;
      for (int32_t q = 0; q < reach; ++q) {
        const float a = by_rank[q], b = ideal[q];
        const auto i = static_cast<int32_t>(graded ? a : std::min(a, kGrades - 1.0f));
        const auto j = static_cast<int32_t>(graded ? b : std::min(b, kGrades - 1.0f));
        if (!graded) whole &= (static_cast<float>(i) == a) & (static_cast<float>(j) == b);
        c.dcg[q] = t.gain[i] * t.discount[q + 1];
        c.ideal[q] = t.gain[j] * t.discount[q + 1];
      }
      for (int32_t q = 0; !whole && q < reach; ++q) {
        c.dcg[q] = metric_gain(p.gain, by_rank[q]) * t.discount[q + 1];
        c.ideal[q] = metric_gain(p.gain, ideal[q]) * t.discount[q + 1];
      }
    }
    if (t.hits) {
      // Hits and average precision's sum (a hit at rank q adds hits / q) by rank.
      double ap = 0;
      int32_t hits = 0;
      c.ap[0] = 0;
      c.hits[0] = 0;
      for (int32_t q = 0; q < reach; ++q) {
        const int32_t hit = by_rank[q] > 0.0f;
        hits += hit;
        ap += hit * hits * t.reciprocal[q + 1];
        c.ap[q + 1] = ap;
        c.hits[q + 1] = hits;
      }
    }
    for (int32_t i = 0; i < p.count; ++i) {
      const int32_t cut = std::min(metric_cut(p.specs[i]), m);
      double* v = sums.v + 2 * i;
      switch (p.specs[i].metric) {
        case RankMetric::Ndcg:
          v[0] = sum4(c.dcg.data(), cut);
          v[1] = sum4(c.ideal.data(), cut);
          break;
        case RankMetric::Mrr:
          v[0] = first <= cut ? t.reciprocal[first] : 0.0;
          break;
        case RankMetric::Map:
          v[0] = c.ap[cut];
          v[1] = c.hits[cut];
          break;
        default:  // recall, precision: hits
          v[0] = c.hits[cut];
      }
    }
  }
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
