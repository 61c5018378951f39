// ProxyNCA++ (formulas M.2) on the fused linear cross-entropy (formulas J.1): with x^ and p^ the
// rows normalised with F.normalize's floor, -s |x^ - p^|^2 is 2 s x^ . p^ + b_c less a term of the
// row alone, which cancels in the softmax; b_c = s (1 - |p^_c|^2) is 0 unless proxy c lies below
// the floor. Like the margin heads (linear_margin), the passes around any backend's kernel run on
// the CPU threads (binding/cpu/linear_ce_margin.cc).
#pragma once

#include "fusedloss/linear_ce.h"
#include "fusedloss/proxy.h"

namespace fl {

struct ProxyNcaParams {
  double scale = 1;                       // softmaxScale s > 0
  Reduction reduction = Reduction::Mean;  // Mean, Sum or None
};

struct ProxyNcaOutputs : ProxyOutputs {
  float* row_loss = nullptr;  // rows: required with Reduction::None, else may be null
};

// proxy_input_fault's checks, then threaded passes: the unit rows (the embeddings' times 2 s) and
// the proxies' bias for the kernel, which writes its gradients into out; then those gradients are
// taken through the bias and the normalisation in place.
Status proxy_nca_linear(const ProxyProblem& pb, const ProxyNcaParams& p, const ProxyNcaOutputs& out,
                        const LinearCeKernel& kernel);

}  // namespace fl
