// cuda_parity, the pairwise family: the GPU entry points held against the CPU kernels
// (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
enum class PairLabels { Classes, AllEqual, AllUnique, Duplicated };

struct PairCase {
  int64_t n, m;  // m > 0: cross-batch against m reference rows
  int32_t dim;
  PairLabels labels;
  bool normalize;
  uint64_t seed;
  // Rows the loss's precision holds exactly: normalised, their low bits cleared, passed with
  // normalize false (PairParams::precision's rounding is then exact).
  bool exact_inputs = false;
};

struct PairLossForm {
  const char* name;
  fl::PairParams p;
};

// Agreement with the CPU per precision (PairParams::precision), as PRECISION_TOL in
// test/pairs.precision.test.ts, which says why: FP32's is every backend's; TF32 and BF16 round
// the products' inputs to 10 and 7 mantissa bits. grad is for the losses that weigh pairs
// smoothly (hard_rule below: not checked on random rows); exact_grad for exact inputs.
struct Tolerance {
  double loss, grad, exact_grad;
};
Tolerance precision_tolerance(fl::PairPrecision p) {
  switch (p) {
    case fl::PairPrecision::Tf32:
      return {3e-4, 1e-2, 0x1p-10};
    case fl::PairPrecision::Bf16:
      return {2e-3, 8e-2, 0x1p-7};
    default:
      return {kLossTol, kGradTol, kGradTol};
  }
}

// The losses that choose pairs by a hard rule (the hardest pair, the hinge at the margin): a pair
// within S's rounding of the boundary can change sides and move an anchor's gradient.
bool hard_rule(fl::PairLoss loss) {
  return loss == fl::PairLoss::Contrastive || loss == fl::PairLoss::TripletBatchHard;
}

// The bits of a float that PairParams::precision keeps.
uint32_t precision_mask(fl::PairPrecision p) {
  return p == fl::PairPrecision::Tf32   ? 0xffffe000u
         : p == fl::PairPrecision::Bf16 ? 0xffff0000u
                                        : 0xffffffffu;
}

const char* precision_name(fl::PairPrecision p) {
  return p == fl::PairPrecision::Tf32 ? "tf32" : p == fl::PairPrecision::Bf16 ? "bf16" : "fp32";
}

std::vector<PairLossForm> pair_forms() {
  std::vector<PairLossForm> f(9);
  f[0].name = "ms pml";
  f[1].name = "ms paper";
  f[1].p.semantics = fl::MsSemantics::Paper;
  f[2].name = "contrastive";
  f[2].p.loss = fl::PairLoss::Contrastive;
  f[2].p.neg_margin = 1.2;
  f[3].name = "triplet hinge";
  f[3].p.loss = fl::PairLoss::TripletBatchHard;
  f[3].p.margin = 0.3;
  f[4].name = "triplet soft";
  f[4].p.loss = fl::PairLoss::TripletBatchHard;
  f[4].p.soft_margin = true;
  f[5].name = "circle";
  f[5].p.loss = fl::PairLoss::Circle;
  f[6].name = "supcon";
  f[6].p.loss = fl::PairLoss::SupCon;
  f[7].name = "ntxent";
  f[7].p.loss = fl::PairLoss::NtXent;
  f[8].name = "opl";
  f[8].p.loss = fl::PairLoss::OrthogonalProjection;
  f[8].p.gamma = 0.5;
  return f;
}

// Rows of N(0, 1) values (small ones without normalisation, so gamma = 80 and 1 / tau stay in
// float range); duplicated: every fourth row repeated in the next, across classes too.
std::vector<float> pair_rows(int64_t n, int32_t dim, bool normalize, bool duplicated, Rng& rng) {
  std::vector<float> x(static_cast<size_t>(n) * dim);
  for (float& v : x) v = static_cast<float>((normalize ? 1.0 : 0.15) * rng.normal());
  if (duplicated)
    for (int64_t i = 0; i + 1 < n; i += 4)
      std::copy(x.begin() + i * dim, x.begin() + (i + 1) * dim, x.begin() + (i + 1) * dim);
  return x;
}

