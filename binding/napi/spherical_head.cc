// N-API glue of SphericalHead: an ObjectWrap owning the factored state. Converts, checks and
// calls the core (binding/cpu/spherical_head.cc); every method runs on the calling thread.
#include "fusedloss/spherical_head.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "args.h"
#include "fusedloss/dense_head.h"
#include "module.h"

namespace fl::napi {
namespace {

std::string num(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

void throw_head_status(Napi::Env env, const HeadStatus& st) {
  const std::string at = "[" + std::to_string(st.index) + "] = " + num(st.value);
  switch (st.fault) {
    case HeadFault::HiddenNotFinite:
      throw_range_error(env, "ERR_FUSEDLOSS_NON_FINITE",
                        "hidden" + at + " is not finite; hidden must hold finite numbers");
    case HeadFault::TargetOutOfRange:
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "targets" + at + " is out of range; class ids must be in [0, classes)");
    case HeadFault::IllConditioned:
      throw_range_error(
          env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
          "options.lr = " + num(st.value) +
              " is too large for this batch: the factored update multiplies U by I - 2 lr H "
              "diag(dL/dq) H^T, which would have an eigenvalue outside [" +
              num(SphericalHead::kMinStepScale) + ", " + num(SphericalHead::kMaxStepScale) +
              "] (U near singular, the factored and dense trajectories would part); use a "
              "smaller lr. Nothing was updated");
    case HeadFault::DecayTooLarge:
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "1 - lr * weightDecay = " + num(st.value) + " is below " +
                            num(SphericalHead::kMinStepScale) +
                            ": weight decay would shrink W too far in one step; use a smaller "
                            "lr or weightDecay. Nothing was updated");
    case HeadFault::ZLossSpreadTooSmall:
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "the Z-loss gradient of row " + std::to_string(st.index) +
                            " of hidden (about 1 / the std of its logits) overflows float32; "
                            "scale hidden up. Nothing was updated");
    case HeadFault::GradientOverflow:
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "the squared-error gradient of row " + std::to_string(st.index) +
                            " of hidden overflows float32 (it grows with the logits); scale "
                            "hidden down. Nothing was updated");
    default:
      throw_range_error(env, "ERR_FUSEDLOSS_INTERNAL", "unexpected SphericalHead status");
  }
}

