// Hot loops are written as explicit 8-lane blocks (so strict IEEE code still vectorises and the
// summation order is fixed) and compiled twice: for the portable x86-64 baseline and for x86-64-v3
// (AVX2 + FMA), picked at load time by the ifunc resolver GCC emits for target_clones.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FUSEDLOSS_NO_CLONES)
#define FL_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FL_SIMD_CLONES
#endif

// Row helpers of the CPU kernels, inlined into the cloned loops that call them (so they are
// compiled for each clone's target).
#define FL_INLINE inline __attribute__((always_inline))
// The same for a lambda passed into a cloned loop: [&](...) FL_LAMBDA_INLINE { ... }.
#define FL_LAMBDA_INLINE __attribute__((always_inline))

namespace fl {
constexpr int kLanes = 8;
}
