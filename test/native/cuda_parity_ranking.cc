// cuda_parity, the ranking family and the ranking metrics: the GPU entry points held against the
// CPU kernels (cuda_parity.h).
#include "cuda_parity.h"

namespace parity {
namespace {
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

}  // namespace

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
  // NeuralNDCG: O(iterations x n^2) time and 2 n^2 doubles a list, so lists of at most 300.
  const std::vector<std::pair<const char*, fl::NeuralNdcgParams>> neural = {
      {"neuralNDCG", {}},
      {"neuralNDCG T 0.3 k 3 linear", {0.3f, 3, fl::MetricGain::Linear, 50, 1e-6f}},
      {"neuralNDCG maxIter 0", {1.0f, 0, fl::MetricGain::Exp2, 0, 1e-6f}},
      {"neuralNDCG tol 0", {1.0f, 0, fl::MetricGain::Exp2, 50, 0.0f}}};
  for (const ListLayout& lay : layouts) {
    if (*std::max_element(lay.lengths.begin(), lay.lengths.end()) > 300) continue;
    Lists d = make_lists(lay, seed++);
    for (const auto& [name, p] : neural)
      compare_lists(std::string(name) + ", " + lay.name, d.r, [&](bool gpu, double* l, float* g) {
        return gpu ? gpu::neural_ndcg(d.pb, p, l, g) : fl::neural_ndcg_cpu(d.pb, p, l, g);
      });
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

// Kernel launches of call() on this host thread: counted in the simulator, -1 on a device.
int64_t launches(const std::function<void()>& call) {
#if defined(FL_PARITY_SIM)
  const uint64_t before = fl::sim::launch_count();
  call();
  return static_cast<int64_t>(fl::sim::launch_count() - before);
#else
  call();
  return -1;
#endif
}

// The metrics asked of each list loss, computed in the loss's own pass: the same bits as the
// metrics kernel's (same teams, sums over ranks), the loss and gradient the same bits as without
// them, and no kernel launched for them.
void fused_metric_cases(uint64_t& seed) {
  const std::vector<ListLayout> layouts = {
      {"padded 40 x 16", std::vector<int32_t>(40, 16), true, 0.2, 4, 1},
      {"ragged, ties, empty lists", {9, 0, 1, 2, 31, 3, 0, 17, 64, 5}, false, 0.1, 3, 1},
      {"block per list: 300, 7, 0, 290", {300, 7, 0, 290}, false, 0.05, 30, 1},
  };
  std::vector<float> weights(300);
  for (size_t k = 0; k < weights.size(); ++k) weights[k] = 1.0f / (1.0f + 0.1f * k);
  auto losses = list_losses(weights);
  losses.emplace_back(
      "neuralNDCG k 3", [](bool gpu, const fl::RankingProblem& pb, double* l, float* g) {
        fl::NeuralNdcgParams p;
        p.k = 3;
        return gpu ? gpu::neural_ndcg(pb, p, l, g) : fl::neural_ndcg_cpu(pb, p, l, g);
      });
  using M = fl::RankMetric;
  fl::RankMetricParams p;
  const std::vector<fl::RankMetricSpec> specs = {{M::Ndcg, 0},   {M::Ndcg, 3},      {M::Mrr, 0},
                                                 {M::Mrr, 2},    {M::Map, 0},       {M::Map, 5},
                                                 {M::Recall, 3}, {M::Precision, 40}};
  for (const fl::RankMetricSpec& sp : specs) p.specs[p.count++] = sp;
  for (size_t li = 0; li < layouts.size(); ++li) {
    Lists d = make_lists(layouts[li], seed++);
    if (li == 1) {  // from here on the other conventions; fractional relevance here
      p.gain = fl::MetricGain::Linear;
      p.discount = fl::MetricDiscount::Reciprocal;
      p.empty = fl::EmptyTarget::Skip;
      for (size_t i = 0; i < d.r.size(); i += 3)
        if (d.r[i] > 0) d.r[i] -= 0.5f;
    }
    const size_t n = static_cast<size_t>(d.pb.lists) * p.count, items = d.r.size();
    std::vector<double> want(n, -7);
    const Status ws = gpu::ranking_metrics(d.pb, p, want.data());
    for (const auto& [name, loss] : losses) {
      fl::RankingProblem with = d.pb;
      std::vector<double> got(n, -7);
      with.metrics = &p;
      with.metrics_out = got.data();
      std::vector<float> g0(items, NAN), g1(items, NAN);
      double l0 = 0, l1 = 0;
      Status a, b;
      const int64_t plain = launches([&] { a = loss(true, d.pb, &l0, g0.data()); });
      const int64_t fused = launches([&] { b = loss(true, with, &l1, g1.data()); });
      const std::string what = name + " with metrics, " + layouts[li].name;
      if (!ws.ok() || !a.ok() || !b.ok()) {
        report(false, what + ": metrics " + status_text(ws) + ", loss " + status_text(a) +
                          ", with metrics " + status_text(b));
        continue;
      }
      const bool same_metrics = std::memcmp(got.data(), want.data(), n * sizeof(double)) == 0;
      const bool same_loss = std::memcmp(&l0, &l1, sizeof l0) == 0 &&
                             std::memcmp(g0.data(), g1.data(), items * sizeof(float)) == 0;
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    ": metrics %s the metrics kernel's, loss %s, launches %lld vs %lld",
                    same_metrics ? "equal" : "DIFFER from", same_loss ? "unchanged" : "CHANGED",
                    static_cast<long long>(fused), static_cast<long long>(plain));
      report(same_metrics && same_loss && fused == plain, what + buf);
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

}  // namespace parity
