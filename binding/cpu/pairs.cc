// CPU kernels of the pairwise family (spec E). Each loss is a few sweeps over the tiles of S
// (pair_tiles.h): reduction sweeps fill per-row statistics (mining extremes, LSEs, counts), the
// per-row and batch scalars follow in row order, and a weight sweep turns each recomputed tile
// into G (pairs_math.h) and accumulates it. Batch-hard triplet, whose G has two entries per row,
// and OPL, which needs only class sums (spec E.6), skip the weight sweep.
#include "fusedloss/pairs.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "fusedloss/pairs_math.h"
#include "pair_sweeps.h"

namespace fl {
namespace {

// Runs body(i, s_row, j0, cols) over every valid row of every tile of S (queries by reference).
template <class Row>
void reduce_sweep(const PairSets& ps, Row row) {
  sweep_tiles(ps.q, ps.ref(),
              [&](int64_t i0, int64_t j0, const float* s) { for_tile_rows(ps, i0, j0, s, row); });
}

struct Gradients {
  std::vector<float> q, r;  // d loss / d fn, rows x ld
};

// The weight sweeps of a loss whose G is g(i, j, s): queries, then (cross-batch) the reference.
template <class G>
void weight_pass(const PairSets& ps, G g, bool distance, Gradients& out) {
  const auto w = weight_sweeps(ps, g);
  w.run(ps.q, ps.ref(), out.q, distance);
  if (ps.cross) w.run(ps.r, ps.q, out.r, distance);
}

// ---- Multi-Similarity (spec E.1) ----

double multi_similarity(const PairSets& ps, const PairParams& p, Gradients& out) {
  const MsConstants c = ms_constants(p);
  const int64_t n = ps.q.n;
  std::vector<MsRow> rows(n, MsRow{INFINITY, -INFINITY, 0, 0, 0, 0});
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    const float lo =
        -lane_max(cols, [&](int k) { return ms_positive(s[k], kind(k), c) ? -s[k] : -INFINITY; });
    const float hi = lane_max(cols, [&](int k) { return is_negative(kind(k)) ? s[k] : -INFINITY; });
    rows[i].min_positive = min_of(rows[i].min_positive, lo);
    rows[i].max_negative = max_of(rows[i].max_negative, hi);
  });
  std::vector<OnlineLse> pos(n, OnlineLse::with_zero()), neg(n, OnlineLse::with_zero());
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    const MsRow& r = rows[i];
    auto positive = [&](int k) {
      return ms_positive(s[k], kind(k), c) && ms_positive_mined(s[k], r.max_negative, c);
    };
    auto negative = [&](int k) {
      return is_negative(kind(k)) && ms_negative_mined(s[k], r.min_positive, c);
    };
    pos[i].add(cols, positive, [&](int k) { return ms_positive_logit(s[k], c); });
    neg[i].add(cols, negative, [&](int k) { return ms_negative_logit(s[k], c); });
  });
  const float inv_n = 1.0f / static_cast<float>(n);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    MsRow& r = rows[i];
    const bool paper = c.semantics == MsSemantics::Paper;
    const bool both = pos[i].any && neg[i].any;
    r.lse_positive = pos[i].value();
    r.lse_negative = neg[i].value();
    r.scale_positive = !paper || both ? inv_n : 0.0f;
    r.scale_negative = !paper || both ? inv_n : 0.0f;
    if (r.scale_positive > 0) loss += r.lse_positive / p.alpha + r.lse_negative / p.beta;
  }
  weight_pass(
      ps,
      [&](int64_t i, int64_t, float s, PairKind kind)
          FL_LAMBDA_INLINE { return ms_weight(rows[i], s, kind, c); },
      false, out);
  return loss / static_cast<double>(n);
}

// ---- contrastive (spec E.2) ----

