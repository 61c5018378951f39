// Confusion-matrix metrics as functions of soft counts, each with the two derivatives a fused
// kernel needs (formulas A.3): g_pos = dM/dTP - dM/dFN (moving one positive row's prediction up)
// and g_neg = dM/dFP - dM/dTN. Denominators carry eps as the official AnyLoss code does; G-mean's
// derivative M / 2TP divides by max(TP, eps) and MCC clamps its denominator at eps (formulas A.5).
#pragma once

#include "fusedloss/confusion.h"
#include "fusedloss/math.h"

namespace fl {

struct MetricValue {
  double value = 0, g_pos = 0, g_neg = 0;
};

FL_HD MetricValue metric_value(const Counts& c, const MetricParams& mp) {
  const double e = mp.eps;
  const double n1 = c.tp + c.fn, n0 = c.fp + c.tn, n = n1 + n0, s = c.tp + c.fp;
  MetricValue m;
  switch (mp.metric) {
    case Metric::Accuracy: {
      const double d = n + e;
      m.value = (c.tp + c.tn) / d;
      m.g_pos = 1 / d;
      m.g_neg = -1 / d;
      break;
    }
    case Metric::Precision: {
      const double d = s + e;
      m.value = c.tp / d;
      m.g_pos = (c.fp + e) / (d * d);
      m.g_neg = -c.tp / (d * d);
      break;
    }
    case Metric::Recall: {
      const double d = n1 + e;
      m.value = c.tp / d;
      m.g_pos = 1 / d;
      break;
    }
    case Metric::Specificity: {
      const double d = n0 + e;
      m.value = c.tn / d;
      m.g_neg = -1 / d;
      break;
    }
    case Metric::F1:
    case Metric::FBeta: {
      const double b2 = mp.metric == Metric::F1 ? 1.0 : mp.beta * mp.beta;
      const double d = b2 * n1 + s + e;
      m.value = (1 + b2) * c.tp / d;
      m.g_pos = (1 + b2) * (b2 * n1 + c.fp + e) / (d * d);
      m.g_neg = -(1 + b2) * c.tp / (d * d);
      break;
    }
    case Metric::BalancedAccuracy: {  // official form (N0 TP + N1 TN) / (2 N1 N0 + eps)
      const double d = 2 * n1 * n0 + e;
      m.value = (n0 * c.tp + n1 * c.tn) / d;
      m.g_pos = n0 / d;
      m.g_neg = -n1 / d;
      break;
    }
    case Metric::GMeanSquared: {  // official "sur_gmean": TP TN / (N1 N0 + eps)
      const double d = n1 * n0 + e;
      m.value = c.tp * c.tn / d;
      m.g_pos = c.tn / d;
      m.g_neg = -c.tp / d;
      break;
    }
    case Metric::GMean: {  // sqrt(TP TN / (N1 N0 + eps)); d/dTP = M / 2TP divides by max(TP, eps)
      const double d = n1 * n0 + e;
      m.value = std::sqrt(c.tp * c.tn / d);
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
      m.g_pos = 1 / d;
      m.g_neg = -c.tp / (d * d);
      break;
    }
    default:
      break;
  }
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
  float yhat, slope;  // yhat and d yhat / d score
};

FL_HD Amplified amplified(const AmplifierInput& in) {
  const Logistic a = logistic(in.z);
  return Amplified{a.value, a.slope * in.dz};
}

template <bool Logits>
FL_HD Amplified amplify(float score, float amplifier) {
  return amplified(amplifier_input<Logits>(score, amplifier));
}

// Self-adjusting Dice's pt = p (1 - p)^alpha and d pt / d score (formulas B.3, product form). For
// probabilities (1 - p) is floored at 1e-7: the exact derivative is unbounded at p = 1, alpha < 1.
struct Adjusted {
  float pt, slope;
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
  if (alpha == 0.0f) return Adjusted{p, dp};
  if (Logits) {
    const float qa = std::pow(q, alpha);
    return Adjusted{p * qa, p * qa * (1.0f - (1.0f + alpha) * p)};
  }
  const float qf = q > 1e-7f ? q : 1e-7f;
  return Adjusted{p * std::pow(q, alpha), std::pow(qf, alpha - 1.0f) * (1.0f - (1.0f + alpha) * p)};
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
    return 1 - m.value;
  }
  double total = 0;
  for (int32_t k = 0; k < classes; ++k) {
    const MetricValue m = metric_value(counts[k], mp);
    total += m.value;
    dpos[k] = -m.g_pos / classes;
    dneg[k] = -m.g_neg / classes;
  }
  return 1 - total / classes;
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

FL_HD OverlapTerm overlap_term(const OverlapParams& op, double sum_i, double sum_p, double sum_y,
                               double pt, double y) {
  const double num = op.num_i * sum_i + op.smooth;
  const double den = op.den_i * sum_i + op.den_p * sum_p + op.den_y * sum_y + op.smooth;
  const double dp = op.exponent == 2 ? 2 * pt : 1.0;  // d pt^e / d pt
  return OverlapTerm{num / den,
                     (op.num_i * y * den - num * (op.den_i * y + op.den_p * dp)) / (den * den)};
}

FL_HD double overlap_power(double v, int32_t e) {
  return e == 2 ? v * v : v;
}

// Overlap sums: slot 0 holds the per-example loss, then per class the triple (I, P, Y) =
// (sum pt y, sum pt^e, sum y^e).
constexpr int kTriple = 3;

// The score and d score / d pt of one cell: against its class's batch sums (global mode; `sums`
// points at its triple) or against the cell alone (per example).
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
  for (int32_t k = 0; k < classes; ++k) {
    const double* t = sums + 1 + kTriple * k;
    total += 1 - overlap_term(op, t[0], t[1], t[2], 0, 0).score;
  }
  return total * scale;
}

}  // namespace fl
