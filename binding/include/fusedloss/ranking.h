// The log-sum-exp listwise ranking family (formulas C and D): RankList (the reconstruction in
// docs/formulas.md), ListMLE / Plackett-Luce, PLD, ListNet, RankNet and LambdaLoss. A batch is a
// set of lists laid end to end: scores and relevance share one layout, cut either every list_size
// items or at offsets. Items with relevance -1 are padding: their scores are never read and their
// gradient is 0. Every loss is the mean over lists of a per-list loss (RankNet: the mean over the
// pairs of the batch), and a list without a valid item or pair contributes 0.
#pragma once

#include <cstdint>

#include "fusedloss/status.h"

namespace fl {

struct RankMetricParams;  // ranking_metrics.h

struct RankingProblem {
  const float* scores = nullptr;     // items, lists laid end to end
  const float* relevance = nullptr;  // same layout; >= 0 and finite, or -1 (padding)
  int64_t lists = 0;
  int32_t list_size = 0;             // fixed length, used when offsets is null
  const int32_t* offsets = nullptr;  // lists + 1 entries: list l is [offsets[l], offsets[l+1])
  // Ranking metrics a list loss (CPU or GPU) returns from its own pass over each list, or null: per
  // list, metrics->count values into metrics_out (as the backend's ranking_metrics writes them).
  const RankMetricParams* metrics = nullptr;
  double* metrics_out = nullptr;

  int64_t begin(int64_t l) const { return offsets ? offsets[l] : l * list_size; }
  int64_t end(int64_t l) const { return offsets ? offsets[l + 1] : (l + 1) * list_size; }
  int64_t items() const { return lists == 0 ? 0 : end(lists - 1); }
};

// How items with equal relevance are ordered where a loss needs one order (ListMLE): by index,
// or by a seeded pseudo-random permutation of the items of each list.
enum class Ties : int32_t { Index = 0, Shuffle = 1 };

struct ListMLEParams {
  const float* weights = nullptr;  // a_k per position (>= 0), at least the longest list; null: 1
  int32_t top_k = 0;               // positions k >= top_k get weight 0; 0: all positions
  Ties ties = Ties::Index;
  uint32_t seed = 0;
};

Status listmle_cpu(const RankingProblem& pb, const ListMLEParams& p, double* loss, float* grad);

// PLD (formulas D.3): rows of `classes` student and teacher logits and the true class of each row.
struct DistillProblem {
  const float* student = nullptr;   // rows x classes
  const float* teacher = nullptr;   // rows x classes
  const int32_t* labels = nullptr;  // rows, in [0, classes)
  int64_t rows = 0;
  int32_t classes = 0;
};

Status plackett_luce_distill_cpu(const DistillProblem& pb, float tau, double* loss, float* grad);

enum class RankListForm : int32_t { Lse = 0, Exact = 1, Anchor = 2 };

struct RankListParams {
  RankListForm form = RankListForm::Lse;
  int32_t skip = 0;  // constrain pairs at most `skip` positions apart; 0: all pairs
  float margin = 0;  // pairs whose relevance differs by less than this are ties
};

Status ranklist_cpu(const RankingProblem& pb, const RankListParams& p, double* loss, float* grad);

enum class ListNetTarget : int32_t { Softmax = 0, Normalize = 1 };

Status listnet_cpu(const RankingProblem& pb, ListNetTarget target, float temperature, double* loss,
                   float* grad);

enum class PairWeighting : int32_t { None = 0, LabelDiff = 1, LabelDiffSquared = 2 };

Status ranknet_cpu(const RankingProblem& pb, float sigma, PairWeighting w, double* loss,
                   float* grad);

// Pairwise hinge (formulas D.6): max(0, margin - (s_i - s_j)) over every pair of a list with
// r_i > r_j, summed over the batch and divided by its pairs, or (per_item) by its items.
Status pairwise_hinge_cpu(const RankingProblem& pb, float margin, bool per_item, double* loss,
                          float* grad);

enum class LambdaScheme : int32_t { None = 0, LambdaRank, NdcgLoss1, NdcgLoss2, NdcgLoss2PP };

struct LambdaParams {
  LambdaScheme scheme = LambdaScheme::None;
  int32_t k = 0;  // NDCG cutoff; 0: the whole list
  float sigma = 1;
  float mu = 10;
  bool mean = false;      // per list: mean over pairs instead of the sum
  bool normalize = true;  // divide the gains by the ideal DCG (false: LiPO-lambda)
};

// LambdaLoss's relevance is at most this, so the gains 2^r - 1 stay finite in float.
constexpr float kLambdaMaxRelevance = 64;
// The ideal DCG is clamped at this (allRank's eps).
constexpr double kLambdaDcgEps = 1e-10;

Status lambdaloss_cpu(const RankingProblem& pb, const LambdaParams& p, double* loss, float* grad);

// ApproxNDCG (formulas D.7): per list -NDCG with the smooth ranks
// pi_i = 1 + sum_{j != i} sigmoid((s_j - s_i) / temperature) and gains 2^r - 1 (relevance at most
// kLambdaMaxRelevance); a list without a positive gain contributes 0. Mean over lists.
Status approx_ndcg_cpu(const RankingProblem& pb, float temperature, double* loss, float* grad);

// The first invalid entry of the batch as the CPU kernels report it (relevance above `top` or
// invalid, or a score not finite), for backends that only learn that one exists; ok if none.
Status ranking_problem_fault(const RankingProblem& pb, float top);
// ListMLE's first invalid weight (negative or not finite) over the longest list; ok if none.
Status listmle_weights_fault(const RankingProblem& pb, const ListMLEParams& p);
// PLD's first invalid student or teacher logit or label, as the CPU kernel reports it.
Status distill_problem_fault(const DistillProblem& pb);

}  // namespace fl
