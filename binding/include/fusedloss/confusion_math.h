// Confusion-matrix metrics as functions of soft counts, each with the two derivatives a fused
// kernel needs (formulas A.3): g_pos = dM/dTP - dM/dFN (moving one positive row's prediction up)
// and g_neg = dM/dFP - dM/dTN. Denominators carry eps as the official AnyLoss code does; G-mean's
// derivative M / 2TP divides by max(TP, eps) and MCC clamps its denominator at eps (formulas A.5).
#pragma once

#include "fusedloss/confusion.h"
#include "fusedloss/math.h"

namespace fl {

// value: M; miss: 1 - M, formed from the counts' parts where M can be near 1 (so that AnyLoss's
// 1 - M does not cancel): each metric's denominator minus its numerator is a sum of FN, FP and eps
// terms (formulas A.3).
struct MetricValue {
  double value = 0, g_pos = 0, g_neg = 0, miss = 0;
};

FL_HD MetricValue metric_value(const Counts& c, const MetricParams& mp) {
  const double e = mp.eps;
  const double n1 = c.tp + c.fn, n0 = c.fp + c.tn, n = n1 + n0, s = c.tp + c.fp;
  MetricValue m;
  switch (mp.metric) {
    case Metric::Accuracy: {
      const double d = n + e;
      m.value = (c.tp + c.tn) / d;
      m.miss = (c.fp + c.fn + e) / d;
      m.g_pos = 1 / d;
      m.g_neg = -1 / d;
      break;
    }
    case Metric::Precision: {
      const double d = s + e;
      m.value = c.tp / d;
      m.miss = (c.fp + e) / d;
      m.g_pos = (c.fp + e) / (d * d);
      m.g_neg = -c.tp / (d * d);
      break;
    }
    case Metric::Recall: {
      const double d = n1 + e;
      m.value = c.tp / d;
      m.miss = (c.fn + e) / d;
      m.g_pos = 1 / d;
      break;
    }
    case Metric::Specificity: {
      const double d = n0 + e;
      m.value = c.tn / d;
      m.miss = (c.fp + e) / d;
      m.g_neg = -1 / d;
      break;
    }
    case Metric::F1:
    case Metric::FBeta: {
      const double b2 = mp.metric == Metric::F1 ? 1.0 : mp.beta * mp.beta;
      const double d = b2 * n1 + s + e;
      m.value = (1 + b2) * c.tp / d;
      m.miss = (b2 * c.fn + c.fp + e) / d;
      m.g_pos = (1 + b2) * (b2 * n1 + c.fp + e) / (d * d);
      m.g_neg = -(1 + b2) * c.tp / (d * d);
      break;
    }
    case Metric::BalancedAccuracy: {  // official form (N0 TP + N1 TN) / (2 N1 N0 + eps)
      const double d = 2 * n1 * n0 + e;
      m.value = (n0 * c.tp + n1 * c.tn) / d;
      m.miss = (n0 * c.fn + n1 * c.fp + e) / d;
      m.g_pos = n0 / d;
      m.g_neg = -n1 / d;
      break;
    }
    case Metric::GMeanSquared: {  // official "sur_gmean": TP TN / (N1 N0 + eps)
      const double d = n1 * n0 + e;
      m.value = c.tp * c.tn / d;
      m.miss = (c.tp * c.fp + c.fn * n0 + e) / d;  // N1 N0 - TP TN = TP FP + FN N0
      m.g_pos = c.tn / d;
      m.g_neg = -c.tp / d;
      break;
    }
    case Metric::GMean: {  // sqrt(TP TN / (N1 N0 + eps)); d/dTP = M / 2TP divides by max(TP, eps)
      const double d = n1 * n0 + e;
      m.value = std::sqrt(c.tp * c.tn / d);
      m.miss = (c.tp * c.fp + c.fn * n0 + e) / d /
               (1 + m.value);  // 1 - sqrt(x) = (1 - x) / (1 + sqrt(x))
      m.g_pos = m.value / (2 * (c.tp > e ? c.tp : e));
      m.g_neg = -m.value / (2 * (c.tn > e ? c.tn : e));
      break;
    }
    case Metric::MCC: {  // (N TP - N1 S) / Q, Q = sqrt(N1 N0 S (N - S)) clamped at eps
      const double q = std::sqrt(n1 * n0 * s * (n - s));
      if (q > e) {
        m.value = (n * c.tp - n1 * s) / q;
        const double k = (n - 2 * s) / (2 * s * (n - s));
        m.g_pos = n0 / q - m.value * k;
        m.g_neg = -n1 / q - m.value * k;
      } else {
        m.value = (n * c.tp - n1 * s) / e;
        m.g_pos = n0 / e;
        m.g_neg = -n1 / e;
      }
      break;
    }
    case Metric::Jaccard: {  // TP / (TP + FN + FP + eps)
      const double d = n1 + c.fp + e;
      m.value = c.tp / d;
      m.miss = (c.fn + c.fp + e) / d;
      m.g_pos = 1 / d;
      m.g_neg = -c.tp / (d * d);
      break;
    }
    default:
      break;
  }
  if (mp.metric == Metric::MCC) m.miss = 1 - m.value;  // in [0, 2]; near 0 it still cancels
  return m;
}

}  // namespace fl

