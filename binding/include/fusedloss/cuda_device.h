// CUDA device discovery. The addon links the static CUDA runtime, so it loads on machines with
// no driver; there the runtime's own error string becomes the reason backends() reports.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace fl {

struct CudaDevice {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t total_memory = 0;   // bytes
  int multiprocessors = 0;
};

struct CudaStatus {
  bool compiled = false;    // the addon was built with nvcc
  bool available = false;   // at least one usable device
  std::string reason;       // why not, when not available
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver
  std::vector<CudaDevice> devices;
};

#if FUSEDLOSS_WITH_CUDA
CudaStatus cuda_discover();
#else
// CMake names why (FUSEDLOSS_NO_CUDA_REASON there); other builds get the generic words.
#ifndef FUSEDLOSS_NO_CUDA_REASON
#define FUSEDLOSS_NO_CUDA_REASON "it was built without nvcc"
#endif
inline CudaStatus cuda_discover() {
  CudaStatus s;
  s.reason = "this build of fusedloss has no CUDA backend (" FUSEDLOSS_NO_CUDA_REASON ")";
  return s;
}
#endif

}  // namespace fl
