// Runtime of the CUDA simulator (cuda_sim.h): the per-block fiber scheduler, the launcher, and
// the memory, stream, event and error API.
//
// Scheduling. A launch runs its blocks in blockIdx order (x fastest) on the calling OS thread.
// Within a block every CUDA thread is a fiber (ucontext), run round-robin in linear thread order:
// a fiber runs until it waits at __syncthreads or a warp operation, or returns; then the next
// runnable thread in linear order (wrapping around) runs. A thread that has not started yet
// needs no stack of its own: a fiber whose thread returned runs the next unstarted thread
// directly, so a kernel without barriers costs no context switch. When nothing can run and
// some threads have not finished, the block is deadlocked and the host reports who waits where.
// Errors never unwind across fibers: the failing fiber switches to the host, which abandons the
// block's fibers (their stacks are restarted by the next block) and skips the remaining blocks.
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cuda_sim.h"

namespace fl {
namespace sim {
namespace detail {

__thread Current current;

struct Stream {};
struct Event {
  std::chrono::steady_clock::time_point time;
  bool recorded = false;
};

namespace {

constexpr std::size_t kStackBytes = 128 << 10;
constexpr std::size_t kMaxDynamicShared = 227 << 10;
constexpr unsigned kMaxBlockThreads = 1024;
constexpr unsigned kNone = ~0u;
constexpr std::uint64_t kPoison = ~std::uint64_t{0};  // what a shuffle from a non-participant reads

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "cuda-sim: %s\n", what);
  std::abort();
}

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash ? slash + 1 : path;
}

std::size_t round_up(std::size_t n, std::size_t to) {
  return (n + to - 1) / to * to;
}

// Anonymous memory with a PROT_NONE guard page below it (stacks grow down) or above it, so that
// running off that end faults instead of corrupting a neighbour. Pages commit lazily.
class GuardedMapping {
 public:
  GuardedMapping(std::size_t bytes, bool guard_below) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = round_up(bytes, page) + page;
    void* map = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) fatal("mmap failed for a fiber stack or the shared-memory buffer");
    map_ = static_cast<unsigned char*>(map);
    begin_ = guard_below ? map_ + page : map_;
    end_ = begin_ + (size_ - page);
    if (mprotect(guard_below ? map_ : end_, page, PROT_NONE) != 0) fatal("mprotect failed");
  }
  ~GuardedMapping() { munmap(map_, size_); }
  GuardedMapping(const GuardedMapping&) = delete;
  GuardedMapping& operator=(const GuardedMapping&) = delete;

  unsigned char* begin() const { return begin_; }
  unsigned char* end() const { return end_; }

 private:
  unsigned char* map_;
  unsigned char* begin_;
  unsigned char* end_;
  std::size_t size_;
};

void fiber_main();

struct Fiber {
  Fiber() : stack(kStackBytes, true) {
    if (getcontext(&context) != 0) fatal("getcontext failed");
  }
  // Makes the context start fiber_main afresh on this stack.
  void restart() {
    context.uc_stack.ss_sp = stack.begin();
    context.uc_stack.ss_size = static_cast<std::size_t>(stack.end() - stack.begin());
    context.uc_link = nullptr;
    makecontext(&context, fiber_main, 0);
  }
  GuardedMapping stack;
  ucontext_t context;
};

enum class State : unsigned char { kUnstarted, kRunning, kRunnable, kWaiting, kDone };

struct Thread {
  State state;
  Fiber* fiber;
  // Where a waiting thread waits (for error messages); mask is 0 at __syncthreads.
  const char* what;
  const char* file;
  int line;
  unsigned mask;
  std::uint64_t result;  // of the barrier or warp operation it waited at
};

// One lane's pending warp operation. Results are computed for every participant when the last
// one arrives and kept per thread, so a fast lane that goes on to its next operation overwrites
// only its own slot: nothing another lane still has to read.
struct Lane {
  WarpOp op;
  unsigned mask;
  int width;
  long long arg;
  std::uint64_t value;  // for a collective: the lane's argument pointer
  const char* name;     // for messages
  Collective run;       // for a collective: what the last arrival runs
};

