// CUDA kernels of the soft-confusion-matrix family: AnyLoss (formulas A), the overlap losses
// (formulas B) and the element-wise binary losses beside them (BCE, sigmoid focal). AnyLoss: pass 1
// reduces the soft counts per class, the host turns them into per-class derivatives (the same
// anyloss_constants as the CPU), pass 2 writes the gradient. Per-element math comes from
// confusion_math.h, shared with binding/cpu/confusion.cc. Pass 2 recomputes yhat from the scores
// instead of reading a stash: on a GPU that costs no more memory traffic than the stash would, and
// it lets counts and backward run as separate calls.
#include <algorithm>
#include <cfloat>
#include <climits>
#include <cstring>
#include <type_traits>
#include <vector>

#include "fusedloss/confusion_math.h"
#include "fusedloss/dispatch.h"
#include "reduce.cuh"
#include "rows.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

constexpr int kThreads = 256;
constexpr int kBlockSteps = 16;  // float terms per thread before flushing into double, as on CPU
constexpr unsigned long long kNoFault = ~0ull;

// Input checks of one row, in the order confusion_find_fault names them. Scores are checked by
// the threads that read them; labels and weights by one thread per row.
template <bool Logits>
__device__ __forceinline__ bool score_ok(float x) {
  return Logits ? fabsf(x) <= FLT_MAX : (x >= 0.0f && x <= 1.0f);
}
__device__ __forceinline__ bool weight_ok(float w) {
  return w >= 0.0f && w <= FLT_MAX;
}

template <bool Weighted>
__device__ __forceinline__ float weight_at(const float* w, int64_t i) {
  return Weighted ? w[i] : 1.0f;
}

// Element i of a binary problem, checked as confusion_find_fault checks it; the first invalid
// element a thread meets is kept in `bad`.
struct BinaryCell {
  float x, y, w;
};

template <bool Logits, bool Weighted, class L>
__device__ __forceinline__ BinaryCell binary_cell(const float* x, const L* y, const float* w,
                                                  int64_t i, unsigned long long& bad) {
  const BinaryCell c{x[i], static_cast<float>(y[i]), weight_at<Weighted>(w, i)};
  const bool ok = score_ok<Logits>(c.x) && c.y >= 0.0f && c.y <= 1.0f && weight_ok(c.w);
  if (!ok && bad == kNoFault) bad = static_cast<unsigned long long>(i);
  return c;
}

// The end of a grid-stride pass: the block's N sums go to partials[block][N] and the first
// invalid row a thread met lowers *fault_row.
template <int N>
__device__ void finish_block(double (&acc)[N], double* scratch, unsigned long long bad,
                             unsigned long long* fault_row, double* partials) {
  if (bad != kNoFault) atomicMin(fault_row, bad);
  block_sum(acc, scratch);
  if (linear_thread() == 0)
    for (int j = 0; j < N; ++j) partials[blockIdx.x * N + j] = acc[j];
}

// Sums the soft counts (TP, FN, FP, TN; count_terms) of binary rows into partials[block][4]; the
// first invalid row any thread meets lowers *fault_row.
template <bool Logits, bool Weighted, class L>
__global__ void __launch_bounds__(kThreads)
    binary_counts(const float* __restrict__ x, const L* __restrict__ y, const float* __restrict__ w,
                  int64_t n, float amp, double* __restrict__ partials,
                  unsigned long long* fault_row) {
  __shared__ double scratch[4 * 32];
  double acc[4] = {0, 0, 0, 0};
  float f[4] = {0, 0, 0, 0};
  int steps = 0;
  unsigned long long bad = kNoFault;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    const auto [xi, yi, wi] = binary_cell<Logits, Weighted>(x, y, w, i, bad);
    const CountTerms t = count_terms(amplify<Logits>(xi, amp), yi, wi);
    f[0] += t.tp;
    f[1] += t.fn;
    f[2] += t.fp;
    f[3] += t.tn;
    if (++steps == kBlockSteps) {
      for (int j = 0; j < 4; ++j) acc[j] += f[j], f[j] = 0.0f;
      steps = 0;
    }
  }
  for (int j = 0; j < 4; ++j) acc[j] += f[j];
  finish_block(acc, scratch, bad, fault_row, partials);
}

template <bool Logits, bool Weighted, class L>
__global__ void __launch_bounds__(kThreads)
    binary_backward(const float* __restrict__ x, const L* __restrict__ y,
                    const float* __restrict__ w, int64_t n, float amp, float dpos, float dneg,
                    float* __restrict__ g) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    const float yi = static_cast<float>(y[i]), wi = weight_at<Weighted>(w, i);
    g[i] = amplify<Logits>(x[i], amp).slope * (wi * (yi * dpos + (1.0f - yi) * dneg));
  }
}

