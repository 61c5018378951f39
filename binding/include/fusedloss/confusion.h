// The soft-confusion-matrix family (formulas A and B): AnyLoss over any confusion-matrix
// metric, soft counts alone, and the overlap losses (Dice, Tversky). Binary problems have
// classes == 1 (one score per row); multi-class problems have one score per class per row,
// read through a softmax (logits) or as given (probabilities), one-vs-rest per class.
#pragma once

#include <cstdint>

#include "fusedloss/status.h"

namespace fl {

enum class LabelType : int32_t { Float32 = 0, Uint8 = 1, Int32 = 2 };
enum class Input : int32_t { Logits = 0, Probabilities = 1 };

struct ConfusionProblem {
  const float* scores = nullptr;  // rows x classes, row-major
  int64_t rows = 0;
  int32_t classes = 1;           // 1: binary (labels are 0/1 or soft in [0,1]); >1: class ids
  const void* labels = nullptr;  // rows entries of label_type
  LabelType label_type = LabelType::Float32;
  const float* weights = nullptr;  // optional per-row weights (>= 0)
  Input input = Input::Logits;
};

enum class Metric : int32_t {
  Accuracy = 0,
  Precision,
  Recall,
  Specificity,
  F1,
  FBeta,
  BalancedAccuracy,
  GMean,
  GMeanSquared,
  MCC,
  Jaccard,
  Count_  // number of metrics; not a metric
};

struct MetricParams {
  Metric metric = Metric::F1;
  double beta = 1;    // F-beta only
  double eps = 1e-5;  // added to denominators (official AnyLoss code: 1e-5)
};

enum class Average : int32_t { Macro = 0, Micro = 1 };

// Weighted soft counts of one class (binary: the positive class).
struct Counts {
  double tp = 0, fn = 0, fp = 0, tn = 0;
};

// Pass 1 of AnyLoss: counts[k] for k < classes, with yhat = sigmoid(amplifier * (p - 1/2)).
// A non-null stash (the gradient buffer, rows x classes) receives what pass 2 needs per element:
// d yhat / d score for binary rows, the softmax probabilities for multi-class logits.
Status confusion_counts_cpu(const ConfusionProblem& pb, float amplifier, Counts* counts,
                            float* stash);

// Pass 2 of AnyLoss: grad (holding pass 1's stash) becomes d loss / d scores given, per class, the
// derivative of the loss with respect to yhat for a cell whose label is positive (dpos[k]) or
// negative (dneg[k]). Soft labels mix the two: y * dpos + (1 - y) * dneg.
void confusion_backward_cpu(const ConfusionProblem& pb, float amplifier, const double* dpos,
                            const double* dneg, float* grad);

// The first invalid input of rows [row_begin, row_end): each row's scores, then its label, then its
// weight (the order every kernel of the family reports in). The GPU kernels find the first bad
// row; this names the element.
Status confusion_find_fault(const ConfusionProblem& pb, int64_t row_begin, int64_t row_end);

// AnyLoss with a built-in metric, both passes and the scalar step between them.
Status anyloss_cpu(const ConfusionProblem& pb, float amplifier, Average avg, const MetricParams& mp,
                   double* loss, float* grad);

// The overlap losses share one form (formulas B.1, B.3), with pt = p (1 - p)^adjust:
//   score = (num_i * I + smooth) / (den_i * I + den_p * P + den_y * Y + smooth),
//   I = sum pt y,  P = sum pt^exponent,  Y = sum y^exponent.
// Dice: num_i 2, den_i 0, den_p 1, den_y 1. Tversky (a: FP weight, b: FN weight, exponent 1):
// num_i 1, den_i 1 - a - b, den_p a, den_y b. Global mode sums over rows per class; per-example
// mode scores each cell alone. loss = mean over classes (and rows, per example) of 1 - score.
struct OverlapParams {
  double num_i = 2, den_i = 0, den_p = 1, den_y = 1, smooth = 1;
  int32_t exponent = 1;  // 1 or 2 (square denominator)
  float adjust = 0;      // self-adjusting exponent alpha >= 0
  bool per_example = false;
};

Status overlap_loss_cpu(const ConfusionProblem& pb, const OverlapParams& op, double* loss,
                        float* grad);

}  // namespace fl

namespace fl {

// Binary cross-entropy with logits, the baseline beside AnyLoss (PyTorch's BCEWithLogits):
// loss_i = w_i (pos_weight y_i softplus(-x_i) + (1 - y_i) softplus(x_i)), mean or sum over rows.
// Uses pb.scores (logits), rows, labels, label_type and weights of the problem.
Status bce_cpu(const ConfusionProblem& pb, float pos_weight, bool sum, double* loss, float* grad);

// Sigmoid focal loss (Lin et al. 2017, formulas G; torchvision's sigmoid_focal_loss, which also
// takes soft labels): loss_i = w_i a_t (1 - p_t)^gamma BCE(x_i, y_i) with p_t = p y + (1 - p)(1 -
// y), a_t = alpha y + (1 - alpha)(1 - y); mean or sum over rows. The same problem fields as
// bce_cpu.
Status sigmoid_focal_cpu(const ConfusionProblem& pb, float gamma, float alpha, bool sum,
                         double* loss, float* grad);

}  // namespace fl
