// The fused linear cross-entropy on the GPU (formulas J.1), on the pairwise family's tile engine
// (pair_tiles.cuh) with A = hidden (labels: the targets) and B = weight (labels: the class ids),
// so a pair is a (row, class) logit and PairKind.same marks the target. As on the CPU
// (binding/cpu/linear_ce.cc): a reduction sweep gathers each row's online LSE, target logit and
// weighted logit sum; the row step runs on the host in row order (linear_ce_rows); two weight
// sweeps turn each recomputed tile into the gradient tile G and accumulate G W into dH and
// G^T h into dW (its row sums are db). Spans are summed in a fixed order: no atomics. Sub-center
// ArcFace (k > 1) uploads weight in ClassTiling's layout and pools each S tile
// (ClassConstants::pool) before the ops see it, as the CPU does.
#include <algorithm>
#include <numeric>
#include <vector>

#include "fusedloss/linear_ce.h"
#include "fusedloss/linear_ce_math.h"
#include "fusedloss/pairs_math.h"
#include "pair_tiles.cuh"
#include "rows.cuh"
#include "runtime.cuh"
#include "set_tiles.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

// What a product that is not its class's chosen sub-centre (or a padding row of the sub-centre
// layout) becomes in the S tile: a value no product of finite rows reaches, skipped by the ops.
constexpr float kNotChosen = -INFINITY;

struct ClassConstants {
  const float* bias;   // or null
  const float* cw;     // or null
  const float* tz;     // rows, or null: the target entries' replacements (margin heads)
  const int32_t* ids;  // per weight row: its class (-1 for padding)
  int sub;             // sub-centres per class k; with k > 1 weight holds ClassTiling's layout
  float cap, inv_cap;
  // Row r's logit of class c from the product s (its target entry replaced when tz is given).
  __device__ Capped logit(float s, int64_t r, int64_t c, bool target) const {
    if (tz && target) s = tz[r];
    return soft_cap(s + (bias ? bias[c] : 0.0f), cap, inv_cap);
  }
  __device__ float weight(int64_t c) const { return cw ? cw[c] : 1.0f; }
  // The class of weight row j (the row itself in the plain layout).
  __device__ int64_t cls(int64_t j) const { return sub > 1 ? ids[j] : j; }
  __device__ bool skipped(float s) const { return sub > 1 && s == kNotChosen; }

  // Sub-center ArcFace (formulas J.2), as the CPU's pool_sub_centers: in an S tile whose weight
  // rows w0.. lie along its columns (WCols) or rows, each class's k products keep only the largest
  // (the first on a tie, as torch.max), the others and the padding rows become kNotChosen. A
  // class's k rows share a tile (ClassTiling), so this is local; the product's gradient then goes
  // to the chosen row alone.
  template <bool WCols>
  __device__ bool pool(SimTile<float>& s, int64_t w0) const {
    if (sub == 1) return false;
    const int per = kPairTile / sub;
    const auto at = [&](int x, int w) -> float& { return WCols ? s[x][w] : s[w][x]; };
    for (int e = threadIdx.x; e < kPairTile * (per + 1); e += blockDim.x) {
      const int x = e % kPairTile, q = e / kPairTile;
      if (q == per) {  // the tile's padding rows past its whole classes
        for (int w = per * sub; w < kPairTile; ++w) at(x, w) = kNotChosen;
        continue;
      }
      const int w = q * sub;
      int best = ids[w0 + w] < 0 ? sub : 0;  // a padding class: none chosen
      for (int j = 1; j < sub && best < sub; ++j)
        if (at(x, w + j) > at(x, w + best)) best = j;
      for (int j = 0; j < sub; ++j)
        if (j != best) at(x, w + j) = kNotChosen;
    }
    return true;
  }
};

struct RowStatsState {
  Lse lse;
  double target = 0, smooth = 0;
  __device__ void merge(const RowStatsState& o) {
    lse.merge(o.lse);
    target += o.target;
    smooth += o.smooth;
  }
};

struct RowStatsOp {
  using State = RowStatsState;
  ClassConstants k;
  bool smooth;
  __device__ void add(State& st, int64_t r, int64_t j, float s, PairKind kind) const {
    if (k.skipped(s)) return;
    const int64_t c = k.cls(j);
    const float z = k.logit(s, r, c, kind.same).z;
    st.lse.add(z);
    if (kind.same) st.target += z;
    if (smooth) st.smooth += k.weight(c) * z;
  }
  __device__ bool pool(SimTile<float>& s, int64_t, int64_t j0) const { return k.pool<true>(s, j0); }
};

