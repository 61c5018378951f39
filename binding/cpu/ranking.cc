// CPU kernels of the listwise losses (formulas C, D.1 to D.3): per list, a sort of the valid items
// by relevance in a per-thread buffer, then the reverse and forward log-sum-exp sweeps of
// ranking_math.h, O(n log n); RankList's exact form and skip-wise windows loop over pairs.
#include "fusedloss/ranking.h"

#include <cmath>

#include "ranking_lanes.h"
#include "ranking_lists.h"
#include "ranking_sweeps.h"

namespace fl {
namespace {

using ranking::inverse;
using ranking::ListSum;
using ranking::mean;
using ranking::Order;
using ranking::Scratch;

// Runs per_list(sc, m) -> loss on every list's gathered valid items and scatters the gradient
// it leaves in sc.g, times 1 / lists.
template <class PerList>
Status sorted_lists(const RankingProblem& pb, Order order, uint32_t seed, PerList per_list,
                    double* loss, float* grad) {
  const ListSum total = ranking::each_list(
      pb, order, seed, FLT_MAX, inverse(pb.lists),
      [&](Scratch& sc, int32_t m) {
        ListSum one;
        one.loss = per_list(sc, m);
        return one;
      },
      grad);
  *loss = mean(total, pb.lists);
  return total.status;
}

}  // namespace

Status ranking_problem_fault(const RankingProblem& pb, float top) {
  for (int64_t l = 0; l < pb.lists; ++l) {
    const Status st = ranking::list_fault(pb, pb.begin(l), pb.end(l), top);
    if (!st.ok()) return st;
  }
  return Status{};
}

Status listmle_weights_fault(const RankingProblem& pb, const ListMLEParams& p) {
  // The weights cover the longest list (the caller checked the length).
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  for (int64_t k = 0; p.weights && k < longest; ++k)
    if (!(p.weights[k] >= 0.0f && p.weights[k] <= FLT_MAX))
      return Status::at(Fault::WeightInvalid, k, p.weights[k]);
  return Status{};
}

namespace {

// Row `row` of a PLD problem: its logits, then its label.
Status distill_row_fault(const DistillProblem& pb, int64_t row) {
  const int32_t c = pb.classes;
  const int64_t b = row * c;
  for (int32_t k = 0; k < c; ++k) {
    if (!(std::fabs(pb.student[b + k]) <= FLT_MAX))
      return Status::at(Fault::ScoreNotFinite, b + k, pb.student[b + k]);
    if (!(std::fabs(pb.teacher[b + k]) <= FLT_MAX))
      return Status::at(Fault::TeacherNotFinite, b + k, pb.teacher[b + k]);
  }
  const int32_t y = pb.labels[row];
  if (!(y >= 0 && y < c)) return Status::at(Fault::LabelOutOfRange, row, y);
  return Status{};
}

}  // namespace

Status distill_problem_fault(const DistillProblem& pb) {
  for (int64_t row = 0; row < pb.rows; ++row) {
    const Status st = distill_row_fault(pb, row);
    if (!st.ok()) return st;
  }
  return Status{};
}

Status listmle_cpu(const RankingProblem& pb, const ListMLEParams& p, double* loss, float* grad) {
  const Status bad = listmle_weights_fault(pb, p);
  if (!bad.ok()) return bad;
  int64_t longest = 0;
  for (int64_t l = 0; l < pb.lists; ++l) longest = std::max(longest, pb.end(l) - pb.begin(l));
  const PositionWeights weight{p.weights, p.top_k > 0 ? p.top_k : INT32_MAX};
  // Zero-padded by a block: the sweep reads whole blocks of kLanes.
  std::vector<float> a(static_cast<size_t>(longest) + kLanes, 0.0f);
  for (int64_t k = 0; k < longest; ++k) a[k] = weight(static_cast<int32_t>(k));
  const bool bounded = std::all_of(a.begin(), a.begin() + longest,
                                   [](float ak) { return ak <= ranking::kNarrowWeightMax; });
  const ranking::MetricsPass metrics(pb, pb.metrics, pb.metrics_out);
  const ranking::PlackettLuceLists lists{
      pb,       p.ties == Ties::Shuffle ? Order::Shuffled : Order::Relevance,
      p.seed,   inverse(pb.lists),
      a.data(), bounded,
      metrics,  grad};
  const ListSum total = ranking::over_list_chunks(
      pb.lists, pb.items(),
      [&](int64_t b, int64_t e, Scratch& sc, ListSum& part) { lists.chunk(b, e, sc, part); });
  *loss = mean(total, pb.lists);
  return total.status;
}

Status ranklist_cpu(const RankingProblem& pb, const RankListParams& p, double* loss, float* grad) {
  return sorted_lists(
      pb, Order::Relevance, 0,
      [&](Scratch& sc, int32_t m) {
        // p(i): the first position constrained below i; relevance is sorted, so it only grows.
        // When every item is constrained above the next one (distinct grades, margin met),
        // p(i) = i + 1 without the search.
        const bool adjacent = ranking::adjacent_constrained(sc.r.data(), m, p.margin);
        if (adjacent)
          for (int32_t i = 0; i < m; ++i) sc.p[i] = i + 1;
        else
          for (int32_t i = 0, q = 1; i < m; ++i) {
            q = std::max(q, i + 1);
            while (q < m && !constrained(sc.r[i], sc.r[q], p.margin)) ++q;
            sc.p[i] = q;
          }
        const SuffixStarts starts{sc.p.data()};
        const bool all_pairs = p.skip == 0 || p.skip >= m - 1;
        if (all_pairs && p.form == RankListForm::Anchor)
          return anchor_suffix_loss(sc.s.data(), m, starts, PositionWeights{}, sc.L.data(),
                                    sc.g.data());
        if (all_pairs && p.form == RankListForm::Lse)
          return ranking::ranklist_lse_sweep(sc, m, adjacent);
        return ranklist_window_loss(p.form, sc.s.data(), m, sc.p.data(), p.skip, sc.R.data(),
                                    sc.g.data());
      },
      loss, grad);
}

namespace {

// ListNet over one list's n items (formulas D.1; the passes of ListNetStats), the gradient into g,
// with ex and tr n floats of scratch. The exponentials run in plain loops over arrays (so they
// vectorise); every sum runs in kLanes partial sums, lane i % kLanes taking item i and the lanes
// added in order, so it vectorises too and is the same at any thread count.
FL_ISA_BODY double listnet_list(const float* __restrict s, const float* __restrict r, int32_t n,
                                ListNetTarget target, float temperature, float* __restrict g,
                                float* __restrict ex, float* __restrict tr) {
  const float inv_t = 1.0f / temperature;
  // x = s / T rounded once, into g (overwritten by the gradient last): a product the compiler
  // fused into x - xmax (an FMA) would leave the largest item a residual of up to half x's ulp
  // (3e28 at x = 1e36) instead of 0.
  float* __restrict x = g;
  for (int32_t i = 0; i < n; ++i) x[i] = s[i] * inv_t;
  const int32_t blocks = n / kLanes * kLanes;
  // Sums f(i) over the list in lanes.
  const auto lane_sum = [&](auto f) FL_LAMBDA_INLINE {
    double acc[kLanes] = {};
    for (int32_t i = 0; i < blocks; i += kLanes)
      for (int l = 0; l < kLanes; ++l) acc[l] += f(i + l);
    for (int32_t i = blocks; i < n; ++i) acc[i - blocks] += f(i);
    double sum = 0;
    for (int l = 0; l < kLanes; ++l) sum += acc[l];
    return sum;
  };
  float xm[kLanes], rm[kLanes];
  for (int l = 0; l < kLanes; ++l) xm[l] = rm[l] = -INFINITY;
  for (int32_t i = 0; i < n; ++i) {
    const int l = i % kLanes;
    xm[l] = x[i] > xm[l] ? x[i] : xm[l];
    rm[l] = r[i] > rm[l] ? r[i] : rm[l];
  }
  ListNetStats st;
  for (int l = 0; l < kLanes; ++l) {
    st.xmax = xm[l] > st.xmax ? xm[l] : st.xmax;
    st.rmax = rm[l] > st.rmax ? rm[l] : st.rmax;
  }
  const bool softmax = target == ListNetTarget::Softmax;
  if (softmax) {
    for (int32_t i = 0; i < n; ++i) tr[i] = exp_nonpos(r[i] - st.rmax);
    st.rexp = lane_sum([&](int32_t i) FL_LAMBDA_INLINE { return static_cast<double>(tr[i]); });
  } else {
    st.rsum = lane_sum([&](int32_t i) FL_LAMBDA_INLINE { return static_cast<double>(r[i]); });
  }
  for (int32_t i = 0; i < n; ++i) ex[i] = exp_nonpos(x[i] - st.xmax);
  st.xexp = lane_sum([&](int32_t i) FL_LAMBDA_INLINE { return static_cast<double>(ex[i]); });
  const ListNetNorm nm = listnet_norm(st, target, n);
  if (nm.dropped) {
    for (int32_t i = 0; i < n; ++i) g[i] = 0.0f;
    return 0;
  }
  // The targets t_i (listnet_target, from the exponentials already taken for softmax).
  for (int32_t i = 0; i < n; ++i) tr[i] = (softmax ? tr[i] : r[i]) * nm.tnorm;
  const double cross =
      lane_sum([&](int32_t i) FL_LAMBDA_INLINE { return tr[i] * listnet_centred(nm, x[i]); });
  for (int32_t i = 0; i < n; ++i) g[i] = listnet_grad(nm, x[i], tr[i], inv_t);
  return nm.lse - cross;
}

}  // namespace

Status listnet_cpu(const RankingProblem& pb, ListNetTarget target, float temperature, double* loss,
                   float* grad) {
  return sorted_lists(
      pb, Order::Index, 0,
      [&](Scratch& sc, int32_t m) {
        return FL_ISA_CALL(listnet_list(sc.s.data(), sc.r.data(), m, target, temperature,
                                        sc.g.data(), sc.e.data(), sc.y.data()));
      },
      loss, grad);
}

Status plackett_luce_distill_cpu(const DistillProblem& pb, float tau, double* loss, float* grad) {
  const int32_t c = pb.classes;
  const float scale = inverse(pb.rows);
  const ListSum total = ranking::over_lists(pb.rows, pb.rows * c, [&](int64_t row, Scratch& sc) {
    const int64_t b = row * c;
    const float* s = pb.student + b;
    const float* t = pb.teacher + b;
    ListSum one;
    one.status = distill_row_fault(pb, row);
    if (!one.status.ok()) return one;
    const int32_t y = pb.labels[row];
    // pi*: the true class, then the others by teacher logit, descending (ties by index).
    sc.fit(c);
    for (int32_t k = 0; k < c; ++k)
      sc.keys[k] = ranking::Keyed{(static_cast<uint64_t>(descending_bits(t[k])) << 32) | k, k};
    std::sort(sc.keys.begin(), sc.keys.begin() + c,
              [](const ranking::Keyed& x, const ranking::Keyed& z) { return x.key < z.key; });
    const auto first = sc.keys.begin();
    const auto truth =
        std::find_if(first, first + c, [&](const ranking::Keyed& x) { return x.item == y; });
    std::rotate(first, truth, truth + 1);
    // a_k = softmax(t / tau) at pi*_k, held in sc.r.
    float tmax = t[0];
    for (int32_t k = 1; k < c; ++k) tmax = std::max(tmax, t[k]);
    double z = 0;
    for (int32_t k = 0; k < c; ++k) z += exp_nonpos((t[k] - tmax) / tau);
    for (int32_t k = 0; k < c; ++k) {
      const int32_t i = sc.keys[k].item;
      sc.s[k] = s[i];
      sc.r[k] = static_cast<float>(exp_nonpos((t[i] - tmax) / tau) / z);
    }
    one.loss = ranking::plackett_luce_sweep(sc, c, sc.r.data(), true);  // a_k <= 1
    ranking::scatter(b, c, c, sc, scale, grad);
    return one;
  });
  *loss = mean(total, pb.rows);
  return total.status;
}

}  // namespace fl