struct Warp {
  unsigned waiting;   // lanes waiting at a warp operation
  unsigned existing;  // lanes that exist (the block's last warp can be partial)
  Lane lane[32];
};

const char* op_name(WarpOp op) {
  switch (op) {
    case WarpOp::kSyncWarp:
      return "__syncwarp";
    case WarpOp::kShfl:
      return "__shfl_sync";
    case WarpOp::kShflUp:
      return "__shfl_up_sync";
    case WarpOp::kShflDown:
      return "__shfl_down_sync";
    case WarpOp::kShflXor:
      return "__shfl_xor_sync";
    case WarpOp::kBallot:
      return "__ballot_sync";
    case WarpOp::kAll:
      return "__all_sync";
    case WarpOp::kAny:
      return "__any_sync";
    case WarpOp::kCollective:
      return "a warp collective";
  }
  return "?";
}

bool is_shuffle(WarpOp op) {
  return op == WarpOp::kShfl || op == WarpOp::kShflUp || op == WarpOp::kShflDown ||
         op == WarpOp::kShflXor;
}

// The lane a shuffle reads from, by PTX shfl.sync's rules: width splits the warp into segments;
// up/down/xor read their own value when the source falls outside the segment (xor may read an
// earlier segment), idx wraps inside it.
unsigned shuffle_source(const Lane& l, unsigned lane) {
  const long long base = lane & ~static_cast<unsigned>(l.width - 1);
  const long long last = base + l.width - 1;
  const long long me = lane;
  const long long arg = static_cast<unsigned>(l.arg);  // CUDA passes 32-bit lane numbers
  long long src = me;
  switch (l.op) {
    case WarpOp::kShfl:
      src = base | (l.arg & (l.width - 1));
      break;
    case WarpOp::kShflUp:
      src = me - arg >= base ? me - arg : me;
      break;
    case WarpOp::kShflDown:
      src = me + arg <= last ? me + arg : me;
      break;
    case WarpOp::kShflXor:
      src = (me ^ arg) <= last ? (me ^ arg) : me;
      break;
    default:
      break;
  }
  return static_cast<unsigned>(src);
}

// Writes thread ids as ranges, "0-15,32,40-47", eliding after a few.
std::string id_ranges(const std::vector<unsigned>& ids) {
  std::string out;
  int ranges = 0;
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (++ranges > 8) return out + ",...";
    if (!out.empty()) out += ',';
    out += std::to_string(ids[i]);
    if (j > i) out += '-' + std::to_string(ids[j]);
    i = j + 1;
  }
  return out;
}

// Per OS thread: one launch at a time, its blocks one at a time.
class Scheduler {
 public:
  void launch(const LaunchConfig& cfg, void (*body)(const void*), const void* arg);
  int barrier(int pred, const char* file, int line);
  std::uint64_t warp_op(const Lane& op, const char* file, int line);
  void run_fiber();

 private:
  std::string check_config(const LaunchConfig& cfg) const;
  bool run_block();
  std::string describe_deadlock() const;
  uint3 coords(unsigned t) const;
  unsigned next_runnable(unsigned from) const;
  void enter(unsigned t);
  void resume(unsigned t, ucontext_t* from);
  void wait();
  Fiber* take_fiber();
  void require_kernel(const char* what) const;
  [[noreturn]] void fail(const char* format, ...) __attribute__((format(printf, 2, 3)));

  ucontext_t host_;
  std::vector<std::unique_ptr<Fiber>> fibers_;  // grows to the widest block seen
  std::vector<Fiber*> free_;
  std::unique_ptr<GuardedMapping> shared_;  // dynamic shared memory, guard page at the top

  // The running launch.
  bool running_ = false;
  void (*body_)(const void*) = nullptr;
  const void* arg_ = nullptr;
  std::size_t shared_bytes_ = 0;

