// The CUDA kernels held against the CPU kernels, with no Node involved: every GPU entry point on
// odd sizes, saturated and peaked inputs, one-class batches and invalid inputs, printing the
// largest errors of each case. Built twice from this file: cuda_parity_sim runs the kernels in
// the simulator (CI), cuda_parity on a real device, where it also prints kernel times.
//   cuda_parity [--require-device] [--family confusion|spherical|ranking|pairs|linear] [--untimed]
// exits 1 on any failed case (or, with --require-device, no device); --family runs one family and
// --untimed leaves out the timed sizes (both keep runs under compute-sanitizer short).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "fusedloss/confusion.h"
#include "fusedloss/confusion_math.h"
#include "fusedloss/gpu.h"
#include "fusedloss/linear_ce.h"
#include "fusedloss/pairs.h"
#include "fusedloss/proxy.h"
#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"
#include "fusedloss/spherical.h"
#include "xorshift.h"

#if defined(FL_PARITY_SIM)
namespace gpu = fl::sim;
constexpr const char* kBackend = "cuda-sim";
#else
#include "fusedloss/cuda_device.h"
namespace gpu = fl::cuda;
constexpr const char* kBackend = "cuda";
#endif

namespace {

using fl::ConfusionProblem;
using fl::Counts;
using fl::Status;

// Agreement required between backends (DESIGN.md, Numerics): loss within 1e-5 relative,
// gradient within 1e-4 of its largest magnitude, counts within 1e-5 of the batch weight.
constexpr double kLossTol = 1e-5, kGradTol = 1e-4, kCountTol = 1e-5;
constexpr double kZeroGrad = 1e-6;  // gradients this small everywhere are rounding noise

enum class Scores { Normal, Saturated, Peaked };
enum class Labels { Random, AllZero, AllOne };

struct Case {
  int64_t rows;
  int32_t classes;
  fl::Input input;
  fl::LabelType label_type;
  bool weighted;
  Scores scores;
  Labels labels;
  fl::Metric metric;
  fl::Average average;
  uint64_t seed;
};

struct Data {
  std::vector<float> x, w, soft;
  std::vector<uint8_t> u8;
  std::vector<int32_t> i32;
  ConfusionProblem pb;
};

Data make(const Case& c) {
  Rng rng(c.seed);
  Data d;
  const int64_t n = c.rows * c.classes;
  d.x.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    double v = rng.normal();
    if (c.scores == Scores::Saturated) v *= 1e4;  // sigmoids and softmaxes pinned at 0 or 1
    if (c.scores == Scores::Peaked) v = (i % c.classes == 0 ? 30 : 0) + 0.01 * v;
    if (c.input == fl::Input::Probabilities)
      v = c.scores == Scores::Normal ? rng.uniform() : (v > 0 ? 1.0 : 0.0);
    d.x[i] = static_cast<float>(v);
  }
  auto label = [&](int64_t) -> int32_t {
    if (c.labels == Labels::AllZero) return 0;
    if (c.labels == Labels::AllOne) return c.classes == 1 ? 1 : c.classes - 1;
    return static_cast<int32_t>(rng.next() % (c.classes == 1 ? 2 : c.classes));
  };
  d.pb.rows = c.rows;
  d.pb.classes = c.classes;
  d.pb.input = c.input;
  d.pb.label_type = c.label_type;
  d.pb.scores = d.x.data();
  switch (c.label_type) {
    case fl::LabelType::Float32:  // soft binary labels
      for (int64_t i = 0; i < c.rows; ++i)
        d.soft.push_back(c.labels == Labels::Random ? static_cast<float>(rng.uniform())
                                                    : static_cast<float>(label(i)));
      d.pb.labels = d.soft.data();
      break;
    case fl::LabelType::Uint8:
      for (int64_t i = 0; i < c.rows; ++i) d.u8.push_back(static_cast<uint8_t>(label(i)));
      d.pb.labels = d.u8.data();
      break;
    case fl::LabelType::Int32:
      for (int64_t i = 0; i < c.rows; ++i) d.i32.push_back(label(i));
      d.pb.labels = d.i32.data();
      break;
  }
  if (c.weighted) {
    for (int64_t i = 0; i < c.rows; ++i) d.w.push_back(static_cast<float>(2 * rng.uniform()));
    d.pb.weights = d.w.data();
  }
  return d;
}