// Element-wise binary losses (cross-entropy, sigmoid focal): g_i = scale w_i cell(x_i, y_i).grad,
// and partials[block] = the block's sum of w_i cell(x_i, y_i).loss.
template <bool Weighted, class Cell, class L>
__global__ void __launch_bounds__(kThreads)
    elementwise_binary(const float* __restrict__ x, const L* __restrict__ y,
                       const float* __restrict__ w, int64_t n, Cell cell, float scale,
                       float* __restrict__ g, double* __restrict__ partials,
                       unsigned long long* fault_row) {
  __shared__ double scratch[32];
  double acc[1] = {0};  // in double: terms reach |x| (3e38), which a float sum would overflow
  unsigned long long bad = kNoFault;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    const auto [xi, yi, wi] = binary_cell<true, Weighted>(x, y, w, i, bad);
    const ElementLoss t = cell(xi, yi);
    acc[0] += static_cast<double>(wi) * t.loss;
    g[i] = scale * wi * t.grad;
  }
  finish_block(acc, scratch, bad, fault_row, partials);
}

// ---- multi-class: rows of `classes` scores ----

// Softmax statistics of a row of logits: p_k = exp(x_k - max) * inv, inv = 1 / sum exp(x - max),
// as the CPU's softmax_rows computes it; with Careful (the overlap losses), also the dominant
// class d (the first largest logit) and 1 - p_d accurately, as the CPU's adjusted_row.
struct RowStats {
  float max, inv;
  int32_t dominant;
  double rest;  // 1 - p_dominant = sum_{k != d} e_k / sum_k e_k, in double
};

template <bool Careful>
struct SoftmaxStatsRows {
  const float* x;
  int32_t classes;
  RowStats* stats;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const int32_t c = classes;
    const float* xr = x + r * c;
    float m = -FLT_MAX;
    for (int32_t k = t.lane; k < c; k += t.width) m = fmaxf(m, xr[k]);
    m = t.max(m);
    double s = 0;
    for (int32_t k = t.lane; k < c; k += t.width) s += exp_nonpos(xr[k] - m);
    RowStats st{m, static_cast<float>(1.0 / t.sum(s)), 0, 0};
    if (Careful) {
      int d = INT_MAX;
      for (int32_t k = t.lane; k < c; k += t.width)
        if (xr[k] == m && k < d) d = k;
      st.dominant = t.min(d);
      double all = 0, rest = 0;
      for (int32_t k = t.lane; k < c; k += t.width) {
        const double e = exp(static_cast<double>(xr[k]) - m);
        all += e;
        if (k != st.dominant) rest += e;
      }
      all = t.sum(all);
      st.rest = t.sum(rest) / all;
    }
    if (active && t.lane == 0) stats[r] = st;
  }
};

template <bool Logits>
__device__ __forceinline__ float probability(const float* x, const RowStats* stats, int64_t r,
                                             int32_t c, int32_t k) {
  const float v = x[r * c + k];
  if (!Logits) return v;
  const RowStats& st = stats[r];
  return exp_nonpos(v - st.max) * st.inv;
}

// Per-class sums of N terms over a chunk of rows: the block is tile_x classes by tile_y rows;
// block (chunk, tile) writes partials[chunk][N k + j] for the tile's classes k. cell(r, k,
// label, w, terms) gives a cell's N terms (each >= 0: float blocks flushed into double, as on the
// CPU). Every cell's score is checked, and each row's label and weight by its class-0 thread.
template <int N, bool Logits, bool Weighted, class L, class Cell>
__global__ void __launch_bounds__(kThreads)
    class_tiles(const float* __restrict__ x, const L* __restrict__ y, const float* __restrict__ w,
                int64_t rows, int32_t c, Cell cell, int64_t chunk_rows,
                double* __restrict__ partials, unsigned long long* fault_row) {
  __shared__ double sums[N][kThreads];
  const int tx = threadIdx.x, ty = threadIdx.y, t = ty * blockDim.x + tx;
  const int64_t begin = blockIdx.x * chunk_rows;
  const int64_t end = begin + chunk_rows < rows ? begin + chunk_rows : rows;
  unsigned long long bad = kNoFault;
  // Grids hold at most 65535 tiles in y; beyond that, blocks take further tiles in turn.
  for (int32_t tile = blockIdx.y; tile * static_cast<int32_t>(blockDim.x) < c; tile += gridDim.y) {
    const int32_t k = tile * blockDim.x + tx;
    double acc[N] = {};
    float f[N] = {};
    int steps = 0;
    if (k < c) {
      for (int64_t r = begin + ty; r < end; r += blockDim.y) {
        const int32_t label = static_cast<int32_t>(y[r]);
        const float wi = weight_at<Weighted>(w, r);
        bool ok = score_ok<Logits>(x[r * c + k]);
        if (k == 0) ok = ok && label >= 0 && label < c && weight_ok(wi);
        if (!ok && bad == kNoFault) bad = static_cast<unsigned long long>(r);
        float terms[N];
        cell(r, k, label, wi, terms);
        for (int j = 0; j < N; ++j) f[j] += terms[j];
        if (++steps == kBlockSteps) {
          for (int j = 0; j < N; ++j) acc[j] += f[j], f[j] = 0.0f;
          steps = 0;
        }
      }
    }
    for (int j = 0; j < N; ++j) sums[j][t] = acc[j] + f[j];
    __syncthreads();
    // A fixed tree over the tile's rows (ty), one column per class.
    for (int half = blockDim.y / 2; half > 0; half /= 2) {
      if (ty < half)
        for (int j = 0; j < N; ++j) sums[j][t] += sums[j][t + half * blockDim.x];
      __syncthreads();
    }
    if (ty == 0 && k < c)
      for (int j = 0; j < N; ++j)
        partials[blockIdx.x * (N * static_cast<int64_t>(c)) + N * k + j] = sums[j][tx];
    __syncthreads();  // the next tile rewrites sums
  }
  if (bad != kNoFault) atomicMin(fault_row, bad);
}

