// Given pairs and triplets (formulas E.8; fusedloss/pair_given.h): the host steps every backend
// shares (the loss and each pair's weight from the pairs' similarities and distances, the rows'
// incidence lists) and the CPU pass: the given pairs' S and d in parallel over pairs, then each
// row's gradient over its incidence list in parallel over rows.
#include "fusedloss/pair_given.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "fusedloss/pairs_math.h"
#include "pair_tiles.h"

namespace fl {
namespace {

constexpr PairKind kPositive{true, false}, kNegative{false, false};

// One half's distinct pairs by row (the set a mask of the given pairs holds, as
// pytorch-metric-learning's matrix-based losses build it): k[off[i]] .. k[off[i + 1] - 1] are row
// i's, each the first entry of its pair.
struct RowPairs {
  std::vector<int64_t> off, k;
  int64_t begin(int64_t i) const { return off[i]; }
  int64_t end(int64_t i) const { return off[i + 1]; }
};

RowPairs distinct_by_row(const GivenPairs& g, int64_t begin, int64_t end, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(end - begin));
  std::iota(order.begin(), order.end(), begin);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    if (g.row(a) != g.row(b)) return g.row(a) < g.row(b);
    return g.col(a) != g.col(b) ? g.col(a) < g.col(b) : a < b;
  });
  RowPairs r;
  r.off.assign(static_cast<size_t>(n) + 1, 0);
  for (size_t e = 0; e < order.size(); ++e) {
    const int64_t k = order[e], prev = e ? order[e - 1] : -1;
    if (prev >= 0 && g.row(prev) == g.row(k) && g.col(prev) == g.col(k)) continue;
    r.k.push_back(k);
    ++r.off[g.row(k) + 1];
  }
  std::partial_sum(r.off.begin(), r.off.end(), r.off.begin());
  return r;
}

// The row terms out (their sum in row order), as the tile kernels add them.
double store_rows(const std::vector<double>& rows, float* row_loss) {
  double loss = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    store_row_loss(row_loss, static_cast<int64_t>(i), rows[i]);
    loss += rows[i];
  }
  return loss;
}

// Formulas E.1 over each row's distinct given pairs: mined as the labels' pairs would be.
double multi_similarity(const GivenPairs& g, int64_t n, const PairParams& p, const double* s,
                        float* row_loss, std::vector<float>& w) {
  const MsConstantsOf<double> c = ms_constants<double>(p);
  const RowPairs P = distinct_by_row(g, 0, g.positives, n);
  const RowPairs N = distinct_by_row(g, g.positives, g.size(), n);
  const double b = static_cast<double>(mean_count(row_loss, n));
  std::vector<double> rows(n);
  for (int64_t i = 0; i < n; ++i) {
    double min_p = INFINITY, max_n = -INFINITY;
    for (int64_t e = P.begin(i); e < P.end(i); ++e)
      if (ms_positive(s[P.k[e]], kPositive, c)) min_p = std::min(min_p, s[P.k[e]]);
    for (int64_t e = N.begin(i); e < N.end(i); ++e) max_n = std::max(max_n, s[N.k[e]]);
    auto kept_pos = [&](int64_t k) {
      return ms_positive(s[k], kPositive, c) && ms_positive_mined(s[k], max_n, c);
    };
    auto kept_neg = [&](int64_t k) { return ms_negative_mined(s[k], min_p, c); };
    Lse lp = Lse::with_zero(), ln = Lse::with_zero();
    for (int64_t e = P.begin(i); e < P.end(i); ++e)
      if (kept_pos(P.k[e])) lp.add(ms_positive_logit(s[P.k[e]], c));
    for (int64_t e = N.begin(i); e < N.end(i); ++e)
      if (kept_neg(N.k[e])) ln.add(ms_negative_logit(s[N.k[e]], c));
    if (p.semantics == MsSemantics::Paper && !(lp.any && ln.any)) continue;
    const double lpv = lp.value(), lnv = ln.value();
    rows[i] = lpv / p.alpha + lnv / p.beta;
    for (int64_t e = P.begin(i); e < P.end(i); ++e)
      if (kept_pos(P.k[e]))
        w[P.k[e]] = static_cast<float>(-std::exp(ms_positive_logit(s[P.k[e]], c) - lpv) / b);
    for (int64_t e = N.begin(i); e < N.end(i); ++e)
      if (kept_neg(N.k[e]))
        w[N.k[e]] = static_cast<float>(std::exp(ms_negative_logit(s[N.k[e]], c) - lnv) / b);
  }
  return store_rows(rows, row_loss) / b;
}