std::string describe(const Case& c) {
  static const char* metrics[] = {"accuracy", "precision", "recall",  "specificity",
                                  "f1",       "fbeta",     "bal-acc", "gmean",
                                  "gmean2",   "mcc",       "jaccard"};
  static const char* scores[] = {"normal", "saturated", "peaked"};
  static const char* labels[] = {"random", "all-0", "all-1"};
  static const char* types[] = {"f32", "u8", "i32"};
  char buf[200];
  std::snprintf(buf, sizeof buf, "%-11s rows %6lld C %4d %-5s labels %s/%-6s%s %-9s %s",
                metrics[static_cast<int>(c.metric)], static_cast<long long>(c.rows), c.classes,
                c.input == fl::Input::Logits ? "logit" : "prob",
                types[static_cast<int>(c.label_type)], labels[static_cast<int>(c.labels)],
                c.weighted ? " w" : "  ", scores[static_cast<int>(c.scores)],
                c.average == fl::Average::Micro ? "micro" : "macro");
  return buf;
}

// max |got - ref| / max |ref|. A gradient that is zero in exact arithmetic (Z-loss with two
// classes: z is always +-1) comes out as float rounding noise on both backends: when both are
// below kZeroGrad everywhere they agree.
double grad_error(const std::vector<float>& ref, const std::vector<float>& got) {
  double rmax = 0, gmax = 0, diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    rmax = std::max(rmax, static_cast<double>(std::fabs(ref[i])));
    gmax = std::max(gmax, static_cast<double>(std::fabs(got[i])));
    diff = std::max(diff, static_cast<double>(std::fabs(ref[i] - got[i])));
  }
  if (rmax <= kZeroGrad && gmax <= kZeroGrad) return 0;
  return rmax > 0 ? diff / rmax : diff;
}

int passed = 0, failed = 0;

void report(bool ok, const std::string& what) {
  (ok ? passed : failed) += 1;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

std::string status_text(const Status& s) {
  if (s.ok()) return "ok";
  if (s.fault == fl::Fault::Cuda) return "CUDA: " + s.message;
  return "fault " + std::to_string(static_cast<int>(s.fault)) + " at " + std::to_string(s.index);
}

// AnyLoss and its counts on both backends.
void run_case(const Case& c, bool timed) {
  Data d = make(c);
  fl::MetricParams mp;
  mp.metric = c.metric;
  mp.beta = 2;
  const float amp = 73;
  const size_t n = d.x.size();
  std::vector<float> g_cpu(n), g_gpu(n);
  double l_cpu = 0, l_gpu = 0;
  const Status s_cpu = fl::anyloss_cpu(d.pb, amp, c.average, mp, &l_cpu, g_cpu.data());
  if (timed) gpu::anyloss(d.pb, amp, c.average, mp, &l_gpu, g_gpu.data());  // warm-up: buffers
  const auto t0 = std::chrono::steady_clock::now();
  const Status s_gpu = gpu::anyloss(d.pb, amp, c.average, mp, &l_gpu, g_gpu.data());
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!s_cpu.ok() || !s_gpu.ok()) {
    report(false, describe(c) + ": cpu " + status_text(s_cpu) + ", gpu " + status_text(s_gpu));
    return;
  }
  const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1.0, std::fabs(l_cpu));
  const double grel = grad_error(g_cpu, g_gpu);

  std::vector<Counts> k_cpu(c.classes), k_gpu(c.classes);
  std::vector<float> stash(n);
  const Status sc = fl::confusion_counts_cpu(d.pb, amp, k_cpu.data(), stash.data());
  const Status sg = gpu::confusion_counts(d.pb, amp, k_gpu.data());
  double total = 0, cdiff = 0;
  for (int32_t k = 0; k < c.classes; ++k) {
    const Counts& a = k_cpu[k];
    const Counts& b = k_gpu[k];
    total = std::max(total, a.tp + a.fn + a.fp + a.tn);
    cdiff = std::max({cdiff, std::fabs(a.tp - b.tp), std::fabs(a.fn - b.fn), std::fabs(a.fp - b.fp),
                      std::fabs(a.tn - b.tn)});
  }
  const double crel = cdiff / std::max(1.0, total);
  const bool ok = sc.ok() && sg.ok() && ldiff <= kLossTol && grel <= kGradTol &&
                  crel <= kCountTol && std::isfinite(l_gpu);
  char buf[160];
  std::snprintf(buf, sizeof buf, ": loss %.2e, grad %.2e, counts %.2e", ldiff, grel, crel);
  std::string line = describe(c) + buf;
  if (timed) {
    const fl::GpuTimes t = gpu::last_times();
    std::snprintf(buf, sizeof buf, " | wall %.3f ms: in %.3f, kernels %.3f, out %.3f", wall_ms,
                  t.upload_ms, t.kernels_ms, t.download_ms);
    line += buf;
  }
  report(ok, line);
}

