// Hot loops are written as explicit 8-lane blocks (so strict IEEE code still vectorises and the
// summation order is fixed) in bodies marked FL_ISA_BODY, and run through FL_ISA_CALL, which
// compiles the call three times on x86-64: for the portable baseline, x86-64-v3 (AVX2 + FMA) and
// x86-64-v4 (AVX-512), and picks one by isa(): the widest level the CPU has, capped by
// FUSEDLOSS_ISA (isa.cc). Not GCC's target_clones: its ifunc resolver picks before any of our
// code runs, so no level below the CPU's could be tested on it.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FUSEDLOSS_NO_CLONES)
#define FL_X86_CLONES 1
#else
#define FL_X86_CLONES 0
#endif

// Row helpers of the CPU kernels, inlined into the dispatched calls that use them (so they are
// compiled for each level's target).
#define FL_INLINE inline __attribute__((always_inline))
// The same for a lambda passed into a dispatched body: [&](...) FL_LAMBDA_INLINE { ... }.
#define FL_LAMBDA_INLINE __attribute__((always_inline))
// A hot loop: inlined into each level's copy of the FL_ISA_CALL that runs it.
#define FL_ISA_BODY FL_INLINE

namespace fl {

constexpr int kLanes = 8;

// Instruction-set levels, in order.
enum class Isa { Baseline, Avx2, Avx512 };

// The level every dispatched call runs at: decided once per process (isa.cc).
Isa isa();
// "baseline", "avx2" or "avx512" (on aarch64 "neon", on wasm "simd128": one portable level).
const char* isa_name(Isa level);
// The FUSEDLOSS_ISA value when it named no level (then isa() is the CPU's widest), else nullptr.
const char* isa_env_invalid();

#if FL_X86_CLONES
template <class F>
__attribute__((noinline, target("arch=x86-64-v4"))) auto isa_run_avx512(const F& f) {
  return f();
}
template <class F>
__attribute__((noinline, target("arch=x86-64-v3"))) auto isa_run_avx2(const F& f) {
  return f();
}
template <class F>
__attribute__((noinline)) auto isa_run_baseline(const F& f) {
  return f();
}
template <class F>
FL_INLINE auto isa_dispatch(const F& f) {
  switch (isa()) {
    case Isa::Avx512:
      return isa_run_avx512(f);
    case Isa::Avx2:
      return isa_run_avx2(f);
    default:
      return isa_run_baseline(f);
  }
}
#else
template <class F>
FL_INLINE auto isa_dispatch(const F& f) {
  return f();
}
#endif

}  // namespace fl

// Runs the expression (a call of FL_ISA_BODY functions) compiled for the level isa() picks.
#define FL_ISA_CALL(...) ::fl::isa_dispatch([&]() FL_LAMBDA_INLINE { return __VA_ARGS__; })
// Defines RET NAME PARAMS, a dispatched kernel other files call, running NAME##_body ARGS.
#define FL_ISA_ENTRY(RET, NAME, PARAMS, ARGS) \
  RET NAME PARAMS { return FL_ISA_CALL(NAME##_body ARGS); }
