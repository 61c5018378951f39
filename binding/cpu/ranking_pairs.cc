// CPU kernels of the pairwise losses (formulas D.4 to D.6): RankNet, the pairwise hinge and
// LambdaLoss loop over the pairs of each list, O(n^2) as the losses are pairwise by nature;
// LambdaLoss first sorts by score (the ranks its weights read) and by relevance (the ideal DCG).
// The logistic losses visit each unordered pair once for both of its directions (one exponential
// serves both), a row of pairs at a time in vector blocks.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "fusedloss/ranking.h"
#include "ranking_lists.h"
#include "rows.h"
#include "wide.h"

namespace fl {

using ranking::ListSum;
using ranking::Order;
using ranking::Scratch;

namespace {

typedef int32_t Lanes __attribute__((vector_size(32)));
typedef double Vec8d __attribute__((vector_size(64)));
static_assert(sizeof(Vec8) == kLanes * sizeof(float), "a block is one Vec8");

// The weights of a pair's two directions, (i, j) and (j, i); the loops zero a direction that does
// not count.
struct Weights {
  float ij, ji;
};

// The loss of the float pair loop in double lanes, its terms summed first in float lanes flushed
// every kBlockSteps blocks when they are bounded (float_terms), rows.h's practice.
struct LossLanes {
  Vec8d sum = {};
  Vec8 part = {};
  int32_t steps = 0;
  FL_INLINE void add(const Vec8& terms) {
    part += terms;
    if (++steps == kBlockSteps) flush();
  }
  FL_INLINE void flush() {
    sum += __builtin_convertvector(part, Vec8d);
    part = Vec8{};
    steps = 0;
  }
};

// Lanes per batch of the float pair loop (see logistic_rows).
constexpr int32_t kBatch = 2048;

// Per-thread buffers of a batch of pairs, kept between calls: u, e = exp(-|u|), log1p(e) and the
// weights of both directions, with a block of slack (a row's last block reads past its end).
struct PairBatch {
  std::vector<float> u, e, lp, w, w2;
};

PairBatch& pair_batch() {
  thread_local PairBatch b;
  if (b.u.empty())
    for (auto* v : {&b.u, &b.e, &b.lp, &b.w, &b.w2}) v->resize(kBatch + kLanes);
  return b;
}

// Clang's cost model (Emscripten's, for wasm simd128) found these loops not worth vectorising;
// its 4 lanes are one v128 (or SSE, NEON) register.
#if defined(__clang__)
#define FL_VECTORISE _Pragma("clang loop vectorize(enable) vectorize_width(4)")
#else
#define FL_VECTORISE
#endif

// Row i's pairs j in [b, end) into a batch from its lane 0: u_j = sigma (s_j - s_i), and unless
// `uniform` the weights weigh(i, j). Functions of their own so the __restrict parameters tell GCC
// that the rows do not overlap the inputs.
template <class Weigh>
FL_INLINE void batch_row(const float* __restrict s, int32_t i, int32_t b, int32_t end, float sigma,
                         Weigh weigh, bool uniform, float* __restrict u, float* __restrict w,
                         float* __restrict w2) {
  const float si = s[i];
  FL_VECTORISE
  for (int32_t j = b; j < end; ++j) u[j - b] = sigma * (s[j] - si);
  if (uniform) return;
  FL_VECTORISE
  for (int32_t j = b; j < end; ++j) {
    const Weights wt = weigh(i, j);
    w[j - b] = wt.ij;
    w2[j - b] = wt.ji;
  }
}

// The batch's n lanes of e and log1p(e): plain loops over the batch, whose short bodies keep many
// lanes in flight (in one pass with the blocks below, each block's long chain of dependent
// operations set the pace of the wasm build).
FL_INLINE void batch_terms(int32_t n, const float* __restrict u, float* __restrict e,
                           float* __restrict lp) {
  FL_VECTORISE
  for (int32_t t = 0; t < n; ++t) e[t] = exp_nonpos(-std::fabs(u[t]));
  FL_VECTORISE
  for (int32_t t = 0; t < n; ++t) lp[t] = log1p_unit(e[t]);
}

// The logistic pairs i < j < k of a list (formulas D.4, D.5) with u = sigma (s_j - s_i) in float
// (float_pairs). Row i's pairs are Vec8 blocks from j = i + 1, taken in order a batch of up to
// kBatch pairs at a time (the rows packed, without padding): their u and weights (batch_row; the
// weigh(i, j) of every pair when `uniform`), then e and log1p(e) (batch_terms), then block by
// block the directions with r_i > r_j (every one when all_pairs) and j < k weighed, their terms
// (logistic_both) added into per-lane sums and the gradient. The loss goes into double lanes,
// through float lanes flushed every kBlockSteps blocks when float_terms. The lanes are reduced in
// a fixed order, so the result is the same on any thread. g must be zeroed over [0, k + kLanes).
template <class Weigh>
FL_INLINE ListSum logistic_rows(const float* __restrict s, const float* __restrict r, int32_t k,
                                float sigma, float* __restrict g, Weigh weigh, bool uniform,
                                bool all_pairs, bool float_terms) {
  PairBatch& pb = pair_batch();
  float* __restrict u = pb.u.data();
  float* __restrict e = pb.e.data();
  float* __restrict lp = pb.lp.data();
  float* __restrict w = pb.w.data();
  float* __restrict w2 = pb.w2.data();
  const Lanes lane = {0, 1, 2, 3, 4, 5, 6, 7};
  LossLanes loss;
  Lanes counted = {};  // minus the directions counted, when not all_pairs
  double pairs = 0;
  Vec8 row = {};         // row i's gradient sums
  int32_t i = 0, b = 1;  // the next block: row i, from j = b
  while (i + 1 < k) {
    // The rows from block (i, b) on, each row's pairs from the next: whole rows, or whole blocks of
    // the last row that does not fit.
    int32_t fill_i = i, fill_b = b, n = 0;
    while (fill_i + 1 < k) {
      const int32_t room = k - fill_b <= kBatch - n ? k - fill_b : (kBatch - n) / kLanes * kLanes;
      if (room == 0) break;
      batch_row(s, fill_i, fill_b, fill_b + room, sigma, weigh, uniform, u + n, w + n, w2 + n);
      n += room;
      fill_b += room;
      if (fill_b == k) fill_b = ++fill_i + 1;
    }
    batch_terms(n, u, e, lp);
    for (int32_t q = 0; q < n;) {
      // Lanes past the row's end hold the next row's pairs (or the slack): finite, and weighed 0.
      Vec8 ub, eb, lb, wb, w2b, rj, gb;
      load_vec(ub, u + q);
      load_vec(eb, e + q);
      load_vec(lb, lp + q);
      load_vec(rj, r + b);
      if (uniform) {
        const Weights wt = weigh(i, b);
        wb = Vec8{} + wt.ij;
        w2b = Vec8{} + wt.ji;
      } else {
        load_vec(wb, w + q);
        load_vec(w2b, w2 + q);
      }
      // Past k, r_j as r_i: neither direction counts. Masks of float comparisons alone: in the
      // wasm build, and-ing two masks of 8 lanes went through 16-bit lanes one by one.
      const Vec8 ri = Vec8{} + r[i];
      const Vec8 rk = lane + b < k ? rj : ri;
      Vec8 c;
      if (all_pairs) {
        const Lanes in = lane + b < k;
        const Vec8 a = in ? wb : Vec8{}, bw = in ? w2b : Vec8{};
        const LogisticBoth<Vec8, Vec8> f = logistic_both(ub, eb, lb);
        if (float_terms)
          loss.add(a * f.softplus_up + bw * f.softplus_down);
        else
          loss.sum +=
              __builtin_convertvector(a, Vec8d) * __builtin_convertvector(f.softplus_up, Vec8d) +
              __builtin_convertvector(bw, Vec8d) * __builtin_convertvector(f.softplus_down, Vec8d);
        c = a * sigma * f.sigmoid_up - bw * sigma * f.sigmoid_down;
      } else {
        // One direction at most, r_i > r_j or r_j > r_i, weighed alike both ways: the term of u,
        // or of -u with the sign of its c turned (the same values as both directions' terms with
        // a weight of 0 for the other, without their selects).
        const Lanes flip = rk > ri;
        const Vec8 a = rk != ri ? wb : Vec8{};
        counted += rk != ri;
        const LogisticBoth<Vec8, Vec8> f = logistic_both(flip ? -ub : ub, eb, lb);
        if (float_terms)
          loss.add(a * f.softplus_up);
        else
          loss.sum +=
              __builtin_convertvector(a, Vec8d) * __builtin_convertvector(f.softplus_up, Vec8d);
        const Vec8 cu = a * sigma * f.sigmoid_up;
        c = flip ? -cu : cu;
      }
      row += c;
      load_vec(gb, g + b);
      store_vec(g + b, gb + c);
      q += std::min(kLanes, k - b);
      b += kLanes;
      if (b >= k) {  // row i done
        loss.flush();
        float gi = 0.0f;
        for (int qi = 0; qi < kLanes; ++qi) gi += row[qi];
        g[i] -= gi;
        if (all_pairs) pairs += 2 * (k - i - 1);
        row = Vec8{};
        b = ++i + 1;
      }
    }
  }
  ListSum one;
  for (int q = 0; q < kLanes; ++q) {
    one.loss += loss.sum[q];
    pairs -= counted[q];
  }
  one.pairs = pairs;
  return one;
}

// The same pairs with u in double, for lists whose score differences may pass float's range:
// term(i, j) -> PairTerm of both directions, with their count.
template <class Term>
FL_INLINE ListSum wide_rows(int32_t k, float* g, Term term) {
  ListSum one;
  for (int32_t i = 0; i + 1 < k; ++i)
    for (int32_t j = i + 1; j < k; ++j) {
      int32_t count = 0;
      const PairTerm t = term(i, j, count);
      one.loss += t.loss;
      one.pairs += count;
      g[i] -= t.c;
      g[j] += t.c;
    }
  return one;
}

// Whether sigma (s_j - s_i) stays within float's range, with room for the rounding of the
// difference and the product, over a list whose scores span `spread`: then the logistic pair loops
// take it in float, else in double.
bool float_pairs(double spread, float sigma) {
  constexpr double kRoom = 0.5 * FLT_MAX;
  return spread <= kRoom && spread * sigma <= kRoom;
}

// Whether the loss terms of such a list, with weights at most w_max, stay within float's range
// when a lane adds kBlockSteps of them (softplus(u) <= |u| + 1 each way): then they are summed in
// float lanes flushed to double (rows.h's practice), else taken in double one by one.
bool float_terms(double spread, float sigma, double w_max) {
  return 2.0 * kBlockSteps * w_max * (spread * sigma + 1) <= FLT_MAX;
}

// One list of RankNet (formulas D.5), its m items as they come, the weighting W fixed (a weighting
// read per pair kept the first pass from vectorising).
template <PairWeighting W>
FL_INLINE ListSum ranknet_rows(const float* s, const float* r, int32_t m, float sigma, float* g) {
  // The weight of r_i > r_j, the same both ways.
  const auto weight = [&](int32_t i, int32_t j)
                          FL_LAMBDA_INLINE { return std::fabs(ranknet_weight(W, r[i], r[j])); };
  const float hi = lane_max(m, [&](int32_t i) FL_LAMBDA_INLINE { return s[i]; });
  const float neg_lo = lane_max(m, [&](int32_t i) FL_LAMBDA_INLINE { return -s[i]; });
  const double spread = double{hi} + neg_lo;
  if (float_pairs(spread, sigma)) {
    // Relevance is >= 0, so no weight passes the largest's (its square).
    const double top = lane_max(m, [&](int32_t i) FL_LAMBDA_INLINE { return r[i]; });
    const double w_max = W == PairWeighting::LabelDiff          ? top
                         : W == PairWeighting::LabelDiffSquared ? top * top
                                                                : 1.0;
    return logistic_rows(
        s, r, m, sigma, g,
        [&](int32_t i, int32_t j) FL_LAMBDA_INLINE {
          const float w = weight(i, j);
          return Weights{w, w};
        },
        W == PairWeighting::None, false, float_terms(spread, sigma, w_max));
  }
  return wide_rows(m, g, [&](int32_t i, int32_t j, int32_t& count) FL_LAMBDA_INLINE {
    const bool ij = r[i] > r[j], ji = r[j] > r[i];
    count = ij + ji;
    const float w = weight(i, j);
    return pair_logistic2(sigma * (double{s[j]} - s[i]), sigma, ij ? w : 0.0f, ji ? w : 0.0f);
  });
}

FL_ISA_BODY ListSum ranknet_list(Scratch& sc, int32_t m, float sigma, PairWeighting w) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  std::fill(g, g + m + kLanes, 0.0f);
  switch (w) {
    case PairWeighting::LabelDiff:
      return ranknet_rows<PairWeighting::LabelDiff>(s, r, m, sigma, g);
    case PairWeighting::LabelDiffSquared:
      return ranknet_rows<PairWeighting::LabelDiffSquared>(s, r, m, sigma, g);
    default:
      return ranknet_rows<PairWeighting::None>(s, r, m, sigma, g);
  }
}

// One list of the pairwise hinge (formulas D.6): every pair with r_i > r_j, their count, and the
// gradient in sc.g.
FL_ISA_BODY ListSum hinge_list(Scratch& sc, int32_t m, float margin) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  std::fill(g, g + m, 0.0f);
  ListSum one;
  for (int32_t i = 0; i < m; ++i)
    for (int32_t j = 0; j < m; ++j) {
      if (!(r[i] > r[j])) continue;
      const PairTerm t = pair_hinge(s[i], s[j], margin);
      one.loss += t.loss;
      one.pairs += 1;
      g[i] -= t.c;
      g[j] += t.c;
    }
  return one;
}

