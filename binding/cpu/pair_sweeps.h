// What the pairwise losses share on the CPU: the query and reference tile sets, the kind of a
// pair, the row loops of a tile, an online LSE merged tile by tile, and the weight sweeps that
// turn S tiles into G + G^T (single set) or G and G^T (cross-batch) and accumulate them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fusedloss/pairs_math.h"
#include "pair_tiles.h"
#include "rows.h"
#include "simd.h"
#include "wide.h"

namespace fl {

// The kinds of the pairs of row i (of one set) with the columns j0 + k (of the other), in 32-bit
// lanes: column labels from j0 and the self pair as a column index, so loops over k vectorise
// at full width (64-bit index compares would halve it).
struct RowKinds {
  int32_t label, self_col;
  const int32_t* labels;

  RowKinds(const int32_t* row_labels, int64_t i, const int32_t* col_labels, int64_t j0, bool single)
      : label(row_labels[i]),
        self_col(single && i >= j0 && i < j0 + kTile ? static_cast<int32_t>(i - j0) : -1),
        labels(col_labels + j0) {}
  PairKind operator()(int k) const { return PairKind{labels[k] == label, k == self_col}; }
};

struct PairSets {
  TileSet q, r;  // queries; reference (cross-batch only)
  bool cross = false;
  float* row_loss = nullptr;  // per-anchor losses (PairProblem::row_loss)
  const TileSet& ref() const { return cross ? r : q; }
  // Query row i against the reference rows from j0.
  RowKinds kinds(int64_t i, int64_t j0) const {
    return RowKinds(q.labels, i, ref().labels, j0, !cross);
  }
};

// Calls row(i, s_row, j0, cols) for each valid query row of the tile at (i0, j0), with s_row its
// similarities to reference rows j0 .. j0 + cols (float or double, kWideSim). Dispatched, so the
// row loops vectorise per ISA.
template <class T, class Row>
FL_ISA_BODY void for_tile_rows(const PairSets& ps, int64_t i0, int64_t j0, const T* s, Row row) {
  const int64_t rows = std::min<int64_t>(kTile, ps.q.n - i0);
  const int cols = static_cast<int>(std::min<int64_t>(kTile, ps.ref().n - j0));
  for (int64_t r = 0; r < rows; ++r) row(i0 + r, s + r * kTile, j0, cols);
}

// Largest of value(i) for i in [0, n) in lanes of T (float or double, kWideSim), -inf for n = 0.
template <class T, class Value>
FL_INLINE T lanes_max(int32_t n, Value value) {
  if constexpr (kWideSim<T>)
    return lane_max_of(n, value);
  else
    return lane_max(n, value);
}

// A log-sum-exp (pairs_math.h) reduced over tiles: each tile's masked max, then its masked sum of
// exponentials (both loops vectorise), merged into the running pair. Logits of a double S stay
// double up to their difference from the max.
struct OnlineLse : Lse {
  OnlineLse(const Lse& l = Lse{}) : Lse(l) {}

