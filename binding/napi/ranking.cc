// N-API glue of the ranking family: convert, check, call the core, nothing else. Every list loss
// is fn(scores, relevance, offsets | null, out, params{listSize, device, ...}, async) -> loss.
#include "fusedloss/ranking.h"

#include <algorithm>
#include <cfloat>
#include <memory>
#include <string>

#include "args.h"
#include "fusedloss/neural_ndcg.h"
#include "fusedloss/ranking_metrics.h"
#include "module.h"

namespace fl::napi {
namespace {

struct Lists {
  RankingProblem pb;
  float* out = nullptr;
  std::vector<Napi::Value> keep;  // typed arrays an async job must keep alive
  // A copy of options.offsets: checked once here, it must not change under an async job (JS may
  // write to the Int32Array while the job runs, and a bad offset would read out of bounds).
  std::shared_ptr<const std::vector<int32_t>> offsets;
  // Ranking metrics asked of a loss call (info[5], a Float64Array of lists x metrics), or null.
  double* metrics_out = nullptr;
  RankMetricParams metrics;
};

// Lists cut every params.listSize items, or at offsets (lists + 1 non-decreasing entries from 0
// to the number of items).
void list_layout(const Napi::CallbackInfo& info, const Napi::Object& params, size_t items,
                 Lists& a) {
  Napi::Env env = info.Env();
  if (info[2].IsNull() || info[2].IsUndefined()) {
    const int32_t size = int_field(params, "listSize", kCount);
    if (items % static_cast<size_t>(size) != 0)
      throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                        "scores has length " + std::to_string(items) +
                            ", not a multiple of options.listSize = " + std::to_string(size));
    a.pb.list_size = size;
    a.pb.lists = static_cast<int64_t>(items / size);
    return;
  }
  const Napi::Value v = info[2];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     "options.offsets must be an Int32Array");
  const auto given = v.As<Napi::Int32Array>();
  auto copy =
      std::make_shared<std::vector<int32_t>>(given.Data(), given.Data() + given.ElementLength());
  const size_t n = copy->size();
  const int32_t* o = copy->data();
  if (n == 0)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "options.offsets has length 0, expected lists + 1 >= 1");
  for (size_t l = 0; l < n; ++l) {
    bool ok = l == 0 ? o[0] == 0 : o[l] >= o[l - 1];
    if (l + 1 == n) ok = ok && static_cast<size_t>(o[l]) == items;
    if (!ok)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "options.offsets[" + std::to_string(l) + "] = " + std::to_string(o[l]) +
                            " is invalid; offsets must rise from 0 to the number of items (" +
                            std::to_string(items) + ")");
  }
  a.pb.offsets = o;
  a.pb.lists = static_cast<int64_t>(n - 1);
  a.offsets = std::move(copy);
}

// params{specs: Int32Array of (metric, k) pairs, gain, discount, empty, ap, adaptiveK}.
RankMetricParams metric_params(Napi::Env env, const Napi::Object& params) {
  RankMetricParams p;
  const Napi::Value v = params.Get("specs");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE", "metric specs must be an Int32Array");
  const auto specs = v.As<Napi::Int32Array>();
  const size_t n = specs.ElementLength();
  if (n == 0 || n % 2 != 0 || n > 2 * static_cast<size_t>(kMaxRankMetrics))
    throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "metric specs must hold 1 to " + std::to_string(kMaxRankMetrics) +
                          " (metric, k) pairs, got length " + std::to_string(n));
  for (size_t i = 0; i < n; i += 2) {
    const int32_t id = specs[i], k = specs[i + 1];
    if (id < 0 || id > static_cast<int32_t>(RankMetric::Precision) || k < 0)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "metric spec " + std::to_string(i / 2) + " = (" + std::to_string(id) +
                            ", " + std::to_string(k) + ") is invalid");
    p.specs[p.count++] = RankMetricSpec{static_cast<RankMetric>(id), k};
  }
  p.gain = enum_field(params, "gain", MetricGain::Linear);
  p.discount = enum_field(params, "discount", MetricDiscount::Reciprocal);
  p.empty = enum_field(params, "empty", EmptyTarget::Skip);
  p.ap = enum_field(params, "ap", ApDenominator::Retrieved);
  p.adaptive_k = bool_field(params, "adaptiveK");
  return p;
}

// The per-list metrics buffer at info[i]: lists x p.count doubles.
double* metrics_out_arg(const Napi::CallbackInfo& info, size_t i, Lists& a) {
  const ArrayArg<double> out = float64_arg(info, i, "metrics output");
  require_length(info.Env(), "metrics output", out.length,
                 static_cast<size_t>(a.pb.lists) * a.metrics.count, "lists x metrics");
  a.keep.push_back(out.value);
  return out.data;
}

