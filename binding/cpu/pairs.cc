// CPU kernels of the pairwise family (formulas E). Each loss is a few sweeps over the tiles of S
// (pair_tiles.h): reduction sweeps fill per-row statistics (mining extremes, LSEs, counts), the
// per-row and batch scalars follow in row order, and a weight sweep turns each recomputed tile
// into G (pairs_math.h) and accumulates it. Batch-hard triplet, whose G has two entries per row,
// and OPL, which needs only class sums (formulas E.6), skip the weight sweep.
#include "fusedloss/pairs.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numeric>
#include <vector>

#include "fusedloss/pairs_math.h"
#include "pair_ms.h"
#include "pair_sweeps.h"

namespace fl {
namespace {

// Runs row(i, s_row, j0, cols) over every valid row of every tile of S (queries by reference),
// S of T (kWideSim).
template <class T = float, class Row>
void reduce_sweep(const PairSets& ps, Row row) {
  sweep_tiles<T>(ps.q, ps.ref(), [&](int64_t i0, int64_t j0, const T* s) {
    FL_ISA_CALL(for_tile_rows(ps, i0, j0, s, row));
  });
}

// Two reduce sweeps whose second reads only the first's statistics of its own row: S computed
// once for both.
template <class T, class First, class Second>
void reduce_sweeps(const PairSets& ps, First first, Second second) {
  sweep_tiles_twice<T>(
      ps.q, ps.ref(),
      [&](int64_t i0, int64_t j0, const T* s) { FL_ISA_CALL(for_tile_rows(ps, i0, j0, s, first)); },
      [&](int64_t i0, int64_t j0, const T* s) {
        FL_ISA_CALL(for_tile_rows(ps, i0, j0, s, second));
      });
}

struct Gradients {
  std::vector<float> q, r;  // d loss / d fn, rows x ld
};

// The weight sweeps of a loss whose G is g(i, j, s): queries, then (cross-batch) the reference.
template <class T = float, class G>
void weight_pass(const PairSets& ps, G g, bool distance, Gradients& out) {
  const auto w = weight_sweeps<T>(ps, g);
  w.run(ps.q, ps.ref(), out.q, distance);
  if (ps.cross) w.run(ps.r, ps.q, out.r, distance);
}

// ---- Multi-Similarity (formulas E.1) ----

// One half's LSE, with its implicit zero logit, started at the largest logit it will see: `top`,
// the logit of its extreme pair (the logits are monotone in S, and the extreme is mined whenever
// any pair is), so each mined pair adds exp(logit - max) with one exponential and no rescaling.
Lse ms_half(bool any, double top) {
  const double max = any ? max_of(top, 0.0) : 0.0;
  return Lse{max, std::exp(-max), any};
}

// T: the precision of S (kWideSim), as for every loss below whose logits scale S.
template <class T>
double multi_similarity(const PairSets& ps, const PairParams& p, Gradients& out) {
  const MsConstantsOf<T> c = ms_constants<T>(p);
  const int64_t n = ps.q.n;
  std::vector<MsRowOf<T>> rows(n, MsRowOf<T>{INFINITY, -INFINITY, 0, 0, 0, 0});
  std::vector<Lse> pos(n), neg(n);
  reduce_sweeps<T>(
      ps,
      [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
        const RowKinds kind = ps.kinds(i, j0);
        ms_fixed_flags(c, [&](const MsConstantsOf<T>& c) FL_LAMBDA_INLINE {
          // Through local arrays: the selects in lane_max's lanes kept it scalar.
          T pos_s[kTile], neg_s[kTile];
          for (int k = 0; k < cols; ++k) {
            pos_s[k] = ms_positive(s[k], kind(k), c) ? -s[k] : T(-INFINITY);
            neg_s[k] = is_negative(kind(k)) ? s[k] : T(-INFINITY);
          }
          const T lo = -lanes_max<T>(cols, [&](int k) { return pos_s[k]; });
          const T hi = lanes_max<T>(cols, [&](int k) { return neg_s[k]; });
          rows[i].min_positive = min_of(rows[i].min_positive, lo);
          rows[i].max_negative = max_of(rows[i].max_negative, hi);
        });
      },
      [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
        // Locals, not loads under the selects below (GCC would not vectorise those).
        const MsRowOf<T> r = rows[i];
        if (j0 == 0) {
          pos[i] = ms_half(ms_positive_any(r.min_positive, r.max_negative, c),
                           ms_positive_logit(r.min_positive, c));
          neg[i] = ms_half(ms_negative_any(r.max_negative, r.min_positive, c),
                           ms_negative_logit(r.max_negative, c));
        }
        const T top_pos = static_cast<T>(pos[i].max), top_neg = static_cast<T>(neg[i].max);
        const RowKinds kind = ps.kinds(i, j0);
        double sums[2];
        ms_fixed_flags(c, [&](const MsConstantsOf<T>& c) FL_LAMBDA_INLINE {
          // 16 lanes: one zmm in the AVX-512 clone (8 took a fifth more time in this pass).
          nonneg_sums<2, 2 * kLanes>(
              cols,
              [&](int k, float(&t)[2]) FL_LAMBDA_INLINE {
                const bool positive =
                    ms_positive(s[k], kind(k), c) & ms_positive_mined(s[k], r.max_negative, c);
                const bool negative =
                    is_negative(kind(k)) & ms_negative_mined(s[k], r.min_positive, c);
                const T x = positive ? ms_positive_logit(s[k], c) - top_pos
                                     : ms_negative_logit(s[k], c) - top_neg;
                const float e = exp_capped(x);
                t[0] = positive ? e : 0.0f;
                t[1] = negative ? e : 0.0f;
              },
              sums);
        });
        pos[i].sum += sums[0];
        neg[i].sum += sums[1];
      });
  const int64_t count = mean_count(ps.row_loss, n);
  const float inv_n = 1.0f / static_cast<float>(count);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term = ms_row(pos[i], neg[i], p, inv_n, rows[i]);
    store_row_loss(ps.row_loss, i, term);
    loss += term;
  }
  MsSymmetric sym;
  if constexpr (!kWideSim<T>) {
    if (!ps.cross && ms_symmetric(rows, c, ps.q.labels, sym)) {
      gradient_sweep_symmetric(ps.q, out.q, [&](int64_t i0, int64_t j0, float* s) {
        FL_ISA_CALL(ms_weigh_symmetric(sym, i0, j0, s));
      });
      return loss / static_cast<double>(count);
    }
  }
  weight_pass<T>(
      ps,
      [&](int64_t i, int64_t, T s, PairKind kind)
          FL_LAMBDA_INLINE { return ms_weight(rows[i], s, kind, c); },
      false, out);
  return loss / static_cast<double>(count);
}

// ---- contrastive (formulas E.2) ----

double contrastive(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const TileSet& ref = ps.ref();
  std::vector<double> pos_sum(n), neg_sum(n);
  std::vector<int64_t> pos_count(n), neg_count(n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    float d[kTile];
    distance_row(ps.q, i, ref, j0, cols, s, d);
    auto term = [&](int k, bool positive) {
      const PairKind pk = kind(k);
      const float t = contrastive_term(d[k], pk, p);
      return (positive ? is_positive(pk) : is_negative(pk)) ? t : 0.0f;
    };
    pos_sum[i] += nonneg_sum(cols, [&](int k) { return term(k, true); });
    neg_sum[i] += nonneg_sum(cols, [&](int k) { return term(k, false); });
    pos_count[i] += lane_count(cols, [&](int k) { return term(k, true) > 0.0f; });
    neg_count[i] += lane_count(cols, [&](int k) { return term(k, false) > 0.0f; });
  });
  const int64_t np = std::accumulate(pos_count.begin(), pos_count.end(), int64_t{0});
  const int64_t nn = std::accumulate(neg_count.begin(), neg_count.end(), int64_t{0});
  const double inv_pos = inverse_count(mean_count(ps.row_loss, np));
  const double inv_neg = inverse_count(mean_count(ps.row_loss, nn));
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term = pos_sum[i] * inv_pos + neg_sum[i] * inv_neg;
    store_row_loss(ps.row_loss, i, term);
    loss += term;
  }
  const float ip = static_cast<float>(inv_pos), in = static_cast<float>(inv_neg);
  weight_pass(
      ps,
      [&](int64_t, int64_t, float d, PairKind kind)
          FL_LAMBDA_INLINE { return contrastive_weight(d, kind, p, ip, in); },
      true, out);
  return loss;
}