// The sum over the batch's lists (per_list(sc, m) each) divided by its pairs, or (per_item) by its
// items.
template <class PerList>
Status batch_pairs(const RankingProblem& pb, PerList per_list, bool per_item, double* loss,
                   float* grad) {
  const ListSum total = ranking::each_list(pb, Order::Index, 0, FLT_MAX, 1.0f, per_list, grad);
  if (!total.status.ok()) return total.status;
  // The divisor is known only now (formulas D.5, D.6).
  const double count = per_item ? static_cast<double>(pb.items()) : total.pairs;
  const float scale = ranking::inverse(count);
  parallel_chunks(pb.items(), 1 << 16, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) grad[i] *= scale;
  });
  *loss = count > 0 ? total.loss / count : 0.0;
  return Status{};
}

}  // namespace

Status ranknet_cpu(const RankingProblem& pb, float sigma, PairWeighting w, double* loss,
                   float* grad) {
  return batch_pairs(
      pb, [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(ranknet_list(sc, m, sigma, w)); }, false,
      loss, grad);
}

Status pairwise_hinge_cpu(const RankingProblem& pb, float margin, bool per_item, double* loss,
                          float* grad) {
  return batch_pairs(
      pb, [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(hinge_list(sc, m, margin)); }, per_item,
      loss, grad);
}