  // Adds logit(c) for the columns c < cols where use(c).
  template <class Use, class Logit>
  FL_INLINE void add(int cols, Use use, Logit logit) {
    using T = decltype(logit(0));
    const T m = lanes_max<T>(cols, [&](int c) { return use(c) ? logit(c) : T(-INFINITY); });
    if (!(m > -INFINITY)) return;
    any = true;
    if (m > max) {
      sum *= std::exp(max - m);
      max = m;
    }
    const T top = static_cast<T>(max);
    sum += nonneg_sum(cols, [&](int c) {
      return use(c) ? exp_nonpos(static_cast<float>(logit(c) - top)) : 0.0f;
    });
  }
};

// How many columns c < cols satisfy use(c), in lanes.
template <class Use>
FL_INLINE int64_t lane_count(int cols, Use use) {
  return static_cast<int64_t>(nonneg_sum(cols, [&](int c) { return use(c) ? 1.0f : 0.0f; }));
}

// The distances of query row i of a to rows j0 .. j0 + cols of b from their S row (pairs_math.h's
// pair_distance; d may be s): d^2 from S in lanes, then, only in a row that has any, the near
// pairs' d^2 from the rows themselves.
FL_INLINE void distance_row(const TileSet& a, int64_t i, const TileSet& b, int64_t j0, int cols,
                            const float* s, float* d) {
  const float qi = a.q[i];
  const float* qj = b.q.data() + j0;
  for (int k = 0; k < cols; ++k) d[k] = pair_d2(s[k], qi, qj[k]);
  if (lane_count(cols, [&](int k) { return pair_near(d[k], qi, qj[k]); }) > 0)
    for (int k = 0; k < cols; ++k)
      if (pair_near(d[k], qi, qj[k]))
        d[k] = row_d2(a.fn.data() + i * a.ld, b.fn.data() + (j0 + k) * b.ld, a.dim);
  for (int k = 0; k < cols; ++k) d[k] = distance_of(d[k], qi, qj[k]);
}

// An S tile of a by b at (i0, j0) turned into their distances, in place.
FL_ISA_BODY void distance_tile(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0,
                               float* s) {
  const int rows = static_cast<int>(std::min<int64_t>(kTile, a.n - i0));
  const int cols = static_cast<int>(std::min<int64_t>(kTile, b.n - j0));
  for (int r = 0; r < rows; ++r) distance_row(a, i0 + r, b, j0, cols, s + r * kTile, s + r * kTile);
}

// dst = src^T (Add: dst += src^T) for kTile x kTile row-major tiles, in 4 x 4 register blocks:
// a column walk moves one float per load or store, and reading a column back became a gather.
template <bool Add>
FL_INLINE void transpose_tile(const float* __restrict src, float* __restrict dst) {
  for (int r0 = 0; r0 < kTile; r0 += 4)
    for (int c0 = 0; c0 < kTile; c0 += 4) {
      Vec4 in[4], out[4];
      for (int k = 0; k < 4; ++k) load_vec(in[k], src + (r0 + k) * kTile + c0);
      const Vec4 lo01 = __builtin_shufflevector(in[0], in[1], 0, 4, 1, 5);
      const Vec4 hi01 = __builtin_shufflevector(in[0], in[1], 2, 6, 3, 7);
      const Vec4 lo23 = __builtin_shufflevector(in[2], in[3], 0, 4, 1, 5);
      const Vec4 hi23 = __builtin_shufflevector(in[2], in[3], 2, 6, 3, 7);
      out[0] = __builtin_shufflevector(lo01, lo23, 0, 1, 4, 5);
      out[1] = __builtin_shufflevector(lo01, lo23, 2, 3, 6, 7);
      out[2] = __builtin_shufflevector(hi01, hi23, 0, 1, 4, 5);
      out[3] = __builtin_shufflevector(hi01, hi23, 2, 3, 6, 7);
      for (int k = 0; k < 4; ++k) {
        float* d = dst + (c0 + k) * kTile + r0;
        if (Add) {
          Vec4 v;
          load_vec(v, d);
          out[k] += v;
        }
        store_vec(d, out[k]);
      }
    }
}

// Weight tile at (i0, j0) of a by b: single set W = G + G^T, cross-batch W = G (queries against
// the reference, `back` false) or W = G^T (the reference against the queries); 0 off the valid
// rows. Adds each row's weight sum into row_sum when given (distance losses need it). G^T is
// computed on the transposed tile, so that in both parts the statistics g reads belong to the
// loop's row (uniform) rather than a gather per pair; the loops are branch-free after inlining
// g and vectorise in each clone.
template <class G>
FL_ISA_BODY void weigh_tile(const PairSets& ps, const G& g, const TileSet& a, int64_t i0,
                            const TileSet& b, int64_t j0, float* s, bool back, double* row_sum) {
  const int rows = static_cast<int>(std::min<int64_t>(kTile, a.n - i0));
  const int cols = static_cast<int>(std::min<int64_t>(kTile, b.n - j0));
  const bool forward = !ps.cross || !back, transposed = !ps.cross || back;
  float t[kTile * kTile];  // S^T of the tile, then G^T (0 off the valid rows and columns)
  // Rows are written through a local array: stores to s or t could alias the statistics g
  // reads, which would keep the loops scalar.
  float out[kTile] = {};
  if (transposed) {
    transpose_tile<false>(s, t);
    for (int c = 0; c < kTile; ++c) {
      const int64_t j = j0 + c;
      if (c < cols) {
        const RowKinds kind(b.labels, j, a.labels, i0, !ps.cross);
        const float* tc = t + c * kTile;
        for (int r = 0; r < rows; ++r) out[r] = g(j, i0 + r, tc[r], kind(r));
      } else {
        std::fill(out, out + rows, 0.0f);
      }
      std::copy(out, out + kTile, t + c * kTile);
    }
  }
  for (int r = 0; r < kTile; ++r) {
    float* w = s + r * kTile;
    const int64_t i = i0 + r;
    std::fill(out, out + kTile, 0.0f);
    if (r < rows && forward) {
      const RowKinds kind(a.labels, i, b.labels, j0, !ps.cross);
      for (int c = 0; c < cols; ++c) out[c] = g(i, j0 + c, w[c], kind(c));
    }
    std::copy(out, out + kTile, w);
  }
  if (transposed) transpose_tile<true>(t, s);
  if (row_sum)
    for (int r = 0; r < rows; ++r) row_sum[i0 + r] += lane_sum(s + r * kTile, kTile);
}

// weigh_tile for a double S tile (kWideSim): the same weights in plain loops, each pair's kind
// being symmetric, written back into the tile.
template <class G>
void weigh_tile(const PairSets& ps, const G& g, const TileSet& a, int64_t i0, const TileSet& b,
                int64_t j0, double* s, bool back, double* row_sum) {
  const int rows = static_cast<int>(std::min<int64_t>(kTile, a.n - i0));
  const int cols = static_cast<int>(std::min<int64_t>(kTile, b.n - j0));
  const bool forward = !ps.cross || !back, transposed = !ps.cross || back;
  for (int r = 0; r < kTile; ++r) {
    double* w = s + r * kTile;
    const int64_t i = i0 + r;
    if (r >= rows) {
      std::fill(w, w + kTile, 0.0);
      continue;
    }
    const RowKinds kind(a.labels, i, b.labels, j0, !ps.cross);
    double sum = 0;
    for (int c = 0; c < kTile; ++c) {
      float v = 0;
      if (c < cols) {
        if (forward) v += g(i, j0 + c, w[c], kind(c));
        if (transposed) v += g(j0 + c, i, w[c], kind(c));
      }
      w[c] = v;
      sum += v;
    }
    if (row_sum) row_sum[i] += sum;
  }
}

// sum[c] += the sum of column c of a weight tile (0 off its valid rows), for c < cols.
template <class T>
void add_column_sums(const T* w, int64_t cols, double* sum) {
  for (int64_t c = 0; c < cols; ++c) {
    double t = 0;
    for (int r = 0; r < kTile; ++r) t += w[r * kTile + c];
    sum[c] += t;
  }
}

// g(i, j, s, kind): G for query row i and reference row j at similarity s (of T, kWideSim).
template <class T, class G>
struct WeightSweeps {
  const PairSets& ps;
  G g;