class HeadWrap : public Napi::ObjectWrap<HeadWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SphericalHeadNative",
                       {InstanceMethod("step", &HeadWrap::Guarded<&HeadWrap::Step>),
                        InstanceMethod("scores", &HeadWrap::Guarded<&HeadWrap::Scores>),
                        InstanceMethod("topK", &HeadWrap::Guarded<&HeadWrap::TopK>),
                        InstanceMethod("weights", &HeadWrap::Guarded<&HeadWrap::Weights>),
                        InstanceMethod("renormalize", &HeadWrap::Guarded<&HeadWrap::Renormalize>),
                        InstanceMethod("stats", &HeadWrap::Stats)});
  }

  // new SphericalHeadNative(params{classes, dim, loss, a, b, stabilizeEvery, initStd, seed},
  // weights|null)
  explicit HeadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<HeadWrap>(info) {
    const Napi::Object o = object_arg(info, 0, "params");
    HeadParams p;
    p.classes = int_field(o, "classes", kHeadClasses);
    p.dim = int_field(o, "dim", kHeadDim);
    p.loss = enum_field(o, "loss", HeadLoss::SquaredError);
    p.a = number_field(o, "a", kPositive);
    p.b = number_field(o, "b", kSigned);
    p.stabilize_every = int_field(o, "stabilizeEvery", kNonNegativeInt);
    p.init_std = number_field(o, "initStd", kNonNegative);
    p.seed = static_cast<uint64_t>(int_field(o, "seed", kNonNegativeInt));
    const ArrayArg<float> w = optional_float32_arg(info, 1, "weights");
    if (w.data)
      require_length(info.Env(), "weights", w.length, static_cast<size_t>(p.classes) * p.dim,
                     std::to_string(p.classes) + " classes x " + std::to_string(p.dim) + " dim");
    // V is C x d floats, which a 32-bit size_t (wasm32) may not count: refused as a failed
    // allocation of it is (below), not wrapped around.
    if (static_cast<uint64_t>(p.classes) * static_cast<uint64_t>(p.dim) >
        std::numeric_limits<size_t>::max() / sizeof(float))
      throw_range_error(info.Env(), "ERR_FUSEDLOSS_OUT_OF_MEMORY",
                        "out of memory: classes x dim = " +
                            std::to_string(static_cast<uint64_t>(p.classes) * p.dim) +
                            " weights do not fit in this build's memory (4 GB on wasm)");
    head_ = oom_guarded(info.Env(), [&] { return std::make_unique<SphericalHead>(p, w.data); });
    // V can be gigabytes: tell the garbage collector, so that dropped heads are collected. Not on
    // wasm: emnapi only counts the bytes, and Emscripten 3.1.6 (no WASM_BIGINT) passes the int64
    // as two int32 arguments, which @emnapi/core takes for a null result pointer: a fatal error.
#ifndef __EMSCRIPTEN__
    external_bytes_ = static_cast<int64_t>(p.classes) * p.dim * sizeof(float);
    Napi::MemoryManagement::AdjustExternalMemory(info.Env(), external_bytes_);
#endif
  }

  ~HeadWrap() override {
    if (external_bytes_) Napi::MemoryManagement::AdjustExternalMemory(Env(), -external_bytes_);
  }

 private:
  // A method whose failed allocations throw ERR_FUSEDLOSS_OUT_OF_MEMORY (args.h).
  template <Napi::Value (HeadWrap::*Method)(const Napi::CallbackInfo&)>
  Napi::Value Guarded(const Napi::CallbackInfo& info) {
    return oom_guarded(info.Env(), [&] { return (this->*Method)(info); });
  }

  int64_t dim() const {
    return head_->params().dim;
  }

  // Rows of a hidden argument: its length must be a multiple of dim.
  int64_t rows_of(Napi::Env env, const ArrayArg<float>& h) const {
    if (h.length % dim() != 0)
      throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                        "hidden has length " + std::to_string(h.length) +
                            ", not a multiple of dim = " + std::to_string(dim()));
    return static_cast<int64_t>(h.length) / dim();
  }

  // step(hidden, targets, lr, weightDecay, gradOut) -> loss
  Napi::Value Step(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ArrayArg<float> h = float32_arg(info, 0, "hidden");
    const ArrayArg<int32_t> t = int32_arg(info, 1, "targets");
    const int64_t m = rows_of(env, h);
    require_length(env, "targets", t.length, static_cast<size_t>(m),
                   "one target per row of hidden");
    const Napi::Object o = object_arg(info, 2, "options");
    const double lr = number_field(o, "lr", kNonNegative);
    const double wd = number_field(o, "weightDecay", kNonNegative);
    const ArrayArg<float> g = float32_arg(info, 3, "gradHidden");
    require_length(env, "gradHidden", g.length, h.length, "the layout of hidden");
    double loss = 0;
    const HeadStatus st = head_->step(h.data, t.data, m, lr, wd, g.data, &loss);
    if (!st.ok()) throw_head_status(env, st);
    return Napi::Number::New(env, loss);
  }

  // scores(hidden, out m x C)
  Napi::Value Scores(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ArrayArg<float> h = float32_arg(info, 0, "hidden");
    const int64_t m = rows_of(env, h);
    const ArrayArg<float> out = float32_arg(info, 1, "out");
    require_length(env, "out", out.length, static_cast<size_t>(m * head_->params().classes),
                   "rows x classes");
    const HeadStatus st = head_->scores(h.data, m, out.data);
    if (!st.ok()) throw_head_status(env, st);
    return env.Undefined();
  }

  // topK(hidden, k, classesOut m x k, valuesOut m x k)
  Napi::Value TopK(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const ArrayArg<float> h = float32_arg(info, 0, "hidden");
    const int64_t m = rows_of(env, h);
    if (!info[1].IsNumber())
      throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE", "k must be a number");
    const double kd = info[1].As<Napi::Number>().DoubleValue();
    if (!(kd >= 1 && kd <= static_cast<double>(head_->params().classes)) ||
        kd != static_cast<int32_t>(kd))
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE",
                        "k must be an integer in [1, classes], got " + num(kd));
    const auto k = static_cast<int32_t>(kd);
    const ArrayArg<int32_t> cls = int32_arg(info, 2, "classesOut");
    const ArrayArg<float> val = float32_arg(info, 3, "valuesOut");
    require_length(env, "classesOut", cls.length, static_cast<size_t>(m * k), "rows x k");
    require_length(env, "valuesOut", val.length, static_cast<size_t>(m * k), "rows x k");
    const HeadStatus st = head_->top_k(h.data, m, k, cls.data, val.data);
    if (!st.ok()) throw_head_status(env, st);
    return env.Undefined();
  }

  // weights(out C x d)
  Napi::Value Weights(const Napi::CallbackInfo& info) {
    const ArrayArg<float> out = float32_arg(info, 0, "out");
    require_length(info.Env(), "out", out.length,
                   static_cast<size_t>(head_->params().classes) * dim(), "classes x dim");
    head_->weights(out.data);
    return info.Env().Undefined();
  }

  Napi::Value Renormalize(const Napi::CallbackInfo& info) {
    head_->renormalize();
    return info.Env().Undefined();
  }

  // stats() -> { steps, stabilizations, resets, unfactorizations }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const HeadStats& s = head_->stats();
    Napi::Object r = Napi::Object::New(info.Env());
    r.Set("steps", static_cast<double>(s.steps));
    r.Set("stabilizations", static_cast<double>(s.stabilizations));
    r.Set("resets", static_cast<double>(s.resets));
    r.Set("unfactorizations", static_cast<double>(s.unfactorizations));
    return r;
  }

  std::unique_ptr<SphericalHead> head_;
  int64_t external_bytes_ = 0;
};