namespace fl {

// AnyLoss's approximation of a prediction (formulas A.2): yhat = sigmoid(z), z = L (p - 1/2), with
// p = sigmoid(score) for logits or p = score for probabilities, and d yhat / d score (A.4). It is
// two stages, so a CPU loop can run each over a block with fewer live registers.
struct AmplifierInput {
  float z, dz;  // z = L (p - 1/2) and d z / d score
};

template <bool Logits>
FL_HD AmplifierInput amplifier_input(float score, float amplifier) {
  if (!Logits) return AmplifierInput{amplifier * (score - 0.5f), amplifier};
  const Logistic s = logistic(score);
  return AmplifierInput{amplifier * (s.value - 0.5f), amplifier * s.slope};
}

struct Amplified {
  float yhat, slope, rest;  // yhat, d yhat / d score, and 1 - yhat (accurate near yhat = 1)
};

FL_HD Amplified amplified(const AmplifierInput& in) {
  const Logistic a = logistic(in.z);
  return Amplified{a.value, a.slope * in.dz, logistic_complement(in.z)};
}

// One cell's soft counts (formulas A.2), label y in [0, 1], row weight w: TP = w y yhat, FN = w y
// (1 - yhat), FP = w (1 - y) yhat, TN = w (1 - y)(1 - yhat). Every term is nonnegative, so their
// sums never cancel (FN as N1 - TP did when every yhat of a positive is near 1).
struct CountTerms {
  float tp, fn, fp, tn;
};

FL_HD CountTerms count_terms(const Amplified& a, float y, float w) {
  const float pos = w * y, neg = w * (1.0f - y);
  return CountTerms{pos * a.yhat, pos * a.rest, neg * a.yhat, neg * a.rest};
}

template <bool Logits>
FL_HD Amplified amplify(float score, float amplifier) {
  return amplified(amplifier_input<Logits>(score, amplifier));
}

// Self-adjusting Dice's pt = p (1 - p)^alpha, d pt / d score (formulas B.3, product form) and
// 1 - pt, accurate where pt is near 1 (the overlap losses' misses). For probabilities (1 - p) is
// floored at 1e-7 in the slope: the exact derivative is unbounded at p = 1, alpha < 1.
struct Adjusted {
  float pt, slope, rest;
};

template <bool Logits>
FL_HD Adjusted adjust_binary(float score, float alpha) {
  float p, q, dp;  // p, 1 - p, d p / d score
  if (Logits) {
    const Logistic s = logistic(score);
    p = s.value;
    q = logistic_complement(score);
    dp = s.slope;
  } else {
    p = score;
    q = 1.0f - score;
    dp = 1.0f;
  }
  if (alpha == 0.0f) return Adjusted{p, dp, q};
  if (Logits) {
    const float qa = std::pow(q, alpha);
    return Adjusted{p * qa, p * qa * (1.0f - (1.0f + alpha) * p), 1.0f - p * qa};
  }
  const float qf = q > 1e-7f ? q : 1e-7f;
  const float pt = p * std::pow(q, alpha);
  return Adjusted{pt, std::pow(qf, alpha - 1.0f) * (1.0f - (1.0f + alpha) * p), 1.0f - pt};
}

}  // namespace fl

