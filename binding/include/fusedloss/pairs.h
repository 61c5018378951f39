// The pairwise similarity-weighting family (formulas E: Multi-Similarity and the General Pair
// Weighting losses). Every loss here is a function of S = Fn Fr^T, the similarities between the
// (L2-normalised) query rows and the reference rows (the queries themselves unless cross-batch),
// with gradient dL/dS = G non-zero on the pairs a loss uses. The CPU kernel never forms S or G:
// it recomputes tiles of S, reduces them into per-row statistics (mining thresholds, LSEs,
// counts), and in a last sweep turns each tile into pair weights and accumulates G Fr (and G^T
// Fq) tile by tile. Memory beyond the inputs and outputs is O(N * D + tile^2) per thread.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedloss/status.h"

namespace fl {

// Given pairs (pytorch-metric-learning's indices_tuple, formulas E.8): entry k < positives is the
// positive pair (a1[k], p[k]), entry positives + k the negative pair (a2[k], n[k]); indices are
// rows of the batch, checked in range by the caller. For the triplet loss the two halves are
// zipped: positives == negatives, a1 == a2, and triplet k is (a1[k], p[k], n[k]).
struct GivenPairs {
  const int32_t *a1 = nullptr, *p = nullptr, *a2 = nullptr, *n = nullptr;
  int64_t positives = 0, negatives = 0;

  int64_t size() const { return positives + negatives; }
  bool positive(int64_t k) const { return k < positives; }
  int32_t row(int64_t k) const { return k < positives ? a1[k] : a2[k - positives]; }
  int32_t col(int64_t k) const { return k < positives ? p[k] : n[k - positives]; }
};

// N query rows of `dim` floats and their labels; a reference set of M rows (cross-batch), or
// none: then every pair (i, j) of queries, i != j, is a candidate pair.
struct PairProblem {
  const float* x = nullptr;
  const int32_t* labels = nullptr;
  int64_t n = 0;
  int32_t dim = 1;
  const float* ref = nullptr;  // null: single embedding set
  const int32_t* ref_labels = nullptr;
  int64_t m = 0;
  bool normalize = true;  // rows divided by max(||f||, 1e-12), gradient through it (formulas E.0)
  // Output, per-anchor losses (reduction 'none'): when set, n floats receive each query row's
  // loss, every mean's count is taken as 1, and the loss and gradient are those of their sum.
  float* row_loss = nullptr;
  // The pairs the loss runs over instead of those the labels define (single set only), or null.
  const GivenPairs* given = nullptr;
};

enum class PairLoss : int32_t {
  MultiSimilarity = 0,  // formulas E.1
  Contrastive,          // E.2, pytorch-metric-learning's form
  TripletBatchHard,     // E.3
  Circle,               // E.4
  SupCon,               // E.5
  NtXent,               // E.5, one term per positive pair
  OrthogonalProjection  // E.6
};

// Which published convention Multi-Similarity follows (formulas E.1): the authors' code (self and
// exact duplicates removed by S < 1 - 1e-5; an anchor lacking mined positives or negatives is
// skipped) or pytorch-metric-learning (self removed by index; each non-empty half counts).
enum class MsSemantics : int32_t { Paper = 0, Pml = 1 };

// How the CUDA kernels form the similarity tiles S = Fq Fr^T and the gradient products G Fr and
// G^T Fq: FP32 accuracy (3xTF32 on the tensor cores of sm_80+, FMAs before), or one pass of TF32
// or BF16 tensor-core products (docs/metric-learning.md, "Precision on the GPU"). The CPU
// kernels always compute in FP32 or wider and ignore it.
enum class PairPrecision : int32_t { Fp32 = 0, Tf32 = 1, Bf16 = 2 };

struct PairParams {
  PairLoss loss = PairLoss::MultiSimilarity;
  double alpha = 2, beta = 50, base = 0.5, epsilon = 0.1;  // Multi-Similarity
  MsSemantics semantics = MsSemantics::Pml;
  bool ms_mining = true;  // false: every positive and negative pair counts, unmined (formulas E.1)
  double pos_margin = 0, neg_margin = 1;  // contrastive
  double margin = 0.05;                   // triplet (hinge)
  bool soft_margin = false;               // triplet: softplus(d+ - d-) instead of the hinge
  double m = 0.4, gamma = 80;             // circle; OPL uses gamma as its negative weight
  double temperature = 0.07, base_temperature = 0.07;  // SupCon, NT-Xent
  bool supcon_all_anchors = false;  // SupCon's mean over every anchor (the authors' code), not
                                    // over those with a positive (formulas E.5)
  PairPrecision precision = PairPrecision::Fp32;  // CUDA only
};

// The classes of a batch, for the class-sum form of OPL (formulas E.6): the rows ordered by label
// (stable), each row's class (0, 1, ... in label order) and each class's size.
struct LabelGroups {
  std::vector<int64_t> order, group, sizes;
};
LabelGroups label_groups(const int32_t* labels, int64_t n);

// The first non-finite entry of the embeddings (Fault::ScoreNotFinite) or of the reference
// (Fault::ReferenceNotFinite), else with normalize false the first row (of either) whose norm
// exceeds kMaxRawNorm (Fault::RowNormTooLarge); ok when every row is usable.
Status pair_input_fault(const PairProblem& pb);

// Fills grad (n x dim) and, cross-batch, ref_grad (m x dim) with d loss / d rows; *loss the mean
// the loss defines. A non-finite input is reported with its index.
Status pair_loss_cpu(const PairProblem& pb, const PairParams& p, double* loss, float* grad,
                     float* ref_grad);

}  // namespace fl
