// CUDA kernels of the listwise losses (formulas C, D.1 to D.3): a team per list (lists.cuh) sorts
// its valid items by relevance in shared memory, then runs the reverse and forward log-sum-exp
// scans of the anchor form (ListMLE, PLD, RankList-anchor with all pairs) or RankList's lse form,
// O(n log n) per list; RankList's exact form and skip-wise windows stride their items over the
// team, O(n window). The per-item formulas are ranking_math.h's, shared with the CPU kernels.
#include <cfloat>

#include "fusedloss/ranking.h"
#include "lists.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

struct ListMLELoss : PaddedItems {
  static constexpr ItemOrder kOrder = ItemOrder::Relevance;
  PositionWeights weights;
  bool shuffle;
  uint32_t seed;

  __device__ uint64_t key(const ListData& d, int64_t l, int64_t b, int32_t i) const {
    const uint32_t tie =
        tie_order(static_cast<uint32_t>(i), static_cast<uint32_t>(l), seed, shuffle);
    return relevance_key(d.relevance[b + i], tie);
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    ListResult one;
    one.loss = team_anchor_loss(t, v, NextStart{}, weights);
    return one;
  }
};

// RankList's lse form over all pairs, A_i = R[p(i)] - s_i and Lambda = LSE_i A_i:
// g_k = sigma(Lambda) (sum_{i: p(i) <= k} e^{s_k - s_i - Lambda} - e^{A_k - Lambda}), the sum a
// forward scan of e^{-s_i} over the constrained anchors.
template <class Team>
__device__ double team_ranklist_lse(const Team& t, const ListView& v) {
  const int32_t m = v.m;
  team_suffix_lse(t, v);
  LseSum own;
  for (int32_t i = t.lane; i < m; i += t.width)
    if (v.p[i] < m) lse_push(own, lse_minus(v.L[v.p[i]], v.s[i]), 1.0f);
  // No early return without a constraint: the groups sharing a warp must meet the same barriers.
  const LseSum all = lse_total(t, own);
  const double lambda = all.s > 0 ? lse_log(all) : 0.0;
  const SigmoidSoftplusWide top = sigmoid_softplus_wide(lambda);
  lse_scan(
      t, m, false,
      [&](LseSum& acc, int32_t i) {
        if (v.p[i] < m) lse_push(acc, -static_cast<double>(v.s[i]), 1.0f);
      },
      [&](int32_t i, const LseSum& acc) { v.F[i] = acc; });
  t.sync();
  const SuffixStarts starts{v.p};
  for (int32_t k = t.lane; k < m; k += t.width) {
    const int32_t above = anchors_above(starts, k);
    const float in = above > 0 ? entered_sum(v.F[above - 1], v.s[k], lambda) : 0.0f;
    const float out =
        v.p[k] < m ? exp_nonpos(static_cast<float>(lse_minus(v.L[v.p[k]], v.s[k]) - lambda)) : 0.0f;
    v.g[k] = all.s > 0 ? top.sigmoid * (in - out) : 0.0f;
  }
  return all.s > 0 ? top.softplus : 0.0;
}

// RankList's forms over windows (skip-wise, or the exact form): ranking_math.h's item terms.
template <class Team>
__device__ double team_ranklist_windows(const Team& t, const ListView& v, RankListForm form,
                                        int32_t skip) {
  const RankListWindows w{v.s, v.p, v.m, skip};
  double loss = 0;
  if (form == RankListForm::Exact) {
    for (int32_t k = t.lane; k < v.m; k += t.width) loss += exact_window_item(w, k, v.g);
    return t.sum(loss);
  }
  LseSum own;  // lse form: over this lane's constrained anchors
  for (int32_t i = t.lane; i < v.m; i += t.width) {
    v.R[i] = w.anchor_a(i);
    if (form == RankListForm::Lse && v.p[i] <= w.hi(i)) lse_push(own, v.R[i], 1.0f);
  }
  t.sync();
  if (form == RankListForm::Anchor) {
    for (int32_t k = t.lane; k < v.m; k += t.width) loss += anchor_window_item(w, v.R, k, v.g);
    return t.sum(loss);
  }
  const LseSum all = lse_total(t, own);
  const double lambda = all.s > 0 ? lse_log(all) : 0.0;
  const SigmoidSoftplusWide top = sigmoid_softplus_wide(lambda);
  for (int32_t k = t.lane; k < v.m; k += t.width)
    v.g[k] = all.s > 0 ? lse_window_grad(w, k, lambda, top.sigmoid) : 0.0f;
  return all.s > 0 ? top.softplus : 0.0;
}

