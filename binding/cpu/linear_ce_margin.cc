// The margin heads of the fused linear cross-entropy (formulas J.2: ArcFace, CosFace, sub-center
// ArcFace) around any backend's kernel, on the CPU threads: a pre-pass makes L2-normalised float32
// copies of the rows (hidden's times s, so the kernel's product is s cos) and each row's margined
// target logit s psi(cos theta_t), which the kernel puts in place of its target entry; a post-pass
// adds the target entry's gradient through psi and takes both gradients back through the
// normalisation. Both passes are O((B + C k) D), rows in parallel; the kernel alone touches
// B x C k, in tiles. With k sub-centres the kernel takes each class's largest product itself; the
// pre-pass picks the target's sub-centre and the post-pass gives the target entry its whole
// gradient there (the kernel leaves it out), so both sides agree on the chosen sub-centre.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "fusedloss/linear_ce.h"
#include "parallel.h"

namespace fl {
namespace {

constexpr int64_t kRowChunk = 64;

// psi(cos) and d psi / d cos in the angle-addition form: cos(theta + m) = cos cos m - sin theta
// sin m, slope cos m + cos sin m / sin theta (sin theta floored at 1e-6 where theta = 0).
std::pair<double, double> margin_target(double cos, const LinearMargin& mg) {
  const double m = mg.margin;
  if (mg.kind == MarginKind::CosFace) return {cos - m, 1};
  const double c = std::clamp(cos, -1.0, 1.0), cm = std::cos(m), sm = std::sin(m);
  // Beyond cos(pi - m) = -cos m, theta + m passes pi: insightface's threshold form.
  if (mg.easy ? !(c > 0) : !(c > -cm)) return {mg.easy ? cos : cos - m * sm, 1};
  const double sin_t = std::sqrt(std::max(0.0, 1 - c * c));
  return {c * cm - sin_t * sm, cm + c * sm / std::max(sin_t, 1e-6)};
}

// u = x scale / |x| by rows (as float32), norm = |x|.
void unit_rows(const float* x, int64_t n, int32_t dim, double scale, float* u, double* norm) {
  parallel_chunks(n, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * dim;
      double q = 0;
      for (int32_t d = 0; d < dim; ++d) q += static_cast<double>(r[d]) * r[d];
      norm[i] = std::sqrt(q);
      const double k = scale / norm[i];
      for (int32_t d = 0; d < dim; ++d) u[i * dim + d] = static_cast<float>(r[d] * k);
    }
  });
}

// Through u = scale x / |x|: dx = (g - u (u . g) / scale^2) scale / |x|, g the gradient wrt u.
void normalisation_back(const double* g, const float* u, int32_t dim, double scale, double norm,
                        float* out) {
  double dot = 0;
  for (int32_t d = 0; d < dim; ++d) dot += u[d] * g[d];
  const double q = dot / (scale * scale), k = scale / norm;
  for (int32_t d = 0; d < dim; ++d) out[d] = static_cast<float>((g[d] - u[d] * q) * k);
}

}  // namespace

Status linear_margin(const LinearCeProblem& pb, const LinearCeParams& p, const LinearMargin& m,
                     const LinearCeOutputs& out, const LinearCeKernel& kernel) {
  if (Status st = linear_ce_input_fault(pb, p); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes, k = pb.sub_centers, R = C * k;
  const int32_t D = pb.dim;
  const double s = m.scale;
  std::vector<float> u(static_cast<size_t>(B * D)), v(static_cast<size_t>(R * D));
  std::vector<double> hn(static_cast<size_t>(B)), wn(static_cast<size_t>(R));
  unit_rows(pb.hidden, B, D, s, u.data(), hn.data());
  unit_rows(pb.weight, R, D, 1, v.data(), wn.data());

  // Each kept row's target logit s psi(cos theta_t), from the same float32 copies the kernel
  // multiplies; its sub-centre the first largest (as the reference).
  std::vector<float> tz(static_cast<size_t>(B), 0.0f);
  std::vector<double> slope(static_cast<size_t>(B), 1.0);
  std::vector<int64_t> trow(static_cast<size_t>(B), -1);
  parallel_chunks(B, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const int32_t t = pb.targets[i];
      if (t == p.ignore_index) continue;
      double z = -INFINITY;
      for (int64_t j = t * k; j < (t + 1) * k; ++j) {
        double x = 0;
        for (int32_t d = 0; d < D; ++d) x += static_cast<double>(u[i * D + d]) * v[j * D + d];
        if (x > z) {
          z = x;
          trow[i] = j;
        }
      }
      const auto [psi, dpsi] = margin_target(z / s, m);
      tz[i] = static_cast<float>(s * psi);
      slope[i] = dpsi;
    }
  });

  LinearCeProblem q = pb;
  q.hidden = u.data();
  q.weight = v.data();
  q.target_logit = tz.data();
  std::vector<float> gt(static_cast<size_t>(B));
  LinearCeOutputs o = out;
  o.grad_target = gt.data();
  if (Status st = kernel(q, o); !st.ok()) return st;

  // The kernel counted the target entry with slope 1 on the product s cos (k = 1) or left it out
  // (k > 1); its slope is psi'. Its two rank-one terms, then the normalisation's Jacobian: hidden
  // by rows, weight by rows over the hidden rows that chose it (a counting sort: no races).
  const double counted = k == 1 ? 1 : 0;
  std::vector<double> delta(static_cast<size_t>(B), 0.0);
  std::vector<int64_t> first(static_cast<size_t>(R + 1), 0), order(static_cast<size_t>(B));
  for (int64_t i = 0; i < B; ++i) {
    if (trow[i] >= 0) delta[i] = gt[i] * (slope[i] - counted);
    if (delta[i] != 0) ++first[trow[i] + 1];
  }
  for (int64_t j = 0; j < R; ++j) first[j + 1] += first[j];
  {
    std::vector<int64_t> at(first.begin(), first.end() - 1);
    for (int64_t i = 0; i < B; ++i)
      if (delta[i] != 0) order[at[trow[i]]++] = i;
  }
  parallel_chunks(B, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    std::vector<double> g(static_cast<size_t>(D));
    for (int64_t i = b; i < e; ++i) {
      float* gh = out.grad_hidden + i * D;
      const float* w = delta[i] != 0 ? v.data() + trow[i] * D : nullptr;
      for (int32_t d = 0; d < D; ++d) g[d] = gh[d] + (w ? delta[i] * w[d] : 0.0);
      normalisation_back(g.data(), u.data() + i * D, D, s, hn[i], gh);
    }
  });
  parallel_chunks(R, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    std::vector<double> g(static_cast<size_t>(D));
    for (int64_t j = b; j < e; ++j) {
      float* gw = out.grad_weight + j * D;
      for (int32_t d = 0; d < D; ++d) g[d] = gw[d];
      for (int64_t n = first[j]; n < first[j + 1]; ++n) {
        const int64_t i = order[n];
        for (int32_t d = 0; d < D; ++d) g[d] += delta[i] * u[i * D + d];
      }
      normalisation_back(g.data(), v.data() + j * D, D, 1, wn[j], gw);
    }
  });
  return linear_ce_output_fault(pb, out);
}

}  // namespace fl
