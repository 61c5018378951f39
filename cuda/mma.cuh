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

#include <cstdint>
#include <type_traits>

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

// How a kernel forms its matrix products: FP32 FMAs on the CUDA cores, or on the tensor cores
// 3xTF32 (about FP32 accuracy), TF32 or BF16 (inputs rounded to 10 or 7 mantissa bits). Kernels
// fall back to Fma in device passes without the sm_80 shapes (FL_HAS_TF32_WMMA).
enum class TileMath : int32_t { Fma, Tf32x3, Tf32, Bf16 };

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

// Rounds the floats a tf32 fragment was loaded with to tf32, as the guide asks before mma_sync
// (the tensor core would truncate them).
template <class Frag>
__device__ __forceinline__ void round_fragment(Frag& f) {
  for (int t = 0; t < f.num_elements; ++t) f.x[t] = nvcuda::wmma::__float_to_tf32(f.x[t]);
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

// The two input types of the tile products as one interface (kBf16 false: tf32 m16n16k8, true:
// bf16 m16n16k16): what shared memory stages (floats for tf32, rounded or split once loaded into
// a fragment; bf16 values, rounded as they are staged), the fragments, and the products. Only
// 3xTF32 (TileMath::Tf32x3) uses an Operand's low part.
template <bool kBf16>
struct MmaIn {
  using Elem = std::conditional_t<kBf16, __nv_bfloat16, float>;
  using Type = std::conditional_t<kBf16, __nv_bfloat16, nvcuda::wmma::precision::tf32>;
  static constexpr int kDepth = kBf16 ? 16 : 8;
  using Acc = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, kDepth, float>;
  template <class Use, class Layout>
  struct Operand {
    nvcuda::wmma::fragment<Use, 16, 16, kDepth, Type, Layout> hi, lo;
  };
  using RowA = Operand<nvcuda::wmma::matrix_a, nvcuda::wmma::row_major>;
  using RowB = Operand<nvcuda::wmma::matrix_b, nvcuda::wmma::row_major>;
  using ColB = Operand<nvcuda::wmma::matrix_b, nvcuda::wmma::col_major>;

  __device__ static Elem stage(float x) {
    if constexpr (kBf16) {
      return __float2bfloat16(x);
    } else {
      return x;
    }
  }

  template <class Op>
  __device__ static void load(Op& o, const Elem* p, unsigned ldm, TileMath m) {
    nvcuda::wmma::load_matrix_sync(o.hi, p, ldm);
    if constexpr (!kBf16) {
      if (m == TileMath::Tf32x3) {
        split_fragment(o.hi, o.lo);
      } else {
        round_fragment(o.hi);
      }
    }
  }

  // acc += a b.
  template <class A, class B>
  __device__ static void mma(Acc& acc, const A& a, const B& b, TileMath m) {
    if constexpr (!kBf16) {
      if (m == TileMath::Tf32x3) return mma_3xtf32(acc, a.hi, a.lo, b.hi, b.lo);
    }
    nvcuda::wmma::mma_sync(acc, a.hi, b.hi, acc);
  }
};

#endif

}  // namespace FL_GPU_NS
}  // namespace fl
