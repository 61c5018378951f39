// cuda_parity, fused linear cross-entropy (linear_ce.h): the GPU entry points held against the CPU
// kernels (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
struct LinearCase {
  int64_t rows, classes;
  int32_t dim;
  bool bias, weighted;                        // bias; row and class weights with ignored rows
  double smoothing, z_scale, softcap, scale;  // scale: of hidden's entries (logits up to ~scale^2)
  fl::Reduction reduction;
  uint64_t seed;
  bool target_logit = false;  // the margin heads' per-row target logits, and their gradient
  int32_t sub = 1;            // sub-centres per class (sub-center ArcFace's k)
};

void run_linear_case(const LinearCase& c, bool timed) {
  Rng rng(c.seed);
  const auto fill = [&](int64_t n, double scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = static_cast<float>(scale * rng.normal());
    return v;
  };
  const std::vector<float> h = fill(c.rows * c.dim, c.scale / std::sqrt(c.dim));
  const std::vector<float> w = fill(c.classes * c.sub * c.dim, c.scale), b = fill(c.classes, 1);
  std::vector<float> rw(c.rows), cw(c.classes);
  for (float& x : rw) x = static_cast<float>(0.25 + rng.uniform());
  for (float& x : cw) x = static_cast<float>(0.25 + rng.uniform());
  const std::vector<float> tz = fill(c.rows, 3);
  std::vector<int32_t> t(c.rows);
  for (int64_t i = 0; i < c.rows; ++i)
    t[i] = c.weighted && i % 7 == 0 ? -1 : rng.below(static_cast<int32_t>(c.classes));
  fl::LinearCeProblem pb;
  pb.hidden = h.data();
  pb.weight = w.data();
  pb.bias = c.bias ? b.data() : nullptr;
  pb.targets = t.data();
  pb.weights = c.weighted ? rw.data() : nullptr;
  pb.class_weights = c.weighted ? cw.data() : nullptr;
  pb.target_logit = c.target_logit ? tz.data() : nullptr;
  pb.rows = c.rows;
  pb.classes = c.classes;
  pb.dim = c.dim;
  pb.sub_centers = c.sub;
  fl::LinearCeParams p;
  p.ignore_index = -1;
  p.smoothing = c.smoothing;
  p.lse_square_scale = c.z_scale;
  p.softcap = c.softcap;
  p.reduction = c.reduction;
  struct Out {
    std::vector<float> gh, gw, gb, rows, lse, gt;
    double loss = 0;
    fl::LinearCeOutputs o;
  };
  const auto outputs = [&](Out& r) {
    r.gh.assign(h.size(), 0), r.gw.assign(w.size(), 0), r.gb.assign(c.classes, 0);
    r.rows.assign(c.rows, 0), r.lse.assign(c.rows, 0), r.gt.assign(c.rows, 0);
    r.o = fl::LinearCeOutputs{
        &r.loss,      c.reduction == fl::Reduction::None ? r.rows.data() : nullptr,
        r.lse.data(), r.gh.data(),
        r.gw.data(),  c.bias ? r.gb.data() : nullptr};
    if (c.target_logit) r.o.grad_target = r.gt.data();
  };
  Out cpu, dev;
  outputs(cpu);
  outputs(dev);
  const Status a = fl::linear_ce_cpu(pb, p, cpu.o);
  const auto t0 = std::chrono::steady_clock::now();
  const Status g = gpu::linear_ce(pb, p, dev.o);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  char buf[240];
  std::snprintf(buf, sizeof buf, "linear_ce B %5lld C %6lld D %4d%s%s eps %.2f z %.0e cap %g x%g",
                static_cast<long long>(c.rows), static_cast<long long>(c.classes), c.dim,
                c.bias ? " bias" : "", c.weighted ? " weighted" : "", c.smoothing, c.z_scale,
                c.softcap, c.scale);
  std::string what = buf;
  if (c.target_logit) what += " target logits";
  if (c.sub > 1) what += " k " + std::to_string(c.sub);
  if (!a.ok() || !g.ok()) {
    report(false, what + ": cpu " + status_text(a) + ", gpu " + status_text(g));
    return;
  }
  const double ldiff = std::fabs(cpu.loss - dev.loss) / std::max(1.0, std::fabs(cpu.loss));
  const double grel =
      std::max({grad_error(cpu.gh, dev.gh), grad_error(cpu.gw, dev.gw), grad_error(cpu.gb, dev.gb),
                grad_error(cpu.rows, dev.rows), grad_error(cpu.gt, dev.gt)});
  const double lrel = grad_error(cpu.lse, dev.lse);
  std::snprintf(buf, sizeof buf, ": loss %.2e, grads %.2e, lse %.2e", ldiff, grel, lrel);
  what += buf;
  if (timed) {
    const fl::GpuTimes tm = gpu::last_times();
    const double gflops = 6.0 * c.rows * c.classes * c.dim / (tm.kernels_ms * 1e6);
    std::snprintf(buf, sizeof buf,
                  " | wall %.2f ms: in %.2f, kernels %.2f (%.0f GFLOP/s as 6BCD), out %.2f",
                  wall_ms, tm.upload_ms, tm.kernels_ms, gflops, tm.download_ms);
    what += buf;
  }
  report(std::isfinite(dev.loss) && ldiff <= kLossTol && grel <= kGradTol && lrel <= 1e-5, what);
}

}  // namespace

