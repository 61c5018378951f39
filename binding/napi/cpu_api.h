// The CPU kernels under the GPU API's names and signatures (fusedloss/gpu_api.inc), in namespace
// fl::cpu, so that one FL_CALL(dev, anyloss(...)) picks the backend. Only the signatures differ
// where noted; binding/cpu keeps its own names.
#pragma once

#include "fusedloss/confusion.h"
#include "fusedloss/linear_ce.h"
#include "fusedloss/neural_ndcg.h"
#include "fusedloss/pairs.h"
#include "fusedloss/proxy.h"
#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"
#include "fusedloss/spherical.h"

namespace fl::cpu {

// The CPU backward cannot fail (its inputs were checked by the counts pass).
inline Status confusion_backward(const ConfusionProblem& pb, float amplifier, const double* dpos,
                                 const double* dneg, float* grad) {
  confusion_backward_cpu(pb, amplifier, dpos, dneg, grad);
  return Status{};
}
inline constexpr auto confusion_counts = confusion_counts_cpu;
inline constexpr auto anyloss = anyloss_cpu;
inline constexpr auto overlap_loss = overlap_loss_cpu;
inline constexpr auto bce = bce_cpu;
inline constexpr auto sigmoid_focal = sigmoid_focal_cpu;
inline constexpr auto spherical_loss = spherical_loss_cpu;
inline constexpr auto softmax_loss = softmax_loss_cpu;
inline constexpr auto pair_loss = pair_loss_cpu;
inline constexpr auto linear_ce = linear_ce_cpu;
inline constexpr auto proxy_anchor = proxy_anchor_cpu;
inline constexpr auto listmle = listmle_cpu;
inline constexpr auto ranklist = ranklist_cpu;
inline constexpr auto listnet = listnet_cpu;
inline constexpr auto ranknet = ranknet_cpu;
inline constexpr auto pairwise_hinge = pairwise_hinge_cpu;
inline constexpr auto lambdaloss = lambdaloss_cpu;
inline constexpr auto approx_ndcg = approx_ndcg_cpu;
inline constexpr auto plackett_luce_distill = plackett_luce_distill_cpu;
inline constexpr auto ranking_metrics = ranking_metrics_cpu;
inline constexpr auto neural_ndcg = neural_ndcg_cpu;

}  // namespace fl::cpu
