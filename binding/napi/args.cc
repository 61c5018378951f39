#include "args.h"

#include <climits>
#include <cmath>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>

namespace fl::napi {
namespace {

std::string describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array:
        return "a Float32Array";
      case napi_float64_array:
        return "a Float64Array";
      case napi_int32_array:
        return "an Int32Array";
      case napi_uint8_array:
        return "a Uint8Array";
      default:
        return "another typed array";
    }
  }
  if (v.IsArray()) return "an Array";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  return "an object";
}

// Refuses an array whose buffer was transferred or detached (its data is gone), and one longer
// than the kernels index: 2^31 - 1 elements, the CUDA kernels' int indices.
void require_usable(Napi::Env env, const char* name, const Napi::TypedArray& a) {
  if (a.ArrayBuffer().IsDetached())
    throw_type_error(
        env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
        std::string(name) + "'s ArrayBuffer is detached (transferred); pass live data");
  if (a.ElementLength() > static_cast<size_t>(INT32_MAX))
    throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      std::string(name) + " has " + std::to_string(a.ElementLength()) +
                          " elements; at most 2^31 - 1 = 2147483647 are supported");
}

template <class T>
ArrayArg<T> typed_arg(const Napi::CallbackInfo& info, size_t i, const char* name,
                      napi_typedarray_type type, const char* type_name) {
  const Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     std::string(name) + " must be " + type_name + ", got " + describe(v));
  auto a = v.As<Napi::TypedArrayOf<T>>();
  require_usable(info.Env(), name, a);
  return ArrayArg<T>{a.Data(), a.ElementLength(), v};
}

// Numbers as JavaScript prints them, so native and TypeScript messages read alike.
std::string fmt(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::ostringstream s;
  s.precision(9);
  s << v;
  return s.str();
}

}  // namespace

void throw_type_error(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::TypeError e = Napi::TypeError::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

void throw_range_error(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::RangeError e = Napi::RangeError::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  throw e;
}

ArrayArg<float> float32_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed_arg<float>(info, i, name, napi_float32_array, "a Float32Array");
}

ArrayArg<float> optional_float32_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (info[i].IsNull() || info[i].IsUndefined()) return ArrayArg<float>{};
  return float32_arg(info, i, name);
}

ArrayArg<double> float64_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed_arg<double>(info, i, name, napi_float64_array, "a Float64Array");
}

ArrayArg<int32_t> int32_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  return typed_arg<int32_t>(info, i, name, napi_int32_array, "an Int32Array");
}

LabelsArg labels_arg(const Napi::CallbackInfo& info, size_t i, const char* name,
                     bool integer_only) {
  const Napi::Value v = info[i];
  if (v.IsTypedArray()) {
    auto a = v.As<Napi::TypedArray>();
    require_usable(info.Env(), name, a);
    const void* data = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
    switch (a.TypedArrayType()) {
      case napi_float32_array:
        if (!integer_only) return LabelsArg{data, a.ElementLength(), LabelType::Float32, v};
        break;
      case napi_uint8_array:
        return LabelsArg{data, a.ElementLength(), LabelType::Uint8, v};
      case napi_int32_array:
        return LabelsArg{data, a.ElementLength(), LabelType::Int32, v};
      default:
        break;
    }
  }
  throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                   std::string(name) + " must be " +
                       (integer_only ? "an Int32Array or Uint8Array of class ids"
                                     : "a Float32Array, Uint8Array or Int32Array") +
                       ", got " + describe(v));
}

Napi::Object object_arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsObject())
    throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     std::string(name) + " must be an object, got " + describe(info[i]));
  return info[i].As<Napi::Object>();
}

double number_field(const Napi::Object& o, const char* key, double lo, double hi) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber())
    throw_type_error(o.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     std::string("options.") + key + " must be a number, got " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi))
    throw_range_error(o.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      std::string("options.") + key + " must be in [" + fmt(lo) + ", " + fmt(hi) +
                          "], got " + fmt(d));
  return d;
}

int32_t int_field(const Napi::Object& o, const char* key, int32_t lo, int32_t hi) {
  const double d = number_field(o, key, lo, hi);
  if (d != std::floor(d))
    throw_range_error(o.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      std::string("options.") + key + " must be an integer, got " + fmt(d));
  return static_cast<int32_t>(d);
}

bool bool_field(const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsBoolean())
    throw_type_error(o.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE",
                     std::string("options.") + key + " must be a boolean, got " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

void require_length(Napi::Env env, const char* name, size_t got, size_t want,
                    const std::string& why) {
  if (got != want)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      std::string(name) + " has length " + std::to_string(got) + ", expected " +
                          std::to_string(want) + " (" + why + ")");
}

float* grad_out_arg(const Napi::CallbackInfo& info, size_t i, const float* scores, size_t length,
                    std::vector<Napi::Value>& keep) {
  const ArrayArg<float> out = float32_arg(info, i, "options.out");
  require_length(info.Env(), "options.out", out.length, length,
                 "the gradient has the layout of the scores");
  const size_t n = out.length;
  if (n > 0 && out.data < scores + n && scores < out.data + n)
    throw_range_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "options.out must not share memory with the scores");
  keep.push_back(out.value);
  return out.data;
}

Device device_field(const Napi::Object& params) {
  const auto d = enum_field(params, "device", Device::Sim);
  const bool built = d == Device::Cpu || (d == Device::Cuda && FUSEDLOSS_WITH_CUDA) ||
                     (d == Device::Sim && FUSEDLOSS_WITH_SIM);
  if (!built)
    throw_range_error(params.Env(), "ERR_FUSEDLOSS_BACKEND_UNAVAILABLE",
                      std::string("backend '") + (d == Device::Cuda ? "cuda" : "cuda-sim") +
                          "' is not part of this build of the addon");
  return d;
}

