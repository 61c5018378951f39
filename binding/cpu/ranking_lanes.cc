// ListMLE's lists side by side (ranking_lanes.h). The loops over a position's lanes are plain loops
// of kLaneLists that GCC and clang turn into one to four vectors per ISA; the passes over positions
// carry each lane's running sums.
#include "ranking_lanes.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>

#include "fusedloss/math.h"
#include "ranking_sweeps.h"
#include "rows.h"
#include "simd.h"
#include "wide.h"

namespace fl::ranking {

// As plackett_luce_sweep's narrow lists: R_k - s_k = log1p(q_k), q_k = S_{k+1} / e_k, with e_k =
// e^{s_k - top} and S_k their suffix sums; g_k = e_k sum_{i <= k} a_i / S_i - a_k. Empty positions
// (-inf) have e = 0: the sums of the lane's list are unchanged and its loss masks them.
template <class V>
FL_INLINE void plackett_luce_lanes_kernel(LaneBatch& lb, int32_t depth, const float* __restrict a) {
  constexpr int G = kLaneLists;
  float* __restrict s = lb.s;
  float* __restrict e = lb.e;
  float* __restrict w = lb.w;
  const int32_t* __restrict m = lb.m;
  // Each lane's shift, its largest score; +inf (every e = 0) for a lane not swept here.
  float shift[G];
  {
    float top[G], neg_low[G];
    for (int j = 0; j < G; ++j) top[j] = neg_low[j] = -INFINITY;
    for (int32_t k = 0; k < depth; ++k)
      for (int j = 0; j < G; ++j) {
        const float x = s[k * G + j];
        const float y = k < m[j] ? -x : -INFINITY;
        top[j] = x > top[j] ? x : top[j];
        neg_low[j] = y > neg_low[j] ? y : neg_low[j];
      }
    for (int j = 0; j < G; ++j) {
      lb.swept[j] = m[j] > 0 && top[j] + neg_low[j] <= kNarrow;
      shift[j] = lb.swept[j] ? top[j] : INFINITY;
    }
  }
  // Backward: e_k, a_k / S_k and q_k (over s_k, read by then). Apart from the loss terms: with
  // the exponential, the division and the log in one pass, each position's chain of dependent
  // steps filled the out-of-order window before the next positions could start.
  float S[G] = {};  // S_{k+1}
  for (int32_t k = depth - 1; k >= 0; --k) {
    const float ak = a[k];
    for (int j = 0; j < G; ++j) {
      const float ek = exp_nonpos(s[k * G + j] - shift[j]);
      s[k * G + j] = S[j] / ek;
      S[j] += ek;
      e[k * G + j] = ek;
      w[k * G + j] = ak / S[j];
    }
  }
  // The loss terms a_k log1p(q_k) (>= 0) add into floats over blocks of kBlockSteps positions,
  // each block's sum then into a double.
  double acc[G] = {};
  for (int32_t block = 0; block < depth; block += kBlockSteps) {
    float part[G] = {};
    for (int32_t k = block; k < std::min<int32_t>(depth, block + kBlockSteps); ++k) {
      const float ak = a[k];
      for (int j = 0; j < G; ++j) {
        const float q = s[k * G + j];
        const float u = 1.0f + q;
        // log1p(q) = log(u) + c / u, c = q - (u - 1) the rounding error of u (exact for u < 2,
        // Sterbenz), 1 / u as 2 - u there (off by (u - 1)^2 relative, on a term below 2^-24 u):
        // no division, where Goldberg's form takes one. From u = 2 on c / u is below 2^-24 log u.
        const float c = q - (u - 1.0f);
        const float t = ak * (log_pos(u) + (u < 2.0f ? c * (2.0f - u) : 0.0f));
        part[j] += k < m[j] - 1 ? t : 0.0f;
      }
    }
    for (int j = 0; j < G; ++j) acc[j] += part[j];
  }
  // Forward: the prefix sums of a_k / S_k, and the gradient over the scores, in vectors of the
  // level's width (V, wide.h): GCC unrolled a loop over the lanes into scalars, and lowered one
  // vector of all the lanes through memory below AVX-512.
  constexpr int kWidth = sizeof(V) / sizeof(float);
  static_assert(G % kWidth == 0, "whole vectors of lanes");
  for (int h = 0; h < G; h += kWidth) {
    V P = {};
    for (int32_t k = 0; k < depth; ++k) {
      V wk, ek;
      load_vec(wk, w + k * G + h);
      load_vec(ek, e + k * G + h);
      P += wk;
      store_vec(s + k * G + h, ek * P - a[k]);
    }
  }
  for (int j = 0; j < G; ++j) lb.loss[j] = acc[j];
}

// Full ranks (relevance a permutation of 0, ..., n - 1, ListMLE's usual label) with finite scores
// go straight to the lane, as sort_graded places them: item i to position n - 1 - r_i, kept in
// lb.at[j]. One vector pass checks the values, computes the positions and marks them in a bit
// set (n distinct positions in [0, n) are a permutation); the general path takes a check, a
// grading pass and a placement through the scratch buffers, then a copy. Returns whether the list
// was such (else the lane's entries are left undefined).
FL_ISA_BODY bool place_ranks_lane_body(const float* __restrict r, const float* __restrict s,
                                       int32_t n, LaneBatch& lb, int j) {
  static_assert(kLaneItems <= 128, "the positions' bit set is two words");
  int32_t* __restrict at = lb.at[j];
  const int32_t last = n - 1;
  const float top = static_cast<float>(last);
  int32_t off = 0;
  for (int32_t i = 0; i < n; ++i) {
    const float x = r[i];
    const int32_t v = static_cast<int32_t>(x >= 0.0f && x <= top ? x : 0.0f);
    at[i] = last - v;
    off |= (static_cast<float>(v) != x) | !(std::fabs(s[i]) <= FLT_MAX);
  }
  if (off) return false;
  uint64_t low = 0, high = 0;  // a separate loop: with the checks GCC kept both scalar
  for (int32_t i = 0; i < n; ++i) {
    const uint64_t k = static_cast<uint32_t>(at[i]);
    low |= uint64_t{k < 64} << (k & 63);
    high |= uint64_t{k >= 64} << (k & 63);
  }
  if (__builtin_popcountll(low) + __builtin_popcountll(high) != n) return false;
  for (int32_t i = 0; i < n; ++i) lb.s[at[i] * kLaneLists + j] = s[i];
  return true;
}

// Lane j's gradient times scale to its list's n items at out; padded items get 0.
FL_ISA_BODY void scatter_lane_body(const LaneBatch& lb, int j, int32_t n, float scale,
                                   float* __restrict out) {
  const float* __restrict g = lb.s + j;
  const int32_t m = lb.m[j];
  if (lb.placed[j]) {  // every item valid, item i at position at[i]
    const int32_t* __restrict at = lb.at[j];
    for (int32_t i = 0; i < n; ++i) out[i] = scale * g[at[i] * kLaneLists];
    return;
  }
  if (m < n) std::fill(out, out + n, 0.0f);
  const int32_t* __restrict item = lb.item[j];
  for (int32_t k = 0; k < m; ++k) out[item[k]] = scale * g[k * kLaneLists];
}

FL_ISA_ENTRY(void, scatter_lane, (const LaneBatch& lb, int j, int32_t n, float scale, float* out),
             (lb, j, n, scale, out))
FL_WIDE_DISPATCH(plackett_luce_lanes, plackett_luce_lanes_kernel,
                 (LaneBatch & lb, int32_t depth, const float* a), (lb, depth, a))
FL_ISA_ENTRY(bool, place_ranks_lane,
             (const float* r, const float* s, int32_t n, LaneBatch& lb, int j), (r, s, n, lb, j))

namespace {

LaneBatch& lane_batch() {
  thread_local std::unique_ptr<LaneBatch> lb = std::make_unique<LaneBatch>();
  return *lb;
}

}  // namespace

bool PlackettLuceLists::window(int64_t l0, int count, Scratch& sc, ListSum& part,
                               bool& place) const {
  LaneBatch& lb = lane_batch();
  double loss[kLaneLists] = {};
  int32_t depth = 0;
  // One list alone, from its m valid items gathered in sc.
  const auto alone = [&](int j, int32_t m) {
    const int64_t b = pb.begin(l0 + j);
    const int32_t n = static_cast<int32_t>(pb.end(l0 + j) - b);
    loss[j] = m > 0 ? plackett_luce_sweep(sc, m, a, bounded) : 0.0;
    scatter(b, n, m, sc, scale, grad);
  };
  // The lists before the first fault run; the fault ends the chunk.
  Status fault;
  int ok = count;
  for (int j = 0; j < kLaneLists; ++j) {
    lb.m[j] = 0;
    if (j >= ok) continue;
    const int64_t l = l0 + j, b = pb.begin(l);
    const int32_t n = static_cast<int32_t>(pb.end(l) - b);
    const bool short_list = n <= kLaneItems;
    if (place && short_list && n > 0) {
      if (place_ranks_lane(pb.relevance + b, pb.scores + b, n, lb, j)) {
        lb.m[j] = n;
        lb.placed[j] = true;
        depth = std::max(depth, n);
        continue;
      }
      place = false;
    }
    fault = list_fault(pb, b, b + n, FLT_MAX);
    if (!fault.ok()) {
      ok = j;
      continue;
    }
    const int32_t m = gather(pb, l, sc, order, seed);
    if (metrics) metrics.list(l, sc, m, order);
    if (!(bounded && m > 0 && short_list)) {
      alone(j, m);
      continue;
    }
    lb.m[j] = m;
    lb.placed[j] = false;
    depth = std::max(depth, m);
    for (int32_t k = 0; k < m; ++k) {
      lb.s[k * kLaneLists + j] = sc.s[k];
      lb.item[j][k] = sc.keys[k].item;
    }
  }
  for (int j = 0; j < kLaneLists; ++j)
    for (int32_t k = lb.m[j]; lb.m[j] > 0 && k < depth; ++k) lb.s[k * kLaneLists + j] = -INFINITY;
  if (depth > 0) plackett_luce_lanes(lb, depth, a);
  for (int j = 0; j < kLaneLists; ++j) {
    const int32_t m = lb.m[j];
    if (m == 0) continue;
    const int64_t l = l0 + j, b = pb.begin(l);
    if (!lb.swept[j]) {  // wider than one shift: gathered again, swept alone
      alone(j, gather(pb, l, sc, order, seed));
      continue;
    }
    loss[j] = lb.loss[j];
    scatter_lane(lb, j, static_cast<int32_t>(pb.end(l) - b), scale, grad + b);
  }
  for (int j = 0; j < ok; ++j) part.loss += loss[j];
  if (ok == count) return true;
  part.status = fault;
  return false;
}

void PlackettLuceLists::chunk(int64_t b, int64_t e, Scratch& sc, ListSum& part) const {
  // Full ranks have no ties, so the shuffled order is theirs too; the metrics need the gather's
  // buffers. The first list that is not full ranks ends the attempts in the chunk (a batch is
  // mostly of one kind): either path puts the same entries in the lane.
  bool place = bounded && !metrics;
  for (int64_t l = b; l < e; l += kLaneLists)
    if (!window(l, static_cast<int>(std::min<int64_t>(kLaneLists, e - l)), sc, part, place)) return;
}

}  // namespace fl::ranking
