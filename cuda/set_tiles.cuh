// Two steps of the tile engine (pair_tiles.cuh) for losses between two sets of rows that each get
// a gradient (proxies and embeddings, weight and hidden): a set's padded (optionally normalised)
// device copy, and its gradient from a weight sweep against the other set, spans summed in a fixed
// order, then the normalisation backward. cuda/linear_ce.cu takes its unnormalised copies from
// here.
#pragma once

#include "pair_tiles.cuh"
#include "rows.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {

// A padded copy of n x dim rows (x already on the device) with their labels, and its gradient
// accumulator (rows x ld).
struct SetTiles {
  DevSet d{};
  float* acc = nullptr;
  bool normalize = false;
};

inline Status set_tiles(Session& s, float* x, const int32_t* labels, int64_t n, int32_t dim,
                        bool normalize, Slot slot, int* bad, SetTiles* t) {
  DevSet& d = t->d;
  d.n = n;
  d.rows = (n + kPairTile - 1) / kPairTile * kPairTile;
  d.dim = dim;
  d.ld = (dim + kSlice - 1) / kSlice * kSlice;
  t->normalize = normalize;
  const size_t cells = static_cast<size_t>(d.rows) * d.ld;
  float* buf = nullptr;
  Status st = s.buffer(slot, 2 * cells + 2 * d.rows, &buf);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(buf, 0, 2 * cells * sizeof(float), s.stream()),
                "clearing the tile buffers");
  t->acc = buf + cells;
  float* q = t->acc + cells;
  float* scale = q + d.rows;
  d.fn = buf;
  d.q = q;
  d.scale = scale;
  d.labels = labels;
  return launch_rows(s, NormaliseRows{x, dim, d.ld, normalize, buf, q, scale, bad}, n, dim);
}

// a's gradient into x (n x dim, the raw upload buffer): acc = sum over spans of the g-weighted rows
// of b (g(i, j, s, kind) = dL/dS_ij, i a row of a), then the normalisation backward.
template <class G>
Status set_gradient(Session& s, const G& g, const SetTiles& a, const DevSet& b, float* x) {
  const int64_t spans = column_spans(a.d.rows, b.rows);
  const size_t cells = static_cast<size_t>(a.d.rows) * a.d.ld;
  float* parts = nullptr;
  Status st = s.buffer(Slot::Partials, spans * cells, &parts);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(parts, 0, spans * cells * sizeof(float), s.stream()),
                "clearing the partial gradients");
  const dim3 grid(static_cast<unsigned>(a.d.rows / kPairTile), static_cast<unsigned>(spans));
  FL_LAUNCH(grid, kPairThreads, 0, s.stream(), weight_sweep<G>)
  (g, a.d, b, true, false, spans, parts, nullptr);
  FL_CUDA_LAUNCHED("weight_sweep");
  FL_LAUNCH(grid_for(cells, kPairThreads), kPairThreads, 0, s.stream(), sum_spans<float>)
  (parts, static_cast<int64_t>(cells), spans, a.acc);
  FL_CUDA_LAUNCHED("sum_spans");
  return launch_rows(
      s, BackwardRows{a.acc, nullptr, a.d.fn, a.d.scale, a.d.dim, a.d.ld, a.normalize, x}, a.d.n,
      a.d.dim);
}

}  // namespace FL_GPU_NS
}  // namespace fl
