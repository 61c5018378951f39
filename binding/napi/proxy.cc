// N-API glue of the proxy losses: convert, check, call the core, nothing else.
// proxyAnchor(embeddings, proxies, labels, gradEmbeddings, gradProxies, params{dim, alpha, margin,
// reduction, device}, async) -> loss
#include "fusedloss/proxy.h"

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "module.h"

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

  const ArrayArg<float> x = float32_arg(info, 0, "embeddings");
  const ArrayArg<float> proxies = float32_arg(info, 1, "proxies");
  const ArrayArg<int32_t> labels = int32_arg(info, 2, "labels");
  const ArrayArg<float> gx = float32_arg(info, 3, "options.out.gradEmbeddings");
  const ArrayArg<float> gp = float32_arg(info, 4, "options.out.gradProxies");
  const size_t dim = static_cast<size_t>(pb.dim), rows = labels.length;
  require_length(env, "embeddings", x.length, rows * dim,
                 std::to_string(rows) + " labels x dim " + std::to_string(dim));
  if (proxies.length == 0 || proxies.length % dim != 0)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "proxies has length " + std::to_string(proxies.length) +
                          ", expected a positive multiple of dim " + std::to_string(dim));
  require_length(env, "options.out.gradEmbeddings", gx.length, x.length,
                 "the layout of embeddings");
  require_length(env, "options.out.gradProxies", gp.length, proxies.length,
                 "the layout of proxies");
  check_disjoint(env, {{"embeddings", x.data, x.length * 4, false},
                       {"proxies", proxies.data, proxies.length * 4, false},
                       {"labels", labels.data, labels.length * 4, false},
                       {"options.out.gradEmbeddings", gx.data, gx.length * 4, true},
                       {"options.out.gradProxies", gp.data, gp.length * 4, true}});
  pb.embeddings = x.data;
  pb.proxies = proxies.data;
  pb.labels = labels.data;
  pb.rows = static_cast<int64_t>(rows);
  pb.classes = static_cast<int64_t>(proxies.length / dim);
  ProxyOutputs out;
  out.grad_embeddings = gx.data;
  out.grad_proxies = gp.data;
  return run_loss(env, async_arg(info, 6),
                  {x.value, proxies.value, labels.value, gx.value, gp.value}, [=](double* loss) {
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
