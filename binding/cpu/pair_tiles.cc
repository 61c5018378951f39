// The pairwise family's tile micro-kernels: register-blocked products of a block of rows by one
// or two kPanel-wide strips, written with GCC vector types and cloned per ISA (wide.h) so each
// keeps its accumulators in registers: 12 x 32 in 24 zmm (AVX-512), 6 x 16 in 12 ymm (AVX2 + FMA)
// or 24 xmm (baseline).
#include "pair_tiles.h"

#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cmath>

#include "simd.h"
#include "wide.h"

namespace fl {
namespace {

int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

// The rows of a tile from row r0 of t that hold data, rounded up to a step of the kernels: the
// padding rows past t.n are skipped (at N = 1024, 1056 rows, 6% of the products).
int valid_rows(const TileSet& t, int64_t r0, int step) {
  return static_cast<int>(round_up(tile_rows(t, r0), step));
}

}  // namespace

bool tile_set(const float* x, const int32_t* labels, int64_t n, int32_t dim, bool normalize,
              TileSet& t) {
  t.n = n;
  t.rows = round_up(n, kTile);
  t.dim = dim;
  t.ld = static_cast<int32_t>(round_up(dim, kPanel));
  t.labels = labels;
  t.normalize = normalize;
  t.fn.assign(static_cast<size_t>(t.rows) * t.ld, 0.0f);
  t.packed.assign(t.fn.size(), 0.0f);
  t.strips.assign(t.fn.size(), 0.0f);
  t.q.assign(t.rows, 0.0f);
  t.scale.assign(t.rows, 1.0f);
  const int64_t ld = t.ld;
  std::atomic<int> bad{0};
  parallel_chunks(t.rows / kPanel, 16, [&](int64_t, int64_t pb, int64_t pe) {
    for (int64_t i = pb * kPanel; i < std::min(pe * kPanel, n); ++i) {
      const float* f = x + i * dim;
      double norm2 = 0;
      for (int32_t d = 0; d < dim; ++d) norm2 += static_cast<double>(f[d]) * f[d];
      if (!row_usable(normalize, norm2)) bad.store(1, std::memory_order_relaxed);
      const double norm = std::sqrt(norm2);
      const double scale = normalize ? 1.0 / std::max(norm, static_cast<double>(kMinNorm)) : 1.0;
      float* fn = t.fn.data() + i * ld;
      float* panel = t.packed.data() + (i / kPanel) * ld * kPanel + i % kPanel;
      float* strip = t.strips.data() + i * kPanel;
      double q = 0;
      for (int32_t d = 0; d < dim; ++d) {
        fn[d] = static_cast<float>(f[d] * scale);
        panel[d * kPanel] = fn[d];
        strip[(d / kPanel) * t.rows * kPanel + d % kPanel] = fn[d];
        q += static_cast<double>(fn[d]) * fn[d];
      }
      t.q[i] = static_cast<float>(q);
      t.scale[i] = static_cast<float>(scale);
    }
  });
  return !bad;
}

namespace {

// The register block of a micro-kernel step for vector type V: rows by panels of kPanel columns.
// AVX-512 has 32 registers: 12 rows by 2 panels keep 24 accumulator chains in flight (2 units x 4
// cycles want 8) and 14 loads (2 vectors, 12 broadcasts) feed 24 FMAs, where 16 rows by 1 panel
// took 17 loads for 16 FMAs and the loads, not the FMAs, set the pace. Each entry's sum over d is
// the same either way, so the result is too.
template <class V>
constexpr int row_block() {
  return sizeof(V) == 64 ? 12 : kRowBlock;
}
template <class V>
constexpr int panel_block() {
  return sizeof(V) == 64 ? 2 : 1;
}

// S tile: for each kNP panels of 16 columns and each block of rows, the accumulators in registers
// over the whole width; a panel's d-th 16 floats are one contiguous load.
template <class V>
FL_INLINE void similarity_kernel(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0,
                                 float* s) {
  constexpr int kVecs = kPanel * sizeof(float) / sizeof(V), kRows = row_block<V>();
  constexpr int kNP = panel_block<V>(), kW = kNP * kVecs;
  static_assert(kTile % kRows == 0 && kTile % (kNP * kPanel) == 0, "blocks must tile kTile");
  const int64_t ld = a.ld;
  const float* __restrict rows = a.fn.data() + i0 * ld;
  // Padding columns are zero rows of b (b.rows is a multiple of kTile), so whole blocks are safe.
  const int row_end = valid_rows(a, i0, kRows), col_end = valid_rows(b, j0, kNP * kPanel);
  for (int p = 0; p < col_end / kPanel; p += kNP) {
    const float* __restrict panel = b.packed.data() + (j0 + p * kPanel) * ld;
    for (int r0 = 0; r0 < row_end; r0 += kRows) {
      V acc[kRows][kW] = {};
      const float* __restrict ar = rows + r0 * ld;
      for (int64_t d = 0; d < ld; ++d) {
        V v[kW];
        for (int q = 0; q < kNP; ++q)
          for (int k = 0; k < kVecs; ++k)
            load_vec(v[q * kVecs + k], panel + q * ld * kPanel + d * kPanel + k * (kPanel / kVecs));
        for (int r = 0; r < kRows; ++r)
          for (int k = 0; k < kW; ++k) acc[r][k] += ar[r * ld + d] * v[k];
      }
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < kW; ++k)
          store_vec(s + (r0 + r) * kTile + p * kPanel + k * (kPanel / kVecs), acc[r][k]);
    }
  }
}

// acc += W B on kNP strips of 16 gradient columns from d0: for each block of rows of W, the tile's
// rows of B are broadcast-multiplied by the weights into registers. kTransposed: W^T in place of W
// (the weight of output row r and B row j is w[j * kTile + r]), for the mirrored tile of a
// symmetric sweep; a row block's weights of one j are then contiguous.
template <class V, int kNP, bool kTransposed>
FL_INLINE void accumulate_strips(const float* w, int row_end, const TileSet& b, int64_t j0,
                                 int64_t d0, float* acc) {
  constexpr int kVecs = kPanel * sizeof(float) / sizeof(V), kRows = row_block<V>();
  constexpr int kW = kNP * kVecs;
  constexpr int kRowStride = kTransposed ? 1 : kTile, kColStride = kTransposed ? kTile : 1;
  const int64_t ld = b.ld, strip = b.rows * kPanel;
  const int col_end = tile_rows(b, j0);
  const float* __restrict cols = b.strips.data() + (d0 * b.rows + j0 * kPanel);
  for (int r0 = 0; r0 < row_end; r0 += kRows) {
    const float* __restrict wr = w + r0 * kRowStride;
    V c[kRows][kW];
    for (int r = 0; r < kRows; ++r)
      for (int k = 0; k < kW; ++k)
        load_vec(c[r][k], acc + (r0 + r) * ld + d0 + k * (kPanel / kVecs));
    for (int j = 0; j < col_end; ++j) {
      V v[kW];
      for (int q = 0; q < kNP; ++q)
        for (int k = 0; k < kVecs; ++k)
          load_vec(v[q * kVecs + k], cols + q * strip + j * kPanel + k * (kPanel / kVecs));
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < kW; ++k) c[r][k] += wr[r * kRowStride + j * kColStride] * v[k];
    }
    for (int r = 0; r < kRows; ++r)
      for (int k = 0; k < kW; ++k)
        store_vec(acc + (r0 + r) * ld + d0 + k * (kPanel / kVecs), c[r][k]);
  }
}