namespace {

// LambdaLoss's tables of positions q, the same for every list, so each thread keeps one and grows
// it for longer lists: the discounts D_q = log2(2 + q), 1 / D_q, and ndcg2_delta(q) (0 at q = 0).
struct PositionTables {
  std::vector<float> d, inv_d, delta;
};

const PositionTables& position_tables(int32_t n) {
  thread_local PositionTables t;
  for (int32_t q = static_cast<int32_t>(t.d.size()); q < n; ++q) {
    t.d.push_back(discount(q + 1));
    t.inv_d.push_back(1.0f / t.d.back());
    t.delta.push_back(q == 0 ? 0.0f : ndcg2_delta(q));
  }
  return t;
}

// LambdaLoss's pairs (formulas D.4) among the first k items of a list in predicted order, with
// their gains G (k + kLanes entries) and the scheme S fixed.
template <LambdaScheme S>
FL_INLINE ListSum lambda_rows(const LambdaParams& p, const float* s, const float* r, const float* G,
                              const PositionTables& pt, int32_t k, float* g) {
  const float* inv_d = pt.inv_d.data();
  const float* delta = pt.delta.data();
  const float log2e = static_cast<float>(M_LOG2E);
  // Every scheme but ndcgLoss1 weighs both directions alike.
  const auto weigh = [&](int32_t i, int32_t j) FL_LAMBDA_INLINE {
    const float w = lambda_weight(S, p.mu, G[i], G[j], inv_d[i], inv_d[j], delta[j - i]);
    const float w_ji = S == LambdaScheme::NdcgLoss1
                           ? lambda_weight(S, p.mu, G[j], G[i], inv_d[j], inv_d[i], delta[j - i])
                           : w;
    return Weights{w * log2e, w_ji * log2e};
  };
  ListSum one;
  const double spread = double{s[0]} - s[k - 1];  // in predicted order: s[0] is the largest
  if (float_pairs(spread, p.sigma)) {
    // Every weight is at most (1 + mu) times the largest gain (the inverse discounts and the
    // ndcg2 deltas are at most 1), and 1 for 'none'.
    const double w_max =
        log2e *
        (S == LambdaScheme::None
             ? 1.0
             : (1.0 + p.mu) * lane_max(k, [&](int32_t i) FL_LAMBDA_INLINE { return G[i]; }));
    one = logistic_rows(s, r, k, p.sigma, g, weigh, S == LambdaScheme::None,
                        S == LambdaScheme::NdcgLoss1, float_terms(spread, p.sigma, w_max));
  } else {
    one = wide_rows(k, g, [&](int32_t i, int32_t j, int32_t& count) FL_LAMBDA_INLINE {
      const bool ij = lambda_counts(S, r[i], r[j]), ji = lambda_counts(S, r[j], r[i]);
      count = ij + ji;
      const Weights w = weigh(i, j);
      return pair_logistic2(p.sigma * (double{s[j]} - s[i]), p.sigma, ij ? w.ij : 0.0f,
                            ji ? w.ji : 0.0f);
    });
  }
  if (S == LambdaScheme::NdcgLoss1)  // and its pairs (i, i): a constant, no gradient
    for (int32_t i = 0; i < k; ++i) {
      const float w = lambda_weight(S, p.mu, G[i], G[i], inv_d[i], inv_d[i], 0.0f);
      one.loss += pair_logistic2(0.0f, p.sigma, w * log2e, 0.0f).loss;
      one.pairs += 1;
    }
  return one;
}

// One list of LambdaLoss, its m items in predicted order (sc.s, sc.r).
FL_ISA_BODY ListSum lambda_list(const LambdaParams& p, Scratch& sc, int32_t m) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  const int32_t k = p.k > 0 && p.k < m ? p.k : m;
  const PositionTables& pt = position_tables(k + kLanes);
  float* G = sc.x.data();
  std::fill(G, G + k + kLanes, 0.0f);
  if (p.scheme != LambdaScheme::None) {  // whose weights are 1: no gains
    double* gain = sc.R.data();
    for (int32_t i = 0; i < m; ++i) gain[i] = lambda_gain(r[i]);
    double max_dcg = 1;
    if (p.normalize) {  // the gains in relevance order: 2^r - 1 rises with r
      double* ideal = sc.A.data();
      std::copy(gain, gain + m, ideal);
      std::partial_sort(ideal, ideal + k, ideal + m, std::greater<double>());
      max_dcg = 0;
      for (int32_t q = 0; q < k; ++q) max_dcg += ideal[q] / pt.d[q];
      max_dcg = std::max(max_dcg, kLambdaDcgEps);
    }
    for (int32_t i = 0; i < k; ++i) G[i] = static_cast<float>(gain[i] / max_dcg);
  }
  std::fill(g, g + m + kLanes, 0.0f);
  ListSum one;
  switch (p.scheme) {
    case LambdaScheme::LambdaRank:
      one = lambda_rows<LambdaScheme::LambdaRank>(p, s, r, G, pt, k, g);
      break;
    case LambdaScheme::NdcgLoss1:
      one = lambda_rows<LambdaScheme::NdcgLoss1>(p, s, r, G, pt, k, g);
      break;
    case LambdaScheme::NdcgLoss2:
      one = lambda_rows<LambdaScheme::NdcgLoss2>(p, s, r, G, pt, k, g);
      break;
    case LambdaScheme::NdcgLoss2PP:
      one = lambda_rows<LambdaScheme::NdcgLoss2PP>(p, s, r, G, pt, k, g);
      break;
    default:
      one = lambda_rows<LambdaScheme::None>(p, s, r, G, pt, k, g);
  }
  if (p.mean && one.pairs > 0) {
    const float inv = static_cast<float>(1.0 / one.pairs);
    one.loss /= one.pairs;
    for (int32_t i = 0; i < m; ++i) g[i] *= inv;
  }
  return one;
}