// AnyLoss's cell: its soft counts (TP, FN, FP, TN; count_terms) with y = [label == k].
template <bool Logits>
struct CountsCell {
  const float* x;
  const RowStats* stats;
  int32_t classes;
  float amp;
  __device__ void operator()(int64_t r, int32_t k, int32_t label, float wi, float* out) const {
    const Amplified a = amplify<false>(probability<Logits>(x, stats, r, classes, k), amp);
    const CountTerms t = count_terms(a, label == k ? 1.0f : 0.0f, wi);
    out[0] = t.tp;
    out[1] = t.fn;
    out[2] = t.fp;
    out[3] = t.tn;
  }
};

// ---- the overlap losses (Dice, Tversky; formulas B) ----

// The pt of a cell of a softmax row (formulas B.3): p r^alpha with r = 1 - p, taken accurately for
// the dominant class from the row's statistics, as the CPU's adjusted_pt / one_minus.
template <bool Logits>
__device__ __forceinline__ double cell_rest(const RowStats* stats, int64_t r, int32_t k, float p) {
  return Logits && k == stats[r].dominant ? stats[r].rest : 1.0 - p;
}

__device__ __forceinline__ double adjusted(double p, double rest, double alpha) {
  return alpha == 0 ? p : p * pow(rest, alpha);
}

// The overlap losses' sums per cell: per-example loss, then (I, P, Y, U, V) (confusion_math.h).
constexpr int kOverlapCell = 1 + kOverlapSums;

// One cell's kOverlapCell terms given pt and rest = 1 - pt, as the CPU's add_overlap_cell.
__device__ __forceinline__ void overlap_cell_terms(const OverlapParams& op, double wi, double pt,
                                                   double rest, double y, double* out) {
  double t[kOverlapSums];
  overlap_parts(op, pt, rest, y, t);
  const bool each = op.per_example;
  out[0] = each ? wi * overlap_complement(op, t) : 0.0;
  for (int j = 0; j < kOverlapSums; ++j) out[1 + j] = each ? 0.0 : wi * t[j];
}

template <bool Logits>
struct OverlapCell {
  const float* x;
  const RowStats* stats;
  int32_t classes;
  OverlapParams op;
  __device__ void operator()(int64_t r, int32_t k, int32_t label, float wi, float* out) const {
    const float p = probability<Logits>(x, stats, r, classes, k);
    const double rest = cell_rest<Logits>(stats, r, k, p);
    const double pt = adjusted(p, rest, op.adjust);
    double t[kOverlapCell];
    overlap_cell_terms(op, wi, pt, op.adjust == 0 ? rest : 1 - pt, label == k ? 1.0 : 0.0, t);
    for (int j = 0; j < kOverlapCell; ++j) out[j] = static_cast<float>(t[j]);
  }
};

// Binary rows: partials[block] = the block's (per-example loss, I, P, Y, U, V).
template <bool Logits, bool Weighted, class L>
__global__ void __launch_bounds__(kThreads)
    overlap_binary_sums(const float* __restrict__ x, const L* __restrict__ y,
                        const float* __restrict__ w, int64_t n, OverlapParams op,
                        double* __restrict__ partials, unsigned long long* fault_row) {
  __shared__ double scratch[kOverlapCell * 32];
  double acc[kOverlapCell] = {};
  unsigned long long bad = kNoFault;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    const auto [xi, yi, wi] = binary_cell<Logits, Weighted>(x, y, w, i, bad);
    const Adjusted a = adjust_binary<Logits>(xi, op.adjust);
    double t[kOverlapCell];
    overlap_cell_terms(op, wi, a.pt, a.rest, yi, t);
    for (int j = 0; j < kOverlapCell; ++j) acc[j] += t[j];
  }
  finish_block(acc, scratch, bad, fault_row, partials);
}