// Each row normalised, then its low bits cleared as the precision rounds them (truncated: the norms
// stay near 1).
void exact_rows(std::vector<float>& x, int32_t dim, fl::PairPrecision p) {
  const uint32_t mask = precision_mask(p);
  for (size_t i = 0; i < x.size(); i += dim) {
    double norm = 0;
    for (int32_t k = 0; k < dim; ++k) norm += static_cast<double>(x[i + k]) * x[i + k];
    for (int32_t k = 0; k < dim; ++k) {
      uint32_t b;
      const float v = static_cast<float>(x[i + k] / std::sqrt(norm));
      std::memcpy(&b, &v, sizeof b);
      b &= mask;
      std::memcpy(&x[i + k], &b, sizeof b);
    }
  }
}

std::vector<int32_t> pair_labels(int64_t n, PairLabels kind, Rng& rng) {
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i)
    y[i] = kind == PairLabels::AllEqual    ? 3
           : kind == PairLabels::AllUnique ? static_cast<int32_t>(1000 - i)
                                           : static_cast<int32_t>(rng.next() % 5);
  return y;
}

void run_pair_case(const PairCase& c, const PairLossForm& f, bool timed) {
  Rng rng(c.seed);
  const bool dup = c.labels == PairLabels::Duplicated;
  std::vector<float> x = pair_rows(c.n, c.dim, c.normalize, dup, rng);
  std::vector<int32_t> y = pair_labels(c.n, c.labels, rng);
  std::vector<float> r = pair_rows(c.m, c.dim, c.normalize, dup, rng);
  std::vector<int32_t> ry = pair_labels(c.m, c.labels, rng);
  if (c.exact_inputs)
    for (std::vector<float>* rows : {&x, &r}) exact_rows(*rows, c.dim, f.p.precision);
  fl::PairProblem pb;
  pb.x = x.data();
  pb.labels = y.data();
  pb.n = c.n;
  pb.dim = c.dim;
  pb.normalize = c.normalize && !c.exact_inputs;
  if (c.m > 0) {
    pb.ref = r.data();
    pb.ref_labels = ry.data();
    pb.m = c.m;
  }
  std::vector<float> g_cpu(x.size()), g_gpu(x.size()), rg_cpu(r.size()), rg_gpu(r.size());
  double l_cpu = 0, l_gpu = 0;
  const Status a = fl::pair_loss_cpu(pb, f.p, &l_cpu, g_cpu.data(), rg_cpu.data());
  const auto t0 = std::chrono::steady_clock::now();
  const Status b = gpu::pair_loss(pb, f.p, &l_gpu, g_gpu.data(), rg_gpu.data());
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  static const char* labels[] = {"5 classes", "all equal", "all unique", "duplicated"};
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-13s %s N %5lld M %4lld D %3d %-10s %s", f.name,
                precision_name(f.p.precision), static_cast<long long>(c.n),
                static_cast<long long>(c.m), c.dim, labels[static_cast<int>(c.labels)],
                c.exact_inputs ? "exact"
                : c.normalize  ? "normalized"
                               : "raw");
  std::string what = buf;
  if (!a.ok() || !b.ok()) {
    report(false, what + ": cpu " + status_text(a) + ", gpu " + status_text(b));
    return;
  }
  const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1.0, std::fabs(l_cpu));
  const double grel = std::max(grad_error(g_cpu, g_gpu), grad_error(rg_cpu, rg_gpu));
  std::snprintf(buf, sizeof buf, ": loss %.2e, grad %.2e", ldiff, grel);
  what += buf;
  if (timed) {
    const fl::GpuTimes t = gpu::last_times();
    std::snprintf(buf, sizeof buf, " | wall %.3f ms: in %.3f, kernels %.3f, out %.3f", wall_ms,
                  t.upload_ms, t.kernels_ms, t.download_ms);
    what += buf;
  }
  const Tolerance tol = precision_tolerance(f.p.precision);
  const bool fp32 = f.p.precision == fl::PairPrecision::Fp32;
  const double loss_tol = c.exact_inputs ? kLossTol : tol.loss;
  const double grad_tol = c.exact_inputs                 ? tol.exact_grad
                          : fp32 || !hard_rule(f.p.loss) ? tol.grad
                                                         : INFINITY;
  report(std::isfinite(l_gpu) && ldiff <= loss_tol && grel <= grad_tol, what);
}

}  // namespace