// G[row][class] as the weight sweep asks for it: (row, class) with A = hidden, (class, row) with
// A = weight (Transposed). With sub-centres and given target logits the target entry is 0 here:
// the caller chose its sub-centre and applies grad_target there (linear_ce.h).
template <bool Transposed>
struct GradWeight {
  ClassConstants k;
  const LinearRowCoef* rows;
  __device__ float operator()(int64_t i, int64_t j, float s, PairKind kind) const {
    if (k.skipped(s) || (k.sub > 1 && k.tz && kind.same)) return 0.0f;
    const int64_t r = Transposed ? j : i, c = k.cls(Transposed ? i : j);
    const Capped z = k.logit(s, r, c, kind.same);
    return linear_grad(rows[r], z.z, k.weight(c), kind.same) * z.slope;
  }
  __device__ bool pool(SimTile<float>& s, int64_t i0, int64_t j0) const {
    return k.pool<!Transposed>(s, Transposed ? i0 : j0);
  }
};

// acc of A (A.rows x ld) = sum over spans of G-weighted rows of B; with row_sum (A.rows doubles),
// also the rows' sums of G. x: where the n x dim result goes (the raw upload buffer).
template <class G>
Status gradient(Session& s, const G& g, const SetTiles& a, const DevSet& b, float* x,
                double* row_sum) {
  const int64_t spans = column_spans(a.d.rows, b.rows);
  const size_t cells = static_cast<size_t>(a.d.rows) * a.d.ld;
  float* parts = nullptr;
  double* sums = nullptr;
  Status st = s.buffer(Slot::Partials, spans * cells, &parts);
  if (st.ok() && row_sum) st = s.buffer(Slot::Scratch, spans * a.d.rows, &sums);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(parts, 0, spans * cells * sizeof(float), s.stream()),
                "clearing the partial gradients");
  const dim3 grid(static_cast<unsigned>(a.d.rows / kPairTile), static_cast<unsigned>(spans));
  FL_LAUNCH(grid, kPairThreads, 0, s.stream(), weight_sweep<G>)
  (g, a.d, b, true, false, spans, parts, sums);
  FL_CUDA_LAUNCHED("weight_sweep");
  FL_LAUNCH(grid_for(cells, kPairThreads), kPairThreads, 0, s.stream(), sum_spans<float>)
  (parts, static_cast<int64_t>(cells), spans, a.acc);
  FL_CUDA_LAUNCHED("sum_spans");
  if (row_sum) {
    FL_LAUNCH(grid_for(a.d.rows, kPairThreads), kPairThreads, 0, s.stream(), sum_spans<double>)
    (sums, a.d.rows, spans, row_sum);
    FL_CUDA_LAUNCHED("sum_spans");
  }
  return launch_rows(s, BackwardRows{a.acc, nullptr, a.d.fn, a.d.scale, a.d.dim, a.d.ld, false, x},
                     a.d.n, a.d.dim);
}

}  // namespace