// An invalid input must be named exactly as the CPU names it.
void run_fault_case(const Case& c, int64_t row, int which /* 0 score, 1 label, 2 weight */) {
  Data d = make(c);
  const int64_t k = c.classes - 1;
  if (which == 0) d.x[row * c.classes + k] = NAN;
  if (which == 1) {
    if (!d.soft.empty()) d.soft[row] = 2;
    if (!d.i32.empty()) d.i32[row] = c.classes;
    if (!d.u8.empty()) d.u8[row] = static_cast<uint8_t>(c.classes == 1 ? 2 : c.classes);
  }
  if (which == 2) d.w[row] = -1;
  fl::MetricParams mp;
  double l = 0;
  std::vector<float> g(d.x.size());
  const Status a = fl::anyloss_cpu(d.pb, 73, c.average, mp, &l, g.data());
  const Status b = gpu::anyloss(d.pb, 73, c.average, mp, &l, g.data());
  static const char* what[] = {"NaN score", "bad label", "negative weight"};
  const bool ok = !a.ok() && a.fault == b.fault && a.index == b.index;
  report(ok, describe(c) + ": " + what[which] + " in row " + std::to_string(row) + ": cpu " +
                 status_text(a) + ", gpu " + status_text(b));
}

// Binary cross-entropy and sigmoid focal loss: loss and gradient on both backends.
void elementwise_cases(uint64_t& seed) {
  for (int64_t rows : {1, 31, 33, 1000, 4097, 100000})
    for (Scores sc : {Scores::Normal, Scores::Saturated})
      for (fl::LabelType lt : {fl::LabelType::Float32, fl::LabelType::Uint8}) {
        const Case c{rows,
                     1,
                     fl::Input::Logits,
                     lt,
                     rows % 2 == 1,
                     sc,
                     Labels::Random,
                     fl::Metric::F1,
                     fl::Average::Macro,
                     seed++};
        Data d = make(c);
        const bool sum = rows % 3 == 0;
        const float gamma = rows % 2 ? 2.0f : 0.5f;
        for (int loss = 0; loss < 2; ++loss) {
          std::vector<float> g_cpu(rows), g_gpu(rows);
          double l_cpu = 0, l_gpu = 0;
          const Status a =
              loss == 0 ? fl::bce_cpu(d.pb, 1.5f, sum, &l_cpu, g_cpu.data())
                        : fl::sigmoid_focal_cpu(d.pb, gamma, 0.25f, sum, &l_cpu, g_cpu.data());
          const Status b = loss == 0
                               ? gpu::bce(d.pb, 1.5f, sum, &l_gpu, g_gpu.data())
                               : gpu::sigmoid_focal(d.pb, gamma, 0.25f, sum, &l_gpu, g_gpu.data());
          const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1e-30, std::fabs(l_cpu));
          const double grel = grad_error(g_cpu, g_gpu);
          char buf[160];
          std::snprintf(buf, sizeof buf, "%-16s rows %6lld %-9s labels %s%s: loss %.2e, grad %.2e",
                        loss == 0 ? "bce" : "sigmoid focal", static_cast<long long>(rows),
                        sc == Scores::Normal ? "normal" : "saturated",
                        lt == fl::LabelType::Float32 ? "soft" : "u8", c.weighted ? " w" : "", ldiff,
                        grel);
          report(a.ok() && b.ok() && ldiff <= kLossTol && grel <= kGradTol, buf);
        }
      }
}

// Dice, Tversky and self-adjusting Dice: global and per-example, both inputs.
void overlap_cases(uint64_t& seed) {
  struct Form {
    const char* name;
    fl::OverlapParams op;
  };
  std::vector<Form> forms(5);
  forms[0].name = "dice";
  forms[1].name = "dice squared";
  forms[1].op.exponent = 2;
  forms[2].name = "dice adjust 1";
  forms[2].op.adjust = 1;
  forms[3].name = "dice adjust .5 each";
  forms[3].op.adjust = 0.5f;
  forms[3].op.per_example = true;
  forms[4].name = "tversky .3 .7";
  forms[4].op.num_i = 1;
  forms[4].op.den_i = 0;
  forms[4].op.den_p = 0.3;
  forms[4].op.den_y = 0.7;
  for (const Form& f : forms)
    for (auto [rows, classes] : std::vector<std::pair<int64_t, int32_t>>{
             {1, 1}, {33, 1}, {4097, 1}, {31, 3}, {1000, 10}, {64, 1500}})
      for (fl::Input in : {fl::Input::Logits, fl::Input::Probabilities})
        for (Scores sc : {Scores::Normal, Scores::Peaked}) {
          const Case c{rows,
                       classes,
                       in,
                       classes == 1 ? fl::LabelType::Float32 : fl::LabelType::Int32,
                       rows % 2 == 1,
                       sc,
                       Labels::Random,
                       fl::Metric::F1,
                       fl::Average::Macro,
                       seed++};
          Data d = make(c);
          if (in == fl::Input::Probabilities && classes > 1)  // rows of a softmax
            for (int64_t r = 0; r < rows; ++r) {
              double total = 0;
              for (int32_t k = 0; k < classes; ++k) total += d.x[r * classes + k] + 1e-3;
              for (int32_t k = 0; k < classes; ++k)
                d.x[r * classes + k] = static_cast<float>((d.x[r * classes + k] + 1e-3) / total);
            }
          const size_t n = d.x.size();
          std::vector<float> g_cpu(n), g_gpu(n);
          double l_cpu = 0, l_gpu = 0;
          const Status a = fl::overlap_loss_cpu(d.pb, f.op, &l_cpu, g_cpu.data());
          const Status b = gpu::overlap_loss(d.pb, f.op, &l_gpu, g_gpu.data());
          const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1e-30, std::fabs(l_cpu));
          const double grel = grad_error(g_cpu, g_gpu);
          char buf[200];
          std::snprintf(
              buf, sizeof buf, "%-20s rows %5lld C %5d %-5s %-6s%s: loss %.2e, grad %.2e", f.name,
              static_cast<long long>(rows), classes, in == fl::Input::Logits ? "logit" : "prob",
              sc == Scores::Normal ? "normal" : "peaked", c.weighted ? " w" : "", ldiff, grel);
          report(a.ok() && b.ok() && ldiff <= kLossTol && grel <= kGradTol,
                 std::string(buf) +
                     (a.ok() && b.ok() ? "" : ": " + status_text(a) + " / " + status_text(b)));
        }
}