// Formulas E.2 over the given pairs, each repeat a term of its own (pytorch-metric-learning's
// pair-based form): each half the mean over its non-zero terms.
double contrastive(const GivenPairs& g, int64_t n, const PairParams& p, const float* d,
                   float* row_loss, std::vector<float>& w) {
  int64_t np = 0, nn = 0;
  for (int64_t k = 0; k < g.size(); ++k) {
    const bool pos = g.positive(k);
    if (contrastive_term(d[k], pos ? kPositive : kNegative, p) > 0.0f) ++(pos ? np : nn);
  }
  const double inv_pos = inverse_count(mean_count(row_loss, np));
  const double inv_neg = inverse_count(mean_count(row_loss, nn));
  std::vector<double> rows(n);
  for (int64_t k = 0; k < g.size(); ++k) {
    const PairKind kind = g.positive(k) ? kPositive : kNegative;
    rows[g.row(k)] += contrastive_term(d[k], kind, p) * (g.positive(k) ? inv_pos : inv_neg);
    w[k] =
        contrastive_weight(d[k], kind, p, static_cast<float>(inv_pos), static_cast<float>(inv_neg));
  }
  return store_rows(rows, row_loss);
}

// Formulas E.3 on the given triplets (a, p, n) = entries k and positives + k: [m + d_ap - d_an]_+
// (or the soft margin), mean over the triplets with a positive loss.
double triplets(const GivenPairs& g, int64_t n, const PairParams& p, const float* d,
                float* row_loss, std::vector<float>& w) {
  const int64_t t = g.positives;
  std::vector<double> loss(t), slope(t);
  std::vector<char> counted(t);
  int64_t active = 0;
  for (int64_t k = 0; k < t; ++k) {
    Hardest h;
    h.pos_d = d[k], h.neg_d = d[t + k], h.pos = g.p[k], h.neg = g.n[k];
    counted[k] = triplet_anchor(h, p, &loss[k], &slope[k]);
    active += counted[k];
  }
  active = active ? mean_count(row_loss, active) : 0;
  std::vector<double> rows(n);
  for (int64_t k = 0; k < t; ++k) {
    if (!counted[k]) continue;
    rows[g.a1[k]] += loss[k] / static_cast<double>(active);
    // dL/dd_ap = slope / active and dL/dd_an = -slope / active; w is the factor of fn_j - fn_i.
    const double c = slope[k] / static_cast<double>(active);
    w[k] = d[k] > 0.0f ? static_cast<float>(-c / d[k]) : 0.0f;
    w[t + k] = d[t + k] > 0.0f ? static_cast<float>(c / d[t + k]) : 0.0f;
  }
  return store_rows(rows, row_loss);
}

// Formulas E.4 over each row's distinct given pairs; a row counts with a positive and a negative.
double circle(const GivenPairs& g, int64_t n, const PairParams& p, const double* s, float* row_loss,
              std::vector<float>& w) {
  const RowPairs P = distinct_by_row(g, 0, g.positives, n);
  const RowPairs N = distinct_by_row(g, g.positives, g.size(), n);
  int64_t active = 0;
  for (int64_t i = 0; i < n; ++i) active += P.end(i) > P.begin(i) && N.end(i) > N.begin(i);
  active = active ? mean_count(row_loss, active) : 0;
  std::vector<double> rows(n);
  auto logit = [&](int64_t k, PairKind kind) { return circle_logit(s[k], kind, p.m, p.gamma); };
  for (int64_t i = 0; i < n; ++i) {
    if (!(P.end(i) > P.begin(i) && N.end(i) > N.begin(i))) continue;
    Lse lp, ln;
    for (int64_t e = P.begin(i); e < P.end(i); ++e) lp.add(logit(P.k[e], kPositive));
    for (int64_t e = N.begin(i); e < N.end(i); ++e) ln.add(logit(N.k[e], kNegative));
    const double z = lp.value() + ln.value();
    rows[i] = softplus64(z);
    const double coef = sigmoid64(z) / static_cast<double>(active);
    auto weigh = [&](const RowPairs& half, const Lse& l, PairKind kind) {
      const SplitLse lse = row_lse<double>(l);
      for (int64_t e = half.begin(i); e < half.end(i); ++e) {
        const int64_t k = half.k[e];
        const double slope = circle_slope(s[k], kind, p.m);
        w[k] = static_cast<float>(coef * p.gamma * slope * std::exp(logit(k, kind) - lse));
      }
    };
    weigh(P, lp, kPositive);
    weigh(N, ln, kNegative);
  }
  return active ? store_rows(rows, row_loss) / static_cast<double>(active) : 0.0;
}

}  // namespace

