// CUDA kernels of the spherical family and the softmax classification losses (formulas F.1 to F.3,
// G). Rows are independent: a team of threads takes a row (rows.cuh: a lane group for short rows,
// a whole block for long ones, so a row of 10^6 classes is split across a block), reduces it, runs
// the row step of spherical_math.h in double (the one the CPU kernels use), and writes the row's
// gradient. Row losses go to a
// per-row buffer summed by a fixed tree, so results are the same on every run.
#include <algorithm>
#include <cfloat>
#include <cstring>
#include <vector>

#include "fusedloss/dispatch.h"
#include "fusedloss/spherical_math.h"
#include "reduce.cuh"
#include "rows.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

__device__ __forceinline__ bool finite(float v) {
  return fabsf(v) <= FLT_MAX;
}

// What every row op reads and writes.
struct RowData {
  const float* x;
  const int32_t* targets;
  int32_t classes;
  double norm;       // the reduction's factor on the gradient
  float* grad;       // rows x classes
  double* row_loss;  // rows: each row's (weighted) loss, before the normaliser
  int* bad;          // set when an input is invalid; the host then names it
};

// Spherical family: g_k = alpha + beta (o_k - centre) + gamma [k = c] (spherical_math.h).
struct SphericalRows {
  RowData d;
  SphericalParams sp;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const int32_t c = d.classes;
    const float* x = d.x + r * c;
    const int32_t target = d.targets[r];
    const bool target_ok = target >= 0 && target < c;
    const int32_t y = target_ok ? target : 0;
    double s = 0, q = 0;
    int nonfinite = 0;
    for (int32_t k = t.lane; k < c; k += t.width) {
      const float v = x[k];
      nonfinite |= !finite(v);
      s += v;
      q += static_cast<double>(v) * v;
    }
    s = t.sum(s);
    q = t.sum(q);
    if (active && (nonfinite || !target_ok)) atomicExch(d.bad, 1);
    AffineRow row;
    if (sp.kind == SphericalKind::ZLoss) {
      const double mean = s / c, scale = row_scale(q, c);
      const SplitCentre centre = split_centre(mean);
      const float sf = static_cast<float>(scale);
      double m2 = 0;  // the second pass of a two-pass variance, scaled before squaring
      for (int32_t k = t.lane; k < c; k += t.width) {
        const float v = centred(x[k], centre) * sf;
        m2 += v * v;
      }
      m2 = t.sum(m2) / (scale * scale);
      // Tiny logits: the row is redone in double. Only such a row makes the pass, but every team
      // sums: a lane group's sum shuffles across the whole warp, which holds other rows too.
      const bool tiny = zloss_tiny(m2, c);
      double exact = 0;
      for (int32_t k = t.lane; tiny && k < c; k += t.width) exact += (x[k] - mean) * (x[k] - mean);
      exact = t.sum(exact);
      if (tiny) {
        row = zloss_row(sp.a, sp.b, mean, exact, x[y], c);
        if (!active) return;
        int overflow = 0;
        float* g = d.grad + r * c;
        for (int32_t k = t.lane; k < c; k += t.width) {
          g[k] = static_cast<float>(zloss_exact_entry(row, d.norm, x[k], k == y));
          overflow |= !finite(g[k]);
        }
        if (overflow) atomicExch(d.bad, 1);  // the host names the row (spherical_fault)
        if (t.lane == 0) d.row_loss[r] = row.loss;
        return;
      }
      row = zloss_row(sp.a, sp.b, mean, m2, x[y], c, scale);
    } else {
      row = spherical_row(sp, s, q, x[y], c);
    }
    if (!active) return;
    const SplitCentre centre = split_centre(row.centre);
    const float alpha = static_cast<float>(d.norm * row.alpha);
    const float beta = static_cast<float>(d.norm * row.beta / row.scale);
    const float gamma = static_cast<float>(d.norm * row.gamma);
    const float sf = static_cast<float>(row.scale);
    float* g = d.grad + r * c;
    for (int32_t k = t.lane; k < c; k += t.width) {
      const float gk = alpha + beta * (centred(x[k], centre) * sf);
      g[k] = k == y ? gk + gamma : gk;
    }
    if (t.lane == 0) d.row_loss[r] = row.loss;
  }
};

// Softmax losses: g_j = a e_j / S - b w_j for j != y, g_y from the row step (spherical_math.h),
// with e_j = exp(scale (x_j - xmax)) computed twice rather than stored. With a soft cap (formulas
// G.8) x_j is the capped logit, recomputed in each pass, and g_j is multiplied by its slope.
template <bool ClassWeighted, bool Smoothing>
struct SoftmaxRows {
  RowData d;
  SoftmaxParams sp;
  const float* weights;        // per row, or null
  const float* class_weights;  // per class, used when ClassWeighted
  int32_t ignore_index;
  SoftmaxNorms n;  // n.norm is d.norm
  float* lse;      // per row, or null