// ---- the spherical family and the softmax losses ----

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

// ---- the ranking family ----

struct ListLayout {
  const char* name;
  std::vector<int32_t> lengths;
  bool fixed;  // every list of lengths[0] items, cut by list_size (else ragged, by offsets)
  double padding;
  int grades;
  double scale;
};

struct Lists {
  std::vector<float> s, r;
  std::vector<int32_t> offsets;
  fl::RankingProblem pb;
};

// Scores normal times `scale`, relevance graded in [0, grades) (ties when few grades), a share of
// padded items (relevance -1, score NaN: never read).
Lists make_lists(const ListLayout& lay, uint64_t seed) {
  Rng rng(seed);
  Lists d;
  d.offsets.push_back(0);
  for (int32_t n : lay.lengths) d.offsets.push_back(d.offsets.back() + n);
  for (int32_t i = 0; i < d.offsets.back(); ++i) {
    const bool pad = rng.uniform() < lay.padding;
    d.r.push_back(pad ? -1.0f : static_cast<float>(rng.next() % lay.grades));
    d.s.push_back(pad ? NAN : static_cast<float>(lay.scale * rng.normal()));
  }
  d.pb.scores = d.s.data();
  d.pb.relevance = d.r.data();
  d.pb.lists = static_cast<int64_t>(lay.lengths.size());
  if (lay.fixed)
    d.pb.list_size = lay.lengths[0];
  else
    d.pb.offsets = d.offsets.data();
  return d;
}

// A list loss on either backend: call(on_gpu, pb, loss, grad).
using ListLoss = std::function<Status(bool, const fl::RankingProblem&, double*, float*)>;

