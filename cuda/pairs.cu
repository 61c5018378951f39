// CUDA kernels of the pairwise family (formulas E), built as the CPU path is
// (binding/cpu/pairs.cc): each loss is reduction sweeps over recomputed S tiles (pair_tiles.cuh)
// filling per-row statistics, the row step of pairs_math.h on the host in row order (O(N) values
// each way), and a weight sweep turning each tile into G and accumulating G Fr (and G^T Fq).
// Batch-hard triplet runs its two-entry G through the same weight sweep; OPL needs only class sums
// (formulas E.6).
#include <algorithm>
#include <type_traits>
#include <vector>

#include "fusedloss/pair_given.h"
#include "fusedloss/pairs.h"
#include "fusedloss/pairs_math.h"
#include "pair_tiles.cuh"
#include "rows.cuh"
#include "runtime.cuh"

namespace fl {
namespace FL_GPU_NS {
namespace {

// ---- the reductions of sweep 1: a State per row, add per pair, merge across lanes ----
// T, where an op or weight has it, is the precision of S (kWideSim; the Sim of pair_tiles.cuh).

template <class T>
struct MsExtremes {  // Multi-Similarity's mining thresholds
  T min_positive = INFINITY, max_negative = -INFINITY;
  __device__ void merge(const MsExtremes& o) {
    min_positive = min_of(min_positive, o.min_positive);
    max_negative = max_of(max_negative, o.max_negative);
  }
};

template <class T>
struct MsExtremesOp {
  using State = MsExtremes<T>;
  using Sim = T;
  MsConstantsOf<T> c;
  __device__ void add(State& st, int64_t, int64_t, T s, PairKind k) const {
    if (ms_positive(s, k, c)) st.min_positive = min_of(st.min_positive, s);
    if (is_negative(k)) st.max_negative = max_of(st.max_negative, s);
  }
};

struct LsePair {
  Lse positive, negative;
  __device__ void merge(const LsePair& o) {
    positive.merge(o.positive);
    negative.merge(o.negative);
  }
};

// Multi-Similarity's mined LSEs. Lanes start empty; the host adds the implicit zero logit once.
template <class T>
struct MsLseOp {
  using State = LsePair;
  using Sim = T;
  MsConstantsOf<T> c;
  const MsRowOf<T>* rows;
  __device__ void add(State& st, int64_t i, int64_t, T s, PairKind k) const {
    if (ms_positive(s, k, c) && ms_positive_mined(s, rows[i].max_negative, c))
      st.positive.add(ms_positive_logit(s, c));
    if (is_negative(k) && ms_negative_mined(s, rows[i].min_positive, c))
      st.negative.add(ms_negative_logit(s, c));
  }
};

// pair_distance (pairs_math.h) of row i of a and row j of b: near pairs from the rows themselves.
__device__ float set_distance(float s, const DevSet& a, int64_t i, const DevSet& b, int64_t j) {
  return pair_distance(s, a.q[i], b.q[j], a.fn + i * a.ld, b.fn + j * b.ld, a.dim);
}

struct ContrastiveSums {
  double pos_sum = 0, neg_sum = 0;
  int64_t pos_count = 0, neg_count = 0;
  __device__ void merge(const ContrastiveSums& o) {
    pos_sum += o.pos_sum;
    neg_sum += o.neg_sum;
    pos_count += o.pos_count;
    neg_count += o.neg_count;
  }
};

struct ContrastiveOp {
  using State = ContrastiveSums;
  PairParams p;
  DevSet rows, cols;
  __device__ void add(State& st, int64_t i, int64_t j, float s, PairKind k) const {
    const float t = contrastive_term(set_distance(s, rows, i, cols, j), k, p);
    if (is_positive(k)) st.pos_sum += t, st.pos_count += t > 0.0f;
    if (is_negative(k)) st.neg_sum += t, st.neg_count += t > 0.0f;
  }
};

template <class T>
struct CircleOp {
  using State = LsePair;
  using Sim = T;
  T m, gamma;
  __device__ void add(State& st, int64_t, int64_t, T s, PairKind k) const {
    if (is_positive(k)) st.positive.add(circle_logit(s, k, m, gamma));
    if (is_negative(k)) st.negative.add(circle_logit(s, k, m, gamma));
  }
};

struct SupConSums {
  Lse all;  // over every a != i
  double pos_sum = 0;
  int64_t pos_count = 0;
  __device__ void merge(const SupConSums& o) {
    all.merge(o.all);
    pos_sum += o.pos_sum;
    pos_count += o.pos_count;
  }
};

template <class T>
struct SupConOp {
  using State = SupConSums;
  using Sim = T;
  T inv_tau;
  __device__ void add(State& st, int64_t, int64_t, T s, PairKind k) const {
    if (!k.self) st.all.add(s * inv_tau);
    if (is_positive(k)) st.pos_sum += s, ++st.pos_count;
  }
};

struct NegativeLse {  // NT-Xent, first sweep
  Lse negative;
  int64_t pos_count = 0;
  __device__ void merge(const NegativeLse& o) {
    negative.merge(o.negative);
    pos_count += o.pos_count;
  }
};

template <class T>
struct NtXentNegativesOp {
  using State = NegativeLse;
  using Sim = T;
  T inv_tau;
  __device__ void add(State& st, int64_t, int64_t, T s, PairKind k) const {
    if (is_negative(k)) st.negative.add(s * inv_tau);
    st.pos_count += is_positive(k);
  }
};

struct NtXentPairs {  // NT-Xent, second sweep: over the positive pairs
  double pull = 0, pair_loss = 0;
  __device__ void merge(const NtXentPairs& o) {
    pull += o.pull;
    pair_loss += o.pair_loss;
  }
};

template <class T>
struct NtXentPairsOp {
  using State = NtXentPairs;
  using Sim = T;
  T inv_tau;
  const NtXentRowOf<T>* rows;
  __device__ void add(State& st, int64_t i, int64_t, T s, PairKind k) const {
    if (!is_positive(k) || !(rows[i].lse_negative > -INFINITY)) return;
    const SigmoidSoftplus t =
        sigmoid_softplus(static_cast<float>(ntxent_pair_logit(rows[i], s, inv_tau)));
    st.pull += t.sigmoid;
    st.pair_loss += t.softplus;
  }
};

struct HardestOp {
  using State = Hardest;
  DevSet set;
  __device__ void add(State& st, int64_t i, int64_t j, float s, PairKind k) const {
    st.add(set_distance(s, set, i, set, j), j, k);
  }
};

// ---- the pair weights of sweep 2: g(query row, reference row, s, kind) = G ----

template <class T>
struct MsWeight {
  using Sim = T;
  MsConstantsOf<T> c;
  const MsRowOf<T>* rows;
  __device__ float operator()(int64_t i, int64_t, T s, PairKind k) const {
    return ms_weight(rows[i], s, k, c);
  }
};

struct ContrastiveWeight {
  PairParams p;
  DevSet set;
  float inv_pos, inv_neg;
  __device__ float operator()(int64_t i, int64_t j, float s, PairKind k) const {
    return contrastive_weight(set_distance(s, set, i, set, j), k, p, inv_pos, inv_neg);
  }
};

template <class T>
struct CircleWeight {
  using Sim = T;
  T m, gamma;
  const CircleRowOf<T>* rows;
  __device__ float operator()(int64_t i, int64_t, T s, PairKind k) const {
    return circle_weight(rows[i], s, k, m, gamma);
  }
};

template <class T>
struct SupConWeight {
  using Sim = T;
  T inv_tau;
  const SupConRowOf<T>* rows;
  __device__ float operator()(int64_t i, int64_t, T s, PairKind k) const {
    return supcon_weight(rows[i], s, k, inv_tau);
  }
};

template <class T>
struct NtXentWeight {
  using Sim = T;
  T inv_tau;
  const NtXentRowOf<T>* rows;
  __device__ float operator()(int64_t i, int64_t, T s, PairKind k) const {
    return ntxent_weight(rows[i], s, k, inv_tau);
  }
};

// Batch-hard triplet: G has an anchor's hardest positive and negative only, dL/dd * dd/dS.
struct TripletRow {
  int64_t pos, neg;
  float w_pos, w_neg;
};

struct TripletWeight {
  const TripletRow* rows;
  __device__ float operator()(int64_t i, int64_t j, float, PairKind) const {
    const TripletRow& r = rows[i];
    return (j == r.pos ? r.w_pos : 0.0f) + (j == r.neg ? r.w_neg : 0.0f);
  }
};

// ---- host side ----

// One set's device arrays: what the kernels read, and where its results go.
struct DeviceSet {
  DevSet d{};
  float* x = nullptr;    // the raw rows, then (after the normalisation) the gradient
  float* acc = nullptr;  // d loss / d fn, rows x ld
  double* row_sum = nullptr;
};

int64_t round_up(int64_t v, int64_t m) {
  return (v + m - 1) / m * m;
}

// Uploads n x dim rows and their labels, normalises them into padded copies; `bad` is set on the
// device when a row is not finite.
Status prepare_set(Session& s, const float* x, const int32_t* labels, int64_t n, int32_t dim,
                   bool normalize, Slot rows_slot, Slot labels_slot, Slot tiles_slot, int* bad,
                   DeviceSet* out) {
  DevSet& d = out->d;
  d.n = n;
  d.rows = round_up(n, kPairTile);
  d.dim = dim;
  d.ld = static_cast<int32_t>(round_up(dim, kSlice));
  const size_t cells = static_cast<size_t>(d.rows) * d.ld;
  int32_t* dev_labels = nullptr;
  unsigned char* tiles = nullptr;
  Status st = s.upload(rows_slot, x, static_cast<size_t>(n) * dim, &out->x);
  if (st.ok()) st = s.upload(labels_slot, labels, static_cast<size_t>(n), &dev_labels);
  const size_t bytes =
      d.rows * sizeof(double) + 2 * cells * sizeof(float) + 2 * d.rows * sizeof(float);
  if (st.ok()) st = s.buffer(tiles_slot, bytes, &tiles);
  if (!st.ok()) return st;
  // Carved in order of alignment: every part is a multiple of kPairTile entries.
  out->row_sum = reinterpret_cast<double*>(tiles);
  float* fn = reinterpret_cast<float*>(tiles + d.rows * sizeof(double));
  out->acc = fn + cells;
  float* q = out->acc + cells;
  float* scale = q + d.rows;
  FL_CUDA_CHECK(cudaMemsetAsync(fn, 0, 2 * cells * sizeof(float), s.stream()),
                "clearing the tile buffers");
  d.fn = fn;
  d.q = q;
  d.scale = scale;
  d.labels = dev_labels;
  return launch_rows(s, NormaliseRows{out->x, dim, d.ld, normalize, fn, q, scale, bad}, n, dim);
}

// The tensor-core products for a precision (PairPrecision): FP32 as 3xTF32. Kernels built for
// devices before sm_80 take the FMAs whatever this says (FL_HAS_TF32_WMMA).
TileMath tile_math(PairPrecision p) {
  return p == PairPrecision::Bf16   ? TileMath::Bf16
         : p == PairPrecision::Tf32 ? TileMath::Tf32
                                    : TileMath::Tf32x3;
}

// One call on the device: the query set and, cross-batch, the reference set.
struct Call {
  Session& s;
  const PairParams& p;
  DeviceSet q, r;
  bool cross;
  float* row_loss;  // per-anchor losses (PairProblem::row_loss), host memory
  TileMath math;    // how the sweeps over float tiles form their products (tile_math)
  const DevSet& ref() const { return cross ? r.d : q.d; }
};

// f(std::integral_constant<TileMath, M>) with the M of a sweep over tiles of T: the FMAs for
// double tiles (kWideSim), `math` (a tile_math) for float ones. Each M is its own kernel, so each
// holds only the registers its own path needs.
template <class T, class F>
Status with_math(TileMath math, F&& f) {
  if constexpr (kWideSim<T>) {
    return f(std::integral_constant<TileMath, TileMath::Fma>{});
  } else {
    switch (math) {
      case TileMath::Bf16:
        return f(std::integral_constant<TileMath, TileMath::Bf16>{});
      case TileMath::Tf32:
        return f(std::integral_constant<TileMath, TileMath::Tf32>{});
      default:
        return f(std::integral_constant<TileMath, TileMath::Tf32x3>{});
    }
  }
}

// The grid of a sweep of a's row tiles against `spans` spans of column tiles.
dim3 sweep_grid(const DevSet& a, int64_t spans) {
  return dim3(static_cast<unsigned>(a.rows / kPairTile), static_cast<unsigned>(spans));
}

// Sweep 1 with op over the queries against the reference; the States back on the host.
template <class Op>
Status reduce(Call& c, const Op& op, std::vector<typename Op::State>* out) {
  using State = typename Op::State;
  const int64_t n = c.q.d.n, spans = column_spans(c.q.d.rows, c.ref().rows);
  State* dev = nullptr;
  Status st = c.s.buffer(Slot::Rows, static_cast<size_t>(spans * n), &dev);
  if (!st.ok()) return st;
  st = with_math<typename SimOf<Op>::type>(c.math, [&](auto m) {
    FL_LAUNCH(sweep_grid(c.q.d, spans), kPairThreads, 0, c.s.stream(),
              reduce_sweep<Op, decltype(m)::value>)
    (op, c.q.d, c.ref(), !c.cross, spans, dev);
    FL_CUDA_LAUNCHED("reduce_sweep");
    return Status{};
  });
  if (!st.ok()) return st;
  if (spans > 1) {
    FL_LAUNCH(grid_for(n, kPairThreads), kPairThreads, 0, c.s.stream(), merge_spans<State>)
    (dev, n, spans);
    FL_CUDA_LAUNCHED("merge_spans");
  }
  out->resize(static_cast<size_t>(c.q.d.n));
  return c.s.copy_out(out->data(), dev, out->size() * sizeof(State));
}

// Per-row statistics to the device, for the kernels that follow.
template <class T>
Status upload_rows(Call& c, const std::vector<T>& rows, T** dev) {
  return c.s.upload(Slot::Constants, rows.data(), rows.size(), dev);
}

// One weight sweep of a's rows against b into a's acc (and row sums): with one column span
// directly, with several into per-span partials summed in span order.
template <class G>
Status weigh_set(Session& s, const G& g, const DeviceSet& a, const DevSet& b, bool forward,
                 bool transposed, bool distance, TileMath math) {
  const int64_t spans = column_spans(a.d.rows, b.rows);
  const size_t cells = static_cast<size_t>(a.d.rows) * a.d.ld;
  float* acc = a.acc;
  double* row_sum = distance ? a.row_sum : nullptr;
  if (spans > 1) {
    Status st = s.buffer(Slot::Partials, spans * cells, &acc);
    if (st.ok() && distance) st = s.buffer(Slot::Grad, spans * a.d.rows, &row_sum);
    if (!st.ok()) return st;
    FL_CUDA_CHECK(cudaMemsetAsync(acc, 0, spans * cells * sizeof(float), s.stream()),
                  "clearing the gradient partials");
  }
  const Status st = with_math<typename SimOf<G>::type>(math, [&](auto m) {
    FL_LAUNCH(sweep_grid(a.d, spans), kPairThreads, 0, s.stream(),
              weight_sweep<G, decltype(m)::value>)
    (g, a.d, b, forward, transposed, spans, acc, row_sum);
    FL_CUDA_LAUNCHED("weight_sweep");
    return Status{};
  });
  if (!st.ok()) return st;
  if (spans == 1) return Status{};
  const int64_t n = static_cast<int64_t>(cells);
  FL_LAUNCH(grid_for(n, kPairThreads), kPairThreads, 0, s.stream(), sum_spans<float>)
  (acc, n, spans, a.acc);
  FL_CUDA_LAUNCHED("sum_spans");
  if (!distance) return Status{};
  FL_LAUNCH(grid_for(a.d.rows, kPairThreads), kPairThreads, 0, s.stream(), sum_spans<double>)
  (row_sum, a.d.rows, spans, a.row_sum);
  FL_CUDA_LAUNCHED("sum_spans");
  return Status{};
}

// Sweep 2: the queries' d loss / d fn (G + G^T Fq for one set, G Fr across two), then the
// reference's (G^T Fq). Distance losses also get each row's weight sum.
template <class G>
Status weigh(Call& c, const G& g, bool distance) {
  const Status st = weigh_set(c.s, g, c.q, c.ref(), true, !c.cross, distance, c.math);
  if (!st.ok() || !c.cross) return st;
  return weigh_set(c.s, g, c.r, c.q.d, false, true, distance, c.math);
}

// ---- the losses: sweeps, row steps, weights ----

template <class T>
Status multi_similarity(Call& c, double* loss) {
  const MsConstantsOf<T> mc = ms_constants<T>(c.p);
  const int64_t n = c.q.d.n;
  std::vector<MsExtremes<T>> ext;
  Status st = reduce(c, MsExtremesOp<T>{mc}, &ext);
  if (!st.ok()) return st;
  std::vector<MsRowOf<T>> rows(n);
  for (int64_t i = 0; i < n; ++i)
    rows[i] = MsRowOf<T>{ext[i].min_positive, ext[i].max_negative, 0, 0, 0, 0};
  MsRowOf<T>* dev_rows = nullptr;
  std::vector<LsePair> lse;
  st = upload_rows(c, rows, &dev_rows);
  if (st.ok()) st = reduce(c, MsLseOp<T>{mc, dev_rows}, &lse);
  if (!st.ok()) return st;
  const int64_t count = mean_count(c.row_loss, n);
  const float inv_n = 1.0f / static_cast<float>(count);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    Lse pos = Lse::with_zero(), neg = Lse::with_zero();
    pos.merge(lse[i].positive);
    neg.merge(lse[i].negative);
    const double term = ms_row(pos, neg, c.p, inv_n, rows[i]);
    store_row_loss(c.row_loss, i, term);
    total += term;
  }
  st = upload_rows(c, rows, &dev_rows);
  if (st.ok()) st = weigh(c, MsWeight<T>{mc, dev_rows}, false);
  *loss = total / static_cast<double>(count);
  return st;
}

Status contrastive(Call& c, double* loss) {
  std::vector<ContrastiveSums> sums;
  Status st = reduce(c, ContrastiveOp{c.p, c.q.d, c.ref()}, &sums);
  if (!st.ok()) return st;
  int64_t np = 0, nn = 0;
  for (const ContrastiveSums& r : sums) np += r.pos_count, nn += r.neg_count;
  const double inv_pos = inverse_count(mean_count(c.row_loss, np));
  const double inv_neg = inverse_count(mean_count(c.row_loss, nn));
  double total = 0;
  for (size_t i = 0; i < sums.size(); ++i) {
    const double term = sums[i].pos_sum * inv_pos + sums[i].neg_sum * inv_neg;
    store_row_loss(c.row_loss, static_cast<int64_t>(i), term);
    total += term;
  }
  *loss = total;
  return weigh(
      c, ContrastiveWeight{c.p, c.q.d, static_cast<float>(inv_pos), static_cast<float>(inv_neg)},
      true);
}

template <class T>
Status circle(Call& c, double* loss) {
  const T m = static_cast<T>(c.p.m), gamma = static_cast<T>(c.p.gamma);
  std::vector<LsePair> lse;
  Status st = reduce(c, CircleOp<T>{m, gamma}, &lse);
  if (!st.ok()) return st;
  const int64_t n = c.q.d.n;
  int64_t active = 0;
  for (const LsePair& r : lse) active += circle_active(r.positive, r.negative);
  active = mean_count(c.row_loss, active);
  std::vector<CircleRowOf<T>> rows(n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term = circle_row(lse[i].positive, lse[i].negative, active, rows[i]);
    store_row_loss(c.row_loss, i, term);
    total += term;
  }
  *loss = active ? total / active : 0.0;
  CircleRowOf<T>* dev_rows = nullptr;
  st = upload_rows(c, rows, &dev_rows);
  return st.ok() ? weigh(c, CircleWeight<T>{m, gamma, dev_rows}, false) : st;
}

template <class T>
Status supcon(Call& c, double* loss) {
  const T inv_tau = static_cast<T>(1.0 / c.p.temperature);
  std::vector<SupConSums> sums;
  Status st = reduce(c, SupConOp<T>{inv_tau}, &sums);
  if (!st.ok()) return st;
  const int64_t n = c.q.d.n;
  int64_t active = 0;
  for (const SupConSums& r : sums) active += r.pos_count > 0;
  active = mean_count(c.row_loss, supcon_count(c.p, active, n));
  std::vector<SupConRowOf<T>> rows(n);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double term =
        supcon_row(sums[i].all, sums[i].pos_sum, sums[i].pos_count, active, c.p, rows[i]);
    store_row_loss(c.row_loss, i, term);
    total += term;
  }
  *loss = active ? total / active : 0.0;
  SupConRowOf<T>* dev_rows = nullptr;
  st = upload_rows(c, rows, &dev_rows);
  return st.ok() ? weigh(c, SupConWeight<T>{inv_tau, dev_rows}, false) : st;
}

template <class T>
Status ntxent(Call& c, double* loss) {
  const T inv_tau = static_cast<T>(1.0 / c.p.temperature);
  std::vector<NegativeLse> neg;
  Status st = reduce(c, NtXentNegativesOp<T>{inv_tau}, &neg);
  if (!st.ok()) return st;
  const int64_t n = c.q.d.n;
  std::vector<NtXentRowOf<T>> rows(n);
  int64_t pairs = 0;
  for (int64_t i = 0; i < n; ++i) {
    rows[i] = NtXentRowOf<T>{row_lse<T>(neg[i].negative), 0, 0};
    pairs += neg[i].pos_count;
  }
  NtXentRowOf<T>* dev_rows = nullptr;
  std::vector<NtXentPairs> pair_sums;
  st = upload_rows(c, rows, &dev_rows);
  if (st.ok()) st = reduce(c, NtXentPairsOp<T>{inv_tau, dev_rows}, &pair_sums);
  if (!st.ok()) return st;
  pairs = mean_count(c.row_loss, pairs);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    store_row_loss(c.row_loss, i, pair_sums[i].pair_loss);
    total += pair_sums[i].pair_loss;
    rows[i].pull = static_cast<float>(pair_sums[i].pull);
    rows[i].coef = ntxent_coef(c.p, pairs);
  }
  *loss = pairs ? total / pairs : 0.0;
  st = upload_rows(c, rows, &dev_rows);
  return st.ok() ? weigh(c, NtXentWeight<T>{inv_tau, dev_rows}, false) : st;
}

