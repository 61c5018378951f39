// The CUDA kernels held against the CPU kernels, with no Node involved: every GPU entry point on
// odd sizes, saturated and peaked inputs, one-class batches and invalid inputs, printing the
// largest errors of each case. Built twice from these files: cuda_parity_sim runs the kernels in
// the simulator (CI), cuda_parity on a real device, where it also prints kernel times.
//   cuda_parity [--require-device] [--family confusion|spherical|ranking|pairs|linear|proxy]
//               [--untimed]
// exits 1 on any failed case (or, with --require-device, no device); --family runs one family and
// --untimed leaves out the timed sizes (both keep runs under compute-sanitizer short).
// The cases live in one file per family (cuda_parity_<family>.cc) over cuda_parity.h.
#include "cuda_parity.h"

namespace parity {

int passed = 0, failed = 0;

double grad_error(const std::vector<float>& ref, const std::vector<float>& got) {
  double rmax = 0, gmax = 0, diff = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    rmax = std::max(rmax, static_cast<double>(std::fabs(ref[i])));
    gmax = std::max(gmax, static_cast<double>(std::fabs(got[i])));
    diff = std::max(diff, static_cast<double>(std::fabs(ref[i] - got[i])));
  }
  if (rmax <= kZeroGrad && gmax <= kZeroGrad) return 0;
  return rmax > 0 ? diff / rmax : diff;
}

void report(bool ok, const std::string& what) {
  (ok ? passed : failed) += 1;
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
}

std::string status_text(const Status& s) {
  if (s.ok()) return "ok";
  if (s.fault == fl::Fault::Cuda) return "CUDA: " + s.message;
  return "fault " + std::to_string(static_cast<int>(s.fault)) + " at " + std::to_string(s.index);
}

}  // namespace parity

int main(int argc, char** argv) {
  using namespace parity;
  bool require = false, untimed = false;
  const char* family = nullptr;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--require-device"))
      require = true;
    else if (!std::strcmp(argv[i], "--untimed"))
      untimed = true;
    else if (!std::strcmp(argv[i], "--family") && i + 1 < argc)
      family = argv[++i];
    else {
      std::fprintf(stderr, "cuda_parity: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const auto want = [&](const char* f) { return !family || !std::strcmp(family, f); };
#if !defined(FL_PARITY_SIM)
  const fl::CudaStatus dev = fl::cuda_discover();
  if (!dev.available) {
    std::printf("cuda_parity: skipped, no usable CUDA device (%s)\n", dev.reason.c_str());
    return require ? 1 : 0;
  }
  std::printf("cuda_parity on %s (sm_%d%d)\n", dev.devices[0].name.c_str(), dev.devices[0].major,
              dev.devices[0].minor);
  const bool timed = !untimed;
#else
  (void)require, (void)untimed;
  const bool timed = false;
#endif
  gpu::set_profiling(timed);
  uint64_t seed = 1;
  if (want("confusion")) {
    anyloss_cases(seed, timed);
    elementwise_cases(seed);
    overlap_cases(seed);
  }
  if (want("spherical")) {
    spherical_cases(seed);
    softmax_cases(seed);
    class_fault_cases(seed);
  }
  if (want("ranking")) {
    ranking_cases(seed);
    ranking_fault_cases(seed);
    metric_cases(seed);
    fused_metric_cases(seed);
  }
  if (want("pairs")) pair_cases(seed, timed);
  if (want("linear")) linear_cases(seed, timed);
  if (want("proxy")) proxy_cases(seed, timed);

  std::printf("cuda_parity (%s): %d cases passed, %d failed\n", kBackend, passed, failed);
  return failed == 0 ? 0 : 1;
}
