// What a kernel reports instead of throwing: the core knows nothing of JavaScript. The N-API layer
// passes a Status on as data (fault, index, value), which src/faults.ts writes as the message the
// reference backend gives; a CUDA failure becomes an Error with code ERR_FUSEDLOSS_CUDA and the
// runtime's message. The TypeScript side names these faults in src/wire-enums.ts (Fault).
#pragma once

#include <cstdint>
#include <string>

namespace fl {

enum class Fault : int32_t {
  None = 0,
  ScoreNotFinite,            // scores[index] is NaN or +-Infinity
  ProbabilityOutOfRange,     // scores[index] outside [0, 1] with input 'probabilities'
  LabelOutOfRange,           // labels[index] outside [0, 1] (binary) or [0, classes) (multi-class)
  WeightInvalid,             // weights[index] negative or not finite
  RelevanceInvalid,          // relevance[index] is neither finite and >= 0 nor -1 (padding)
  TeacherNotFinite,          // teacher logits[index] is NaN or +-Infinity
  Cuda,                      // the CUDA runtime failed; `message` holds its name and words
  ClassWeightInvalid,        // class_weights[index] negative or not finite
  ReferenceNotFinite,        // reference embeddings[index] (cross-batch) is NaN or +-Infinity
  RowNormTooLarge,           // unnormalised embeddings row `index` has norm `value` > kMaxRawNorm
  ReferenceRowNormTooLarge,  // the same of a reference row (cross-batch)
  LogitNotFinite,       // row `index`'s logits (log-sum-exp `value`) or, index -1, the gradients
                        // overflow
  ZLossSpreadTooSmall,  // Z-loss row `index`'s logits have std `value`: the gradient overflows
};

struct Status {
  Fault fault = Fault::None;
  int64_t index = -1;   // element index into the named argument
  double value = 0;     // the value found there
  std::string message;  // Fault::Cuda only

  bool ok() const { return fault == Fault::None; }
  static Status at(Fault f, int64_t i, double v) { return Status{f, i, v, {}}; }
};

}  // namespace fl