Status triplet_batch_hard(Call& c, double* loss) {
  std::vector<Hardest> hard;
  Status st = reduce(c, HardestOp{c.q.d}, &hard);
  if (!st.ok()) return st;
  const int64_t n = c.q.d.n;
  std::vector<double> slope(n);
  int64_t active = 0;
  double total = 0;
  for (int64_t a = 0; a < n; ++a) {
    double l = 0;
    const bool counted = triplet_anchor(hard[a], c.p, &l, &slope[a]);
    store_row_loss(c.row_loss, a, l);
    if (!counted) continue;
    total += l;
    ++active;
  }
  active = active ? mean_count(c.row_loss, active) : 0;
  // dL/dd+ = slope / active, dL/dd- = -slope / active; dd/dS = -1/d (0 for coincident rows).
  auto weight = [&](double dl, float d) {
    return d > 0.0f ? static_cast<float>(-dl / active / d) : 0.0f;
  };
  std::vector<TripletRow> rows(n);
  for (int64_t a = 0; a < n; ++a)
    rows[a] = slope[a] == 0 ? TripletRow{-1, -1, 0, 0}
                            : TripletRow{hard[a].pos, hard[a].neg, weight(slope[a], hard[a].pos_d),
                                         weight(-slope[a], hard[a].neg_d)};
  *loss = active ? total / active : 0.0;
  TripletRow* dev_rows = nullptr;
  st = upload_rows(c, rows, &dev_rows);
  return st.ok() ? weigh(c, TripletWeight{dev_rows}, true) : st;
}

