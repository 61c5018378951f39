// The native programs' random numbers (cuda_parity, bench/cuda_bench.cu): xorshift64*, fixed
// streams with no library dependence, so every machine draws the same inputs.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }
  double normal() {  // Box-Muller
    const double u = std::max(uniform(), 1e-300), v = uniform();
    return std::sqrt(-2 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
  int32_t below(int32_t n) { return static_cast<int32_t>(uniform() * n); }
};
