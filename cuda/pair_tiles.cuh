// The tile engine of the pairwise family on the GPU: embeddings normalised into padded copies,
// 64 x 64 tiles of S = A B^T recomputed in shared memory from K-slices of the rows, and the two
// sweeps every loss is made of. A block owns one row tile of A and one span of column tiles of B,
// visited in order; each span writes its own partial statistics and gradient rows, which are then
// combined span by span in a fixed order: no atomics, the same result on every run. Spans exist
// so that small batches still fill the device; their partials are bounded (column_spans). Nothing
// N x N is ever stored.
#pragma once

#include <cfloat>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "fusedloss/pairs_math.h"
#include "mma.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {

constexpr int kPairTile = 64;      // rows and columns of an S tile (one block's)
constexpr int kSlice = 16;         // coordinates of the rows staged in shared memory per step
constexpr int kPairThreads = 256;  // 16 x 16 threads, each a 4 x 4 register sub-tile
constexpr int kSub = 4;
constexpr int kSide = kPairTile / kSub;              // 16: threads along a tile side
constexpr int kRowLanes = kPairThreads / kPairTile;  // threads per row in the row passes
constexpr int64_t kSweepBlocks = 512;  // blocks a sweep aims for: enough for any device, and a
                                       // bound on the partials (blocks x 64 rows each)

// One embedding set on the device, normalised and padded: `rows` a multiple of kPairTile, `ld` a
// multiple of kSlice, the padding zero (so padded tiles need no bounds checks in the product).
struct DevSet {
  const float* fn;     // rows x ld
  const float* q;      // ||fn_i||^2 (distances)
  const float* scale;  // 1 / max(||f_i||, 1e-12), or 1 without normalisation
  const int32_t* labels;
  int64_t n, rows;
  int32_t dim, ld;
};

// The row stride of an S tile of T: float tiles are stored by the tensor cores, whose rows must
// start 32-byte aligned (cuda/mma.cuh); double tiles keep one float of padding.
template <class T>
constexpr int kSimLd = kWideSim<T> ? kPairTile + 1 : kPairTile + 8;
template <class T>
using SimTile = T[kPairTile][kSimLd<T>];

// K-slices of the tile's rows of A and B as the FMA loops read them: transposed, padded. In the
// gradient step b holds a slice of B's rows instead.
struct FmaSlices {
  float a[kSlice][kPairTile + 1];
  float b[kSlice][kPairTile + 1];
};

// The same as the tensor cores load them (Elem: MmaIn's staged type): one row of A or B per row,
// padded by 16 bytes (ldm a multiple of 16 bytes, the guide's rule, and fragments 32-byte
// aligned); for the gradient step, a slice of B's rows (g) and, for bf16, the weights rounded (w).
template <class Elem>
struct alignas(32) MmaSlices {
  static constexpr int kPad = 16 / sizeof(Elem);
  Elem a[kPairTile][kSlice + kPad];
  Elem b[kPairTile][kSlice + kPad];
};
template <class Elem>
struct alignas(32) MmaGradient {
  Elem g[kSlice][kPairTile + 16 / sizeof(Elem)];
};
struct alignas(32) Bf16Gradient {
  MmaGradient<__nv_bfloat16> b;
  __nv_bfloat16 w[kPairTile][kPairTile + 8];
};

union alignas(32) AnySlices {
  FmaSlices fma;
  MmaSlices<float> tf32;
  MmaSlices<__nv_bfloat16> bf16;
  MmaGradient<float> tf32_grad;
  Bf16Gradient bf16_grad;
};

// S of T: float, or double for unnormalised rows (kWideSim, CUDA cores only).
template <class T>
struct alignas(32) TileShared {
  std::conditional_t<kWideSim<T>, FmaSlices, AnySlices> sl;
  SimTile<T> s;  // the S tile, then its weights
};

template <class T>
__device__ inline FmaSlices& fma_slices(TileShared<T>& sh) {
  if constexpr (kWideSim<T>) {
    return sh.sl;
  } else {
    return sh.sl.fma;
  }
}

// The similarity type an op or weight of the sweeps below takes: its Sim, float by default.
template <class Op, class = void>
struct SimOf {
  using type = float;
};
template <class Op>
struct SimOf<Op, std::void_t<typename Op::Sim>> {
  using type = typename Op::Sim;
};