// ---- orthogonal projection loss: class sums, no pair sweep ----

// class_sum[c * ld + d] = sum of fn over class c's rows (in row order), one thread per (c, d).
__global__ void class_sums(DevSet t, const int64_t* order, const int64_t* offsets, int64_t classes,
                           double* class_sum) {
  const int64_t cells = classes * t.dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < cells;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t c = e / t.dim, d = e % t.dim;
    double s = 0;
    for (int64_t k = offsets[c]; k < offsets[c + 1]; ++k) s += t.fn[order[k] * t.ld + d];
    class_sum[c * t.ld + d] = s;
  }
}

// Per coordinate d: the batch sum m_d, sum_i fn_id^2 and sum_c m_cd^2, one thread per d.
struct OplColumn {
  double total, self, class_sq;
};

__global__ void opl_columns(DevSet t, const double* class_sum, int64_t classes, OplColumn* out) {
  for (int32_t d = blockIdx.x * blockDim.x + threadIdx.x; d < t.dim; d += gridDim.x * blockDim.x) {
    OplColumn col{0, 0, 0};
    for (int64_t i = 0; i < t.n; ++i) {
      const double v = t.fn[i * t.ld + d];
      col.total += v;
      col.self += v * v;
    }
    for (int64_t c = 0; c < classes; ++c)
      col.class_sq += class_sum[c * t.ld + d] * class_sum[c * t.ld + d];
    out[d] = col;
  }
}

