// ProxyAnchor on the GPU (formulas M.1), on the pairwise family's tile engine (pair_tiles.cuh)
// with A = the proxies (labels: the class ids) and B = the embeddings (labels: theirs), so
// PairKind.same marks a positive pair. As on the CPU (binding/cpu/proxy_anchor.cc): a reduction
// sweep gathers each class's online log-sum-exps over its positive and negative exponents; the
// class step runs on the host in class order (proxy_anchor_classes); two weight sweeps turn each
// recomputed tile into dL/dS and accumulate it into both gradients, through the normalisation.
#include <algorithm>
#include <numeric>
#include <vector>

#include "fusedloss/proxy.h"
#include "pair_tiles.cuh"
#include "runtime.cuh"
#include "set_tiles.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

struct ClassState {
  Lse pos, neg;
  __device__ void merge(const ClassState& o) {
    pos.merge(o.pos);
    neg.merge(o.neg);
  }
};

struct ClassStatsOp {
  using State = ClassState;
  float alpha, margin;
  __device__ void add(State& st, int64_t, int64_t, float s, PairKind kind) const {
    const float z = proxy_anchor_logit(s, kind.same, alpha, margin);
    if (kind.same)
      st.pos.add(z);
    else
      st.neg.add(z);
  }
};

// dL/dS as the weight sweep asks for it: (class, row) with A = proxies, (row, class) with A =
// embeddings (RowsFirst).
template <bool RowsFirst>
struct AnchorWeight {
  const ProxyAnchorClass* coef;
  float alpha, margin;
  __device__ float operator()(int64_t i, int64_t j, float s, PairKind kind) const {
    return proxy_anchor_weight(s, kind.same, coef[RowsFirst ? j : i], alpha, margin);
  }
};

}  // namespace

Status proxy_anchor(const ProxyProblem& pb, const ProxyAnchorParams& p, const ProxyOutputs& out) {
  if (Status st = proxy_input_fault(pb); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes, D = pb.dim;
  std::vector<ClassState> merged(static_cast<size_t>(C));
  std::vector<ProxyAnchorClass> coef(static_cast<size_t>(C));
  if (B == 0) {
    std::vector<Lse> none(static_cast<size_t>(C));
    proxy_anchor_classes(pb, p, none.data(), none.data(), out.loss, coef.data());
    std::fill(out.grad_proxies, out.grad_proxies + C * D, 0.0f);
    return Status{};
  }
  Session s;
  Status st = s.status();
  float *x = nullptr, *w = nullptr;
  int32_t *labels = nullptr, *ids = nullptr;
  int* bad = nullptr;
  std::vector<int32_t> class_ids(static_cast<size_t>(C));
  std::iota(class_ids.begin(), class_ids.end(), 0);
  if (st.ok()) st = s.upload(Slot::Scores, pb.embeddings, static_cast<size_t>(B * D), &x);
  if (st.ok()) st = s.upload(Slot::Reference, pb.proxies, static_cast<size_t>(C * D), &w);
  if (st.ok()) st = s.upload(Slot::Labels, pb.labels, static_cast<size_t>(B), &labels);
  if (st.ok()) st = s.upload(Slot::ReferenceLabels, class_ids.data(), class_ids.size(), &ids);
  if (st.ok()) st = s.buffer(Slot::Result, 1, &bad);
  SetTiles X, P;
  if (st.ok()) st = set_tiles(s, x, labels, B, pb.dim, true, Slot::Tiles, bad, &X);
  if (st.ok()) st = set_tiles(s, w, ids, C, pb.dim, true, Slot::ReferenceTiles, bad, &P);
  if (!st.ok()) return st;
  s.mark(Phase::Uploaded);
  const float alpha = static_cast<float>(p.alpha), margin = static_cast<float>(p.margin);

  // ---- sweep 1: each class's log-sum-exps over its positives and negatives ----
  const int64_t spans = column_spans(P.d.rows, X.d.rows);
  ClassState* parts = nullptr;
  st = s.buffer(Slot::Partials, static_cast<size_t>(spans * C), &parts);
  if (!st.ok()) return st;
  const dim3 grid(static_cast<unsigned>(P.d.rows / kPairTile), static_cast<unsigned>(spans));
  FL_LAUNCH(grid, kPairThreads, 0, s.stream(), reduce_sweep<ClassStatsOp>)
  (ClassStatsOp{alpha, margin}, P.d, X.d, false, spans, parts);
  FL_CUDA_LAUNCHED("reduce_sweep");
  FL_LAUNCH(grid_for(C, kPairThreads), kPairThreads, 0, s.stream(), merge_spans<ClassState>)
  (parts, C, spans);
  FL_CUDA_LAUNCHED("merge_spans");
  st = s.copy_out(merged.data(), parts, merged.size() * sizeof(ClassState));
  if (!st.ok()) return st;

  // ---- the class step on the host, then the gradient sweeps ----
  std::vector<Lse> pos(static_cast<size_t>(C)), neg(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    pos[c] = merged[c].pos;
    neg[c] = merged[c].neg;
  }
  proxy_anchor_classes(pb, p, pos.data(), neg.data(), out.loss, coef.data());
  ProxyAnchorClass* dev_coef = nullptr;
  st = s.upload(Slot::Rows, coef.data(), coef.size(), &dev_coef);
  if (st.ok()) st = set_gradient(s, AnchorWeight<false>{dev_coef, alpha, margin}, P, X.d, w);
  if (st.ok()) st = set_gradient(s, AnchorWeight<true>{dev_coef, alpha, margin}, X, P.d, x);
  s.mark(Phase::Computed);
  if (st.ok()) st = s.copy_out(out.grad_embeddings, x, static_cast<size_t>(B * D) * sizeof(float));
  if (st.ok()) st = s.copy_out(out.grad_proxies, w, static_cast<size_t>(C * D) * sizeof(float));
  s.mark(Phase::Downloaded);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
