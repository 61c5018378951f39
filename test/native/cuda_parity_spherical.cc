// cuda_parity, the spherical family and the softmax losses: the GPU entry points held against the
// CPU kernels (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
enum class Rows { Normal, Huge, Constant, FarFromZero };

struct ClassCase {
  int64_t rows;
  int32_t classes;
  Rows kind;
  fl::Reduction reduction;
  bool weighted;  // softmax only: row and class weights, one ignored row
  uint64_t seed;
};

struct ClassData {
  std::vector<float> x, w, cw;
  std::vector<int32_t> y;
  fl::ClassProblem pb;
  fl::SoftmaxWeights sw;
};

ClassData make_class(const ClassCase& c) {
  Rng rng(c.seed);
  ClassData d;
  d.x.resize(static_cast<size_t>(c.rows) * c.classes);
  for (size_t i = 0; i < d.x.size(); ++i) {
    const double v = rng.normal();
    const size_t row = i / c.classes;
    switch (c.kind) {
      case Rows::Normal:
        d.x[i] = static_cast<float>(3 * v);
        break;
      case Rows::Huge:  // logits of +-1e4: softmaxes pinned at 0 or 1
        d.x[i] = static_cast<float>(1e4 * (v > 0 ? 1 : -1) * (0.5 + 0.5 * rng.uniform()));
        break;
      case Rows::Constant:  // every logit of a row equal (Z-loss: zero variance)
        d.x[i] = static_cast<float>(row % 7) - 3.0f;
        break;
      case Rows::FarFromZero:  // |mean| >> std
        d.x[i] = static_cast<float>(1e4 + 0.01 * v);
        break;
    }
  }
  for (int64_t r = 0; r < c.rows; ++r) d.y.push_back(static_cast<int32_t>(rng.next() % c.classes));
  d.pb = fl::ClassProblem{d.x.data(), c.rows, c.classes, d.y.data()};
  if (c.weighted) {
    for (int64_t r = 0; r < c.rows; ++r) d.w.push_back(static_cast<float>(2 * rng.uniform()));
    for (int32_t k = 0; k < c.classes; ++k) d.cw.push_back(static_cast<float>(0.5 + rng.uniform()));
    d.y[c.rows / 2] = -100;  // ignored
    d.sw.weights = d.w.data();
    d.sw.class_weights = d.cw.data();
  }
  return d;
}

std::string describe(const ClassCase& c, const char* loss) {
  static const char* kinds[] = {"normal", "+-1e4", "constant", "mean>>std"};
  static const char* reductions[] = {"mean", "sum", "none"};
  char buf[160];
  std::snprintf(buf, sizeof buf, "%-16s rows %6lld C %7d %-9s %-4s%s", loss,
                static_cast<long long>(c.rows), c.classes, kinds[static_cast<int>(c.kind)],
                reductions[static_cast<int>(c.reduction)], c.weighted ? " weighted" : "");
  return buf;
}

// Runs one loss on both backends through `call(backend_is_gpu, outputs)` and compares.
template <class Call>
void run_class_case(const std::string& what, const ClassCase& c, Call call) {
  const size_t n = static_cast<size_t>(c.rows) * c.classes;
  std::vector<float> g_cpu(n), g_gpu(n), r_cpu(c.rows), r_gpu(c.rows);
  double l_cpu = 0, l_gpu = 0;
  const Status s_cpu = call(false, fl::LossOutputs{&l_cpu, r_cpu.data(), g_cpu.data()});
  const Status s_gpu = call(true, fl::LossOutputs{&l_gpu, r_gpu.data(), g_gpu.data()});
  if (!s_cpu.ok() || !s_gpu.ok()) {
    report(false, what + ": cpu " + status_text(s_cpu) + ", gpu " + status_text(s_gpu));
    return;
  }
  const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1e-30, std::fabs(l_cpu));
  const double grel = grad_error(g_cpu, g_gpu);
  const double rrel = c.reduction == fl::Reduction::None ? grad_error(r_cpu, r_gpu) : 0;
  const bool ok = std::isfinite(l_gpu) && (ldiff <= kLossTol || l_cpu == l_gpu) &&
                  grel <= kGradTol && rrel <= kLossTol;
  char buf[120];
  std::snprintf(buf, sizeof buf, ": loss %.2e, grad %.2e, rows %.2e", ldiff, grel, rrel);
  report(ok, what + buf);
}

}  // namespace

