// N-API glue of the fused linear cross-entropy: convert, check, call the core, nothing else.
// linearCrossEntropy(hidden, weight, targets, bias|null, weights|null, classWeights|null,
// gradHidden, gradWeight, gradBias|null, rowLoss|null, lse|null, targetLogit|null,
// gradTarget|null, params{dim, reduction, ignoreIndex, smoothing, lseSquareScale, softcap,
// device, subCenters?, marginKind?, marginScale?, marginM?, marginEasy?}, async) -> loss.
// gradTarget is required with targetLogit; a marginKind (the margin heads) computes the target
// logits itself.
#include "fusedloss/linear_ce.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "args.h"
#include "module.h"
#include "two_sets.h"

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
  // Sub-center ArcFace's k (formulas J.2): weight has classes x k rows.
  pb.sub_centers = params.Has("subCenters") ? int_field(params, "subCenters", kSubCenters) : 1;
  // The margin heads (formulas J.2), their passes native (linear_margin).
  LinearMargin margin;
  if (params.Has("marginKind")) {
    margin.kind = enum_field(params, "marginKind", MarginKind::CosFace);
    margin.scale = number_field(params, "marginScale", kMarginScale);
    margin.margin = number_field(params, "marginM", kMarginM);
    margin.easy = bool_field(params, "marginEasy");
  }

  TwoSetArgs a(info, {"hidden", "weight", "targets"}, pb.dim, pb.sub_centers, "subCenters");
  const size_t dim = static_cast<size_t>(pb.dim), rows = a.rows, classes = a.classes;
  auto optional = [&](size_t i, const char* name, size_t n, const char* why, bool writes) {
    return a.optional(i, name, n, why, writes);
  };
  auto required = [&](size_t i, const char* name, size_t n, const char* why) {
    return a.required(i, name, n, why, true);
  };
  pb.hidden = a.rows_data;
  pb.weight = a.set_data;
  pb.targets = a.labels;
  pb.rows = static_cast<int64_t>(rows);
  pb.classes = static_cast<int64_t>(classes);
  pb.bias = optional(3, "options.bias", classes, "one per class", false);
  pb.weights = optional(4, "options.weights", rows, "one per row", false);
  pb.class_weights = optional(5, "options.classWeights", classes, "one per class", false);
  LinearCeOutputs out;
  out.grad_hidden = required(6, "options.out.gradHidden", rows * dim, "the layout of hidden");
  out.grad_weight = required(7, "options.out.gradWeight", a.set_length, "the layout of weight");
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
  a.check_disjoint();
  if (margin.kind != MarginKind::None) {
    if (pb.target_logit)
      throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                       "targetLogit is computed by the margin heads themselves");
    const auto zero = [&](const float* x, int64_t n, const char* name) {
      const int64_t r = linear_margin_zero_row(x, n, pb.dim);
      if (r >= 0)
        throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                          "row " + std::to_string(r) + " of " + name +
                              " has norm 0; the margin heads L2-normalise every row");
    };
    zero(pb.hidden, pb.rows, "hidden");
    zero(pb.weight, pb.classes * pb.sub_centers, "weight");
  }
  return run_loss(env, async_arg(info, 14), a.keep, [=](double* loss) {
    LinearCeOutputs o = out;
    o.loss = loss;
    if (margin.kind == MarginKind::None) return FL_CALL(dev, linear_ce(pb, p, o));
    return linear_margin(pb, p, margin, o, [&](const LinearCeProblem& q, const LinearCeOutputs& r) {
      return FL_CALL(dev, linear_ce(q, p, r));
    });
  });
}

}  // namespace

void init_linear_ce(Napi::Env env, Napi::Object exports) {
  export_fn<LinearCrossEntropy>(env, exports, "linearCrossEntropy");
}

}  // namespace fl::napi
