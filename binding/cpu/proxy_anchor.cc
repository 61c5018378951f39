// ProxyAnchor on the CPU (formulas M.1), on the pairwise family's tile engine (pair_tiles.h): the
// proxies are the row side of the S tiles (a class tile each), the embeddings the column side, so
// a class tile owns its classes' statistics and gradient rows and visits the row tiles in order.
//
// Sweep 1 (sweep_tiles_twice, class tiles in parallel): each class's online log-sum-exp over its
// positive and its negative pairs; the class step (proxy_anchor_classes, on the host in class
// order) turns them into the loss and per-class constants; then the same strip of S, kept, becomes
// the weight tile dL/dS, accumulated into dL/d(normalised proxies). Sweep 2 (gradient_sweep, row
// tiles of the embeddings against the proxies) recomputes S^T into dL/d(normalised embeddings).
// Every sum has a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fusedloss/proxy.h"
#include "pair_tiles.h"
#include "parallel.h"

namespace fl {
namespace {

// Class tile c0 (rows of s) against embeddings j0.. (columns): each class's positive and negative
// exponents merged into its two Lse, a tile maximum and a float sum at a time.
void class_stats_tile(const float* s, int nc, const TileSet& x, int64_t c0, int64_t j0, float alpha,
                      float margin, Lse* pos, Lse* neg) {
  const int nr = tile_rows(x, j0);
  const int32_t* labels = x.labels + j0;
  for (int c = 0; c < nc; ++c) {
    const float* row = s + c * kTile;
    const int32_t cls = static_cast<int32_t>(c0 + c);
    float pmax = -INFINITY, nmax = -INFINITY;
    for (int r = 0; r < nr; ++r) {
      const bool p = labels[r] == cls;
      const float z = proxy_anchor_logit(row[r], p, alpha, margin);
      if (p)
        pmax = std::max(pmax, z);
      else
        nmax = std::max(nmax, z);
    }
    float psum = 0, nsum = 0;
    for (int r = 0; r < nr; ++r) {
      const bool p = labels[r] == cls;
      const float z = proxy_anchor_logit(row[r], p, alpha, margin);
      if (p)
        psum += std::exp(z - pmax);
      else
        nsum += std::exp(z - nmax);
    }
    if (psum > 0) pos[c0 + c].merge(Lse{pmax, psum, true});
    if (nsum > 0) neg[c0 + c].merge(Lse{nmax, nsum, true});
  }
}

// s (class rows a.., embedding columns b..) becomes dL/dS in place, 0 past the valid entries.
void class_weight_tile(float* s, const TileSet& a, int64_t a0, const TileSet& b, int64_t b0,
                       const int32_t* labels, bool classes_are_rows, const ProxyAnchorClass* coef,
                       float alpha, float margin) {
  const int na = tile_rows(a, a0), nb = tile_rows(b, b0);
  for (int i = 0; i < kTile; ++i) {
    float* row = s + i * kTile;
    if (i >= na) {
      std::fill(row, row + kTile, 0.0f);
      continue;
    }
    for (int j = 0; j < nb; ++j) {
      const int64_t c = classes_are_rows ? a0 + i : b0 + j;
      const int32_t y = labels[classes_are_rows ? b0 + j : a0 + i];
      row[j] = proxy_anchor_weight(row[j], y == c, coef[c], alpha, margin);
    }
    std::fill(row + nb, row + kTile, 0.0f);
  }
}

}  // namespace

Status proxy_input_fault(const ProxyProblem& pb) {
  const int64_t xd = pb.rows * pb.dim, pd = pb.classes * pb.dim;
  for (int64_t i = 0; i < xd; ++i)
    if (!std::isfinite(pb.embeddings[i]))
      return Status::at(Fault::ScoreNotFinite, i, pb.embeddings[i]);
  for (int64_t i = 0; i < pd; ++i)
    if (!std::isfinite(pb.proxies[i]))
      return Status::at(Fault::ReferenceNotFinite, i, pb.proxies[i]);
  for (int64_t r = 0; r < pb.rows; ++r)
    if (pb.labels[r] < 0 || pb.labels[r] >= pb.classes)
      return Status::at(Fault::LabelOutOfRange, r, pb.labels[r]);
  return Status{};
}

ProxyAnchorScales proxy_anchor_scales(const ProxyProblem& pb, const ProxyAnchorParams& p) {
  if (p.reduction != Reduction::Mean) return ProxyAnchorScales{1, 1};
  std::vector<char> has_pos(static_cast<size_t>(pb.classes), 0);
  for (int64_t r = 0; r < pb.rows; ++r) has_pos[pb.labels[r]] = 1;
  const int64_t with_pos = std::count(has_pos.begin(), has_pos.end(), 1);
  return ProxyAnchorScales{with_pos > 0 ? 1.0 / with_pos : 0.0, 1.0 / pb.classes};
}

ProxyAnchorClass proxy_anchor_class(const Lse& pos, const Lse& neg, const ProxyAnchorScales& sc,
                                    double alpha, double* pos_lse, double* neg_lse) {
  // log(1 + sum exp): the 1 is an exponent 0 merged in.
  Lse lp = Lse::with_zero(), ln = Lse::with_zero();
  lp.merge(pos);
  ln.merge(neg);
  *pos_lse = lp.value();
  *neg_lse = ln.value();
  return ProxyAnchorClass{static_cast<float>(*pos_lse), static_cast<float>(*neg_lse),
                          static_cast<float>(alpha * sc.pos), static_cast<float>(alpha * sc.neg)};
}

void proxy_anchor_classes(const ProxyProblem& pb, const ProxyAnchorParams& p, const Lse* pos,
                          const Lse* neg, double* loss, ProxyAnchorClass* coef) {
  const ProxyAnchorScales sc = proxy_anchor_scales(pb, p);
  double pos_total = 0, neg_total = 0;
  for (int64_t c = 0; c < pb.classes; ++c) {
    double vp, vn;
    const ProxyAnchorClass k = proxy_anchor_class(pos[c], neg[c], sc, p.alpha, &vp, &vn);
    if (coef) coef[c] = k;
    pos_total += vp;
    neg_total += vn;
  }
  *loss = pos_total * sc.pos + neg_total * sc.neg;
}

Status proxy_anchor_cpu(const ProxyProblem& pb, const ProxyAnchorParams& p,
                        const ProxyOutputs& out) {
  if (Status st = proxy_input_fault(pb); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes;
  const float alpha = static_cast<float>(p.alpha), margin = static_cast<float>(p.margin);
  std::vector<Lse> pos(static_cast<size_t>(C)), neg(static_cast<size_t>(C));
  std::vector<ProxyAnchorClass> coef(static_cast<size_t>(C));
  if (B == 0) {
    proxy_anchor_classes(pb, p, pos.data(), neg.data(), out.loss, coef.data());
    std::fill(out.grad_proxies, out.grad_proxies + C * pb.dim, 0.0f);
    return Status{};
  }
  TileSet X, P;
  tile_set(pb.embeddings, pb.labels, B, pb.dim, true, X);
  tile_set(pb.proxies, nullptr, C, pb.dim, true, P);

  // ---- sweep 1: class statistics, then dL/d(normalised proxies) from the kept strip ----
  // A class's gradient constants need only its own statistics (and |P+|, from the labels).
  const ProxyAnchorScales sc = proxy_anchor_scales(pb, p);
  std::vector<float> acc_p(static_cast<size_t>(P.rows) * P.ld, 0.0f);
  sweep_tiles_twice(
      P, X,
      [&](int64_t c0, int64_t j0, float* s) {
        class_stats_tile(s, tile_rows(P, c0), X, c0, j0, alpha, margin, pos.data(), neg.data());
      },
      [&](int64_t c0, int64_t j0, float* s) {
        if (j0 == 0)
          for (int64_t c = c0; c < c0 + tile_rows(P, c0); ++c) {
            double vp, vn;
            coef[c] = proxy_anchor_class(pos[c], neg[c], sc, p.alpha, &vp, &vn);
          }
        class_weight_tile(s, P, c0, X, j0, pb.labels, true, coef.data(), alpha, margin);
        accumulate_tile(s, tile_rows(P, c0), X, j0, acc_p.data() + c0 * P.ld);
      });
  // The loss, summed in class order.
  proxy_anchor_classes(pb, p, pos.data(), neg.data(), out.loss, nullptr);
  normalisation_backward(P, acc_p.data(), out.grad_proxies);

  // ---- sweep 2: dL/d(normalised embeddings), the same weights transposed ----
  std::vector<float> acc_x;
  gradient_sweep(X, P, acc_x, [&](int64_t i0, int64_t c0, float* s) {
    class_weight_tile(s, X, i0, P, c0, pb.labels, false, coef.data(), alpha, margin);
  });
  normalisation_backward(X, acc_x.data(), out.grad_embeddings);
  return Status{};
}

}  // namespace fl