double contrastive(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const TileSet& ref = ps.ref();
  std::vector<double> pos_sum(n), neg_sum(n);
  std::vector<int64_t> pos_count(n), neg_count(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    auto term = [&](int k, bool positive) {
      const PairKind pk = kind(k);
      const float t = contrastive_term(pair_distance(s[k], ps.q.q[i], ref.q[j0 + k]), pk, p);
      return (positive ? is_positive(pk) : is_negative(pk)) ? t : 0.0f;
    };
    pos_sum[i] += nonneg_sum(cols, [&](int k) { return term(k, true); });
    neg_sum[i] += nonneg_sum(cols, [&](int k) { return term(k, false); });
    pos_count[i] += lane_count(cols, [&](int k) { return term(k, true) > 0.0f; });
    neg_count[i] += lane_count(cols, [&](int k) { return term(k, false) > 0.0f; });
  });
  const int64_t np = std::accumulate(pos_count.begin(), pos_count.end(), int64_t{0});
  const int64_t nn = std::accumulate(neg_count.begin(), neg_count.end(), int64_t{0});
  const double inv_pos = np ? 1.0 / np : 0.0, inv_neg = nn ? 1.0 / nn : 0.0;
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) loss += pos_sum[i] * inv_pos + neg_sum[i] * inv_neg;
  const float ip = static_cast<float>(inv_pos), in = static_cast<float>(inv_neg);
  weight_pass(
      ps,
      [&](int64_t i, int64_t j, float s, PairKind kind) FL_LAMBDA_INLINE {
        const float d = pair_distance(s, ps.q.q[i], ref.q[j]);
        return contrastive_weight(d, kind, p, ip, in);
      },
      true, out);
  return loss;
}

// ---- circle loss (spec E.4) ----

double circle(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const float m = static_cast<float>(p.m), gamma = static_cast<float>(p.gamma);
  std::vector<OnlineLse> pos(n), neg(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    auto logit = [&](int k) { return circle_logit(s[k], kind(k), m, gamma); };
    pos[i].add(
        cols, [&](int k) { return is_positive(kind(k)); }, logit);
    neg[i].add(
        cols, [&](int k) { return is_negative(kind(k)); }, logit);
  });
  std::vector<CircleRow> rows(n, CircleRow{0, 0, 0});
  int64_t active = 0;
  for (int64_t i = 0; i < n; ++i) active += pos[i].sum > 0 && neg[i].sum > 0;
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!(pos[i].sum > 0 && neg[i].sum > 0)) continue;
    const double z = static_cast<double>(pos[i].value()) + neg[i].value();
    rows[i] = CircleRow{pos[i].value(), neg[i].value(), static_cast<float>(sigmoid64(z) / active)};
    loss += softplus64(z);
  }
  weight_pass(
      ps,
      [&](int64_t i, int64_t, float s, PairKind kind)
          FL_LAMBDA_INLINE { return circle_weight(rows[i], s, kind, m, gamma); },
      false, out);
  return active ? loss / active : 0.0;
}

// ---- SupCon (spec E.5) ----

double supcon(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const float inv_tau = static_cast<float>(1.0 / p.temperature);
  std::vector<OnlineLse> all(n);
  std::vector<double> pos_sum(n);
  std::vector<int64_t> pos_count(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    all[i].add(
        cols, [&](int k) { return !kind(k).self; }, [&](int k) { return s[k] * inv_tau; });
    auto positive = [&](int k) { return is_positive(kind(k)); };
    // Signed terms in nonneg_sum's float blocks: 16 terms of at most the row norms each.
    pos_sum[i] += nonneg_sum(cols, [&](int k) { return positive(k) ? s[k] : 0.0f; });
    pos_count[i] += lane_count(cols, positive);
  });
  int64_t active = 0;
  for (int64_t i = 0; i < n; ++i) active += pos_count[i] > 0;
  std::vector<SupConRow> rows(n, SupConRow{0, 0, 0});
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (pos_count[i] == 0) continue;
    const double lse = all[i].value();
    loss += p.temperature / p.base_temperature *
            (lse - pos_sum[i] / (p.temperature * static_cast<double>(pos_count[i])));
    rows[i] = SupConRow{static_cast<float>(lse), 1.0f / static_cast<float>(pos_count[i]),
                        static_cast<float>(1.0 / (p.base_temperature * active))};
  }
  weight_pass(
      ps,
      [&](int64_t i, int64_t, float s, PairKind kind)
          FL_LAMBDA_INLINE { return supcon_weight(rows[i], s, kind, inv_tau); },
      false, out);
  return active ? loss / active : 0.0;
}

