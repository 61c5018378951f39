// CUDA kernels of the pairwise ranking losses (formulas D.4 to D.6), O(n^2) per list as the losses
// are pairwise by nature: a team per list (lists.cuh), each lane owning items and summing every
// pair that item is in, so each gradient entry has one writer and a fixed order (a pair's term is
// computed once for each of its two items). The pair terms are ranking_math.h's.
#include <cfloat>

#include "fusedloss/ranking.h"
#include "lists.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

// RankNet's and the pairwise hinge's terms of pair (i, j), r_i > r_j (formulas D.5, D.6).
struct LogisticTerm {
  float sigma;
  PairWeighting weighting;
  __device__ PairTerm operator()(float si, float sj, float ri, float rj) const {
    return pair_logistic(si, sj, sigma, ranknet_weight(weighting, ri, rj));
  }
};

struct HingeTerm {
  float margin;
  __device__ PairTerm operator()(float si, float sj, float, float) const {
    return pair_hinge(si, sj, margin);
  }
};

// Every pair with r_i > r_j of a list, term(s_i, s_j, r_i, r_j); the host divides by the batch's
// pairs or items.
template <class Term>
struct BatchPairLoss : PaddedItems {
  Term term;

  __device__ uint64_t key(const ListData&, int64_t, int64_t, int32_t i) const {
    return static_cast<uint64_t>(i);
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    double loss = 0, pairs = 0;
    for (int32_t k = t.lane; k < v.m; k += t.width) {
      const float rk = v.r[k], sk = v.s[k];
      float g = 0.0f;
      for (int32_t j = 0; j < v.m; ++j) {
        const float rj = v.r[j], sj = v.s[j];
        if (rk > rj) {  // k preferred: the pair's loss is counted here
          const PairTerm pt = term(sk, sj, rk, rj);
          loss += pt.loss;
          pairs += 1;
          g -= pt.c;
        } else if (rj > rk) {
          g += term(sj, sk, rj, rk).c;
        }
      }
      v.g[k] = g;
    }
    ListResult one;
    one.loss = t.sum(loss);
    one.pairs = t.sum(pairs);
    return one;
  }
};

// The batch's sum over pairs divided by its pairs, or (per_item) by its items.
template <class Term>
Status batch_pairs(const RankingProblem& pb, Term term, bool per_item, double* loss, float* grad) {
  *loss = 0;
  if (pb.lists == 0) return Status{};
  BatchPairLoss<Term> l{};
  l.top = FLT_MAX;
  l.term = term;
  const double items = static_cast<double>(pb.items());
  ListResult total;
  const Status st = run_lists(
      list_shape(pb), loss_as_is(l), per_item ? inverse_count(pb.items()) : 1.0f, !per_item,
      [&] { return ranking_problem_fault(pb, FLT_MAX); }, grad, &total);
  const double count = per_item ? items : total.pairs;
  if (st.ok() && count > 0) *loss = total.loss / count;
  return st;
}

// LambdaLoss: items in predicted order (by score, descending). The ideal DCG counts each item at
// its place in the relevance order (ties by position: equal gains, so any order of ties gives
// the same sum).
struct LambdaLossTerms : PaddedItems {
  static constexpr ItemOrder kOrder = ItemOrder::Score;
  LambdaParams p;