namespace fl {

// AnyLoss's scalar step (formulas A.3, A.6): from per-class counts to the loss 1 - M (macro: the
// mean of the per-class metrics; micro: one metric of the summed counts) and, per class, d loss / d
// yhat for a positive cell (dpos) and a negative cell (dneg).
FL_HD double anyloss_constants(const Counts* counts, int32_t classes, Average avg,
                               const MetricParams& mp, double* dpos, double* dneg) {
  if (avg == Average::Micro) {
    Counts sum;
    for (int32_t k = 0; k < classes; ++k) {
      sum.tp += counts[k].tp;
      sum.fn += counts[k].fn;
      sum.fp += counts[k].fp;
      sum.tn += counts[k].tn;
    }
    const MetricValue m = metric_value(sum, mp);
    for (int32_t k = 0; k < classes; ++k) {
      dpos[k] = -m.g_pos;
      dneg[k] = -m.g_neg;
    }
    return m.miss;
  }
  double total = 0;  // of 1 - M_k
  for (int32_t k = 0; k < classes; ++k) {
    const MetricValue m = metric_value(counts[k], mp);
    total += m.miss;
    dpos[k] = -m.g_pos / classes;
    dneg[k] = -m.g_neg / classes;
  }
  return total / classes;
}

}  // namespace fl