// ---- NT-Xent (spec E.5) ----

double ntxent(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const float inv_tau = static_cast<float>(1.0 / p.temperature);
  std::vector<OnlineLse> neg(n);
  std::vector<int64_t> pos_count(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    neg[i].add(
        cols, [&](int k) { return is_negative(kind(k)); }, [&](int k) { return s[k] * inv_tau; });
    pos_count[i] += lane_count(cols, [&](int k) { return is_positive(kind(k)); });
  });
  std::vector<NtXentRow> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = NtXentRow{neg[i].value(), 0, 0};
  std::vector<double> pair_loss(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    if (!(rows[i].lse_negative > -INFINITY)) return;
    auto pair = [&](int k) {
      const bool pos = is_positive(kind(k));
      const SigmoidSoftplus t = sigmoid_softplus(ntxent_pair_logit(rows[i], s[k], inv_tau));
      return SigmoidSoftplus{pos ? t.sigmoid : 0.0f, pos ? t.softplus : 0.0f};
    };
    rows[i].pull += static_cast<float>(nonneg_sum(cols, [&](int k) { return pair(k).sigmoid; }));
    pair_loss[i] += nonneg_sum(cols, [&](int k) { return pair(k).softplus; });
  });
  const int64_t pairs = std::accumulate(pos_count.begin(), pos_count.end(), int64_t{0});
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    loss += pair_loss[i];
    rows[i].coef = pairs ? static_cast<float>(1.0 / (p.temperature * pairs)) : 0.0f;
  }
  weight_pass(
      ps,
      [&](int64_t i, int64_t, float s, PairKind kind)
          FL_LAMBDA_INLINE { return ntxent_weight(rows[i], s, kind, inv_tau); },
      false, out);
  return pairs ? loss / pairs : 0.0;
}

// ---- batch-hard triplet (spec E.3) ----

struct Hardest {
  float pos_d = -1, neg_d = INFINITY;  // distances of the hardest positive and negative
  int64_t pos = -1, neg = -1;          // their rows (the first on ties)
};

double triplet_batch_hard(const PairSets& ps, const PairParams& p, Gradients& out) {
  const TileSet& t = ps.q;
  std::vector<Hardest> hard(t.n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    Hardest& h = hard[i];
    for (int k = 0; k < cols; ++k) {
      const int64_t j = j0 + k;
      const PairKind pk = kind(k);
      const float d = pair_distance(s[k], t.q[i], t.q[j]);
      if (is_positive(pk) && d > h.pos_d) h.pos_d = d, h.pos = j;
      if (is_negative(pk) && d < h.neg_d) h.neg_d = d, h.neg = j;
    }
  });
  // Loss and dL/d(d+) per anchor; anchors counted: a positive and a negative, and a positive
  // loss (every one, with the soft margin).
  std::vector<double> slope(t.n);
  int64_t active = 0;
  double loss = 0;
  for (int64_t a = 0; a < t.n; ++a) {
    const Hardest& h = hard[a];
    if (h.pos < 0 || h.neg < 0) continue;
    const double gap = static_cast<double>(h.pos_d) - h.neg_d;
    if (p.soft_margin) {
      loss += softplus64(gap);
      slope[a] = sigmoid64(gap);
    } else if (gap + p.margin > 0) {
      loss += gap + p.margin;
      slope[a] = 1;
    } else {
      continue;
    }
    ++active;
  }
  // G has two entries per anchor: scatter (fn_a - fn_x) / d into rows a and x, in anchor order.
  out.q.assign(static_cast<size_t>(t.rows) * t.ld, 0.0f);
  auto pull = [&](int64_t a, int64_t x, float d, double w) {
    if (!(d > 0.0f) || w == 0) return;
    const float c = static_cast<float>(w / active) / d;
    for (int32_t k = 0; k < t.dim; ++k) {
      const float diff = c * (t.fn[a * t.ld + k] - t.fn[x * t.ld + k]);
      out.q[a * t.ld + k] += diff;
      out.q[x * t.ld + k] -= diff;
    }
  };
  for (int64_t a = 0; a < t.n; ++a) {
    pull(a, hard[a].pos, hard[a].pos_d, slope[a]);
    pull(a, hard[a].neg, hard[a].neg_d, -slope[a]);
  }
  return active ? loss / active : 0.0;
}

