// The CPU thread pool. Work is cut into fixed-size chunks whose boundaries depend only on the
// problem size, never on the thread count; reductions keep one partial per chunk and combine
// them in chunk order. Results are therefore bitwise identical for any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace fl {

// Threads the pool uses (the calling thread included). Initially FUSEDLOSS_THREADS if set to a
// positive integer, else the hardware concurrency.
int threads();
// Resizes the pool; n >= 1. Never waits: the next job to take the pool resizes it first
// (threads() reports n at once).
void set_threads(int n);

// Calls body(chunk, begin, end) for every chunk [begin, end) of [0, n) cut every `chunk` items.
// The calling thread takes part. If another job holds the pool (a concurrent async call), this
// job runs on the calling thread alone: same chunks, same results.
void parallel_chunks(int64_t n, int64_t chunk,
                     const std::function<void(int64_t, int64_t, int64_t)>& body);

inline int64_t chunk_count(int64_t n, int64_t chunk) {
  return n <= 0 ? 0 : (n + chunk - 1) / chunk;
}

// Deterministic reduction: map(begin, end, partial) fills the partial of one chunk (a T that
// starts value-initialised); the partials are then folded left to right with combine(acc, p).
template <class T, class Map, class Combine>
T parallel_reduce(int64_t n, int64_t chunk, Map map, Combine combine) {
  std::vector<T> partial(static_cast<size_t>(chunk_count(n, chunk)));
  parallel_chunks(n, chunk, [&](int64_t c, int64_t b, int64_t e) { map(b, e, partial[c]); });
  T acc{};
  for (const T& p : partial) combine(acc, p);
  return acc;
}

}  // namespace fl
