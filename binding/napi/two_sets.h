// The arrays of a loss between a set of rows and a set of class rows that both get a gradient
// (linearCrossEntropy's hidden and weight, proxyAnchor's embeddings and proxies): their N-API
// conversion and length checks, shared by binding/napi/linear_ce.cc and binding/napi/proxy.cc.
// Every array of the call goes through one TwoSetArgs, which keeps it alive for async work and
// checks that no output overlaps another array.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "args.h"

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

}  // namespace fl::napi