  // The running block.
  std::vector<Thread> threads_;
  std::vector<Warp> warps_;
  unsigned n_ = 0;
  unsigned cur_ = 0;
  unsigned done_ = 0;
  unsigned barrier_arrived_ = 0;
  int barrier_count_ = 0;
  const char* barrier_file_ = nullptr;
  int barrier_line_ = 0;
  bool failed_ = false;
  std::string error_;  // set by fail(), read by the host
};

Scheduler& scheduler() {
  thread_local std::unique_ptr<Scheduler> s;
  if (!s) s = std::make_unique<Scheduler>();
  return *s;
}

// What a failed launch or call leaves for the host thread that made it.
struct Errors {
  cudaError_t last = cudaSuccess;    // cudaGetLastError / cudaPeekAtLastError
  cudaError_t launch = cudaSuccess;  // what synchronisation reports: a kernel failed
  cudaError_t detail_code = cudaSuccess;
  std::string detail;  // message for detail_code, kept after cudaGetLastError clears `last`
};
thread_local Errors errors;

cudaError_t set_error(cudaError_t code, std::string message) {
  errors.last = code;
  if (code == cudaErrorLaunchFailure) errors.launch = code;
  errors.detail_code = code;
  errors.detail = std::move(message);
  return code;
}

void fiber_main() {
  scheduler().run_fiber();
}

std::string Scheduler::check_config(const LaunchConfig& cfg) const {
  const dim3 b = cfg.block, g = cfg.grid;
  char buf[256];
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0) {
    std::snprintf(buf, sizeof buf, "block (%u,%u,%u) has a zero dimension", b.x, b.y, b.z);
  } else if (threads > kMaxBlockThreads) {
    std::snprintf(buf, sizeof buf, "block (%u,%u,%u) has %llu threads, more than %u", b.x, b.y, b.z,
                  threads, kMaxBlockThreads);
  } else if (b.z > 64) {
    std::snprintf(buf, sizeof buf, "block (%u,%u,%u): z is at most 64", b.x, b.y, b.z);
  } else if (g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
    std::snprintf(buf, sizeof buf,
                  "grid (%u,%u,%u): each dimension must be >= 1 and x < 2^31, y, z <= 65535", g.x,
                  g.y, g.z);
  } else if (cfg.shared_bytes > kMaxDynamicShared) {
    std::snprintf(buf, sizeof buf, "%zu bytes of dynamic shared memory, more than %zu",
                  cfg.shared_bytes, kMaxDynamicShared);
  } else {
    return {};
  }
  return buf;
}

void Scheduler::launch(const LaunchConfig& cfg, void (*body)(const void*), const void* arg) {
  if (running_) {
    fail("launches kernel '%s' from device code: dynamic parallelism is not simulated", cfg.name);
  }
  const std::string prefix = std::string("cuda-sim: kernel '") + cfg.name + "': ";
  const std::string bad = check_config(cfg);
  if (!bad.empty()) {
    set_error(cudaErrorInvalidConfiguration, prefix + "invalid configuration: " + bad);
    return;
  }
  if (!shared_) shared_ = std::make_unique<GuardedMapping>(kMaxDynamicShared, false);
  n_ = cfg.block.x * cfg.block.y * cfg.block.z;
  threads_.assign(n_, Thread{});
  warps_.assign((n_ + 31) / 32, Warp{});
  for (unsigned w = 0; w < warps_.size(); ++w) {
    const unsigned lanes = n_ - w * 32 < 32 ? n_ - w * 32 : 32;
    warps_[w].existing = lanes == 32 ? ~0u : (1u << lanes) - 1;
  }
  body_ = body;
  arg_ = arg;
  shared_bytes_ = cfg.shared_bytes;
  current.block_dim = cfg.block;
  current.grid_dim = cfg.grid;
  // Ends at the guard page, so an overrun faults.
  current.dynamic_shared = shared_->end() - round_up(cfg.shared_bytes, 16);
  running_ = true;
  for (unsigned z = 0; z < cfg.grid.z; ++z) {
    for (unsigned y = 0; y < cfg.grid.y; ++y) {
      for (unsigned x = 0; x < cfg.grid.x; ++x) {
        current.block_idx = {x, y, z};
        if (run_block()) continue;
        char where[96];
        std::snprintf(where, sizeof where, "block (%u,%u,%u) of %u threads: ", x, y, z, n_);
        set_error(cudaErrorLaunchFailure, prefix + where + error_);
        running_ = false;
        return;
      }
    }
  }
  running_ = false;
}