std::vector<std::pair<std::string, ListLoss>> list_losses(const std::vector<float>& weights) {
  std::vector<std::pair<std::string, ListLoss>> all;
  static const char* forms[] = {"lse", "exact", "anchor"};
  for (int form = 0; form < 3; ++form)
    for (auto [skip, margin] :
         std::vector<std::pair<int32_t, float>>{{0, 0}, {2, 0.5f}, {0, 1.5f}}) {
      fl::RankListParams p;
      p.form = static_cast<fl::RankListForm>(form);
      p.skip = skip;
      p.margin = margin;
      char name[80];
      std::snprintf(name, sizeof name, "rankList %s skip %d margin %.1f", forms[form], skip,
                    margin);
      all.emplace_back(name, [p](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
        return gpu ? gpu::ranklist(pb, p, l, g) : fl::ranklist_cpu(pb, p, l, g);
      });
    }
  fl::ListMLEParams mle;
  fl::ListMLEParams shuffled;
  shuffled.ties = fl::Ties::Shuffle;
  shuffled.seed = 7;
  fl::ListMLEParams weighted;
  weighted.weights = weights.data();
  weighted.top_k = 3;
  for (auto [name, p] :
       std::vector<std::pair<const char*, fl::ListMLEParams>>{{"listMLE", mle},
                                                              {"listMLE shuffle seed 7", shuffled},
                                                              {"listMLE weights topK 3", weighted}})
    all.emplace_back(name, [p](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
      return gpu ? gpu::listmle(pb, p, l, g) : fl::listmle_cpu(pb, p, l, g);
    });
  for (auto [name, target, temp] : std::vector<std::tuple<const char*, fl::ListNetTarget, float>>{
           {"listNet", fl::ListNetTarget::Softmax, 1.0f},
           {"listNet normalize T 2", fl::ListNetTarget::Normalize, 2.0f}})
    all.emplace_back(name, [target = target, temp = temp](bool gpu, const fl::RankingProblem& pb,
                                                          double* l, float* g) {
      return gpu ? gpu::listnet(pb, target, temp, l, g) : fl::listnet_cpu(pb, target, temp, l, g);
    });
  for (auto [name, sigma, w] : std::vector<std::tuple<const char*, float, fl::PairWeighting>>{
           {"rankNet", 1.0f, fl::PairWeighting::None},
           {"rankNet sigma 2 label-diff", 2.0f, fl::PairWeighting::LabelDiff},
           {"rankNet label-diff-squared", 1.0f, fl::PairWeighting::LabelDiffSquared}})
    all.emplace_back(
        name, [sigma = sigma, w = w](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
          return gpu ? gpu::ranknet(pb, sigma, w, l, g) : fl::ranknet_cpu(pb, sigma, w, l, g);
        });
  for (auto [name, margin, per_item] : std::vector<std::tuple<const char*, float, bool>>{
           {"pairwiseHinge", 1.0f, true}, {"pairwiseHinge margin 0.5 per pair", 0.5f, false}})
    all.emplace_back(name, [margin = margin, per_item = per_item](
                               bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
      return gpu ? gpu::pairwise_hinge(pb, margin, per_item, l, g)
                 : fl::pairwise_hinge_cpu(pb, margin, per_item, l, g);
    });
  for (auto [name, t] : std::vector<std::pair<const char*, float>>{{"approxNDCG T 0.1", 0.1f},
                                                                   {"approxNDCG T 1", 1.0f}})
    all.emplace_back(name, [t = t](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
      return gpu ? gpu::approx_ndcg(pb, t, l, g) : fl::approx_ndcg_cpu(pb, t, l, g);
    });
  static const char* schemes[] = {"none", "lambdaRank", "ndcgLoss1", "ndcgLoss2", "ndcgLoss2PP"};
  std::vector<std::pair<std::string, fl::LambdaParams>> lambdas;
  for (int scheme = 0; scheme < 5; ++scheme) {
    fl::LambdaParams p;
    p.scheme = static_cast<fl::LambdaScheme>(scheme);
    lambdas.emplace_back(std::string("lambdaLoss ") + schemes[scheme], p);
  }
  fl::LambdaParams top3;
  top3.scheme = fl::LambdaScheme::LambdaRank;
  top3.k = 3;
  top3.mean = true;
  top3.sigma = 2;
  lambdas.emplace_back("lambdaLoss lambdaRank k 3 mean sigma 2", top3);
  fl::LambdaParams lipo;
  lipo.scheme = fl::LambdaScheme::LambdaRank;
  lipo.normalize = false;
  lambdas.emplace_back("lambdaLoss LiPO", lipo);
  for (const auto& [name, p] : lambdas)
    all.emplace_back(name, [p = p](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
      return gpu ? gpu::lambdaloss(pb, p, l, g) : fl::lambdaloss_cpu(pb, p, l, g);
    });
  return all;
}

// Loss and gradient of both backends, and padding's gradient exactly 0 on the GPU.
void compare_lists(const std::string& what, const std::vector<float>& relevance,
                   const std::function<Status(bool, double*, float*)>& call) {
  const size_t n = relevance.size();
  std::vector<float> g_cpu(n), g_gpu(n, NAN);
  double l_cpu = 0, l_gpu = 0;
  const Status a = call(false, &l_cpu, g_cpu.data());
  const Status b = call(true, &l_gpu, g_gpu.data());
  if (!a.ok() || !b.ok()) {
    report(false, what + ": cpu " + status_text(a) + ", gpu " + status_text(b));
    return;
  }
  bool padding_zero = true;
  for (size_t i = 0; i < n; ++i)
    padding_zero = padding_zero && (relevance[i] != -1 || g_gpu[i] == 0);
  const double ldiff = std::fabs(l_cpu - l_gpu) / std::max(1.0, std::fabs(l_cpu));
  const double grel = grad_error(g_cpu, g_gpu);
  char buf[120];
  std::snprintf(buf, sizeof buf, ": loss %.2e, grad %.2e%s", ldiff, grel,
                padding_zero ? "" : ", padding has a gradient");
  report(std::isfinite(l_gpu) && ldiff <= kLossTol && grel <= kGradTol && padding_zero, what + buf);
}

