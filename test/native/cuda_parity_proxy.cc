// cuda_parity, ProxyAnchor (proxy.h): the GPU entry points held against the CPU kernels
// (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
void run_proxy_case(int64_t rows, int64_t classes, int32_t dim, double alpha, double margin,
                    fl::Reduction reduction, uint64_t seed, bool timed) {
  Rng rng(seed);
  const auto fill = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = static_cast<float>(rng.normal());
    return v;
  };
  const std::vector<float> x = fill(rows * dim), w = fill(classes * dim);
  std::vector<int32_t> y(static_cast<size_t>(rows));
  for (int32_t& v : y) v = rng.below(static_cast<int32_t>(classes));
  fl::ProxyProblem pb;
  pb.embeddings = x.data();
  pb.proxies = w.data();
  pb.labels = y.data();
  pb.rows = rows;
  pb.classes = classes;
  pb.dim = dim;
  const fl::ProxyAnchorParams p{alpha, margin, reduction};
  std::vector<float> cx(x.size()), cw(w.size()), gx(x.size()), gw(w.size());
  double cl = 0, gl = 0;
  const Status a = fl::proxy_anchor_cpu(pb, p, {&cl, cx.data(), cw.data()});
  const auto t0 = std::chrono::steady_clock::now();
  const Status g = gpu::proxy_anchor(pb, p, {&gl, gx.data(), gw.data()});
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char buf[240];
  std::snprintf(buf, sizeof buf, "proxy_anchor B %5lld C %6lld D %4d alpha %g margin %g%s",
                static_cast<long long>(rows), static_cast<long long>(classes), dim, alpha, margin,
                reduction == fl::Reduction::Sum ? " sum" : "");
  std::string what = buf;
  if (!a.ok() || !g.ok()) {
    report(false, what + ": cpu " + status_text(a) + ", gpu " + status_text(g));
    return;
  }
  const double ldiff = std::fabs(cl - gl) / std::max(1.0, std::fabs(cl));
  const double grel = std::max(grad_error(cx, gx), grad_error(cw, gw));
  std::snprintf(buf, sizeof buf, ": loss %.2e, grads %.2e", ldiff, grel);
  what += buf;
  if (timed) {
    const fl::GpuTimes tm = gpu::last_times();
    std::snprintf(buf, sizeof buf, " | wall %.2f ms: in %.2f, kernels %.2f, out %.2f", wall_ms,
                  tm.upload_ms, tm.kernels_ms, tm.download_ms);
    what += buf;
  }
  report(std::isfinite(gl) && ldiff <= kLossTol && grel <= kGradTol, what);
}

}  // namespace

// Odd sizes around a 64-row tile on both sides; most proxies without a positive (C >> B); a large
// alpha. On a device also a bench size.
void proxy_cases(uint64_t& seed, bool timed) {
  using R = fl::Reduction;
  const std::vector<std::tuple<int64_t, int64_t, int32_t>> sizes = {
      {1, 1, 1}, {7, 33, 1}, {33, 7, 65}, {65, 130, 17}, {130, 1, 33}, {33, 1031, 7}};
  for (auto [B, C, D] : sizes) {
    run_proxy_case(B, C, D, 32, 0.1, R::Mean, seed++, false);
    run_proxy_case(B, C, D, 1000, 0.5, R::Sum, seed++, false);
  }
  if (timed) run_proxy_case(4096, 8192, 256, 32, 0.1, R::Mean, seed++, true);
}

}  // namespace parity
