// The thread pool under concurrent jobs and resizes: every element of every job is visited exactly
// once and every reduction is exact. Built with ThreadSanitizer in CI (FUSEDLOSS_TSAN), where it
// also proves the pool's handoff free of data races.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "parallel.h"

int main() {
  std::atomic<long> bad{0};
  auto jobs = [&](int seed) {
    for (int it = 0; it < 200; ++it) {
      const int64_t n = 1000 + (seed * 7919 + it * 104729) % 50000;
      std::vector<int> hits(n, 0);
      fl::parallel_chunks(n, 512, [&](int64_t, int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[i]++;
      });
      for (int64_t i = 0; i < n; ++i) bad += hits[i] != 1;
      const double total = fl::parallel_reduce<double>(
          n, 1000, [](int64_t b, int64_t e, double& p) { p += static_cast<double>(e - b); },
          [](double& acc, const double& p) { acc += p; });
      bad += total != static_cast<double>(n);
    }
  };
  fl::set_threads(3);
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) callers.emplace_back(jobs, t);
  std::thread resizer([] {
    for (int i = 0; i < 20; ++i) {
      fl::set_threads(1 + i % 4);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  for (auto& t : callers) t.join();
  resizer.join();
  std::printf("parallel_stress: %ld errors\n", bad.load());
  return bad == 0 ? 0 : 1;
}