void ranking_cases(uint64_t& seed) {
  const std::vector<ListLayout> layouts = {
      {"padded 40 x 16", std::vector<int32_t>(40, 16), true, 0.2, 4, 1},
      {"ragged, ties, empty lists", {9, 0, 1, 2, 31, 3, 0, 17, 64, 5}, false, 0.1, 3, 1},
      {"lengths 0, 1, 2", {0, 1, 2, 1, 2, 0, 2}, false, 0, 2, 1},
      {"scores +-1e4", {12, 7, 20}, false, 0, 5, 3000},
      {"1000 x 64", std::vector<int32_t>(1000, 64), true, 0.05, 5, 1},
      {"block per list: 300, 7, 0, 290", {300, 7, 0, 290}, false, 0.05, 30, 1},
      {"global-memory sort: 2100, 1", {2100, 1}, false, 0.05, 30, 1},
      {"lists of 5000", {5000, 4999}, false, 0.05, 50, 1},
  };
  std::vector<float> weights(5000);
  for (size_t k = 0; k < weights.size(); ++k) weights[k] = 1.0f / (1.0f + 0.1f * k);
  const auto losses = list_losses(weights);
  for (const ListLayout& lay : layouts) {
    Lists d = make_lists(lay, seed++);
    for (const auto& [name, loss] : losses)
      compare_lists(name + ", " + lay.name, d.r,
                    [&](bool gpu, double* l, float* g) { return loss(gpu, d.pb, l, g); });
  }
  // PLD: rows of classes, the true class first, then the teacher's order.
  for (auto [rows, classes] :
       std::vector<std::pair<int64_t, int32_t>>{{300, 10}, {3, 1000}, {2, 3000}})
    for (float tau : {0.5f, 4.0f}) {
      Rng rng(seed++);
      std::vector<float> s(rows * classes), t(rows * classes);
      for (size_t i = 0; i < s.size(); ++i) {
        s[i] = static_cast<float>(2 * rng.normal());
        t[i] = static_cast<float>(3 * rng.normal());
      }
      std::vector<int32_t> y(rows);
      for (int64_t i = 0; i < rows; ++i) y[i] = static_cast<int32_t>(rng.next() % classes);
      const fl::DistillProblem pb{s.data(), t.data(), y.data(), rows, classes};
      char name[80];
      std::snprintf(name, sizeof name, "plackettLuceDistill rows %lld C %d tau %.1f",
                    static_cast<long long>(rows), classes, tau);
      compare_lists(name, std::vector<float>(s.size(), 0), [&](bool gpu, double* l, float* g) {
        return gpu ? gpu::plackett_luce_distill(pb, tau, l, g)
                   : fl::plackett_luce_distill_cpu(pb, tau, l, g);
      });
    }
}

// The ranking metrics (all five, cut and uncut, every convention once) per list on both backends:
// equal to 1e-12, NaN (a list left out) where the CPU has NaN.
void metric_cases(uint64_t& seed) {
  const std::vector<ListLayout> layouts = {
      {"padded 40 x 16", std::vector<int32_t>(40, 16), true, 0.2, 4, 1},
      {"ragged, ties, empty lists", {9, 0, 1, 2, 31, 3, 0, 17, 64, 5}, false, 0.1, 3, 1},
      {"1031 x 7", std::vector<int32_t>(1031, 7), true, 0.15, 3, 1},
      {"block per list: 300, 7, 0, 2100", {300, 7, 0, 2100}, false, 0.05, 30, 1},
  };
  using M = fl::RankMetric;
  const std::vector<fl::RankMetricSpec> specs = {
      {M::Ndcg, 0}, {M::Ndcg, 3},   {M::Mrr, 0},       {M::Mrr, 2},       {M::Map, 0},
      {M::Map, 5},  {M::Recall, 3}, {M::Precision, 3}, {M::Precision, 40}};
  for (int variant = 0; variant < 2; ++variant) {
    fl::RankMetricParams p;
    for (const auto& sp : specs) p.specs[p.count++] = sp;
    if (variant == 1) {
      p.gain = fl::MetricGain::Linear;
      p.discount = fl::MetricDiscount::Reciprocal;
      p.empty = fl::EmptyTarget::Skip;
      p.ap = fl::ApDenominator::Retrieved;
      p.adaptive_k = false;
    }
    for (const ListLayout& lay : layouts) {
      Lists d = make_lists(lay, seed++);
      const size_t n = static_cast<size_t>(d.pb.lists) * p.count;
      std::vector<double> cpu(n), dev(n, -7);
      const Status a = fl::ranking_metrics_cpu(d.pb, p, cpu.data());
      const Status b = gpu::ranking_metrics(d.pb, p, dev.data());
      const std::string what =
          std::string("ranking metrics variant ") + std::to_string(variant) + ", " + lay.name;
      if (!a.ok() || !b.ok()) {
        report(false, what + ": cpu " + status_text(a) + ", gpu " + status_text(b));
        continue;
      }
      double worst = 0;
      bool same_nan = true;
      for (size_t i = 0; i < n; ++i) {
        same_nan = same_nan && std::isnan(cpu[i]) == std::isnan(dev[i]);
        if (!std::isnan(cpu[i])) worst = std::max(worst, std::fabs(cpu[i] - dev[i]));
      }
      char buf[80];
      std::snprintf(buf, sizeof buf, ": largest difference %.2e%s", worst,
                    same_nan ? "" : ", lists left out differ");
      report(same_nan && worst <= 1e-12, what + buf);
    }
  }
}

