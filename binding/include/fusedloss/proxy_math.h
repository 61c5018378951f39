// Per-element formulas of the proxy losses, host+device (formulas M), shared by the CPU and CUDA
// kernels.
#pragma once

#include <cmath>

#include "fusedloss/math.h"

namespace fl {

// ProxyAnchor's exponents (formulas M.1): -alpha (s - margin) for a positive pair (the proxy of
// the embedding's class), alpha (s + margin) for a negative one.
FL_HD float proxy_anchor_logit(float s, bool positive, float alpha, float margin) {
  return positive ? -alpha * (s - margin) : alpha * (s + margin);
}

// One class's constants for the gradient sweeps: lse = log(1 + sum exp(logit)) over its positives
// (pos_lse) and negatives (neg_lse), and dL/ds = -pos_scale exp(logit - pos_lse) for a positive
// pair, neg_scale exp(logit - neg_lse) for a negative one (pos_scale = alpha / |P+|, neg_scale =
// alpha / C with reduction mean; alpha with sum).
struct ProxyAnchorClass {
  float pos_lse, neg_lse, pos_scale, neg_scale;
};

FL_HD float proxy_anchor_weight(float s, bool positive, const ProxyAnchorClass& k, float alpha,
                                float margin) {
  const float z = proxy_anchor_logit(s, positive, alpha, margin);
  return positive ? -k.pos_scale * expf(z - k.pos_lse) : k.neg_scale * expf(z - k.neg_lse);
}

}  // namespace fl