// ---- circle loss (formulas E.4) ----

template <class T>
double circle(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const T m = static_cast<T>(p.m), gamma = static_cast<T>(p.gamma);
  std::vector<OnlineLse> pos(n), neg(n);
  reduce_sweep<T>(ps, [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    auto logit = [&](int k) { return circle_logit(s[k], kind(k), m, gamma); };
    pos[i].add(
        cols, [&](int k) { return is_positive(kind(k)); }, logit);
    neg[i].add(
        cols, [&](int k) { return is_negative(kind(k)); }, logit);
  });
  std::vector<CircleRowOf<T>> rows(n, CircleRowOf<T>{0, 0, 0});
  int64_t active = 0;
  for (int64_t i = 0; i < n; ++i) active += circle_active(pos[i], neg[i]);
  active = mean_count(ps.row_loss, active);
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term = circle_row(pos[i], neg[i], active, rows[i]);
    store_row_loss(ps.row_loss, i, term);
    loss += term;
  }
  weight_pass<T>(
      ps,
      [&](int64_t i, int64_t, T s, PairKind kind)
          FL_LAMBDA_INLINE { return circle_weight(rows[i], s, kind, m, gamma); },
      false, out);
  return active ? loss / active : 0.0;
}

// ---- SupCon (formulas E.5) ----

