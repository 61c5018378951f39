// Explicit per-ISA clones for compute-bound kernels. FL_ISA_CALL compiles one body per level,
// but a register-blocked kernel needs a different vector type per level: GCC lowers a vector
// wider than the target's registers through memory. So each kernel is a template over its
// vector type, instantiated inside three functions built for AVX-512, AVX2 + FMA and the x86-64
// baseline, and isa() (simd.h) picks one (the same binary runs on all three).
#pragma once

#include "simd.h"

namespace fl {

// Vectors of 4, 8 and 16 floats: one xmm, ymm or zmm register.
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec16 __attribute__((vector_size(64)));

// Unaligned loads and stores, through a may_alias copy of V aligned to a float (an alignment
// attribute on V itself would not survive as a template argument). Not memcpy: GCC then kept
// a kernel's accumulators in a stack array for the last store, zeroed it with rep stos and
// copied it out in 16-byte pieces (a tenth of the S tile kernel's time).
template <class V>
FL_INLINE void load_vec(V& v, const float* p) {
  typedef V Unaligned __attribute__((aligned(4), may_alias));
  v = *reinterpret_cast<const Unaligned*>(p);
}
template <class V>
FL_INLINE void store_vec(float* p, const V& v) {
  typedef V Unaligned __attribute__((aligned(4), may_alias));
  *reinterpret_cast<Unaligned*>(p) = v;
}

}  // namespace fl

#if FL_X86_CLONES
// Defines NAME(args) dispatching to KERNEL<Vec16>, KERNEL<Vec8> or KERNEL<Vec4>, each compiled
// for its ISA. KERNEL must be a template inlined into its caller (FL_INLINE).
#define FL_WIDE_DISPATCH(NAME, KERNEL, PARAMS, ARGS)                                          \
  namespace {                                                                                 \
  __attribute__((target("arch=x86-64-v4"))) void NAME##_avx512 PARAMS { KERNEL<Vec16> ARGS; } \
  __attribute__((target("arch=x86-64-v3"))) void NAME##_avx2 PARAMS { KERNEL<Vec8> ARGS; }    \
  void NAME##_baseline PARAMS { KERNEL<Vec4> ARGS; }                                          \
  }                                                                                           \
  void NAME PARAMS {                                                                          \
    switch (isa()) {                                                                          \
      case Isa::Avx512:                                                                       \
        return NAME##_avx512 ARGS;                                                            \
      case Isa::Avx2:                                                                         \
        return NAME##_avx2 ARGS;                                                              \
      default:                                                                                \
        return NAME##_baseline ARGS;                                                          \
    }                                                                                         \
  }
#else
// Elsewhere (aarch64, where Vec4 is one NEON register; a compiler without target clones) the
// 128-bit kernel alone: wider vectors would only be split into it.
#define FL_WIDE_DISPATCH(NAME, KERNEL, PARAMS, ARGS) \
  void NAME PARAMS { KERNEL<Vec4> ARGS; }
#endif