// sums: the batch sums in the CPU's layout ([per-example loss][(I, P, Y) per class]).
template <bool Logits, bool Weighted, class L>
__global__ void __launch_bounds__(kThreads)
    overlap_binary_backward(const float* __restrict__ x, const L* __restrict__ y,
                            const float* __restrict__ w, int64_t n, OverlapParams op,
                            const double* __restrict__ sums, double scale, float* __restrict__ g) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += stride) {
    const float yi = static_cast<float>(y[i]);
    const double wi = weight_at<Weighted>(w, i);
    const Adjusted a = adjust_binary<Logits>(x[i], op.adjust);
    const OverlapTerm t = overlap_cell(op, sums + 1, a.pt, yi);
    g[i] = static_cast<float>(-scale * wi * t.dscore_dpt * a.slope);
  }
}

// Multi-class rows: G_k = d loss / d pt_k, then, for logits, the self-adjusted softmax backward
// of the CPU's adjusted_softmax_backward (b_m = G_m r_m^alpha (1 - (1 + alpha) p_m) p_m,
// g_j = b_j - p_j sum_{m != j} b_m / r_m with the dominant class's term taken as (p_j / r_d) b_d).
template <bool Logits, bool Weighted, class L>
struct OverlapBackwardRows {
  const float* x;
  const L* y;
  const float* w;
  int32_t classes;
  const RowStats* stats;
  const double* sums;
  OverlapParams op;
  double scale;
  float* grad;

  template <class Team>
  __device__ void operator()(const Team& t, int64_t r, bool active) const {
    const int32_t c = classes, label = static_cast<int32_t>(y[r]);
    const double wi = weight_at<Weighted>(w, r), alpha = op.adjust;
    float* g = grad + r * c;
    auto G = [&](int32_t k, float p, double rest) {
      const double pt = adjusted(p, rest, alpha);
      const double yk = k == label ? 1.0 : 0.0;
      double v = -scale * wi * overlap_cell(op, sums + 1 + kOverlapSums * k, pt, yk).dscore_dpt;
      if (!Logits && alpha != 0)  // d pt / d p = r^(alpha - 1) (1 - (1 + alpha) p)
        v *= pow(rest > 1e-7 ? rest : 1e-7, alpha - 1) * (1 - (1 + alpha) * p);
      return v;
    };
    if (!Logits) {
      if (!active) return;
      for (int32_t k = t.lane; k < c; k += t.width) {
        const float p = x[r * c + k];
        g[k] = static_cast<float>(G(k, p, 1.0 - p));
      }
      return;
    }
    const int32_t d = stats[r].dominant;
    const double rest_d = stats[r].rest;
    auto b = [&](int32_t k, float p, double rest) {
      return G(k, p, rest) * pow(rest, alpha) * (1 - (1 + alpha) * p) * p;
    };
    double others = 0, b_d = 0;  // sum over m != d of b_m / r_m, and b_d
    for (int32_t k = t.lane; k < c; k += t.width) {
      const float p = probability<true>(x, stats, r, c, k);
      const double rest = cell_rest<true>(stats, r, k, p), bk = b(k, p, rest);
      if (k == d)
        b_d = bk;
      else
        others += bk / rest;
    }
    others = t.sum(others);
    b_d = t.sum(b_d);
    if (!active) return;
    for (int32_t j = t.lane; j < c; j += t.width) {
      const float p = probability<true>(x, stats, r, c, j);
      const double rest = cell_rest<true>(stats, r, j, p), bj = b(j, p, rest);
      if (j == d) {
        g[j] = static_cast<float>(bj - p * others);
      } else {
        const double bd_term = rest_d > 0 ? (p / rest_d) * b_d : 0.0;
        g[j] = static_cast<float>(bj - p * (others - bj / (1.0 - p)) - bd_term);
      }
    }
  }
};

