// CPU kernels of the pairwise losses (formulas D.4, D.5): RankNet and LambdaLoss loop over the
// pairs of each list, O(n^2) as the losses are pairwise by nature; LambdaLoss first sorts by score
// (the ranks its weights read) and by relevance (the ideal DCG).
#include <cmath>

#include "fusedloss/ranking.h"
#include "ranking_lists.h"

namespace fl {

using ranking::ListSum;
using ranking::Order;
using ranking::Scratch;

namespace {

// One list of RankNet: its pairs' loss terms, their count, and the gradient in sc.g.
FL_ISA_BODY ListSum ranknet_list(float sigma, PairWeighting w, Scratch& sc, int32_t m) {
  const float* s = sc.s.data();
  const float* r = sc.r.data();
  float* g = sc.g.data();
  std::fill(g, g + m, 0.0f);
  ListSum one;
  for (int32_t i = 0; i < m; ++i)
    for (int32_t j = 0; j < m; ++j) {
      if (!(r[i] > r[j])) continue;
      const PairTerm t = pair_logistic(s[i], s[j], sigma, ranknet_weight(w, r[i], r[j]));
      one.loss += t.loss;
      one.pairs += 1;
      g[i] -= t.c;
      g[j] += t.c;
    }
  return one;
}

}  // namespace

Status ranknet_cpu(const RankingProblem& pb, float sigma, PairWeighting w, double* loss,
                   float* grad) {
  const ListSum total = ranking::each_list(
      pb, Order::Index, 0, FLT_MAX, 1.0f,
      [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(ranknet_list(sigma, w, sc, m)); }, grad);
  if (!total.status.ok()) return total.status;
  // The mean is over the pairs of the whole batch (formulas D.5), known only now.
  const float scale = ranking::inverse(total.pairs);
  parallel_chunks(pb.items(), 1 << 16, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) grad[i] *= scale;
  });
  *loss = total.pairs > 0 ? total.loss / total.pairs : 0.0;
  return Status{};
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

Status lambdaloss_cpu(const RankingProblem& pb, const LambdaParams& p, double* loss, float* grad) {
  const ListSum total = ranking::each_list(
      pb, Order::Score, 0, kLambdaMaxRelevance, ranking::inverse(pb.lists),
      [&](Scratch& sc, int32_t m) { return FL_ISA_CALL(lambda_list(p, sc, m)); }, grad);
  *loss = ranking::mean(total, pb.lists);
  return total.status;
}

}  // namespace fl