// Every loss at sizes around one 64-row tile, the label patterns that empty a half, duplicated
// rows, widths off the 16-wide slices, both normalisations; cross-batch Multi-Similarity. N =
// 4099 (65 tiles a side) runs on a device only: in the simulator it would take minutes.
void pair_cases(uint64_t& seed, bool timed) {
  const std::vector<PairLossForm> forms = pair_forms();
  for (const PairLossForm& f : forms) {
    for (auto [n, dim] : std::vector<std::pair<int64_t, int32_t>>{{1, 3}, {2, 5}, {3, 7}, {65, 17}})
      for (PairLabels lb : {PairLabels::Classes, PairLabels::AllEqual, PairLabels::AllUnique})
        for (bool normalize : {true, false})
          run_pair_case({n, 0, dim, lb, normalize, seed++}, f, false);
    run_pair_case({48, 0, 10, PairLabels::Duplicated, true, seed++}, f, false);
    run_pair_case({130, 0, 33, PairLabels::Classes, true, seed++}, f, false);
    run_pair_case({1000, 0, 24, PairLabels::Classes, true, seed++}, f, false);
    if (timed) run_pair_case({4099, 0, 6, PairLabels::Classes, true, seed++}, f, false);
  }
  for (int semantics = 0; semantics < 2; ++semantics) {
    PairLossForm f = forms[semantics];
    for (bool normalize : {true, false})
      run_pair_case({70, 130, 17, PairLabels::Classes, normalize, seed++}, f, false);
    run_pair_case({3, 1, 5, PairLabels::AllEqual, true, seed++}, f, false);
    if (timed) run_pair_case({4099, 1000, 128, PairLabels::Classes, true, seed++}, f, false);
  }
  // TF32 and BF16 (every loss on similarity tiles: all but OPL) at odd sizes, and timed on a
  // device next to FP32.
  for (fl::PairPrecision precision : {fl::PairPrecision::Tf32, fl::PairPrecision::Bf16}) {
    for (PairLossForm f : forms) {
      if (f.p.loss == fl::PairLoss::OrthogonalProjection) continue;
      f.p.precision = precision;
      for (bool normalize : {true, false}) {
        run_pair_case({65, 0, 17, PairLabels::Classes, normalize, seed++}, f, false);
        run_pair_case({130, 0, 33, PairLabels::Classes, normalize, seed++}, f, false);
      }
      run_pair_case({130, 0, 33, PairLabels::Classes, false, seed++, true}, f, false);
      if (f.p.loss == fl::PairLoss::MultiSimilarity) {
        run_pair_case({70, 130, 17, PairLabels::Classes, true, seed++}, f, false);
        run_pair_case({70, 130, 17, PairLabels::Classes, false, seed++, true}, f, false);
      }
    }
  }
  if (timed)
    for (PairLossForm f : forms)
      for (fl::PairPrecision precision :
           {fl::PairPrecision::Fp32, fl::PairPrecision::Tf32, fl::PairPrecision::Bf16}) {
        if (precision != fl::PairPrecision::Fp32 && f.p.loss == fl::PairLoss::OrthogonalProjection)
          continue;
        f.p.precision = precision;
        run_pair_case({8192, 0, 128, PairLabels::Classes, true, seed++}, f, true);
      }
}

}  // namespace parity
