// What the cuda_parity files share (one file per family, cuda_parity_<family>.cc, and main in
// cuda_parity.cc): the backend under test, the agreement rule and the report.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "fusedloss/confusion.h"
#include "fusedloss/confusion_math.h"
#include "fusedloss/gpu.h"
#include "fusedloss/linear_ce.h"
#include "fusedloss/pairs.h"
#include "fusedloss/proxy.h"
#include "fusedloss/ranking.h"
#include "fusedloss/ranking_metrics.h"
#include "fusedloss/spherical.h"
#include "xorshift.h"

#if defined(FL_PARITY_SIM)
namespace gpu = fl::sim;
inline constexpr const char* kBackend = "cuda-sim";
#else
#include "fusedloss/cuda_device.h"
namespace gpu = fl::cuda;
inline constexpr const char* kBackend = "cuda";
#endif

namespace parity {

using fl::Status;

// Agreement required between backends (DESIGN.md, Numerics): loss within 1e-5 relative,
// gradient within 1e-4 of its largest magnitude, counts within 1e-5 of the batch weight.
inline constexpr double kLossTol = 1e-5, kGradTol = 1e-4, kCountTol = 1e-5;
inline constexpr double kZeroGrad = 1e-6;  // gradients this small everywhere are rounding noise

// Cases run and failed so far.
extern int passed, failed;

// max |got - ref| / max |ref|. A gradient that is zero in exact arithmetic (Z-loss with two
// classes: z is always +-1) comes out as float rounding noise on both backends: when both are
// below kZeroGrad everywhere they agree.
double grad_error(const std::vector<float>& ref, const std::vector<float>& got);
// Counts a case and prints its line.
void report(bool ok, const std::string& what);
// A Status in words, for a case's line.
std::string status_text(const Status& s);

// The families' cases.
void anyloss_cases(uint64_t& seed, bool timed);
void elementwise_cases(uint64_t& seed);
void overlap_cases(uint64_t& seed);
void spherical_cases(uint64_t& seed);
void softmax_cases(uint64_t& seed);
void class_fault_cases(uint64_t& seed);
void ranking_cases(uint64_t& seed);
void ranking_fault_cases(uint64_t& seed);
void metric_cases(uint64_t& seed);
void fused_metric_cases(uint64_t& seed);
void pair_cases(uint64_t& seed, bool timed);
void linear_cases(uint64_t& seed, bool timed);
void proxy_cases(uint64_t& seed, bool timed);

}  // namespace parity
