// What every GPU entry point needs around its kernels: the device lock, device buffers kept
// between calls, pinned host staging, CUDA errors as a Status, and optional timing. One Session
// is one call: it holds the lock from construction to destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "fusedloss/gpu.h"
#include "fusedloss/status.h"
#include "launch.cuh"

namespace fl {
namespace FL_GPU_NS {

// A failed CUDA call as a Status (Fault::Cuda): "cudaErrorX: the runtime's words (what)".
Status cuda_fault(cudaError_t e, const char* what);

// Returns from the enclosing function with the Status when a CUDA call fails; `what` says, in
// words a user can act on, what was being done.
#define FL_CUDA_CHECK(expr, what)                                 \
  do {                                                            \
    const cudaError_t fl_err_ = (expr);                           \
    if (fl_err_ != cudaSuccess) return cuda_fault(fl_err_, what); \
  } while (0)
// Checks the launch just made: configuration errors on a GPU; in the simulator, the kernel's own
// faults too (a launch there runs to completion).
#define FL_CUDA_LAUNCHED(kernel) FL_CUDA_CHECK(cudaGetLastError(), "launch of " kernel)

// The roles of the device buffers a call uses; each is kept and grown, never shrunk, so calls of
// the same size do not pay cudaMalloc.
// (Reference...: the second embedding set of a cross-batch pair loss; Tiles: a set's normalised,
// padded copy and its gradient accumulator.)
enum class Slot : int {
  Scores,
  Labels,
  Weights,
  Grad,
  Rows,
  Partials,
  Constants,
  Result,
  Reference,
  ReferenceLabels,
  Tiles,
  ReferenceTiles,
  Offsets,
  ListIds,
  Scratch,
  Workspace,  // NeuralNDCG: per-list working memory
  Metrics,    // ranking metrics: per-list values and rank slots
  Count_
};

// The phases timed when profiling is on.
enum class Phase : int { Start, Uploaded, Computed, Downloaded, Count_ };

class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Status of the set-up (stream creation); check it before anything else.
  const Status& status() const { return status_; }
  cudaStream_t stream() const;

  // A device buffer of at least `bytes` for the slot.
  Status buffer(Slot slot, size_t bytes, void** dev);
  template <class T>
  Status buffer(Slot slot, size_t count, T** dev) {
    void* p = nullptr;
    Status st = buffer(slot, count * sizeof(T), &p);
    *dev = static_cast<T*>(p);
    return st;
  }

  // Host to device and back through pinned staging buffers, in chunks, so large arrays need no
  // large pinned allocation and the host copy of one chunk overlaps the transfer of the last.
  Status copy_in(void* dev, const void* host, size_t bytes);
  Status copy_out(void* host, const void* dev, size_t bytes);  // waits for the stream
  // The slot's buffer filled with `count` elements from the host.
  template <class T>
  Status upload(Slot slot, const T* host, size_t count, T** dev) {
    Status st = buffer(slot, count, dev);
    return st.ok() ? copy_in(*dev, host, count * sizeof(T)) : st;
  }

  void mark(Phase p);  // records a timing event when profiling is on

 private:
  std::unique_lock<std::mutex> lock_;
  Status status_;
  unsigned marked_ = 0;  // phases recorded (bit mask)
};

// Rows of `classes` entries are reduced by groups of this many lanes (a power of two <= 32, at
// least the class count when that is smaller): several rows per warp for short rows, one warp per
// row for long ones.
inline int row_group_width(int32_t classes) {
  int g = 1;
  while (g < classes && g < 32) g *= 2;
  return g;
}

// Grid size for a grid-stride loop over n items with `threads` per block: enough blocks to fill
// the device several times over, no more (per-block partials stay few).
int grid_for(int64_t n, int threads);

}  // namespace FL_GPU_NS
}  // namespace fl
