// N-API glue of the soft-confusion-matrix family: convert, check, call the core, nothing else.
#include "fusedloss/confusion.h"

#include <memory>

#include "args.h"
#include "fusedloss/confusion_math.h"
#include "module.h"

namespace fl::napi {
namespace {

struct Problem {
  ConfusionProblem pb;
  std::vector<Napi::Value> keep;  // typed arrays an async job must keep alive
};

// Arguments (scores, labels, weights, ...) shared by every loss of the family, for a problem of
// `classes` classes and the given input kind.
Problem problem_args(const Napi::CallbackInfo& info, int32_t classes, Input input,
                     const char* scores_name = "scores") {
  Napi::Env env = info.Env();
  Problem p;
  p.pb.classes = classes;
  p.pb.input = input;
  const ArrayArg<float> scores = float32_arg(info, 0, scores_name);
  const LabelsArg labels = labels_arg(info, 1, "labels", p.pb.classes > 1);
  const ArrayArg<float> weights = optional_float32_arg(info, 2, "weights");
  const size_t rows = labels.length;
  require_length(env, scores_name, scores.length, rows * p.pb.classes,
                 std::to_string(rows) + " labels x " + std::to_string(p.pb.classes) + " classes");
  if (weights.data) require_length(env, "weights", weights.length, rows, "one weight per row");
  p.pb.scores = scores.data;
  p.pb.rows = static_cast<int64_t>(rows);
  p.pb.labels = labels.data;
  p.pb.label_type = labels.type;
  p.pb.weights = weights.data;
  p.keep = {scores.value, labels.value, weights.value};
  return p;
}

int32_t classes_field(const Napi::Object& params) {
  return int_field(params, "classes", kDimension);
}
Input input_field(const Napi::Object& params) {
  return enum_field(params, "input", Input::Probabilities);
}

// The gradient buffer: the layout of the scores.
float* out_arg(const Napi::CallbackInfo& info, size_t i, Problem& p) {
  return grad_out_arg(info, i, p.pb.scores, static_cast<size_t>(p.pb.rows) * p.pb.classes, p.keep);
}

// confusionCounts(scores, labels, weights, stash|null, params{classes, input, amplifier, device},
// async) -> Float64Array [tp, fn, fp, tn] per class. On the CPU a stash buffer receives what
// confusionBackward then reads; the GPU recomputes it and leaves the buffer alone.
Napi::Value ConfusionCounts(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Problem p = problem_args(info, classes_field(params), input_field(params));
  float* stash = info[3].IsNull() || info[3].IsUndefined() ? nullptr : out_arg(info, 3, p);
  const float amp = static_cast<float>(number_field(params, "amplifier", kPositive));
  const Device dev = device_field(params);
  auto counts = std::make_shared<std::vector<Counts>>(p.pb.classes);
  const ConfusionProblem pb = p.pb;
  return run(
      info.Env(), async_arg(info, 5), p.keep,
      [=] { return FL_CALL(dev, confusion_counts(pb, amp, counts->data(), stash)); },
      [=](Napi::Env env) {
        auto out = Napi::Float64Array::New(env, 4 * counts->size());
        for (size_t k = 0; k < counts->size(); ++k) {
          out[4 * k] = (*counts)[k].tp;
          out[4 * k + 1] = (*counts)[k].fn;
          out[4 * k + 2] = (*counts)[k].fp;
          out[4 * k + 3] = (*counts)[k].tn;
        }
        return out;
      });
}

// confusionBackward(scores, labels, weights, out, dpos, dneg, params{classes, input, amplifier,
// device}, async) -> undefined. `out` becomes the gradient; on the CPU it must hold what
// confusionCounts stashed in it. The inputs were validated by that call.
Napi::Value ConfusionBackward(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 6, "params");
  Problem p = problem_args(info, classes_field(params), input_field(params));
  float* out = out_arg(info, 3, p);
  const ArrayArg<double> dpos = float64_arg(info, 4, "dpos"), dneg = float64_arg(info, 5, "dneg");
  require_length(info.Env(), "dpos", dpos.length, p.pb.classes, "one per class");
  require_length(info.Env(), "dneg", dneg.length, p.pb.classes, "one per class");
  p.keep.push_back(dpos.value);
  p.keep.push_back(dneg.value);
  const float amp = static_cast<float>(number_field(params, "amplifier", kPositive));
  const Device dev = device_field(params);
  const ConfusionProblem pb = p.pb;
  const double* dp = dpos.data;
  const double* dn = dneg.data;
  return run(
      info.Env(), async_arg(info, 7), p.keep,
      [=] { return FL_CALL(dev, confusion_backward(pb, amp, dp, dn, out)); },
      [](Napi::Env env) { return env.Undefined(); });
}

// anyLoss(scores, labels, weights, out, params{classes, input, amplifier, metric, beta, eps,
// average, device}, async) -> loss
Napi::Value AnyLoss(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Problem p = problem_args(info, classes_field(params), input_field(params));
  float* out = out_arg(info, 3, p);
  const float amp = static_cast<float>(number_field(params, "amplifier", kPositive));
  MetricParams mp;
  mp.metric = enum_field(params, "metric", Metric::Jaccard);
  mp.beta = number_field(params, "beta", kPositive);
  // The denominators' guard: with 0 (or a denormal), a batch without positives divides 0 by 0.
  mp.eps = number_field(params, "eps", kMetricEpsilon);
  const Average avg = enum_field(params, "average", Average::Micro);
  const Device dev = device_field(params);
  const ConfusionProblem pb = p.pb;
  return run_loss(info.Env(), async_arg(info, 5), p.keep,
                  [=](double* loss) { return FL_CALL(dev, anyloss(pb, amp, avg, mp, loss, out)); });
}

// overlapLoss(scores, labels, weights, out, params{classes, input, numI, denI, denP, denY, smooth,
// exponent, adjust, perExample, device}, async) -> loss
Napi::Value OverlapLoss(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Problem p = problem_args(info, classes_field(params), input_field(params));
  float* out = out_arg(info, 3, p);
  OverlapParams op;
  op.num_i = number_field(params, "numI", kNonNegative);
  op.den_i = number_field(params, "denI", kSigned);
  op.den_p = number_field(params, "denP", kNonNegative);
  op.den_y = number_field(params, "denY", kNonNegative);
  op.smooth = number_field(params, "smooth", kDiceSmooth);
  op.exponent = int_field(params, "exponent", kExponent);
  op.adjust = static_cast<float>(number_field(params, "adjust", kNonNegative1e3));
  op.per_example = bool_field(params, "perExample");
  const Device dev = device_field(params);
  const ConfusionProblem pb = p.pb;
  return run_loss(info.Env(), async_arg(info, 5), p.keep,
                  [=](double* loss) { return FL_CALL(dev, overlap_loss(pb, op, loss, out)); });
}

// The element-wise binary losses: fn(logits, labels, weights, out, params{..., sum, device},
// async) -> loss. core(params) reads the loss's own parameters and returns the call to make.
template <class Core>
Napi::Value elementwise(const Napi::CallbackInfo& info, Core core) {
  const Napi::Object params = object_arg(info, 4, "params");
  Problem p = problem_args(info, 1, Input::Logits, "logits");
  float* out = out_arg(info, 3, p);
  const auto call = core(params);
  const bool sum = bool_field(params, "sum");
  const Device dev = device_field(params);
  const ConfusionProblem pb = p.pb;
  return run_loss(info.Env(), async_arg(info, 5), p.keep,
                  [=](double* loss) { return call(pb, sum, dev, loss, out); });
}

// binaryCrossEntropy(..., params{posWeight, sum, device}, async)
Napi::Value BinaryCrossEntropy(const Napi::CallbackInfo& info) {
  return elementwise(info, [](const Napi::Object& params) {
    const float pos_weight =
        static_cast<float>(number_field(params, "posWeight", kNonNegative1e12));
    return [=](const ConfusionProblem& pb, bool sum, Device dev, double* loss, float* out) {
      return FL_CALL(dev, bce(pb, pos_weight, sum, loss, out));
    };
  });
}

// sigmoidFocal(..., params{gamma, alpha, sum, device}, async)
Napi::Value SigmoidFocal(const Napi::CallbackInfo& info) {
  return elementwise(info, [](const Napi::Object& params) {
    const float gamma = static_cast<float>(number_field(params, "gamma", kNonNegative1e3));
    const float alpha = static_cast<float>(number_field(params, "alpha", kUnit));
    return [=](const ConfusionProblem& pb, bool sum, Device dev, double* loss, float* out) {
      return FL_CALL(dev, sigmoid_focal(pb, gamma, alpha, sum, loss, out));
    };
  });
}

}  // namespace

void init_confusion(Napi::Env env, Napi::Object exports) {
  export_fn<ConfusionCounts>(env, exports, "confusionCounts");
  export_fn<ConfusionBackward>(env, exports, "confusionBackward");
  export_fn<AnyLoss>(env, exports, "anyLoss");
  export_fn<OverlapLoss>(env, exports, "overlapLoss");
  export_fn<BinaryCrossEntropy>(env, exports, "binaryCrossEntropy");
  export_fn<SigmoidFocal>(env, exports, "sigmoidFocal");
}

}  // namespace fl::napi