// acc += W B: strips outermost, so a strip of B (kTile x 16 floats, kNP of them) stays in L1 for
// all the row blocks: with the row blocks outermost, a wide B tile (kTile x 512 floats) came from
// L2 once per row block. A last odd strip takes the one-strip step.
template <class V, bool kTransposed = false>
FL_INLINE void accumulate_kernel(const float* w, int rows, const TileSet& b, int64_t j0,
                                 float* acc) {
  constexpr int kNP = panel_block<V>();
  static_assert(kTile % row_block<V>() == 0, "row blocks must tile kTile");
  const int row_end = static_cast<int>(round_up(rows, row_block<V>()));
  int64_t d0 = 0;
  for (; d0 + kNP * kPanel <= b.ld; d0 += kNP * kPanel)
    accumulate_strips<V, kNP, kTransposed>(w, row_end, b, j0, d0, acc);
  if constexpr (kNP > 1)
    for (; d0 < b.ld; d0 += kPanel)
      accumulate_strips<V, 1, kTransposed>(w, row_end, b, j0, d0, acc);
}

template <class V>
FL_INLINE void accumulate_transposed_kernel(const float* w, int rows, const TileSet& b, int64_t j0,
                                            float* acc) {
  accumulate_kernel<V, true>(w, rows, b, j0, acc);
}

}  // namespace

