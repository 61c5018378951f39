// The arrays of a loss between a set of rows and a set of class rows that both get a gradient
// (linearCrossEntropy's hidden and weight, the proxy losses' embeddings and proxies): their N-API
// conversion and length checks, shared by binding/napi/linear_ce.cc and binding/napi/proxy.cc.
// Every array of the call goes through one TwoSetArgs, which keeps it alive for async work and
// checks that no output overlaps another array.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"
#include "fusedloss/proxy.h"

namespace fl::napi {

class TwoSetArgs {
 public:
  // info[0]: rows x dim floats; info[1]: a positive multiple of dim x per_class floats (one block
  // of per_class rows per class; `per_class_name` names it in messages, null when always 1);
  // info[2]: one int32 label per row. `names` are the three arguments' public names.
  TwoSetArgs(const Napi::CallbackInfo& info, const char* const (&names)[3], int32_t dim,
             int32_t per_class = 1, const char* per_class_name = nullptr)
      : info_(info), env_(info.Env()) {
    const ArrayArg<float> x = float32_arg(info, 0, names[0]);
    const ArrayArg<float> w = float32_arg(info, 1, names[1]);
    const ArrayArg<int32_t> y = int32_arg(info, 2, names[2]);
    const size_t d = static_cast<size_t>(dim), k = static_cast<size_t>(per_class);
    rows = y.length;
    require_length(env_, names[0], x.length, rows * d,
                   std::to_string(rows) + " " + names[2] + " x dim " + std::to_string(d));
    if (w.length == 0 || w.length % (d * k) != 0)
      throw_range_error(
          env_, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
          std::string(names[1]) + " has length " + std::to_string(w.length) +
              ", expected a positive multiple of dim " + std::to_string(d) +
              (per_class_name ? std::string(" x ") + per_class_name + " " + std::to_string(k)
                              : std::string()));
    classes = w.length / d / k;
    rows_data = x.data;
    set_data = w.data;
    labels = y.data;
    set_length = w.length;
    add(x, names[0], false);
    add(w, names[1], false);
    keep.push_back(y.value);
    spans_.push_back({names[2], y.data, y.length * 4, false});
  }

  // The float array of `n` entries at info[i] (`why` says where n comes from in messages).
  float* required(size_t i, const char* name, size_t n, const char* why, bool writes) {
    const ArrayArg<float> a = float32_arg(info_, i, name);
    require_length(env_, name, a.length, n, why);
    return add(a, name, writes);
  }
  // The same, or null when info[i] is null or undefined.
  float* optional(size_t i, const char* name, size_t n, const char* why, bool writes) {
    if (info_[i].IsNull() || info_[i].IsUndefined()) return nullptr;
    return required(i, name, n, why, writes);
  }
  // After the last array: no output shares memory with another array.
  void check_disjoint() const { ::fl::napi::check_disjoint(env_, spans_); }

  size_t rows = 0, classes = 0, set_length = 0;
  const float* rows_data = nullptr;
  const float* set_data = nullptr;
  const int32_t* labels = nullptr;
  std::vector<Napi::Value> keep;

 private:
  float* add(const ArrayArg<float>& a, const char* name, bool writes) {
    keep.push_back(a.value);
    spans_.push_back({name, a.data, a.length * 4, writes});
    return a.data;
  }

  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  std::vector<Span> spans_;
};

// The proxy losses' arrays (proxyAnchor, proxyNCA) after TwoSetArgs: the gradients of the
// embeddings and of the proxies at info[3] and info[4] into `out`, and the problem's arrays and
// sizes into pb. The caller checks disjointness after any further output.
template <class Outputs>
void proxy_arrays(TwoSetArgs& a, ProxyProblem& pb, Outputs& out) {
  out.grad_embeddings =
      a.required(3, "options.out.gradEmbeddings", a.rows * static_cast<size_t>(pb.dim),
                 "the layout of embeddings", true);
  out.grad_proxies =
      a.required(4, "options.out.gradProxies", a.set_length, "the layout of proxies", true);
  pb.embeddings = a.rows_data;
  pb.proxies = a.set_data;
  pb.labels = a.labels;
  pb.rows = static_cast<int64_t>(a.rows);
  pb.classes = static_cast<int64_t>(a.classes);
}

}  // namespace fl::napi
