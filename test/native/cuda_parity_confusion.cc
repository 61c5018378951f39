// cuda_parity, the confusion family (AnyLoss and its counts, BCE and focal, Dice and Tversky): the
// GPU entry points held against the CPU kernels (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
using fl::ConfusionProblem;
using fl::Counts;

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
  const Status sg = gpu::confusion_counts(d.pb, amp, k_gpu.data(), nullptr);
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

}  // namespace

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

}  // namespace parity
