// Self-test of the CUDA simulator (cuda/sim): kernels that exercise barriers, shared memory, warp
// shuffles and votes, 2-D and 3-D indexing, dynamic shared memory and atomics, each checked
// against a host computation. Apart from the FL_SIM-only cases (error reports, poisoning) it also
// builds with nvcc, so a machine with a GPU can run the same checks for real.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "launch.cuh"

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

// 8. A barrier only some threads reach is reported, and the next launch works.
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

// 9. Warp-mask errors, barriers at two sites and invalid configurations are reported.
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

// 10. Fresh device memory and dynamic shared memory read as 0xFF bytes; copies are checked.
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
#if defined(FL_SIM)
    {"divergent __syncthreads is reported", test_divergent_barrier},
    {"warp-mask, two-site barrier and configuration errors are reported", test_reported_errors},
    {"poisoned memory and checked copies", test_poison_and_checks},
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
