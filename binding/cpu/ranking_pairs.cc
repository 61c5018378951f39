// CPU kernels of the pairwise losses (formulas D.4 to D.6): RankNet, the pairwise hinge and
// LambdaLoss loop over the pairs of each list, O(n^2) as the losses are pairwise by nature;
// LambdaLoss first sorts by score (the ranks its weights read) and by relevance (the ideal DCG).
#include <cmath>

#include "fusedloss/ranking.h"
#include "ranking_lists.h"

namespace fl {

using ranking::ListSum;
using ranking::Order;
using ranking::Scratch;

namespace {

// One list of RankNet or the pairwise hinge: term(s_i, s_j, r_i, r_j) over every pair with
// r_i > r_j, their count, and the gradient in sc.g.
template <class Term>
FL_ISA_BODY ListSum pairs_list(Term term, Scratch& sc, int32_t m) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  std::fill(g, g + m, 0.0f);
  ListSum one;
  for (int32_t i = 0; i < m; ++i)
    for (int32_t j = 0; j < m; ++j) {
      if (!(r[i] > r[j])) continue;
      const PairTerm t = term(s[i], s[j], r[i], r[j]);
      one.loss += t.loss;
      one.pairs += 1;
      g[i] -= t.c;
      g[j] += t.c;
    }
  return one;
}

// The sum over the batch's lists divided by its pairs, or (per_item) by its items.
template <class Term>
Status batch_pairs(const RankingProblem& pb, Term term, bool per_item, double* loss, float* grad) {
  const ListSum total = ranking::each_list(
      pb, Order::Index, 0, FLT_MAX, 1.0f,
      [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(pairs_list(term, sc, m)); }, grad);
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
      pb,
      [&](float si, float sj, float ri, float rj)
          FL_LAMBDA_INLINE { return pair_logistic(si, sj, sigma, ranknet_weight(w, ri, rj)); },
      false, loss, grad);
}

Status pairwise_hinge_cpu(const RankingProblem& pb, float margin, bool per_item, double* loss,
                          float* grad) {
  return batch_pairs(
      pb,
      [&](float si, float sj, float, float) FL_LAMBDA_INLINE { return pair_hinge(si, sj, margin); },
      per_item, loss, grad);
}

namespace {

// One list of LambdaLoss, its items in predicted order (sc.s, sc.r); sc.g first holds the
// relevance sorted for the ideal DCG, sc.R the gains.
FL_ISA_BODY ListSum lambda_list(const LambdaParams& p, Scratch& sc, int32_t m) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  const int32_t k = p.k > 0 && p.k < m ? p.k : m;
  double max_dcg = 1;
  if (p.normalize) {
    float* ideal = g;
    std::copy(r, r + m, ideal);
    std::partial_sort(ideal, ideal + k, ideal + m, [](float a, float b) { return a > b; });
    max_dcg = 0;
    for (int32_t i = 0; i < k; ++i) max_dcg += lambda_gain(ideal[i]) / discount(i + 1);
    max_dcg = std::max(max_dcg, kLambdaDcgEps);
  }
  double* gain = sc.R.data();
  for (int32_t i = 0; i < m; ++i) gain[i] = lambda_gain(r[i]) / max_dcg;
  std::fill(g, g + m, 0.0f);
  ListSum one;
  for (int32_t i = 0; i < k; ++i)
    for (int32_t j = 0; j < k; ++j) {
      if (!lambda_counts(p.scheme, r[i], r[j])) continue;
      const PairTerm t = lambda_pair(p, i, j, s[i], s[j], gain[i], gain[j]);
      one.loss += t.loss;
      one.pairs += 1;
      g[i] -= t.c;
      g[j] += t.c;
    }
  if (p.mean && one.pairs > 0) {
    const float inv = static_cast<float>(1.0 / one.pairs);
    one.loss /= one.pairs;
    for (int32_t i = 0; i < m; ++i) g[i] *= inv;
  }
  return one;
}

}  // namespace

namespace {

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