Lists list_args(const Napi::CallbackInfo& info, const Napi::Object& params) {
  Lists a;
  const ArrayArg<float> scores = float32_arg(info, 0, "scores");
  const ArrayArg<float> relevance = float32_arg(info, 1, "relevance");
  require_length(info.Env(), "relevance", relevance.length, scores.length,
                 "one relevance per score");
  a.pb.scores = scores.data;
  a.pb.relevance = relevance.data;
  a.keep = {scores.value, relevance.value};
  list_layout(info, params, scores.length, a);
  a.out = grad_out_arg(info, 3, scores.data, scores.length, a.keep);
  const Napi::Value metrics = params.Get("metrics");
  if (!metrics.IsUndefined() && !metrics.IsNull()) {
    if (!metrics.IsObject())
      throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                       "params.metrics must be an object");
    a.metrics = metric_params(info.Env(), metrics.As<Napi::Object>());
    a.metrics_out = metrics_out_arg(info, 5, a);
  }
  return a;
}

// Runs core(pb, loss, grad) with the metrics asked for, sync or async, and returns the loss. Every
// backend's list losses compute the metrics in their own pass over each list (pb.metrics).
template <class Core>
Napi::Value run_lists(const Napi::CallbackInfo& info, const Lists& a, Core core) {
  const RankingProblem pb = a.pb;
  float* out = a.out;
  auto offsets = a.offsets;  // owned by the job until it ends
  double* metrics_out = a.metrics_out;
  const RankMetricParams mp = a.metrics;
  return run_loss(info.Env(), async_arg(info, 6), a.keep, [=](double* loss) {
    (void)offsets;
    RankingProblem with = pb;
    if (metrics_out) {
      with.metrics = &mp;
      with.metrics_out = metrics_out;
    }
    return core(with, loss, out);
  });
}

// rankingMetrics(scores, relevance, offsets | null, perList: Float64Array (lists x metrics),
// params{listSize, device, specs, gain, discount, empty, ap, adaptiveK}, async)
Napi::Value RankingMetrics(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Lists a;
  const ArrayArg<float> scores = float32_arg(info, 0, "scores");
  const ArrayArg<float> relevance = float32_arg(info, 1, "relevance");
  require_length(info.Env(), "relevance", relevance.length, scores.length,
                 "one relevance per score");
  a.pb.scores = scores.data;
  a.pb.relevance = relevance.data;
  a.keep = {scores.value, relevance.value};
  list_layout(info, params, scores.length, a);
  a.metrics = metric_params(info.Env(), params);
  double* per_list = metrics_out_arg(info, 3, a);
  const RankingProblem pb = a.pb;
  const RankMetricParams mp = a.metrics;
  const Device dev = device_field(params);
  auto offsets = a.offsets;
  return run(
      info.Env(), async_arg(info, 5), a.keep,
      [=] {
        (void)offsets;
        return FL_CALL(dev, ranking_metrics(pb, mp, per_list));
      },
      [](Napi::Env e) { return e.Undefined(); });
}

// listMLE(..., params{listSize, weights: Float32Array | null, topK, ties, seed})
Napi::Value ListMLE(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Lists a = list_args(info, params);
  ListMLEParams p;
  const Napi::Value w = params.Get("weights");
  if (!w.IsNull() && !w.IsUndefined()) {
    if (!w.IsTypedArray() || w.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                       "options.weights must be a Float32Array");
    auto weights = w.As<Napi::Float32Array>();
    int64_t longest = 0;
    for (int64_t l = 0; l < a.pb.lists; ++l)
      longest = std::max(longest, a.pb.end(l) - a.pb.begin(l));
    if (static_cast<int64_t>(weights.ElementLength()) < longest)
      throw_range_error(info.Env(), "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                        "options.weights has length " + std::to_string(weights.ElementLength()) +
                            ", expected at least " + std::to_string(longest) +
                            " (one weight per position of the longest list)");
    p.weights = weights.Data();
    a.keep.push_back(w);
  }
  p.top_k = int_field(params, "topK", kNonNegativeInt);
  p.ties = enum_field(params, "ties", Ties::Shuffle);
  p.seed = static_cast<uint32_t>(number_field(params, "seed", kSeed32));
  const Device dev = device_field(params);
  return run_lists(info, a, [p, dev](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, listmle(pb, p, loss, grad));
  });
}

// rankList(..., params{listSize, form, skip, margin})
Napi::Value RankList(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  RankListParams p;
  p.form = enum_field(params, "form", RankListForm::Anchor);
  p.skip = int_field(params, "skip", kNonNegativeInt);
  p.margin = static_cast<float>(number_field(params, "margin", kFloatNonNegative));
  const Device dev = device_field(params);
  return run_lists(info, a, [p, dev](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, ranklist(pb, p, loss, grad));
  });
}

// listNet(..., params{listSize, target, temperature})
Napi::Value ListNet(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  const auto target = enum_field(params, "target", ListNetTarget::Normalize);
  const auto t = static_cast<float>(number_field(params, "temperature", kPositive));
  const Device dev = device_field(params);
  return run_lists(info, a, [=](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, listnet(pb, target, t, loss, grad));
  });
}

