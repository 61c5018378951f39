// The process-wide malloc tuning that makes the default call (no options.out) about as fast as the
// call with a reused buffer. Node allocates every ArrayBuffer with malloc; glibc serves a block of
// 32 MiB or more (less, until the first such block is freed) with a fresh mmap and unmaps it on
// free, and returns the top of its heap to the system once more than twice that is free there. A
// fresh gradient every call then pays a page fault and the kernel's zeroing for every 4 KiB page
// (softmax cross-entropy at 256 x 50000: 12500 faults a call, most of its time). Raising both
// thresholds keeps freed gradients in the heap, where the next call's malloc finds them.
//
// The cost, documented in the README: up to kTrimThreshold of freed memory stays resident, and a
// block under kMmapThreshold that outlives later ones keeps the heap below it from shrinking.
// FUSEDLOSS_MALLOC_TUNING=0 leaves malloc alone, and so does an explicit setting of the same
// thresholds (GLIBC_TUNABLES or MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_): the user's wins.
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "module.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace fl::napi {
namespace {

#if defined(__GLIBC__)
constexpr int kMmapThreshold = 1 << 30;  // blocks up to 1 GiB come from the heap
constexpr int kTrimThreshold = 1 << 30;  // the top of the heap is returned past 1 GiB free

bool user_chose() {
  const char* off = std::getenv("FUSEDLOSS_MALLOC_TUNING");
  if (off && std::strcmp(off, "0") == 0) return true;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables && (std::strstr(tunables, "glibc.malloc.mmap_threshold") ||
                   std::strstr(tunables, "glibc.malloc.trim_threshold")))
    return true;
  return std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_");
}
#endif

}  // namespace

bool tune_malloc() {
#if defined(__GLIBC__)
  static std::once_flag once;
  static bool tuned = false;
  std::call_once(once, [] {
    if (user_chose()) return;
    tuned = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
            mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  });
  return tuned;
#else
  return false;  // musl, macOS, emscripten: their allocators have no such knobs
#endif
}

}  // namespace fl::napi