__global__ void opl_gradient(DevSet t, const int64_t* group, const double* class_sum,
                             const OplColumn* cols, OplScales k, double gamma, float* acc) {
  const int64_t cells = t.n * t.dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < cells;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e / t.dim, d = e % t.dim;
    acc[i * t.ld + d] = static_cast<float>(
        opl_grad(class_sum[group[i] * t.ld + d], cols[d].total, t.fn[i * t.ld + d], k, gamma));
  }
}

Status orthogonal_projection(Call& c, const int32_t* labels, double* loss) {
  const DevSet& t = c.q.d;
  const LabelGroups g = label_groups(labels, t.n);
  const int64_t classes = static_cast<int64_t>(g.sizes.size());
  // order, group and the class offsets, in one upload
  std::vector<int64_t> index(g.order);
  index.insert(index.end(), g.group.begin(), g.group.end());
  index.push_back(0);
  for (int64_t size : g.sizes) index.push_back(index.back() + size);
  int64_t* dev_index = nullptr;
  double* class_sum = nullptr;
  OplColumn* cols = nullptr;
  Status st = c.s.upload(Slot::Constants, index.data(), index.size(), &dev_index);
  if (st.ok()) st = c.s.buffer(Slot::Partials, static_cast<size_t>(classes) * t.ld, &class_sum);
  if (st.ok()) st = c.s.buffer(Slot::Rows, static_cast<size_t>(t.dim), &cols);
  if (!st.ok()) return st;
  const int64_t *order = dev_index, *group = dev_index + t.n, *offsets = dev_index + 2 * t.n;
  FL_LAUNCH(grid_for(classes * t.dim, kPairThreads), kPairThreads, 0, c.s.stream(), class_sums)
  (t, order, offsets, classes, class_sum);
  FL_CUDA_LAUNCHED("class_sums");
  FL_LAUNCH(grid_for(t.dim, kPairThreads), kPairThreads, 0, c.s.stream(), opl_columns)
  (t, class_sum, classes, cols);
  FL_CUDA_LAUNCHED("opl_columns");
  std::vector<OplColumn> host(t.dim);
  st = c.s.copy_out(host.data(), cols, host.size() * sizeof(OplColumn));
  if (!st.ok()) return st;
  OplSums sums = opl_counts(g);
  for (const OplColumn& col : host) {
    sums.self += col.self;
    sums.class_sq += col.class_sq;
    sums.total_sq += col.total * col.total;
  }
  const OplScales k = opl_scales(sums, t.n);
  *loss = opl_loss(sums, k, c.p.gamma);
  FL_LAUNCH(grid_for(t.n * t.dim, kPairThreads), kPairThreads, 0, c.s.stream(), opl_gradient)
  (t, group, class_sum, cols, k, c.p.gamma, c.q.acc);
  FL_CUDA_LAUNCHED("opl_gradient");
  return Status{};
}