// Invalid scores, relevance, weights and labels must be named exactly as the CPU names them.
void ranking_fault_cases(uint64_t& seed) {
  const ListLayout lay{"", std::vector<int32_t>(30, 10), true, 0, 4, 1};
  for (int which = 0; which < 4; ++which) {
    Lists d = make_lists(lay, seed++);
    std::vector<float> weights(10, 1.0f);
    fl::ListMLEParams p;
    if (which == 0) d.s[217] = INFINITY;
    if (which == 1) d.r[123] = -2;
    if (which == 2) {
      weights[4] = -1;
      p.weights = weights.data();
    }
    std::vector<int32_t> y(30, 1);
    y[17] = 10;
    const fl::DistillProblem dp{d.s.data(), d.s.data(), y.data(), 30, 10};
    std::vector<float> g(d.s.size());
    double l = 0;
    const Status a = which == 3 ? fl::plackett_luce_distill_cpu(dp, 4, &l, g.data())
                                : fl::listmle_cpu(d.pb, p, &l, g.data());
    const Status b = which == 3 ? gpu::plackett_luce_distill(dp, 4, &l, g.data())
                                : gpu::listmle(d.pb, p, &l, g.data());
    static const char* what[] = {"inf score", "relevance -2", "negative weight", "bad label"};
    report(!a.ok() && a.fault == b.fault && a.index == b.index,
           std::string("ranking ") + what[which] + ": cpu " + status_text(a) + ", gpu " +
               status_text(b));
  }
}

// ---- the pairwise family ----

enum class PairLabels { Classes, AllEqual, AllUnique, Duplicated };

struct PairCase {
  int64_t n, m;  // m > 0: cross-batch against m reference rows
  int32_t dim;
  PairLabels labels;
  bool normalize;
  uint64_t seed;
};

struct PairLossForm {
  const char* name;
  fl::PairParams p;
};

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
  fl::PairProblem pb;
  pb.x = x.data();
  pb.labels = y.data();
  pb.n = c.n;
  pb.dim = c.dim;
  pb.normalize = c.normalize;
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
  std::snprintf(buf, sizeof buf, "%-13s N %5lld M %4lld D %3d %-10s %s", f.name,
                static_cast<long long>(c.n), static_cast<long long>(c.m), c.dim,
                labels[static_cast<int>(c.labels)], c.normalize ? "normalized" : "raw");
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
  report(std::isfinite(l_gpu) && ldiff <= kLossTol && grel <= kGradTol, what);
}

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
  if (timed)
    for (const PairLossForm& f : forms)
      run_pair_case({8192, 0, 128, PairLabels::Classes, true, seed++}, f, true);
}

void anyloss_cases(uint64_t& seed, bool timed) {
  using fl::Average;
  using fl::Input;
  using fl::LabelType;
  using fl::Metric;
  // Binary: every size, both inputs, every label type, weights on and off.
  const Metric binary_metrics[] = {Metric::F1,    Metric::MCC,   Metric::BalancedAccuracy,
                                   Metric::GMean, Metric::FBeta, Metric::Accuracy};
  // One row is F1 only: a single soft-labelled row makes MCC's denominator vanish (clamped at
  // eps, formulas A.5), and its gradient y dpos + (1 - y) dneg, with dpos and dneg ~ 1/eps, cancels
  // to rounding noise on every backend.
  int m = 0;
  for (int64_t rows : {1, 31, 33, 1000, 4097, 100000})
    for (Input in : {Input::Logits, Input::Probabilities})
      for (LabelType lt : {LabelType::Float32, LabelType::Uint8, LabelType::Int32})
        for (bool w : {false, true})
          run_case({rows, 1, in, lt, w, Scores::Normal, Labels::Random,
                    rows == 1 ? Metric::F1 : binary_metrics[m++ % 6], Average::Macro, seed++},
                   false);
  // Saturated scores and one-class batches.
  for (Scores sc : {Scores::Saturated, Scores::Normal})
    for (Labels lb : {Labels::AllZero, Labels::AllOne, Labels::Random})
      for (Metric mt : {Metric::F1, Metric::MCC, Metric::GMean, Metric::Precision})
        run_case(
            {4097, 1, Input::Logits, LabelType::Uint8, false, sc, lb, mt, Average::Macro, seed++},
            false);
  // Multi-class: short rows (several per warp), a row per warp, rows wider than a warp and more
  // classes than one tile holds; logits and probabilities; macro and micro.
  for (int32_t classes : {2, 3, 10, 33, 100, 1500})
    for (int64_t rows : {1, 31, 1000, 4097})
      for (Input in : {Input::Logits, Input::Probabilities}) {
        if (static_cast<int64_t>(classes) * rows > 2000000) continue;
        const bool w = (rows + classes) % 2 == 1;
        run_case({rows, classes, in, rows % 2 ? LabelType::Int32 : LabelType::Uint8, w,
                  Scores::Normal, Labels::Random, rows == 31 ? Metric::MCC : Metric::F1,
                  classes == 10 ? Average::Micro : Average::Macro, seed++},
                 false);
      }
  for (Scores sc : {Scores::Saturated, Scores::Peaked})
    for (Labels lb : {Labels::AllZero, Labels::Random})
      run_case({1000, 10, Input::Logits, LabelType::Int32, true, sc, lb, Metric::F1, Average::Macro,
                seed++},
               false);
  // Invalid inputs: the first bad row wins, whichever thread found it.
  for (int which : {0, 1, 2}) {
    run_fault_case({4097, 1, Input::Logits, LabelType::Float32, true, Scores::Normal,
                    Labels::Random, Metric::F1, Average::Macro, seed++},
                   4000, which);
    run_fault_case({1000, 7, Input::Probabilities, LabelType::Int32, true, Scores::Normal,
                    Labels::Random, Metric::F1, Average::Macro, seed++},
                   517, which);
  }
  // Sizes worth timing on a device (in the simulator they only add run time).
  if (timed)
    for (int64_t rows : {int64_t{1} << 20, int64_t{1} << 24})
      run_case({rows, 1, Input::Logits, LabelType::Uint8, false, Scores::Normal, Labels::Random,
                Metric::F1, Average::Macro, seed++},
               true);
  if (timed)
    for (int32_t classes : {10, 1000})
      run_case({(int64_t{1} << 22) / classes, classes, Input::Logits, LabelType::Int32, false,
                Scores::Normal, Labels::Random, Metric::F1, Average::Macro, seed++},
               true);
}

}  // namespace

