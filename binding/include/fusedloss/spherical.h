// The spherical family (formulas F.1 to F.3: Z-loss, squared error to the one-hot, log-spherical
// and log-Taylor softmax) and the softmax classification losses (formulas G: cross-entropy with
// label smoothing, temperature and weights, comp-sum, GCE, MAE, focal, LDR-KL). Every loss here is
// a sum over independent rows of one row of logits and its target class, so rows are the unit of
// parallelism: a row's reductions, then its gradient, written while the row is in cache.
#pragma once

#include <cstdint>

#include "fusedloss/status.h"

namespace fl {

// `rows` rows of `classes` logits (row-major) and one target class per row.
struct ClassProblem {
  const float* logits = nullptr;
  int64_t rows = 0;
  int32_t classes = 1;
  const int32_t* targets = nullptr;
};

enum class Reduction : int32_t { Mean = 0, Sum = 1, None = 2 };

// Where a loss writes: the total (mean or sum; with None the sum), the loss of each row (None
// only) and the gradient, rows x classes (with None, row i holds d loss_i / d logits_i).
struct LossOutputs {
  double* loss = nullptr;
  float* row_loss = nullptr;
  float* grad = nullptr;
  float* lse = nullptr;  // softmax losses only, when asked: each row's log-sum-exp (rows)
};

enum class SphericalKind : int32_t {
  ZLoss = 0,            // formulas F.1, F.2
  SquaredError,         // ||o - e_c||^2
  LogSphericalSoftmax,  // p_k = (o_k^2 + eps) / sum_j (o_j^2 + eps), loss -log p_c
  LogTaylorSoftmax,     // p_k = (1 + o_k + o_k^2 / 2) / sum_j (...), loss -log p_c
};

struct SphericalParams {
  SphericalKind kind = SphericalKind::ZLoss;
  double a = 1, b = 0;  // Z-loss: loss = softplus(a (b - z_c)) / a
  double eps = 1e-6;    // log-spherical softmax only
};

// Mean divides by rows. A Z-loss row whose logits are all equal (zero variance) has z_c = 0, loss
// softplus(a b) / a and gradient 0: z is undefined there and the loss is flat along the row.
// Any other row gets its float64 loss and gradient, or Fault::ZLossSpreadTooSmall where a gradient
// entry (about 1 / std) overflows float32 (spherical_math.h kZLossMinStd).
Status spherical_loss_cpu(const ClassProblem& pb, const SphericalParams& sp, Reduction reduction,
                          const LossOutputs& out);

// What a spherical kernel flagged, named: class_problem_fault's invalid input, else the first
// Z-loss row whose gradient (times `norm`, the reduction's factor) overflows float32.
Status spherical_fault(const ClassProblem& pb, const SphericalParams& sp, double norm);

// The squared error's gradient 2 norm (o - e_c) is the only spherical gradient that grows with the
// logits: past about 1.7e38 it leaves float32. Any backend's gradient, once written, is scanned
// for that: Fault::LogitNotFinite, index -1 (formulas F.3). (Its row losses, |o - e_c|^2 in
// double, leave float32 from about 1.8e19; the caller refuses those, src/losses/spherical.ts.)
Status squared_error_overflow(const ClassProblem& pb, const LossOutputs& out);

enum class SoftmaxForm : int32_t {
  CrossEntropy = 0,  // with label smoothing
  CompSum,           // scale (p_y^(tau-1) - 1) / (1 - tau); GCE is tau = 1 + q, MAE tau = 2 x 2
  Focal,             // alpha (1 - p_y)^gamma (-log p_y)
  LdrKl,             // lambda log mean_k exp((x_k - x_y + margin [k != y]) / lambda)
};

// Every form reads the logits, soft-capped when softcap > 0, divided by the temperature.
struct SoftmaxParams {
  SoftmaxForm form = SoftmaxForm::CrossEntropy;
  double temperature = 1;
  double smoothing = 0;           // cross-entropy only
  double tau = 1, scale = 1;      // comp-sum
  double gamma = 2, alpha = 1;    // focal
  double lambda = 1, margin = 0;  // LDR-KL
  double softcap = 0;             // > 0: x -> softcap tanh(x / softcap) first (Gemma 2)
  double lse_square = 0;          // cross-entropy only: + lse_square LSE(u)^2 (PaLM's z-loss)
};

// Row i counts weights[i] * class_weights[targets[i]] (each 1 when absent); rows whose target is
// ignore_index count nothing. Mean divides by the sum over counted rows of class_weights[target]
// (PyTorch's normalisation; the row count without class weights), and is 0 when that is 0.
struct SoftmaxWeights {
  const float* weights = nullptr;        // rows entries >= 0
  const float* class_weights = nullptr;  // classes entries >= 0
  int32_t ignore_index = -100;
};

Status softmax_loss_cpu(const ClassProblem& pb, const SoftmaxWeights& sw, const SoftmaxParams& sp,
                        Reduction reduction, const LossOutputs& out);

// What every backend does first for a softmax loss, on the host (it reads B + C values, not the
// logits): checks the class weights, targets and row weights, and returns the reduction's
// normaliser (`norm`, see SoftmaxWeights), that of PaLM's z-loss (`norm_z`: 1 / the number of
// counted rows with Mean, as Liger-Kernel) and the sum of the class weights (`w_total`).
struct SoftmaxNorms {
  double norm = 1, norm_z = 1, w_total = 0;
};
Status softmax_normaliser(const ClassProblem& pb, const SoftmaxWeights& sw, Reduction reduction,
                          SoftmaxNorms* norms);

// The first invalid input of a problem, in the order the TypeScript checks report it: class
// weights, then per row its logits, its target and its weight. `sw` is null for the spherical
// losses. The kernels only detect that something is wrong; this names it.
Status class_problem_fault(const ClassProblem& pb, const SoftmaxWeights* sw);

}  // namespace fl
