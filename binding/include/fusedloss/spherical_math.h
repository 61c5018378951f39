// Per-row formulas of the spherical and softmax families, shared by the CPU kernels and the CUDA
// kernels (host+device). A kernel reduces a row, calls one of the row steps below in double, and
// writes the gradient element-wise from the coefficients it returns.
#pragma once

#include <cmath>

#include "fusedloss/linear_ce_math.h"  // soft_cap, shared with the linear cross-entropy
#include "fusedloss/math.h"
#include "fusedloss/spherical.h"

namespace fl {

// ---- spherical family (formulas F.1 to F.3) ----

// The gradient of a spherical-family row, dL/do_k = dL/ds + 2 dL/dq o_k + dL/dA [k = c] (formulas
// F.2), written around a centre so that Z-loss keeps its precision when |mean| >> std:
//   g_k = alpha + beta (o_k - centre) + gamma [k = c].
//   Kernels take the middle term as (beta / scale) ((o_k - centre) scale), scale from row_scale.
struct AffineRow {
  double loss = 0;
  double alpha = 0, beta = 0, centre = 0, gamma = 0;
  double scale = 1;
};

// A power of two near 1 / rms for a row whose squares sum to q over d entries, within float's
// normal range: o_k - centre times it stays near 1, so its square neither overflows (|o| >= 1e20)
// nor underflows (|o| <= 1e-19) in float, and beta / scale fits a float where beta (~ 1 / sigma^2)
// alone would not. Z-loss is scale-invariant, so nothing else changes.
FL_HD double row_scale(double q, int32_t d) {
  const double rms = sqrt(q / d);
  if (!(rms > 0 && rms < INFINITY)) return 1.0;
  const int e = ilogb(rms);
  return ldexp(1.0, e < -126 ? 126 : e > 126 ? -126 : -e);
}

// o_k - centre in float without losing the digits that matter when |centre| >> the spread (pass
// 2 of Z-loss, and its centred squares): the centre is split into hi + lo, and o_k - hi is exact
// whenever o_k is within 2x of hi.
struct SplitCentre {
  float hi, lo;
};
FL_HD SplitCentre split_centre(double c) {
  const float hi = static_cast<float>(c);
  return SplitCentre{hi, static_cast<float>(c - hi)};
}
FL_HD float centred(float o, const SplitCentre& c) {
  return (o - c.hi) - c.lo;
}

// Below this row std a kernel's float centring and squares are too coarse (denormal logits) and the
// gradient (up to about 2 / std) may overflow float32: such a row is redone in double
// (zloss_exact_entry), and refused with Fault::ZLossSpreadTooSmall where an entry overflows.
constexpr double kZLossMinStd = 1e-36;

// Z-loss of a row of d logits from its mean, its centred sum of squares m2 = sum (o_k - mean)^2
// and the target's logit. sigma is the population std; with sigma = 0 (a constant row) z = 0 and
// the gradient is 0 (see spherical.h). Any sigma of float logits is far inside double's range.
FL_HD AffineRow zloss_row(double a, double b, double mean, double m2, double target, int32_t d,
                          double scale = 1) {
  AffineRow r;
  r.centre = mean;
  r.scale = scale;
  const double sigma = std::sqrt(m2 / d);
  if (!(sigma > 0)) {
    r.loss = softplus64(a * b) / a;
    return r;
  }
  const double z = (target - mean) / sigma;
  const double t = a * (b - z), rho = sigmoid64(t);
  r.loss = softplus64(t) / a;
  r.gamma = -rho / sigma;
  r.alpha = rho / (d * sigma);  // F.2's alpha + beta mean: the form centred at the mean
  r.beta = rho * z / (d * sigma * sigma);
  return r;
}

// Whether a row's std (from the kernel's float centred squares m2) sends it to the double path;
// a constant row (m2 = 0) keeps the fast path's convention.
FL_HD bool zloss_tiny(double m2, int32_t d) {
  return m2 > 0 && std::sqrt(m2 / d) < kZLossMinStd;
}

// A gradient entry of a row redone in double (its row from zloss_row with the double mean and
// m2), times the reduction's factor: beta (up to ~1e90) and o_k - mean (down to ~1e-45) stay in
// double's range. The caller refuses the row when the float it gives is infinite.
FL_HD double zloss_exact_entry(const AffineRow& r, double norm, float o, bool target) {
  return norm * (r.alpha + r.beta * (o - r.centre) + (target ? r.gamma : 0));
}

// The other spherical losses from s = sum o_k, q = sum o_k^2 and A = o_c (formulas F.3).
FL_HD AffineRow spherical_row(const SphericalParams& sp, double s, double q, double A, int32_t d) {
  double dA = 0, dq = 0, ds = 0;
  AffineRow r;
  switch (sp.kind) {
    case SphericalKind::SquaredError:
      r.loss = q - 2 * A + 1;
      dA = -2;
      dq = 1;
      break;
    case SphericalKind::LogSphericalSoftmax: {
      const double den = q + d * sp.eps;
      r.loss = std::log(den) - std::log(A * A + sp.eps);
      dA = -2 * A / (A * A + sp.eps);
      dq = 1 / den;
      break;
    }
    default: {  // LogTaylorSoftmax; each term 1 + o + o^2/2 >= 1/2, so t >= d/2
      const double n = 1 + A + A * A / 2, t = d + s + q / 2;
      r.loss = std::log(t) - std::log(n);
      dA = -(1 + A) / n;
      dq = 1 / (2 * t);
      ds = 1 / t;
      break;
    }
  }
  r.alpha = ds;
  r.beta = 2 * dq;
  r.gamma = dA;
  // The kernels' beta / scale and o_k scale, as Z-loss's: beta ~ 1 / q alone underflows float
  // from |o| ~ 1e20 (the log forms) and their product is the gradient's largest term.
  r.scale = row_scale(q, d);
  return r;
}

// ---- softmax classification losses (formulas G) ----

// Comp-sum's factor p_y^(tau - 1) for tau < 1 reads log p_y floored here, so that it (and the
// loss) stay finite in float: e^(80 (1 - tau)) <= 5.6e34.
constexpr double kLogProbFloor = -80;

// The softmax reads u_k = (x_k / T + margin [k != y]) / lambda (LDR-KL) or u_k = x_k / T: the
// scale of x and the shift of the non-target entries.
FL_HD double softmax_input_scale(const SoftmaxParams& sp) {
  return sp.form == SoftmaxForm::LdrKl ? 1 / (sp.temperature * sp.lambda) : 1 / sp.temperature;
}
FL_HD double softmax_shift(const SoftmaxParams& sp) {
  return sp.form == SoftmaxForm::LdrKl ? sp.margin / sp.lambda : 0;
}

// Pass 1 of a row, relative to its largest logit xmax, with e_k = exp(scale (x_k - xmax)).
struct SoftmaxSums {
  float xmax = 0;
  double sum_exp = 0;     // sum of e_k over every k
  double target_exp = 0;  // e_y (used when the shift is not 0)
  double smooth_dot = 0;  // sum_k w_k (xmax - x_k), label smoothing only (w: class weights or 1)
};

// What pass 2 writes for a row, before the row's weight and the reduction's normaliser:
//   g_j = (a e_j / S - b w_j) for j != y,   g_y = g_target,
// with S = sum_exp corrected for the shift. a, b, g_target include d u / d x.
struct SoftmaxRow {
  double loss = 0;
  double a = 0, b = 0, g_target = 0, inv_sum = 0;
  double lse = 0;  // LSE(u), the log of the softmax's normaliser
  // PaLM's z-loss s LSE(u)^2 (cross-entropy only), apart: 'mean' divides it by the number of kept
  // rows, not by their class weights. Its gradient is z_a e_j / S for j != y and z_target at y.
  double z_loss = 0, z_a = 0, z_target = 0;
};

// w_y: the target's class weight; w_total: the sum of the class weights (classes without them).
FL_HD SoftmaxRow softmax_row(const SoftmaxParams& sp, const SoftmaxSums& s, float x_target,
                             double w_y, double w_total, int32_t classes) {
  const double scale = softmax_input_scale(sp), shift = softmax_shift(sp);
  // Non-target entries carry the shift: relative to u's bound scale xmax + shift, the target's
  // term is e_y e^-shift instead of e_y.
  const double sum = shift == 0 ? s.sum_exp : s.sum_exp + s.target_exp * std::expm1(-shift);
  const double log_sum = std::log(sum);
  const double ell = scale * (static_cast<double>(x_target) - s.xmax) - shift - log_sum;
  const double py = std::exp(ell), miss = -std::expm1(ell);  // p_y and 1 - p_y, accurately
  SoftmaxRow r;
  r.lse = scale * s.xmax + shift + log_sum;
  double c = 0;  // d loss / d u = c (p - e_y) for every form but smoothed cross-entropy
  switch (sp.form) {
    case SoftmaxForm::CrossEntropy: {  // PyTorch: (1 - eps) w_y CE + (eps / K) sum_k w_k CE_k
      const double keep = (1 - sp.smoothing) * w_y, spread = sp.smoothing / classes;
      r.loss = keep * -ell + spread * (w_total * log_sum + scale * s.smooth_dot);
      r.a = (keep + spread * w_total) * scale;
      r.b = spread * scale;
      r.g_target = (-keep * miss + spread * (w_total * py - w_y)) * scale;
      r.inv_sum = 1 / sum;
      // PaLM's z-loss s LSE(u)^2 and its gradient 2 s LSE(u) p (formulas G.8).
      const double zg = 2 * sp.lse_square * r.lse * scale;
      r.z_loss = sp.lse_square * r.lse * r.lse;
      r.z_a = zg;
      r.z_target = zg * py;
      return r;
    }
    case SoftmaxForm::CompSum: {
      const double ellc = sp.tau < 1 && ell < kLogProbFloor ? kLogProbFloor : ell;
      r.loss =
          sp.scale * w_y * (sp.tau == 1 ? -ell : std::expm1((sp.tau - 1) * ellc) / (1 - sp.tau));
      c = sp.scale * w_y * std::exp((sp.tau - 1) * ellc);
      break;
    }
    case SoftmaxForm::Focal: {
      // F = (1 - p)^g - g p (1 - p)^(g - 1) log p = (1 - p)^g (1 - g p log p / (1 - p)); the
      // ratio log p / (1 - p) -> -1 as p -> 1, where F -> [g = 0].
      const double f = miss > 0 ? std::pow(miss, sp.gamma) * (1 - sp.gamma * py * ell / miss)
                                : (sp.gamma == 0 ? 1.0 : 0.0);
      r.loss = sp.alpha * w_y * std::pow(miss, sp.gamma) * -ell;
      c = sp.alpha * w_y * f;
      break;
    }
    default:  // LdrKl: lambda (LSE(u) - u_y - log K)
      r.loss = sp.lambda * w_y * (-ell - std::log(static_cast<double>(classes)));
      c = sp.lambda * w_y;
      break;
  }
  r.a = c * scale;
  r.g_target = -c * miss * scale;
  r.inv_sum = 1 / sum;
  return r;
}

}  // namespace fl
