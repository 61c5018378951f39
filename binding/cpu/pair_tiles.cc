// The pairwise family's tile micro-kernels: register-blocked products of a block of rows by a
// kPanel-wide strip, written with GCC vector types and cloned per ISA (wide.h) so each keeps its
// accumulators in registers: 16 x 16 in 16 zmm (AVX-512), 6 x 16 in 12 ymm (AVX2 + FMA) or 24 xmm
// (baseline).
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

// Rows per micro-kernel step for vector type V. AVX-512 has 32 registers: 16 rows keep 16
// accumulator chains in flight, where kRowBlock's 6 left the FMA units waiting on their latency
// (2 units x 4 cycles want 8 chains), and 17 loads feed 16 FMAs instead of 7 feeding 6. Each
// entry's sum over d is the same either way, so the result is too.
template <class V>
constexpr int row_block() {
  return sizeof(V) == 64 ? 16 : kRowBlock;
}

// S tile: for each 16-column panel and each 6-row block, 6 x 16 accumulators in registers over
// the whole width; the panel's d-th 16 floats are one contiguous load.
template <class V>
FL_INLINE void similarity_kernel(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0,
                                 float* s) {
  constexpr int kVecs = kPanel * sizeof(float) / sizeof(V), kRows = row_block<V>();
  const int64_t ld = a.ld;
  const float* __restrict rows = a.fn.data() + i0 * ld;
  const int row_end = valid_rows(a, i0, kRows), col_end = valid_rows(b, j0, kPanel);
  for (int p = 0; p < col_end / kPanel; ++p) {
    const float* __restrict panel = b.packed.data() + (j0 + p * kPanel) * ld;
    for (int r0 = 0; r0 < row_end; r0 += kRows) {
      V acc[kRows][kVecs] = {};
      const float* __restrict ar = rows + r0 * ld;
      for (int64_t d = 0; d < ld; ++d) {
        V v[kVecs];
        for (int k = 0; k < kVecs; ++k) load_vec(v[k], panel + d * kPanel + k * (kPanel / kVecs));
        for (int r = 0; r < kRows; ++r)
          for (int k = 0; k < kVecs; ++k) acc[r][k] += ar[r * ld + d] * v[k];
      }
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < kVecs; ++k)
          store_vec(s + (r0 + r) * kTile + p * kPanel + k * (kPanel / kVecs), acc[r][k]);
    }
  }
}

// acc += W B: for each 16-wide column strip and 6-row block of the gradient, the tile's kTile
// rows of B are broadcast-multiplied by the weights into 6 x 16 registers. Strips outermost, so
// a strip of B (kTile x 16 floats) stays in L1 for all the row blocks: with the row blocks
// outermost, a wide B tile (kTile x 512 floats) came from L2 once per row block.
template <class V>
FL_INLINE void accumulate_kernel(const float* w, int rows, const TileSet& b, int64_t j0,
                                 float* acc) {
  constexpr int kVecs = kPanel * sizeof(float) / sizeof(V), kRows = row_block<V>();
  const int64_t ld = b.ld;
  const int row_end = static_cast<int>(round_up(rows, kRows)), col_end = tile_rows(b, j0);
  for (int64_t d0 = 0; d0 < ld; d0 += kPanel) {
    const float* __restrict cols = b.strips.data() + (d0 * b.rows + j0 * kPanel);
    for (int r0 = 0; r0 < row_end; r0 += kRows) {
      const float* __restrict wr = w + r0 * kTile;
      V c[kRows][kVecs];
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < kVecs; ++k)
          load_vec(c[r][k], acc + (r0 + r) * ld + d0 + k * (kPanel / kVecs));
      for (int j = 0; j < col_end; ++j) {
        V v[kVecs];
        for (int k = 0; k < kVecs; ++k) load_vec(v[k], cols + j * kPanel + k * (kPanel / kVecs));
        for (int r = 0; r < kRows; ++r)
          for (int k = 0; k < kVecs; ++k) c[r][k] += wr[r * kTile + j] * v[k];
      }
      for (int r = 0; r < kRows; ++r)
        for (int k = 0; k < kVecs; ++k)
          store_vec(acc + (r0 + r) * ld + d0 + k * (kPanel / kVecs), c[r][k]);
    }
  }
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
