// Multi-Similarity's weight tiles on one embedding set (formulas E.1), W = G + G^T in one pass with
// one exponential per pair. A pair (i, j) has one kind and one logit L in both directions, so
//   G_ij = scale_i exp(L - lse_i) = exp(L - a) * scale_i exp(a - lse_i)
// with `a` each half's largest LSE: exp(L - a) is shared by G_ij and G_ji, and the second factor
// is a per-row constant, read for the columns from separate arrays (vector loads). The general
// path, weigh_tile (cross-batch sets, wide LSE spreads), computes G and G^T separately: two
// exponentials per pair and two transposes a tile.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fusedloss/pairs_math.h"
#include "pair_tiles.h"
#include "simd.h"

namespace fl {

// Calls f(k), k a copy of c whose semantics and mining switch are compile-time constants (an
// instance of f for each of the four). Read from c, the two flags were rebuilt into lane masks at
// every step of the vectorised pair loops: some 50 scalar instructions per 8 pairs, most of the
// sums pass.
template <class T, class F>
FL_INLINE void ms_fixed_flags(const MsConstantsOf<T>& c, F f) {
  auto fixed = [&](MsSemantics semantics, bool mining) FL_LAMBDA_INLINE {
    MsConstantsOf<T> k = c;
    k.semantics = semantics;
    k.mining = mining;
    f(static_cast<const MsConstantsOf<T>&>(k));
  };
  if (c.semantics == MsSemantics::Paper)
    c.mining ? fixed(MsSemantics::Paper, true) : fixed(MsSemantics::Paper, false);
  else
    c.mining ? fixed(MsSemantics::Pml, true) : fixed(MsSemantics::Pml, false);
}

// Each half's LSEs may spread this far below its largest, so exp(a - lse) <= e^40 stays finite
// and a shared factor exp(L - a) that underflows (L - a < -87) stands for a weight below
// e^-47 of its row's scale. Wider spreads (extreme alpha or beta) take the general path.
constexpr float kMsSpread = 40.0f;

// The row statistics as arrays; factor_* = scale exp(a - lse) (0 for a skipped row).
struct MsSymmetric {
  MsConstants c;
  const int32_t* labels = nullptr;
  int64_t n = 0;
  float top_positive = 0, top_negative = 0;  // a, each half's largest LSE
  std::vector<float> min_positive, max_negative, factor_positive, factor_negative;
};

// Fills `m` from the rows' statistics; false when an LSE spread is past kMsSpread.
inline bool ms_symmetric(const std::vector<MsRow>& rows, const MsConstants& c,
                         const int32_t* labels, MsSymmetric& m) {
  const int64_t n = static_cast<int64_t>(rows.size());
  float lo_pos = INFINITY, lo_neg = INFINITY, hi_pos = 0, hi_neg = 0;
  for (const MsRow& r : rows) {
    if (!(r.scale_positive > 0)) continue;  // both scales are the row's (ms_row)
    lo_pos = std::min(lo_pos, r.lse_positive);
    hi_pos = std::max(hi_pos, r.lse_positive);
    lo_neg = std::min(lo_neg, r.lse_negative);
    hi_neg = std::max(hi_neg, r.lse_negative);
  }
  if (hi_pos - lo_pos > kMsSpread || hi_neg - lo_neg > kMsSpread) return false;
  m.c = c;
  m.labels = labels;
  m.n = n;
  m.top_positive = hi_pos;
  m.top_negative = hi_neg;
  m.min_positive.resize(n);
  m.max_negative.resize(n);
  m.factor_positive.resize(n);
  m.factor_negative.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const MsRow& r = rows[i];
    m.min_positive[i] = r.min_positive;
    m.max_negative[i] = r.max_negative;
    const bool counted = r.scale_positive > 0;  // a skipped row's LSE may lie past the spread
    m.factor_positive[i] = counted ? r.scale_positive * std::exp(hi_pos - r.lse_positive) : 0.0f;
    m.factor_negative[i] = counted ? r.scale_negative * std::exp(hi_neg - r.lse_negative) : 0.0f;
  }
  return true;
}

// The weight tile at (i0, j0) in place of its S tile, 0 off the valid rows and columns. The
// exponent is clamped at 0 for pairs neither row mines (a mined pair has L <= lse <= a).
FL_ISA_BODY void ms_weigh_symmetric(const MsSymmetric& m, int64_t i0, int64_t j0, float* s) {
  const int rows = static_cast<int>(std::min<int64_t>(kTile, m.n - i0));
  const int cols = static_cast<int>(std::min<int64_t>(kTile, m.n - j0));
  const float top_pos = m.top_positive, top_neg = m.top_negative;
  const int32_t* __restrict labels = m.labels + j0;
  const float* __restrict min_pos = m.min_positive.data() + j0;
  const float* __restrict max_neg = m.max_negative.data() + j0;
  const float* __restrict f_pos = m.factor_positive.data() + j0;
  const float* __restrict f_neg = m.factor_negative.data() + j0;
  ms_fixed_flags(m.c, [&](const MsConstants& c) FL_LAMBDA_INLINE {
    for (int r = 0; r < kTile; ++r) {
      float* __restrict w = s + r * kTile;
      if (r >= rows) {
        std::fill(w, w + kTile, 0.0f);
        continue;
      }
      const int64_t i = i0 + r;
      const int32_t label = m.labels[i];
      const int32_t self = i >= j0 && i < j0 + kTile ? static_cast<int32_t>(i - j0) : -1;
      const float row_min_pos = m.min_positive[i], row_max_neg = m.max_negative[i];
      const float row_f_pos = m.factor_positive[i], row_f_neg = m.factor_negative[i];
      for (int k = 0; k < cols; ++k) {
        const float x = w[k];
        const PairKind kind{labels[k] == label, k == self};
        const bool pos = ms_positive(x, kind, c), neg = is_negative(kind);
        const float logit =
            pos ? ms_positive_logit(x, c) - top_pos : ms_negative_logit(x, c) - top_neg;
        const float e = exp_nonpos(min_of(logit, 0.0f));
        const float fp = (ms_positive_mined(x, row_max_neg, c) ? row_f_pos : 0.0f) +
                         (ms_positive_mined(x, max_neg[k], c) ? f_pos[k] : 0.0f);
        const float fn = (ms_negative_mined(x, row_min_pos, c) ? row_f_neg : 0.0f) +
                         (ms_negative_mined(x, min_pos[k], c) ? f_neg[k] : 0.0f);
        w[k] = pos ? -(e * fp) : (neg ? e * fn : 0.0f);
      }
      std::fill(w + cols, w + kTile, 0.0f);
    }
  });
}

}  // namespace fl