// The double S tile: for each row and 16-column panel, 16 running sums and their compensations
// (TwoSum: s = a + b exactly as s + e, e from s and its operands alone) over the whole width;
// each product of two floats is exact in double. Rows taken unnormalised only: a few times the
// float kernel's time, dispatched per ISA so its 16-wide panel loop vectorises.
FL_ISA_BODY void similarity_tile_body(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0,
                                      double* s) {
  const int64_t ld = a.ld;
  const int row_end = valid_rows(a, i0, 1), col_end = valid_rows(b, j0, kPanel);
  for (int p = 0; p < col_end / kPanel; ++p) {
    const float* __restrict panel = b.packed.data() + (j0 + p * kPanel) * ld;
    for (int r = 0; r < row_end; ++r) {
      const float* __restrict ar = a.fn.data() + (i0 + r) * ld;
      double hi[kPanel] = {}, lo[kPanel] = {};
      for (int64_t d = 0; d < ld; ++d) {
        const double x = ar[d];
        for (int c = 0; c < kPanel; ++c) {
          const double prod = x * panel[d * kPanel + c];
          const double sum = hi[c] + prod, back = sum - hi[c];
          lo[c] += (hi[c] - (sum - back)) + (prod - back);
          hi[c] = sum;
        }
      }
      for (int c = 0; c < kPanel; ++c) s[r * kTile + p * kPanel + c] = hi[c] + lo[c];
    }
  }
}

FL_ISA_ENTRY(void, similarity_tile,
             (const TileSet& a, int64_t i0, const TileSet& b, int64_t j0, double* s),
             (a, i0, b, j0, s))
FL_WIDE_DISPATCH(similarity_tile, similarity_kernel,
                 (const TileSet& a, int64_t i0, const TileSet& b, int64_t j0, float* s),
                 (a, i0, b, j0, s))
FL_WIDE_DISPATCH(accumulate_tile, accumulate_kernel,
                 (const float* w, int rows, const TileSet& b, int64_t j0, float* acc),
                 (w, rows, b, j0, acc))
FL_WIDE_DISPATCH(accumulate_tile_transposed, accumulate_transposed_kernel,
                 (const float* w, int rows, const TileSet& b, int64_t j0, float* acc),
                 (w, rows, b, j0, acc))

std::vector<TileRound> tile_rounds(int64_t tiles) {
  // The circle method: slot `last` stays, the others turn one step a round; slot k meets slot
  // -k (mod last). With an odd count, slot `last` is the bye.
  const int64_t slots = tiles + (tiles & 1), last = slots - 1;
  std::vector<TileRound> rounds;
  if (slots == tiles) {
    rounds.emplace_back();
    for (int64_t t = 0; t < tiles; ++t) rounds.back().push_back({t, t});
  }
  for (int64_t r = 0; r < last; ++r) {
    TileRound round;
    // k = 0 (slot `last` against r) at the end: with a bye it is the diagonal, the lighter task.
    for (int64_t k = 1; k <= slots / 2; ++k) {
      const int64_t kk = k % (slots / 2);
      int64_t x = kk == 0 ? last : (r + kk) % last, y = (r - kk + last) % last;
      if (x == tiles) x = y;
      round.push_back({std::min(x, y), std::max(x, y)});
    }
    rounds.push_back(std::move(round));
  }
  return rounds;
}

void normalisation_backward(const TileSet& t, const float* acc, float* grad) {
  const int64_t ld = t.ld;
  parallel_chunks(t.n, 256, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* g = acc + i * ld;
      const float* fn = t.fn.data() + i * ld;
      float* out = grad + i * t.dim;
      const bool project = normalisation_projects(t.normalize, t.scale[i]);
      double dot = 0;
      if (project)
        for (int32_t d = 0; d < t.dim; ++d) dot += static_cast<double>(g[d]) * fn[d];
      const float gf = static_cast<float>(dot);
      for (int32_t d = 0; d < t.dim; ++d) out[d] = (g[d] - gf * fn[d]) * t.scale[i];
    }
  });
}

}  // namespace fl
