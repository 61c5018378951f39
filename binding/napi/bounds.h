// Every bound the N-API layer checks an option against, by name. Each is the twin of the entry of
// the same name in src/wire-bounds.ts: scripts/check-wire.mjs (in `npm run lint`) fails when the
// values differ, when a name is on one side only, or when a *_field() call in binding/napi passes
// a literal bound instead of one of these.
#pragma once

#include <cfloat>
#include <cstdint>

namespace fl::napi {

struct Range {
  double lo, hi;
};
struct IntRange {
  int32_t lo, hi;
};

// A scale or temperature: a denormal one would overflow where the kernels divide by it.
constexpr Range kPositive{1e-6, 1e6};
constexpr Range kNonNegative{0, 1e6};
constexpr Range kSigned{-1e6, 1e6};
constexpr Range kUnit{0, 1};
constexpr Range kNonNegative100{0, 100};
constexpr Range kNonNegative1e3{0, 1e3};
constexpr Range kNonNegative1e12{0, 1e12};
constexpr Range kFloatNonNegative{0, FLT_MAX};
constexpr Range kMetricEpsilon{1e-12, 1};
constexpr Range kDiceSmooth{1e-12, 1e12};
constexpr Range kSphericalEps{1e-30, 1e6};
constexpr Range kCosineMargin{-1, 1};
constexpr Range kTupleCount{0, 1e15};
constexpr Range kSeed32{0, 4294967295.0};
// The margin heads' scale s and margin m (formulas J.2).
constexpr Range kMarginScale{0, 1e4};
constexpr Range kMarginM{0, 2};

constexpr IntRange kDimension{1, 1 << 24};
constexpr IntRange kCount{1, INT32_MAX};
constexpr IntRange kNonNegativeInt{0, INT32_MAX};
constexpr IntRange kInt32{INT32_MIN, INT32_MAX};
constexpr IntRange kExponent{1, 2};
constexpr IntRange kSubCenters{1, 64};
// neuralNDCG's Sinkhorn iterations: the kernels keep two scale vectors a step.
constexpr IntRange kSinkhornIter{0, 1000};
constexpr IntRange kHeadClasses{2, 1 << 30};
constexpr IntRange kHeadDim{1, 1 << 14};

}  // namespace fl::napi
