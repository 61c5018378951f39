// The template of dense.h's power iteration.
#include <cmath>

namespace fl::dense {

template <class Apply>
double power_iteration(int64_t n, int iters, Apply apply, std::vector<double>& vec) {
  // A fixed start that no eigenvector of a generic matrix is orthogonal to.
  vec.assign(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) vec[i] = 1 + 0.37 * std::sin(1.0 + i);
  std::vector<double> next(vec.size());
  double lambda = 0;
  for (int it = 0; it < iters; ++it) {
    double norm = 0;
    for (double v : vec) norm += v * v;
    norm = std::sqrt(norm);
    if (!(norm > 0)) return 0;
    for (double& v : vec) v /= norm;
    apply(vec.data(), next.data());
    lambda = 0;
    for (int64_t i = 0; i < n; ++i) lambda += vec[i] * next[i];
    vec.swap(next);
  }
  double norm = 0;
  for (double v : vec) norm += v * v;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (double& v : vec) v /= norm;
  return lambda;
}

}  // namespace fl::dense
