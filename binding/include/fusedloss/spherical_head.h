// SphericalHead: an output layer o = W h over C classes whose training step costs O(m d^2 + m^2 d)
// for a minibatch of m hidden vectors of width d, whatever C (formulas F.4, after Vincent, de
// Brebisson and Bouthillier 2015). W (C x d) is never formed: it is kept factored as
//   W = V U + 1 omega^T,   with Uit = U^-T, Q = W^T W and wbar = W^T 1 maintained alongside,
// and the loss reads only q = ||W h||^2 = h^T Q h, s = 1^T W h = wbar . h and the target's
// activation (Z-loss or squared error to the one-hot, formulas F.1 to F.3).
//
// Precision: V is float32 (C x d, the only part that grows with C); U, Uit, omega, Q and wbar
// (d x d and d) are double, as are all per-step intermediates. Tests hold the trajectory to a
// float64 dense SGD within 1e-4 relative over 50 steps.
#pragma once

#include <cstdint>
#include <vector>

namespace fl {

enum class HeadLoss : int32_t { ZLoss = 0, SquaredError = 1 };

struct HeadParams {
  int64_t classes = 2;  // C
  int32_t dim = 1;      // d
  HeadLoss loss = HeadLoss::ZLoss;
  double a = 1, b = 0;  // Z-loss: softplus(a (b - z_c)) / a
  // Formulas F.5 stabilisation every this many steps (0: never; renormalize() is always available).
  int32_t stabilize_every = 10;
  // Without explicit weights W starts as N(0, init_std^2) entries drawn from `seed`.
  double init_std = 0;
  uint64_t seed = 0;
};

// Why a step was refused; the state is unchanged then.
enum class HeadFault : int32_t {
  None = 0,
  HiddenNotFinite,      // hidden[index] = value
  TargetOutOfRange,     // targets[index] = value
  IllConditioned,       // an eigenvalue (value) of I - 2 lr H diag(dL/dq) H^T outside the bounds
  DecayTooLarge,        // 1 - lr weightDecay (value) below kMinStepScale
  ZLossSpreadTooSmall,  // row index's Z-loss gradient overflows float32; value: its logits' std
  GradientOverflow,     // row index's squared-error gradient overflows float32 (huge logits)
};

struct HeadStatus {
  HeadFault fault = HeadFault::None;
  int64_t index = -1;
  double value = 0;
  bool ok() const { return fault == HeadFault::None; }
};

// Counters of the formulas F.5 work done so far.
struct HeadStats {
  int64_t steps = 0;
  int64_t stabilizations = 0;    // scheduled stabilisations run
  int64_t resets = 0;            // singular values of U reset to 1 (each O(C d))
  int64_t unfactorizations = 0;  // U and omega folded into V (each O(C d^2))
};

class SphericalHead {
 public:
  // The factored update multiplies U by P = I - 2 lr H diag(dL/dq) H^T. A step is refused when P
  // has an eigenvalue outside [kMinStepScale, kMaxStepScale] (two Cholesky tests on min(m, d)):
  // near or below 0, U becomes (nearly) singular and the factored and dense trajectories part
  // (formulas F.5, last point).
  static constexpr double kMinStepScale = 0.125, kMaxStepScale = 8;
  // Singular values of U are kept in [kSvLow, kSvHigh] by the stabilisation (formulas F.5).
  static constexpr double kSvLow = 0.5, kSvHigh = 2;

  // W from `weights` (C x d, row-major), or the Gaussian draw of the params when it is null.
  SphericalHead(const HeadParams& p, const float* weights);

  const HeadParams& params() const { return p_; }
  const HeadStats& stats() const { return stats_; }

  // One SGD step on the mean loss over the m rows of `hidden` (m x d) with `targets` (m class
  // ids): writes dL/dhidden (m x d) to grad_hidden and the mean loss to *loss, then
  // W <- (1 - lr weight_decay) (W - lr dL/dW). O(m d^2 + m^2 d + m^3), plus the scheduled
  // stabilisation (O(d^3), and O(C d) per singular value reset).
  HeadStatus step(const float* hidden, const int32_t* targets, int64_t m, double lr,
                  double weight_decay, float* grad_hidden, double* loss);

  // o = W h for the m rows of hidden: m x C, O(m C d).
  HeadStatus scores(const float* hidden, int64_t m, float* out) const;
  // The k largest scores of each row (ties: the lower class first), best first: m x k each.
  HeadStatus top_k(const float* hidden, int64_t m, int32_t k, int32_t* classes,
                   float* values) const;
  // W, C x d: O(C d^2).
  void weights(float* out) const;
  // Folds U and omega into V (U = Uit = I, omega = 0) and recomputes Q and wbar from V: O(C d^2).
  void renormalize();

 private:
  using Mat = std::vector<double>;
  HeadStatus check_hidden(const float* hidden, int64_t m) const;
  void recompute_moments();
  // Rows [first, first + n) of V as doubles (n x d) in `block`.
  void widen(int64_t first, int64_t n, Mat& block) const;
  void stabilize();
  void reset_singular_value(const std::vector<double>& u, double sv);
  void unfactorize();

  // The step's buffers, kept between steps: blocks this large freshly allocated each step were
  // returned to the OS on free and page-faulted in again every time.
  struct Scratch {
    Mat H, Hhat, Htil, R0, B, low, high, Y, Zhat, dH, Khh, Kz, K, M, F, T, R, X, S, Hnew;
    std::vector<double> s, hw, gA, gq, gs;
  };

  HeadParams p_;
  Scratch ws_;
  std::vector<float> V_;  // C x d
  Mat U_, Uit_, Q_;       // d x d
  std::vector<double> omega_, wbar_;
  HeadStats stats_;
};

}  // namespace fl
