// N-API glue of the spherical family and the softmax classification losses: convert, check, call
// the core, nothing else.
#include "fusedloss/spherical.h"

#include <cstdint>
#include <memory>

#include "args.h"
#include "module.h"

namespace fl::napi {
namespace {

struct Problem {
  ClassProblem pb;
  Reduction reduction = Reduction::Mean;
  LossOutputs out;                // out.loss is set by the call
  std::vector<Napi::Value> keep;  // typed arrays an async job must keep alive
};

// logits and targets at 0 and 1, the gradient at `out_i` and the per-row losses at out_i + 1
// (read only with reduction 'none'); classes and reduction from params.
Problem problem_args(const Napi::CallbackInfo& info, size_t out_i, const Napi::Object& params) {
  Napi::Env env = info.Env();
  Problem p;
  p.pb.classes = int_field(params, "classes", kDimension);
  p.reduction = enum_field(params, "reduction", Reduction::None);
  const ArrayArg<float> logits = float32_arg(info, 0, "logits");
  const ArrayArg<int32_t> targets = int32_arg(info, 1, "targets");
  const size_t rows = targets.length;
  require_length(env, "logits", logits.length, rows * p.pb.classes,
                 std::to_string(rows) + " targets x " + std::to_string(p.pb.classes) + " classes");
  p.keep = {logits.value, targets.value};
  p.out.grad = grad_out_arg(info, out_i, logits.data, logits.length, p.keep);
  p.pb.logits = logits.data;
  p.pb.rows = static_cast<int64_t>(rows);
  p.pb.targets = targets.data;
  if (p.reduction == Reduction::None) {
    const ArrayArg<float> row_loss = float32_arg(info, out_i + 1, "rowLoss");
    require_length(env, "rowLoss", row_loss.length, rows, "one loss per row");
    p.out.row_loss = row_loss.data;
    p.keep.push_back(row_loss.value);
  }
  return p;
}

// sphericalLoss(logits, targets, out, rowLoss|null, params{classes, reduction, kind, a, b, eps,
// device}, async) -> loss
Napi::Value SphericalLoss(const Napi::CallbackInfo& info) {
  const Napi::Object params = object_arg(info, 4, "params");
  Problem p = problem_args(info, 2, params);
  SphericalParams sp;
  sp.kind = enum_field(params, "kind", SphericalKind::LogTaylorSoftmax);
  sp.a = number_field(params, "a", kPositive);
  sp.b = number_field(params, "b", kSigned);
  sp.eps = number_field(params, "eps", kSphericalEps);
  const Device dev = device_field(params);
  const ClassProblem pb = p.pb;
  const Reduction reduction = p.reduction;
  const LossOutputs out = p.out;
  return run_loss(info.Env(), async_arg(info, 5), p.keep, [=](double* loss) {
    const LossOutputs o{loss, out.row_loss, out.grad};
    const Status st = FL_CALL(dev, spherical_loss(pb, sp, reduction, o));
    if (!st.ok() || sp.kind != SphericalKind::SquaredError) return st;
    return squared_error_overflow(pb, o);
  });
}

// softmaxLoss(logits, targets, weights|null, classWeights|null, out, rowLoss|null, lse|null,
// params{classes, reduction, form, temperature, smoothing, tau, scale, gamma, alpha, lambda,
// margin, softcap, lseSquare, ignoreIndex, device}, async) -> loss
Napi::Value SoftmaxLoss(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 7, "params");
  Problem p = problem_args(info, 4, params);
  SoftmaxWeights sw;
  const ArrayArg<float> weights = optional_float32_arg(info, 2, "options.weights");
  if (weights.data)
    require_length(env, "options.weights", weights.length, p.pb.rows, "one weight per row");
  const ArrayArg<float> class_weights = optional_float32_arg(info, 3, "options.classWeights");
  if (class_weights.data)
    require_length(env, "options.classWeights", class_weights.length, p.pb.classes,
                   "one weight per class");
  sw.weights = weights.data;
  sw.class_weights = class_weights.data;
  sw.ignore_index = int_field(params, "ignoreIndex", kInt32);
  p.keep.push_back(weights.value);
  p.keep.push_back(class_weights.value);
  SoftmaxParams sp;
  sp.form = enum_field(params, "form", SoftmaxForm::LdrKl);
  sp.temperature = number_field(params, "temperature", kPositive);
  sp.smoothing = number_field(params, "smoothing", kUnit);
  sp.tau = number_field(params, "tau", kNonNegative100);
  sp.scale = number_field(params, "scale", kNonNegative);
  sp.gamma = number_field(params, "gamma", kNonNegative1e3);
  sp.alpha = number_field(params, "alpha", kNonNegative);
  sp.lambda = number_field(params, "lambda", kPositive);
  sp.margin = number_field(params, "margin", kNonNegative);
  sp.softcap = number_field(params, "softcap", kNonNegative);
  sp.lse_square = number_field(params, "lseSquare", kNonNegative);
  const ArrayArg<float> lse = optional_float32_arg(info, 6, "the row log-sum-exps");
  if (lse.data) require_length(env, "the row log-sum-exps", lse.length, p.pb.rows, "one per row");
  p.out.lse = lse.data;
  p.keep.push_back(lse.value);
  const Device dev = device_field(params);
  const ClassProblem pb = p.pb;
  const Reduction reduction = p.reduction;
  const LossOutputs out = p.out;
  return run_loss(env, async_arg(info, 8), p.keep, [=](double* loss) {
    const LossOutputs o{loss, out.row_loss, out.grad, out.lse};
    return FL_CALL(dev, softmax_loss(pb, sw, sp, reduction, o));
  });
}

}  // namespace

void init_spherical(Napi::Env env, Napi::Object exports) {
  export_fn<SphericalLoss>(env, exports, "sphericalLoss");
  export_fn<SoftmaxLoss>(env, exports, "softmaxLoss");
}

}  // namespace fl::napi