// Runs the block current.block_idx; false (with error_ set) when it fails or deadlocks.
bool Scheduler::run_block() {
  for (Thread& t : threads_) t.state = State::kUnstarted;
  for (Warp& w : warps_) w.waiting = 0;
  free_.clear();
  for (auto& f : fibers_) free_.push_back(f.get());
  done_ = 0;
  barrier_arrived_ = 0;
  failed_ = false;
  std::memset(current.dynamic_shared, 0xFF, shared_bytes_);
  resume(0, &host_);
  // Back here when every thread returned, a thread failed, or nothing can run.
  if (failed_) return false;
  if (done_ == n_) return true;
  error_ = describe_deadlock();
  return false;
}

std::string Scheduler::describe_deadlock() const {
  struct Group {
    const Thread* site;
    std::vector<unsigned> ids;
  };
  std::vector<Group> groups;
  std::vector<unsigned> exited;
  for (unsigned t = 0; t < n_; ++t) {
    const Thread& th = threads_[t];
    if (th.state == State::kDone) {
      exited.push_back(t);
      continue;
    }
    Group* group = nullptr;
    for (Group& g : groups) {
      const Thread& s = *g.site;
      if (s.what == th.what && s.line == th.line && s.mask == th.mask &&
          std::strcmp(s.file, th.file) == 0) {
        group = &g;
      }
    }
    if (!group) group = &groups.emplace_back(Group{&th, {}});
    group->ids.push_back(t);
  }
  std::string out = "deadlock: ";
  for (const Group& g : groups) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s at %s:%d", g.site->what, base_name(g.site->file),
                  g.site->line);
    out += buf;
    if (g.site->mask) {
      std::snprintf(buf, sizeof buf, " (mask 0x%08x)", g.site->mask);
      out += buf;
    }
    std::snprintf(buf, sizeof buf, " reached by %zu of %u threads (", g.ids.size(), n_);
    out += buf + id_ranges(g.ids) + "); ";
  }
  out += std::to_string(exited.size()) + " exited";
  if (!exited.empty()) out += " (" + id_ranges(exited) + ")";
  return out;
}

uint3 Scheduler::coords(unsigned t) const {
  const uint3 b = current.block_dim;
  return {t % b.x, t / b.x % b.y, t / (b.x * b.y)};
}

unsigned Scheduler::next_runnable(unsigned from) const {
  for (unsigned i = 1; i <= n_; ++i) {
    const unsigned t = from + i < n_ ? from + i : from + i - n_;
    const State s = threads_[t].state;
    if (s == State::kUnstarted || s == State::kRunnable) return t;
  }
  return kNone;
}

void Scheduler::enter(unsigned t) {
  cur_ = t;
  threads_[t].state = State::kRunning;
  current.thread_idx = coords(t);
}

// Switches from the context `from` (saved there) to thread t, starting it if needed.
void Scheduler::resume(unsigned t, ucontext_t* from) {
  Thread& th = threads_[t];
  if (th.state == State::kUnstarted) {
    th.fiber = take_fiber();
    th.fiber->restart();
  }
  enter(t);
  swapcontext(from, &th.fiber->context);
}

Fiber* Scheduler::take_fiber() {
  if (free_.empty()) {
    fibers_.push_back(std::make_unique<Fiber>());
    return fibers_.back().get();
  }
  Fiber* f = free_.back();
  free_.pop_back();
  return f;
}

// The running thread, already marked waiting, yields; returns once it has been woken.
void Scheduler::wait() {
  Fiber* self = threads_[cur_].fiber;
  const unsigned next = next_runnable(cur_);
  if (next == kNone) {
    swapcontext(&self->context, &host_);  // deadlock: the host reports it and never comes back
  } else {
    resume(next, &self->context);
  }
}