// ---- orthogonal projection loss (spec E.6): class sums, no pair sweep ----

double orthogonal_projection(const PairSets& ps, const PairParams& p, Gradients& out) {
  const TileSet& t = ps.q;
  const int64_t n = t.n, ld = t.ld;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return t.labels[a] < t.labels[b]; });
  std::vector<int64_t> group(n);
  std::vector<int64_t> sizes;
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || t.labels[order[k]] != t.labels[order[k - 1]]) sizes.push_back(0);
    group[order[k]] = static_cast<int64_t>(sizes.size()) - 1;
    ++sizes.back();
  }
  std::vector<double> class_sum(sizes.size() * ld), total(ld);
  double self = 0;  // sum_i ||fn_i||^2 in double, as the class sums: a singleton class cancels
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < t.dim; ++d) {
      const double v = t.fn[i * ld + d];
      class_sum[group[i] * ld + d] += v;
      total[d] += v;
      self += v * v;
    }
  }
  double class_sq = 0, total_sq = 0, pos_n = 0, same_n = 0;
  for (size_t c = 0; c < sizes.size(); ++c) {
    for (int64_t d = 0; d < t.dim; ++d) class_sq += class_sum[c * ld + d] * class_sum[c * ld + d];
    pos_n += static_cast<double>(sizes[c]) * (sizes[c] - 1);
    same_n += static_cast<double>(sizes[c]) * sizes[c];
  }
  for (int64_t d = 0; d < t.dim; ++d) total_sq += total[d] * total[d];
  const double neg_n = static_cast<double>(n) * n - same_n;
  const double pos_den = pos_n + 1e-6, neg_den = neg_n + 1e-6;
  out.q.assign(static_cast<size_t>(t.rows) * ld, 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < t.dim; ++d) {
      const double mc = class_sum[group[i] * ld + d];
      out.q[i * ld + d] = static_cast<float>(-2 * (mc - t.fn[i * ld + d]) / pos_den +
                                             2 * p.gamma * (total[d] - mc) / neg_den);
    }
  return 1 - (class_sq - self) / pos_den + p.gamma * (total_sq - class_sq) / neg_den;
}

double run_loss(const PairSets& ps, const PairParams& p, Gradients& g) {
  switch (p.loss) {
    case PairLoss::MultiSimilarity:
      return multi_similarity(ps, p, g);
    case PairLoss::Contrastive:
      return contrastive(ps, p, g);
    case PairLoss::TripletBatchHard:
      return triplet_batch_hard(ps, p, g);
    case PairLoss::Circle:
      return circle(ps, p, g);
    case PairLoss::SupCon:
      return supcon(ps, p, g);
    case PairLoss::NtXent:
      return ntxent(ps, p, g);
    default:
      return orthogonal_projection(ps, p, g);
  }
}

}  // namespace

Status pair_loss_cpu(const PairProblem& pb, const PairParams& p, double* loss, float* grad,
                     float* ref_grad) {
  PairSets ps;
  ps.cross = pb.ref != nullptr;
  Status st = tile_set(pb.x, pb.labels, pb.n, pb.dim, pb.normalize, ps.q);
  if (!st.ok()) return st;
  if (ps.cross) {
    st = tile_set(pb.ref, pb.ref_labels, pb.m, pb.dim, pb.normalize, ps.r);
    if (!st.ok()) return Status{Fault::ReferenceNotFinite, st.index, st.value, {}};
  }
  *loss = 0;
  if (pb.n == 0 || (ps.cross && pb.m == 0)) {
    std::fill(grad, grad + pb.n * pb.dim, 0.0f);
    if (ps.cross) std::fill(ref_grad, ref_grad + pb.m * pb.dim, 0.0f);
    return Status{};
  }
  Gradients g;
  *loss = run_loss(ps, p, g);
  normalisation_backward(ps.q, g.q.data(), grad);
  if (ps.cross) normalisation_backward(ps.r, g.r.data(), ref_grad);
  return Status{};
}

}  // namespace fl