// ---- given pairs (formulas E.8): their S and d here, the loss and weights on the host
// (pair_given.h, O(K) values each way), each row's gradient over its pairs in incidence order ----

// S (in double) and d of each given pair (ends[k], ends[pairs + k]), one thread per pair.
__global__ void given_similarities(DevSet t, const int32_t* ends, int64_t pairs, double* s,
                                   float* d) {
  for (int64_t k = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; k < pairs;
       k += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int32_t i = ends[k], j = ends[pairs + k];
    const float *fi = t.fn + static_cast<int64_t>(i) * t.ld,
                *fj = t.fn + static_cast<int64_t>(j) * t.ld;
    double dot = 0;
    for (int32_t c = 0; c < t.dim; ++c) dot += static_cast<double>(fi[c]) * fj[c];
    s[k] = dot;
    d[k] = pair_distance(static_cast<float>(dot), t.q[i], t.q[j], fi, fj, t.dim);
  }
}

// d loss / d fn of each row from its pairs, in incidence order: one thread per (row, column).
__global__ void given_gradient(DevSet t, const int64_t* offsets, const int64_t* pair,
                               const int32_t* other, const float* w, float delta, float* acc) {
  const int64_t cells = t.n * t.dim;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < cells;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / t.dim, c = e % t.dim;
    const float fr = t.fn[r * t.ld + c];
    float sum = 0;
    for (int64_t x = offsets[r]; x < offsets[r + 1]; ++x) {
      const float wk = w[pair[x]];
      if (wk != 0.0f) sum += wk * (t.fn[other[x] * t.ld + c] - delta * fr);
    }
    acc[r * t.ld + c] = sum;
  }
}

