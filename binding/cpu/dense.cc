#include "dense.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "parallel.h"

namespace fl::dense {
namespace {

// Output rows per chunk: about 64k multiply-adds each, so small products run on one thread.
int64_t row_chunk(int64_t p, int64_t k) {
  return std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(1, p * k));
}

void scale_row(double* c, int64_t p, double beta) {
  if (beta == 0)
    std::fill(c, c + p, 0.0);
  else if (beta != 1)
    for (int64_t j = 0; j < p; ++j) c[j] *= beta;
}

}  // namespace

void mul_nt(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  parallel_chunks(n, row_chunk(p, k), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const double* a = A + i * k;
      double* c = C + i * p;
      scale_row(c, p, beta);
      for (int64_t j = 0; j < p; ++j) {
        const double* bj = B + j * k;
        double s = 0;
        for (int64_t l = 0; l < k; ++l) s += a[l] * bj[l];
        c[j] += alpha * s;
      }
    }
  });
}

void mul_nn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  parallel_chunks(n, row_chunk(p, k), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double* c = C + i * p;
      scale_row(c, p, beta);
      for (int64_t l = 0; l < k; ++l) {
        const double f = alpha * A[i * k + l];
        const double* bl = B + l * p;
        for (int64_t j = 0; j < p; ++j) c[j] += f * bl[j];
      }
    }
  });
}

void mul_tn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  parallel_chunks(n, row_chunk(p, k), [&](int64_t, int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      double* c = C + i * p;
      scale_row(c, p, beta);
      for (int64_t l = 0; l < k; ++l) {
        const double f = alpha * A[l * n + i];
        const double* bl = B + l * p;
        for (int64_t j = 0; j < p; ++j) c[j] += f * bl[j];
      }
    }
  });
}

bool solve(int64_t n, int64_t p, double* A, double* B) {
  for (int64_t col = 0; col < n; ++col) {
    int64_t piv = col;
    for (int64_t r = col + 1; r < n; ++r)
      if (std::fabs(A[r * n + col]) > std::fabs(A[piv * n + col])) piv = r;
    if (A[piv * n + col] == 0) return false;
    if (piv != col) {
      std::swap_ranges(A + piv * n, A + piv * n + n, A + col * n);
      std::swap_ranges(B + piv * p, B + piv * p + p, B + col * p);
    }
    const double inv = 1 / A[col * n + col];
    for (int64_t r = col + 1; r < n; ++r) {
      const double f = A[r * n + col] * inv;
      if (f == 0) continue;
      for (int64_t j = col; j < n; ++j) A[r * n + j] -= f * A[col * n + j];
      for (int64_t j = 0; j < p; ++j) B[r * p + j] -= f * B[col * p + j];
    }
  }
  for (int64_t r = n - 1; r >= 0; --r) {
    double* x = B + r * p;
    for (int64_t l = r + 1; l < n; ++l) {
      const double f = A[r * n + l];
      const double* xl = B + l * p;
      for (int64_t j = 0; j < p; ++j) x[j] -= f * xl[j];
    }
    const double inv = 1 / A[r * n + r];
    for (int64_t j = 0; j < p; ++j) x[j] *= inv;
  }
  return true;
}

bool inverse_transpose(int64_t n, const double* A, double* out) {
  // A^T X = I gives X = A^-T.
  Mat at(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) at[i * n + j] = A[j * n + i];
  std::fill(out, out + n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) out[i * n + i] = 1;
  return solve(n, n, at.data(), out);
}

bool positive_definite(int64_t n, Mat A) {
  for (int64_t j = 0; j < n; ++j) {
    double d = A[j * n + j];
    for (int64_t l = 0; l < j; ++l) d -= A[j * n + l] * A[j * n + l];
    if (!(d > 0)) return false;
    const double root = std::sqrt(d);
    A[j * n + j] = root;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = A[i * n + j];
      for (int64_t l = 0; l < j; ++l) s -= A[i * n + l] * A[j * n + l];
      A[i * n + j] = s / root;
    }
  }
  return true;
}

}  // namespace fl::dense