// Odd sizes around a 64-row tile on both sides, every option, logits of about +-80 before a soft
// cap, one class, every row ignored. On a device also the bench size (B 4096, D 256, C 32768).
void linear_cases(uint64_t& seed, bool timed) {
  using R = fl::Reduction;
  const std::vector<std::tuple<int64_t, int64_t, int32_t>> sizes = {
      {1, 1, 1}, {7, 33, 1}, {33, 7, 65}, {65, 130, 17}, {130, 1, 33}, {200, 1031, 7}};
  for (auto [B, C, D] : sizes) {
    run_linear_case({B, C, D, false, false, 0, 0, 0, 1, R::Mean, seed++}, false);
    run_linear_case({B, C, D, true, true, 0.1, 1e-3, 0, 1, R::Mean, seed++}, false);
    run_linear_case({B, C, D, true, true, 0.05, 1e-4, 4, 1, R::None, seed++}, false);
    run_linear_case({B, C, D, false, true, 0.2, 0, 0, 1, R::Sum, seed++}, false);
    run_linear_case({B, C, D, false, true, 0.1, 1e-3, 0, 1, R::None, seed++, true}, false);
  }
  run_linear_case({70, 90, 1, true, false, 0, 1e-4, 30, 9, R::Mean, seed++}, false);  // +-80
  run_linear_case({70, 90, 1, false, false, 0, 0, 0, 9, R::Mean, seed++}, false);
  // Sub-center ArcFace: k rows per class, several classes a tile (k 2, 3) or one (k 64), with and
  // without the target logits, bias and every weight.
  const std::vector<std::tuple<int64_t, int64_t, int32_t, int32_t>> sub_sizes = {
      {1, 1, 1, 2},     {7, 33, 7, 3},    {33, 7, 65, 2},
      {65, 101, 17, 2}, {130, 23, 33, 3}, {7, 5, 7, 64}};
  for (auto [B, C, D, k] : sub_sizes) {
    run_linear_case({B, C, D, false, true, 0.1, 1e-3, 0, 1, R::Mean, seed++, true, k}, false);
    run_linear_case({B, C, D, true, true, 0.05, 0, 0, 1, R::None, seed++, true, k}, false);
    run_linear_case({B, C, D, true, false, 0, 1e-4, 4, 1, R::Sum, seed++, false, k}, false);
  }
  if (timed) {
    run_linear_case({4099, 4099, 33, true, true, 0.1, 1e-4, 30, 1, R::Mean, seed++}, false);
    run_linear_case({4096, 32768, 256, false, false, 0, 0, 0, 1, R::Mean, seed++}, true);
  }
}

}  // namespace parity