Status given_pairs(Call& c, const GivenPairs& g, double* loss) {
  const DevSet& t = c.q.d;
  const int64_t pairs = g.size();
  std::vector<double> s(pairs);
  std::vector<float> d(pairs), w;
  if (pairs > 0) {
    std::vector<int32_t> ends(2 * pairs);
    for (int64_t k = 0; k < pairs; ++k) ends[k] = g.row(k), ends[pairs + k] = g.col(k);
    int32_t* dev_ends = nullptr;
    double* dev_s = nullptr;
    float* dev_d = nullptr;
    Status st = c.s.upload(Slot::Offsets, ends.data(), ends.size(), &dev_ends);
    if (st.ok()) st = c.s.buffer(Slot::Partials, static_cast<size_t>(pairs), &dev_s);
    if (st.ok()) st = c.s.buffer(Slot::Weights, static_cast<size_t>(pairs), &dev_d);
    if (!st.ok()) return st;
    FL_LAUNCH(grid_for(pairs, kPairThreads), kPairThreads, 0, c.s.stream(), given_similarities)
    (t, dev_ends, pairs, dev_s, dev_d);
    FL_CUDA_LAUNCHED("given_similarities");
    st = c.s.copy_out(s.data(), dev_s, s.size() * sizeof(double));
    if (st.ok()) st = c.s.copy_out(d.data(), dev_d, d.size() * sizeof(float));
    if (!st.ok()) return st;
  }
  *loss = given_pair_loss(g, t.n, c.p, s.data(), d.data(), c.row_loss, w);
  if (pairs == 0) return Status{};  // acc was cleared: a zero gradient
  const PairIncidence inc = pair_incidence(g, t.n);
  float* dev_w = nullptr;
  int64_t *dev_offsets = nullptr, *dev_pair = nullptr;
  int32_t* dev_other = nullptr;
  Status st = c.s.upload(Slot::Grad, w.data(), w.size(), &dev_w);
  if (st.ok())
    st = c.s.upload(Slot::Constants, inc.offsets.data(), inc.offsets.size(), &dev_offsets);
  if (st.ok()) st = c.s.upload(Slot::ListIds, inc.pair.data(), inc.pair.size(), &dev_pair);
  if (st.ok()) st = c.s.upload(Slot::Scratch, inc.other.data(), inc.other.size(), &dev_other);
  if (!st.ok()) return st;
  const float delta = given_distance(c.p) ? 1.0f : 0.0f;
  FL_LAUNCH(grid_for(t.n * t.dim, kPairThreads), kPairThreads, 0, c.s.stream(), given_gradient)
  (t, dev_offsets, dev_pair, dev_other, dev_w, delta, c.q.acc);
  FL_CUDA_LAUNCHED("given_gradient");
  return Status{};
}