// denseSoftmaxStep(hidden m x d, targets m, W C x d, lr, logits m x C, grad m x C,
// gradHidden m x d) -> loss: the benchmark's dense baseline (dense_head.h); W is updated.
Napi::Value DenseSoftmaxStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const ArrayArg<float> h = float32_arg(info, 0, "hidden");
  const ArrayArg<int32_t> t = int32_arg(info, 1, "targets");
  const ArrayArg<float> W = float32_arg(info, 2, "W");
  if (!info[3].IsNumber())
    throw_type_error(env, "ERR_FUSEDLOSS_INVALID_ARG_TYPE", "lr must be a number");
  const double lr = info[3].As<Napi::Number>().DoubleValue();
  const ArrayArg<float> logits = float32_arg(info, 4, "logits");
  const ArrayArg<float> grad = float32_arg(info, 5, "grad");
  const ArrayArg<float> gh = float32_arg(info, 6, "gradHidden");
  const size_t m = t.length;
  if (m == 0 || h.length % m != 0 || logits.length % m != 0)
    throw_range_error(env, "ERR_FUSEDLOSS_LENGTH_MISMATCH",
                      "hidden and logits must hold one row per target");
  const size_t dim = h.length / m, classes = logits.length / m;
  require_length(env, "W", W.length, classes * dim, "classes x dim");
  require_length(env, "grad", grad.length, logits.length, "the layout of logits");
  require_length(env, "gradHidden", gh.length, h.length, "the layout of hidden");
  for (size_t j = 0; j < m; ++j)
    if (t.data[j] < 0 || static_cast<size_t>(t.data[j]) >= classes)
      throw_range_error(env, "ERR_FUSEDLOSS_INVALID_ARG_VALUE", "targets out of range");
  return Napi::Number::New(
      env, dense_softmax_step(h.data, t.data, static_cast<int64_t>(m), W.data,
                              static_cast<int64_t>(classes), static_cast<int32_t>(dim), lr,
                              logits.data, grad.data, gh.data));
}

}  // namespace

void init_spherical_head(Napi::Env env, Napi::Object exports) {
  exports.Set("SphericalHeadNative", HeadWrap::Define(env));
  export_fn<DenseSoftmaxStep>(env, exports, "denseSoftmaxStep");
}

}  // namespace fl::napi
