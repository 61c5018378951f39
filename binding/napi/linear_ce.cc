// N-API glue of the fused linear cross-entropy and of ProxyNCA++, which runs on its kernels:
// convert, check, call the core, nothing else.
// linearCrossEntropy(hidden, weight, targets, bias|null, weights|null, classWeights|null,
// gradHidden, gradWeight, gradBias|null, rowLoss|null, lse|null, params{dim, reduction,
// ignoreIndex, smoothing, lseSquareScale, softcap, device, subCenters?, marginKind?, marginScale?,
// marginM?, marginEasy?}, async) -> loss. A marginKind (the margin heads) computes the target
// logits natively (linear_margin).
// proxyNCA(embeddings, proxies, labels, gradEmbeddings, gradProxies, rowLoss|null,
// params{dim, softmaxScale, reduction, device}, async) -> loss (proxy_nca_linear).
#include "fusedloss/linear_ce.h"

#include <cstdint>

#include "args.h"
#include "fusedloss/linear_ce_proxy.h"
#include "module.h"
#include "two_sets.h"

namespace fl::napi {
namespace {

// The fused kernel on `dev`, for the passes that run around it on the CPU threads.
LinearCeKernel linear_kernel(Device dev) {
  return [dev](const LinearCeProblem& q, const LinearCeParams& p, const LinearCeOutputs& r) {
    return FL_CALL(dev, linear_ce(q, p, r));
  };
}

void require_row_loss(Napi::Env env, Reduction reduction, const float* row_loss) {
  if (reduction == Reduction::None && !row_loss)
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     "rowLoss is required with reduction 'none'");
}

Napi::Value LinearCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 11, "params");
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
  pb.hidden = a.rows_data;
  pb.weight = a.set_data;
  pb.targets = a.labels;
  pb.rows = static_cast<int64_t>(rows);
  pb.classes = static_cast<int64_t>(classes);
  pb.bias = a.optional(3, "options.bias", classes, "one per class", false);
  pb.weights = a.optional(4, "options.weights", rows, "one per row", false);
  pb.class_weights = a.optional(5, "options.classWeights", classes, "one per class", false);
  LinearCeOutputs out;
  out.grad_hidden =
      a.required(6, "options.out.gradHidden", rows * dim, "the layout of hidden", true);
  out.grad_weight =
      a.required(7, "options.out.gradWeight", a.set_length, "the layout of weight", true);
  out.grad_bias = a.optional(8, "options.out.gradBias", classes, "one per class", true);
  out.row_loss = a.optional(9, "rowLoss", rows, "one per row", true);
  out.lse = a.optional(10, "lse", rows, "one per row", true);
  require_row_loss(env, p.reduction, out.row_loss);
  a.check_disjoint();
  return run_loss(env, async_arg(info, 12), a.keep, [=](double* loss) {
    LinearCeOutputs o = out;
    o.loss = loss;
    if (margin.kind == MarginKind::None) return FL_CALL(dev, linear_ce(pb, p, o));
    return linear_margin(pb, p, margin, o, linear_kernel(dev));
  });
}

Napi::Value ProxyNCA(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 6, "params");
  ProxyProblem pb;
  ProxyNcaParams p;
  pb.dim = int_field(params, "dim", kDimension);
  p.scale = number_field(params, "softmaxScale", kPositive);
  p.reduction = enum_field(params, "reduction", Reduction::None);
  const Device dev = device_field(params);

  TwoSetArgs a(info, {"embeddings", "proxies", "labels"}, pb.dim);
  ProxyNcaOutputs out;
  proxy_arrays(a, pb, out);
  out.row_loss = a.optional(5, "rowLoss", a.rows, "one per row", true);
  require_row_loss(env, p.reduction, out.row_loss);
  a.check_disjoint();
  return run_loss(env, async_arg(info, 7), a.keep, [=](double* loss) {
    ProxyNcaOutputs o = out;
    o.loss = loss;
    return proxy_nca_linear(pb, p, o, linear_kernel(dev));
  });
}

}  // namespace

void init_linear_ce(Napi::Env env, Napi::Object exports) {
  export_fn<LinearCrossEntropy>(env, exports, "linearCrossEntropy");
  export_fn<ProxyNCA>(env, exports, "proxyNCA");
}

}  // namespace fl::napi