template <class T>
double supcon(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const T inv_tau = static_cast<T>(1.0 / p.temperature);
  std::vector<OnlineLse> all(n);
  std::vector<double> pos_sum(n);
  std::vector<int64_t> pos_count(n);
  reduce_sweep<T>(ps, [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    all[i].add(
        cols, [&](int k) { return !kind(k).self; }, [&](int k) { return s[k] * inv_tau; });
    auto positive = [&](int k) { return is_positive(kind(k)); };
    auto term = [&](int k) { return positive(k) ? s[k] : T(0); };
    // Signed terms in nonneg_sum's float blocks (16 terms of at most the row norms each); a double
    // S in double lanes, since the loss is its LSE minus this sum, which cancel.
    if constexpr (kWideSim<T>)
      pos_sum[i] += lane_sum_of(cols, term);
    else
      pos_sum[i] += nonneg_sum(cols, term);
    pos_count[i] += lane_count(cols, positive);
  });
  int64_t active = 0;
  for (int64_t i = 0; i < n; ++i) active += pos_count[i] > 0;
  active = mean_count(ps.row_loss, supcon_count(p, active, n));
  std::vector<SupConRowOf<T>> rows(n, SupConRowOf<T>{0, 0, 0});
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term = supcon_row(all[i], pos_sum[i], pos_count[i], active, p, rows[i]);
    store_row_loss(ps.row_loss, i, term);
    loss += term;
  }
  weight_pass<T>(
      ps,
      [&](int64_t i, int64_t, T s, PairKind kind)
          FL_LAMBDA_INLINE { return supcon_weight(rows[i], s, kind, inv_tau); },
      false, out);
  return active ? loss / active : 0.0;
}

// ---- NT-Xent (formulas E.5) ----

