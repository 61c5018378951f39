// Warp and block reductions for the kernels, deterministic by construction: every sum is a fixed
// tree over lanes, warps and blocks, never a floating-point atomic, so a result is the same on
// every run. Our own (not CUB) so that the simulator in cuda/sim runs them as the GPU does.
#pragma once

#include "launch.cuh"

namespace fl {
namespace FL_GPU_NS {

constexpr unsigned kFullMask = 0xffffffffu;

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct MinOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return b < a ? b : a;
  }
};
struct MaxOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return b > a ? b : a;
  }
};

// Reduces over aligned groups of `width` lanes (a power of two <= 32) by butterfly: every lane
// of a group ends with the group's result, combined in the same order on every lane.
template <class T, class Op>
__device__ __forceinline__ T group_reduce(T v, int width, Op op) {
  for (int o = width / 2; o > 0; o /= 2) v = op(v, __shfl_xor_sync(kFullMask, v, o, width));
  return v;
}

template <class T>
__device__ __forceinline__ T group_sum(T v, int width = 32) {
  return group_reduce(v, width, SumOp{});
}

template <class T>
__device__ __forceinline__ T group_max(T v, int width = 32) {
  return group_reduce(v, width, MaxOp{});
}

__device__ __forceinline__ int linear_thread() {
  return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
}

// Sums N values over the block; the totals are valid in thread 0. The block's size must be a
// multiple of 32; `scratch` is N * 32 values of shared memory, free again on return.
template <int N, class T>
__device__ void block_sum(T (&v)[N], T* scratch) {
  const int tid = linear_thread(), lane = tid % 32, warp = tid / 32;
  const int warps = blockDim.x * blockDim.y * blockDim.z / 32;
  for (int j = 0; j < N; ++j) v[j] = group_sum(v[j]);
  if (lane == 0)
    for (int j = 0; j < N; ++j) scratch[warp * N + j] = v[j];
  __syncthreads();
  if (warp == 0)
    for (int j = 0; j < N; ++j) v[j] = group_sum(lane < warps ? scratch[lane * N + j] : T(0));
  __syncthreads();
}

// Reduces v over the whole block with op; every thread gets the result. `identity` pads the
// missing warps; `scratch` is 33 values of shared memory, free again on return.
template <class T, class Op>
__device__ T block_all(T v, T* scratch, Op op, T identity) {
  const int tid = linear_thread(), lane = tid % 32, warp = tid / 32;
  const int warps = blockDim.x * blockDim.y * blockDim.z / 32;
  v = group_reduce(v, 32, op);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const T u = group_reduce(lane < warps ? scratch[lane] : identity, 32, op);
    if (lane == 0) scratch[32] = u;
  }
  __syncthreads();
  const T r = scratch[32];
  __syncthreads();
  return r;
}

// partials[block] = the block's sum of v[0, n) (grid-stride, fixed order); finish with
// column_sums(partials, gridDim.x, 1, out).
template <class T>
__global__ void partial_sums(const T* __restrict__ v, int64_t n, T* __restrict__ partials) {
  __shared__ T scratch[32];
  T acc[1] = {0};
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += stride)
    acc[0] += v[i];
  block_sum(acc, scratch);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc[0];
}

// out[j] = sum over r < rows of partials[r * cols + j], added in row order: the fixed-order finish
// of per-block partial sums. One thread per column.
template <class T>
__global__ void column_sums(const T* __restrict__ partials, int rows, int cols,
                            T* __restrict__ out) {
  for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < cols; j += gridDim.x * blockDim.x) {
    T s = 0;
    for (int r = 0; r < rows; ++r) s += partials[static_cast<int64_t>(r) * cols + j];
    out[j] = s;
  }
}

}  // namespace FL_GPU_NS
}  // namespace fl