// An op's optional step on each S tile before its pairs are visited (op.pool(sh.s, i0, j0), run by
// every thread, true when it changed the tile): sub-center ArcFace's maximum over a class's
// sub-centres (cuda/linear_ce.cu). Ops without one compile to nothing here.
template <class Op, class = void>
struct Pools : std::false_type {};
template <class Op>
struct Pools<Op, std::void_t<decltype(std::declval<const Op&>().pool(
                     std::declval<TileShared<float>&>().s, int64_t{}, int64_t{}))>>
    : std::true_type {};

template <class Op, class T>
__device__ inline void pool_tile(const Op& op, TileShared<T>& sh, int64_t i0, int64_t j0) {
  if constexpr (Pools<Op>::value) {
    if (op.pool(sh.s, i0, j0)) __syncthreads();  // uniform: the op's k is the block's
  }
}

// One product of two floats into a running sum: in float; in double (kWideSim) exactly, the sum
// compensated (TwoSum into lo, Ogita, Rump, Oishi's Sum2), as the CPU's double tile.
__device__ inline void add_product(float& hi, float&, float x, float y) {
  hi += x * y;
}
__device__ inline void add_product(double& hi, double& lo, float x, float y) {
  const double prod = static_cast<double>(x) * y;
  const double sum = hi + prod, back = sum - hi;
  lo += (hi - (sum - back)) + (prod - back);
  hi = sum;
}
__device__ inline float sum_of(float hi, float) {
  return hi;
}
__device__ inline double sum_of(double hi, double lo) {
  return hi + lo;
}

#if FL_HAS_TF32_WMMA
// The slices of the tensor-core path in TileShared's union.
__device__ inline MmaSlices<float>& mma_slices(AnySlices& sl, MmaIn<false>) {
  return sl.tf32;
}
__device__ inline MmaSlices<__nv_bfloat16>& mma_slices(AnySlices& sl, MmaIn<true>) {
  return sl.bf16;
}

// Each warp's part of a 64 x 64 tile on the tensor cores: 16 rows from `row`, two 16-wide
// fragments from `col`.
struct WarpTile {
  int row, col;
};
__device__ inline WarpTile warp_tile() {
  const int w = threadIdx.x / 32;
  return WarpTile{16 * (w % 4), 32 * (w / 4)};
}

// similarity_tile (below) on the tensor cores, products as M (not Fma) says.
template <TileMath M>
__device__ void mma_similarity_tile(const DevSet& A, int64_t i0, const DevSet& B, int64_t j0,
                                    TileShared<float>& sh) {
  using In = MmaIn<M == TileMath::Bf16>;
  auto& sl = mma_slices(sh.sl, In{});
  constexpr unsigned ld = kSlice + 16 / sizeof(typename In::Elem);
  const WarpTile w = warp_tile();
  typename In::Acc acc[2];
  for (auto& f : acc) nvcuda::wmma::fill_fragment(f, 0.0f);
  for (int32_t k0 = 0; k0 < A.ld; k0 += kSlice) {
    for (int e = threadIdx.x; e < kPairTile * kSlice; e += kPairThreads) {
      const int r = e / kSlice, k = e % kSlice;
      sl.a[r][k] = In::stage(A.fn[(i0 + r) * A.ld + k0 + k]);
      sl.b[r][k] = In::stage(B.fn[(j0 + r) * B.ld + k0 + k]);
    }
    __syncthreads();
    for (int k = 0; k < kSlice; k += In::kDepth) {
      typename In::RowA a;
      In::load(a, &sl.a[w.row][k], ld, M);
      for (int f = 0; f < 2; ++f) {
        typename In::ColB b;  // B^T: B's rows, column-major
        In::load(b, &sl.b[w.col + 16 * f][k], ld, M);
        In::mma(acc[f], a, b, M);
      }
    }
    __syncthreads();
  }
  for (int f = 0; f < 2; ++f)
    nvcuda::wmma::store_matrix_sync(&sh.s[w.row][w.col + 16 * f], acc[f], kSimLd<float>,
                                    nvcuda::wmma::mem_row_major);
  __syncthreads();
}
#endif

