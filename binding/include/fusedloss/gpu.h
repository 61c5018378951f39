// Host entry points of the CUDA kernels. The sources in cuda/ build twice: by nvcc into
// namespace fl::cuda (a real device) and, through the simulator in cuda/sim, by the host compiler
// into fl::sim (the 'cuda-sim' backend of test builds). Both namespaces declare the same API,
// from gpu_api.inc; a build defines FUSEDLOSS_WITH_CUDA and FUSEDLOSS_WITH_SIM for what it has.
#pragma once

#include <cstdint>

#include "fusedloss/confusion.h"
#include "fusedloss/linear_ce.h"
#include "fusedloss/neural_ndcg.h"
#include "fusedloss/pairs.h"
#include "fusedloss/proxy.h"
#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"
#include "fusedloss/spherical.h"
#include "fusedloss/status.h"

#ifndef FUSEDLOSS_WITH_CUDA
#define FUSEDLOSS_WITH_CUDA 0
#endif
#ifndef FUSEDLOSS_WITH_SIM
#define FUSEDLOSS_WITH_SIM 0
#endif

namespace fl {

// Where the time of the last GPU call on this host thread went (milliseconds, CUDA events):
// copies in, kernels, copies out. Filled only while profiling is on (the native parity test).
struct GpuTimes {
  float upload_ms = 0, kernels_ms = 0, download_ms = 0;
};

namespace cuda {
#include "fusedloss/gpu_api.inc"
}  // namespace cuda

namespace sim {
#include "fusedloss/gpu_api.inc"
// Kernel launches the calling host thread has made (the simulator's count, cuda/sim/cuda_sim.h;
// tests: how many kernels a call runs).
uint64_t launch_count();
}  // namespace sim

}  // namespace fl