template <class T>
double ntxent(const PairSets& ps, const PairParams& p, Gradients& out) {
  const int64_t n = ps.q.n;
  const T inv_tau = static_cast<T>(1.0 / p.temperature);
  std::vector<OnlineLse> neg(n);
  std::vector<int64_t> pos_count(n);
  reduce_sweep<T>(ps, [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    neg[i].add(
        cols, [&](int k) { return is_negative(kind(k)); }, [&](int k) { return s[k] * inv_tau; });
    pos_count[i] += lane_count(cols, [&](int k) { return is_positive(kind(k)); });
  });
  std::vector<NtXentRowOf<T>> rows(n);
  for (int64_t i = 0; i < n; ++i) rows[i] = NtXentRowOf<T>{row_lse<T>(neg[i]), 0, 0};
  std::vector<double> pair_loss(n);
  reduce_sweep<T>(ps, [&](int64_t i, const T* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    if (!(rows[i].lse_negative > -INFINITY)) return;
    auto pair = [&](int k) {
      const bool pos = is_positive(kind(k));
      const SigmoidSoftplus t =
          sigmoid_softplus(static_cast<float>(ntxent_pair_logit(rows[i], s[k], inv_tau)));
      return SigmoidSoftplus{pos ? t.sigmoid : 0.0f, pos ? t.softplus : 0.0f};
    };
    rows[i].pull += static_cast<float>(nonneg_sum(cols, [&](int k) { return pair(k).sigmoid; }));
    pair_loss[i] += nonneg_sum(cols, [&](int k) { return pair(k).softplus; });
  });
  const int64_t pairs =
      mean_count(ps.row_loss, std::accumulate(pos_count.begin(), pos_count.end(), int64_t{0}));
  double loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    store_row_loss(ps.row_loss, i, pair_loss[i]);
    loss += pair_loss[i];
    rows[i].coef = ntxent_coef(p, pairs);
  }
  weight_pass<T>(
      ps,
      [&](int64_t i, int64_t, T s, PairKind kind)
          FL_LAMBDA_INLINE { return ntxent_weight(rows[i], s, kind, inv_tau); },
      false, out);
  return pairs ? loss / pairs : 0.0;
}

// ---- batch-hard triplet (formulas E.3) ----

double triplet_batch_hard(const PairSets& ps, const PairParams& p, Gradients& out) {
  const TileSet& t = ps.q;
  std::vector<Hardest> hard(t.n);
  reduce_sweep(ps, [&](int64_t i, const float* s, int64_t j0, int cols) FL_LAMBDA_INLINE {
    const RowKinds kind = ps.kinds(i, j0);
    Hardest& h = hard[i];
    float d[kTile];
    distance_row(t, i, t, j0, cols, s, d);
    for (int k = 0; k < cols; ++k) h.add(d[k], j0 + k, kind(k));
  });
  // Loss and dL/d(d+) per anchor; anchors counted: a positive and a negative, and a positive
  // loss (every one, with the soft margin).
  std::vector<double> slope(t.n);
  int64_t active = 0;
  double loss = 0;
  for (int64_t a = 0; a < t.n; ++a) {
    double l = 0;
    const bool counted = triplet_anchor(hard[a], p, &l, &slope[a]);
    store_row_loss(ps.row_loss, a, l);
    if (!counted) continue;
    loss += l;
    ++active;
  }
  active = active ? mean_count(ps.row_loss, active) : 0;
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

// ---- orthogonal projection loss (formulas E.6): class sums, no pair sweep ----

double orthogonal_projection(const PairSets& ps, const PairParams& p, Gradients& out) {
  const TileSet& t = ps.q;
  const int64_t n = t.n, ld = t.ld;
  const LabelGroups g = label_groups(t.labels, n);
  std::vector<double> class_sum(g.sizes.size() * ld), total(ld);
  OplSums sums = opl_counts(g);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t d = 0; d < t.dim; ++d) {
      const double v = t.fn[i * ld + d];
      class_sum[g.group[i] * ld + d] += v;
      total[d] += v;
      sums.self += v * v;  // in double, as the class sums: a singleton class cancels
    }
  }
  for (size_t c = 0; c < g.sizes.size(); ++c)
    for (int64_t d = 0; d < t.dim; ++d)
      sums.class_sq += class_sum[c * ld + d] * class_sum[c * ld + d];
  for (int64_t d = 0; d < t.dim; ++d) sums.total_sq += total[d] * total[d];
  const OplScales k = opl_scales(sums, n);
  out.q.assign(static_cast<size_t>(t.rows) * ld, 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < t.dim; ++d)
      out.q[i * ld + d] = static_cast<float>(
          opl_grad(class_sum[g.group[i] * ld + d], total[d], t.fn[i * ld + d], k, p.gamma));
  return opl_loss(sums, k, p.gamma);
}

