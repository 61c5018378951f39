// Module init: the families' functions plus the backend facts (threads, CUDA discovery) and the
// machine probes the benchmarks use.
#include "module.h"

#include "args.h"
#include "fusedloss/cuda_device.h"
#include "fusedloss/gpu.h"
#include "fusedloss/probe.h"
#include "parallel.h"
#include "simd.h"

namespace fl::napi {
namespace {

// backends(probeCuda) -> { threads, sim, cuda: { compiled, available, reason, runtimeVersion,
// driverVersion, devices } }. Without probeCuda the CUDA runtime is not touched at all.
CudaStatus not_probed() {
  CudaStatus s;
  s.compiled = FUSEDLOSS_WITH_CUDA != 0;
  s.reason = "not probed: FUSEDLOSS_BACKEND keeps fusedloss off CUDA";
  return s;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const CudaStatus probed = info[0].ToBoolean() ? cuda_discover() : not_probed();
  const CudaStatus& cuda = probed;  // asked once per process
  Napi::Object c = Napi::Object::New(env);
  c.Set("compiled", cuda.compiled);
  c.Set("available", cuda.available);
  c.Set("reason", cuda.reason);
  c.Set("runtimeVersion", cuda.runtime_version);
  c.Set("driverVersion", cuda.driver_version);
  Napi::Array devices = Napi::Array::New(env, cuda.devices.size());
  for (size_t i = 0; i < cuda.devices.size(); ++i) {
    const CudaDevice& d = cuda.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.Set("totalMemory", static_cast<double>(d.total_memory));
    o.Set("multiprocessors", d.multiprocessors);
    devices[i] = o;
  }
  c.Set("devices", devices);
  Napi::Object r = Napi::Object::New(env);
  r.Set("threads", threads());
  r.Set("sim", FUSEDLOSS_WITH_SIM != 0);
  r.Set("cuda", c);
  r.Set("mallocTuned", tune_malloc());
  return r;
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber())
    throw_type_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_TYPE", "n must be a number");
  const double n = info[0].As<Napi::Number>().DoubleValue();
  if (!(n >= 1 && n <= 1024) || n != static_cast<int>(n))
    throw_range_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "n must be an integer in [1, 1024]");
  set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), threads());
}

// cpuIsa() -> { isa, envInvalid }: the level the CPU kernels run at (simd.h), and FUSEDLOSS_ISA
// when it named no level ('' otherwise).
Napi::Value CpuIsa(const Napi::CallbackInfo& info) {
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set("isa", isa_name(isa()));
  r.Set("envInvalid", isa_env_invalid() ? isa_env_invalid() : "");
  return r;
}

// triadBandwidth(n, reps) -> GB/s
Napi::Value TriadBandwidth(const Napi::CallbackInfo& info) {
  const double n = info[0].As<Napi::Number>().DoubleValue();
  const int reps = info[1].As<Napi::Number>().Int32Value();
  if (!(n >= 1024 && n <= 1e10) || reps < 1)
    throw_range_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      "triadBandwidth(n >= 1024, reps >= 1)");
  return Napi::Number::New(info.Env(), triad_bandwidth_cpu(static_cast<int64_t>(n), reps));
}

// A compute probe (iters, reps) -> { <field>: its rate, isa }: fmaPeak (gflops) and expRate
// (gexps).
template <class R>
Napi::Value run_probe(const Napi::CallbackInfo& info, R (*probe)(int64_t, int), double R::*rate,
                      const char* name, const char* field) {
  const double iters = info[0].As<Napi::Number>().DoubleValue();
  const int reps = info[1].As<Napi::Number>().Int32Value();
  if (!(iters >= 1 && iters <= 1e12) || reps < 1)
    throw_range_error(info.Env(), "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                      std::string(name) + "(iters >= 1, reps >= 1)");
  const R p = probe(static_cast<int64_t>(iters), reps);
  Napi::Object r = Napi::Object::New(info.Env());
  r.Set(field, p.*rate);
  r.Set("isa", p.isa);
  return r;
}

Napi::Value FmaPeakFn(const Napi::CallbackInfo& info) {
  return run_probe(info, fma_peak_cpu, &FmaPeak::gflops, "fmaPeak", "gflops");
}

Napi::Value ExpRateFn(const Napi::CallbackInfo& info) {
  return run_probe(info, exp_rate_cpu, &ExpRate::gexps, "expRate", "gexps");
}

#if FUSEDLOSS_WITH_SIM
// simLaunches() -> the simulated kernel launches made on this thread so far (tests: how many
// kernels a call runs). Only in builds with the simulator.
Napi::Value SimLaunches(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(sim::launch_count()));
}
#endif

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tune_malloc();  // before the first gradient is allocated
  export_fn<Backends>(env, exports, "backends");
  export_fn<SetThreads>(env, exports, "setThreads");
  export_fn<GetThreads>(env, exports, "getThreads");
  export_fn<CpuIsa>(env, exports, "cpuIsa");
  export_fn<TriadBandwidth>(env, exports, "triadBandwidth");
  export_fn<FmaPeakFn>(env, exports, "fmaPeak");
  export_fn<ExpRateFn>(env, exports, "expRate");
#if FUSEDLOSS_WITH_SIM
  export_fn<SimLaunches>(env, exports, "simLaunches");
#endif
  init_confusion(env, exports);
  init_spherical(env, exports);
  init_ranking(env, exports);
  init_pairs(env, exports);
  init_spherical_head(env, exports);
  init_linear_ce(env, exports);
  init_proxy(env, exports);
  return exports;
}

}  // namespace
}  // namespace fl::napi

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return fl::napi::Init(env, exports);
}
NODE_API_MODULE(fusedloss, InitModule)