void spherical_cases(uint64_t& seed) {
  static const char* names[] = {"zLoss", "spherical mse", "log-spherical", "log-taylor"};
  for (int kind = 0; kind < 4; ++kind)
    for (auto [rows, classes] : std::vector<std::pair<int64_t, int32_t>>{
             {1, 1}, {31, 2}, {33, 10}, {1000, 33}, {257, 1000}, {5, 1024}, {3, 50000}})
      for (Rows rk : {Rows::Normal, Rows::Constant, Rows::FarFromZero}) {
        if (kind != 0 && rk == Rows::FarFromZero) continue;  // only Z-loss is shift-invariant
        // With two classes z = +-1 and the Z-loss gradient vanishes: with std 0.01 its float
        // noise is ~1e-5 on each backend, neither zero nor comparable.
        if (classes == 2 && rk == Rows::FarFromZero) continue;
        const ClassCase c{rows,  classes, rk, static_cast<fl::Reduction>((rows + kind) % 3),
                          false, seed++};
        ClassData d = make_class(c);
        fl::SphericalParams sp;
        sp.kind = static_cast<fl::SphericalKind>(kind);
        sp.a = kind == 0 ? 2 : 1;
        sp.b = kind == 0 ? 0.5 : 0;
        run_class_case(describe(c, names[kind]), c, [&](bool on_gpu, const fl::LossOutputs& o) {
          return on_gpu ? gpu::spherical_loss(d.pb, sp, c.reduction, o)
                        : fl::spherical_loss_cpu(d.pb, sp, c.reduction, o);
        });
      }
  // A row of 10^6 classes, split across one block.
  const ClassCase big{1, 1000000, Rows::Normal, fl::Reduction::Mean, false, seed++};
  ClassData d = make_class(big);
  run_class_case(describe(big, "zLoss"), big, [&](bool on_gpu, const fl::LossOutputs& o) {
    return on_gpu ? gpu::spherical_loss(d.pb, fl::SphericalParams{}, big.reduction, o)
                  : fl::spherical_loss_cpu(d.pb, fl::SphericalParams{}, big.reduction, o);
  });
}

void softmax_cases(uint64_t& seed) {
  struct Form {
    const char* name;
    fl::SoftmaxParams sp;
  };
  std::vector<Form> forms(9);
  forms[0].name = "ce";
  forms[1].name = "ce smooth 0.1";
  forms[1].sp.smoothing = 0.1;
  forms[1].sp.temperature = 2;
  forms[2].name = "comp-sum 0.5";
  forms[2].sp.form = fl::SoftmaxForm::CompSum;
  forms[2].sp.tau = 0.5;
  forms[3].name = "gce 0.7";
  forms[3].sp.form = fl::SoftmaxForm::CompSum;
  forms[3].sp.tau = 1.7;
  forms[3].sp.scale = 1 / 0.7;
  forms[4].name = "focal 2";
  forms[4].sp.form = fl::SoftmaxForm::Focal;
  forms[4].sp.alpha = 0.25;
  forms[5].name = "ldr-kl";
  forms[5].sp.form = fl::SoftmaxForm::LdrKl;
  forms[5].sp.lambda = 2;
  forms[5].sp.margin = 0.5;
  forms[6].name = "mae";
  forms[6].sp.form = fl::SoftmaxForm::CompSum;
  forms[6].sp.tau = 2;
  forms[6].sp.scale = 2;
  forms[7].name = "ce smooth 0.1 softcap 5 z-loss 0.01";  // formulas G.8
  forms[7].sp.smoothing = 0.1;
  forms[7].sp.softcap = 5;
  forms[7].sp.lse_square = 0.01;
  forms[8].name = "focal softcap 2";
  forms[8].sp.form = fl::SoftmaxForm::Focal;
  forms[8].sp.softcap = 2;
  for (const Form& f : forms)
    for (auto [rows, classes] : std::vector<std::pair<int64_t, int32_t>>{
             {1, 1}, {31, 2}, {33, 10}, {1000, 33}, {64, 1000}, {5, 1024}, {3, 50000}})
      for (Rows rk : {Rows::Normal, Rows::Huge})
        for (bool weighted : {false, true}) {
          if (weighted && rows < 3) continue;
          const ClassCase c{rows,     classes,
                            rk,       static_cast<fl::Reduction>((rows + weighted) % 3),
                            weighted, seed++};
          ClassData d = make_class(c);
          run_class_case(describe(c, f.name), c, [&](bool on_gpu, const fl::LossOutputs& o) {
            return on_gpu ? gpu::softmax_loss(d.pb, d.sw, f.sp, c.reduction, o)
                          : fl::softmax_loss_cpu(d.pb, d.sw, f.sp, c.reduction, o);
          });
        }
}

// Invalid logits and targets must be named exactly as the CPU names them.
void class_fault_cases(uint64_t& seed) {
  for (int which : {0, 1}) {
    const ClassCase c{300, 40, Rows::Normal, fl::Reduction::Mean, false, seed++};
    ClassData d = make_class(c);
    if (which == 0) d.x[211 * 40 + 7] = INFINITY;
    if (which == 1) d.y[123] = 40;
    fl::SphericalParams sp;
    double l = 0;
    std::vector<float> g(d.x.size());
    const fl::LossOutputs o{&l, nullptr, g.data()};
    const Status a = fl::spherical_loss_cpu(d.pb, sp, c.reduction, o);
    const Status b = gpu::spherical_loss(d.pb, sp, c.reduction, o);
    const Status e = fl::softmax_loss_cpu(d.pb, d.sw, fl::SoftmaxParams{}, c.reduction, o);
    const Status f = gpu::softmax_loss(d.pb, d.sw, fl::SoftmaxParams{}, c.reduction, o);
    const bool ok = !a.ok() && a.fault == b.fault && a.index == b.index && !e.ok() &&
                    e.fault == f.fault && e.index == f.index;
    report(ok, describe(c, which == 0 ? "inf logit" : "bad target") + ": cpu " + status_text(a) +
                   ", gpu " + status_text(b) + "; softmax cpu " + status_text(e) + ", gpu " +
                   status_text(f));
  }
}

}  // namespace parity