// Gradient of multi-class rows: u_k = w (k == label ? dpos_k : dneg_k) d yhat_k / d p_k, then
// the softmax backward p_k (u_k - sum_j p_j u_j) (logits) or u itself (probabilities).
template <bool Logits, bool Weighted, class L>
__global__ void __launch_bounds__(kThreads)
    multiclass_backward(const float* __restrict__ x, const L* __restrict__ y,
                        const float* __restrict__ w, int64_t rows, int32_t c, int width, float amp,
                        const RowStats* __restrict__ stats, const float* __restrict__ dpos,
                        const float* __restrict__ dneg, float* __restrict__ g) {
  const int tid = threadIdx.x, lane = tid % width;
  const int64_t per_block = kThreads / width;
  for (int64_t base = blockIdx.x * per_block; base < rows; base += gridDim.x * per_block) {
    const int64_t r = base + tid / width;
    const bool active = r < rows;
    const int32_t label = active ? static_cast<int32_t>(y[r]) : 0;
    const float wi = active ? weight_at<Weighted>(w, r) : 0.0f;
    auto u = [&](int32_t k, float p) {
      return amplify<false>(p, amp).slope * (wi * (k == label ? dpos[k] : dneg[k]));
    };
    double dot = 0;
    if (Logits && active)
      for (int32_t k = lane; k < c; k += width) {
        const float p = probability<true>(x, stats, r, c, k);
        dot += static_cast<double>(p) * u(k, p);
      }
    if (Logits) dot = group_sum(dot, width);
    if (!active) continue;
    const float d = static_cast<float>(dot);
    for (int32_t k = lane; k < c; k += width) {
      const float p = probability<Logits>(x, stats, r, c, k);
      g[r * c + k] = Logits ? p * (u(k, p) - d) : u(k, p);
    }
  }
}

// ---- host side ----

// The problem's arrays on the device.
struct DeviceProblem {
  const float* x = nullptr;
  const void* y = nullptr;
  const float* w = nullptr;
  RowStats* stats = nullptr;  // multi-class logits: per-row softmax statistics
};

template <class P>
using Pointee = std::remove_const_t<std::remove_pointer_t<P>>;

// Calls f(labels, logits, weighted) with the device labels as a typed pointer and the problem's
// two flags as std::true_type / std::false_type, so each launch names one kernel instance.
template <class F>
void with_types(const ConfusionProblem& pb, const DeviceProblem& d, F&& f) {
  with_labels(pb, [&](auto y) {
    const auto* dy = static_cast<const Pointee<decltype(y)>*>(d.y);
    with_flags([&](auto lg, auto wt) { f(dy, lg, wt); }, pb.input == Input::Logits,
               pb.weights != nullptr);
  });
}

size_t label_bytes(LabelType t) {
  return t == LabelType::Uint8 ? 1 : 4;
}

// The problem's arrays to the device and, for multi-class logits, each row's softmax statistics
// (with `careful`, the dominant class and its accurate 1 - p too).
Status upload_problem(Session& s, const ConfusionProblem& pb, DeviceProblem* d,
                      bool careful = false) {
  const size_t n = static_cast<size_t>(pb.rows) * pb.classes;
  float* x = nullptr;
  Status st = s.upload(Slot::Scores, pb.scores, n, &x);
  if (!st.ok()) return st;
  d->x = x;
  const size_t label_size = static_cast<size_t>(pb.rows) * label_bytes(pb.label_type);
  void* y = nullptr;
  st = s.buffer(Slot::Labels, label_size, &y);
  if (st.ok()) st = s.copy_in(y, pb.labels, label_size);
  if (!st.ok()) return st;
  d->y = y;
  if (pb.weights) {
    float* w = nullptr;
    st = s.upload(Slot::Weights, pb.weights, static_cast<size_t>(pb.rows), &w);
    if (!st.ok()) return st;
    d->w = w;
  }
  if (pb.classes > 1 && pb.input == Input::Logits) {
    st = s.buffer(Slot::Rows, static_cast<size_t>(pb.rows), &d->stats);
    if (st.ok())
      st = careful ? launch_rows(s, SoftmaxStatsRows<true>{d->x, pb.classes, d->stats}, pb.rows,
                                 pb.classes)
                   : launch_rows(s, SoftmaxStatsRows<false>{d->x, pb.classes, d->stats}, pb.rows,
                                 pb.classes);
    if (!st.ok()) return st;
  }
  s.mark(Phase::Uploaded);
  return Status{};
}

// The reduction buffers of a pass: per-block partial sums (`blocks` rows of `width` values), and
// a result area holding the first invalid row the kernel met, then the `width` totals.
struct DeviceSums {
  double* partials = nullptr;
  unsigned long long* fault_row = nullptr;
  double* totals = nullptr;
  int64_t blocks = 0;
  int width = 0;
};

Status sums_buffers(Session& s, int64_t blocks, int width, DeviceSums* out) {
  unsigned char* result = nullptr;
  Status st = s.buffer(Slot::Partials, static_cast<size_t>(blocks) * width, &out->partials);
  if (st.ok()) st = s.buffer(Slot::Result, 8 + static_cast<size_t>(width) * 8, &result);
  if (!st.ok()) return st;
  out->fault_row = reinterpret_cast<unsigned long long*>(result);
  out->totals = reinterpret_cast<double*>(result + 8);
  out->blocks = blocks;
  out->width = width;
  FL_CUDA_CHECK(cudaMemsetAsync(out->fault_row, 0xff, 8, s.stream()), "clearing the fault flag");
  return Status{};
}

