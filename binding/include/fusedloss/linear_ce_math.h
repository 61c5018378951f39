// Per-element and per-row formulas of the fused linear cross-entropy (formulas J.1), shared by the
// CPU and CUDA kernels.
#pragma once

#include <cmath>

#include "fusedloss/linear_ce.h"
#include "fusedloss/math.h"

namespace fl {

// Gemma 2's soft cap: z' = c tanh(z / c) and dz'/dz = 1 - tanh^2, both from e = exp(-2|t|) (no
// exponential of a positive argument): tanh = (1 - e) / (1 + e), 1 - tanh^2 = 4 e / (1 + e)^2,
// which keeps its relative precision where tanh rounds to 1. cap 0 passes z through, slope 1.
struct Capped {
  float z, slope;
};
FL_HD Capped soft_cap(float z, float cap, float inv_cap) {
  if (cap == 0) return Capped{z, 1.0f};
  const float t = z * inv_cap;
  const float e = exp_nonpos(-2 * std::fabs(t));
  const float th = std::copysign((1 - e) / (1 + e), t);
  return Capped{cap * th, 4 * e / ((1 + e) * (1 + e))};
}

// What pass 1 gathers about a row from its logits (double, summed tile by tile): the maximum
// logit and the log of the sum of exp(z'_c - max), so lse = max + logsum.
struct LinearRowStats {
  double max = 0, logsum = 0;
  double target = 0;  // z'_t
  double smooth = 0;  // sum_c w_c z'_c (label smoothing only)
};

// The divisors of the reduction (formulas J.1): 'mean' divides the cross-entropy part by the kept
// rows' sum of w_t and the z-loss part by the number of kept rows; a zero divisor gives 0.
struct LinearScales {
  double ce = 1, z = 1;
};

// The row's gradient wrt z' is g_c = a p_c - b [c = t] - e w_c (formulas J.1), p_c =
// exp(z'_c - max - logsum); a, b and e hold the row weight and the reduction's divisors, and are
// 0 for an ignored row.
struct LinearRowCoef {
  float a = 0, b = 0, e = 0, max = 0, logsum = 0;
};

FL_HD float linear_grad(const LinearRowCoef& k, float z, float w, bool target) {
  return k.a * exp_nonpos(z - k.max - k.logsum) - k.e * w - (target ? k.b : 0.0f);
}

// The row's loss before the reduction's divisors (CE part and z part), and its gradient
// coefficients. wt: the target's class weight; wsum: sum_c w_c; C classes; r the row weight.
struct LinearRowLoss {
  double ce = 0, z = 0;
  LinearRowCoef coef;
};
FL_HD LinearRowLoss linear_row(const LinearRowStats& s, double r, double wt, double wsum, double C,
                               const LinearCeParams& p, const LinearScales& sc) {
  const double eps = p.smoothing, zs = p.lse_square_scale, lse = s.max + s.logsum;
  LinearRowLoss o;
  o.ce = r * ((1 - eps) * wt * (lse - s.target) + (eps / C) * (wsum * lse - s.smooth));
  o.z = r * zs * lse * lse;
  const double ce = r * sc.ce, z = r * sc.z;
  o.coef.a = static_cast<float>(ce * ((1 - eps) * wt + (eps / C) * wsum) + z * 2 * zs * lse);
  o.coef.b = static_cast<float>(ce * (1 - eps) * wt);
  o.coef.e = static_cast<float>(ce * eps / C);
  return o;
}

}  // namespace fl
