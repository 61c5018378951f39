// CPU kernels of the spherical family and the softmax classification losses (formulas F.1 to F.3,
// G). Rows are the unit of parallelism: a chunk of rows is one task; each row is reduced (pass
// 1), its scalars go through the row step of spherical_math.h in double, and its gradient is
// written (pass 2) while the row is still in cache. Per-chunk losses are combined in chunk order.
#include "fusedloss/spherical.h"

#include <cfloat>
#include <vector>

#include "fusedloss/spherical_math.h"
#include "parallel.h"
#include "rows.h"
#include "simd.h"

namespace fl {
namespace {

// A chunk's summed (weighted, unnormalised) row losses, and whether it met an invalid value
// (then searched for exactly by find_fault).
struct ChunkLoss {
  double loss = 0;
  double extra = 0;  // softmax: PaLM's z-loss terms; counted_weight: the counted rows
  int bad = 0;
};

void add_chunk(ChunkLoss& acc, const ChunkLoss& p) {
  acc.loss += p.loss;
  acc.extra += p.extra;
  acc.bad |= p.bad;
}

template <class Body>
ChunkLoss over_row_chunks(const ClassProblem& pb, Body body) {
  return parallel_reduce<ChunkLoss>(
      pb.rows, rows_per_chunk(pb.classes),
      [&](int64_t b, int64_t e, ChunkLoss& part) { body(b, e, part); }, add_chunk);
}

bool weight_ok(float w) {
  return w >= 0.0f && w <= FLT_MAX;
}

}  // namespace

Status class_problem_fault(const ClassProblem& pb, const SoftmaxWeights* sw) {
  if (sw && sw->class_weights)
    for (int32_t k = 0; k < pb.classes; ++k)
      if (!weight_ok(sw->class_weights[k]))
        return Status::at(Fault::ClassWeightInvalid, k, sw->class_weights[k]);
  return first_row_fault(
      pb.logits, pb.classes, true, sw ? sw->weights : nullptr, 0, pb.rows, [&](int64_t i) {
        const int32_t y = pb.targets[i];
        const bool ok = (y >= 0 && y < pb.classes) || (sw && y == sw->ignore_index);
        return ok ? Status{} : Status::at(Fault::LabelOutOfRange, i, y);
      });
}

namespace {

Status finish(const ClassProblem& pb, const SoftmaxWeights* sw, const ChunkLoss& total, double norm,
              const LossOutputs& out, double norm_z = 0) {
  if (total.bad) return class_problem_fault(pb, sw);
  *out.loss = total.loss * norm + total.extra * norm_z;
  return Status{};
}

// ---- spherical family ----

struct Moments {
  double s = 0, q = 0;  // sum o_k, sum o_k^2
};

// Both sums in double lanes; `bad` becomes nonzero on a non-finite logit (which makes a sum NaN
// or infinite: squares of finite floats stay below 1e77, far from double's range).
FL_INLINE Moments row_moments(const float* __restrict x, int32_t n, int& bad) {
  double s[kWide] = {}, q[kWide] = {};
  auto add = [&](int32_t k, int j) {
    const double v = x[k];
    s[j] += v;
    q[j] += v * v;
  };
  int32_t i = 0;
  for (; i + kWide <= n; i += kWide)
    for (int j = 0; j < kWide; ++j) add(i + j, j);
  for (int j = 0; i < n; ++i, ++j) add(i, j);
  Moments m;
  for (int j = 0; j < kWide; ++j) {
    m.s += s[j];
    m.q += q[j];
  }
  bad |= !(std::fabs(m.s) <= DBL_MAX && m.q <= DBL_MAX);
  return m;
}

// sum_k (o_k - centre)^2: the second pass of a two-pass variance (terms >= 0: float blocks), each
// difference scaled by `scale` (a power of two, row_scale) before squaring and the sum unscaled.
FL_INLINE double centred_m2(const float* __restrict x, int32_t n, const SplitCentre& c,
                            double scale) {
  const float sf = static_cast<float>(scale);
  const double m2 = nonneg_sum(n, [&](int32_t k) {
    const float d = centred(x[k], c) * sf;
    return d * d;
  });
  return m2 / (scale * scale);
}

// A Z-loss row whose std is below kZLossMinStd (tiny or denormal logits) redone in double: its
// loss and std, its gradient written to g unless g is null, and whether every entry fits a float.
struct ExactRow {
  double loss = 0, std = 0;
  bool fits = true;
};
ExactRow exact_zloss_row(const SphericalParams& sp, const float* x, int32_t c, int32_t y,
                         double norm, float* g) {
  double s = 0, m2 = 0;
  for (int32_t k = 0; k < c; ++k) s += x[k];
  const double mean = s / c;
  for (int32_t k = 0; k < c; ++k) m2 += (x[k] - mean) * (x[k] - mean);
  const AffineRow r = zloss_row(sp.a, sp.b, mean, m2, x[y], c);
  ExactRow e{r.loss, std::sqrt(m2 / c), true};
  for (int32_t k = 0; k < c; ++k) {
    const float v = static_cast<float>(zloss_exact_entry(r, norm, x[k], k == y));
    e.fits &= std::fabs(v) <= FLT_MAX;
    if (g) g[k] = v;
  }
  return e;
}

FL_ISA_BODY void spherical_rows(const ClassProblem& pb, const SphericalParams& sp, double norm,
                                int64_t b, int64_t e, const LossOutputs& out, ChunkLoss& acc) {
  const int32_t c = pb.classes;
  for (int64_t i = b; i < e; ++i) {
    const float* __restrict x = pb.logits + i * c;
    float* __restrict g = out.grad + i * c;
    const int32_t y = pb.targets[i];
    if (!(y >= 0 && y < c)) acc.bad = 1;
    if (acc.bad) return;
    const Moments m = row_moments(x, c, acc.bad);
    AffineRow r;
    if (sp.kind == SphericalKind::ZLoss) {
      const double mean = m.s / c, scale = row_scale(m.q, c);
      const double m2 = centred_m2(x, c, split_centre(mean), scale);
      if (zloss_tiny(m2, c)) {
        const ExactRow ex = exact_zloss_row(sp, x, c, y, norm, g);
        if (!ex.fits) acc.bad = 1;
        acc.loss += ex.loss;
        if (out.row_loss) out.row_loss[i] = static_cast<float>(ex.loss);
        continue;
      }
      r = zloss_row(sp.a, sp.b, mean, m2, x[y], c, scale);
    } else {
      r = spherical_row(sp, m.s, m.q, x[y], c);
    }
    const SplitCentre centre = split_centre(r.centre);
    const float alpha = static_cast<float>(norm * r.alpha),
                beta = static_cast<float>(norm * r.beta / r.scale),
                sf = static_cast<float>(r.scale);
    for (int32_t k = 0; k < c; ++k) g[k] = alpha + beta * (centred(x[k], centre) * sf);
    g[y] += static_cast<float>(norm * r.gamma);
    acc.loss += r.loss;
    if (out.row_loss) out.row_loss[i] = static_cast<float>(r.loss);
  }
}

// ---- softmax classification losses ----

// Row weights and targets: validity, and the mean's normaliser, the sum over counted rows of the
// target's class weight. Reads only the targets and weights (B entries), never the logits.
ChunkLoss counted_weight(const ClassProblem& pb, const SoftmaxWeights& sw) {
  return parallel_reduce<ChunkLoss>(
      pb.rows, kChunk,
      [&](int64_t b, int64_t e, ChunkLoss& part) {
        for (int64_t i = b; i < e; ++i) {
          if (sw.weights && !weight_ok(sw.weights[i])) part.bad = 1;
          const int32_t y = pb.targets[i];
          if (y == sw.ignore_index) continue;
          if (!(y >= 0 && y < pb.classes)) {
            part.bad = 1;
          } else {
            part.loss += sw.class_weights ? sw.class_weights[y] : 1.0;
            part.extra += 1;
          }
        }
      },
      add_chunk);
}

// The soft-capped row (formulas G.8) in scratch[0, n) and its slopes in scratch[n, 2n); `bad`
// becomes nonzero if an entry of x is not finite (the capped values always are), as in row_max.
FL_INLINE const float* soft_capped_row(const float* __restrict x, int32_t n, float cap,
                                       float* __restrict scratch, int& bad) {
  const float inv_cap = 1.0f / cap;
  float zero = 0.0f;
  for (int32_t k = 0; k < n; ++k) {
    const Capped s = soft_cap(x[k], cap, inv_cap);
    zero += x[k] * 0.0f;
    scratch[k] = s.z;
    scratch[n + k] = s.slope;
  }
  bad |= !(zero == 0.0f);
  return scratch;
}

// Pass 1 stashes e_k = exp(scale (x_k - xmax)) in the gradient row; pass 2 turns it into
// a e_k / S - b w_k (spherical_math.h) and overwrites the target's entry with its accurate value.
// With a soft cap, x is the capped row and the gradient is multiplied by the cap's slope last.
template <bool ClassWeighted, bool Smoothing>
FL_ISA_BODY void softmax_rows(const ClassProblem& pb, const SoftmaxWeights& sw,
                              const SoftmaxParams& sp, const SoftmaxNorms& n, int64_t b, int64_t e,
                              const LossOutputs& out, ChunkLoss& acc) {
  const int32_t c = pb.classes;
  const float scale = static_cast<float>(softmax_input_scale(sp));
  const float* __restrict cw = sw.class_weights;
  auto class_weight = [&](int32_t k) { return ClassWeighted ? cw[k] : 1.0f; };
  // Kept per thread: a fresh block per call would be page-faulted in each time (see dense.cc).
  static thread_local std::vector<float> scratch;
  if (sp.softcap > 0) scratch.resize(2 * static_cast<size_t>(c));
  for (int64_t i = b; i < e; ++i) {
    const float* __restrict x = pb.logits + i * c;
    float* __restrict g = out.grad + i * c;
    const int32_t y = pb.targets[i];
    if (sp.softcap > 0)
      x = soft_capped_row(x, c, static_cast<float>(sp.softcap), scratch.data(), acc.bad);
    SoftmaxSums s;
    s.xmax = row_max(x, c, acc.bad);
    if (acc.bad) return;
    const bool ignored = y == sw.ignore_index;
    if (ignored && !out.lse) {
      for (int32_t k = 0; k < c; ++k) g[k] = 0.0f;
      if (out.row_loss) out.row_loss[i] = 0.0f;
      continue;
    }
    const float xmax = s.xmax;
    // The exponentials in a plain loop, then their sum: one fused loop ran 1.5x slower.
    for (int32_t k = 0; k < c; ++k) g[k] = exp_nonpos(scale * (x[k] - xmax));
    s.sum_exp = nonneg_sum(c, [&](int32_t k) { return g[k]; });
    if (ignored) {  // only its log-sum-exp is wanted
      out.lse[i] = static_cast<float>(scale * static_cast<double>(xmax) + std::log(s.sum_exp));
      for (int32_t k = 0; k < c; ++k) g[k] = 0.0f;
      if (out.row_loss) out.row_loss[i] = 0.0f;
      continue;
    }
    s.target_exp = g[y];
    // In double: xmax - x_k reaches 6.8e38 on logits of +-3.4e38, past float (formulas G.2).
    if (Smoothing)
      s.smooth_dot =
          lane_sum_of(c, [&](int32_t k) { return class_weight(k) * (double{xmax} - x[k]); });
    const SoftmaxRow r = softmax_row(sp, s, x[y], class_weight(y), n.w_total, c);
    const double rw = sw.weights ? sw.weights[i] : 1.0;
    const float a = static_cast<float>(rw * (n.norm * r.a + n.norm_z * r.z_a) * r.inv_sum);
    const float bw = static_cast<float>(rw * n.norm * r.b);
    for (int32_t k = 0; k < c; ++k) g[k] = Smoothing ? a * g[k] - bw * class_weight(k) : a * g[k];
    g[y] = static_cast<float>(rw * (n.norm * r.g_target + n.norm_z * r.z_target));
    if (sp.softcap > 0)
      for (int32_t k = 0; k < c; ++k) g[k] *= scratch[c + k];
    acc.loss += rw * r.loss;
    acc.extra += rw * r.z_loss;
    if (out.row_loss) out.row_loss[i] = static_cast<float>(rw * (r.loss + r.z_loss));
    if (out.lse) out.lse[i] = static_cast<float>(r.lse);
  }
}

}  // namespace

Status spherical_fault(const ClassProblem& pb, const SphericalParams& sp, double norm) {
  Status st = class_problem_fault(pb, nullptr);
  if (!st.ok() || sp.kind != SphericalKind::ZLoss) return st;
  // Only rows below kZLossMinStd can overflow (entries <= ~3 / std); the double path is exact for
  // every row, so it is run on each, in order, to name the first.
  const int32_t c = pb.classes;
  for (int64_t i = 0; i < pb.rows; ++i) {
    const ExactRow ex = exact_zloss_row(sp, pb.logits + i * c, c, pb.targets[i], norm, nullptr);
    if (!ex.fits) return Status::at(Fault::ZLossSpreadTooSmall, i, ex.std);
  }
  return st;
}

Status squared_error_overflow(const ClassProblem& pb, const LossOutputs& out) {
  const int64_t n = pb.rows * pb.classes;
  bool finite = true;
  for (int64_t i = 0; i < n; ++i) finite &= std::fabs(out.grad[i]) <= FLT_MAX;
  return finite ? Status{} : Status::at(Fault::LogitNotFinite, -1, INFINITY);
}

Status spherical_loss_cpu(const ClassProblem& pb, const SphericalParams& sp, Reduction reduction,
                          const LossOutputs& out) {
  const double norm = reduction == Reduction::Mean && pb.rows > 0 ? 1.0 / pb.rows : 1.0;
  const LossOutputs o{out.loss, reduction == Reduction::None ? out.row_loss : nullptr, out.grad};
  const ChunkLoss total = over_row_chunks(pb, [&](int64_t b, int64_t e, ChunkLoss& part) {
    FL_ISA_CALL(spherical_rows(pb, sp, norm, b, e, o, part));
  });
  if (total.bad) return spherical_fault(pb, sp, norm);
  *out.loss = total.loss * norm;
  return Status{};
}

Status softmax_normaliser(const ClassProblem& pb, const SoftmaxWeights& sw, Reduction reduction,
                          SoftmaxNorms* n) {
  n->w_total = pb.classes;
  if (sw.class_weights) {
    n->w_total = 0;
    for (int32_t k = 0; k < pb.classes; ++k) {
      if (!weight_ok(sw.class_weights[k])) return class_problem_fault(pb, &sw);
      n->w_total += sw.class_weights[k];
    }
  }
  const ChunkLoss counted = counted_weight(pb, sw);
  if (counted.bad) return class_problem_fault(pb, &sw);
  n->norm = n->norm_z = 1.0;
  if (reduction == Reduction::Mean) {
    n->norm = counted.loss > 0 ? 1.0 / counted.loss : 0.0;
    n->norm_z = counted.extra > 0 ? 1.0 / counted.extra : 0.0;
  }
  return Status{};
}

Status softmax_loss_cpu(const ClassProblem& pb, const SoftmaxWeights& sw, const SoftmaxParams& sp,
                        Reduction reduction, const LossOutputs& out) {
  SoftmaxNorms n;
  const Status st = softmax_normaliser(pb, sw, reduction, &n);
  if (!st.ok()) return st;
  const LossOutputs o{out.loss, reduction == Reduction::None ? out.row_loss : nullptr, out.grad,
                      out.lse};
  const bool smoothing = sp.form == SoftmaxForm::CrossEntropy && sp.smoothing > 0;
  ChunkLoss total;
  with_flags(
      [&](auto weighted, auto smooth) {
        total = over_row_chunks(pb, [&](int64_t b, int64_t e, ChunkLoss& part) {
          FL_ISA_CALL(softmax_rows<weighted.value, smooth.value>(pb, sw, sp, n, b, e, o, part));
        });
      },
      sw.class_weights != nullptr, smoothing);
  return finish(pb, &sw, total, n.norm, out, n.norm_z);
}

}  // namespace fl