// ---- fused linear cross-entropy (linear_ce.h) ----

struct LinearCase {
  int64_t rows, classes;
  int32_t dim;
  bool bias, weighted;                        // bias; row and class weights with ignored rows
  double smoothing, z_scale, softcap, scale;  // scale: of hidden's entries (logits up to ~scale^2)
  fl::Reduction reduction;
  uint64_t seed;
  bool target_logit = false;  // the margin heads' per-row target logits, and their gradient
};

void run_linear_case(const LinearCase& c, bool timed) {
  Rng rng(c.seed);
  const auto fill = [&](int64_t n, double scale) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = static_cast<float>(scale * rng.normal());
    return v;
  };
  const std::vector<float> h = fill(c.rows * c.dim, c.scale / std::sqrt(c.dim));
  const std::vector<float> w = fill(c.classes * c.dim, c.scale), b = fill(c.classes, 1);
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
  if (timed) {
    run_linear_case({4099, 4099, 33, true, true, 0.1, 1e-4, 30, 1, R::Mean, seed++}, false);
    run_linear_case({4096, 32768, 256, false, false, 0, 0, 0, 1, R::Mean, seed++}, true);
  }
}

// ---- ProxyAnchor (proxy.h) ----

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

int main(int argc, char** argv) {
  bool require = false, untimed = false;
  const char* family = nullptr;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--require-device"))
      require = true;
    else if (!std::strcmp(argv[i], "--untimed"))
      untimed = true;
    else if (!std::strcmp(argv[i], "--family") && i + 1 < argc)
      family = argv[++i];
    else {
      std::fprintf(stderr, "cuda_parity: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const auto want = [&](const char* f) { return !family || !std::strcmp(family, f); };
#if !defined(FL_PARITY_SIM)
  const fl::CudaStatus dev = fl::cuda_discover();
  if (!dev.available) {
    std::printf("cuda_parity: skipped, no usable CUDA device (%s)\n", dev.reason.c_str());
    return require ? 1 : 0;
  }
  std::printf("cuda_parity on %s (sm_%d%d)\n", dev.devices[0].name.c_str(), dev.devices[0].major,
              dev.devices[0].minor);
  const bool timed = !untimed;
#else
  (void)require, (void)untimed;
  const bool timed = false;
#endif
  gpu::set_profiling(timed);
  uint64_t seed = 1;
  if (want("confusion")) {
    anyloss_cases(seed, timed);
    elementwise_cases(seed);
    overlap_cases(seed);
  }
  if (want("spherical")) {
    spherical_cases(seed);
    softmax_cases(seed);
    class_fault_cases(seed);
  }
  if (want("ranking")) {
    ranking_cases(seed);
    ranking_fault_cases(seed);
    metric_cases(seed);
  }
  if (want("pairs")) pair_cases(seed, timed);
  if (want("linear")) linear_cases(seed, timed);
  if (want("proxy")) proxy_cases(seed, timed);

  std::printf("cuda_parity (%s): %d cases passed, %d failed\n", kBackend, passed, failed);
  return failed == 0 ? 0 : 1;
}
