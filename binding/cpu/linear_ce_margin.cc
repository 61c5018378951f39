// The margin heads of the fused linear cross-entropy (formulas J.2: ArcFace, CosFace, sub-center
// ArcFace) around any backend's kernel, on the CPU threads: a pre-pass makes L2-normalised float32
// copies of the rows (hidden's times s, so the kernel's product is s cos) and each row's margined
// target logit s psi(cos theta_t), which the kernel puts in place of its target entry; a post-pass
// adds the target entry's gradient through psi and takes both gradients back through the
// normalisation. Both passes are O((B + C k) D), rows in parallel; the kernel alone touches
// B x C k, in tiles. With k sub-centres the kernel takes each class's largest product itself; the
// pre-pass picks the target's sub-centre and the post-pass gives the target entry its whole
// gradient there (the kernel leaves it out), so both sides agree on the chosen sub-centre.
// ProxyNCA++ (formulas M.2) shares the passes: unit rows with F.normalize's floor, and the
// proxies' bias b_c = s (1 - |p^_c|^2) taken back in the post-pass.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "fusedloss/linear_ce.h"
#include "fusedloss/linear_ce_proxy.h"
#include "parallel.h"

namespace fl {
namespace {

constexpr int64_t kRowChunk = 64;
// F.normalize's eps (formulas M): proxyNCA's floor on a row's norm. The margin heads pass 0 (the
// caller refuses a zero row).
constexpr double kNormFloor = 1e-12;

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

// u = x scale / max(|x|, floor) by rows (as float32), norm = |x|.
void unit_rows(const float* x, int64_t n, int32_t dim, double scale, double floor, float* u,
               double* norm) {
  parallel_chunks(n, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * dim;
      double q = 0;
      for (int32_t d = 0; d < dim; ++d) q += static_cast<double>(r[d]) * r[d];
      norm[i] = std::sqrt(q);
      const double k = scale / std::max(norm[i], floor);
      for (int32_t d = 0; d < dim; ++d) u[i * dim + d] = static_cast<float>(r[d] * k);
    }
  });
}

// Through u = scale x / max(|x|, floor): dx = (g - u (u . g) / scale^2) scale / |x|, g the
// gradient wrt u; below the floor u is linear in x, dx = g scale / floor.
void normalisation_back(const double* g, const float* u, int32_t dim, double scale, double norm,
                        double floor, float* out) {
  if (norm < floor) {
    for (int32_t d = 0; d < dim; ++d) out[d] = static_cast<float>(g[d] * scale / floor);
    return;
  }
  double dot = 0;
  for (int32_t d = 0; d < dim; ++d) dot += u[d] * g[d];
  const double q = dot / (scale * scale), k = scale / norm;
  for (int32_t d = 0; d < dim; ++d) out[d] = static_cast<float>((g[d] - u[d] * q) * k);
}

// In place, rows in parallel: grad (n x dim, the gradient wrt the copies u = unit_rows(x)), plus
// what add(j, g) adds to row j's, becomes the gradient wrt x.
template <class Add>
void back_rows(float* grad, const float* u, int64_t n, int32_t dim, double scale,
               const double* norm, double floor, Add add) {
  parallel_chunks(n, kRowChunk, [&](int64_t, int64_t b, int64_t e) {
    std::vector<double> g(static_cast<size_t>(dim));
    for (int64_t j = b; j < e; ++j) {
      float* gj = grad + j * dim;
      for (int32_t d = 0; d < dim; ++d) g[d] = gj[d];
      add(j, g.data());
      normalisation_back(g.data(), u + j * dim, dim, scale, norm[j], floor, gj);
    }
  });
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
  unit_rows(pb.hidden, B, D, s, 0, u.data(), hn.data());
  unit_rows(pb.weight, R, D, 1, 0, v.data(), wn.data());

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
  if (Status st = kernel(q, p, o); !st.ok()) return st;

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
  back_rows(out.grad_hidden, u.data(), B, D, s, hn.data(), 0, [&](int64_t i, double* g) {
    if (delta[i] == 0) return;
    const float* w = v.data() + trow[i] * D;
    for (int32_t d = 0; d < D; ++d) g[d] += delta[i] * w[d];
  });
  back_rows(out.grad_weight, v.data(), R, D, 1, wn.data(), 0, [&](int64_t j, double* g) {
    for (int64_t n = first[j]; n < first[j + 1]; ++n) {
      const int64_t i = order[n];
      for (int32_t d = 0; d < D; ++d) g[d] += delta[i] * u[i * D + d];
    }
  });
  return linear_ce_output_fault(pb, out);
}

Status proxy_nca_linear(const ProxyProblem& pb, const ProxyNcaParams& p, const ProxyNcaOutputs& out,
                        const LinearCeKernel& kernel) {
  if (Status st = proxy_input_fault(pb); !st.ok()) return st;
  const int64_t B = pb.rows, C = pb.classes;
  const int32_t D = pb.dim;
  const double s = p.scale;
  // The kernel's logits are (2 s x^) . p^ + b_c.
  std::vector<float> u(static_cast<size_t>(B * D)), v(static_cast<size_t>(C * D));
  std::vector<double> xn(static_cast<size_t>(B)), pn(static_cast<size_t>(C));
  unit_rows(pb.embeddings, B, D, 2 * s, kNormFloor, u.data(), xn.data());
  unit_rows(pb.proxies, C, D, 1, kNormFloor, v.data(), pn.data());
  // |p^_c| is 1, or |p_c| / floor below the floor.
  std::vector<float> bias(static_cast<size_t>(C)), grad_bias(static_cast<size_t>(C), 0.0f);
  for (int64_t c = 0; c < C; ++c) {
    const double r = std::min(pn[c] / kNormFloor, 1.0);
    bias[c] = static_cast<float>(s * (1 - r * r));
  }

  LinearCeProblem q;
  q.hidden = u.data();
  q.weight = v.data();
  q.bias = bias.data();
  q.targets = pb.labels;
  q.rows = B;
  q.classes = C;
  q.dim = D;
  LinearCeParams lp;
  lp.ignore_index = -1;  // never a label here: proxy_input_fault refused any outside [0, C)
  lp.reduction = p.reduction;
  LinearCeOutputs o;
  o.loss = out.loss;
  o.row_loss = out.row_loss;
  o.grad_hidden = out.grad_embeddings;
  o.grad_weight = out.grad_proxies;
  o.grad_bias = grad_bias.data();
  if (Status st = kernel(q, lp, o); !st.ok()) return st;

  // dL/dp^_c gains dL/db_c db_c/dp^_c = -2 s dL/db_c p^_c below the floor (above it b_c is 0
  // whatever p_c); then both sides go through the normalisation.
  back_rows(out.grad_embeddings, u.data(), B, D, 2 * s, xn.data(), kNormFloor,
            [](int64_t, double*) {});
  back_rows(out.grad_proxies, v.data(), C, D, 1, pn.data(), kNormFloor, [&](int64_t c, double* g) {
    if (pn[c] >= kNormFloor) return;
    const double k = -2 * s * grad_bias[c];
    for (int32_t d = 0; d < D; ++d) g[d] += k * v[c * D + d];
  });
  return Status{};
}

}  // namespace fl
