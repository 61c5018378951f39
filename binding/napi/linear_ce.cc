// N-API glue of the fused linear cross-entropy: convert, check, call the core, nothing else.
// linearCrossEntropy(hidden, weight, targets, bias|null, weights|null, classWeights|null,
// gradHidden, gradWeight, gradBias|null, rowLoss|null, lse|null, targetLogit|null,
// gradTarget|null, params{dim, reduction, ignoreIndex, smoothing, lseSquareScale, softcap,
// device, subCenters?}, async) -> loss. gradTarget is required with targetLogit (the margin heads).
#include "fusedloss/linear_ce.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "module.h"

namespace fl::napi {
namespace {

Napi::Value LinearCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 13, "params");
  LinearCeProblem pb;
  LinearCeParams p;
  pb.dim = int_field(params, "dim", kDimension);
  p.reduction = enum_field(params, "reduction", Reduction::None);
  p.ignore_index = int_field(params, "ignoreIndex", kInt32);
  p.smoothing = number_field(params, "smoothing", kUnit);
  p.lse_square_scale = number_field(params, "lseSquareScale", kNonNegative);
  p.softcap = number_field(params, "softcap", kNonNegative);
  const Device dev = device_field(params);
  // Sub-center ArcFace's k (formulas J.2): weight has classes x k rows; the CPU kernel only.
  pb.sub_centers = params.Has("subCenters") ? int_field(params, "subCenters", kSubCenters) : 1;
  if (pb.sub_centers > 1 && dev != Device::Cpu)
    throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "subCenters > 1 runs on the CPU kernel only for now");

  const ArrayArg<float> hidden = float32_arg(info, 0, "hidden");
  const ArrayArg<float> weight = float32_arg(info, 1, "weight");
  const ArrayArg<int32_t> targets = int32_arg(info, 2, "targets");
  const size_t dim = static_cast<size_t>(pb.dim), rows = targets.length;
  require_length(env, "hidden", hidden.length, rows * dim,
                 std::to_string(rows) + " targets x dim " + std::to_string(dim));
  const size_t k = static_cast<size_t>(pb.sub_centers);
  if (weight.length == 0 || weight.length % (dim * k) != 0)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "weight has length " + std::to_string(weight.length) +
                          ", expected a positive multiple of dim " + std::to_string(dim) +
                          " x subCenters " + std::to_string(k));
  const size_t classes = weight.length / dim / k;
  std::vector<Napi::Value> keep = {hidden.value, weight.value, targets.value};
  std::vector<Span> spans = {{"hidden", hidden.data, hidden.length * 4, false},
                             {"weight", weight.data, weight.length * 4, false},
                             {"targets", targets.data, targets.length * 4, false}};
  // An optional array of `n` floats at info[i].
  auto optional = [&](size_t i, const char* name, size_t n, const char* why, bool writes) {
    if (info[i].IsNull() || info[i].IsUndefined()) return static_cast<float*>(nullptr);
    const ArrayArg<float> a = float32_arg(info, i, name);
    require_length(env, name, a.length, n, why);
    keep.push_back(a.value);
    spans.push_back({name, a.data, a.length * 4, writes});
    return a.data;
  };
  auto required = [&](size_t i, const char* name, size_t n, const char* why) {
    const ArrayArg<float> a = float32_arg(info, i, name);
    require_length(env, name, a.length, n, why);
    keep.push_back(a.value);
    spans.push_back({name, a.data, a.length * 4, true});
    return a.data;
  };
  pb.hidden = hidden.data;
  pb.weight = weight.data;
  pb.targets = targets.data;
  pb.rows = static_cast<int64_t>(rows);
  pb.classes = static_cast<int64_t>(classes);
  pb.bias = optional(3, "options.bias", classes, "one per class", false);
  pb.weights = optional(4, "options.weights", rows, "one per row", false);
  pb.class_weights = optional(5, "options.classWeights", classes, "one per class", false);
  LinearCeOutputs out;
  out.grad_hidden = required(6, "options.out.gradHidden", rows * dim, "the layout of hidden");
  out.grad_weight = required(7, "options.out.gradWeight", weight.length, "the layout of weight");
  out.grad_bias = optional(8, "options.out.gradBias", classes, "one per class", true);
  out.row_loss = optional(9, "rowLoss", rows, "one per row", true);
  out.lse = optional(10, "lse", rows, "one per row", true);
  pb.target_logit = optional(11, "targetLogit", rows, "one per row", false);
  out.grad_target = optional(12, "gradTarget", rows, "one per row", true);
  if ((pb.target_logit == nullptr) != (out.grad_target == nullptr))
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     "targetLogit and gradTarget go together");
  if (p.reduction == Reduction::None && !out.row_loss)
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     "rowLoss is required with reduction 'none'");
  check_disjoint(env, spans);
  return run_loss(env, async_arg(info, 14), keep, [=](double* loss) {
    LinearCeOutputs o = out;
    o.loss = loss;
    return FL_CALL(dev, linear_ce(pb, p, o));
  });
}

}  // namespace

void init_linear_ce(Napi::Env env, Napi::Object exports) {
  export_fn<LinearCrossEntropy>(env, exports, "linearCrossEntropy");
}

}  // namespace fl::napi