// sh.s = rows [i0, i0 + 64) of A times rows [j0, j0 + 64) of B, transposed, its products as M
// says (float tiles; a double tile is always the FMAs'). Every thread of the block takes part;
// sh.s is complete on return.
template <TileMath M, class T>
__device__ inline void similarity_tile(const DevSet& A, int64_t i0, const DevSet& B, int64_t j0,
                                       TileShared<T>& sh) {
#if FL_HAS_TF32_WMMA
  if constexpr (!kWideSim<T> && M != TileMath::Fma) return mma_similarity_tile<M>(A, i0, B, j0, sh);
#endif
  const int t = threadIdx.x, tx = t % kSide, ty = t / kSide;
  FmaSlices& sl = fma_slices(sh);
  T acc[kSub][kSub] = {}, lo[kSub][kSub] = {};
  for (int32_t k0 = 0; k0 < A.ld; k0 += kSlice) {
    for (int e = t; e < kPairTile * kSlice; e += kPairThreads) {
      const int r = e / kSlice, k = e % kSlice;
      sl.a[k][r] = A.fn[(i0 + r) * A.ld + k0 + k];
      sl.b[k][r] = B.fn[(j0 + r) * B.ld + k0 + k];
    }
    __syncthreads();
    for (int k = 0; k < kSlice; ++k) {
      float ra[kSub], rb[kSub];
      for (int u = 0; u < kSub; ++u) {
        ra[u] = sl.a[k][ty + kSide * u];
        rb[u] = sl.b[k][tx + kSide * u];
      }
      for (int u = 0; u < kSub; ++u)
        for (int v = 0; v < kSub; ++v) add_product(acc[u][v], lo[u][v], ra[u], rb[v]);
    }
    __syncthreads();
  }
  for (int u = 0; u < kSub; ++u)
    for (int v = 0; v < kSub; ++v)
      sh.s[ty + kSide * u][tx + kSide * v] = sum_of(acc[u][v], lo[u][v]);
  __syncthreads();
}

// In a one-set sweep, the diagonal tile's S_ii from the rows' squared norms q (rounded once), not
// from the product: TF32 and BF16 round S_ii by about 1e-4 and 1e-3, which would put self pairs
// on either side of 'paper' Multi-Similarity's S < 1 - 1e-5 rule. Padding rows have no q.
template <class T>
__device__ inline void exact_diagonal(const DevSet& A, int64_t i0, int64_t j0, bool single,
                                      TileShared<T>& sh) {
  if constexpr (!kWideSim<T>) {
    if (!single || i0 != j0) return;
    const int r = threadIdx.x;
    if (r < kPairTile && i0 + r < A.n) sh.s[r][r] = A.q[i0 + r];
    __syncthreads();
  }
}

__device__ inline PairKind pair_kind(int32_t label_i, const DevSet& B, int64_t i, int64_t j,
                                     bool single) {
  return PairKind{B.labels[j] == label_i, single && i == j};
}

// How many spans the column tiles of a sweep over a_rows x b_rows are split into: as many as keep
// the sweep near kSweepBlocks blocks, at most one per column tile. A function of the sizes only,
// so every device (and the simulator) sums in the same order.
inline int64_t column_spans(int64_t a_rows, int64_t b_rows) {
  const int64_t row_tiles = a_rows / kPairTile, col_tiles = b_rows / kPairTile;
  const int64_t want = (kSweepBlocks + row_tiles - 1) / row_tiles;
  return want < col_tiles ? want : col_tiles;
}

// The columns [begin, end) of span blockIdx.y of `spans` over B's rows.
struct ColumnSpan {
  int64_t begin, end;
};

__device__ inline ColumnSpan column_span(const DevSet& B, int64_t spans) {
  const int64_t tiles = B.rows / kPairTile, per = (tiles + spans - 1) / spans;
  const int64_t begin = blockIdx.y * per * kPairTile, end = begin + per * kPairTile;
  return ColumnSpan{begin, end < B.n ? end : B.n};
}

// Sweep 1: out[span * A.n + i] = op's State reduced over the columns j of the span (S_ij against
// B). Each row is shared by kRowLanes threads, each taking every kRowLanes-th column in order;
// their States are merged in lane order at the end. State must be trivially copyable (it goes
// through shared memory as bytes: default member initializers rule out a typed __shared__ array).
// The lanes' States share the tile's memory (a double tile and the States would pass 48 KB).
template <class T, class State>
union ReduceShared {
  TileShared<T> tile;
  unsigned char lanes[sizeof(State) * kPairThreads];
};

