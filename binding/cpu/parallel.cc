#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace fl {
namespace {

// Spins on `ready` for up to ~50 microseconds before the caller falls back to sleeping: a loss
// posts its second pass right after its first, and a futex wake-up costs more than that (measured:
// two threads took 4x longer than one on a 16k-element AnyLoss before spinning).
template <class Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > deadline) return ready();
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");  // the same hint to the core: a spin-wait loop
#endif
  }
}

// One job at a time runs on the pool; `generation` tells waiting workers a new one is posted.
class Pool {
 public:
  explicit Pool(int n) : wanted_(n) { start(n); }
  ~Pool() { stop(); }

  // The size asked for last: the pool has it, or takes it as soon as no job holds it.
  int size() { return wanted_.load(); }

  // Never waits, and never starts or joins a thread itself (setThreads runs on the event loop, a
  // job can hold the pool for seconds, and starting threads on a busy machine took up to 26 ms):
  // the next job to take the pool resizes it first.
  void resize(int n) { wanted_.store(n); }

  void run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t, int64_t)>& body) {
    const int64_t chunks = chunk_count(n, chunk);
    std::unique_lock<std::mutex> job(job_mutex_, std::try_to_lock);
    if (job.owns_lock()) apply();
    if (chunks <= 1 || !job.owns_lock() || workers_.empty()) {
      for (int64_t c = 0; c < chunks; ++c) body(c, c * chunk, std::min(n, (c + 1) * chunk));
      return;
    }
    body_ = &body;
    n_ = n;
    chunk_ = chunk;
    chunks_ = chunks;
    next_.store(0);
    active_.store(static_cast<int>(workers_.size()));
    {
      std::lock_guard<std::mutex> lk(mutex_);
      generation_.fetch_add(1, std::memory_order_release);  // publishes the fields above
    }
    wake_.notify_all();
    drain();
    if (!spin_until([&] { return active_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lk(mutex_);
      done_.wait(lk, [&] { return active_.load() == 0; });
    }
    body_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  // Resizes to wanted_ when it differs; the caller holds job_mutex_, so the workers are idle.
  void apply() {
    const int n = wanted_.load();
    if (n == static_cast<int>(workers_.size()) + 1) return;
    stop();
    start(n);
  }

  // An exception (std::bad_alloc from a chunk's scratch, say) must not escape a worker thread,
  // where it would end the process: the first is kept, the remaining chunks are skipped, and
  // run() rethrows it on the calling thread.
  void drain() {
    for (int64_t c; (c = next_.fetch_add(1)) < chunks_;) {
      try {
        (*body_)(c, c * chunk_, std::min(n_, (c + 1) * chunk_));
      } catch (...) {
        std::lock_guard<std::mutex> lk(error_mutex_);
        if (!error_) error_ = std::current_exception();
        next_.store(chunks_);
      }
    }
  }

  // `seen` starts at the generation current when the worker is created: a worker started by a
  // resize must not take the last finished job for a new one.
  void worker(uint64_t seen) {
    for (;;) {
      auto posted = [&] {
        return quit_.load() || generation_.load(std::memory_order_acquire) != seen;
      };
      if (!spin_until(posted)) {
        std::unique_lock<std::mutex> lk(mutex_);
        wake_.wait(lk, posted);
      }
      if (quit_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      drain();
      if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mutex_);  // pairs with the caller's predicate check
        done_.notify_one();
      }
    }
  }

  void start(int n) {
    quit_.store(false);
    const uint64_t now = generation_.load();
    for (int i = 1; i < n; ++i) workers_.emplace_back([this, now] { worker(now); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(mutex_);
      quit_.store(true);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::atomic<int> wanted_;
  std::mutex job_mutex_;  // held for the whole of a job or a resize
  // Sleeping and waking only; the job's fields are written by the job_mutex_ holder and published
  // to the workers by the release increment of generation_.
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(int64_t, int64_t, int64_t)>* body_ = nullptr;
  int64_t n_ = 0, chunk_ = 1, chunks_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> quit_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;  // the job's first exception; read after every worker is done
};

int initial_threads() {
  if (const char* env = std::getenv("FUSEDLOSS_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 1024) return static_cast<int>(v);
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

Pool& pool() {
  // Never destroyed: worker threads must not be joined during static destruction at exit.
  static Pool* p = new Pool(initial_threads());
  return *p;
}

}  // namespace

int threads() {
  return pool().size();
}
void set_threads(int n) {
  pool().resize(n < 1 ? 1 : n);
}

void parallel_chunks(int64_t n, int64_t chunk,
                     const std::function<void(int64_t, int64_t, int64_t)>& body) {
  pool().run(n, chunk, body);
}

}  // namespace fl