  __device__ float class_weight(int32_t k) const { return ClassWeighted ? class_weights[k] : 1.0f; }

  // The (soft-capped) logit and the cap's slope; soft_cap passes x through when softcap is 0.
  __device__ Capped logit(const float* x, int32_t k) const {
    const float cap = static_cast<float>(sp.softcap);
    return soft_cap(x[k], cap, cap > 0 ? 1.0f / cap : 0.0f);
  }

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const int32_t c = d.classes;
    const float* x = d.x + r * c;
    const int32_t target = d.targets[r];  // checked on the host: a class or ignore_index
    const bool ignored = target == ignore_index;
    const int32_t y = ignored ? 0 : target;  // an ignored row is reduced too: shuffles stay uniform
    float m = -FLT_MAX;
    int nonfinite = 0;
    for (int32_t k = t.lane; k < c; k += t.width) {
      nonfinite |= !finite(x[k]);
      m = fmaxf(m, logit(x, k).z);
    }
    const float xmax = t.max(m);
    if (active && nonfinite) atomicExch(d.bad, 1);
    const float scale = static_cast<float>(softmax_input_scale(sp));
    double sum_exp = 0, target_exp = 0, smooth_dot = 0;
    for (int32_t k = t.lane; k < c; k += t.width) {
      const float xk = logit(x, k).z;
      const float e = exp_nonpos(scale * (xk - xmax));
      sum_exp += e;
      if (k == y) target_exp = e;
      // in double: xmax - x_k reaches 6.8e38 on logits of +-3.4e38, past float (formulas G.2)
      if (Smoothing) smooth_dot += class_weight(k) * (static_cast<double>(xmax) - xk);
    }
    SoftmaxSums sums;
    sums.xmax = xmax;
    sums.sum_exp = t.sum(sum_exp);
    sums.target_exp = t.sum(target_exp);
    if (Smoothing) sums.smooth_dot = t.sum(smooth_dot);
    const SoftmaxRow row = softmax_row(sp, sums, logit(x, y).z, class_weight(y), n.w_total, c);
    if (!active) return;
    float* g = d.grad + r * c;
    if (lse && t.lane == 0) lse[r] = static_cast<float>(row.lse);
    if (ignored) {
      for (int32_t k = t.lane; k < c; k += t.width) g[k] = 0.0f;
      if (t.lane == 0) d.row_loss[r] = 0;
      return;
    }
    const double rw = weights ? weights[r] : 1.0;
    const float a = static_cast<float>(rw * (n.norm * row.a + n.norm_z * row.z_a) * row.inv_sum);
    const float bw = static_cast<float>(rw * n.norm * row.b);
    const float gy = static_cast<float>(rw * (n.norm * row.g_target + n.norm_z * row.z_target));
    for (int32_t k = t.lane; k < c; k += t.width) {
      const Capped xk = logit(x, k);
      const float e = exp_nonpos(scale * (xk.z - xmax));
      g[k] = (k == y ? gy : (Smoothing ? a * e - bw * class_weight(k) : a * e)) * xk.slope;
    }
    // Normalised here (1 with Sum and None): the z-loss has a normaliser of its own.
    if (t.lane == 0) d.row_loss[r] = rw * (n.norm * row.loss + n.norm_z * row.z_loss);
  }
};

// The device side of a call: inputs uploaded, outputs allocated, the fault flag cleared.
struct DeviceRows {
  RowData d{};
  double* result = nullptr;  // [0]: the summed row losses; [1]: the fault flag (as an int)
  double* partials = nullptr;
};

Status prepare(Session& s, const ClassProblem& pb, DeviceRows* dr) {
  const size_t n = static_cast<size_t>(pb.rows) * pb.classes;
  float* x = nullptr;
  int32_t* targets = nullptr;
  float* grad = nullptr;
  double* row_loss = nullptr;
  Status st = s.upload(Slot::Scores, pb.logits, n, &x);
  if (st.ok()) st = s.upload(Slot::Labels, pb.targets, static_cast<size_t>(pb.rows), &targets);
  if (st.ok()) st = s.buffer(Slot::Grad, n, &grad);
  if (st.ok()) st = s.buffer(Slot::Rows, static_cast<size_t>(pb.rows), &row_loss);
  if (st.ok()) st = s.buffer(Slot::Result, 2, &dr->result);
  if (st.ok())
    st = s.buffer(Slot::Partials, static_cast<size_t>(grid_for(pb.rows, kRowThreads)),
                  &dr->partials);
  if (!st.ok()) return st;
  dr->d =
      RowData{x, targets, pb.classes, 1.0, grad, row_loss, reinterpret_cast<int*>(dr->result + 1)};
  FL_CUDA_CHECK(cudaMemsetAsync(dr->result, 0, 2 * sizeof(double), s.stream()),
                "clearing the fault flag");
  return Status{};
}

