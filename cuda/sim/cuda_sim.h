// The CUDA execution model on the CPU. Force-included (-include) when a .cu file is compiled by
// the host C++ compiler, so the same kernel sources build without nvcc and run in tests on
// machines without a GPU. Everything lives in namespace fl::sim (kernels sit in
// fl::FL_GPU_NS, which is fl::sim here), so the addon can link these next to the real
// libcudart without symbol clashes. No real CUDA header is included.
//
// Model: a launch runs its blocks one after another on the calling OS thread; each CUDA thread
// of a block is a cooperatively scheduled fiber (see sim.cc). Everything is synchronous, which
// is one legal CUDA schedule.
#pragma once

#ifndef FL_SIM
#define FL_SIM 1
#endif
#define FL_SIM_HEADER 1

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// A block's threads all run on one OS thread, and an OS thread runs one block at a time, so a
// per-OS-thread variable is one copy per block in flight. The copy outlives the block: it holds
// whatever the previous block or launch left, so kernels must not rely on initial values (they
// are undefined in CUDA too). __restrict__ needs no macro: GCC and Clang accept it.
#define __shared__ static thread_local

namespace fl {
namespace sim {

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

struct __align__(8) int2 {
  int x, y;
};
struct __align__(16) int4 {
  int x, y, z, w;
};
struct __align__(8) float2 {
  float x, y;
};
struct __align__(16) float4 {
  float x, y, z, w;
};
inline int2 make_int2(int x, int y) {
  return {x, y};
}
inline int4 make_int4(int x, int y, int z, int w) {
  return {x, y, z, w};
}
inline float2 make_float2(float x, float y) {
  return {x, y};
}
inline float4 make_float4(float x, float y, float z, float w) {
  return {x, y, z, w};
}

// Same numbers as the real runtime, so logs read the same.
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorLaunchFailure = 719,
  cudaErrorUnknown = 999,
};
using cudaError_t = cudaError;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

namespace detail {
struct Stream;
struct Event;
}  // namespace detail
using cudaStream_t = detail::Stream*;
using cudaEvent_t = detail::Event*;

inline constexpr int warpSize = 32;

namespace detail {

// The running thread's coordinates. __thread (not thread_local): no init wrapper on access.
struct Current {
  uint3 thread_idx, block_idx, block_dim, grid_dim;
  unsigned char* dynamic_shared;
};
extern __thread Current current;

inline const uint3& thread_idx() {
  return current.thread_idx;
}
inline const uint3& block_idx() {
  return current.block_idx;
}
inline const uint3& block_dim() {
  return current.block_dim;
}
inline const uint3& grid_dim() {
  return current.grid_dim;
}

// Waits until every thread of the block arrives; returns how many passed a nonzero pred.
int barrier(int pred, const char* file, int line);

enum class WarpOp : unsigned char {
  kSyncWarp,
  kShfl,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAll,
  kAny,
  kCollective
};
// Waits until every lane in mask arrives at a warp operation, then returns this lane's result:
// the value (bit pattern) it reads, the ballot, or the vote.
std::uint64_t warp_op(WarpOp op, unsigned mask, std::uint64_t value, long long arg, int width,
                      const char* file, int line);

// What the last lane to arrive at a warp collective runs, once for the warp: args[j] is lane j's
// argument (null outside mask). Returns false with a message in why to fail the launch.
using Collective = bool (*)(void* const* args, unsigned mask, char* why, std::size_t why_size);
// Waits like warp_op until every lane in mask arrives at this same collective (same run), has
// run(...) executed while all of them wait, then returns. Lanes that skip it are reported.
void warp_collective(const char* name, Collective run, unsigned mask, void* arg, const char* file,
                     int line);

template <class T>
std::uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8,
                "warp shuffles move 8 bytes at most");
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  return bits;
}
template <class T>
T from_bits(std::uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// CAS loop for the read-modify-write atomics GCC has no builtin for.
template <class T, class F>
T atomic_update(T* p, F f) {
  T old;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  T next = f(old);
  while (!__atomic_compare_exchange(p, &old, &next, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    next = f(old);
  }
  return old;
}

}  // namespace detail

#define threadIdx (::fl::sim::detail::thread_idx())
#define blockIdx (::fl::sim::detail::block_idx())
#define blockDim (::fl::sim::detail::block_dim())
#define gridDim (::fl::sim::detail::grid_dim())

// Macros, so a divergent or deadlocked barrier is reported with its file:line.
#define __syncthreads() ((void)::fl::sim::detail::barrier(0, __FILE__, __LINE__))
#define __syncthreads_count(pred) ::fl::sim::detail::barrier((pred) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(pred) \
  (::fl::sim::detail::barrier((pred) ? 0 : 1, __FILE__, __LINE__) == 0)
#define __syncthreads_or(pred) (::fl::sim::detail::barrier((pred) ? 1 : 0, __FILE__, __LINE__) != 0)

// Warp operations take their call site through defaulted __builtin_FILE/__builtin_LINE.
inline void __syncwarp(unsigned mask = 0xffffffffu, const char* file = __builtin_FILE(),
                       int line = __builtin_LINE()) {
  detail::warp_op(detail::WarpOp::kSyncWarp, mask, 0, 0, warpSize, file, line);
}

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = warpSize,
              const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return detail::from_bits<T>(detail::warp_op(detail::WarpOp::kShfl, mask, detail::to_bits(v),
                                              src_lane, width, file, line));
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize,
                 const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return detail::from_bits<T>(
      detail::warp_op(detail::WarpOp::kShflUp, mask, detail::to_bits(v), delta, width, file, line));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize,
                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return detail::from_bits<T>(detail::warp_op(detail::WarpOp::kShflDown, mask, detail::to_bits(v),
                                              delta, width, file, line));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize,
                  const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return detail::from_bits<T>(detail::warp_op(detail::WarpOp::kShflXor, mask, detail::to_bits(v),
                                              lane_mask, width, file, line));
}

