// N-API glue of the proxy losses: convert, check, call the core, nothing else.
// proxyAnchor(embeddings, proxies, labels, gradEmbeddings, gradProxies, params{dim, alpha, margin,
// reduction, device}, async) -> loss
#include "fusedloss/proxy.h"

#include <cstdint>

#include "args.h"
#include "module.h"
#include "two_sets.h"

namespace fl::napi {
namespace {

Napi::Value ProxyAnchor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Object params = object_arg(info, 5, "params");
  ProxyProblem pb;
  ProxyAnchorParams p;
  pb.dim = int_field(params, "dim", kDimension);
  p.alpha = number_field(params, "alpha", kNonNegative1e3);
  p.margin = number_field(params, "margin", kCosineMargin);
  p.reduction = enum_field(params, "reduction", Reduction::None);
  if (p.reduction == Reduction::None)
    throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE", "reduction must be mean or sum");
  const Device dev = device_field(params);

  TwoSetArgs a(info, {"embeddings", "proxies", "labels"}, pb.dim);
  ProxyOutputs out;
  proxy_arrays(a, pb, out);
  a.check_disjoint();
  return run_loss(env, async_arg(info, 6), a.keep, [=](double* loss) {
    ProxyOutputs o = out;
    o.loss = loss;
    return FL_CALL(dev, proxy_anchor(pb, p, o));
  });
}

}  // namespace

void init_proxy(Napi::Env env, Napi::Object exports) {
  export_fn<ProxyAnchor>(env, exports, "proxyAnchor");
}

}  // namespace fl::napi
