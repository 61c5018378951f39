// Given pairs and triplets (pytorch-metric-learning's indices_tuple; formulas E.8): the caller's
// miner decides which pairs count and the loss runs over them alone. A backend computes each
// given pair's similarity and distance (O(K D)), the host steps here turn them into the loss and
// one weight per pair (O(K log K), in list order), and the backend accumulates each row's gradient
// over its pairs in the fixed order of pair_incidence, so results do not depend on thread counts.
#pragma once

#include <cstdint>
#include <vector>

#include "fusedloss/pairs.h"

namespace fl {

// The distance losses (contrastive, triplet) weigh d = ||fn_i - fn_j||, the others S = fn_i . fn_j.
inline bool given_distance(const PairParams& p) {
  return p.loss == PairLoss::Contrastive || p.loss == PairLoss::TripletBatchHard;
}

// The loss over the given pairs from s[k] (S of pair k, in double) and d[k] (its distance, the
// distance losses only); fills w[k] such that pair k = (i, j) adds w[k] (fn_j - delta fn_i) to
// dL/dfn_i and w[k] (fn_i - delta fn_j) to dL/dfn_j, delta = 1 for the distance losses (the
// chain through d, whose dd/dfn_i = (fn_i - fn_j) / d), else 0. Per-anchor losses go to
// row_loss (n floats) when set. Only multiSimilarity, contrastive, the triplet loss and circle.
double given_pair_loss(const GivenPairs& g, int64_t n, const PairParams& p, const double* s,
                       const float* d, float* row_loss, std::vector<float>& w);

// Each row's pairs: entries offsets[r] .. offsets[r + 1] of `pair` and `other` are the pairs
// touching row r (as either end; a pair of a row with itself twice) and the row at their other
// end, in pair order.
struct PairIncidence {
  std::vector<int64_t> offsets, pair;
  std::vector<int32_t> other;
};
PairIncidence pair_incidence(const GivenPairs& g, int64_t n);

}  // namespace fl
