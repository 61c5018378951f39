// Vectorisable sweeps of the listwise losses (see ranking_sweeps.h). The log-domain values (R, A,
// Lambda) are doubles: differences of scores at |s| ~ 1e4 would lose float's ulp (1e-3) in the
// gradient. Each exponential takes a non-positive difference, cast to float only after the
// subtraction; each log takes a sum in [1, n].
#include "ranking_sweeps.h"

#include <algorithm>
#include <cmath>

#include "fusedloss/math.h"
#include "rows.h"
#include "simd.h"
#include "wide.h"

namespace fl::ranking {

namespace {

typedef int32_t Lanes __attribute__((vector_size(32)));
// Lanes of the concatenation (a, b) by constant index: GCC's __builtin_shuffle, clang's
// (Emscripten, macOS) __builtin_shufflevector.
#if defined(__clang__)
#define FL_SHUFFLE(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define FL_SHUFFLE(a, b, ...) __builtin_shuffle(a, b, Lanes{__VA_ARGS__})
#endif
static_assert(sizeof(Vec8) == kLanes * sizeof(float), "a block is one Vec8");

// The largest of hi(v_i) and of lo(v_i) over v[0, n): whole blocks as vectors (GCC does not
// vectorise these folds by itself), then the tail; -inf for n = 0. hi and lo map a Vec8 in place
// (vectors go by reference: passing them by value changes the ABI between the clones).
template <class Hi, class Lo>
FL_INLINE void fold_max(const float* v, int32_t n, Hi hi, Lo lo, float& top, float& low) {
  Vec8 h = Vec8{} - INFINITY, l = h;
  const auto take = [&](const Vec8& x) FL_LAMBDA_INLINE {
    Vec8 a = x, b = x;
    hi(a);
    lo(b);
    h = a > h ? a : h;
    l = b > l ? b : l;
  };
  int32_t i = 0;
  for (Vec8 x; i + kLanes <= n; i += kLanes) {
    load_vec(x, v + i);
    take(x);
  }
  for (; i < n; ++i) take(Vec8{} + v[i]);
  top = h[0];
  low = l[0];
  for (int j = 1; j < kLanes; ++j) {
    top = h[j] > top ? h[j] : top;
    low = l[j] > low ? l[j] : low;
  }
}

}  // namespace

FL_ISA_BODY bool list_valid_body(const float* __restrict r, const float* __restrict s, int32_t n,
                                 float top) {
  const Vec8 hi = Vec8{} + top, pad = Vec8{} - 1.0f, big = Vec8{} + FLT_MAX;
  Lanes bad = {};
  int32_t i = 0;
  for (Vec8 x, y; i + kLanes <= n; i += kLanes) {
    load_vec(x, r + i);
    load_vec(y, s + i);
    const Lanes padded = x == pad;
    const Lanes finite = (y <= big) & (y >= -big);  // false for NaN
    bad |= ~(((x >= 0.0f) & (x <= hi)) | padded) | ~(padded | finite);
  }
  int32_t tail = 0;
  for (; i < n; ++i)
    tail |= !relevance_valid(r[i], top) | !(is_padding(r[i]) | (std::fabs(s[i]) <= FLT_MAX));
  for (int j = 0; j < kLanes; ++j) tail |= bad[j];
  return tail == 0;
}

namespace {

// Relevance that is a permutation of 0, ..., n - 1 (full ranks, ListMLE's usual label) needs no
// counting: item i goes straight to position k_i = n - 1 - r_i. It is one iff no item is padding
// (-1, which would land at n, in the buffers' slack) and no two items share a position, which
// reading each item's slot back shows: the item found there must be itself. The positions are
// computed first, in a vector pass into sc.p (free until RankList fills it after the gather), so
// the scattering stores never wait on a conversion, and the check reads scalar stores back as
// scalars (vector reads of fresh scalar stores stalled until those left the store queue: the
// check took a third of the placement). Returns whether it was.
FL_INLINE bool place_ranks(const float* __restrict r, const float* __restrict s, int32_t n,
                           Scratch& sc) {
  Keyed* __restrict keys = sc.keys.data();
  float* __restrict ss = sc.s.data();
  float* __restrict sr = sc.r.data();
  int32_t* __restrict at = sc.p.data();
  const int32_t last = n - 1;
  int32_t padded = 0;
  for (int32_t i = 0; i < n; ++i) {
    padded |= r[i] < 0.0f;
    at[i] = last - static_cast<int32_t>(r[i]);
  }
  if (padded) return false;
  for (int32_t i = 0; i < n; ++i) {
    keys[at[i]].item = i;
    ss[at[i]] = s[i];
  }
  int32_t off = 0;
  for (int32_t i = 0; i < n; ++i) off |= keys[at[i]].item != i;
  if (off) return false;
  for (int32_t k = 0; k < n; ++k) sr[k] = static_cast<float>(last - k);
  return true;
}

}  // namespace

FL_ISA_BODY int32_t sort_graded_body(const float* __restrict r, const float* __restrict s,
                                     int32_t n, Scratch& sc) {
  // Graded iff every r - int(min(r, limit)) is 0 (padding, -1, is an integer too; above the limit
  // the difference is positive).
  const float limit = 2.0f * static_cast<float>(n) + 32.0f;
  float top, frac;
  const Vec8 cap = Vec8{} + limit;
  fold_max(
      r, n, [](Vec8&) FL_LAMBDA_INLINE {},
      [&](Vec8& x) FL_LAMBDA_INLINE {
        const Vec8 c = x < cap ? x : cap;  // in int range: the cast is defined
        x -= __builtin_convertvector(__builtin_convertvector(c, Lanes), Vec8);
      },
      top, frac);
  if (frac > 0.0f) return -1;
  // Bucket hi - r: most relevant first; padding (r = -1) lands in bucket hi + 1, after the rest.
  const int32_t hi = static_cast<int32_t>(std::max(0.0f, top));
  if (hi == n - 1 && place_ranks(r, s, n, sc)) return n;
  // sc.count is kept all zero between lists (cleared after use, long before the next list counts:
  // counting into memory still being cleared ran 2x slower).
  if (sc.count.size() < static_cast<size_t>(hi) + 2) sc.count.resize(static_cast<size_t>(hi) + 2);
  int32_t* __restrict start = sc.count.data();
  for (int32_t i = 0; i < n; ++i) ++start[hi - static_cast<int32_t>(r[i])];
  // Counts to bucket starts, the running total in a register (through memory, each step would
  // wait on the last one's store).
  int32_t total = 0;
  for (int32_t k = 0; k <= hi + 1; ++k) {
    const int32_t c = start[k];
    start[k] = total;
    total += c;
  }
  const int32_t valid = start[hi + 1];
  // Each item straight to its place, padding past the valid ones (never read there).
  Keyed* __restrict keys = sc.keys.data();
  float* __restrict ss = sc.s.data();
  float* __restrict sr = sc.r.data();
  for (int32_t i = 0; i < n; ++i) {
    const int32_t k = start[hi - static_cast<int32_t>(r[i])]++;
    keys[k].item = i;
    ss[k] = s[i];
    sr[k] = r[i];
  }
  std::fill(start, start + hi + 2, 0);
  return valid;
}

namespace {

// Inclusive suffix sums out[k] = sum_{j >= k} v_j over whole blocks of kLanes, v being 0 from m
// to the end of its block. A block is scanned in registers (three shifted adds) and then takes
// the sum of the blocks after it: one add per block on the serial chain instead of one per item.
FL_INLINE void suffix_sums(const float* v, int32_t m, float* out) {
  const Vec8 zero = {};
  Vec8 after = zero;
  for (int32_t b = (m - 1) & ~(kLanes - 1); b >= 0; b -= kLanes) {
    Vec8 x;
    load_vec(x, v + b);
    x += FL_SHUFFLE(x, zero, 1, 2, 3, 4, 5, 6, 7, 8);
    x += FL_SHUFFLE(x, zero, 2, 3, 4, 5, 6, 7, 8, 8);
    x += FL_SHUFFLE(x, zero, 4, 5, 6, 7, 8, 8, 8, 8);
    store_vec(out + b, x + after);
    after += FL_SHUFFLE(x, x, 0, 0, 0, 0, 0, 0, 0, 0);  // every lane: the block's total
  }
}

// Inclusive prefix sums P_k = sum_{j <= k} v_j, block by block as suffix_sums: load(b, x) puts
// v[b, b + kLanes) in x, lanes from m on 0; use(b, P) takes the block's sums.
template <class Load, class Use>
FL_INLINE void prefix_sums(int32_t m, Load load, Use use) {
  const Vec8 zero = {};
  Vec8 before = zero;
  for (int32_t b = 0; b < m; b += kLanes) {
    Vec8 x;
    load(b, x);
    x += FL_SHUFFLE(x, zero, 8, 0, 1, 2, 3, 4, 5, 6);
    x += FL_SHUFFLE(x, zero, 8, 8, 0, 1, 2, 3, 4, 5);
    x += FL_SHUFFLE(x, zero, 8, 8, 8, 8, 0, 1, 2, 3);
    use(b, x + before);
    before += FL_SHUFFLE(x, x, 7, 7, 7, 7, 7, 7, 7, 7);
  }
}

// Zeroes v from m to the end of m's block and the entry after it.
FL_INLINE void clear_tail(float* v, int32_t m) {
  for (int32_t k = m; k <= (m | (kLanes - 1)) + 1; ++k) v[k] = 0.0f;
}

// The shift of sc.s[0, m) (m >= 1) if the list is narrow, else NaN.
FL_INLINE float narrow_shift(const float* s, int32_t m) {
  float top, neg_low;
  fold_max(
      s, m, [](Vec8&) FL_LAMBDA_INLINE {}, [](Vec8& x) FL_LAMBDA_INLINE { x = -x; }, top, neg_low);
  return top + neg_low <= kNarrow ? top : NAN;
}

// e_k = e^{s_k - top} for k < m, 0 after (clear_tail), and their suffix sums S.
FL_INLINE void shifted_suffix(const float* __restrict s, int32_t m, float top, float* __restrict e,
                              float* __restrict S) {
  for (int32_t k = 0; k < m; ++k) e[k] = exp_nonpos(s[k] - top);
  clear_tail(e, m);
  suffix_sums(e, m, S);
  clear_tail(S, m);
}

}  // namespace

// The suffix LSE as two parts, LSE_{j >= q} v_j = m[q] + R[q]: m (sc.m) the suffix's largest v,
// R the log of its scaled sum (in [0, log n]). Not one double: at |v| = 1e15 its ulp (0.125)
// would show in every e^{s - LSE} of tied scores; the consumers subtract the parts apart.
FL_ISA_BODY void suffix_lse_sweep_body(const float* __restrict v, int32_t n, Scratch& sc,
                                       double* __restrict R) {
  float* __restrict m = sc.m.data();  // m[q] = max_{j >= q} v_j
  float* __restrict x = sc.x.data();
  float* __restrict y = sc.y.data();
  m[n - 1] = v[n - 1];
  for (int32_t q = n - 2; q >= 0; --q) m[q] = v[q] > m[q + 1] ? v[q] : m[q + 1];
  // S_q = sum_{j >= q} e^{v_j - m_q} = S_{q+1} x_q + y_q: when v_q is the new maximum the old sum
  // is rescaled (x = e^{m_{q+1} - v_q}, y = 1), else v_q's term is added (x = 1, y = e^{v_q -
  // m_q}).
  for (int32_t q = 0; q < n - 1; ++q) {
    const bool top = v[q] > m[q + 1];
    const float e = exp_nonpos(-std::fabs(v[q] - m[q + 1]));
    x[q] = top ? e : 1.0f;
    y[q] = top ? 1.0f : e;
  }
  float S = 1.0f;
  y[n - 1] = S;
  for (int32_t q = n - 2; q >= 0; --q) y[q] = S = S * x[q] + y[q];
  for (int32_t q = 0; q < n; ++q) R[q] = log_pos(y[q]);
}

// LSE_{j >= q} s_j - v from suffix_lse_sweep's parts: the large parts subtracted first.
FL_INLINE double above(const float* __restrict top, const double* __restrict R, int32_t q,
                       double v) {
  return (top[q] - v) + R[q];
}

// The forward half of both losses, (sc.m, R) holding the suffix LSE of s: g_j = scale (C_j
// e^{s_j - LSE_j} - sub_j) with C_j = sum_{i <= j} add_i e^{LSE_j - LSE_i} = C_{j-1} e^{LSE_j -
// LSE_{j-1}} + add_j. Every exponent is <= 0 as LSE only falls; C (double: weights may reach
// FLT_MAX) is at most sum(add).
FL_INLINE void descend(Scratch& sc, int32_t m, const float* __restrict add,
                       const float* __restrict sub, float scale) {
  const float* __restrict s = sc.s.data();
  const float* __restrict top = sc.m.data();
  const double* __restrict R = sc.R.data();
  float* __restrict x = sc.x.data();
  float* __restrict y = sc.y.data();
  float* __restrict g = sc.g.data();
  x[0] = 0.0f;
  for (int32_t j = 1; j < m; ++j)
    x[j] = exp_nonpos(static_cast<float>((double{top[j]} - top[j - 1]) + (R[j] - R[j - 1])));
  for (int32_t j = 0; j < m; ++j) y[j] = exp_nonpos(static_cast<float>(-above(top, R, j, s[j])));
  double C = 0;
  for (int32_t j = 0; j < m; ++j) {
    C = C * x[j] + add[j];
    g[j] = scale * static_cast<float>(C * y[j] - sub[j]);
  }
}

// L = sum_k a_k (R_k - s_k), R_k = LSE_{j >= k} s_j; g_j = -a_j + sum_{i <= j} a_i e^{s_j - R_i}.
// Narrow lists: R_k = top + log S_k, so g_j = e_j sum_{i <= j} a_i / S_i - a_j.
FL_ISA_BODY double plackett_luce_sweep_body(Scratch& sc, int32_t m, const float* __restrict a,
                                            bool bounded) {
  const float* __restrict s = sc.s.data();
  const float top = bounded ? narrow_shift(s, m) : NAN;
  if (!std::isnan(top)) {
    float* __restrict e = sc.e.data();
    float* __restrict S = sc.x.data();
    float* __restrict g = sc.g.data();
    shifted_suffix(s, m, top, e, S);
    // R_k - s_k = log(S_k / e_k) = log1p(q), q = S_{k+1} / e_k (finite: e_k >= e^-kNarrow). Not
    // (top - s_k) + log S_k, which cancels when s_k dominates the rest (a confident, correct list:
    // 6e-4 relative at scores 20 apart). log1p(q) = log(u) q / (u - 1) with u = 1 + q (Goldberg's
    // form): one float log a term, as the cancelling form had. The last term is 0. Summed as
    // lane_sum_of would, in whole blocks: the lanes from the last term on are masked out (their
    // quotients divide by the cleared tail of e), where a scalar remainder took as long as the
    // blocks.
    double acc[kLanes] = {};
    for (int32_t b = 0; b < m - 1; b += kLanes)
      for (int j = 0; j < kLanes; ++j) {
        const int32_t k = b + j;
        const float q = S[k + 1] / e[k];
        const float u = 1.0f + q;
        const double t = double{a[k]} * (u == 1.0f ? q : log_pos(u) * (q / (u - 1.0f)));
        acc[j] += k < m - 1 ? t : 0.0;
      }
    double loss = 0;
    for (int j = 0; j < kLanes; ++j) loss += acc[j];
    const Lanes lane = {0, 1, 2, 3, 4, 5, 6, 7};
    Vec8 ab, eb;
    prefix_sums(
        m,
        [&](int32_t b, Vec8& x) FL_LAMBDA_INLINE {
          Vec8 Sb;
          load_vec(ab, a + b);
          load_vec(Sb, S + b);
          x = lane + b < m ? ab / Sb : Vec8{};
        },
        [&](int32_t b, const Vec8& P) FL_LAMBDA_INLINE {
          load_vec(eb, e + b);
          store_vec(g + b, eb * P - ab);
        });
    return loss;
  }
  const double* __restrict R = sc.R.data();
  const float* __restrict hi = sc.m.data();
  suffix_lse_sweep_body(s, m, sc, sc.R.data());
  const double loss = lane_sum_of(m - 1, [&](int32_t k) {
    return a[k] * sigmoid_softplus_wide(above(hi, R, k + 1, s[k])).softplus;
  });
  descend(sc, m, a, a, 1.0f);
  return loss;
}

// A_i = R_{p(i)} - s_i for the anchors with a constraint (p(i) < m), Lambda = LSE_i A_i, e_i =
// e^{A_i - Lambda}, and g_k = sigma(Lambda) (sum_{i: p(i) <= k} e^{s_k - s_i - Lambda} - e_k).
// As e^{-s_i} = e^{A_i - R_p(i)}, the sum is e^{s_k - R_k} sum_{j <= k} enter_j e^{R_k - R_j} with
// enter_j = sum_{i: p(i) = j} e_i: descend's recurrence.
// Narrow lists: e^{A_i} = w_i = S_{p(i)} / e_i, e^{Lambda} = W = sum_i w_i, and
// g_k = sigma(Lambda) / W (e_k Q_k - w_k) with Q_k = sum_{i: p(i) <= k} 1 / e_i.
FL_ISA_BODY bool adjacent_constrained_body(const float* __restrict r, int32_t m, float margin) {
  const Vec8 w = Vec8{} + margin;
  Lanes loose = {};
  int32_t i = 0;
  for (Vec8 x, y; i + kLanes < m; i += kLanes) {
    load_vec(x, r + i);
    load_vec(y, r + i + 1);
    const Vec8 d = x - y;
    loose |= ~((d > 0.0f) & (d >= w));
  }
  int32_t any = 0;
  for (; i + 1 < m; ++i) any |= !constrained(r[i], r[i + 1], margin);
  for (int j = 0; j < kLanes; ++j) any |= loose[j];
  return any == 0;
}

FL_ISA_BODY double ranklist_lse_sweep_body(Scratch& sc, int32_t m, bool adjacent) {
  const float* __restrict s = sc.s.data();
  const int32_t* __restrict p = sc.p.data();
  float* __restrict g = sc.g.data();
  const float top = narrow_shift(s, m);
  if (!std::isnan(top)) {
    float* __restrict e = sc.e.data();
    float* __restrict S = sc.x.data();  // S[m] = 0: p(i) = m, no constraint
    float* __restrict w = sc.y.data();
    float* __restrict Q = sc.enter.data();
    // 1 / e_i, at inv[i + 1]: Q's terms when p(i) = i + 1.
    float* __restrict inv = sc.m.data();
    shifted_suffix(s, m, top, e, S);
    inv[0] = 0.0f;
    for (int32_t i = 0; i < m; ++i) inv[i + 1] = 1.0f / e[i];
    if (adjacent)  // as below, without the gather
      for (int32_t i = 0; i < m; ++i) w[i] = S[i + 1] * inv[i + 1];
    else
      for (int32_t i = 0; i < m; ++i) w[i] = S[p[i]] * inv[i + 1];
    const double W = nonneg_sum(m, [&](int32_t i) FL_LAMBDA_INLINE { return w[i]; });
    if (W == 0) {
      std::fill(g, g + m, 0.0f);
      return 0;
    }
    if (!adjacent) {
      clear_tail(Q, m);
      std::fill(Q, Q + m, 0.0f);
      for (int32_t i = 0; i < m; ++i) Q[p[i]] += inv[i + 1];  // Q[m]: no constraint
    }
    const float* __restrict enter = adjacent ? inv : Q;  // Q_k's new terms at k
    const SigmoidSoftplusWide outer = sigmoid_softplus_wide(std::log(W));
    const float c = static_cast<float>(outer.sigmoid / W);
    prefix_sums(
        m, [&](int32_t b, Vec8& x) FL_LAMBDA_INLINE { load_vec(x, enter + b); },
        [&](int32_t b, const Vec8& Qb) FL_LAMBDA_INLINE {
          Vec8 eb, wb;
          load_vec(eb, e + b);
          load_vec(wb, w + b);
          store_vec(g + b, c * (eb * Qb - wb));
        });
    return outer.softplus;
  }
  double* __restrict R = sc.R.data();
  double* __restrict A = sc.A.data();
  suffix_lse_sweep_body(s, m, sc, R);
  sc.m[m] = 0.0f;
  R[m] = -INFINITY;  // p(i) = m: no constraint
  for (int32_t i = 0; i < m; ++i) A[i] = above(sc.m.data(), R, p[i], s[i]);
  const double top_a = lane_max_of(m, [&](int32_t i) { return A[i]; });
  if (top_a == -INFINITY) {
    std::fill(sc.g.begin(), sc.g.begin() + m, 0.0f);
    return 0;
  }
  float* __restrict e = sc.e.data();
  for (int32_t i = 0; i < m; ++i)
    e[i] = p[i] < m ? exp_nonpos(static_cast<float>(A[i] - top_a)) : 0.0f;
  const double sum = nonneg_sum(m, [&](int32_t i) { return e[i]; });
  const float inv = static_cast<float>(1.0 / sum);
  for (int32_t i = 0; i < m; ++i) e[i] *= inv;
  float* __restrict enter = sc.enter.data();
  std::fill(enter, enter + m, 0.0f);
  for (int32_t i = 0; i < m && p[i] < m; ++i) enter[p[i]] += e[i];  // p is non-decreasing
  const SigmoidSoftplusWide outer = sigmoid_softplus_wide(top_a + std::log(sum));
  descend(sc, m, enter, e, outer.sigmoid);
  return outer.softplus;
}

// The dispatched entry points (simd.h).
FL_ISA_ENTRY(bool, list_valid, (const float* r, const float* s, int32_t n, float top),
             (r, s, n, top))
FL_ISA_ENTRY(int32_t, sort_graded, (const float* r, const float* s, int32_t n, Scratch& sc),
             (r, s, n, sc))
FL_ISA_ENTRY(void, suffix_lse_sweep, (const float* v, int32_t n, Scratch& sc, double* R),
             (v, n, sc, R))
FL_ISA_ENTRY(double, plackett_luce_sweep, (Scratch & sc, int32_t m, const float* a, bool bounded),
             (sc, m, a, bounded))
FL_ISA_ENTRY(bool, adjacent_constrained, (const float* r, int32_t m, float margin), (r, m, margin))
FL_ISA_ENTRY(double, ranklist_lse_sweep, (Scratch & sc, int32_t m, bool adjacent),
             (sc, m, adjacent))

}  // namespace fl::ranking
