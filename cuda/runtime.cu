// The GPU call scaffolding of runtime.cuh. State is per process and per backend (this file
// builds once for the device and once for the simulator), guarded by one lock: calls from
// several host threads take turns on the device.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <string>

#include "parallel.h"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

constexpr size_t kStagingChunk = size_t{8} << 20;  // bytes per pinned half
constexpr int kSlots = static_cast<int>(Slot::Count_);
constexpr int kPhases = static_cast<int>(Phase::Count_);

std::mutex device_mutex;

struct State {  // guarded by device_mutex
  cudaStream_t stream = nullptr;
  void* buffers[kSlots] = {};
  size_t sizes[kSlots] = {};
  unsigned char* pinned = nullptr;  // two halves of kStagingChunk
  cudaEvent_t half_free[2] = {};    // recorded after the transfer that last used each half
  int next_half = 0;
  cudaEvent_t phases[kPhases] = {};
};

// Never destroyed: freeing device memory from a static destructor can run after the CUDA
// runtime has shut down at process exit.
State& state() {
  static State* s = new State;
  return *s;
}

std::atomic<bool> profiling{false};
thread_local GpuTimes times;

Status init_state(State& s) {
  if (s.stream) return Status{};
  FL_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&s.pinned), 2 * kStagingChunk),
                "allocating pinned staging memory");
  for (cudaEvent_t& e : s.half_free) FL_CUDA_CHECK(cudaEventCreate(&e), "creating events");
  for (cudaEvent_t& e : s.phases) FL_CUDA_CHECK(cudaEventCreate(&e), "creating events");
  FL_CUDA_CHECK(cudaStreamCreate(&s.stream), "creating a stream");
  return Status{};
}

// Host copies between the caller's arrays and the pinned halves run on the CPU pool: on the H100
// machine one thread's memcpy moved 9 GB/s, the whole call's limit, while the link took 55 GB/s
// from pinned memory (bench/cuda_bench.cu).
void host_copy(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kSlice = int64_t{512} << 10;
  parallel_chunks(static_cast<int64_t>(bytes), kSlice, [&](int64_t, int64_t b, int64_t e) {
    std::memcpy(static_cast<unsigned char*>(dst) + b, static_cast<const unsigned char*>(src) + b,
                static_cast<size_t>(e - b));
  });
}

}  // namespace

Status cuda_fault(cudaError_t e, const char* what) {
  Status st;
  st.fault = Fault::Cuda;
  st.message = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e) + " (" + what + ")";
  cudaGetLastError();  // clear the error unless it is sticky
  return st;
}

void set_profiling(bool on) {
  profiling = on;
}

GpuTimes last_times() {
  return times;
}

int multiprocessors() {
#if defined(FL_SIM)
  return 2;  // the simulator runs blocks one after another: a few are enough
#else
  static const int count = [] {
    int n = 0;
    return cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, 0) == cudaSuccess && n > 0
               ? n
               : 1;
  }();
  return count;
#endif
}

int grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(blocks, 8 * multiprocessors())));
}

Session::Session() : lock_(device_mutex) {
  times = GpuTimes{};
  status_ = init_state(state());
  if (status_.ok()) mark(Phase::Start);
}

Session::~Session() {
  State& s = state();
  if (s.stream) cudaStreamSynchronize(s.stream);  // staging may be reused by the next call
  const unsigned all = (1u << kPhases) - 1;
  if (marked_ == all) {
    cudaEventElapsedTime(&times.upload_ms, s.phases[0], s.phases[1]);
    cudaEventElapsedTime(&times.kernels_ms, s.phases[1], s.phases[2]);
    cudaEventElapsedTime(&times.download_ms, s.phases[2], s.phases[3]);
  }
}

cudaStream_t Session::stream() const {
  return state().stream;
}

void Session::mark(Phase p) {
  if (!profiling) return;
  cudaEventRecord(state().phases[static_cast<int>(p)], state().stream);
  marked_ |= 1u << static_cast<int>(p);
}

Status Session::buffer(Slot slot, size_t bytes, void** dev) {
  State& s = state();
  const int i = static_cast<int>(slot);
  if (s.sizes[i] < bytes) {
    // Grow to a power of two (at least 1 MiB), so a slowly growing size reallocates rarely.
    size_t size = size_t{1} << 20;
    while (size < bytes) size *= 2;
    if (s.buffers[i]) FL_CUDA_CHECK(cudaFree(s.buffers[i]), "freeing a device buffer");
    s.buffers[i] = nullptr;
    s.sizes[i] = 0;
    const std::string what = "cudaMalloc of " + std::to_string(size) + " bytes";
    FL_CUDA_CHECK(cudaMalloc(&s.buffers[i], size), what.c_str());
    s.sizes[i] = size;
  }
  *dev = s.buffers[i];
  return Status{};
}

Status Session::copy_in(void* dev, const void* host, size_t bytes) {
  State& s = state();
  for (size_t off = 0; off < bytes; off += kStagingChunk) {
    const size_t n = std::min(kStagingChunk, bytes - off);
    const int h = s.next_half;
    unsigned char* stage = s.pinned + h * kStagingChunk;
    FL_CUDA_CHECK(cudaEventSynchronize(s.half_free[h]), "waiting for a staging buffer");
    host_copy(stage, static_cast<const unsigned char*>(host) + off, n);
    FL_CUDA_CHECK(cudaMemcpyAsync(static_cast<unsigned char*>(dev) + off, stage, n,
                                  cudaMemcpyHostToDevice, s.stream),
                  "copying to the device");
    FL_CUDA_CHECK(cudaEventRecord(s.half_free[h], s.stream), "copying to the device");
    s.next_half = 1 - h;
  }
  return Status{};
}

Status Session::copy_out(void* host, const void* dev, size_t bytes) {
  State& s = state();
  // Chunk k goes to half k % 2; the host copies chunk k - 1 out while chunk k is in flight.
  size_t pending = 0, pending_off = 0;
  int pending_half = 0;
  auto drain = [&]() -> Status {
    if (pending == 0) return Status{};
    FL_CUDA_CHECK(cudaEventSynchronize(s.half_free[pending_half]), "copying to the host");
    host_copy(static_cast<unsigned char*>(host) + pending_off,
              s.pinned + pending_half * kStagingChunk, pending);
    pending = 0;
    return Status{};
  };
  for (size_t off = 0; off < bytes; off += kStagingChunk) {
    const size_t n = std::min(kStagingChunk, bytes - off);
    const int h = s.next_half;
    FL_CUDA_CHECK(cudaEventSynchronize(s.half_free[h]), "waiting for a staging buffer");
    FL_CUDA_CHECK(
        cudaMemcpyAsync(s.pinned + h * kStagingChunk, static_cast<const unsigned char*>(dev) + off,
                        n, cudaMemcpyDeviceToHost, s.stream),
        "copying to the host");
    FL_CUDA_CHECK(cudaEventRecord(s.half_free[h], s.stream), "copying to the host");
    s.next_half = 1 - h;
    const Status st = drain();
    if (!st.ok()) return st;
    pending = n;
    pending_off = off;
    pending_half = h;
  }
  return drain();
}

}  // namespace FL_GPU_NS
}  // namespace fl