// The losses whose logits scale S take it in double when the rows are unnormalised (kWideSim).
template <class T>
double run_loss(const PairSets& ps, const PairParams& p, Gradients& g) {
  switch (p.loss) {
    case PairLoss::MultiSimilarity:
      return multi_similarity<T>(ps, p, g);
    case PairLoss::Contrastive:
      return contrastive(ps, p, g);
    case PairLoss::TripletBatchHard:
      return triplet_batch_hard(ps, p, g);
    case PairLoss::Circle:
      return circle<T>(ps, p, g);
    case PairLoss::SupCon:
      return supcon<T>(ps, p, g);
    case PairLoss::NtXent:
      return ntxent<T>(ps, p, g);
    default:
      return orthogonal_projection(ps, p, g);
  }
}

}  // namespace

LabelGroups label_groups(const int32_t* labels, int64_t n) {
  LabelGroups g;
  g.order.resize(n);
  g.group.resize(n);
  std::iota(g.order.begin(), g.order.end(), 0);
  std::stable_sort(g.order.begin(), g.order.end(),
                   [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  for (int64_t k = 0; k < n; ++k) {
    if (k == 0 || labels[g.order[k]] != labels[g.order[k - 1]]) g.sizes.push_back(0);
    g.group[g.order[k]] = static_cast<int64_t>(g.sizes.size()) - 1;
    ++g.sizes.back();
  }
  return g;
}

Status pair_input_fault(const PairProblem& pb) {
  auto first = [&](const float* x, int64_t rows, Fault not_finite, Fault too_long) {
    for (int64_t k = 0; k < rows * pb.dim; ++k)
      if (!(std::fabs(x[k]) <= FLT_MAX)) return Status::at(not_finite, k, x[k]);
    for (int64_t r = 0; r < rows && !pb.normalize; ++r) {
      const float* f = x + r * pb.dim;
      double norm2 = 0;
      for (int32_t d = 0; d < pb.dim; ++d) norm2 += static_cast<double>(f[d]) * f[d];
      if (!row_usable(false, norm2)) return Status::at(too_long, r, std::sqrt(norm2));
    }
    return Status{};
  };
  const Status st = first(pb.x, pb.n, Fault::ScoreNotFinite, Fault::RowNormTooLarge);
  return st.ok() && pb.ref
             ? first(pb.ref, pb.m, Fault::ReferenceNotFinite, Fault::ReferenceRowNormTooLarge)
             : st;
}

Status pair_loss_cpu(const PairProblem& pb, const PairParams& p, double* loss, float* grad,
                     float* ref_grad) {
  PairSets ps;
  ps.cross = pb.ref != nullptr;
  const bool finite =
      tile_set(pb.x, pb.labels, pb.n, pb.dim, pb.normalize, ps.q) &&
      (!ps.cross || tile_set(pb.ref, pb.ref_labels, pb.m, pb.dim, pb.normalize, ps.r));
  if (!finite) return pair_input_fault(pb);
  *loss = 0;
  ps.row_loss = pb.row_loss;
  if (pb.row_loss) std::fill(pb.row_loss, pb.row_loss + pb.n, 0.0f);
  if (pb.n == 0 || (ps.cross && pb.m == 0)) {
    std::fill(grad, grad + pb.n * pb.dim, 0.0f);
    if (ps.cross) std::fill(ref_grad, ref_grad + pb.m * pb.dim, 0.0f);
    return Status{};
  }
  Gradients g;
  if (pb.given)
    *loss = given_pairs_cpu(ps.q, *pb.given, p, pb.row_loss, g.q);
  else
    *loss = pb.normalize ? run_loss<float>(ps, p, g) : run_loss<double>(ps, p, g);
  normalisation_backward(ps.q, g.q.data(), grad);
  if (ps.cross) normalisation_backward(ps.r, g.r.data(), ref_grad);
  return Status{};
}

}  // namespace fl
