// Device discovery through the CUDA runtime API. Asked once per process by the addon; with no
// driver, cudaGetDeviceCount fails cleanly and its message is kept as the reason.
#include <cuda_runtime.h>

#include "fusedloss/cuda_device.h"

namespace fl {

CudaStatus cuda_discover() {
  CudaStatus s;
  s.compiled = true;
  cudaRuntimeGetVersion(&s.runtime_version);
  cudaDriverGetVersion(&s.driver_version);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    s.reason = std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so a later query starts clean
    return s;
  }
  if (count == 0) {
    s.reason = "no CUDA device found";
    return s;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    CudaDevice d;
    d.index = i;
    d.name = p.name;
    d.major = p.major;
    d.minor = p.minor;
    d.total_memory = p.totalGlobalMem;
    d.multiprocessors = p.multiProcessorCount;
    s.devices.push_back(d);
  }
  s.available = !s.devices.empty();
  if (!s.available) s.reason = "cudaGetDeviceProperties failed for every device";
  return s;
}

}  // namespace fl