double given_pair_loss(const GivenPairs& g, int64_t n, const PairParams& p, const double* s,
                       const float* d, float* row_loss, std::vector<float>& w) {
  w.assign(static_cast<size_t>(g.size()), 0.0f);
  switch (p.loss) {
    case PairLoss::MultiSimilarity:
      return multi_similarity(g, n, p, s, row_loss, w);
    case PairLoss::Contrastive:
      return contrastive(g, n, p, d, row_loss, w);
    case PairLoss::TripletBatchHard:
      return triplets(g, n, p, d, row_loss, w);
    default:
      return circle(g, n, p, s, row_loss, w);
  }
}

PairIncidence pair_incidence(const GivenPairs& g, int64_t n) {
  PairIncidence inc;
  inc.offsets.assign(static_cast<size_t>(n) + 1, 0);
  for (int64_t k = 0; k < g.size(); ++k) ++inc.offsets[g.row(k) + 1], ++inc.offsets[g.col(k) + 1];
  std::partial_sum(inc.offsets.begin(), inc.offsets.end(), inc.offsets.begin());
  std::vector<int64_t> next(inc.offsets.begin(), inc.offsets.end() - 1);
  inc.pair.resize(static_cast<size_t>(inc.offsets[n]));
  inc.other.resize(inc.pair.size());
  auto put = [&](int32_t r, int64_t k, int32_t other) {
    inc.pair[next[r]] = k;
    inc.other[next[r]++] = other;
  };
  for (int64_t k = 0; k < g.size(); ++k) {
    put(g.row(k), k, g.col(k));
    put(g.col(k), k, g.row(k));
  }
  return inc;
}

double given_pairs_cpu(const TileSet& t, const GivenPairs& g, const PairParams& p, float* row_loss,
                       std::vector<float>& acc) {
  const int64_t pairs = g.size();
  const int32_t ld = t.ld;
  std::vector<double> s(pairs);
  std::vector<float> d(pairs);
  parallel_chunks(pairs, 1024, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const int32_t i = g.row(k), j = g.col(k);
      const float *fi = t.fn.data() + int64_t{i} * ld, *fj = t.fn.data() + int64_t{j} * ld;
      double dot = 0;
      for (int32_t c = 0; c < t.dim; ++c) dot += static_cast<double>(fi[c]) * fj[c];
      s[k] = dot;
      d[k] = pair_distance(static_cast<float>(dot), t.q[i], t.q[j], fi, fj, t.dim);
    }
  });
  std::vector<float> w;
  const double loss = given_pair_loss(g, t.n, p, s.data(), d.data(), row_loss, w);
  const PairIncidence inc = pair_incidence(g, t.n);
  const float delta = given_distance(p) ? 1.0f : 0.0f;
  acc.assign(static_cast<size_t>(t.rows) * ld, 0.0f);
  parallel_chunks(t.n, 64, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      float* out = acc.data() + r * ld;
      const float* fr = t.fn.data() + r * ld;
      for (int64_t x = inc.offsets[r]; x < inc.offsets[r + 1]; ++x) {
        const float wk = w[inc.pair[x]];
        const float* fo = t.fn.data() + int64_t{inc.other[x]} * ld;
        if (wk != 0.0f)
          for (int32_t c = 0; c < t.dim; ++c) out[c] += wk * (fo[c] - delta * fr[c]);
      }
    }
  });
  return loss;
}

}  // namespace fl
