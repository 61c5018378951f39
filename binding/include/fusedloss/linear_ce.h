// Fused linear cross-entropy (formulas J.1): logits z = h W^T + b for B rows of `hidden` (B x D)
// and C classes of `weight` (C x D, one row per class as a torch Linear stores it), optionally
// soft-capped, then softmax cross-entropy with label smoothing, class and row weights, an ignored
// target and PaLM's z-loss. The kernels never form the B x C logits: a class tile of them is
// recomputed, used and discarded, so memory beyond the inputs and outputs is O(B D + C D + tile^2)
// per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "fusedloss/spherical.h"
#include "fusedloss/status.h"

namespace fl {

struct LinearCeProblem {
  const float* hidden = nullptr;         // rows x dim
  const float* weight = nullptr;         // classes sub_centers x dim
  const float* bias = nullptr;           // classes, or null
  const int32_t* targets = nullptr;      // rows: a class id or ignore_index
  const float* weights = nullptr;        // rows (row weights), or null
  const float* class_weights = nullptr;  // classes, or null
  // rows, or null: each row's target entry of the product h W^T, replaced by this value (before
  // the bias and the cap). The margin heads (formulas J.2) pass s psi(cos theta_t) here.
  // With sub_centers > 1 (sub-center ArcFace, formulas J.2) the replaced entry gets no gradient
  // from the product side: the caller, which chose the target's sub-centre, applies grad_target.
  const float* target_logit = nullptr;
  int64_t rows = 0, classes = 0;
  int32_t dim = 1;
  // k weight rows per class (class c's at c k .. c k + k - 1, k <= 64): a class's product is the
  // largest of its k, whose row alone gets the gradient (the first on a tie).
  int32_t sub_centers = 1;
};

struct LinearCeParams {
  int32_t ignore_index = -100;
  double smoothing = 0;         // label smoothing eps in [0, 1]
  double lse_square_scale = 0;  // PaLM's z-loss s: s lse^2 per kept row
  double softcap = 0;           // 0: none; else z -> softcap tanh(z / softcap)
  Reduction reduction = Reduction::Mean;
};

// grad_bias, row_loss (reduction None) and lse may be null. The gradients are of the reduced loss
// (of the sum of the row losses with reduction None).
struct LinearCeOutputs {
  double* loss = nullptr;
  float* row_loss = nullptr;  // rows
  float* lse = nullptr;       // rows: the log-sum-exp of each row's (soft-capped) logits
  float* grad_hidden = nullptr;
  float* grad_weight = nullptr;
  float* grad_bias = nullptr;
  // rows, or null (only with target_logit): d loss / d target_logit; 0 for ignored rows. The
  // product's gradients treat the replaced entry as if it were the product's own.
  float* grad_target = nullptr;
};

// The checks every backend makes first, on the host: finite hidden (Fault::ScoreNotFinite),
// weight (ReferenceNotFinite) and bias (TeacherNotFinite), targets in [0, classes) or
// ignore_index (LabelOutOfRange), row and class weights finite and >= 0.
Status linear_ce_input_fault(const LinearCeProblem& pb, const LinearCeParams& p);

struct LinearRowStats;
struct LinearRowCoef;

// The row step between the passes, on the host in row order (so every backend sums alike): from
// each row's pass-1 statistics, the loss into out (and out.row_loss, out.lse) and each row's
// gradient coefficients. Refuses a row whose logits, loss or coefficients overflow float32.
Status linear_ce_rows(const LinearCeProblem& pb, const LinearCeParams& p,
                      const LinearRowStats* stats, const LinearCeOutputs& out, LinearRowCoef* coef);

// After the kernels: a gradient that overflowed float32 (huge finite inputs) is refused, as
// Fault::LogitNotFinite with index -1.
Status linear_ce_output_fault(const LinearCeProblem& pb, const LinearCeOutputs& out);

Status linear_ce_cpu(const LinearCeProblem& pb, const LinearCeParams& p,
                     const LinearCeOutputs& out);

// The margin heads (formulas J.2): rows of hidden and weight L2-normalised inside the loss, the
// target's logit s psi(cos theta_t).
enum class MarginKind : int32_t { None = 0, ArcFace = 1, CosFace = 2 };
struct LinearMargin {
  MarginKind kind = MarginKind::None;
  double scale = 64;  // s
  double margin = 0;  // m: radians (ArcFace) or a cosine (CosFace)
  bool easy = false;  // ArcFace: insightface's easy margin
};

// The margin heads around a fused kernel (the CPU's, the GPU's or the simulator's): threaded
// passes normalise the rows (hidden's times s) and compute each row's target logit, the kernel
// runs on the copies with pb.target_logit, then the gradients are taken through psi and the
// normalisation in place. pb.target_logit must be null; a row of norm 0 is the caller's to refuse
// (src/losses/linear.ts: its unit row would be 0 / 0).
using LinearCeKernel =
    std::function<Status(const LinearCeProblem&, const LinearCeParams&, const LinearCeOutputs&)>;
Status linear_margin(const LinearCeProblem& pb, const LinearCeParams& p, const LinearMargin& m,
                     const LinearCeOutputs& out, const LinearCeKernel& kernel);

// Sub-center ArcFace's weight layout (formulas J.2), shared by the CPU and CUDA kernels: tiles of
// `tile` rows, each holding `per` = tile / k whole classes of k rows (zero rows after them), so a
// class's maximum over its sub-centres is taken inside one tile. With k = 1 it is the plain layout.
struct ClassTiling {
  int64_t classes;
  int k, tile, per;
  ClassTiling(int64_t c, int sub, int rows) : classes(c), k(sub), tile(rows), per(rows / sub) {}
  int64_t tiles() const { return (classes + per - 1) / per; }
  int64_t first(int64_t ct) const { return ct * per; }
  int count(int64_t ct) const {
    return static_cast<int>(std::min<int64_t>(per, classes - ct * per));
  }
  // The tiled row of class c's sub-centre j.
  int64_t row(int64_t c, int j) const { return (c / per) * tile + (c % per) * k + j; }
};

// pb.weight (classes x k rows) in tl's layout: tiles() x tile rows of pb.dim.
std::vector<float> tile_sub_centers(const LinearCeProblem& pb, const ClassTiling& tl);

}  // namespace fl