namespace fl {

// One element of an element-wise binary loss: its term and d term / d x.
struct ElementLoss {
  float loss, grad;
};

// Binary cross-entropy with logits (PyTorch's BCEWithLogits), label y in [0, 1]:
// pos_weight y softplus(-x) + (1 - y) softplus(x), each softplus as max(+-x, 0) + log1p(e^-|x|)
// so that a confident, correct logit keeps its small loss (softplus(x) - x cancels: 0 from x = 15).
FL_HD ElementLoss bce_element(float x, float y, float pos_weight) {
  const float e = exp_nonpos(-std::fabs(x));
  const float inv = 1.0f / (1.0f + e);
  const float p = x >= 0.0f ? inv : e * inv, q = x >= 0.0f ? e * inv : inv;  // p, 1 - p
  const float py = pos_weight * y, ny = 1.0f - y;
  const float loss =
      (py + ny) * log1p_unit(e) + py * (x < 0.0f ? -x : 0.0f) + ny * (x > 0.0f ? x : 0.0f);
  return ElementLoss{loss, ny * p - py * q};  // (py + ny) p - py without cancelling
}

// Sigmoid focal loss (formulas G, torchvision's form, which also takes soft labels y in [0, 1]):
//   ce = y softplus(-x) + (1 - y) softplus(x),  1 - p_t = y (1 - p) + (1 - y) p,  a_t = alpha y +
//   (1 - alpha)(1 - y), loss = a_t (1 - p_t)^g ce, grad = a_t (1 - p_t)^g ((1 - y) p - y (1 - p) -
//   g ce (2y - 1) r),  r = p (1 - p) / (1 - p_t),
// where r <= 1 replaces (1 - p_t)^(g - 1) p (1 - p), which is unbounded for g < 1 as p_t -> 1.
// Every difference above is a sum of nonnegative terms: no cancellation for hard labels.
FL_HD ElementLoss sigmoid_focal_element(float x, float y, float gamma, float alpha) {
  const float e = exp_nonpos(-std::fabs(x));
  const float inv = 1.0f / (1.0f + e);
  const float p = x >= 0.0f ? inv : e * inv, q = x >= 0.0f ? e * inv : inv;  // p, 1 - p
  // y softplus(-x) + (1 - y) softplus(x), each softplus as max(+-x, 0) + log1p(e)
  const float ce = log1p_unit(e) + y * (x < 0.0f ? -x : 0.0f) + (1.0f - y) * (x > 0.0f ? x : 0.0f);
  const float miss = y * q + (1.0f - y) * p;  // 1 - p_t
  const float at = alpha * y + (1.0f - alpha) * (1.0f - y);
  const float f = at * std::pow(miss, gamma);
  const float r = miss > 0.0f ? p * q / miss : 0.0f;
  // ce r, not gamma ce: ce reaches |x| (3e38) only where r is 0.
  return ElementLoss{f * ce, f * ((1.0f - y) * p - y * q - gamma * (ce * r) * (2.0f * y - 1.0f))};
}

// The two as cells of an element-wise kernel (CPU and CUDA).
struct BceCell {
  float pos_weight;
  FL_HD ElementLoss operator()(float x, float y) const { return bce_element(x, y, pos_weight); }
};

struct FocalCell {
  float gamma, alpha;
  FL_HD ElementLoss operator()(float x, float y) const {
    return sigmoid_focal_element(x, y, gamma, alpha);
  }
};

// ---- the overlap losses (formulas B.1, B.3): Dice, Tversky, self-adjusting Dice ----

// One cell's score for per-example mode, and d score / d pt (formulas B.3 with the sums reduced to
// the cell). The same expression serves global mode with the batch sums passed in.
struct OverlapTerm {
  double score, dscore_dpt;
};

FL_HD double overlap_den(const OverlapParams& op, double sum_i, double sum_p, double sum_y) {
  return op.den_i * sum_i + op.den_p * sum_p + op.den_y * sum_y + op.smooth;
}

FL_HD OverlapTerm overlap_term(const OverlapParams& op, double sum_i, double sum_p, double sum_y,
                               double pt, double y) {
  const double num = op.num_i * sum_i + op.smooth;
  const double den = overlap_den(op, sum_i, sum_p, sum_y);
  const double dp = op.exponent == 2 ? 2 * pt : 1.0;  // d pt^e / d pt
  return OverlapTerm{num / den,
                     (op.num_i * y * den - num * (op.den_i * y + op.den_p * dp)) / (den * den)};
}

FL_HD double overlap_power(double v, int32_t e) {
  return e == 2 ? v * v : v;
}

// Overlap sums: slot 0 holds the per-example loss, then per class (I, P, Y, U, V): I = sum pt y,
// P = sum pt^e, Y = sum y^e, and the misses the loss is made of, each term from pt and its
// accurate complement 1 - pt, so nothing cancels when pt is near y: with e = 1, U = sum pt (1 - y)
// and V = sum (1 - pt) y (FP and FN); with e = 2, U = sum (pt - y)^2 and V = 0.
constexpr int kOverlapSums = 5;

// One cell's (I, P, Y, U, V) terms, given pt and rest = 1 - pt.
FL_HD void overlap_parts(const OverlapParams& op, double pt, double rest, double y, double* t) {
  const double u = pt * (1 - y), v = rest * y;  // pt - y = u - v
  const bool squared = op.exponent == 2;
  t[0] = pt * y;
  t[1] = squared ? pt * pt : pt;
  t[2] = squared ? y * y : y;
  t[3] = squared ? (u - v) * (u - v) : u;
  t[4] = squared ? 0.0 : v;
}

// 1 - score from (I, P, Y, U, V) without cancellation (formulas B.1): (den - num) / den with
// den - num = den_p P + den_y Y - c I (c = num_i - den_i) written in the misses: for e = 1, with
// P = I + U and Y = I + V, den_p U + den_y V + (den_p + den_y - c) I; for e = 2, with k = c / 2,
// k (P + Y - 2I) + (den_p - k) P + (den_y - k) Y, where P + Y - 2I = U. Dice and Tversky leave
// only the miss terms (their other coefficients are 0).
FL_HD double overlap_complement(const OverlapParams& op, const double* t) {
  const double c = op.num_i - op.den_i, k = c / 2;
  const double miss = op.exponent == 2
                          ? k * t[3] + (op.den_p - k) * t[1] + (op.den_y - k) * t[2]
                          : op.den_p * t[3] + op.den_y * t[4] + (op.den_p + op.den_y - c) * t[0];
  return miss / overlap_den(op, t[0], t[1], t[2]);
}

// The score and d score / d pt of one cell: against its class's batch sums (global mode; `sums`
// points at its (I, P, Y, U, V)) or against the cell alone (per example).
FL_HD OverlapTerm overlap_cell(const OverlapParams& op, const double* sums, double pt, double y) {
  if (op.per_example)
    return overlap_term(op, pt * y, overlap_power(pt, op.exponent), overlap_power(y, op.exponent),
                        pt, y);
  return overlap_term(op, sums[0], sums[1], sums[2], pt, y);
}

// The loss's factor: global mode averages over classes, per-example mode over rows and classes.
FL_HD double overlap_scale(const OverlapParams& op, int64_t rows, int32_t classes) {
  return op.per_example ? 1.0 / (static_cast<double>(rows) * classes) : 1.0 / classes;
}

// The loss from the sums: mean over classes of 1 - score (global), or of the per-example losses.
inline double overlap_loss(const OverlapParams& op, const double* sums, int64_t rows,
                           int32_t classes) {
  const double scale = overlap_scale(op, rows, classes);
  if (op.per_example) return rows > 0 ? sums[0] * scale : 0.0;
  double total = 0;
  for (int32_t k = 0; k < classes; ++k)
    total += overlap_complement(op, sums + 1 + kOverlapSums * k);
  return total * scale;
}

}  // namespace fl
