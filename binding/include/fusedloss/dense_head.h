// The dense baseline SphericalHead is benchmarked against: one SGD step of a softmax output
// layer on an explicit W, O(m C d). Not part of the public API.
#pragma once

#include <cstdint>

namespace fl {

// hidden: m x d, W: C x d (updated in place: W <- W - lr dL/dW), targets: m class ids. Writes
// logits = H W^T and grad = dL/dlogits (m x C each, the fused softmax cross-entropy kernel of
// spherical.cc, mean over rows) and dL/dhidden (m x d); returns the mean loss.
double dense_softmax_step(const float* hidden, const int32_t* targets, int64_t m, float* W,
                          int64_t classes, int32_t dim, double lr, float* logits, float* grad,
                          float* grad_hidden);

}  // namespace fl