// Sums the partials in a fixed order and brings the totals to the host; an invalid row the kernel
// met is named exactly by the host's check instead.
Status read_sums(Session& s, const ConfusionProblem& pb, const DeviceSums& d,
                 std::vector<double>* totals) {
  FL_LAUNCH(grid_for(d.width, kThreads), kThreads, 0, s.stream(), column_sums<double>)
  (d.partials, static_cast<int>(d.blocks), d.width, d.totals);
  FL_CUDA_LAUNCHED("column_sums");
  s.mark(Phase::Computed);
  std::vector<unsigned char> host(8 + static_cast<size_t>(d.width) * 8);
  Status st = s.copy_out(host.data(), d.fault_row, host.size());
  if (!st.ok()) return st;
  unsigned long long bad;
  std::memcpy(&bad, host.data(), 8);
  if (bad != kNoFault) {
    const int64_t row = static_cast<int64_t>(bad);
    st = confusion_find_fault(pb, row, row + 1);
    return st.ok() ? cuda_fault(cudaErrorUnknown, "the device flagged a row the host finds valid")
                   : st;
  }
  totals->resize(d.width);
  std::memcpy(totals->data(), host.data() + 8, totals->size() * 8);
  return Status{};
}

// A binary pass of `width` sums: launch(blocks, sums) runs the kernel over grid-stride blocks,
// then the totals come back to the host.
template <class Launch>
Status binary_sums(Session& s, const ConfusionProblem& pb, int width, std::vector<double>* totals,
                   Launch launch) {
  const int blocks = grid_for(pb.rows, kThreads);
  DeviceSums sums;
  Status st = sums_buffers(s, blocks, width, &sums);
  if (!st.ok()) return st;
  launch(blocks, sums);
  FL_CUDA_LAUNCHED("binary sums kernel");
  return read_sums(s, pb, sums, totals);
}

// A multi-class pass of per-class sums: class_tiles with the cell make_cell(logits flag) gives,
// in tiles of classes by chunks of rows (the chunk count bounded so the partials stay under 64
// MiB), then the N totals per class on the host.
template <int N, class MakeCell>
Status class_sums(Session& s, const ConfusionProblem& pb, const DeviceProblem& d,
                  MakeCell make_cell, std::vector<double>* totals) {
  const int32_t c = pb.classes;
  const int tile_x = row_group_width(c), tile_y = kThreads / tile_x;
  const int tiles = (c + tile_x - 1) / tile_x;
  const int64_t row_groups = (pb.rows + tile_y - 1) / tile_y;
  const int64_t by_memory = std::max<int64_t>(1, (int64_t{64} << 20) / (8 * N * int64_t{c}));
  const int64_t fill = (8 * int64_t{multiprocessors()} + tiles - 1) / tiles;
  const int64_t chunks = std::max<int64_t>(1, std::min({fill, row_groups, by_memory}));
  const int64_t chunk_rows = (pb.rows + chunks - 1) / chunks;
  DeviceSums sums;
  Status st = sums_buffers(s, chunks, N * c, &sums);
  if (!st.ok()) return st;
  with_types(pb, d, [&](auto dy, auto lg, auto wt) {
    const auto cell = make_cell(lg);
    const dim3 grid(static_cast<unsigned>(chunks), std::min(tiles, 65535));
    FL_LAUNCH(grid, dim3(tile_x, tile_y), 0, s.stream(),
              class_tiles<N, lg.value, wt.value, Pointee<decltype(dy)>, decltype(cell)>)
    (d.x, dy, d.w, pb.rows, c, cell, chunk_rows, sums.partials, sums.fault_row);
  });
  FL_CUDA_LAUNCHED("class_tiles");
  return read_sums(s, pb, sums, totals);
}

// Pass 1 on the device, the first invalid row (if any) named exactly by the host's check.
Status counts_on_device(Session& s, const ConfusionProblem& pb, const DeviceProblem& d, float amp,
                        Counts* counts) {
  const int32_t c = pb.classes;
  std::vector<double> v;
  Status st;
  if (c == 1) {
    st = binary_sums(s, pb, 4, &v, [&](int blocks, const DeviceSums& sums) {
      with_types(pb, d, [&](auto dy, auto lg, auto wt) {
        FL_LAUNCH(blocks, kThreads, 0, s.stream(),
                  binary_counts<lg.value, wt.value, Pointee<decltype(dy)>>)
        (d.x, dy, d.w, pb.rows, amp, sums.partials, sums.fault_row);
      });
    });
  } else {
    st = class_sums<4>(
        s, pb, d,
        [&](auto lg) {
          return CountsCell<decltype(lg)::value>{d.x, d.stats, c, amp};
        },
        &v);
  }
  if (!st.ok()) return st;
  // (TP, FN, FP, TN) per class: binary, one class; multi-class, class_sums' layout.
  for (int32_t k = 0; k < c; ++k)
    counts[k] = Counts{v[4 * k], v[4 * k + 1], v[4 * k + 2], v[4 * k + 3]};
  return Status{};
}