  __device__ uint64_t key(const ListData& d, int64_t, int64_t b, int32_t i) const {
    return (static_cast<uint64_t>(descending_bits(d.scores[b + i])) << 32) |
           static_cast<uint32_t>(i);
  }
  template <class Team>
  __device__ double ideal_dcg(const Team& t, const ListView& v, int32_t k) const {
    double dcg = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      int32_t place = 0;
      for (int32_t j = 0; j < v.m; ++j) place += v.r[j] > v.r[i] || (v.r[j] == v.r[i] && j < i);
      if (place < k) dcg += lambda_gain(v.r[i]) / discount(place + 1);
    }
    dcg = t.sum(dcg);
    return dcg > kLambdaDcgEps ? dcg : kLambdaDcgEps;
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    const int32_t k = p.k > 0 && p.k < v.m ? p.k : v.m;
    const double max_dcg = p.normalize ? ideal_dcg(t, v, k) : 1.0;
    double loss = 0, pairs = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      float g = 0.0f;
      const float ri = v.r[i], si = v.s[i];
      const double gi = lambda_gain(ri) / max_dcg;
      for (int32_t j = 0; i < k && j < k; ++j) {
        const float rj = v.r[j], sj = v.s[j];
        const double gj = lambda_gain(rj) / max_dcg;
        if (lambda_counts(p.scheme, ri, rj)) {  // i first: the pair's loss is counted here
          const PairTerm pt = lambda_pair(p, i, j, si, sj, gi, gj);
          loss += pt.loss;
          pairs += 1;
          g -= pt.c;
        }
        if (lambda_counts(p.scheme, rj, ri)) g += lambda_pair(p, j, i, sj, si, gj, gi).c;
      }
      v.g[i] = g;
    }
    ListResult one;
    one.loss = t.sum(loss);
    one.pairs = t.sum(pairs);
    if (p.mean && one.pairs > 0) {
      const float inv = static_cast<float>(1.0 / one.pairs);
      one.loss /= one.pairs;
      for (int32_t i = t.lane; i < v.m; i += t.width) v.g[i] *= inv;
    }
    return one;
  }
};

// ApproxNDCG (formulas D.7): items as they come; each lane takes items, their smooth ranks and a_i
// into v.R, then (after a sync) their gradients; the ideal DCG counts each item's place in the
// relevance order, as LambdaLoss's does.
struct ApproxNdcgLoss : PaddedItems {
  float inv_t;

  __device__ uint64_t key(const ListData&, int64_t, int64_t, int32_t i) const {
    return static_cast<uint64_t>(i);
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    double idcg = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      int32_t place = 0;
      for (int32_t j = 0; j < v.m; ++j) place += v.r[j] > v.r[i] || (v.r[j] == v.r[i] && j < i);
      idcg += lambda_gain(v.r[i]) / log2(2.0 + place);
    }
    idcg = t.sum(idcg);
    // A list without a positive gain: every a_i 0, so loss and gradient 0. No early return: the
    // groups of a warp must all reach the same barriers.
    const double inv_idcg = idcg > 0 ? 1.0 / idcg : 0.0;
    ListResult one;
    double loss = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      double pi = 1;
      for (int32_t j = 0; j < v.m; ++j)
        if (j != i) pi += approx_sigmoid(v.s[j], v.s[i], inv_t);
      v.R[i] = approx_ndcg_weight(pi, lambda_gain(v.r[i]), inv_idcg, &loss);
    }
    t.sync();
    for (int32_t k = t.lane; k < v.m; k += t.width)
      v.g[k] = approx_ndcg_grad(v.s, v.R, v.m, k, inv_t);
    one.loss = t.sum(loss);
    return one;
  }
};

}  // namespace

Status approx_ndcg(const RankingProblem& pb, float temperature, double* loss, float* grad) {
  *loss = 0;
  if (pb.lists == 0) return Status{};
  ApproxNdcgLoss l{};
  l.top = kLambdaMaxRelevance;
  l.inv_t = 1.0f / temperature;
  ListResult total;
  const Status st = run_lists(
      list_shape(pb), loss_as_is(l), inverse_count(pb.lists), false,
      [&] { return ranking_problem_fault(pb, kLambdaMaxRelevance); }, grad, &total);
  if (st.ok()) *loss = total.loss / static_cast<double>(pb.lists);
  return st;
}

Status ranknet(const RankingProblem& pb, float sigma, PairWeighting w, double* loss, float* grad) {
  return batch_pairs(pb, LogisticTerm{sigma, w}, false, loss, grad);
}

Status pairwise_hinge(const RankingProblem& pb, float margin, bool per_item, double* loss,
                      float* grad) {
  return batch_pairs(pb, HingeTerm{margin}, per_item, loss, grad);
}

Status lambdaloss(const RankingProblem& pb, const LambdaParams& p, double* loss, float* grad) {
  *loss = 0;
  if (pb.lists == 0) return Status{};
  LambdaLossTerms l{};
  l.top = kLambdaMaxRelevance;
  l.p = p;
  ListResult total;
  const Status st = run_lists(
      list_shape(pb), loss_as_is(l), inverse_count(pb.lists), false,
      [&] { return ranking_problem_fault(pb, kLambdaMaxRelevance); }, grad, &total);
  if (st.ok()) *loss = total.loss / static_cast<double>(pb.lists);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
