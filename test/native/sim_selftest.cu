// Self-test of the CUDA simulator (cuda/sim): kernels that exercise barriers, shared memory, warp
// shuffles and votes, 2-D and 3-D indexing, dynamic shared memory, atomics and the warp-matrix
// (tensor core) API, each checked against a host computation. Apart from the FL_SIM-only cases
// (error reports, poisoning) it also builds with nvcc (for sm_80 or newer: the tf32 and bf16
// shapes), so a machine with a GPU can run the same checks for real; there the exact-match mma
// case checks the simulator's stated accumulation order against the hardware's.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "launch.cuh"
#include "mma.cuh"
#include "xorshift.h"

namespace fl {
namespace FL_GPU_NS {

constexpr unsigned kBlock = 256;
constexpr unsigned kFull = 0xffffffffu;

// Copies a host vector to fresh device memory; device memory the caller frees.
template <class T>
T* to_device(const std::vector<T>& host) {
  T* d = nullptr;
  cudaMalloc(&d, host.size() * sizeof(T));
  cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  return d;
}

template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> host(n);
  cudaMemcpy(host.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
  return host;
}

// "" when the last launch and everything before it succeeded.
std::string launch_status() {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return std::string("launch failed: ") + cudaGetErrorString(err);
  const cudaError_t sync = cudaDeviceSynchronize();
  if (sync != cudaSuccess) return std::string("sync failed: ") + cudaGetErrorString(sync);
  return "";
}

// 1. Block reduction: shared-memory tree, one partial sum per block.
template <class T>
__global__ void block_sum_kernel(const T* in, unsigned n, T* partial) {
  __shared__ T s[kBlock];
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  s[threadIdx.x] = i < n ? in[i] : T(0);
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) s[threadIdx.x] += s[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

template <class T>
std::string block_sums(const std::vector<T>& in, std::vector<T>* partial) {
  const unsigned n = static_cast<unsigned>(in.size());
  const unsigned blocks = (n + kBlock - 1) / kBlock;
  T* d_in = to_device(in);
  T* d_partial = nullptr;
  cudaMalloc(&d_partial, blocks * sizeof(T));
  FL_LAUNCH(blocks, kBlock, 0, 0, block_sum_kernel<T>)(d_in, n, d_partial);
  const std::string status = launch_status();
  *partial = to_host(d_partial, blocks);
  cudaFree(d_in);
  cudaFree(d_partial);
  return status;
}

std::string test_block_reduction() {
  const unsigned n = 100003;
  std::vector<int> ints(n);
  std::vector<float> floats(n);
  for (unsigned i = 0; i < n; ++i) {
    ints[i] = static_cast<int>(i % 1000) - 300;
    floats[i] = 0.001f * static_cast<float>(i % 977);
  }
  cudaEvent_t start, end;
  cudaEventCreate(&start);
  cudaEventCreate(&end);
  cudaEventRecord(start);
  std::vector<int> int_partial;
  std::vector<float> float_partial;
  std::string status = block_sums(ints, &int_partial);
  if (status.empty()) status = block_sums(floats, &float_partial);
  cudaEventRecord(end);
  cudaEventSynchronize(end);
  float ms = -1;
  cudaEventElapsedTime(&ms, start, end);
  cudaEventDestroy(start);
  cudaEventDestroy(end);
  if (!status.empty()) return status;
  if (!(ms >= 0)) return "event timing is negative";
  long long int_sum = 0, int_expect = 0;
  double float_sum = 0, float_expect = 0;
  for (unsigned b = 0; b < int_partial.size(); ++b) int_sum += int_partial[b];
  for (unsigned b = 0; b < float_partial.size(); ++b) float_sum += float_partial[b];
  for (unsigned i = 0; i < n; ++i) {
    int_expect += ints[i];
    float_expect += floats[i];
  }
  if (int_sum != int_expect)
    return "int sum " + std::to_string(int_sum) + " != " + std::to_string(int_expect);
  if (std::fabs(float_sum - float_expect) > 1e-5 * std::fabs(float_expect)) {
    return "float sum " + std::to_string(float_sum) + " != " + std::to_string(float_expect);
  }
  return "";
}

// 2. Warp shuffles and votes. Each thread writes kWarpOut results.
constexpr unsigned kWarpOut = 10;

__global__ void warp_ops_kernel(const int* in, int* out, double* halves) {
  const unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned lane = threadIdx.x % 32;
  const int v = in[t];
  int xor_sum = v;
  for (int o = 16; o > 0; o /= 2) xor_sum += __shfl_xor_sync(kFull, xor_sum, o);
  int down = v;
  for (unsigned o = 16; o > 0; o /= 2) down += __shfl_down_sync(kFull, down, o);
  int scan = v;
  for (unsigned o = 1; o < 32; o *= 2) {
    const int up = __shfl_up_sync(kFull, scan, o);
    if (lane >= o) scan += up;
  }
  int seg8 = v;
  for (int o = 4; o > 0; o /= 2) seg8 += __shfl_xor_sync(kFull, seg8, o, 8);
  int seg16 = v;
  for (unsigned o = 8; o > 0; o /= 2) seg16 += __shfl_down_sync(kFull, seg16, o, 16);
  int* mine = out + t * kWarpOut;
  mine[0] = xor_sum;
  mine[1] = down;
  mine[2] = scan;
  mine[3] = __shfl_sync(kFull, v, 3);
  mine[4] = seg8;
  mine[5] = seg16;
  mine[6] = static_cast<int>(__ballot_sync(kFull, v % 3 == 0));
  mine[7] = __all_sync(kFull, v >= 0);
  mine[8] = __any_sync(kFull, v == 7);
  mine[9] = __shfl_up_sync(kFull, v, 2, 8);
  halves[t] = __shfl_sync(kFull, 0.5 * v, static_cast<int>(lane ^ 1));  // 8-byte values
}

// Host model of a __shfl_down_sync sum over segments of `width` lanes: a lane whose source
// falls past its segment adds its own value.
std::vector<int> host_down(std::vector<int> v, unsigned width) {
  for (unsigned o = width / 2; o > 0; o /= 2) {
    std::vector<int> next(32);
    for (unsigned l = 0; l < 32; ++l) next[l] = v[l] + ((l % width) + o < width ? v[l + o] : v[l]);
    v = next;
  }
  return v;
}

std::string test_warp_ops() {
  const unsigned blocks = 3, n = blocks * kBlock;
  std::vector<int> in(n);
  for (unsigned i = 0; i < n; ++i) in[i] = static_cast<int>((i * 37) % 101);
  int* d_in = to_device(in);
  int* d_out = nullptr;
  double* d_halves = nullptr;
  cudaMalloc(&d_out, n * kWarpOut * sizeof(int));
  cudaMalloc(&d_halves, n * sizeof(double));
  FL_LAUNCH(blocks, kBlock, 0, 0, warp_ops_kernel)(d_in, d_out, d_halves);
  const std::string status = launch_status();
  const std::vector<int> out = to_host(d_out, n * kWarpOut);
  const std::vector<double> halves = to_host(d_halves, n);
  cudaFree(d_in);
  cudaFree(d_out);
  cudaFree(d_halves);
  if (!status.empty()) return status;
  const char* names[kWarpOut] = {"xor sum",       "down sum", "up scan", "broadcast", "xor width 8",
                                 "down width 16", "ballot",   "all",     "any",       "up width 8"};
  for (unsigned w = 0; w < n / 32; ++w) {
    const std::vector<int> v(in.begin() + w * 32, in.begin() + w * 32 + 32);
    const std::vector<int> down = host_down(v, 32), down16 = host_down(v, 16);
    int sum = 0, scan = 0;
    unsigned ballot = 0;
    bool any7 = false;
    for (unsigned l = 0; l < 32; ++l) {
      sum += v[l];
      if (v[l] % 3 == 0) ballot |= 1u << l;
      any7 = any7 || v[l] == 7;
    }
    for (unsigned l = 0; l < 32; ++l) {
      scan += v[l];
      int seg8 = 0;
      for (unsigned k = l / 8 * 8; k < l / 8 * 8 + 8; ++k) seg8 += v[k];
      const int expect[kWarpOut] = {sum,
                                    down[l],
                                    scan,
                                    v[3],
                                    seg8,
                                    down16[l],
                                    static_cast<int>(ballot),
                                    1,
                                    any7 ? 1 : 0,
                                    l % 8 >= 2 ? v[l - 2] : v[l]};
      const unsigned t = w * 32 + l;
      for (unsigned k = 0; k < kWarpOut; ++k) {
        if (out[t * kWarpOut + k] != expect[k]) {
          return std::string(names[k]) + " wrong at thread " + std::to_string(t) + ": " +
                 std::to_string(out[t * kWarpOut + k]) + " != " + std::to_string(expect[k]);
        }
      }
      if (halves[t] != 0.5 * v[l ^ 1]) return "double shuffle wrong at thread " + std::to_string(t);
    }
  }
  return "";
}

// 3. Transpose through a padded shared tile, 32x8 threads per 32x32 tile.
constexpr unsigned kTile = 32, kTileRows = 8;

__global__ void transpose_kernel(const float* in, float* out, unsigned rows, unsigned cols) {
  __shared__ float tile[kTile][kTile + 1];
  unsigned x = blockIdx.x * kTile + threadIdx.x;
  unsigned y = blockIdx.y * kTile + threadIdx.y;
  for (unsigned j = 0; j < kTile; j += kTileRows) {
    if (x < cols && y + j < rows) tile[threadIdx.y + j][threadIdx.x] = in[(y + j) * cols + x];
  }
  __syncthreads();
  x = blockIdx.y * kTile + threadIdx.x;
  y = blockIdx.x * kTile + threadIdx.y;
  for (unsigned j = 0; j < kTile; j += kTileRows) {
    if (x < rows && y + j < cols) out[(y + j) * rows + x] = tile[threadIdx.x][threadIdx.y + j];
  }
}

std::string test_transpose() {
  const unsigned rows = 77, cols = 45;
  std::vector<float> in(rows * cols);
  for (unsigned i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  float* d_in = to_device(in);
  float* d_out = nullptr;
  cudaMalloc(&d_out, in.size() * sizeof(float));
  const dim3 grid((cols + kTile - 1) / kTile, (rows + kTile - 1) / kTile);
  FL_LAUNCH(grid, dim3(kTile, kTileRows), 0, 0, transpose_kernel)(d_in, d_out, rows, cols);
  const std::string status = launch_status();
  const std::vector<float> out = to_host(d_out, in.size());
  cudaFree(d_in);
  cudaFree(d_out);
  if (!status.empty()) return status;
  for (unsigned r = 0; r < rows; ++r) {
    for (unsigned c = 0; c < cols; ++c) {
      if (out[c * rows + r] != in[r * cols + c]) {
        return "element (" + std::to_string(r) + "," + std::to_string(c) + ") wrong";
      }
    }
  }
  return "";
}

// 4. 3-D grid and block: every (block, thread) pair claims its linear id once and records its
// coordinates, 4 bits each.
__global__ void index_kernel(unsigned* hits, unsigned* coords) {
  const unsigned block = blockIdx.x + blockIdx.y * gridDim.x + blockIdx.z * gridDim.x * gridDim.y;
  const unsigned thread =
      threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
  const unsigned id = block * (blockDim.x * blockDim.y * blockDim.z) + thread;
  atomicAdd(&hits[id], 1u);
  coords[id] = blockIdx.x | blockIdx.y << 4 | blockIdx.z << 8 | threadIdx.x << 12 |
               threadIdx.y << 16 | threadIdx.z << 20;
}

std::string test_3d_indexing() {
  const dim3 grid(3, 2, 2), block(4, 3, 5);
  const unsigned n = 3 * 2 * 2 * 4 * 3 * 5;
  unsigned *d_hits = nullptr, *d_coords = nullptr;
  cudaMalloc(&d_hits, n * sizeof(unsigned));
  cudaMalloc(&d_coords, n * sizeof(unsigned));
  cudaMemset(d_hits, 0, n * sizeof(unsigned));
  FL_LAUNCH(grid, block, 0, 0, index_kernel)(d_hits, d_coords);
  const std::string status = launch_status();
  const std::vector<unsigned> hits = to_host(d_hits, n), coords = to_host(d_coords, n);
  cudaFree(d_hits);
  cudaFree(d_coords);
  if (!status.empty()) return status;
  unsigned id = 0;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        for (unsigned tz = 0; tz < block.z; ++tz)
          for (unsigned ty = 0; ty < block.y; ++ty)
            for (unsigned tx = 0; tx < block.x; ++tx, ++id) {
              const unsigned expect = bx | by << 4 | bz << 8 | tx << 12 | ty << 16 | tz << 20;
              if (hits[id] != 1)
                return "id " + std::to_string(id) + " hit " + std::to_string(hits[id]) + " times";
              if (coords[id] != expect)
                return "id " + std::to_string(id) + " has the wrong coordinates";
            }
  return "";
}

// 5. Dynamic shared memory: each block reverses its chunk (100 threads, not a warp multiple).
__global__ void reverse_kernel(const double* in, double* out, unsigned n) {
  FL_DYNAMIC_SHARED(double, s);
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  s[threadIdx.x] = i < n ? in[i] : -1.0;
  __syncthreads();
  if (i < n) out[i] = s[blockDim.x - 1 - threadIdx.x];
}

std::string test_dynamic_shared() {
  const unsigned n = 1000, threads = 100, blocks = n / threads;
  std::vector<double> in(n);
  for (unsigned i = 0; i < n; ++i) in[i] = 1.5 * i;
  double* d_in = to_device(in);
  double* d_out = nullptr;
  cudaMalloc(&d_out, n * sizeof(double));
  FL_LAUNCH(blocks, threads, threads * sizeof(double), 0, reverse_kernel)(d_in, d_out, n);
  const std::string status = launch_status();
  const std::vector<double> out = to_host(d_out, n);
  cudaFree(d_in);
  cudaFree(d_out);
  if (!status.empty()) return status;
  for (unsigned i = 0; i < n; ++i) {
    const unsigned b = i / threads, expect = b * threads + (threads - 1 - i % threads);
    if (out[i] != in[expect]) return "element " + std::to_string(i) + " wrong";
  }
  return "";
}

// 6. Atomics from many blocks. The float sum adds small integers, so it is exact in any order.
struct Totals {
  float f;
  double d;
  int i;
  int lo;
  int hi;
  unsigned long long u;
  unsigned cas;
};

template <int kMod, int kOffset>
__global__ void atomics_kernel(unsigned n, Totals* totals) {
  for (unsigned i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int v = static_cast<int>(i % kMod) - kOffset;
    atomicAdd(&totals->f, static_cast<float>(v));
    atomicAdd(&totals->d, 0.25 * v);
    atomicAdd(&totals->i, v);
    atomicMin(&totals->lo, static_cast<int>((i * 7919u) % 100003u) - 50000);
    atomicMax(&totals->hi, static_cast<int>((i * 7919u) % 100003u) - 50000);
    atomicAdd(&totals->u, 1ull << 33);
    unsigned old = totals->cas, seen;
    while ((seen = atomicCAS(&totals->cas, old, old + 1)) != old) old = seen;
  }
}

std::string test_atomics() {
  const unsigned n = 20011;
  Totals init{0.0f, 0.0, 0, 1 << 30, -(1 << 30), 0, 0};
  Totals* d = nullptr;
  cudaMalloc(&d, sizeof(Totals));
  cudaMemcpy(d, &init, sizeof init, cudaMemcpyHostToDevice);
  FL_LAUNCH(40, kBlock, 0, 0, atomics_kernel<7, 3>)(n, d);
  const std::string status = launch_status();
  Totals got;
  cudaMemcpy(&got, d, sizeof got, cudaMemcpyDeviceToHost);
  cudaFree(d);
  if (!status.empty()) return status;
  Totals want = init;
  for (unsigned i = 0; i < n; ++i) {
    const int v = static_cast<int>(i % 7) - 3;
    const int h = static_cast<int>((i * 7919u) % 100003u) - 50000;
    want.f += static_cast<float>(v);
    want.d += 0.25 * v;
    want.i += v;
    want.lo = h < want.lo ? h : want.lo;
    want.hi = h > want.hi ? h : want.hi;
    want.u += 1ull << 33;
    want.cas += 1;
  }
  if (got.f != want.f)
    return "float atomicAdd " + std::to_string(got.f) + " != " + std::to_string(want.f);
  if (got.d != want.d) return "double atomicAdd wrong";
  if (got.i != want.i) return "int atomicAdd wrong";
  if (got.lo != want.lo || got.hi != want.hi) return "atomicMin/atomicMax wrong";
  if (got.u != want.u) return "unsigned long long atomicAdd wrong";
  if (got.cas != want.cas) return "atomicCAS increment wrong";
  return "";
}

// 7. Launches from several host threads at once.
std::string test_concurrent_launches() {
  const unsigned workers = 4;
  std::vector<std::string> results(workers);
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < workers; ++w) {
    threads.emplace_back([w, &results] {
      for (unsigned round = 0; round < 10 && results[w].empty(); ++round) {
        std::vector<int> in(5000 + 17 * w + round);
        long long expect = 0;
        for (unsigned i = 0; i < in.size(); ++i)
          expect += in[i] = static_cast<int>(i * (w + 1) % 97);
        std::vector<int> partial;
        results[w] = block_sums(in, &partial);
        long long sum = 0;
        for (int p : partial) sum += p;
        if (results[w].empty() && sum != expect)
          results[w] = "worker " + std::to_string(w) + " summed wrong";
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& r : results) {
    if (!r.empty()) return r;
  }
  return "";
}

// 8. Tensor cores (sm_80 warp-matrix API). Kernel bodies exist only where the shapes do.

// Hand-worked roundings: tf32 keeps the top 19 bits, rounding half an ulp away from zero
// (cvt.rna); bf16 keeps the top 16, to nearest even. The low bits dropped are D (13) and L (16).
struct RoundCase {
  std::uint32_t in, tf32;
  unsigned short bf16;
  const char* what;
};
constexpr RoundCase kRoundCases[] = {
    {0x3f800000u, 0x3f800000u, 0x3f80, "1"},
    {0x3f800fffu, 0x3f800000u, 0x3f80, "D just below half: down"},
    {0x3f801000u, 0x3f802000u, 0x3f80, "tf32 tie with an even kept bit: away from zero"},
    {0xbf801000u, 0xbf802000u, 0xbf80, "negative tf32 tie: away from zero"},
    {0x3f803000u, 0x3f804000u, 0x3f80, "tf32 tie with an odd kept bit: away from zero"},
    {0x3f808000u, 0x3f808000u, 0x3f80, "bf16 tie with an even kept bit: stays"},
    {0x3f818000u, 0x3f818000u, 0x3f82, "bf16 tie with an odd kept bit: up to even"},
    {0x3f808001u, 0x3f808000u, 0x3f81, "L just above half: bf16 up"},
    {0x3f807fffu, 0x3f808000u, 0x3f80, "L just below half; D above half, carrying into bit 15"},
    {0x7f7fffffu, 0x7f800000u, 0x7f80, "largest float: both overflow to Inf"},
    {0x7f7fefffu, 0x7f7fe000u, 0x7f80, "rounds to the largest tf32; bf16 overflows"},
    {0x7f7ff000u, 0x7f800000u, 0x7f80, "tf32 tie at the top: Inf"},
    {0x7f7f7fffu, 0x7f7f8000u, 0x7f7f, "rounds to the largest bf16"},
    {0x00000fffu, 0x00000000u, 0x0000, "subnormal below half the smallest tf32"},
    {0x00001000u, 0x00002000u, 0x0000, "subnormal tie: smallest tf32 subnormal"},
    {0x80001000u, 0x80002000u, 0x8000, "negative subnormal tie"},
    {0x007ff000u, 0x00800000u, 0x0080, "largest subnormals round up to the smallest normal"},
    {0x00008000u, 0x00008000u, 0x0000, "bf16 subnormal tie, even: zero"},
    {0x00018000u, 0x00018000u, 0x0002, "bf16 subnormal tie, odd: up"},
    {0x80008001u, 0x80008000u, 0x8001, "negative bf16 subnormal above half"},
    {0x00000000u, 0x00000000u, 0x0000, "+0"},
    {0x80000000u, 0x80000000u, 0x8000, "-0"},
    {0x7f800000u, 0x7f800000u, 0x7f80, "+Inf"},
    {0xff800000u, 0xff800000u, 0xff80, "-Inf"},
    {0x7fc00000u, 0x7fc00000u, 0x7fff, "quiet NaN"},
    {0x7fffffffu, 0x7fffe000u, 0x7fff, "NaN, all payload bits: tf32 masks, no carry"},
    {0xffc00001u, 0xffc00000u, 0x7fff, "negative NaN: bf16 gives the canonical NaN"},
    // As the sm_8x SASS does it (mask only): a NaN with payload in the low 13 bits alone.
    {0x7f800001u, 0x7f800000u, 0x7fff, "signalling NaN, low payload: tf32 Inf"},
};
constexpr unsigned kRoundCount = sizeof kRoundCases / sizeof kRoundCases[0];

__global__ void round_kernel(const float* in, unsigned n, float* tf32, unsigned short* bf16,
                             float* back) {
#if FL_HAS_TF32_WMMA
  const unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  tf32[i] = nvcuda::wmma::__float_to_tf32(in[i]);
  const __nv_bfloat16 h = __float2bfloat16(in[i]);
  bf16[i] = __bfloat16_as_ushort(h);
  back[i] = __bfloat162float(h);
#endif
}

std::uint32_t bits_of(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float float_of(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

std::string test_roundings() {
  std::vector<float> in(kRoundCount);
  for (unsigned i = 0; i < kRoundCount; ++i) in[i] = float_of(kRoundCases[i].in);
  float* d_in = to_device(in);
  float *d_tf32 = nullptr, *d_back = nullptr;
  unsigned short* d_bf16 = nullptr;
  cudaMalloc(&d_tf32, kRoundCount * sizeof(float));
  cudaMalloc(&d_back, kRoundCount * sizeof(float));
  cudaMalloc(&d_bf16, kRoundCount * sizeof(unsigned short));
  FL_LAUNCH(1, 32, 0, 0, round_kernel)(d_in, kRoundCount, d_tf32, d_bf16, d_back);
  const std::string status = launch_status();
  const std::vector<float> tf32 = to_host(d_tf32, kRoundCount), back = to_host(d_back, kRoundCount);
  const std::vector<unsigned short> bf16 = to_host(d_bf16, kRoundCount);
  cudaFree(d_in);
  cudaFree(d_tf32);
  cudaFree(d_back);
  cudaFree(d_bf16);
  if (!status.empty()) return status;
  char buf[256];
  for (unsigned i = 0; i < kRoundCount; ++i) {
    const RoundCase& c = kRoundCases[i];
    const std::uint32_t got_back = bits_of(back[i]), want_back = std::uint32_t{bf16[i]} << 16;
    if (bits_of(tf32[i]) != c.tf32 || bf16[i] != c.bf16 || got_back != want_back) {
      std::snprintf(buf, sizeof buf,
                    "0x%08x (%s): tf32 0x%08x (want 0x%08x), bf16 0x%04x (want 0x%04x), bf16 "
                    "back to float 0x%08x (want 0x%08x)",
                    c.in, c.what, bits_of(tf32[i]), c.tf32, bf16[i], c.bf16, got_back, want_back);
      return buf;
    }
  }
  return "";
}

// C = A B + C0 for M x N x K, one 16x16 tile of C per warp, two warps per block. A and B are
// row- or column-major with padded leading dimensions; C0 is read column-major, C written
// row-major. The inputs are used as loaded: no __float_to_tf32.
using nvcuda::wmma::col_major;
using nvcuda::wmma::row_major;

template <class Layout>
constexpr bool kColMajor = std::is_same<Layout, col_major>::value;

// Offset of element (r, c) of a matrix stored with leading dimension ld.
template <class Layout>
__host__ __device__ unsigned at(unsigned r, unsigned c, unsigned ld) {
  return kColMajor<Layout> ? c * ld + r : r * ld + c;
}

struct GemmDims {
  unsigned m, n, k, lda, ldb, ldc0, ldc;
};

template <class T, int kK, class LayoutA, class LayoutB, class Elem>
__global__ void gemm_kernel(GemmDims g, const Elem* a, const Elem* b, const float* c0, float* c) {
#if FL_HAS_TF32_WMMA
  namespace wmma = nvcuda::wmma;
  const unsigned tile = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const unsigned tm = tile / (g.n / 16) * 16, tn = tile % (g.n / 16) * 16;
  wmma::fragment<wmma::matrix_a, 16, 16, kK, T, LayoutA> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, kK, T, LayoutB> fb;
  wmma::fragment<wmma::accumulator, 16, 16, kK, float> acc;
  wmma::load_matrix_sync(acc, c0 + at<col_major>(tm, tn, g.ldc0), g.ldc0, wmma::mem_col_major);
  for (unsigned k0 = 0; k0 < g.k; k0 += kK) {
    wmma::load_matrix_sync(fa, a + at<LayoutA>(tm, k0, g.lda), g.lda);
    wmma::load_matrix_sync(fb, b + at<LayoutB>(k0, tn, g.ldb), g.ldb);
    wmma::mma_sync(acc, fa, fb, acc);
  }
  wmma::store_matrix_sync(c + at<row_major>(tm, tn, g.ldc), acc, g.ldc, wmma::mem_row_major);
#endif
}

// The value the tensor core multiplies: tf32 reads the top 19 bits of a float.
float multiplicand(float x) {
  return float_of(bits_of(x) & 0xffffe000u);
}
float multiplicand(__nv_bfloat16 x) {
  return float_of(std::uint32_t{__bfloat16_as_ushort(x)} << 16);
}

// Runs gemm_kernel on inputs from `draw` and compares C with a plain loop: C0 plus the products
// in k order, one float FMA each (the simulator's stated order). The simulator must match it bit
// for bit. A device sums in its own unspecified way, so there C must be within k float ulps of
// the magnitudes summed (an input-rounding or layout error is far larger), and the count of
// bit-identical elements is printed. `raw` counts the C elements that the inputs' untruncated
// values would have changed.
template <class T, int kK, class LayoutA, class LayoutB, class Elem, class Draw>
std::string check_gemm(const char* name, Draw draw, unsigned* raw) {
  const GemmDims g{32, 48, 5 * kK, 0, 0, 40, 56};
  GemmDims d = g;
  d.lda = (kColMajor<LayoutA> ? g.m : g.k) + 8;
  d.ldb = (kColMajor<LayoutB> ? g.k : g.n) + 8;
  Rng rng(7);
  std::vector<Elem> a(d.lda * (kColMajor<LayoutA> ? g.k : g.m)),
      b(d.ldb * (kColMajor<LayoutB> ? g.n : g.k));
  for (Elem& v : a) v = draw(rng);
  for (Elem& v : b) v = draw(rng);
  std::vector<float> c0(g.ldc0 * g.n);
  for (float& v : c0) v = static_cast<float>(rng.normal());
  Elem *d_a = to_device(a), *d_b = to_device(b);
  float* d_c0 = to_device(c0);
  float* d_c = nullptr;
  cudaMalloc(&d_c, g.ldc * g.m * sizeof(float));
  const unsigned tiles = g.m / 16 * (g.n / 16);
  FL_LAUNCH(tiles / 2, 64, 0, 0, gemm_kernel<T, kK, LayoutA, LayoutB, Elem>)
  (d, d_a, d_b, d_c0, d_c);
  const std::string status = launch_status();
  const std::vector<float> c = to_host(d_c, g.ldc * g.m);
  cudaFree(d_a);
  cudaFree(d_b);
  cudaFree(d_c0);
  cudaFree(d_c);
  if (!status.empty()) return std::string(name) + ": " + status;
  *raw = 0;
  unsigned identical = 0;
  for (unsigned i = 0; i < g.m; ++i) {
    for (unsigned j = 0; j < g.n; ++j) {
      float want = c0[at<col_major>(i, j, g.ldc0)], untruncated = want;
      double magnitude = std::fabs(want);
      for (unsigned k = 0; k < g.k; ++k) {
        const Elem x = a[at<LayoutA>(i, k, d.lda)], y = b[at<LayoutB>(k, j, d.ldb)];
        want = std::fma(multiplicand(x), multiplicand(y), want);
        magnitude += std::fabs(multiplicand(x) * multiplicand(y));
        untruncated = std::fma(static_cast<float>(x), static_cast<float>(y), untruncated);
      }
      const float got = c[at<row_major>(i, j, g.ldc)];
      identical += bits_of(got) == bits_of(want);
#if defined(FL_SIM)
      const bool wrong = bits_of(got) != bits_of(want);
#else
      const bool wrong = !(std::fabs(got - want) <= g.k * 0x1p-23 * magnitude);
#endif
      if (wrong) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "%s: C(%u,%u) = %.9g (0x%08x), the loop gives %.9g (0x%08x)",
                      name, i, j, got, bits_of(got), want, bits_of(want));
        return buf;
      }
      *raw += bits_of(untruncated) != bits_of(want);
    }
  }
#if !defined(FL_SIM)
  std::printf("     %s: %u of %u elements bit-identical to the k-order FMA loop\n", name, identical,
              g.m * g.n);
#endif
  return "";
}

std::string test_mma_exact() {
  const auto tf32_exact = [](Rng& r) {
    return float_of(bits_of(static_cast<float>(r.normal())) & 0xffffe000u);
  };
  const auto fp32 = [](Rng& r) { return static_cast<float>(r.normal()); };
  const auto bf16 = [](Rng& r) {
    return __ushort_as_bfloat16(
        static_cast<unsigned short>(bits_of(static_cast<float>(r.normal())) >> 16));
  };
  using nvcuda::wmma::precision::tf32;
  unsigned raw = 0;
  std::string r =
      check_gemm<tf32, 8, row_major, col_major, float>("tf32 A row, B col", tf32_exact, &raw);
  if (r.empty() && raw != 0) r = "tf32-exact inputs changed by truncation";
  if (r.empty()) {
    r = check_gemm<tf32, 8, col_major, row_major, float>("tf32 from fp32, A col, B row", fp32,
                                                         &raw);
  }
  // The fp32 inputs carry low bits: the truncation must have changed (nearly) every element.
  if (r.empty() && raw < 32 * 48 / 2) r = "fp32 inputs: truncation changed too few elements";
  if (r.empty()) {
    r = check_gemm<__nv_bfloat16, 16, row_major, row_major, __nv_bfloat16>("bf16 A row, B row",
                                                                           bf16, &raw);
  }
  if (r.empty()) {
    r = check_gemm<__nv_bfloat16, 16, col_major, col_major, __nv_bfloat16>("bf16 A col, B col",
                                                                           bf16, &raw);
  }
  return r;
}

// S = X Y^T for n x d row-major X and Y, one 16x16 tile per one-warp block, in one of the
// precisions below. bf16 stages converted tiles through shared memory, as a kernel would.
enum class Precision { kTf32, kTf32x3, kBf16 };

template <Precision kMode>
__global__ void similarity_kernel(const float* x, const float* y, unsigned d, float* s,
                                  unsigned n) {
#if FL_HAS_TF32_WMMA
  namespace wmma = nvcuda::wmma;
  const unsigned bi = blockIdx.y * 16, bj = blockIdx.x * 16;
  const float* xt = x + bi * d;
  const float* yt = y + bj * d;
  if constexpr (kMode == Precision::kBf16) {
    __shared__ __align__(32) __nv_bfloat16 xs[16 * 16], ys[16 * 16];
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (unsigned k0 = 0; k0 < d; k0 += 16) {
      for (unsigned e = threadIdx.x; e < 256; e += 32) {
        xs[e] = __float2bfloat16(xt[e / 16 * d + k0 + e % 16]);
        ys[e] = __float2bfloat16(yt[e / 16 * d + k0 + e % 16]);
      }
      __syncwarp();
      wmma::load_matrix_sync(fa, xs, 16);
      wmma::load_matrix_sync(fb, ys, 16);  // Y^T, column-major, is Y row-major
      wmma::mma_sync(acc, fa, fb, acc);
      __syncwarp();
    }
    wmma::store_matrix_sync(s + bi * n + bj, acc, n, wmma::mem_row_major);
  } else {
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, row_major> fa, fa_lo;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, col_major> fb, fb_lo;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (unsigned k0 = 0; k0 < d; k0 += 8) {
      wmma::load_matrix_sync(fa, xt + k0, d);
      wmma::load_matrix_sync(fb, yt + k0, d);
      if constexpr (kMode == Precision::kTf32x3) {
        split_fragment(fa, fa_lo);
        split_fragment(fb, fb_lo);
        mma_3xtf32(acc, fa, fa_lo, fb, fb_lo);
      } else {
        round_fragment(fa);
        round_fragment(fb);
        wmma::mma_sync(acc, fa, fb, acc);
      }
    }
    wmma::store_matrix_sync(s + bi * n + bj, acc, n, wmma::mem_row_major);
  }
#endif
}

struct ErrorStats {
  double max, rms;
};

ErrorStats errors_against(const std::vector<float>& s, const std::vector<double>& exact) {
  double max = 0, sum = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const double e = std::fabs(s[i] - exact[i]);
    max = std::max(max, e);
    sum += e * e;
  }
  return {max, std::sqrt(sum / s.size())};
}

template <Precision kMode>
std::string similarity(const std::vector<float>& x, const std::vector<float>& y, unsigned n,
                       unsigned d, std::vector<float>* s) {
  float *d_x = to_device(x), *d_y = to_device(y), *d_s = nullptr;
  cudaMalloc(&d_s, n * n * sizeof(float));
  FL_LAUNCH(dim3(n / 16, n / 16), 32, 0, 0, similarity_kernel<kMode>)(d_x, d_y, d, d_s, n);
  const std::string status = launch_status();
  *s = to_host(d_s, n * n);
  cudaFree(d_x);
  cudaFree(d_y);
  cudaFree(d_s);
  return status;
}

// Unit-norm rows, so |S| <= 1 and the absolute error is the relative one of the largest entries.
std::vector<float> unit_rows(Rng& rng, unsigned n, unsigned d) {
  std::vector<float> out(n * d);
  std::vector<double> row(d);
  for (unsigned i = 0; i < n; ++i) {
    double norm = 0;
    for (double& v : row) {
      v = rng.normal();
      norm += v * v;
    }
    for (unsigned k = 0; k < d; ++k) out[i * d + k] = static_cast<float>(row[k] / std::sqrt(norm));
  }
  return out;
}

// 9. The error of S = X Y^T in each precision against a float64 product of the same float
// inputs, next to a float loop (FMA in k order, what the CUDA cores do). 3xTF32 must stay within
// 4x of the float loop's error; tf32 and bf16 within their input rounding (2^-10 and 2^-8
// relative per product, times sum |x_k y_k| <= 1), doubled for the accumulation.
std::string test_similarity_errors() {
  const unsigned n = 64;
  std::printf("     S = X Y^T, n = %u, unit rows; |error| vs float64, max / rms:\n", n);
  for (unsigned d : {64u, 128u, 512u}) {
    Rng rng(d);
    const std::vector<float> x = unit_rows(rng, n, d), y = unit_rows(rng, n, d);
    std::vector<double> exact(n * n);
    std::vector<float> loop(n * n);
    for (unsigned i = 0; i < n; ++i) {
      for (unsigned j = 0; j < n; ++j) {
        double e = 0;
        float f = 0;
        for (unsigned k = 0; k < d; ++k) {
          e += static_cast<double>(x[i * d + k]) * y[j * d + k];
          f = std::fma(x[i * d + k], y[j * d + k], f);
        }
        exact[i * n + j] = e;
        loop[i * n + j] = f;
      }
    }
    std::vector<float> tf32, tf32x3, bf16;
    std::string r = similarity<Precision::kTf32>(x, y, n, d, &tf32);
    if (r.empty()) r = similarity<Precision::kTf32x3>(x, y, n, d, &tf32x3);
    if (r.empty()) r = similarity<Precision::kBf16>(x, y, n, d, &bf16);
    if (!r.empty()) return r;
    const ErrorStats e_loop = errors_against(loop, exact), e_tf32 = errors_against(tf32, exact),
                     e_x3 = errors_against(tf32x3, exact), e_bf16 = errors_against(bf16, exact);
    std::printf(
        "     D = %3u: fp32 loop %.2e / %.2e, 3xTF32 %.2e / %.2e, tf32 %.2e / %.2e, bf16 "
        "%.2e / %.2e\n",
        d, e_loop.max, e_loop.rms, e_x3.max, e_x3.rms, e_tf32.max, e_tf32.rms, e_bf16.max,
        e_bf16.rms);
    const std::string at = " at D = " + std::to_string(d);
    if (!(e_x3.max <= 4 * e_loop.max)) return "3xTF32 is not near fp32" + at;
    if (!(e_tf32.max <= 0x1p-9)) return "tf32 error above its bound" + at;
    if (!(e_bf16.max <= 0x1p-7)) return "bf16 error above its bound" + at;
    if (!(e_tf32.max > 16 * e_x3.max)) return "tf32 is as accurate as 3xTF32: no rounding?" + at;
  }
  return "";
}

#if defined(FL_SIM)

// Expects the last launch to have failed with `code` and a message naming all of `needles`.
std::string expect_failure(cudaError_t code, std::vector<const char*> needles) {
  const cudaError_t err = cudaGetLastError();
  if (err != code)
    return std::string("expected ") + cudaGetErrorName(code) + ", got " + cudaGetErrorName(err);
  const std::string message = last_error_message();
  for (const char* needle : needles) {
    if (message.find(needle) == std::string::npos)
      return "message lacks '" + std::string(needle) + "': " + message;
  }
  if (std::string(cudaGetErrorString(err)) != message)
    return "cudaGetErrorString does not give the detail";
  if (cudaGetLastError() != cudaSuccess || cudaDeviceSynchronize() != cudaSuccess) {
    return "cudaGetLastError did not clear the error";
  }
  std::printf("     reported: %s\n", message.c_str());
  return "";
}

__global__ void divergent_barrier_kernel(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

// 10. A barrier only some threads reach is reported, and the next launch works.
std::string test_divergent_barrier() {
  int* d = nullptr;
  cudaMalloc(&d, kBlock * sizeof(int));
  FL_LAUNCH(1, kBlock, 0, 0, divergent_barrier_kernel)(d);
  cudaFree(d);
  std::string r = expect_failure(
      cudaErrorLaunchFailure,
      {"cuda-sim: kernel 'divergent_barrier_kernel'", "__syncthreads", "16 of 256", "240 exited"});
  if (!r.empty()) return r;
  std::vector<int> partial;
  r = block_sums(std::vector<int>(1000, 2), &partial);
  if (!r.empty()) return "launch after the failure: " + r;
  return partial[0] == 2 * 256 && partial[3] == 2 * (1000 - 768)
             ? ""
             : "launch after the failure summed wrong";
}

__global__ void missing_lane_kernel(int* out) {
  int v = static_cast<int>(threadIdx.x);
  if (threadIdx.x % 32 != 5) v = __shfl_xor_sync(kFull, v, 1);
  out[threadIdx.x] = v;
}

__global__ void own_lane_kernel(int* out) {
  out[threadIdx.x] = __shfl_sync(threadIdx.x == 0 ? 0xfffffffeu : kFull, 1, 0);
}

__global__ void partial_warp_kernel(int* out) {
  out[threadIdx.x] = __shfl_down_sync(kFull, 1, 1);
}

__global__ void two_barriers_kernel(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

__global__ void empty_kernel() {}

// 11. Warp-mask errors, barriers at two sites and invalid configurations are reported.
std::string test_reported_errors() {
  int* d = nullptr;
  cudaMalloc(&d, 64 * sizeof(int));
  FL_LAUNCH(2, 64, 0, 0, missing_lane_kernel)(d);
  std::string r = expect_failure(
      cudaErrorLaunchFailure,
      {"missing_lane_kernel", "block (0,0,0)", "__shfl_xor_sync", "(mask 0xffffffff)", "5,37"});
  if (r.empty()) {
    FL_LAUNCH(1, 64, 0, 0, own_lane_kernel)(d);
    r = expect_failure(cudaErrorLaunchFailure,
                       {"own_lane_kernel", "__shfl_sync", "leaves out the lane itself"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 48, 0, 0, partial_warp_kernel)(d);
    r = expect_failure(cudaErrorLaunchFailure, {"partial_warp_kernel", "lanes that do not exist"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 64, 0, 0, two_barriers_kernel)(d);
    r = expect_failure(cudaErrorLaunchFailure,
                       {"two_barriers_kernel", "different places", "thread (16,0,0)"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 2048, 0, 0, empty_kernel)();
    r = expect_failure(cudaErrorInvalidConfiguration, {"empty_kernel", "2048 threads", "1024"});
  }
  if (r.empty()) {
    FL_LAUNCH(dim3(1, 0), 32, 0, 0, empty_kernel)();
    r = expect_failure(cudaErrorInvalidConfiguration, {"grid (1,0,1)"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 32, 228 * 1024, 0, empty_kernel)();
    r = expect_failure(cudaErrorInvalidConfiguration, {"dynamic shared memory"});
  }
  cudaFree(d);
  return r;
}

__global__ void read_shared_kernel(unsigned* out) {
  FL_DYNAMIC_SHARED(unsigned, s);
  out[threadIdx.x] = s[threadIdx.x];
  s[threadIdx.x] = 0;  // the next block must see poison again
}

// 12. Fresh device memory and dynamic shared memory read as 0xFF bytes; copies are checked.
std::string test_poison_and_checks() {
  float* d = nullptr;
  cudaMalloc(&d, 64 * sizeof(float));
  const std::vector<float> fresh = to_host(d, 64);
  for (float v : fresh) {
    if (!std::isnan(v)) return "fresh cudaMalloc memory is not NaN";
  }
  unsigned* d_out = reinterpret_cast<unsigned*>(d);
  FL_LAUNCH(2, 32, 32 * sizeof(unsigned), 0, read_shared_kernel)(d_out);
  if (!launch_status().empty()) return launch_status();
  for (unsigned v : to_host(d_out, 32)) {
    if (v != 0xffffffffu) return "dynamic shared memory is not poisoned at block start";
  }
  std::vector<float> host(65);
  if (cudaMemcpy(host.data(), d, 65 * sizeof(float), cudaMemcpyDeviceToHost) !=
          cudaErrorInvalidValue ||
      cudaGetLastError() != cudaErrorInvalidValue) {
    return "a copy past the end of an allocation was not refused";
  }
  if (cudaMemcpy(d, host.data(), 4, cudaMemcpyDeviceToHost) != cudaErrorInvalidValue) {
    return "a copy with swapped directions was not refused";
  }
  cudaGetLastError();
  cudaFree(d);
  if (cudaFree(d) != cudaErrorInvalidValue) return "a double cudaFree was not refused";
  cudaGetLastError();
  return "";
}

// What each lane does wrong in wmma_fault_kernel.
enum class WmmaFault { kLaneSkipsMma, kLaneExitsBeforeMma, kLaneOwnLdm, kMisaligned, kStoreLdm };

__global__ void wmma_fault_kernel(const float* a, float* out, WmmaFault fault) {
  namespace wmma = nvcuda::wmma;
  const unsigned lane = threadIdx.x % 32;
  wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, row_major> fa;
  wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, col_major> fb;
  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
  wmma::fill_fragment(acc, 0.0f);
  const unsigned ldm = fault == WmmaFault::kLaneOwnLdm && lane == 7 ? 16 : 8;
  wmma::load_matrix_sync(fa, fault == WmmaFault::kMisaligned ? a + 4 : a, ldm);
  wmma::load_matrix_sync(fb, a, 8);
  if (fault == WmmaFault::kLaneExitsBeforeMma && lane == 5) return;
  if (fault != WmmaFault::kLaneSkipsMma || lane != 5) wmma::mma_sync(acc, fa, fb, acc);
  // 20 floats are 16-byte multiples, as the guide asks, but not of the accumulator's 32 bytes.
  wmma::store_matrix_sync(out, acc, fault == WmmaFault::kStoreLdm ? 20 : 16, wmma::mem_row_major);
}

// 13. wmma collectives: a lane that skips or leaves, and arguments that differ between lanes or
// break the alignment rules, are reported instead of hanging or computing garbage.
std::string test_wmma_errors() {
  float *d_a = nullptr, *d_out = nullptr;
  cudaMalloc(&d_a, 512 * sizeof(float));
  cudaMalloc(&d_out, 512 * sizeof(float));
  cudaMemset(d_a, 0, 512 * sizeof(float));
  FL_LAUNCH(1, 32, 0, 0, wmma_fault_kernel)(d_a, d_out, WmmaFault::kLaneSkipsMma);
  std::string r =
      expect_failure(cudaErrorLaunchFailure, {"wmma_fault_kernel", "wmma::store_matrix_sync",
                                              "lane 5 of warp 0", "waits at wmma::mma_sync"});
  if (r.empty()) {
    FL_LAUNCH(1, 64, 0, 0, wmma_fault_kernel)(d_a, d_out, WmmaFault::kLaneExitsBeforeMma);
    r = expect_failure(cudaErrorLaunchFailure,
                       {"deadlock", "wmma::mma_sync", "reached by 62 of 64 threads", "(5,37)"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 32, 0, 0, wmma_fault_kernel)(d_a, d_out, WmmaFault::kLaneOwnLdm);
    r = expect_failure(cudaErrorLaunchFailure,
                       {"wmma::load_matrix_sync", "lane 7 passes", "ldm 16", "same on every lane"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 32, 0, 0, wmma_fault_kernel)(d_a, d_out, WmmaFault::kMisaligned);
    r = expect_failure(cudaErrorLaunchFailure, {"wmma::load_matrix_sync", "256-bit aligned"});
  }
  if (r.empty()) {
    FL_LAUNCH(1, 32, 0, 0, wmma_fault_kernel)(d_a, d_out, WmmaFault::kStoreLdm);
    r = expect_failure(cudaErrorLaunchFailure,
                       {"wmma::store_matrix_sync", "ldm 20 (80 bytes)", "fragment's 32 bytes"});
  }
  cudaFree(d_a);
  cudaFree(d_out);
  return r;
}

#endif

int run_selftest() {
  struct Case {
    const char* name;
    std::string (*run)();
  };
  const Case cases[] = {
    {"block reduction (int and float, 391 blocks x 256)", test_block_reduction},
    {"warp shuffles and votes (xor, down, up, idx, widths 8/16, ballot)", test_warp_ops},
    {"shared-memory transpose 77x45, 32x8 blocks", test_transpose},
    {"3-D grid and block indexing", test_3d_indexing},
    {"dynamic shared memory", test_dynamic_shared},
    {"atomics across blocks", test_atomics},
    {"concurrent launches from 4 host threads", test_concurrent_launches},
    {"tf32 and bf16 roundings against hand-worked bit patterns", test_roundings},
    {"wmma mma_sync (tf32 m16n16k8, bf16 m16n16k16) against a plain loop (bit for bit here)",
     test_mma_exact},
    {"S = X Y^T in tf32, 3xTF32 and bf16 against float64", test_similarity_errors},
#if defined(FL_SIM)
    {"divergent __syncthreads is reported", test_divergent_barrier},
    {"warp-mask, two-site barrier and configuration errors are reported", test_reported_errors},
    {"poisoned memory and checked copies", test_poison_and_checks},
    {"wmma: a skipping lane and bad arguments are reported", test_wmma_errors},
#endif
  };
  int passed = 0, failed = 0;
  for (const Case& c : cases) {
    const std::string error = c.run();
    if (error.empty()) {
      ++passed;
      std::printf("ok   %s\n", c.name);
    } else {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name, error.c_str());
    }
  }
  std::printf("sim_selftest: %d cases passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace FL_GPU_NS
}  // namespace fl

int main() {
  return fl::FL_GPU_NS::run_selftest();
}
