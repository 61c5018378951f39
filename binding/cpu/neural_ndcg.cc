// CPU kernel of NeuralNDCG (formulas D.8): lists in parallel (ranking_lists.h), each gathered in
// relevance order (the ideal DCG reads its top k) into the thread's scratch, then
// neural_ndcg_list on a per-thread workspace of 2 m^2 + O(iterations x m) doubles.
#include "fusedloss/neural_ndcg.h"

#include <cfloat>
#include <vector>

#include "fusedloss/neural_ndcg_math.h"
#include "ranking_lists.h"

namespace fl {

Status neural_ndcg_cpu(const RankingProblem& pb, const NeuralNdcgParams& p, double* loss,
                       float* grad) {
  const float top = p.gain == MetricGain::Exp2 ? kLambdaMaxRelevance : FLT_MAX;
  const ranking::ListSum total = ranking::each_list(
      pb, ranking::Order::Relevance, 0, top, ranking::inverse(pb.lists),
      [&](ranking::Scratch& sc, int32_t m) {
        thread_local std::vector<double> work;
        const size_t need = neural_ndcg_workspace(m, p.max_iter);
        if (work.size() < need) work.resize(need);
        ranking::ListSum one;
        one.loss = neural_ndcg_list(sc.s.data(), sc.r.data(), m, p, work.data(), sc.g.data());
        return one;
      },
      grad);
  *loss = ranking::mean(total, pb.lists);
  return total.status;
}

}  // namespace fl