// The losses whose logits scale S take it in double for unnormalised rows at FP32 (kWideSim).
template <class T>
Status run_loss(Call& c, const PairProblem& pb, double* loss) {
  switch (c.p.loss) {
    case PairLoss::MultiSimilarity:
      return multi_similarity<T>(c, loss);
    case PairLoss::Contrastive:
      return contrastive(c, loss);
    case PairLoss::TripletBatchHard:
      return triplet_batch_hard(c, loss);
    case PairLoss::Circle:
      return circle<T>(c, loss);
    case PairLoss::SupCon:
      return supcon<T>(c, loss);
    case PairLoss::NtXent:
      return ntxent<T>(c, loss);
    default:
      return orthogonal_projection(c, pb.labels, loss);
  }
}

// d loss / d raw rows of one set into its x buffer; the distance losses' norm term (row_sum fn)
// joins here.
Status set_gradient(Session& s, const DeviceSet& set, bool normalize, bool distance) {
  const DevSet& d = set.d;
  return launch_rows(s,
                     BackwardRows{set.acc, distance ? set.row_sum : nullptr, d.fn, d.scale, d.dim,
                                  d.ld, normalize, set.x},
                     d.n, d.dim);
}

}  // namespace

Status pair_loss(const PairProblem& pb, const PairParams& p, double* loss, float* grad,
                 float* ref_grad) {
  *loss = 0;
  const bool cross = pb.ref != nullptr;
  if (pb.row_loss) std::fill(pb.row_loss, pb.row_loss + pb.n, 0.0f);
  if (pb.n == 0 || (cross && pb.m == 0)) {
    const Status st = pair_input_fault(pb);
    if (!st.ok()) return st;
    std::fill(grad, grad + pb.n * pb.dim, 0.0f);
    if (cross) std::fill(ref_grad, ref_grad + pb.m * pb.dim, 0.0f);
    return Status{};
  }
  Session s;
  // Unnormalised rows at FP32 take S in double on the CUDA cores (kWideSim); TF32 and BF16 round
  // S far more than float does, so they keep it in float.
  const bool wide = !pb.normalize && p.precision == PairPrecision::Fp32;
  Call c{s, p, {}, {}, cross, pb.row_loss, tile_math(p.precision)};
  int* bad = nullptr;
  Status st = s.status();
  if (st.ok()) st = s.buffer(Slot::Result, 1, &bad);
  if (!st.ok()) return st;
  FL_CUDA_CHECK(cudaMemsetAsync(bad, 0, sizeof(int), s.stream()), "clearing the fault flag");
  st = prepare_set(s, pb.x, pb.labels, pb.n, pb.dim, pb.normalize, Slot::Scores, Slot::Labels,
                   Slot::Tiles, bad, &c.q);
  if (st.ok() && cross)
    st = prepare_set(s, pb.ref, pb.ref_labels, pb.m, pb.dim, pb.normalize, Slot::Reference,
                     Slot::ReferenceLabels, Slot::ReferenceTiles, bad, &c.r);
  int flagged = 0;
  if (st.ok()) st = s.copy_out(&flagged, bad, sizeof flagged);
  if (!st.ok()) return st;
  if (flagged) {
    st = pair_input_fault(pb);
    return st.ok()
               ? cuda_fault(cudaErrorUnknown, "the device flagged an input the host finds valid")
               : st;
  }
  s.mark(Phase::Uploaded);
  double l = 0;
  if (pb.given)
    st = given_pairs(c, *pb.given, &l);
  else
    st = wide ? run_loss<double>(c, pb, &l) : run_loss<float>(c, pb, &l);
  // The given pairs' weights hold the distances' norm term (pair_given.h).
  const bool distance = !pb.given && given_distance(p);
  if (st.ok()) st = set_gradient(s, c.q, pb.normalize, distance);
  if (st.ok() && cross) st = set_gradient(s, c.r, pb.normalize, distance);
  s.mark(Phase::Computed);
  if (st.ok()) st = s.copy_out(grad, c.q.x, static_cast<size_t>(pb.n) * pb.dim * sizeof(float));
  if (st.ok() && cross)
    st = s.copy_out(ref_grad, c.r.x, static_cast<size_t>(pb.m) * pb.dim * sizeof(float));
  s.mark(Phase::Downloaded);
  if (st.ok()) *loss = l;
  return st;
}

}  // namespace FL_GPU_NS
}  // namespace fl