// One list of ApproxNDCG (formulas D.7), its items in relevance order: the ideal DCG walks it.
ListSum approx_ndcg_list(Scratch& sc, int32_t m, float inv_t) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  double* a = sc.R.data();
  double idcg = 0;
  for (int32_t q = 0; q < m; ++q) idcg += lambda_gain(r[q]) / std::log2(2.0 + q);
  ListSum one;
  if (!(idcg > 0)) {
    std::fill(g, g + m, 0.0f);
    return one;
  }
  for (int32_t i = 0; i < m; ++i) {
    double pi = 1;
    for (int32_t j = 0; j < m; ++j)
      if (j != i) pi += approx_sigmoid(s[j], s[i], inv_t);
    a[i] = approx_ndcg_weight(pi, lambda_gain(r[i]), 1.0 / idcg, &one.loss);
  }
  for (int32_t k = 0; k < m; ++k) g[k] = approx_ndcg_grad(s, a, m, k, inv_t);
  return one;
}

}  // namespace

Status approx_ndcg_cpu(const RankingProblem& pb, float temperature, double* loss, float* grad) {
  const float inv_t = 1.0f / temperature;
  const ListSum total = ranking::each_list(
      pb, Order::Relevance, 0, kLambdaMaxRelevance, ranking::inverse(pb.lists),
      [&](Scratch& sc, int32_t m) { return approx_ndcg_list(sc, m, inv_t); }, grad);
  *loss = ranking::mean(total, pb.lists);
  return total.status;
}

Status lambdaloss_cpu(const RankingProblem& pb, const LambdaParams& p, double* loss, float* grad) {
  const ListSum total = ranking::each_list(
      pb, Order::Score, 0, kLambdaMaxRelevance, ranking::inverse(pb.lists),
      [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(lambda_list(p, sc, m)); }, grad);
  *loss = ranking::mean(total, pb.lists);
  return total.status;
}

}  // namespace fl