// rankNet(..., params{listSize, sigma, weighting})
Napi::Value RankNet(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  const auto sigma = static_cast<float>(number_field(params, "sigma", kPositive));
  const auto w = enum_field(params, "weighting", PairWeighting::LabelDiffSquared);
  const Device dev = device_field(params);
  return run_lists(info, a, [=](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, ranknet(pb, sigma, w, loss, grad));
  });
}

// pairwiseHinge(..., params{listSize, margin, perItem})
Napi::Value PairwiseHinge(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  const auto margin = static_cast<float>(number_field(params, "margin", kNonNegative));
  const bool per_item = bool_field(params, "perItem");
  const Device dev = device_field(params);
  return run_lists(info, a, [=](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, pairwise_hinge(pb, margin, per_item, loss, grad));
  });
}

// approxNDCG(..., params{listSize, temperature})
Napi::Value ApproxNdcg(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  const auto t = static_cast<float>(number_field(params, "temperature", kPositive));
  const Device dev = device_field(params);
  return run_lists(info, a, [=](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, approx_ndcg(pb, t, loss, grad));
  });
}

// lambdaLoss(..., params{listSize, scheme, k, sigma, mu, mean, normalize})
Napi::Value LambdaLoss(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  LambdaParams p;
  p.scheme = enum_field(params, "scheme", LambdaScheme::NdcgLoss2PP);
  p.k = int_field(params, "k", kNonNegativeInt);
  p.sigma = static_cast<float>(number_field(params, "sigma", kPositive));
  p.mu = static_cast<float>(number_field(params, "mu", kNonNegative));
  p.mean = bool_field(params, "mean");
  p.normalize = bool_field(params, "normalize");
  const Device dev = device_field(params);
  return run_lists(info, a, [p, dev](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, lambdaloss(pb, p, loss, grad));
  });
}

// neuralNDCG(..., params{listSize, temperature, k, gain, maxIter, tol})
Napi::Value NeuralNdcg(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  const Lists a = list_args(info, params);
  NeuralNdcgParams p;
  p.temperature = static_cast<float>(number_field(params, "temperature", kPositive));
  p.k = int_field(params, "k", kNonNegativeInt);
  p.gain = enum_field(params, "gain", MetricGain::Linear);
  p.max_iter = int_field(params, "maxIter", kSinkhornIter);
  p.tol = static_cast<float>(number_field(params, "tol", kUnit));
  const Device dev = device_field(params);
  return run_lists(info, a, [p, dev](const RankingProblem& pb, double* loss, float* grad) {
    return FL_CALL(dev, neural_ndcg(pb, p, loss, grad));
  });
}

// plackettLuceDistill(student, teacher, labels, out, params{tau}, async)
Napi::Value PlackettLuceDistill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 4, "params");
  const ArrayArg<float> student = float32_arg(info, 0, "studentLogits");
  const ArrayArg<float> teacher = float32_arg(info, 1, "teacherLogits");
  const LabelsArg labels = labels_arg(info, 2, "labels", true);
  if (labels.type != LabelType::Int32)
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE", "labels must be an Int32Array");
  const size_t rows = labels.length;
  if (rows == 0 ? student.length != 0 : student.length % rows != 0)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "studentLogits has length " + std::to_string(student.length) +
                          ", not a multiple of the " + std::to_string(rows) + " labels");
  require_length(env, "teacherLogits", teacher.length, student.length,
                 "the layout of the student logits");
  DistillProblem pb;
  pb.student = student.data;
  pb.teacher = teacher.data;
  pb.labels = static_cast<const int32_t*>(labels.data);
  pb.rows = static_cast<int64_t>(rows);
  pb.classes = rows == 0 ? 0 : static_cast<int32_t>(student.length / rows);
  std::vector<Napi::Value> keep{student.value, teacher.value, labels.value};
  float* out = grad_out_arg(info, 3, student.data, student.length, keep);
  const auto tau = static_cast<float>(number_field(params, "tau", kPositive));
  const Device dev = device_field(params);
  return run_loss(env, async_arg(info, 5), keep, [=](double* loss) {
    return FL_CALL(dev, plackett_luce_distill(pb, tau, loss, out));
  });
}

}  // namespace

void init_ranking(Napi::Env env, Napi::Object exports) {
  export_fn<ListMLE>(env, exports, "listMLE");
  export_fn<RankList>(env, exports, "rankList");
  export_fn<ListNet>(env, exports, "listNet");
  export_fn<RankNet>(env, exports, "rankNet");
  export_fn<PairwiseHinge>(env, exports, "pairwiseHinge");
  export_fn<ApproxNdcg>(env, exports, "approxNDCG");
  export_fn<LambdaLoss>(env, exports, "lambdaLoss");
  export_fn<PlackettLuceDistill>(env, exports, "plackettLuceDistill");
  export_fn<NeuralNdcg>(env, exports, "neuralNDCG");
  export_fn<RankingMetrics>(env, exports, "rankingMetrics");
}

}  // namespace fl::napi