void Scheduler::run_fiber() {
  for (;;) {
    bool threw = false;
    char what[200] = "";
    try {
      body_(arg_);
    } catch (const std::exception& e) {
      threw = true;
      std::snprintf(what, sizeof what, "%s", e.what());
    } catch (...) {
      threw = true;
    }
    // Outside the handler: switching away inside it would strand the exception.
    if (threw) {
      const uint3 t = current.thread_idx;
      fail("thread (%u,%u,%u) threw an exception: %s", t.x, t.y, t.z,
           what[0] ? what : "(not a std::exception)");
    }
    Thread& t = threads_[cur_];
    t.state = State::kDone;
    ++done_;
    const unsigned next = next_runnable(cur_);
    if (next != kNone && threads_[next].state == State::kUnstarted) {
      threads_[next].fiber = t.fiber;  // run it on this stack, no switch
      enter(next);
      continue;
    }
    // A finished fiber's context is never resumed: take_fiber() restarts it.
    free_.push_back(t.fiber);
    if (next == kNone) {
      swapcontext(&t.fiber->context, &host_);
    } else {
      resume(next, &t.fiber->context);
    }
    fatal("a finished fiber was resumed");
  }
}

void Scheduler::require_kernel(const char* what) const {
  if (!running_) {
    std::fprintf(stderr, "cuda-sim: %s called outside a kernel\n", what);
    std::abort();
  }
}

void Scheduler::fail(const char* format, ...) {
  char msg[1024];
  va_list args;
  va_start(args, format);
  std::vsnprintf(msg, sizeof msg, format, args);
  va_end(args);
  failed_ = true;
  error_ = msg;
  // The host abandons this block; its fibers are restarted, never resumed.
  swapcontext(&threads_[cur_].fiber->context, &host_);
  fatal("an abandoned fiber was resumed");
}

int Scheduler::barrier(int pred, const char* file, int line) {
  require_kernel("__syncthreads");
  Thread& me = threads_[cur_];
  if (barrier_arrived_ == 0) {
    barrier_file_ = file;
    barrier_line_ = line;
    barrier_count_ = 0;
  } else if (line != barrier_line_ || std::strcmp(file, barrier_file_) != 0) {
    const uint3 t = current.thread_idx;
    fail(
        "__syncthreads at %s:%d reached by thread (%u,%u,%u) while %u threads wait at "
        "__syncthreads at %s:%d (barriers at different places in one block)",
        base_name(file), line, t.x, t.y, t.z, barrier_arrived_, base_name(barrier_file_),
        barrier_line_);
  }
  barrier_count_ += pred;
  if (++barrier_arrived_ < n_) {
    me.state = State::kWaiting;
    me.what = "__syncthreads";
    me.file = file;
    me.line = line;
    me.mask = 0;
    wait();
    return static_cast<int>(me.result);
  }
  // The last arrival releases everyone (all others wait here) and runs on.
  barrier_arrived_ = 0;
  for (Thread& t : threads_) {
    t.result = static_cast<std::uint64_t>(barrier_count_);
    if (t.state == State::kWaiting) t.state = State::kRunnable;
  }
  return barrier_count_;
}

