// Prints what CUDA device discovery finds, as backends().cuda reports it. Exit status 0 always,
// unless --require-device is given and no device is usable: the check a GPU machine runs.
#include <cstdio>
#include <cstring>

#include "fusedloss/cuda_device.h"

int main(int argc, char** argv) {
  const bool require = argc > 1 && std::strcmp(argv[1], "--require-device") == 0;
  const fl::CudaStatus s = fl::cuda_discover();
  std::printf("compiled %d, available %d, runtime %d, driver %d\n", s.compiled, s.available,
              s.runtime_version, s.driver_version);
  if (!s.available) std::printf("reason: %s\n", s.reason.c_str());
  for (const fl::CudaDevice& d : s.devices)
    std::printf("device %d: %s, sm_%d%d, %.1f GiB, %d SMs\n", d.index, d.name.c_str(), d.major,
                d.minor, static_cast<double>(d.total_memory) / (1 << 30), d.multiprocessors);
  return require && !s.available ? 1 : 0;
}
