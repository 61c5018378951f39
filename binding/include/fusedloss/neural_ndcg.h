// NeuralNDCG (formulas D.8): NDCG with the sort replaced by NeuralSort's relaxed permutation
// matrix, made doubly stochastic by Sinkhorn scaling; the deterministic variant of allRank's
// neuralNDCG. The lists are the ranking family's (ranking.h): padding -1 is not an item.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"

namespace fl {

struct NeuralNdcgParams {
  float temperature = 1;               // NeuralSort's tau
  int32_t k = 0;                       // NDCG cutoff; 0: the whole list
  MetricGain gain = MetricGain::Exp2;  // 2^r - 1 (allRank's powered_relevancies) or r
  int32_t max_iter = 50;               // Sinkhorn iterations at most (0: NeuralSort's matrix as is)
  float tol = 1e-6f;                   // stop once every row and column sum is within tol of 1
};

// allRank's DEFAULT_EPS: the floor of Sinkhorn's row and column sums and the ideal DCG's addend.
constexpr double kNeuralNdcgEps = 1e-10;
// NeuralSort's entries below this are taken as 0, so that a column's Sinkhorn scale (which grows
// by 1 / eps a step while its sum is below eps) stays finite.
constexpr double kNeuralNdcgFloor = 1e-200;

// Doubles of working memory one list of m valid items needs (neural_ndcg_math.h's layout): two
// m x m matrices and the per-iteration scale vectors the exact backward pass reads.
inline size_t neural_ndcg_workspace(int32_t m, int32_t max_iter) {
  const size_t n = static_cast<size_t>(m);
  return 2 * n * n + (4 * static_cast<size_t>(max_iter) + 10) * n;
}

// Mean over lists of -NDCG_list (formulas D.8); a list whose ideal DCG is 0 contributes 0.
// Relevance at most kLambdaMaxRelevance with the 2^r - 1 gain.
Status neural_ndcg_cpu(const RankingProblem& pb, const NeuralNdcgParams& p, double* loss,
                       float* grad);

}  // namespace fl