struct RankListLoss : PaddedItems {
  static constexpr ItemOrder kOrder = ItemOrder::Relevance;
  RankListParams p;

  __device__ uint64_t key(const ListData& d, int64_t, int64_t b, int32_t i) const {
    return relevance_key(d.relevance[b + i], static_cast<uint32_t>(i));
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    const int32_t m = v.m;
    // p(i): the first position constrained below i. The relevance is sorted, so whether i is
    // constrained above q only turns from false to true as q grows: a binary search.
    for (int32_t i = t.lane; i < m; i += t.width) {
      int32_t lo = i + 1, hi = m;
      while (lo < hi) {
        const int32_t mid = (lo + hi) / 2;
        if (constrained(v.r[i], v.r[mid], p.margin))
          hi = mid;
        else
          lo = mid + 1;
      }
      v.p[i] = lo;
    }
    t.sync();
    // The path depends on the options alone, so the groups sharing a warp meet the same
    // barriers; windows reaching the end of the list (skip >= m - 1) are all pairs there too.
    ListResult one;
    const bool all_pairs = p.skip == 0;
    if (all_pairs && p.form == RankListForm::Anchor)
      one.loss = team_anchor_loss(t, v, SuffixStarts{v.p}, PositionWeights{});
    else if (all_pairs && p.form == RankListForm::Lse)
      one.loss = team_ranklist_lse(t, v);
    else
      one.loss = team_ranklist_windows(t, v, p.form, p.skip);
    return one;
  }
};

// ListNet: the list's statistics by team reductions, then ranking_math.h's per-item terms.
struct ListNetLoss : PaddedItems {
  ListNetTarget target;
  float inv_t;

  __device__ uint64_t key(const ListData&, int64_t, int64_t, int32_t i) const {
    return static_cast<uint64_t>(i);
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    float xmax = -INFINITY, rmax = -INFINITY;
    double rsum = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      xmax = fmaxf(xmax, v.s[i] * inv_t);
      rmax = fmaxf(rmax, v.r[i]);
      rsum += v.r[i];
    }
    ListNetStats st;
    st.xmax = t.max(xmax);
    st.rmax = t.max(rmax);
    st.rsum = t.sum(rsum);
    double xexp = 0, rexp = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      xexp += exp_nonpos(v.s[i] * inv_t - st.xmax);
      rexp += exp_nonpos(v.r[i] - st.rmax);
    }
    st.xexp = t.sum(xexp);
    st.rexp = t.sum(rexp);
    const ListNetNorm nm = listnet_norm(st, target, v.m);
    double cross = 0;
    for (int32_t i = t.lane; i < v.m; i += t.width) {
      const float x = v.s[i] * inv_t;
      const float ti = nm.dropped ? 0.0f : listnet_target(nm, v.r[i], st.rmax);
      cross += ti * listnet_centred(nm, x);
      v.g[i] = nm.dropped ? 0.0f : listnet_grad(nm, x, ti, inv_t);
    }
    ListResult one;
    cross = t.sum(cross);
    one.loss = nm.dropped ? 0.0 : nm.lse - cross;
    return one;
  }
};

// PLD: rows of student logits (the scores) and teacher logits (the relevance), no padding. The
// order is the true class, then the others by teacher logit, descending; position k weighs
// a_k = softmax(t / tau) of its class, held in v.r.
struct DistillLoss {
  static constexpr ItemOrder kOrder = ItemOrder::Any;  // DistillProblem asks no metrics
  const int32_t* labels;
  int32_t classes;
  float tau;