// After the row kernel: the summed loss, the fault check (name_fault() names what the device
// flagged), the gradient and row losses back.
template <class NameFault>
Status finish(Session& s, const ClassProblem& pb, NameFault name_fault, const DeviceRows& dr,
              double norm, const LossOutputs& out) {
  const int blocks = grid_for(pb.rows, kRowThreads);
  FL_LAUNCH(blocks, kRowThreads, 0, s.stream(), partial_sums<double>)
  (dr.d.row_loss, pb.rows, dr.partials);
  FL_CUDA_LAUNCHED("partial_sums");
  FL_LAUNCH(1, 32, 0, s.stream(), column_sums<double>)(dr.partials, blocks, 1, dr.result);
  FL_CUDA_LAUNCHED("column_sums");
  s.mark(Phase::Computed);
  double result[2];
  Status st = s.copy_out(result, dr.result, sizeof result);
  if (!st.ok()) return st;
  int bad;
  std::memcpy(&bad, &result[1], sizeof bad);
  if (bad) {
    st = name_fault();
    return st.ok()
               ? cuda_fault(cudaErrorUnknown, "the device flagged an input the host finds valid")
               : st;
  }
  st = s.copy_out(out.grad, dr.d.grad, static_cast<size_t>(pb.rows) * pb.classes * sizeof(float));
  if (st.ok() && out.row_loss) {
    std::vector<double> rows(static_cast<size_t>(pb.rows));
    st = s.copy_out(rows.data(), dr.d.row_loss, rows.size() * sizeof(double));
    for (size_t i = 0; st.ok() && i < rows.size(); ++i)
      out.row_loss[i] = static_cast<float>(rows[i]);
  }
  s.mark(Phase::Downloaded);
  if (st.ok()) *out.loss = result[0] * norm;
  return st;
}

}  // namespace

Status spherical_loss(const ClassProblem& pb, const SphericalParams& sp, Reduction reduction,
                      const LossOutputs& out) {
  *out.loss = 0;
  if (pb.rows == 0) return Status{};
  const double norm = reduction == Reduction::Mean ? 1.0 / pb.rows : 1.0;
  const LossOutputs o{out.loss, reduction == Reduction::None ? out.row_loss : nullptr, out.grad};
  Session s;
  DeviceRows dr;
  Status st = s.status();
  if (st.ok()) st = prepare(s, pb, &dr);
  if (!st.ok()) return st;
  s.mark(Phase::Uploaded);
  dr.d.norm = norm;
  st = launch_rows(s, SphericalRows{dr.d, sp}, pb.rows, pb.classes);
  const auto name_fault = [&] { return spherical_fault(pb, sp, norm); };
  return st.ok() ? finish(s, pb, name_fault, dr, norm, o) : st;
}

Status softmax_loss(const ClassProblem& pb, const SoftmaxWeights& sw, const SoftmaxParams& sp,
                    Reduction reduction, const LossOutputs& out) {
  *out.loss = 0;
  SoftmaxNorms n;
  Status st = softmax_normaliser(pb, sw, reduction, &n);
  if (!st.ok() || pb.rows == 0) return st;
  const LossOutputs o{out.loss, reduction == Reduction::None ? out.row_loss : nullptr, out.grad};
  Session s;
  DeviceRows dr;
  st = s.status();
  if (st.ok()) st = prepare(s, pb, &dr);
  float* weights = nullptr;
  float* class_weights = nullptr;
  if (st.ok() && sw.weights)
    st = s.upload(Slot::Weights, sw.weights, static_cast<size_t>(pb.rows), &weights);
  if (st.ok() && sw.class_weights)
    st = s.upload(Slot::Constants, sw.class_weights, static_cast<size_t>(pb.classes),
                  &class_weights);
  float* lse = nullptr;
  if (st.ok() && out.lse) st = s.buffer(Slot::Scratch, static_cast<size_t>(pb.rows), &lse);
  if (!st.ok()) return st;
  s.mark(Phase::Uploaded);
  dr.d.norm = n.norm;
  const bool smoothing = sp.form == SoftmaxForm::CrossEntropy && sp.smoothing > 0;
  with_flags(
      [&](auto weighted, auto smooth) {
        using Op = SoftmaxRows<weighted.value, smooth.value>;
        st = launch_rows(s, Op{dr.d, sp, weights, class_weights, sw.ignore_index, n, lse}, pb.rows,
                         pb.classes);
      },
      class_weights != nullptr, smoothing);
  const auto name_fault = [&] { return class_problem_fault(pb, &sw); };
  if (st.ok()) st = finish(s, pb, name_fault, dr, 1.0, o);
  if (st.ok() && lse) st = s.copy_out(out.lse, lse, static_cast<size_t>(pb.rows) * sizeof(float));
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