inline unsigned __ballot_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                              int line = __builtin_LINE()) {
  return static_cast<unsigned>(
      detail::warp_op(detail::WarpOp::kBallot, mask, 0, pred != 0, warpSize, file, line));
}
inline int __all_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  return static_cast<int>(
      detail::warp_op(detail::WarpOp::kAll, mask, 0, pred != 0, warpSize, file, line));
}
inline int __any_sync(unsigned mask, int pred, const char* file = __builtin_FILE(),
                      int line = __builtin_LINE()) {
  return static_cast<int>(
      detail::warp_op(detail::WarpOp::kAny, mask, 0, pred != 0, warpSize, file, line));
}

// Blocks of one launch run on one OS thread, so a compiler barrier orders a block; device-wide
// fences are real fences in case launches on other OS threads share memory.
inline void __threadfence_block() {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
inline void __threadfence() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
inline void __threadfence_system() {
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

// Atomics: relaxed, like CUDA's, and truly atomic across OS threads.
#define FL_SIM_INTEGER_ATOMICS(T)                                                           \
  inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }      \
  inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }      \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }      \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }        \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }      \
  inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }    \
  inline T atomicCAS(T* p, T compare, T v) {                                                \
    __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
    return compare;                                                                         \
  }                                                                                         \
  inline T atomicMax(T* p, T v) {                                                           \
    return detail::atomic_update(p, [v](T old) { return old < v ? v : old; });              \
  }                                                                                         \
  inline T atomicMin(T* p, T v) {                                                           \
    return detail::atomic_update(p, [v](T old) { return v < old ? v : old; });              \
  }
FL_SIM_INTEGER_ATOMICS(int)
FL_SIM_INTEGER_ATOMICS(unsigned)
FL_SIM_INTEGER_ATOMICS(unsigned long long)
#undef FL_SIM_INTEGER_ATOMICS

inline float atomicAdd(float* p, float v) {
  return detail::atomic_update(p, [v](float old) { return old + v; });
}
inline double atomicAdd(double* p, double v) {
  return detail::atomic_update(p, [v](double old) { return old + v; });
}
inline float atomicExch(float* p, float v) {
  float old;
  __atomic_exchange(p, &v, &old, __ATOMIC_RELAXED);
  return old;
}

// Intrinsics. The fast-math ones are the exact host functions here: the GPU's are less accurate.
inline float __expf(float x) {
  return expf(x);
}
inline float __exp10f(float x) {
  return powf(10.0f, x);
}
inline float __logf(float x) {
  return logf(x);
}
inline float __log2f(float x) {
  return log2f(x);
}
inline float __powf(float x, float y) {
  return powf(x, y);
}
inline float __fdividef(float x, float y) {
  return x / y;
}
inline float __frcp_rn(float x) {
  return 1.0f / x;
}
inline float __fsqrt_rn(float x) {
  return sqrtf(x);
}
inline float __fmaf_rn(float x, float y, float z) {
  return fmaf(x, y, z);
}
inline float __fadd_rn(float x, float y) {
  return x + y;
}
inline float __fmul_rn(float x, float y) {
  return x * y;
}
inline float rsqrtf(float x) {
  return 1.0f / sqrtf(x);
}
inline double rsqrt(double x) {
  return 1.0 / sqrt(x);
}
inline float __saturatef(float x) {
  return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f;
}  // NaN -> 0