  __device__ bool valid(const ListData& d, int64_t i) const {
    return is_finite(d.scores[i]) && is_finite(d.relevance[i]);
  }
  __device__ bool list_valid(const ListData&, int64_t row) const {
    return labels[row] >= 0 && labels[row] < classes;
  }
  __device__ bool is_item(const ListData&, int64_t) const { return true; }
  __device__ uint64_t key(const ListData& d, int64_t row, int64_t b, int32_t i) const {
    if (i == labels[row]) return 0;  // below every other key: theirs have a nonzero top half
    return (static_cast<uint64_t>(descending_bits(d.relevance[b + i])) << 32) |
           static_cast<uint32_t>(i);
  }
  template <class Team>
  __device__ ListResult run(const Team& t, const ListView& v, int64_t) const {
    float top = -INFINITY;
    for (int32_t k = t.lane; k < v.m; k += t.width) top = fmaxf(top, v.r[k]);
    const float tmax = t.max(top);
    double z = 0;
    for (int32_t k = t.lane; k < v.m; k += t.width) z += exp_nonpos((v.r[k] - tmax) / tau);
    z = t.sum(z);
    for (int32_t k = t.lane; k < v.m; k += t.width)
      v.r[k] = static_cast<float>(exp_nonpos((v.r[k] - tmax) / tau) / z);
    t.sync();
    ListResult one;
    one.loss = team_anchor_loss(t, v, NextStart{}, PositionWeights{v.r});
    return one;
  }
};

// The mean over lists of a listwise loss with relevance at most `top`.
template <class MakeLoss>
Status mean_over_lists(const RankingProblem& pb, float top, MakeLoss make_loss, double* out,
                       float* grad) {
  *out = 0;
  if (pb.lists == 0) return Status{};
  ListResult total;
  const Status st = run_lists(
      list_shape(pb), make_loss, inverse_count(pb.lists), false,
      [&] { return ranking_problem_fault(pb, top); }, grad, &total);
  if (st.ok()) *out = total.loss / static_cast<double>(pb.lists);
  return st;
}

}  // namespace

Status listmle(const RankingProblem& pb, const ListMLEParams& p, double* loss, float* grad) {
  *loss = 0;
  const Status st = listmle_weights_fault(pb, p);
  if (!st.ok()) return st;
  const int32_t longest = list_shape(pb).longest;
  return mean_over_lists(
      pb, FLT_MAX,
      [&](Session& s, Status* up) {
        ListMLELoss l{};
        l.top = FLT_MAX;
        float* weights = nullptr;
        if (p.weights)
          *up = s.upload(Slot::Weights, p.weights, static_cast<size_t>(longest), &weights);
        l.weights = PositionWeights{weights, p.top_k > 0 ? p.top_k : INT32_MAX};
        l.shuffle = p.ties == Ties::Shuffle;
        l.seed = p.seed;
        return l;
      },
      loss, grad);
}

Status ranklist(const RankingProblem& pb, const RankListParams& p, double* loss, float* grad) {
  RankListLoss l{};
  l.top = FLT_MAX;
  l.p = p;
  return mean_over_lists(pb, FLT_MAX, loss_as_is(l), loss, grad);
}

Status listnet(const RankingProblem& pb, ListNetTarget target, float temperature, double* loss,
               float* grad) {
  ListNetLoss l{};
  l.top = FLT_MAX;
  l.target = target;
  l.inv_t = 1.0f / temperature;
  return mean_over_lists(pb, FLT_MAX, loss_as_is(l), loss, grad);
}

Status plackett_luce_distill(const DistillProblem& pb, float tau, double* loss, float* grad) {
  *loss = 0;
  if (pb.rows == 0) return Status{};
  const int64_t items = pb.rows * pb.classes;
  const ListShape shape{pb.student, pb.teacher, nullptr, pb.rows, pb.classes, items, pb.classes};
  ListResult total;
  const Status st = run_lists(
      shape,
      [&](Session& s, Status* up) {
        int32_t* labels = nullptr;
        *up = s.upload(Slot::Constants, pb.labels, static_cast<size_t>(pb.rows), &labels);
        return DistillLoss{labels, pb.classes, tau};
      },
      inverse_count(pb.rows), false, [&] { return distill_problem_fault(pb); }, grad, &total);
  if (st.ok()) *loss = total.loss / static_cast<double>(pb.rows);
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