Status not_built(const char* backend) {
  Status st;
  st.fault = Fault::Cuda;
  st.message = std::string("backend '") + backend + "' is not part of this build";
  return st;
}

void throw_status(Napi::Env env, const Status& st) {
  if (st.fault == Fault::Cuda) {
    Napi::Error e = Napi::Error::New(env, "CUDA failed: " + st.message);
    e.Set("code", Napi::String::New(env, "ERR_FUSEDLOSS_CUDA"));
    throw e;
  }
  // This message is seen only by a caller of the addon itself: the public functions rewrite it.
  Napi::RangeError e = Napi::RangeError::New(
      env, "kernel fault " + std::to_string(static_cast<int32_t>(st.fault)) + " at index " +
               std::to_string(st.index) + ", value " + fmt(st.value));
  e.Set("code", Napi::String::New(env, "ERR_FUSEDLOSS_FAULT"));
  e.Set("fault", Napi::Number::New(env, static_cast<int32_t>(st.fault)));
  e.Set("index", Napi::Number::New(env, static_cast<double>(st.index)));
  e.Set("value", Napi::Number::New(env, st.value));
  throw e;
}

void throw_out_of_memory(Napi::Env env) {
  throw_range_error(
      env, "ERR_FUSEDLOSS_OUT_OF_MEMORY",
      "out of memory: the loss's working memory could not be allocated; use smaller batches");
}

namespace {

// An async call, written on the C API rather than Napi::AsyncWorker because nothing in its
// completion may throw: when an environment is torn down (Worker.terminate(), process.exit in a
// Worker or on the main thread) Node still completes the queued work, but JavaScript can no longer
// run, so settling the Promise fails, and a C++ exception escaping the completion aborts the whole
// process. Such a call is dropped: its Promise goes with its environment. The inputs stay alive
// until then through `keep`, so the work never reads freed memory.
struct Job {
  napi_deferred deferred = nullptr;
  napi_async_work work = nullptr;
  std::vector<Napi::ObjectReference> keep;
  std::function<Status()> fn;
  std::function<Napi::Value(Napi::Env)> finish;
  Status status;
  bool out_of_memory = false;
  std::string error;  // another C++ exception's what()
};

void execute(napi_env, void* data) {
  Job& j = *static_cast<Job*>(data);
  try {
    j.status = j.fn();
  } catch (const std::bad_alloc&) {
    j.out_of_memory = true;
  } catch (const std::length_error&) {
    j.out_of_memory = true;
  } catch (const std::exception& e) {
    j.error = e.what();
  }
}

// The result (resolve) or the error (reject) of a finished job; nullptr when no value can be made
// (the environment is going away).
napi_value outcome(Napi::Env env, Job& j, bool& ok) {
  try {
    if (j.out_of_memory) throw_out_of_memory(env);
    if (!j.error.empty()) throw Napi::Error::New(env, j.error);
    if (!j.status.ok()) throw_status(env, j.status);
    ok = true;
    return j.finish(env);
  } catch (const Napi::Error& e) {
    try {
      return e.Value();
    } catch (...) {
      return nullptr;
    }
  } catch (...) {
    return nullptr;
  }
}

void complete(napi_env env, napi_status, void* data) {
  std::unique_ptr<Job> j(static_cast<Job*>(data));
  napi_delete_async_work(env, j->work);
  bool ok = false;
  napi_value v = outcome(Napi::Env(env), *j, ok);
  // Either fails only during teardown, where there is no one left to tell.
  if (v)
    ok ? napi_resolve_deferred(env, j->deferred, v) : napi_reject_deferred(env, j->deferred, v);
}

void check(Napi::Env env, napi_status st) {
  if (st != napi_ok) throw Napi::Error::New(env);
}

}  // namespace

Napi::Value run(Napi::Env env, bool async, const std::vector<Napi::Value>& keep,
                std::function<Status()> work, std::function<Napi::Value(Napi::Env)> finish) {
  if (!async) {
    const Status st = work();  // std::bad_alloc: see guarded()
    if (!st.ok()) throw_status(env, st);
    return finish(env);
  }
  auto j = std::make_unique<Job>();
  for (const Napi::Value& v : keep)
    if (v.IsObject()) j->keep.push_back(Napi::Persistent(v.As<Napi::Object>()));
  j->fn = std::move(work);
  j->finish = std::move(finish);
  napi_value promise = nullptr;
  check(env, napi_create_promise(env, &j->deferred, &promise));
  check(env, napi_create_async_work(env, nullptr, Napi::String::New(env, "fusedloss"), execute,
                                    complete, j.get(), &j->work));
  check(env, napi_queue_async_work(env, j->work));
  j.release();  // complete() deletes it
  return Napi::Value(env, promise);
}

void check_disjoint(Napi::Env env, const std::vector<Span>& spans) {
  for (size_t i = 0; i < spans.size(); ++i)
    for (size_t j = i + 1; j < spans.size(); ++j) {
      const Span &a = spans[i], &b = spans[j];
      if (!(a.writes || b.writes) || a.bytes == 0 || b.bytes == 0) continue;
      const auto* pa = static_cast<const char*>(a.data);
      const auto* pb = static_cast<const char*>(b.data);
      if (pa < pb + b.bytes && pb < pa + a.bytes)
        throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                         std::string(a.writes ? a.name : b.name) + " must not share memory with " +
                             (a.writes ? b.name : a.name));
    }
}

}  // namespace fl::napi
