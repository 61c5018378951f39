// The tile engine of the pairwise family: the embeddings normalised into a padded copy (and
// panel- and strip-packed copies for the micro-kernels), tiles of S = A B^T recomputed on demand,
// and G B accumulated tile by tile. Nothing here is N x N: a sweep holds one kTile x kTile tile
// per thread, or one kTile x N strip (sweep_tiles_twice). Row tiles are the unit of parallelism and
// each owns its rows' statistics and gradient, visiting the column tiles in order (the symmetric
// gradient sweep: pairs of tiles, in rounds that share no tile), so results do not depend on the
// thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "fusedloss/pairs_math.h"
#include "fusedloss/status.h"
#include "parallel.h"

namespace fl {

constexpr int kPanel = 16;    // similarity columns (and gradient columns) per micro-kernel step
constexpr int kRowBlock = 6;  // rows per micro-kernel step: 6 x 16 accumulators in registers
constexpr int kTile = 96;     // rows and columns of a tile: a multiple of both

// One embedding set, ready for the sweeps.
struct TileSet {
  int64_t n = 0, rows = 0;  // rows: n rounded up to kTile (the padding rows are zero)
  int32_t dim = 0, ld = 0;  // ld: dim rounded up to kPanel (the padding columns are zero)
  const int32_t* labels = nullptr;
  std::vector<float> fn;      // rows x ld, the (normalised) rows
  std::vector<float> packed;  // rows / kPanel panels of ld x kPanel: fn transposed per panel
  // ld / kPanel strips of rows x kPanel: fn cut into 16-column strips, so the gradient kernel
  // reads a tile's rows down a strip contiguously (in fn they lie ld floats apart, and at
  // ld = 128 or 512 they fall into a few L1 sets and evict each other).
  std::vector<float> strips;
  std::vector<float> q;      // ||fn_i||^2 (for distances)
  std::vector<float> scale;  // 1 / max(||f_i||, 1e-12), or 1 without normalisation
  bool normalize = true;
};

// Fills `t` from n x dim rows; false when an entry is not finite (pair_input_fault names it).
bool tile_set(const float* x, const int32_t* labels, int64_t n, int32_t dim, bool normalize,
              TileSet& t);

// Rows of t from r0 in a tile: kTile, fewer in the last.
inline int tile_rows(const TileSet& t, int64_t r0) {
  return static_cast<int>(std::min<int64_t>(kTile, t.n - r0));
}

// s (kTile x kTile) = rows [i0, i0 + kTile) of a times rows [j0, j0 + kTile) of b, transposed.
// Past the last tile's rows or columns, s keeps what it held (readers stop at a.n and b.n).
void similarity_tile(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0, float* s);
// The same in double (kWideSim, for rows taken unnormalised): products of floats are exact in
// double, and their sum is compensated (TwoSum, Ogita, Rump, Oishi's Sum2), so S is within about
// an ulp of double of the exact dot product.
void similarity_tile(const TileSet& a, int64_t i0, const TileSet& b, int64_t j0, double* s);

// acc (kTile x ld, rows i0.. of a gradient) += w (kTile x kTile) times rows [j0, j0 + kTile) of b,
// for the first `rows` rows of w (rounded up to the kernel's row block: w is 0 past them, to
// kTile).
void accumulate_tile(const float* w, int rows, const TileSet& b, int64_t j0, float* acc);
// The same with W^T (kTile x kTile, w[j * kTile + r] the weight of output row r and b's row
// j0 + j): `rows` valid output rows, the first of w's columns.
void accumulate_tile_transposed(const float* w, int rows, const TileSet& b, int64_t j0, float* acc);

// grad (n x dim) = d loss / d raw rows from acc = d loss / d fn (n x ld): the normalisation
// backward, (g - (g . fn) fn) / ||f|| (formulas E.0), or a copy without normalisation.
void normalisation_backward(const TileSet& t, const float* acc, float* grad);

// Calls body(i0, j0, s) for every tile of S = a b^T: row tiles in parallel, each visiting the
// column tiles in order, with s its S tile of T (float or double, kWideSim; body may overwrite it).
template <class T = float, class Body>
void sweep_tiles(const TileSet& a, const TileSet& b, Body body) {
  parallel_chunks(a.rows / kTile, 1, [&](int64_t, int64_t tile, int64_t) {
    std::vector<T> s(static_cast<size_t>(kTile) * kTile);
    for (int64_t j0 = 0; j0 < b.rows; j0 += kTile) {
      similarity_tile(a, tile * kTile, b, j0, s.data());
      body(tile * kTile, j0, s.data());
    }
  });
}

// The largest strip sweep_tiles_twice keeps per thread (b.rows up to 87381 at kTile = 96): past
// it, a large reference set would cost threads x kTile x M floats, so S is computed twice instead.
constexpr size_t kMaxStripBytes = size_t{32} << 20;

// As sweep_tiles for two passes whose second needs only what the first gathered about the same
// rows: each row tile's strip of S (kTile x b.rows, per thread) is computed once, visited by
// first(i0, j0, s), kept, and visited again by second(i0, j0, s), instead of computing S twice.
template <class T = float, class First, class Second>
void sweep_tiles_twice(const TileSet& a, const TileSet& b, First first, Second second) {
  if (static_cast<size_t>(kTile) * b.rows * sizeof(T) > kMaxStripBytes) {
    sweep_tiles<T>(a, b, first);
    sweep_tiles<T>(a, b, second);
    return;
  }
  parallel_chunks(a.rows / kTile, 1, [&](int64_t, int64_t tile, int64_t) {
    const int64_t i0 = tile * kTile;
    std::unique_ptr<T[]> strip(new T[static_cast<size_t>(kTile) * b.rows]);
    for (int64_t j0 = 0; j0 < b.rows; j0 += kTile) {
      similarity_tile(a, i0, b, j0, strip.get() + j0 * kTile);
      first(i0, j0, strip.get() + j0 * kTile);
    }
    for (int64_t j0 = 0; j0 < b.rows; j0 += kTile) second(i0, j0, strip.get() + j0 * kTile);
  });
}

// A weight tile as floats: s itself, or a double tile (kWideSim) rounded into w (kTile x kTile):
// the weights need no more than float.
template <class T>
const float* float_tile(T* s, float* w) {
  if constexpr (kWideSim<T>) {
    std::copy(s, s + kTile * kTile, w);
    return w;
  } else {
    return s;
  }
}

// The last sweep: weigh(i0, j0, s) turns each S tile into its weight tile in place, which is
// accumulated into acc (a.rows x ld): acc = d loss / d fn of a's rows.
template <class T = float, class Weigh>
void gradient_sweep(const TileSet& a, const TileSet& b, std::vector<float>& acc, Weigh weigh) {
  acc.assign(static_cast<size_t>(a.rows) * a.ld, 0.0f);
  sweep_tiles<T>(a, b, [&](int64_t i0, int64_t j0, T* s) {
    weigh(i0, j0, s);
    float w[kWideSim<T> ? kTile * kTile : 1];
    accumulate_tile(float_tile(s, w), tile_rows(a, i0), b, j0, acc.data() + i0 * a.ld);
  });
}

// The pairs of row tiles (i <= j) of one set in rounds whose pairs share no tile: a round-robin
// tournament over the tiles, where each tile also meets itself (at its bye with an odd count, in a
// round of its own first with an even one). Fixed by the count alone.
using TileRound = std::vector<std::pair<int64_t, int64_t>>;
std::vector<TileRound> tile_rounds(int64_t tiles);

// gradient_sweep of a on itself for a symmetric W (W_ji = W_ij, as G + G^T): each pair of tiles
// is computed and weighed once and feeds both acc_I += W B_J and acc_J += W^T B_I, 3 N^2 D flops
// where gradient_sweep takes 4. The rounds of tile_rounds run one after the other, their pairs in
// parallel, so each tile's gradient receives its terms in round order whatever the thread count.
template <class T = float, class Weigh>
void gradient_sweep_symmetric(const TileSet& a, std::vector<float>& acc, Weigh weigh) {
  acc.assign(static_cast<size_t>(a.rows) * a.ld, 0.0f);
  // Tiles per side of a task: 2 from 16 tiles on, so what a task reads (both sides' rows, packed
  // copies and gradients) serves twice the products.
  const int64_t tiles = a.rows / kTile, group = tiles >= 16 ? 2 : 1;
  for (const TileRound& round : tile_rounds((tiles + group - 1) / group))
    parallel_chunks(static_cast<int64_t>(round.size()), 1, [&](int64_t, int64_t k, int64_t) {
      const int64_t gi = round[k].first * group, gj = round[k].second * group;
      std::vector<T> s(static_cast<size_t>(kTile) * kTile);
      float w[kWideSim<T> ? kTile * kTile : 1];
      for (int64_t ti = gi; ti < std::min(tiles, gi + group); ++ti)
        for (int64_t tj = gi == gj ? ti : gj; tj < std::min(tiles, gj + group); ++tj) {
          const int64_t i0 = ti * kTile, j0 = tj * kTile;
          similarity_tile(a, i0, a, j0, s.data());
          weigh(i0, j0, s.data());
          const float* weights = float_tile(s.data(), w);
          accumulate_tile(weights, tile_rows(a, i0), a, j0, acc.data() + i0 * a.ld);
          if (i0 != j0)
            accumulate_tile_transposed(weights, tile_rows(a, j0), a, i0, acc.data() + j0 * a.ld);
        }
    });
}

// The loss over given pairs (pair_given.cc, formulas E.8) on t's rows: acc (t.rows x ld) receives
// d loss / d fn; per-anchor losses to row_loss when set.
double given_pairs_cpu(const TileSet& t, const GivenPairs& g, const PairParams& p, float* row_loss,
                       std::vector<float>& acc);

}  // namespace fl
