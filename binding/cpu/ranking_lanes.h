// ListMLE over short lists side by side (formulas D.2): kLaneLists lists, one a vector lane, swept
// position by position, so each position's exponential, log and divisions run as one vector
// operation across the lists and the sweeps' running sums are vertical adds. A list's result does
// not depend on its lane or on the other lists: every operation is lane by lane.
#pragma once

#include <cstdint>

#include "ranking_lists.h"

namespace fl::ranking {

constexpr int kLaneLists = 16;
// The longest list the lanes take; longer lists keep the one-list sweep (ranking_sweeps.h), whose
// per-list costs are spread over their items.
constexpr int32_t kLaneItems = 128;

// A batch of lane lists, position-major: entry k * kLaneLists + j is position k of lane j.
struct alignas(64) LaneBatch {
  // The sorted scores (-inf from m[j] to the sweep's depth); the gradient after the sweep.
  float s[kLaneItems * kLaneLists];
  float e[kLaneItems * kLaneLists], w[kLaneItems * kLaneLists];  // the sweep's terms
  // A list placed by its ranks: the position of each item (every item valid); else the
  // list-local item at each position.
  int32_t at[kLaneLists][kLaneItems], item[kLaneLists][kLaneItems];
  int32_t m[kLaneLists];  // valid items; 0: an unused lane
  bool placed[kLaneLists];
  double loss[kLaneLists];
  bool swept[kLaneLists];
};

// The weighted Plackett-Luce NLL (plackett_luce_sweep's one-shift form) of every used lane whose
// scores span at most kNarrow: its loss into loss[j] and its gradient into s, swept[j] set; the
// other lanes are left to the one-list sweep. Positions [0, depth), depth the longest lane; a[k]
// the weight of position k, each at most kNarrowWeightMax.
void plackett_luce_lanes(LaneBatch& lb, int32_t depth, const float* a);

// Lane j's gradient times scale to its list's n items at out; padded items get 0.
void scatter_lane(const LaneBatch& lb, int j, int32_t n, float scale, float* out);

// ListMLE's lists [b, e) of a chunk summed into part (over_list_chunks), `order` Relevance or
// Shuffled: each window of kLaneLists lists checked, gathered (its metrics computed on the way),
// its lists up to kLaneItems long swept in lanes (when `bounded`) and the rest one by one; the
// gradient scattered times scale.
struct PlackettLuceLists {
  const RankingProblem& pb;
  Order order;
  uint32_t seed;
  float scale;
  const float* a;  // the position weights, zero-padded by a block
  bool bounded;    // every weight at most kNarrowWeightMax
  const MetricsPass& metrics;
  float* grad;

  void chunk(int64_t b, int64_t e, Scratch& sc, ListSum& part) const;

 private:
  // Lists [l0, l0 + count), count <= kLaneLists; false at a fault (then in part). `place`: try
  // placing full ranks straight into the lanes (cleared at a list that is not).
  bool window(int64_t l0, int count, Scratch& sc, ListSum& part, bool& place) const;
};

}  // namespace fl::ranking
