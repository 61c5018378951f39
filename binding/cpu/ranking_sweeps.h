// The CPU's sweeps of the log-sum-exp listwise losses over one gathered list: each pass either
// vectorises (exponentials, logs, differences of a whole list at once) or is a short serial
// recurrence of one multiply-add, so no exp or log sits on a serial chain and no branch depends
// on the data. ranking_math.h keeps the one-item-at-a-time forms the CUDA kernels use.
#pragma once

#include <cstdint>

#include "ranking_lists.h"

namespace fl::ranking {

// Reverse cumulative log-sum-exp in two parts: LSE_{j >= q} v_j = sc.m[q] + R[q] for q < n
// (n >= 1), sc.m[q] the suffix's largest v. Uses sc.m, sc.x, sc.y.
void suffix_lse_sweep(const float* v, int32_t n, Scratch& sc, double* R);

// A list whose scores span at most kNarrow is swept with one shift, its largest score: every
// e^{s - top} >= e^{-kNarrow} is a normal float, their reciprocals and the sums of either (times
// weights up to kNarrowWeightMax) stay far below FLT_MAX (n e^{kNarrow} < 1e27 for any int32 n),
// and no running maximum is needed. Wider lists take the rescaling sweeps.
constexpr float kNarrow = 40.0f;

// Largest weight a_k the narrow (one-shift) Plackett-Luce sweep takes.
constexpr float kNarrowWeightMax = 1e6f;

// Weighted Plackett-Luce NLL of the list sc.s[0, m) in its order, a[k] the weight of position k
// (ListMLE, PLD): returns sum_k a_k (R_k - s_k) and leaves the gradient in sc.g. `bounded`: every
// a_k <= kNarrowWeightMax.
double plackett_luce_sweep(Scratch& sc, int32_t m, const float* a, bool bounded);

// Whether each of the m items of sorted relevance r is constrained above the next (formulas C.1).
bool adjacent_constrained(const float* r, int32_t m, float margin);

// RankList's log-sum-exp form over all pairs (formulas C.2 item 2) of sc.s[0, m), anchor i ranked
// above positions from sc.p[i] on: returns softplus(LSE_i A_i) and leaves the gradient in sc.g.
// `adjacent`: sc.p[i] = i + 1 for every i.
double ranklist_lse_sweep(Scratch& sc, int32_t m, bool adjacent);

}  // namespace fl::ranking