inline int __float_as_int(float x) {
  return detail::from_bits<int>(detail::to_bits(x));
}
inline unsigned __float_as_uint(float x) {
  return detail::from_bits<unsigned>(detail::to_bits(x));
}
inline float __int_as_float(int x) {
  return detail::from_bits<float>(detail::to_bits(x));
}
inline float __uint_as_float(unsigned x) {
  return detail::from_bits<float>(detail::to_bits(x));
}
inline long long __double_as_longlong(double x) {
  return detail::from_bits<long long>(detail::to_bits(x));
}
inline double __longlong_as_double(long long x) {
  return detail::from_bits<double>(detail::to_bits(x));
}

inline int __popc(unsigned x) {
  return __builtin_popcount(x);
}
inline int __popcll(unsigned long long x) {
  return __builtin_popcountll(x);
}
inline int __clz(int x) {
  return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x));
}
inline int __clzll(long long x) {
  return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x));
}
inline int __ffs(int x) {
  return __builtin_ffs(x);
}
inline int __ffsll(long long x) {
  return __builtin_ffsll(x);
}

template <class T>
T __ldg(const T* p) {
  return *p;
}

// CUDA's device min/max overloads for the same-type cases.
#define FL_SIM_MIN_MAX(T)                          \
  inline T min(T a, T b) { return b < a ? b : a; } \
  inline T max(T a, T b) { return a < b ? b : a; }
FL_SIM_MIN_MAX(int)
FL_SIM_MIN_MAX(unsigned)
FL_SIM_MIN_MAX(long)
FL_SIM_MIN_MAX(unsigned long)
FL_SIM_MIN_MAX(long long)
FL_SIM_MIN_MAX(unsigned long long)
#undef FL_SIM_MIN_MAX
inline float min(float a, float b) {
  return fminf(a, b);
}
inline float max(float a, float b) {
  return fmaxf(a, b);
}
inline double min(double a, double b) {
  return fmin(a, b);
}
inline double max(double a, double b) {
  return fmax(a, b);
}

// Runtime API. Device memory is host memory; every call completes before it returns.
cudaError_t cudaMalloc(void** p, std::size_t bytes);
template <class T>
cudaError_t cudaMalloc(T** p, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(p), bytes);
}
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocHost(void** p, std::size_t bytes);
template <class T>
cudaError_t cudaMallocHost(T** p, std::size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(p), bytes);
}
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* p, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaEventCreate(cudaEvent_t* event);
cudaError_t cudaEventDestroy(cudaEvent_t event);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
// For the calling host thread's last failed launch (or API call) the detailed message: kernel,
// block, threads, file:line. Otherwise the runtime's usual string.
const char* cudaGetErrorString(cudaError_t err);
const char* cudaGetErrorName(cudaError_t err);
// The detailed message of the calling host thread's last failure; "" when there was none.
const char* last_error_message();
// Kernel launches the calling host thread has made (tests: how many kernels a call runs).
uint64_t launch_count();

namespace detail {

struct LaunchConfig {
  const char* name;
  dim3 grid, block;
  std::size_t shared_bytes;
  cudaStream_t stream;
};

// Runs thread_body(arg) once for every thread of every block of cfg.
void launch(const LaunchConfig& cfg, void (*thread_body)(const void*), const void* arg);

// What FL_LAUNCH(...) yields: calling it with the kernel's arguments runs the launch. Every
// thread calls the kernel with its own copies of the arguments, as by-value parameters.
template <class Kernel>
class Launcher {
 public:
  Launcher(const LaunchConfig& cfg, Kernel kernel) : cfg_(cfg), kernel_(kernel) {}

  template <class... Args>
  void operator()(Args&&... args) const {
    const std::tuple<std::decay_t<Args>...> params(std::forward<Args>(args)...);
    const auto run = [&] { std::apply(kernel_, params); };
    using Run = decltype(run);
    launch(
        cfg_, [](const void* p) { (*static_cast<const Run*>(p))(); }, &run);
  }

 private:
  LaunchConfig cfg_;
  Kernel kernel_;
};

template <class Kernel>
Launcher<Kernel> make_launcher(const char* name, dim3 grid, dim3 block, std::size_t shared_bytes,
                               cudaStream_t stream, Kernel kernel) {
  return Launcher<Kernel>({name, grid, block, shared_bytes, stream}, kernel);
}

}  // namespace detail
}  // namespace sim
}  // namespace fl

#include "wmma_sim.h"  // nvcuda::wmma and the bf16/tf32 conversions
