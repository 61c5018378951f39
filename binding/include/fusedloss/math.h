// Per-element formulas shared by the CPU kernels and the CUDA kernels. Everything here is
// marked host+device so nvcc and the host compiler build the same source. Stable forms only
// (formulas "Conventions"): no exp of a positive argument, no 1 - sigmoid by subtraction.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define FL_HD __host__ __device__ __forceinline__
#else
#define FL_HD inline __attribute__((always_inline))
#endif

namespace fl {

// exp(x) for x <= 0 in float, branch-free so loops vectorise (Cephes-style: x = n ln2 + r,
// |r| <= ln2/2, degree-6 polynomial; about 1 ulp). Below kExpFloor, where e^x < FLT_MIN, it
// returns 0 as the GPU's __expf does: a floor of 1e-38 would be multiplied by a huge factor
// somewhere (sigmoid focal's gamma ce r at |x| = 1e36 was 3% off).
constexpr float kExpFloor = -87.33f;

FL_HD float exp_nonpos(float x) {
#if defined(__CUDA_ARCH__)
  return __expf(x);
#else
  // Written as max(x, -87): a NaN (from an input the caller will refuse) becomes -87 instead of
  // reaching the float-to-int conversion below, which is undefined for NaN.
  const float arg = x;
  x = x > kExpFloor ? x : kExpFloor;
  // Round x / ln2 to nearest by the 1.5 * 2^23 trick: no floor call, so SSE2 code vectorises.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = x - n * 0.693359375f;  // ln2 split in two so r stays exact
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return arg >= kExpFloor ? p * scale : 0.0f;
#endif
}

// The logistic function and its derivative from e = exp(-|t|): sigma(t) and sigma(t)(1-sigma(t))
// without cancellation (formulas "Conventions").
struct Logistic {
  float value;  // sigma(t)
  float slope;  // sigma(t) * (1 - sigma(t)) = e / (1 + e)^2
};

FL_HD Logistic logistic(float t) {
  const float e = exp_nonpos(-std::fabs(t));
  const float inv = 1.0f / (1.0f + e);
  Logistic s;
  s.value = t >= 0.0f ? inv : e * inv;
  s.slope = e * inv * inv;
  return s;
}

// 1 - sigma(t) = sigma(-t), returned with sigma(t) so no subtraction loses the small one.
FL_HD float logistic_complement(float t) {
  const float e = exp_nonpos(-std::fabs(t));
  const float inv = 1.0f / (1.0f + e);
  return t >= 0.0f ? e * inv : inv;
}

// log1p(e) for e in [-0.3, 1], branch-free: 2 atanh(t) with t = e / (2 + e) in [-0.18, 1/3], whose
// odd series converges to float precision in eight terms and keeps full relative accuracy as e ->
// 0.
FL_HD float log1p_unit(float e) {
  const float t = e / (2.0f + e), t2 = t * t;
  float s = 1.0f / 15.0f;
  s = s * t2 + 1.0f / 13.0f;
  s = s * t2 + 1.0f / 11.0f;
  s = s * t2 + 1.0f / 9.0f;
  s = s * t2 + 1.0f / 7.0f;
  s = s * t2 + 1.0f / 5.0f;
  s = s * t2 + 1.0f / 3.0f;
  s = s * t2 + 1.0f;
  return 2.0f * t * s;
}

// log(x) for a normal x > 0, branch-free so loops vectorise: x = 2^k f with f in [sqrt(1/2),
// sqrt(2)), log x = k ln2 + log1p(f - 1), where f - 1 is exact and ln2 is split as in exp_nonpos.
FL_HD float log_pos(float x) {
#if defined(__CUDA_ARCH__)
  return logf(x);
#else
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const int32_t k = static_cast<int32_t>(bits - 0x3f3504f3u) >> 23;  // 0x3f3504f3: sqrt(1/2)
  const uint32_t fbits = bits - static_cast<uint32_t>(k) * (1u << 23);
  float f;
  std::memcpy(&f, &fbits, sizeof f);
  const float kf = static_cast<float>(k);
  return kf * 0.693359375f + (kf * -2.12194440e-4f + log1p_unit(f - 1.0f));
#endif
}

// sigma(t) and softplus(t) = log(1 + e^t) = max(t, 0) + log1p(exp(-|t|)), from one exponential.
struct SigmoidSoftplus {
  float sigmoid, softplus;
};

FL_HD SigmoidSoftplus sigmoid_softplus(float t) {
  const float e = exp_nonpos(-std::fabs(t));
  const float inv = 1.0f / (1.0f + e);
  return SigmoidSoftplus{t >= 0.0f ? inv : e * inv, (t > 0.0f ? t : 0.0f) + log1p_unit(e)};
}

// The same two for an argument that may exceed float's range (a difference of two finite floats,
// or a log-sum-exp): softplus in double, the exponential still one float exp.
struct SigmoidSoftplusWide {
  float sigmoid;
  double softplus;
};

FL_HD SigmoidSoftplusWide sigmoid_softplus_wide(double t) {
  const float e = exp_nonpos(static_cast<float>(-std::fabs(t)));
  const float inv = 1.0f / (1.0f + e);
  return SigmoidSoftplusWide{t >= 0 ? inv : e * inv, (t > 0 ? t : 0) + log1p_unit(e)};
}

// The same two in double, for per-row scalars (stable forms, formulas "Conventions").
FL_HD double softplus64(double t) {
  return (t > 0 ? t : 0) + std::log1p(std::exp(-std::fabs(t)));
}

FL_HD double sigmoid64(double t) {
  const double e = std::exp(-std::fabs(t));
  return t >= 0 ? 1 / (1 + e) : e / (1 + e);
}

}  // namespace fl
