// The proxy losses (formulas M): B embeddings (B x D) with class labels against C learnable proxies
// (C x D, one per class), both L2-normalised inside, so the similarities are cosines. The kernels
// never form the B x C similarities: tiles of them are recomputed, used and discarded, and both
// the embeddings and the proxies get a gradient (through the normalisation).
#pragma once

#include <cstdint>

#include "fusedloss/pairs_math.h"
#include "fusedloss/proxy_math.h"
#include "fusedloss/spherical.h"
#include "fusedloss/status.h"

namespace fl {

struct ProxyProblem {
  const float* embeddings = nullptr;  // rows x dim
  const float* proxies = nullptr;     // classes x dim
  const int32_t* labels = nullptr;    // rows, each in [0, classes)
  int64_t rows = 0, classes = 0;
  int32_t dim = 1;
};

// ProxyAnchor (Kim et al. 2020, formulas M.1).
struct ProxyAnchorParams {
  double alpha = 32;                      // the scale, in (0, 1000]
  double margin = 0.1;                    // in [-1, 1]
  Reduction reduction = Reduction::Mean;  // Mean or Sum
};

struct ProxyOutputs {
  double* loss = nullptr;
  float* grad_embeddings = nullptr;  // rows x dim
  float* grad_proxies = nullptr;     // classes x dim
};

// The checks every backend makes first, on the host: finite embeddings (Fault::ScoreNotFinite)
// and proxies (ReferenceNotFinite), labels in [0, classes) (LabelOutOfRange).
Status proxy_input_fault(const ProxyProblem& pb);

// The factors of ProxyAnchor's two terms: 1 / |P+| (classes with a positive in the batch) and
// 1 / C with reduction mean, 1 and 1 with sum.
struct ProxyAnchorScales {
  double pos, neg;
};
ProxyAnchorScales proxy_anchor_scales(const ProxyProblem& pb, const ProxyAnchorParams& p);

// One class's gradient constants from its online log-sum-exps over its positive and negative
// exponents (without the 1); its two terms log(1 + sum exp) into *pos_lse and *neg_lse.
ProxyAnchorClass proxy_anchor_class(const Lse& pos, const Lse& neg, const ProxyAnchorScales& sc,
                                    double alpha, double* pos_lse, double* neg_lse);

// The class step, on the host in class order (so every backend sums alike): the loss into *loss
// and, unless coef is null, each class's gradient constants.
void proxy_anchor_classes(const ProxyProblem& pb, const ProxyAnchorParams& p, const Lse* pos,
                          const Lse* neg, double* loss, ProxyAnchorClass* coef);

Status proxy_anchor_cpu(const ProxyProblem& pb, const ProxyAnchorParams& p,
                        const ProxyOutputs& out);

}  // namespace fl