  // d loss / d fn of a's rows into acc; distance losses (`distance`, float S) get each pair's
  // distance d_ij in g's s, and also subtract (sum_j W_ij) fn_i, the part of dd/dfn that flows
  // through the norms q (formulas E.0).
  void run(const TileSet& a, const TileSet& b, std::vector<float>& acc, bool distance) const {
    std::vector<double> row_sum(distance ? a.n : 0);
    double* rs = distance ? row_sum.data() : nullptr;
    const bool back = ps.cross && &a == &ps.r;
    auto weigh = [&](int64_t i0, int64_t j0, T* s) {
      if constexpr (!kWideSim<T>)
        if (distance) FL_ISA_CALL(distance_tile(a, i0, b, j0, s));
      FL_ISA_CALL(weigh_tile(ps, g, a, i0, b, j0, s, back, rs));
    };
    if (ps.cross) {
      gradient_sweep<T>(a, b, acc, weigh);
    } else {
      // One set: W = G + G^T is symmetric, so each pair of tiles once, its W^T adding the row
      // sums of the mirrored tile's rows (W's column sums) too.
      gradient_sweep_symmetric<T>(a, acc, [&](int64_t i0, int64_t j0, T* s) {
        weigh(i0, j0, s);
        if (rs && i0 != j0) add_column_sums(s, std::min<int64_t>(kTile, a.n - j0), rs + j0);
      });
    }
    if (!distance) return;
    for (int64_t i = 0; i < a.n; ++i)
      for (int32_t d = 0; d < a.dim; ++d)
        acc[i * a.ld + d] -= static_cast<float>(row_sum[i]) * a.fn[i * a.ld + d];
  }
};

template <class T = float, class G>
WeightSweeps<T, G> weight_sweeps(const PairSets& ps, G g) {
  return WeightSweeps<T, G>{ps, g};
}

}  // namespace fl
