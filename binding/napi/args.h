// Argument conversion and checking for the N-API layer. Every failure throws a TypeError or
// RangeError whose `code` starts with ERR_FUSEDLOSS_ and whose message names the argument, what
// was expected and what came. The TypeScript layer checks the same things first; these checks
// keep the addon safe when it is called directly.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "bounds.h"
#include "cpu_api.h"
#include "fusedloss/confusion.h"
#include "fusedloss/gpu.h"
#include "fusedloss/status.h"

namespace fl::napi {

[[noreturn]] void throw_type_error(Napi::Env env, const std::string& code, const std::string& msg);
[[noreturn]] void throw_range_error(Napi::Env env, const std::string& code, const std::string& msg);

template <class T>
struct ArrayArg {
  T* data = nullptr;
  size_t length = 0;
  Napi::Value value;  // kept alive by async jobs
};

ArrayArg<float> float32_arg(const Napi::CallbackInfo& info, size_t i, const char* name);
// null or undefined gives an empty ArrayArg.
ArrayArg<float> optional_float32_arg(const Napi::CallbackInfo& info, size_t i, const char* name);
ArrayArg<double> float64_arg(const Napi::CallbackInfo& info, size_t i, const char* name);
ArrayArg<int32_t> int32_arg(const Napi::CallbackInfo& info, size_t i, const char* name);

struct LabelsArg {
  const void* data = nullptr;
  size_t length = 0;
  LabelType type = LabelType::Float32;
  Napi::Value value;
};
// Float32Array, Uint8Array or Int32Array; integer_only refuses Float32Array (class ids).
LabelsArg labels_arg(const Napi::CallbackInfo& info, size_t i, const char* name, bool integer_only);

// The trailing `async` flag of every loss entry point.
inline bool async_arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].ToBoolean().Value();
}

inline Napi::Value number_result(Napi::Env env, double v) {
  return Napi::Number::New(env, v);
}

// Fields of the plain params object the TypeScript layer passes.
Napi::Object object_arg(const Napi::CallbackInfo& info, size_t i, const char* name);
double number_field(const Napi::Object& o, const char* key, double lo, double hi);
int32_t int_field(const Napi::Object& o, const char* key, int32_t lo, int32_t hi);
// The napi files pass a named bound of bounds.h, never literals (scripts/check-wire.mjs).
inline double number_field(const Napi::Object& o, const char* key, Range r) {
  return number_field(o, key, r.lo, r.hi);
}
inline int32_t int_field(const Napi::Object& o, const char* key, IntRange r) {
  return int_field(o, key, r.lo, r.hi);
}
bool bool_field(const Napi::Object& o, const char* key);
// An enum's id, from 0 to `last`, the enum's last enumerator (scripts/check-wire.mjs checks that
// it is the last, and that the TypeScript ids match the enumerators' values).
template <class E>
E enum_field(const Napi::Object& o, const char* key, E last) {
  return static_cast<E>(int_field(o, key, 0, static_cast<int32_t>(last)));
}

void require_length(Napi::Env env, const char* name, size_t got, size_t want,
                    const std::string& why);

// The gradient buffer options.out at info[i]: a Float32Array of `length` floats that does not
// overlap the scores; added to `keep` for async jobs.
float* grad_out_arg(const Napi::CallbackInfo& info, size_t i, const float* scores, size_t length,
                    std::vector<Napi::Value>& keep);

// Where a call runs: params.device, 0 the CPU, 1 CUDA, 2 the CUDA simulator. A device this build
// lacks is refused here (the TypeScript layer has already chosen among those that exist).
enum class Device : int32_t { Cpu = 0, Cuda = 1, Sim = 2 };
Device device_field(const Napi::Object& params);

// Runs `call`, a call of a backend API function written without its namespace (gpu_api.inc; the
// CPU's in cpu_api.h), on the device `dev`: FL_CALL(dev, anyloss(pb, amp, avg, mp, loss, grad)).
#define FL_CALL(dev, call) \
  ((dev) == ::fl::napi::Device::Cpu ? ::fl::cpu::call : FL_GPU_CALL(dev, call))
// The same on the CUDA device or the simulator only.
#define FL_GPU_CALL(dev, call) \
  ((dev) == ::fl::napi::Device::Cuda ? FL_CUDA_CALL(call) : FL_SIM_CALL(call))
#if FUSEDLOSS_WITH_CUDA
#define FL_CUDA_CALL(call) ::fl::cuda::call
#else
#define FL_CUDA_CALL(call) ::fl::napi::not_built("cuda")
#endif
#if FUSEDLOSS_WITH_SIM
#define FL_SIM_CALL(call) ::fl::sim::call
#else
#define FL_SIM_CALL(call) ::fl::napi::not_built("cuda-sim")
#endif
Status not_built(const char* backend);

// A kernel's fault (anything but Fault::Cuda) as data: a RangeError whose `fault` (the Fault id),
// `index` and `value` TypeScript turns into the message the reference backend gives (src/faults.ts,
// which knows each argument's public name). Fault::Cuda is an Error with code ERR_FUSEDLOSS_CUDA
// and the runtime's words.
[[noreturn]] void throw_status(Napi::Env env, const Status& st);

// An allocation failed: ERR_FUSEDLOSS_OUT_OF_MEMORY, a RangeError as V8's own.
[[noreturn]] void throw_out_of_memory(Napi::Env env);

// Runs f() with its failed allocations (std::bad_alloc, or a size std::vector refuses), on the
// calling thread, as ERR_FUSEDLOSS_OUT_OF_MEMORY instead of the end of the process. Async work
// catches its own (see run()), and the thread pool hands its workers' back to the caller.
template <class F>
auto oom_guarded(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    throw_out_of_memory(env);
  } catch (const std::length_error&) {
    throw_out_of_memory(env);
  }
}

// An entry point run through oom_guarded.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  return oom_guarded(info.Env(), [&] { return Fn(info); });
}

// exports[name] = Fn, guarded.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void export_fn(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New(env, guarded<Fn>, name));
}

// Runs `work` on the calling thread (async false) or on the libuv pool, returning a Promise
// (async true). `keep` holds the typed arrays alive until the work is done; `finish` builds the
// JavaScript result on the main thread.
Napi::Value run(Napi::Env env, bool async, const std::vector<Napi::Value>& keep,
                std::function<Status()> work, std::function<Napi::Value(Napi::Env)> finish);

// run() for a loss entry point: core(double* loss) -> Status fills the loss, which is returned as
// a number (a Promise of one when async).
template <class Core>
Napi::Value run_loss(Napi::Env env, bool async, const std::vector<Napi::Value>& keep, Core core) {
  auto loss = std::make_shared<double>(0);
  return run(
      env, async, keep, [=] { return core(loss.get()); },
      [=](Napi::Env e) { return number_result(e, *loss); });
}

// An array argument as the overlap check sees it: a written one must share no byte with any other.
struct Span {
  const char* name;
  const void* data;
  size_t bytes;
  bool writes;
};
// Refuses (TypeError, ERR_FUSEDLOSS_INVALID_ARG_VALUE) an output sharing memory with any other
// span, naming both.
void check_disjoint(Napi::Env env, const std::vector<Span>& spans);

}  // namespace fl::napi