template <class Op, TileMath M = TileMath::Fma>
__global__ void __launch_bounds__(kPairThreads)
    reduce_sweep(Op op, DevSet A, DevSet B, bool single, int64_t spans, typename Op::State* out) {
  using State = typename Op::State;
  __shared__ ReduceShared<typename SimOf<Op>::type, State> shared;
  auto& sh = shared.tile;
  State* lanes = reinterpret_cast<State*>(shared.lanes);
  const int t = threadIdx.x, r = t / kRowLanes, lane = t % kRowLanes;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kPairTile, i = i0 + r;
  const bool valid = i < A.n;
  const int32_t label = valid ? A.labels[i] : 0;
  const ColumnSpan span = column_span(B, spans);
  State st{};
  for (int64_t j0 = span.begin; j0 < span.end; j0 += kPairTile) {
    similarity_tile<M>(A, i0, B, j0, sh);
    exact_diagonal(A, i0, j0, single, sh);
    pool_tile(op, sh, i0, j0);
    if (valid)
      for (int c = lane; c < kPairTile && j0 + c < span.end; c += kRowLanes)
        op.add(st, i, j0 + c, sh.s[r][c], pair_kind(label, B, i, j0 + c, single));
    __syncthreads();  // the next tile overwrites sh.s, and the lanes below all of sh
  }
  lanes[t] = st;
  __syncthreads();
  if (lane == 0 && valid) {
    for (int l = 1; l < kRowLanes; ++l) st.merge(lanes[t + l]);
    out[blockIdx.y * A.n + i] = st;
  }
}

// parts[i] = the merge of parts[span * n + i] over the spans, in span order.
template <class State>
__global__ void merge_spans(State* parts, int64_t n, int64_t spans) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    State st = parts[i];
    for (int64_t k = 1; k < spans; ++k) st.merge(parts[k * n + i]);
    parts[i] = st;
  }
}

// Rows i0.. of acc (A.rows x A.ld) += W (the 64 x 64 weights in sh.s) times rows j0.. of B, 64
// gradient columns at a time, on the CUDA cores. The block owns these rows of acc, so the
// read-modify-write is race-free and ordered.
template <class T>
__device__ void fma_gradient_product(const DevSet& A, int64_t i0, const DevSet& B, int64_t j0,
                                     TileShared<T>& sh, float* acc) {
  const int t = threadIdx.x, tx = t % kSide, ty = t / kSide;
  FmaSlices& sl = fma_slices(sh);
  for (int32_t d0 = 0; d0 < A.ld; d0 += kPairTile) {
    float out[kSub][kSub];
    for (int u = 0; u < kSub; ++u)
      for (int v = 0; v < kSub; ++v) {
        const int32_t d = d0 + tx + kSide * v;
        out[u][v] = d < A.ld ? acc[(i0 + ty + kSide * u) * A.ld + d] : 0.0f;
      }
    for (int c0 = 0; c0 < kPairTile; c0 += kSlice) {
      for (int e = t; e < kPairTile * kSlice; e += kPairThreads) {
        const int k = e / kPairTile, col = e % kPairTile;
        const int32_t d = d0 + col;
        sl.b[k][col] = d < B.ld ? B.fn[(j0 + c0 + k) * B.ld + d] : 0.0f;
      }
      __syncthreads();
      for (int k = 0; k < kSlice; ++k)
        for (int u = 0; u < kSub; ++u) {
          const float w = static_cast<float>(sh.s[ty + kSide * u][c0 + k]);
          for (int v = 0; v < kSub; ++v) out[u][v] += w * sl.b[k][tx + kSide * v];
        }
      __syncthreads();
    }
    for (int u = 0; u < kSub; ++u)
      for (int v = 0; v < kSub; ++v) {
        const int32_t d = d0 + tx + kSide * v;
        if (d < A.ld) acc[(i0 + ty + kSide * u) * A.ld + d] = out[u][v];
      }
  }
}

#if FL_HAS_TF32_WMMA
// The weights as the tensor cores read them, and the slices of B's rows.
__device__ inline float* mma_weights(TileShared<float>& sh, MmaIn<false>) {
  return &sh.s[0][0];
}
__device__ inline __nv_bfloat16* mma_weights(TileShared<float>& sh, MmaIn<true>) {
  return &sh.sl.bf16_grad.w[0][0];
}
__device__ inline MmaGradient<float>& mma_gradient(AnySlices& sl, MmaIn<false>) {
  return sl.tf32_grad;
}
__device__ inline MmaGradient<__nv_bfloat16>& mma_gradient(AnySlices& sl, MmaIn<true>) {
  return sl.bf16_grad.b;
}

