// Tensor-core helpers for kernels built by nvcc and by the simulator: the warp-matrix API
// (nvcuda::wmma, from <mma.h> under nvcc and from cuda/sim/wmma_sim.h in the simulator) and the
// "3xTF32" products that give about FP32 accuracy on TF32 tensor cores.
//
// 3xTF32 (as in CUTLASS's "fast accurate" TF32 GEMMs): each float operand x is split into
// hi = tf32(x) and lo = tf32(x - hi), where x - hi is exact in float, so x = hi + lo up to about
// 2^-22 |x|. Then a b = hi_a hi_b + hi_a lo_b + lo_a hi_b + lo_a lo_b, and the last term, about
// 2^-22 |a b|, is dropped: three tensor-core products per tile instead of one. Inf operands give
// NaN (Inf - Inf in the split); finite operands of magnitude above the largest tf32 (0x7f7fe000)
// round hi to Inf as well.
#pragma once

#include "launch.cuh"

#if !defined(FL_SIM)
#include <cuda_bf16.h>
#include <mma.h>
#endif

// Whether this compilation pass has the sm_80 warp-matrix shapes (tf32 m16n16k8, bf16
// m16n16k16). Device passes for older architectures must not use them.
#if defined(FL_SIM) || !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define FL_HAS_TF32_WMMA 1
#else
#define FL_HAS_TF32_WMMA 0
#endif

namespace fl {
namespace FL_GPU_NS {

#if FL_HAS_TF32_WMMA

struct Tf32Split {
  float hi, lo;
};

__device__ __forceinline__ Tf32Split split_tf32(float x) {
  const float hi = nvcuda::wmma::__float_to_tf32(x);
  return {hi, nvcuda::wmma::__float_to_tf32(x - hi)};
}

// Splits the floats a fragment was loaded with: hi holds them on entry and their tf32 high
// parts on return, lo the low parts. Element by element, so the lane layout does not matter.
template <class Frag>
__device__ __forceinline__ void split_fragment(Frag& hi, Frag& lo) {
  for (int t = 0; t < hi.num_elements; ++t) {
    const Tf32Split s = split_tf32(hi.x[t]);
    hi.x[t] = s.hi;
    lo.x[t] = s.lo;
  }
}

// acc += a b from split operands, the two small cross terms first so that they are not lost
// against the large one.
template <class Acc, class A, class B>
__device__ __forceinline__ void mma_3xtf32(Acc& acc, const A& a_hi, const A& a_lo, const B& b_hi,
                                           const B& b_lo) {
  nvcuda::wmma::mma_sync(acc, a_lo, b_hi, acc);
  nvcuda::wmma::mma_sync(acc, a_hi, b_lo, acc);
  nvcuda::wmma::mma_sync(acc, a_hi, b_hi, acc);
}

#endif

}  // namespace FL_GPU_NS
}  // namespace fl