// Pass 2 on the device, then the gradient back to the host.
Status backward_on_device(Session& s, const ConfusionProblem& pb, const DeviceProblem& d, float amp,
                          const double* dpos, const double* dneg, float* grad) {
  const int32_t c = pb.classes;
  const size_t n = static_cast<size_t>(pb.rows) * c;
  float* g = nullptr;
  Status st = s.buffer(Slot::Grad, n, &g);
  if (!st.ok()) return st;
  float* constants = nullptr;
  if (c > 1) {
    std::vector<float> dc(2 * static_cast<size_t>(c));
    for (int32_t k = 0; k < c; ++k) {
      dc[k] = static_cast<float>(dpos[k]);
      dc[c + k] = static_cast<float>(dneg[k]);
    }
    st = s.upload(Slot::Constants, dc.data(), dc.size(), &constants);
    if (!st.ok()) return st;
  }
  const int width = row_group_width(c);
  with_types(pb, d, [&](auto dy, auto lg, auto wt) {
    using L = Pointee<decltype(dy)>;
    if (c == 1) {
      const float dp = static_cast<float>(dpos[0]), dn = static_cast<float>(dneg[0]);
      FL_LAUNCH(grid_for(pb.rows, kThreads), kThreads, 0, s.stream(),
                binary_backward<lg.value, wt.value, L>)
      (d.x, dy, d.w, pb.rows, amp, dp, dn, g);
    } else {
      FL_LAUNCH(grid_for(pb.rows, kThreads / width), kThreads, 0, s.stream(),
                multiclass_backward<lg.value, wt.value, L>)
      (d.x, dy, d.w, pb.rows, c, width, amp, d.stats, constants, constants + c, g);
    }
  });
  FL_CUDA_LAUNCHED("backward kernel");
  s.mark(Phase::Computed);
  st = s.copy_out(grad, g, n * sizeof(float));
  s.mark(Phase::Downloaded);
  return st;
}

// An element-wise binary loss on the device: the mean (or sum) of the weighted terms, and the
// gradient, as elementwise_typed computes them on the CPU.
template <class Cell>
Status elementwise_loss(const ConfusionProblem& pb, Cell cell, bool sum, double* loss,
                        float* grad) {
  *loss = 0;
  if (pb.rows == 0) return Status{};
  const double scale = sum ? 1.0 : 1.0 / static_cast<double>(pb.rows);
  Session s;
  DeviceProblem d;
  float* g = nullptr;
  DeviceSums sums;
  const int blocks = grid_for(pb.rows, kThreads);
  Status st = s.status();
  if (st.ok()) st = upload_problem(s, pb, &d);
  if (st.ok()) st = s.buffer(Slot::Grad, static_cast<size_t>(pb.rows), &g);
  if (st.ok()) st = sums_buffers(s, blocks, 1, &sums);
  if (!st.ok()) return st;
  with_types(pb, d, [&](auto dy, auto, auto wt) {  // the scores are logits
    FL_LAUNCH(blocks, kThreads, 0, s.stream(),
              elementwise_binary<wt.value, Cell, Pointee<decltype(dy)>>)
    (d.x, dy, d.w, pb.rows, cell, static_cast<float>(scale), g, sums.partials, sums.fault_row);
  });
  FL_CUDA_LAUNCHED("elementwise_binary");
  std::vector<double> total;
  st = read_sums(s, pb, sums, &total);
  if (st.ok()) st = s.copy_out(grad, g, static_cast<size_t>(pb.rows) * sizeof(float));
  s.mark(Phase::Downloaded);
  if (st.ok()) *loss = total[0] * scale;
  return st;
}

// Pass 1 of the overlap losses: the batch sums in the CPU's layout ([per-example loss][(I, P, Y,
// U, V) per class]).
Status overlap_sums_on_device(Session& s, const ConfusionProblem& pb, const DeviceProblem& d,
                              const OverlapParams& op, std::vector<double>* sums) {
  const int32_t c = pb.classes;
  if (c == 1)  // binary: already (loss, I, P, Y, U, V)
    return binary_sums(s, pb, kOverlapCell, sums, [&](int blocks, const DeviceSums& dsums) {
      with_types(pb, d, [&](auto dy, auto lg, auto wt) {
        FL_LAUNCH(blocks, kThreads, 0, s.stream(),
                  overlap_binary_sums<lg.value, wt.value, Pointee<decltype(dy)>>)
        (d.x, dy, d.w, pb.rows, op, dsums.partials, dsums.fault_row);
      });
    });
  std::vector<double> v;
  const Status st = class_sums<kOverlapCell>(
      s, pb, d,
      [&](auto lg) {
        return OverlapCell<decltype(lg)::value>{d.x, d.stats, c, op};
      },
      &v);
  if (!st.ok()) return st;
  sums->assign(1 + kOverlapSums * static_cast<size_t>(c), 0.0);
  for (int32_t k = 0; k < c; ++k) {
    (*sums)[0] += v[kOverlapCell * k];
    for (int j = 0; j < kOverlapSums; ++j)
      (*sums)[1 + kOverlapSums * k + j] = v[kOverlapCell * k + 1 + j];
  }
  return Status{};
}

}  // namespace