// fma_gradient_product on the tensor cores: each warp's 16 x 32 part of the 64 gradient columns
// loaded from acc as accumulators, += W times B's rows, stored back.
template <TileMath M>
__device__ void mma_gradient_product(const DevSet& A, int64_t i0, const DevSet& B, int64_t j0,
                                     TileShared<float>& sh, float* acc) {
  using In = MmaIn<M == TileMath::Bf16>;
  constexpr unsigned ldw = std::is_same_v<typename In::Elem, float> ? kSimLd<float> : kPairTile + 8;
  constexpr unsigned ldg = kPairTile + 16 / sizeof(typename In::Elem);
  const typename In::Elem* weights = mma_weights(sh, In{});
  auto& sl = mma_gradient(sh.sl, In{});
  const WarpTile w = warp_tile();
  for (int32_t d0 = 0; d0 < A.ld; d0 += kPairTile) {
    // Columns come in whole fragments: ld and d0 are multiples of 16.
    const bool live[2] = {d0 + w.col < A.ld, d0 + w.col + 16 < A.ld};
    float* out = acc + (i0 + w.row) * A.ld + d0 + w.col;
    typename In::Acc part[2];
    for (int f = 0; f < 2; ++f)
      if (live[f])
        nvcuda::wmma::load_matrix_sync(part[f], out + 16 * f, A.ld, nvcuda::wmma::mem_row_major);
    for (int c0 = 0; c0 < kPairTile; c0 += kSlice) {
      for (int e = threadIdx.x; e < kPairTile * kSlice; e += kPairThreads) {
        const int k = e / kPairTile, col = e % kPairTile;
        const int32_t d = d0 + col;
        sl.g[k][col] = In::stage(d < B.ld ? B.fn[(j0 + c0 + k) * B.ld + d] : 0.0f);
      }
      __syncthreads();
      for (int k = 0; k < kSlice; k += In::kDepth) {
        typename In::RowA wa;
        In::load(wa, weights + w.row * ldw + c0 + k, ldw, M);
        for (int f = 0; f < 2; ++f) {
          if (!live[f]) continue;
          typename In::RowB b;
          In::load(b, &sl.g[k][w.col + 16 * f], ldg, M);
          In::mma(part[f], wa, b, M);
        }
      }
      __syncthreads();
    }
    for (int f = 0; f < 2; ++f)
      if (live[f])
        nvcuda::wmma::store_matrix_sync(out + 16 * f, part[f], A.ld, nvcuda::wmma::mem_row_major);
  }
}
#endif

// The weight w of pair (r, c) of the tile, where the gradient product of M reads it.
template <TileMath M, class T>
__device__ inline void store_weight(TileShared<T>& sh, int r, int c, float w) {
#if FL_HAS_TF32_WMMA
  if constexpr (!kWideSim<T> && M == TileMath::Bf16) {
    sh.sl.bf16_grad.w[r][c] = __float2bfloat16(w);
    return;
  }
#endif
  sh.s[r][c] = w;
}

template <TileMath M, class T>
__device__ inline void gradient_product(const DevSet& A, int64_t i0, const DevSet& B, int64_t j0,
                                        TileShared<T>& sh, float* acc) {
#if FL_HAS_TF32_WMMA
  if constexpr (!kWideSim<T> && M != TileMath::Fma)
    return mma_gradient_product<M>(A, i0, B, j0, sh, acc);
#endif
  fma_gradient_product(A, i0, B, j0, sh, acc);
}