std::uint64_t Scheduler::warp_op(const Lane& op_lane, const char* file, int line) {
  const WarpOp op = op_lane.op;
  const unsigned mask = op_lane.mask;
  const int width = op_lane.width;
  const char* name = op_lane.name;
  require_kernel(name);
  const unsigned me = cur_, lane = me % 32, warp = me / 32;
  Warp& w = warps_[warp];
  file = base_name(file);
  if (!(mask >> lane & 1)) {
    fail("%s at %s:%d: lane %u of warp %u passes mask 0x%08x, which leaves out the lane itself",
         name, file, line, lane, warp, mask);
  }
  if (mask & ~w.existing) {
    fail(
        "%s at %s:%d: mask 0x%08x names lanes that do not exist (warp %u has %d lanes in a block "
        "of %u threads)",
        name, file, line, mask, warp, __builtin_popcount(w.existing), n_);
  }
  if (is_shuffle(op) && (width < 1 || width > 32 || (width & (width - 1)) != 0)) {
    fail("%s at %s:%d: width %d is not a power of two in 1..32", name, file, line, width);
  }
  for (unsigned others = w.waiting; others; others &= others - 1) {
    const unsigned j = static_cast<unsigned>(__builtin_ctz(others));
    const Lane& o = w.lane[j];
    if ((o.mask >> lane & 1 || mask >> j & 1) &&
        (o.mask != mask || o.op != op || o.run != op_lane.run)) {
      const Thread& other = threads_[warp * 32 + j];
      fail(
          "%s at %s:%d: lane %u of warp %u (mask 0x%08x) arrives while lane %u waits at %s at "
          "%s:%d with mask 0x%08x: the lanes of a mask must all meet at one kind of warp "
          "operation with that same mask",
          name, file, line, lane, warp, mask, j, o.name, base_name(other.file), other.line, o.mask);
    }
  }
  w.lane[lane] = op_lane;
  w.waiting |= 1u << lane;
  Thread& self = threads_[me];
  if ((w.waiting & mask) != mask) {
    self.state = State::kWaiting;
    self.what = name;
    self.file = file;
    self.line = line;
    self.mask = mask;
    wait();
    return self.result;
  }
  // The last participant computes every participant's result and wakes them.
  w.waiting &= ~mask;
  if (op == WarpOp::kCollective) {
    void* args[32] = {};
    for (unsigned j = 0; j < 32; ++j) {
      if (mask >> j & 1) args[j] = reinterpret_cast<void*>(w.lane[j].value);
    }
    char why[512] = "";
    if (!op_lane.run(args, mask, why, sizeof why)) {
      fail("%s at %s:%d in warp %u: %s", name, file, line, warp, why);
    }
  }
  unsigned ballot = 0;
  for (unsigned j = 0; j < 32; ++j) {
    if (mask >> j & 1 && w.lane[j].arg != 0) ballot |= 1u << j;
  }
  for (unsigned j = 0; j < 32; ++j) {
    if (!(mask >> j & 1)) continue;
    std::uint64_t result = 0;
    if (op == WarpOp::kBallot) {
      result = ballot;
    } else if (op == WarpOp::kAll) {
      result = ballot == mask;
    } else if (op == WarpOp::kAny) {
      result = ballot != 0;
    } else if (is_shuffle(op)) {
      const unsigned src = shuffle_source(w.lane[j], j);
      result = mask >> src & 1 ? w.lane[src].value : kPoison;
    }
    Thread& t = threads_[warp * 32 + j];
    t.result = result;
    if (j != lane) t.state = State::kRunnable;
  }
  return self.result;
}

struct Registry {
  std::mutex mu;
  std::map<const unsigned char*, std::size_t> device;  // allocation start -> bytes
  std::set<void*> host, streams, events;

  // 0: not device memory, 1: inside one device allocation, -1: straddles an allocation's end.
  int classify(const void* p, std::size_t bytes) {
    const auto* c = static_cast<const unsigned char*>(p);
    auto it = device.upper_bound(c);
    if (it == device.begin()) return 0;
    --it;
    if (c >= it->first + it->second) return 0;
    return c + bytes <= it->first + it->second ? 1 : -1;
  }
};

// Never destroyed: worker threads may still free memory while the process exits.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

bool live(const std::set<void*>& handles, void* h) {
  return handles.count(h) != 0;
}

cudaError_t invalid(cudaError_t code, const char* call, const char* why) {
  return set_error(code, std::string("cuda-sim: ") + call + ": " + why);
}

// Poisoned, so a kernel that reads memory nobody wrote fails its parity test (0xFF: NaN).
void* allocate(std::size_t bytes) {
  void* p = std::aligned_alloc(256, round_up(bytes, 256));
  if (p) std::memset(p, 0xFF, bytes);
  return p;
}

cudaError_t check_stream(cudaStream_t stream, const char* call) {
  if (!stream) return cudaSuccess;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (live(r.streams, stream)) return cudaSuccess;
  return invalid(cudaErrorInvalidResourceHandle, call, "not a live stream");
}

}  // namespace

