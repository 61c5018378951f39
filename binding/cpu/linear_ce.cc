// Fused linear cross-entropy on the CPU (formulas J.1), on the pairwise family's tile engine
// (pair_tiles.h): tiles of z = W h^T (a class tile by a row tile) are recomputed from packed copies
// of W and h and never stored beyond the tile.
//
// Pass 1, row tiles in parallel: each row's maximum and sum of exponentials (rescaled when the
// maximum grows), its target logit and its class-weighted logit sum, over all class tiles.
// Pass 2, groups of class tiles in parallel: each tile of z again, turned into the gradient tile
// G (class-major), which is accumulated into dW of the group's classes (owned: no reduction) and,
// transposed, into the group's own partial dH; the partials are summed in group order. So every
// result is independent of the thread count. Work: 8 B C D flops (three tile products and one
// recomputation) plus 2 B C exponentials.
#include "fusedloss/linear_ce.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "fusedloss/linear_ce_math.h"
#include "pair_tiles.h"
#include "parallel.h"
#include "simd.h"

namespace fl {
namespace {

int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

// Which of TileSet's layouts a set needs: W is the row side of the S tiles (fn) and the strip side
// of dH += G W (strips); h is the panel side of the S tiles (packed) and the strip side of
// dW += G^T h (strips).
enum Layouts { kRows = 1, kPanels = 2, kStrips = 4 };

void pack(const float* x, int64_t n, int32_t dim, int layouts, TileSet& t) {
  t.n = n;
  t.rows = round_up(std::max<int64_t>(n, 1), kTile);
  t.dim = dim;
  t.ld = static_cast<int32_t>(round_up(dim, kPanel));
  t.normalize = false;
  const size_t size = static_cast<size_t>(t.rows) * t.ld;
  if (layouts & kRows) t.fn.resize(size);
  if (layouts & kPanels) t.packed.resize(size);
  if (layouts & kStrips) t.strips.resize(size);
  const int64_t ld = t.ld, rows = t.rows;
  // A panel of kPanel rows at a time, column block by column block: each write is a contiguous
  // kPanel x kPanel block of the strips and panels (row by row, a row's strip entries lie
  // rows * kPanel floats apart, one page each: the TLB thrashed, a quarter of the call's time).
  parallel_chunks(rows / kPanel, 16, [&](int64_t, int64_t pb, int64_t pe) {
    float block[kPanel][kPanel];
    for (int64_t p = pb; p < pe; ++p) {
      const int64_t i0 = p * kPanel;
      for (int64_t d0 = 0; d0 < ld; d0 += kPanel) {
        for (int i = 0; i < kPanel; ++i)
          for (int d = 0; d < kPanel; ++d)
            block[i][d] = i0 + i < n && d0 + d < dim ? x[(i0 + i) * dim + d0 + d] : 0.0f;
        if (layouts & kRows)
          for (int i = 0; i < kPanel; ++i)
            std::copy(block[i], block[i] + kPanel, t.fn.data() + (i0 + i) * ld + d0);
        if (layouts & kPanels) {
          float* panel = t.packed.data() + i0 * ld + d0 * kPanel;
          for (int d = 0; d < kPanel; ++d)
            for (int i = 0; i < kPanel; ++i) panel[d * kPanel + i] = block[i][d];
        }
        if (layouts & kStrips)
          std::copy(&block[0][0], &block[0][0] + kPanel * kPanel,
                    t.strips.data() + d0 * rows + i0 * kPanel);
      }
    }
  });
}

// The running statistics of a row tile in pass 1.
struct RowTileStats {
  float max[kTile];
  double sum[kTile], target[kTile], smooth[kTile];
};

// Pass 1 on one S tile (s[c * kTile + r], classes j0.., rows of the tile): the logits z' in place,
// then each row's maximum, rescaled sum of exponentials, weighted logit sum and target logit.
// kCap: whether a soft cap applies (cap != 0). The loops run along the tile's rows, on local copies
// of the statistics, so they vectorise (through the struct GCC assumed s might alias them and
// left the exponentials scalar, the largest cost after the tile products).
template <bool kCap>
FL_ISA_BODY void stats_tile(float* __restrict s, int nc, const float* bias, const float* cw,
                            float cap, const int32_t* targets, int nr, int64_t j0, bool smooth,
                            RowTileStats& st) {
  const float inv_cap = kCap ? 1.0f / cap : 0.0f;
  float tmax[kTile], mx[kTile], tsum[kTile], tsm[kTile];
  for (int r = 0; r < kTile; ++r) tmax[r] = -INFINITY;
  for (int c = 0; c < nc; ++c) {
    float* __restrict row = s + c * kTile;
    const float b = bias ? bias[c] : 0.0f;
    if (kCap || bias)
      for (int r = 0; r < kTile; ++r)
        row[r] = kCap ? soft_cap(row[r] + b, cap, inv_cap).z : row[r] + b;
    // By value: std::max returns a reference, a select of addresses GCC left scalar.
    for (int r = 0; r < kTile; ++r) tmax[r] = row[r] > tmax[r] ? row[r] : tmax[r];
  }
  // Every lane, the padding rows too (finite stale values): their maximum must not stay -inf.
  for (int r = 0; r < kTile; ++r) {
    const float m = std::max(st.max[r], tmax[r]);
    if (m > st.max[r]) st.sum[r] *= std::exp(static_cast<double>(st.max[r]) - m);
    st.max[r] = mx[r] = m;
    tsum[r] = tsm[r] = 0;
  }
  for (int c = 0; c < nc; ++c) {
    const float* __restrict row = s + c * kTile;
    for (int r = 0; r < kTile; ++r) tsum[r] += exp_nonpos(row[r] - mx[r]);
    if (smooth) {
      const float w = cw ? cw[c] : 1.0f;
      for (int r = 0; r < kTile; ++r) tsm[r] += w * row[r];
    }
  }
  for (int r = 0; r < nr; ++r) {
    st.sum[r] += tsum[r];
    if (smooth) st.smooth[r] += tsm[r];
    const int64_t t = targets[r] - j0;
    if (t >= 0 && t < nc) st.target[r] = s[t * kTile + r];
  }
}

// Per-row constants of pass 2 for one row tile: g_c = (a p_c - e w_c - b [c = t]) dz'/dz with
// p_c = exp(z'_c - max - logsum). Rows past the batch or ignored have a = b = e = 0.
struct RowTileCoef {
  float a[kTile], b[kTile], e[kTile], max[kTile], logsum[kTile];
  int32_t target[kTile];
};

// Pass 2 on one S tile: s becomes the gradient tile G (class-major, zero past nc classes); gt its
// transpose (row-major); gbias[c] += sum_r G[c][r] when gbias is not null. kCap as in stats_tile.
template <bool kCap>
FL_ISA_BODY void gradient_tile(float* __restrict s, int nc, const float* bias, const float* cw,
                               float cap, const RowTileCoef& k, int64_t j0, float* __restrict gt,
                               double* gbias) {
  const float inv_cap = kCap ? 1.0f / cap : 0.0f;
  float a[kTile], e[kTile], mx[kTile], ls[kTile];
  for (int r = 0; r < kTile; ++r) {
    a[r] = k.a[r];
    e[r] = k.e[r];
    mx[r] = k.max[r];
    ls[r] = k.logsum[r];
  }
  for (int c = 0; c < nc; ++c) {
    float* __restrict row = s + c * kTile;
    const float b = bias ? bias[c] : 0.0f, w = cw ? cw[c] : 1.0f;
    for (int r = 0; r < kTile; ++r) {
      const Capped z = kCap ? soft_cap(row[r] + b, cap, inv_cap) : Capped{row[r] + b, 1.0f};
      const float g = a[r] * exp_nonpos(z.z - mx[r] - ls[r]) - e[r] * w;
      // The target's b is subtracted before the slope applies, as g = (a p - e w - b) dz'/dz.
      const float t = static_cast<float>(k.target[r] - j0 == c) * k.b[r];
      row[r] = kCap ? (g - t) * z.slope : g - t;
    }
    if (gbias) {
      // Lane sums in a fixed order (the tile's rows by kPanel), so the sum vectorises.
      float lane[kPanel] = {};
      for (int r0 = 0; r0 < kTile; r0 += kPanel)
        for (int l = 0; l < kPanel; ++l) lane[l] += row[r0 + l];
      float sum = 0;
      for (int l = 0; l < kPanel; ++l) sum += lane[l];
      gbias[c] += sum;
    }
  }
  std::fill(s + nc * kTile, s + kTile * kTile, 0.0f);
  for (int r = 0; r < kTile; ++r)
    for (int c = 0; c < kTile; ++c) gt[r * kTile + c] = s[c * kTile + r];
}

// Margin heads (formulas J.2): the rows' given target logits replace the target entries of a tile
// of the product (class-major, classes j0..), before the bias and the cap, in both passes.
void set_target_logits(float* s, const LinearCeProblem& pb, int64_t i0, int nr, int64_t j0,
                       int nc) {
  if (!pb.target_logit) return;
  for (int r = 0; r < nr; ++r) {
    const int64_t c = pb.targets[i0 + r] - j0;
    if (c >= 0 && c < nc) s[c * kTile + r] = pb.target_logit[i0 + r];
  }
}

// The tile's rows q k .. q k + k - 1 (class q's sub-centres) become row q, their largest product
// (the first on a tie, as the reference); arg[q kTile + r] keeps which, when not null.
void pool_sub_centers(float* s, int nc, int k, uint8_t* arg) {
  for (int q = 0; q < nc; ++q) {
    float best[kTile];
    uint8_t a[kTile] = {};
    std::copy(s + q * k * kTile, s + (q * k + 1) * kTile, best);
    for (int j = 1; j < k; ++j) {
      const float* row = s + (q * k + j) * kTile;
      for (int r = 0; r < kTile; ++r)
        if (row[r] > best[r]) {
          best[r] = row[r];
          a[r] = static_cast<uint8_t>(j);
        }
    }
    // Row q lies before row q k for q > 0 (k > 1): already read.
    std::copy(best, best + kTile, s + q * kTile);
    if (arg) std::copy(a, a + kTile, arg + q * kTile);
  }
}

// pool_sub_centers backwards: the gradient tile g (class-major, nc classes) goes to each class's
// chosen row, 0 elsewhere, as sx (by weight row) and its transpose sxt. With given target logits
// the target entry is left to the caller (its sub-centre was chosen there).
void spread_sub_centers(const float* g, int nc, int k, const uint8_t* arg,
                        const LinearCeProblem& pb, int64_t i0, int nr, int64_t j0, float* sx,
                        float* sxt) {
  std::fill(sx, sx + kTile * kTile, 0.0f);
  for (int q = 0; q < nc; ++q)
    for (int r = 0; r < kTile; ++r) sx[(q * k + arg[q * kTile + r]) * kTile + r] = g[q * kTile + r];
  if (pb.target_logit)
    for (int r = 0; r < nr; ++r) {
      const int64_t q = pb.targets[i0 + r] - j0;
      if (q >= 0 && q < nc) sx[(q * k + arg[q * kTile + r]) * kTile + r] = 0;
    }
  for (int r = 0; r < kTile; ++r)
    for (int c = 0; c < kTile; ++c) sxt[r * kTile + c] = sx[c * kTile + r];
}

// Each pass-2 group's partial dH is B x D floats: as many groups as this budget allows (at least 4,
// at most 16, never more than the class tiles), fixed by the problem size alone.
constexpr int64_t kPartialBudget = int64_t{64} << 20;

// Tiles blocked together on the streamed side of each pass (row tiles in pass 1, class tiles in
// pass 2): the other side's tile, fetched from L3 or memory, then serves all of them from L2.
// Pass 1's blocks are also its parallel chunks, so they stay small (B = 1024: 6 chunks).
constexpr int64_t kRowBlockTiles = 2, kClassBlockTiles = 4;

}  // namespace

std::vector<float> tile_sub_centers(const LinearCeProblem& pb, const ClassTiling& tl) {
  const int64_t D = pb.dim;
  std::vector<float> w(static_cast<size_t>(tl.tiles() * tl.tile * D), 0.0f);
  for (int64_t c = 0; c < tl.classes; ++c)
    std::memcpy(w.data() + tl.row(c, 0) * D, pb.weight + c * tl.k * D, sizeof(float) * tl.k * D);
  return w;
}

Status linear_ce_input_fault(const LinearCeProblem& pb, const LinearCeParams& p) {
  const int64_t hd = pb.rows * pb.dim, wd = pb.classes * pb.sub_centers * pb.dim;
  for (int64_t i = 0; i < hd; ++i)
    if (!std::isfinite(pb.hidden[i])) return Status::at(Fault::ScoreNotFinite, i, pb.hidden[i]);
  for (int64_t i = 0; i < wd; ++i)
    if (!std::isfinite(pb.weight[i])) return Status::at(Fault::ReferenceNotFinite, i, pb.weight[i]);
  if (pb.bias)
    for (int64_t c = 0; c < pb.classes; ++c)
      if (!std::isfinite(pb.bias[c])) return Status::at(Fault::TeacherNotFinite, c, pb.bias[c]);
  for (int64_t r = 0; r < pb.rows; ++r) {
    const int32_t t = pb.targets[r];
    if (t != p.ignore_index && (t < 0 || t >= pb.classes))
      return Status::at(Fault::LabelOutOfRange, r, t);
    if (pb.weights && !(pb.weights[r] >= 0 && std::isfinite(pb.weights[r])))
      return Status::at(Fault::WeightInvalid, r, pb.weights[r]);
    if (pb.target_logit && !std::isfinite(pb.target_logit[r]))
      return Status::at(Fault::LogitNotFinite, r, pb.target_logit[r]);
  }
  if (pb.class_weights)
    for (int64_t c = 0; c < pb.classes; ++c)
      if (!(pb.class_weights[c] >= 0 && std::isfinite(pb.class_weights[c])))
        return Status::at(Fault::ClassWeightInvalid, c, pb.class_weights[c]);
  return Status{};
}

Status linear_ce_rows(const LinearCeProblem& pb, const LinearCeParams& p,
                      const LinearRowStats* stats, const LinearCeOutputs& out,
                      LinearRowCoef* coef) {
  const int64_t B = pb.rows, C = pb.classes;
  double wsum = 0, kept_w = 0, kept = 0;
  for (int64_t c = 0; c < C; ++c) wsum += pb.class_weights ? pb.class_weights[c] : 1.0;
  for (int64_t r = 0; r < B; ++r) {
    const double lse = stats[r].max + stats[r].logsum;
    if (!std::isfinite(lse)) return Status::at(Fault::LogitNotFinite, r, lse);
    const int32_t t = pb.targets[r];
    if (t == p.ignore_index) continue;
    kept_w += pb.class_weights ? pb.class_weights[t] : 1.0;
    kept += 1;
  }
  LinearScales sc;
  if (p.reduction == Reduction::Mean) {
    sc.ce = kept_w > 0 ? 1 / kept_w : 0;
    sc.z = kept > 0 ? 1 / kept : 0;
  }
  double ce_total = 0, z_total = 0;
  for (int64_t r = 0; r < B; ++r) {
    const LinearRowStats& s = stats[r];
    if (out.lse) out.lse[r] = static_cast<float>(s.max + s.logsum);
    coef[r] = LinearRowCoef{0, 0, 0, static_cast<float>(s.max), static_cast<float>(s.logsum)};
    const int32_t t = pb.targets[r];
    if (out.grad_target) out.grad_target[r] = 0;
    if (t == p.ignore_index) {
      if (out.row_loss) out.row_loss[r] = 0;
      continue;
    }
    const double rw = pb.weights ? pb.weights[r] : 1.0;
    const double wt = pb.class_weights ? pb.class_weights[t] : 1.0;
    const LinearRowLoss l = linear_row(s, rw, wt, wsum, static_cast<double>(C), p, sc);
    // Huge finite logits can still overflow what float32 holds downstream (s lse^2, the gradient
    // coefficients): refused like an overflowing logit.
    const float row = static_cast<float>(l.ce + l.z);
    if (!std::isfinite(l.coef.a) || !std::isfinite(l.coef.b) ||
        (out.row_loss && !std::isfinite(row)))
      return Status::at(Fault::LogitNotFinite, r, s.max + s.logsum);
    ce_total += l.ce;
    z_total += l.z;
    if (out.row_loss) out.row_loss[r] = row;
    coef[r].a = l.coef.a;
    coef[r].b = l.coef.b;
    coef[r].e = l.coef.e;
    if (out.grad_target) {
      // g_t of formulas J.1 at the (replaced) target entry, through the cap's slope there.
      const float cap = static_cast<float>(p.softcap);
      const float zt = pb.target_logit[r] + (pb.bias ? pb.bias[t] : 0.0f);
      const Capped z = soft_cap(zt, cap, cap == 0 ? 0.0f : 1.0f / cap);
      out.grad_target[r] =
          linear_grad(coef[r], z.z, pb.class_weights ? pb.class_weights[t] : 1.0f, true) * z.slope;
    }
  }
  *out.loss = ce_total * sc.ce + z_total * sc.z;
  return Status{};
}

Status linear_ce_output_fault(const LinearCeProblem& pb, const LinearCeOutputs& out) {
  const auto finite = [](const float* v, int64_t n) {
    float acc = 0;  // 0 * v is NaN exactly when v is not finite
    for (int64_t i = 0; i < n; ++i) acc += 0 * v[i];
    return acc == 0;
  };
  const bool ok = finite(out.grad_hidden, pb.rows * pb.dim) &&
                  finite(out.grad_weight, pb.classes * pb.sub_centers * pb.dim) &&
                  (!out.grad_bias || finite(out.grad_bias, pb.classes));
  return ok ? Status{} : Status::at(Fault::LogitNotFinite, -1, INFINITY);
}

Status linear_ce_cpu(const LinearCeProblem& pb, const LinearCeParams& p,
                     const LinearCeOutputs& out) {
  if (Status st = linear_ce_input_fault(pb, p); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes, D = pb.dim;
  const float cap = static_cast<float>(p.softcap);
  const bool smooth = p.smoothing > 0;
  const int sub = pb.sub_centers;
  const ClassTiling tl(C, sub, kTile);
  TileSet H, W;
  pack(pb.hidden, B, pb.dim, kPanels | kStrips, H);
  if (sub == 1) {
    pack(pb.weight, C, pb.dim, kRows | kStrips, W);
  } else {
    const std::vector<float> w = tile_sub_centers(pb, tl);
    pack(w.data(), static_cast<int64_t>(w.size()) / D, pb.dim, kRows | kStrips, W);
  }
  const int64_t ld = H.ld, row_tiles = H.rows / kTile, class_tiles = W.rows / kTile;

  // ---- pass 1: per-row max, log-sum, target logit and weighted logit sum ----
  std::vector<LinearRowStats> stats(static_cast<size_t>(B));
  parallel_chunks(row_tiles, kRowBlockTiles, [&](int64_t, int64_t tb, int64_t te) {
    std::vector<float> s(static_cast<size_t>(kTile) * kTile, 0.0f);
    std::vector<RowTileStats> st(static_cast<size_t>(te - tb));
    for (RowTileStats& t : st)
      for (int r = 0; r < kTile; ++r) {
        t.max[r] = -INFINITY;
        t.sum[r] = t.target[r] = t.smooth[r] = 0;
      }
    for (int64_t ct = 0; ct < class_tiles; ++ct) {
      const int64_t j0 = tl.first(ct);
      const float* bias = pb.bias ? pb.bias + j0 : nullptr;
      const float* cw = pb.class_weights ? pb.class_weights + j0 : nullptr;
      const int nc = tl.count(ct);
      for (int64_t tile = tb; tile < te; ++tile) {
        const int64_t i0 = tile * kTile;
        const int nr = tile_rows(H, i0);
        RowTileStats& t = st[tile - tb];
        similarity_tile(W, ct * kTile, H, i0, s.data());
        if (sub > 1) pool_sub_centers(s.data(), nc, sub, nullptr);
        set_target_logits(s.data(), pb, i0, nr, j0, nc);
        if (cap != 0)
          FL_ISA_CALL(
              stats_tile<true>(s.data(), nc, bias, cw, cap, pb.targets + i0, nr, j0, smooth, t));
        else
          FL_ISA_CALL(
              stats_tile<false>(s.data(), nc, bias, cw, cap, pb.targets + i0, nr, j0, smooth, t));
      }
    }
    for (int64_t tile = tb; tile < te; ++tile) {
      const int64_t i0 = tile * kTile;
      const RowTileStats& t = st[tile - tb];
      for (int r = 0; r < tile_rows(H, i0); ++r)
        stats[i0 + r] = LinearRowStats{t.max[r], std::log(t.sum[r]), t.target[r], t.smooth[r]};
    }
  });
  std::vector<LinearRowCoef> coef(static_cast<size_t>(B));
  if (Status st = linear_ce_rows(pb, p, stats.data(), out, coef.data()); !st.ok()) return st;

  // ---- pass 2: groups of class tiles, each owning its classes of dW and db and a partial dH ----
  const int64_t partial = H.rows * ld;
  const int64_t groups = std::min(
      class_tiles,
      std::clamp<int64_t>(kPartialBudget / (partial * static_cast<int64_t>(sizeof(float))), 4, 16));
  std::vector<float> dh(static_cast<size_t>(groups * partial), 0.0f);
  parallel_chunks(groups, 1, [&](int64_t g, int64_t, int64_t) {
    const int64_t first = g * class_tiles / groups, last = (g + 1) * class_tiles / groups;
    std::vector<float> s(static_cast<size_t>(kTile) * kTile, 0.0f), gt(s.size());
    std::vector<float> sx(sub > 1 ? s.size() : 0), sxt(sx.size());
    std::vector<uint8_t> arg(sub > 1 ? s.size() : 0);
    std::vector<float> accw(static_cast<size_t>(kClassBlockTiles) * kTile * ld);
    std::vector<double> gbias(static_cast<size_t>(kClassBlockTiles) * kTile);
    RowTileCoef k;
    float* part = dh.data() + g * partial;
    // kClassBlockTiles class tiles at a time, so each row tile of H and of the partial dH is
    // fetched once for all of them; each dW and dH entry still sums its terms in the same order.
    for (int64_t cb = first; cb < last; cb += kClassBlockTiles) {
      const int64_t ce = std::min(last, cb + kClassBlockTiles);
      std::fill(accw.begin(), accw.end(), 0.0f);
      std::fill(gbias.begin(), gbias.end(), 0.0);
      for (int64_t i0 = 0; i0 < B; i0 += kTile) {
        const int nr = tile_rows(H, i0);
        for (int r = 0; r < kTile; ++r) {
          const LinearRowCoef c = r < nr ? coef[i0 + r] : LinearRowCoef{0, 0, 0, 3e38f, 0};
          k.a[r] = c.a;
          k.b[r] = c.b;
          k.e[r] = c.e;
          k.max[r] = c.max;
          k.logsum[r] = c.logsum;
          k.target[r] = r < nr ? pb.targets[i0 + r] : -1;
        }
        for (int64_t ct = cb; ct < ce; ++ct) {
          const int64_t j0 = tl.first(ct);
          const int nc = tl.count(ct);
          similarity_tile(W, ct * kTile, H, i0, s.data());
          if (sub > 1) pool_sub_centers(s.data(), nc, sub, arg.data());
          set_target_logits(s.data(), pb, i0, nr, j0, nc);
          const float* bias = pb.bias ? pb.bias + j0 : nullptr;
          const float* cw = pb.class_weights ? pb.class_weights + j0 : nullptr;
          double* gb = out.grad_bias ? gbias.data() + (ct - cb) * kTile : nullptr;
          if (cap != 0)
            FL_ISA_CALL(gradient_tile<true>(s.data(), nc, bias, cw, cap, k, j0, gt.data(), gb));
          else
            FL_ISA_CALL(gradient_tile<false>(s.data(), nc, bias, cw, cap, k, j0, gt.data(), gb));
          float* aw = accw.data() + (ct - cb) * kTile * ld;
          if (sub > 1) {
            spread_sub_centers(s.data(), nc, sub, arg.data(), pb, i0, nr, j0, sx.data(),
                               sxt.data());
            accumulate_tile(sx.data(), nc * sub, H, i0, aw);
            accumulate_tile(sxt.data(), nr, W, ct * kTile, part + i0 * ld);
          } else {
            accumulate_tile(s.data(), nc, H, i0, aw);
            accumulate_tile(gt.data(), nr, W, j0, part + i0 * ld);
          }
        }
      }
      for (int64_t ct = cb; ct < ce; ++ct) {
        const int64_t j0 = tl.first(ct);
        const float* acc = accw.data() + (ct - cb) * kTile * ld;
        for (int c = 0; c < tl.count(ct) * sub; ++c)
          std::copy(acc + c * ld, acc + c * ld + D, out.grad_weight + (j0 * sub + c) * D);
        if (out.grad_bias)
          for (int c = 0; c < tl.count(ct); ++c)
            out.grad_bias[j0 + c] = static_cast<float>(gbias[(ct - cb) * kTile + c]);
      }
    }
  });
  parallel_chunks(B, 256, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r)
      for (int64_t d = 0; d < D; ++d) {
        float sum = 0;
        for (int64_t g = 0; g < groups; ++g) sum += dh[g * partial + r * ld + d];
        out.grad_hidden[r * D + d] = sum;
      }
  });
  return linear_ce_output_fault(pb, out);
}

}  // namespace fl