// Sweep 2: the span's acc (A.rows x ld, span blockIdx.y of a stack of them, cleared beforehand)
// += W B over its columns, where W_ij = g(i, j, S_ij) (`forward`) plus g(j, i, S_ij)
// (`transposed`): G + G^T for one set, G or G^T across two. g(query, reference, s, kind) is the
// pair weight dL/dS. With row_sum (a stack of A.rows each), also the span's sum_j W_ij (the
// distance losses' norm term).
template <class G, TileMath M = TileMath::Fma>
__global__ void __launch_bounds__(kPairThreads)
    weight_sweep(G g, DevSet A, DevSet B, bool forward, bool transposed, int64_t spans, float* acc,
                 double* row_sum) {
  __shared__ TileShared<typename SimOf<G>::type> sh;
  __shared__ double sums[kPairThreads];
  const int t = threadIdx.x, r = t / kRowLanes, lane = t % kRowLanes;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kPairTile, i = i0 + r;
  const bool valid = i < A.n;
  const bool single = forward && transposed;
  const int32_t label = valid ? A.labels[i] : 0;
  const ColumnSpan span = column_span(B, spans);
  acc += blockIdx.y * A.rows * A.ld;
  double rs = 0;
  for (int64_t j0 = span.begin; j0 < span.end; j0 += kPairTile) {
    similarity_tile<M>(A, i0, B, j0, sh);
    exact_diagonal(A, i0, j0, single, sh);
    pool_tile(g, sh, i0, j0);
    for (int c = lane; c < kPairTile; c += kRowLanes) {
      const int64_t j = j0 + c;
      float w = 0;
      if (valid && j < span.end) {
        const auto s = sh.s[r][c];
        const PairKind kind = pair_kind(label, B, i, j, single);
        if (forward) w += g(i, j, s, kind);
        if (transposed) w += g(j, i, s, kind);
      }
      store_weight<M>(sh, r, c, w);
      rs += w;
    }
    __syncthreads();
    gradient_product<M>(A, i0, B, j0, sh, acc);
  }
  if (!row_sum) return;
  sums[t] = rs;
  __syncthreads();
  if (lane == 0 && valid) {
    for (int l = 1; l < kRowLanes; ++l) rs += sums[t + l];
    row_sum[blockIdx.y * A.rows + i] = rs;
  }
}

// out[e] = the sum over the spans of parts[span * n + e], in span order.
template <class T>
__global__ void sum_spans(const T* parts, int64_t n, int64_t spans, T* out) {
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T s = parts[e];
    for (int64_t k = 1; k < spans; ++k) s += parts[k * n + e];
    out[e] = s;
  }
}

// Rows into fn (padded to ld; the padding is cleared beforehand), q and scale, as the CPU's
// tile_set; *bad set when a row is not usable (row_usable). A row op for launch_rows (rows.cuh).
struct NormaliseRows {
  const float* x;
  int32_t dim, ld;
  bool normalize;
  float* fn;
  float* q;
  float* scale;
  int* bad;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const float* f = x + r * dim;
    double norm2 = 0;
    for (int32_t k = t.lane; k < dim; k += t.width) norm2 += static_cast<double>(f[k]) * f[k];
    norm2 = t.sum(norm2);
    const double norm = sqrt(norm2), floor = kMinNorm;
    const double sc = normalize ? 1.0 / (norm > floor ? norm : floor) : 1.0;
    double qq = 0;
    for (int32_t k = t.lane; k < dim; k += t.width) {
      const float v = static_cast<float>(f[k] * sc);
      if (active) fn[r * ld + k] = v;
      qq += static_cast<double>(v) * v;
    }
    qq = t.sum(qq);
    if (!active) return;
    if (!row_usable(normalize, norm2)) atomicExch(bad, 1);
    if (t.lane == 0) {
      q[r] = static_cast<float>(qq);
      scale[r] = static_cast<float>(sc);
    }
  }
};

// grad (n x dim) = d loss / d raw rows from acc = d loss / d fn (minus row_sum fn for the distance
// losses): the normalisation backward (g - (g . fn) fn) / ||f|| (formulas E.0), as the CPU's.
struct BackwardRows {
  const float* acc;
  const double* row_sum;  // or null
  const float* fn;
  const float* scale;
  int32_t dim, ld;
  bool normalize;
  float* grad;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const float* g = acc + r * ld;
    const float* f = fn + r * ld;
    const float rs = row_sum ? static_cast<float>(row_sum[r]) : 0.0f;
    const bool project = normalisation_projects(normalize, scale[r]);
    double dot = 0;
    if (project)
      for (int32_t k = t.lane; k < dim; k += t.width)
        dot += static_cast<double>(g[k] - rs * f[k]) * f[k];
    const float gf = static_cast<float>(t.sum(dot));
    if (!active) return;
    for (int32_t k = t.lane; k < dim; k += t.width)
      grad[r * dim + k] = ((g[k] - rs * f[k]) - gf * f[k]) * scale[r];
  }
};

}  // namespace FL_GPU_NS
}  // namespace fl