thread_local uint64_t launches = 0;

void launch(const LaunchConfig& cfg, void (*thread_body)(const void*), const void* arg) {
  ++launches;
  if (cfg.stream) {
    const std::string call = std::string("kernel '") + cfg.name + "'";
    if (check_stream(cfg.stream, call.c_str()) != cudaSuccess) return;
  }
  scheduler().launch(cfg, thread_body, arg);
}

int barrier(int pred, const char* file, int line) {
  return scheduler().barrier(pred, file, line);
}

std::uint64_t warp_op(WarpOp op, unsigned mask, std::uint64_t value, long long arg, int width,
                      const char* file, int line) {
  return scheduler().warp_op(Lane{op, mask, width, arg, value, op_name(op), nullptr}, file, line);
}

void warp_collective(const char* name, Collective run, unsigned mask, void* arg, const char* file,
                     int line) {
  scheduler().warp_op(Lane{WarpOp::kCollective, mask, warpSize, 0,
                           reinterpret_cast<std::uintptr_t>(arg), name, run},
                      file, line);
}

}  // namespace detail

using detail::invalid;
using detail::registry;

cudaError_t cudaMalloc(void** p, std::size_t bytes) {
  if (!p) return invalid(cudaErrorInvalidValue, "cudaMalloc", "null result pointer");
  *p = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* mem = detail::allocate(bytes);
  if (!mem) return invalid(cudaErrorMemoryAllocation, "cudaMalloc", "out of host memory");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.device[static_cast<unsigned char*>(mem)] = bytes;
  *p = mem;
  return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
  if (!p) return cudaSuccess;
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.device.erase(static_cast<unsigned char*>(p)) == 0) {
      return invalid(cudaErrorInvalidValue, "cudaFree", "not the start of a device allocation");
    }
  }
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** p, std::size_t bytes) {
  if (!p) return invalid(cudaErrorInvalidValue, "cudaMallocHost", "null result pointer");
  *p = detail::allocate(bytes ? bytes : 1);
  if (!*p) return invalid(cudaErrorMemoryAllocation, "cudaMallocHost", "out of host memory");
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.host.insert(*p);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* p) {
  if (!p) return cudaSuccess;
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (r.host.erase(p) == 0) {
      return invalid(cudaErrorInvalidValue, "cudaFreeHost", "not from cudaMallocHost");
    }
  }
  std::free(p);
  return cudaSuccess;
}

namespace {

enum class Memory { kHost, kDevice, kEither };

// Checks that one side of a copy or memset is the memory the call says it is, and that a device
// range lies inside one allocation: what a real GPU would fault on or silently corrupt.
cudaError_t check_range(const void* p, std::size_t bytes, Memory expect, const char* call,
                        const char* side) {
  auto& r = registry();
  int where;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    where = r.classify(p, bytes);
  }
  char why[160];
  if (where < 0) {
    std::snprintf(why, sizeof why,
                  "%s range of %zu bytes runs past the end of its device allocation", side, bytes);
  } else if (expect == Memory::kDevice && where == 0) {
    std::snprintf(why, sizeof why, "%s is not device memory", side);
  } else if (expect == Memory::kHost && where == 1) {
    std::snprintf(why, sizeof why, "%s is device memory, but the copy kind says host", side);
  } else {
    return cudaSuccess;
  }
  return invalid(cudaErrorInvalidValue, call, why);
}

cudaError_t copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                 cudaStream_t stream, const char* call) {
  if (const cudaError_t e = detail::check_stream(stream, call)) return e;
  if (bytes == 0) return cudaSuccess;
  Memory to = Memory::kEither,
         from = Memory::kEither;  // cudaMemcpyDefault: either side, any memory
  switch (kind) {
    case cudaMemcpyHostToHost:
      to = from = Memory::kHost;
      break;
    case cudaMemcpyHostToDevice:
      to = Memory::kDevice, from = Memory::kHost;
      break;
    case cudaMemcpyDeviceToHost:
      to = Memory::kHost, from = Memory::kDevice;
      break;
    case cudaMemcpyDeviceToDevice:
      to = from = Memory::kDevice;
      break;
    case cudaMemcpyDefault:
      break;
    default:
      return invalid(cudaErrorInvalidMemcpyDirection, call, "unknown cudaMemcpyKind");
  }
  if (const cudaError_t e = check_range(dst, bytes, to, call, "destination")) return e;
  if (const cudaError_t e = check_range(src, bytes, from, call, "source")) return e;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  return copy(dst, src, bytes, kind, nullptr, "cudaMemcpy");
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return copy(dst, src, bytes, kind, stream, "cudaMemcpyAsync");
}

