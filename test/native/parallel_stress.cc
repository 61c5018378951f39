// The thread pool under concurrent jobs and resizes: every element of every job is visited exactly
// once and every reduction is exact, and an exception thrown by a chunk on a worker reaches the
// caller (the pool stays usable). Built with ThreadSanitizer in CI (FUSEDLOSS_TSAN), where it
// also proves the pool's handoff free of data races.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <new>
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

  // Every chunk throws: whichever thread runs it, the caller gets a bad_alloc, then the pool
  // runs the next job in full.
  fl::set_threads(4);
  for (int it = 0; it < 100; ++it) {
    bool caught = false;
    try {
      fl::parallel_chunks(64, 1, [](int64_t, int64_t, int64_t) { throw std::bad_alloc(); });
    } catch (const std::bad_alloc&) {
      caught = true;
    }
    bad += !caught;
    std::atomic<int> visited{0};
    fl::parallel_chunks(64, 1, [&](int64_t, int64_t, int64_t) { visited++; });
    bad += visited != 64;
  }
  std::printf("parallel_stress: %ld errors\n", bad.load());
  return bad == 0 ? 0 : 1;
}
