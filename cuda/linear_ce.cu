// The fused linear cross-entropy on the GPU (formulas J.1), on the pairwise family's tile engine
// (pair_tiles.cuh) with A = hidden (labels: the targets) and B = weight (labels: the class ids),
// so a pair is a (row, class) logit and PairKind.same marks the target. As on the CPU
// (binding/cpu/linear_ce.cc): a reduction sweep gathers each row's online LSE, target logit and
// weighted logit sum; the row step runs on the host in row order (linear_ce_rows); two weight
// sweeps turn each recomputed tile into the gradient tile G and accumulate G W into dH and
// G^T h into dW (its row sums are db). Spans are summed in a fixed order: no atomics.
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

struct ClassConstants {
  const float* bias;  // or null
  const float* cw;    // or null
  const float* tz;    // rows, or null: the target entries' replacements (margin heads)
  float cap, inv_cap;
  // Row r's logit of class c from the product s (its target entry replaced when tz is given).
  __device__ Capped logit(float s, int64_t r, int64_t c, bool target) const {
    if (tz && target) s = tz[r];
    return soft_cap(s + (bias ? bias[c] : 0.0f), cap, inv_cap);
  }
  __device__ float weight(int64_t c) const { return cw ? cw[c] : 1.0f; }
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
  __device__ void add(State& st, int64_t r, int64_t c, float s, PairKind kind) const {
    const float z = k.logit(s, r, c, kind.same).z;
    st.lse.add(z);
    if (kind.same) st.target += z;
    if (smooth) st.smooth += k.weight(c) * z;
  }
};

// G[row][class] as the weight sweep asks for it: (row, class) with A = hidden, (class, row) with
// A = weight (Transposed).
template <bool Transposed>
struct GradWeight {
  ClassConstants k;
  const LinearRowCoef* rows;
  __device__ float operator()(int64_t i, int64_t j, float s, PairKind kind) const {
    const int64_t r = Transposed ? j : i, c = Transposed ? i : j;
    const Capped z = k.logit(s, r, c, kind.same);
    return linear_grad(rows[r], z.z, k.weight(c), kind.same) * z.slope;
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
  if (B == 0) {
    *out.loss = 0;
    std::fill(out.grad_weight, out.grad_weight + C * D, 0.0f);
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
  std::vector<int32_t> class_ids(static_cast<size_t>(C));
  std::iota(class_ids.begin(), class_ids.end(), 0);
  if (st.ok()) st = s.upload(Slot::Scores, pb.hidden, static_cast<size_t>(B * D), &h);
  if (st.ok()) st = s.upload(Slot::Reference, pb.weight, static_cast<size_t>(C * D), &w);
  if (st.ok()) st = s.upload(Slot::Labels, pb.targets, static_cast<size_t>(B), &targets);
  if (st.ok()) st = s.upload(Slot::ReferenceLabels, class_ids.data(), class_ids.size(), &ids);
  if (st.ok() && !host_consts.empty())
    st = s.upload(Slot::Constants, host_consts.data(), host_consts.size(), &consts);
  if (st.ok()) st = s.buffer(Slot::Result, 1, &bad);
  // Unnormalised padded copies (set_tiles.cuh); their norm flag, `bad`, is not read.
  SetTiles H, W;
  if (st.ok()) st = set_tiles(s, h, targets, B, pb.dim, false, Slot::Tiles, bad, &H);
  if (st.ok()) st = set_tiles(s, w, ids, C, pb.dim, false, Slot::ReferenceTiles, bad, &W);
  if (!st.ok()) return st;
  s.mark(Phase::Uploaded);
  ClassConstants k{pb.bias ? consts : nullptr,
                   pb.class_weights ? consts + (pb.bias ? C : 0) : nullptr,
                   pb.target_logit ? consts + tz_at : nullptr, static_cast<float>(p.softcap),
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
  if (st.ok()) st = s.copy_out(out.grad_weight, w, static_cast<size_t>(C * D) * sizeof(float));
  if (st.ok() && out.grad_bias) {
    std::vector<double> sums(static_cast<size_t>(C));
    st = s.copy_out(sums.data(), bias_sum, sums.size() * sizeof(double));
    for (int64_t c = 0; c < C; ++c) out.grad_bias[c] = static_cast<float>(sums[c]);
  }
  s.mark(Phase::Downloaded);
  return st.ok() ? linear_ce_output_fault(pb, out) : st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