cudaError_t cudaMemsetAsync(void* p, int value, std::size_t bytes, cudaStream_t stream) {
  if (const cudaError_t e = detail::check_stream(stream, "cudaMemset")) return e;
  if (bytes == 0) return cudaSuccess;
  if (const cudaError_t e = check_range(p, bytes, Memory::kDevice, "cudaMemset", "destination"))
    return e;
  std::memset(p, value & 0xFF, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* p, int value, std::size_t bytes) {
  return cudaMemsetAsync(p, value, bytes, nullptr);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  if (!stream) return invalid(cudaErrorInvalidValue, "cudaStreamCreate", "null result pointer");
  *stream = new detail::Stream;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.streams.insert(*stream);
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (!stream || r.streams.erase(stream) == 0) {
      return invalid(cudaErrorInvalidResourceHandle, "cudaStreamDestroy", "not a live stream");
    }
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (const cudaError_t e = detail::check_stream(stream, "cudaStreamSynchronize")) return e;
  return detail::errors.launch;
}

cudaError_t cudaDeviceSynchronize() {
  return detail::errors.launch;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  if (!event) return invalid(cudaErrorInvalidValue, "cudaEventCreate", "null result pointer");
  *event = new detail::Event;
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.events.insert(*event);
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mu);
    if (!event || r.events.erase(event) == 0) {
      return invalid(cudaErrorInvalidResourceHandle, "cudaEventDestroy", "not a live event");
    }
  }
  delete event;
  return cudaSuccess;
}

namespace {
cudaError_t check_event(cudaEvent_t event, const char* call) {
  auto& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (event && detail::live(r.events, event)) return cudaSuccess;
  return invalid(cudaErrorInvalidResourceHandle, call, "not a live event");
}
}  // namespace

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (const cudaError_t e = check_event(event, "cudaEventRecord")) return e;
  if (const cudaError_t e = detail::check_stream(stream, "cudaEventRecord")) return e;
  event->time = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return check_event(event, "cudaEventSynchronize");
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return invalid(cudaErrorInvalidValue, "cudaEventElapsedTime", "null result pointer");
  if (const cudaError_t e = check_event(start, "cudaEventElapsedTime")) return e;
  if (const cudaError_t e = check_event(end, "cudaEventElapsedTime")) return e;
  if (!start->recorded || !end->recorded) {
    return invalid(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime",
                   "an event was never recorded");
  }
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = detail::errors.last;
  detail::errors.last = cudaSuccess;
  detail::errors.launch = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() {
  return detail::errors.last;
}

namespace {

struct ErrorText {
  cudaError_t code;
  const char* name;
  const char* text;
};

// The real runtime's names and strings for the codes the simulator uses.
constexpr ErrorText kErrorTexts[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorUnknown, "cudaErrorUnknown", "unknown error"},
};

const ErrorText* error_text(cudaError_t err) {
  for (const ErrorText& e : kErrorTexts) {
    if (e.code == err) return &e;
  }
  return nullptr;
}

}  // namespace

const char* cudaGetErrorName(cudaError_t err) {
  const ErrorText* e = error_text(err);
  return e ? e->name : "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t err) {
  if (err != cudaSuccess && err == detail::errors.detail_code) return detail::errors.detail.c_str();
  const ErrorText* e = error_text(err);
  return e ? e->text : "unrecognized error code";
}

const char* last_error_message() {
  return detail::errors.detail.c_str();
}

uint64_t launch_count() {
  return detail::launches;
}

}  // namespace sim
}  // namespace fl
