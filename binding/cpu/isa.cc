// The instruction-set level of the dispatched kernels (simd.h, wide.h): the widest the CPU has,
// capped by FUSEDLOSS_ISA=baseline|avx2|avx512 so every level can be tested on one machine.
// Read once, at the first call (module init makes that the addon's load).
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "simd.h"

namespace fl {
namespace {

struct IsaChoice {
  Isa level;
  const char* invalid;  // the FUSEDLOSS_ISA value when it named no level
};

Isa cpu_widest() {
#if FL_X86_CLONES
  return __builtin_cpu_supports("x86-64-v4")   ? Isa::Avx512
         : __builtin_cpu_supports("x86-64-v3") ? Isa::Avx2
                                               : Isa::Baseline;
#else
  return Isa::Baseline;
#endif
}

IsaChoice choose() {
  const Isa widest = cpu_widest();
  const char* v = std::getenv("FUSEDLOSS_ISA");
  if (v == nullptr || *v == '\0') return {widest, nullptr};
  // Any level names a valid cap off x86 too, where the one portable level is the widest.
  static const char* const names[] = {"baseline", "avx2", "avx512"};
  for (int i = 0; i < 3; ++i)
    if (std::strcmp(v, names[i]) == 0) return {std::min(static_cast<Isa>(i), widest), nullptr};
  return {widest, v};
}

const IsaChoice& choice() {
  static const IsaChoice c = choose();
  return c;
}

}  // namespace

Isa isa() {
  return choice().level;
}

const char* isa_env_invalid() {
  return choice().invalid;
}

const char* isa_name(Isa level) {
#if defined(__aarch64__)
  (void)level;
  return "neon";
#elif defined(__wasm__)
  (void)level;
  return "simd128";
#else
  switch (level) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "baseline";
  }
#endif
}

}  // namespace fl