Status confusion_counts(const ConfusionProblem& pb, float amplifier, Counts* counts, float*) {
  if (pb.rows == 0) {
    std::fill(counts, counts + pb.classes, Counts{});
    return Status{};
  }
  Session s;
  DeviceProblem d;
  Status st = s.status();
  if (st.ok()) st = upload_problem(s, pb, &d);
  if (st.ok()) st = counts_on_device(s, pb, d, amplifier, counts);
  s.mark(Phase::Downloaded);
  return st;
}

Status confusion_backward(const ConfusionProblem& pb, float amplifier, const double* dpos,
                          const double* dneg, float* grad) {
  if (pb.rows == 0) return Status{};
  Session s;
  DeviceProblem d;
  Status st = s.status();
  if (st.ok()) st = upload_problem(s, pb, &d);
  if (st.ok()) st = backward_on_device(s, pb, d, amplifier, dpos, dneg, grad);
  return st;
}

Status anyloss(const ConfusionProblem& pb, float amplifier, Average avg, const MetricParams& mp,
               double* loss, float* grad) {
  std::vector<Counts> counts(pb.classes);
  std::vector<double> dpos(pb.classes), dneg(pb.classes);
  if (pb.rows == 0) {
    *loss = anyloss_constants(counts.data(), pb.classes, avg, mp, dpos.data(), dneg.data());
    return Status{};
  }
  Session s;
  DeviceProblem d;
  Status st = s.status();
  if (st.ok()) st = upload_problem(s, pb, &d);
  if (st.ok()) st = counts_on_device(s, pb, d, amplifier, counts.data());
  if (!st.ok()) return st;
  *loss = anyloss_constants(counts.data(), pb.classes, avg, mp, dpos.data(), dneg.data());
  return backward_on_device(s, pb, d, amplifier, dpos.data(), dneg.data(), grad);
}

Status overlap_loss(const ConfusionProblem& pb, const OverlapParams& op, double* loss,
                    float* grad) {
  const int32_t c = pb.classes;
  std::vector<double> sums(1 + kOverlapSums * static_cast<size_t>(c), 0.0);
  if (pb.rows == 0) {
    *loss = ::fl::overlap_loss(op, sums.data(), 0, c);
    return Status{};
  }
  Session s;
  DeviceProblem d;
  Status st = s.status();
  if (st.ok()) st = upload_problem(s, pb, &d, /*careful=*/true);
  if (st.ok()) st = overlap_sums_on_device(s, pb, d, op, &sums);
  if (!st.ok()) return st;
  *loss = ::fl::overlap_loss(op, sums.data(), pb.rows, c);
  const double scale = overlap_scale(op, pb.rows, c);
  double* dsums = nullptr;
  float* g = nullptr;
  st = s.upload(Slot::Constants, sums.data(), sums.size(), &dsums);
  if (st.ok()) st = s.buffer(Slot::Grad, static_cast<size_t>(pb.rows) * c, &g);
  if (!st.ok()) return st;
  with_types(pb, d, [&](auto dy, auto lg, auto wt) {
    using L = Pointee<decltype(dy)>;
    if (c == 1) {
      FL_LAUNCH(grid_for(pb.rows, kThreads), kThreads, 0, s.stream(),
                overlap_binary_backward<lg.value, wt.value, L>)
      (d.x, dy, d.w, pb.rows, op, dsums, scale, g);
    } else {
      using Op = OverlapBackwardRows<lg.value, wt.value, L>;
      st = launch_rows(s, Op{d.x, dy, d.w, c, d.stats, dsums, op, scale, g}, pb.rows, c);
    }
  });
  if (st.ok()) FL_CUDA_LAUNCHED("overlap backward");
  s.mark(Phase::Computed);
  if (st.ok()) st = s.copy_out(grad, g, static_cast<size_t>(pb.rows) * c * sizeof(float));
  s.mark(Phase::Downloaded);
  return st;
}

Status bce(const ConfusionProblem& pb, float pos_weight, bool sum, double* loss, float* grad) {
  return elementwise_loss(pb, BceCell{pos_weight}, sum, loss, grad);
}

Status sigmoid_focal(const ConfusionProblem& pb, float gamma, float alpha, bool sum, double* loss,
                     float* grad) {
  return elementwise_loss(pb, FocalCell{gamma, alpha}, sum, loss, grad);
}

}  // namespace FL_GPU_NS
}  // namespace fl