Status linear_ce(const LinearCeProblem& pb, const LinearCeParams& p, const LinearCeOutputs& out) {
  if (Status st = linear_ce_input_fault(pb, p); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes, D = pb.dim;
  const int sub = pb.sub_centers;
  if (B == 0) {
    *out.loss = 0;
    std::fill(out.grad_weight, out.grad_weight + C * sub * D, 0.0f);
    if (out.grad_bias) std::fill(out.grad_bias, out.grad_bias + C, 0.0f);
    return Status{};
  }
  Session s;
  Status st = s.status();
  float *h = nullptr, *w = nullptr, *consts = nullptr;
  int32_t *targets = nullptr, *ids = nullptr;
  int* bad = nullptr;
  // Per class: bias, then class weight; then per row the target logits (each only when given).
  std::vector<float> host_consts;
  if (pb.bias) host_consts.insert(host_consts.end(), pb.bias, pb.bias + C);
  if (pb.class_weights)
    host_consts.insert(host_consts.end(), pb.class_weights, pb.class_weights + C);
  const size_t tz_at = host_consts.size();
  if (pb.target_logit) host_consts.insert(host_consts.end(), pb.target_logit, pb.target_logit + B);
  // Weight's rows as the device sees them: one per class, or with sub-centres ClassTiling's layout
  // (each weight row labelled with its class, the padding rows -1).
  const ClassTiling tl(C, sub, kPairTile);
  std::vector<float> tiled;
  if (sub > 1) tiled = tile_sub_centers(pb, tl);
  const int64_t wrows = sub > 1 ? tl.tiles() * kPairTile : C;
  std::vector<int32_t> class_ids(static_cast<size_t>(wrows), -1);
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < sub; ++j) class_ids[tl.row(c, j)] = static_cast<int32_t>(c);
  const float* wsrc = sub > 1 ? tiled.data() : pb.weight;
  if (st.ok()) st = s.upload(Slot::Scores, pb.hidden, static_cast<size_t>(B * D), &h);
  if (st.ok()) st = s.upload(Slot::Reference, wsrc, static_cast<size_t>(wrows * D), &w);
  if (st.ok()) st = s.upload(Slot::Labels, pb.targets, static_cast<size_t>(B), &targets);
  if (st.ok()) st = s.upload(Slot::ReferenceLabels, class_ids.data(), class_ids.size(), &ids);
  if (st.ok() && !host_consts.empty())
    st = s.upload(Slot::Constants, host_consts.data(), host_consts.size(), &consts);
  if (st.ok()) st = s.buffer(Slot::Result, 1, &bad);
  // Unnormalised padded copies (set_tiles.cuh); their norm flag, `bad`, is not read.
  SetTiles H, W;
  if (st.ok()) st = set_tiles(s, h, targets, B, pb.dim, false, Slot::Tiles, bad, &H);
  if (st.ok()) st = set_tiles(s, w, ids, wrows, pb.dim, false, Slot::ReferenceTiles, bad, &W);
  if (!st.ok()) return st;
  s.mark(Phase::Uploaded);
  ClassConstants k{pb.bias ? consts : nullptr,
                   pb.class_weights ? consts + (pb.bias ? C : 0) : nullptr,
                   pb.target_logit ? consts + tz_at : nullptr,
                   ids,
                   sub,
                   static_cast<float>(p.softcap),
                   p.softcap > 0 ? static_cast<float>(1 / p.softcap) : 0.0f};

  // ---- pass 1: each row's online LSE, target logit and weighted logit sum ----
  const int64_t spans = column_spans(H.d.rows, W.d.rows);
  RowStatsState* parts = nullptr;
  st = s.buffer(Slot::Partials, static_cast<size_t>(spans * B), &parts);
  if (!st.ok()) return st;
  const dim3 grid(static_cast<unsigned>(H.d.rows / kPairTile), static_cast<unsigned>(spans));
  FL_LAUNCH(grid, kPairThreads, 0, s.stream(), reduce_sweep<RowStatsOp>)
  (RowStatsOp{k, p.smoothing > 0}, H.d, W.d, false, spans, parts);
  FL_CUDA_LAUNCHED("reduce_sweep");
  FL_LAUNCH(grid_for(B, kPairThreads), kPairThreads, 0, s.stream(), merge_spans<RowStatsState>)
  (parts, B, spans);
  FL_CUDA_LAUNCHED("merge_spans");
  std::vector<RowStatsState> merged(static_cast<size_t>(B));
  st = s.copy_out(merged.data(), parts, merged.size() * sizeof(RowStatsState));
  if (!st.ok()) return st;

  // ---- the row step on the host, then the gradient sweeps ----
  std::vector<LinearRowStats> stats(static_cast<size_t>(B));
  for (int64_t r = 0; r < B; ++r) {
    const RowStatsState& m = merged[r];
    stats[r] = LinearRowStats{m.lse.max, std::log(m.lse.sum), m.target, m.smooth};
  }
  std::vector<LinearRowCoef> coef(static_cast<size_t>(B));
  st = linear_ce_rows(pb, p, stats.data(), out, coef.data());
  LinearRowCoef* dev_coef = nullptr;
  double* bias_sum = nullptr;
  if (st.ok()) st = s.upload(Slot::Rows, coef.data(), coef.size(), &dev_coef);
  if (st.ok() && out.grad_bias)
    st = s.buffer(Slot::Weights, static_cast<size_t>(W.d.rows), &bias_sum);
  if (st.ok()) st = gradient(s, GradWeight<false>{k, dev_coef}, H, W.d, h, nullptr);
  if (st.ok()) st = gradient(s, GradWeight<true>{k, dev_coef}, W, H.d, w, bias_sum);
  s.mark(Phase::Computed);
  if (st.ok()) st = s.copy_out(out.grad_hidden, h, static_cast<size_t>(B * D) * sizeof(float));
  if (st.ok() && sub == 1)
    st = s.copy_out(out.grad_weight, w, static_cast<size_t>(C * D) * sizeof(float));
  if (st.ok() && sub > 1) {
    st = s.copy_out(tiled.data(), w, tiled.size() * sizeof(float));
    for (int64_t c = 0; c < C; ++c)
      for (int j = 0; j < sub; ++j)
        std::copy_n(tiled.data() + tl.row(c, j) * D, D, out.grad_weight + (c * sub + j) * D);
  }
  if (st.ok() && out.grad_bias) {
    std::vector<double> sums(static_cast<size_t>(wrows));
    st = s.copy_out(sums.data(), bias_sum, sums.size() * sizeof(double));
    std::vector<double> gb(static_cast<size_t>(C), 0.0);
    for (int64_t c = 0; c < C; ++c)
      for (int j = 0; j < sub; ++j) gb[c] += sums[tl.row(c, j)];
    // The target entries the sweeps left out (sub-centres with given target logits, GradWeight).
    if (sub > 1 && pb.target_logit)
      for (int64_t r = 0; r < B; ++r)
        if (pb.targets[r] != p.ignore_index) gb[pb.targets[r]] += out.grad_target[r];
    for (int64_t c = 0; c < C; ++c) out.grad_bias[c] = static_cast<float>(gb[c]);
  }
  s.mark(Phase::Downloaded);
  return st.ok() ? linear_ce_output_fault(pb, out) : st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
