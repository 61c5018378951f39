// Turns run-time choices into template arguments, so each hot loop or kernel is compiled without
// branches on them. Host code only; shared by the CPU kernels and the CUDA launchers.
#pragma once

#include <cstdint>
#include <type_traits>

#include "fusedloss/confusion.h"

namespace fl {

// Calls f with each flag turned into std::true_type or std::false_type.
template <class F>
void with_flags(F&& f) {
  f();
}
template <class F, class... Rest>
void with_flags(F&& f, bool first, Rest... rest) {
  if (first)
    with_flags([&](auto... t) { f(std::true_type{}, t...); }, rest...);
  else
    with_flags([&](auto... t) { f(std::false_type{}, t...); }, rest...);
}

// Calls f with the problem's labels as a typed pointer.
template <class Problem, class F>
auto with_labels(const Problem& pb, F&& f) {
  switch (pb.label_type) {
    case LabelType::Uint8:
      return f(static_cast<const uint8_t*>(pb.labels));
    case LabelType::Int32:
      return f(static_cast<const int32_t*>(pb.labels));
    default:
      return f(static_cast<const float*>(pb.labels));
  }
}

}  // namespace fl
