#include "dense.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <utility>

#include "parallel.h"
#include "simd.h"

namespace fl::dense {
namespace {

// Register tile of the products: kTileRows rows of C by kTileCols columns, accumulated over all
// of k before C is touched, so each loaded row piece of B feeds kTileRows multiply-adds. On wasm a
// V4 is two v128 registers and engines have 16 of them: a 4 x 8 tile's 16 accumulators spilled,
// and 4 x 4 (8 accumulators) ran the SphericalHead step about 9% faster.
#ifdef __wasm__
constexpr int64_t kTileRows = 4, kTileCols = 4;
#else
constexpr int64_t kTileRows = 4, kTileCols = 8;
#endif

// A(i, l) = A[i * row_stride + l * col_stride], so one kernel serves A and A^T.
struct View {
  const double* data;
  int64_t row_stride, col_stride;
  double at(int64_t i, int64_t l) const { return data[i * row_stride + l * col_stride]; }
};

// GCC vector extension: four doubles, one AVX2 register (two SSE2 registers in the baseline
// clone). Plain arrays of accumulators were spilled to the stack.
typedef double V4 __attribute__((vector_size(32)));

FL_INLINE void load4(V4& v, const double* p) {
  std::memcpy(&v, p, sizeof v);
}

FL_INLINE void store(double* c, double beta, double alpha, double acc) {
  *c = (beta == 0 ? 0 : beta * *c) + alpha * acc;
}

// Rows [b, e), columns [0, cols) of C (n x p) = beta C + alpha A B, A given by its view (n x k),
// B k x p row-major.
FL_ISA_BODY void product_rows(int64_t b, int64_t e, int64_t p, int64_t cols, int64_t k,
                              double alpha, View A, const double* B, double beta, double* C) {
  int64_t i = b;
  for (; i + kTileRows <= e; i += kTileRows) {
    int64_t j = 0;
    for (; j + kTileCols <= cols; j += kTileCols) {
      // kTileCols / 4 vectors of 4 doubles per tile row: accumulators that stay in registers.
      // Pointers stepped per l, with the row offsets hoisted: indices recomputed from l cost two
      // 64-bit multiplies per step on wasm32, which its engines do not strength-reduce.
      V4 acc[kTileRows][kTileCols / 4] = {};
      const ptrdiff_t rs = A.row_stride, cs = A.col_stride, bs = p;
      const double* al = A.data + i * rs;
      const double* bl = B + j;
      for (int64_t l = 0; l < k; ++l, al += cs, bl += bs) {
        V4 bv[kTileCols / 4];
        for (int64_t q = 0; q < kTileCols / 4; ++q) load4(bv[q], bl + 4 * q);
        for (int64_t r = 0; r < kTileRows; ++r) {
          const double a = al[r * rs];
          for (int64_t q = 0; q < kTileCols / 4; ++q) acc[r][q] += a * bv[q];
        }
      }
      for (int64_t r = 0; r < kTileRows; ++r)
        for (int64_t q = 0; q < kTileCols; ++q)
          store(&C[(i + r) * p + j + q], beta, alpha, acc[r][q / 4][q % 4]);
    }
    for (; j < cols; ++j)
      for (int64_t r = 0; r < kTileRows; ++r) {
        double acc = 0;
        for (int64_t l = 0; l < k; ++l) acc += A.at(i + r, l) * B[l * p + j];
        store(&C[(i + r) * p + j], beta, alpha, acc);
      }
  }
  for (; i < e; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      double acc = 0;
      for (int64_t l = 0; l < k; ++l) acc += A.at(i, l) * B[l * p + j];
      store(&C[i * p + j], beta, alpha, acc);
    }
}

// Output rows per chunk: a multiple of the tile, about 256k multiply-adds, so small products run
// on one thread.
int64_t row_chunk(int64_t p, int64_t k) {
  const int64_t rows = (1 << 18) / std::max<int64_t>(1, p * k);
  return std::max<int64_t>(kTileRows, rows / kTileRows * kTileRows);
}

void product(int64_t n, int64_t p, int64_t k, double alpha, View A, const double* B, double beta,
             double* C) {
  parallel_chunks(n, row_chunk(p, k), [&](int64_t, int64_t b, int64_t e) {
    FL_ISA_CALL(product_rows(b, e, p, p, k, alpha, A, B, beta, C));
  });
}

// B^T (k x p) of B (p x k), into a buffer kept per thread: a fresh block of this size is returned
// to the OS on free and faulted in each call.
const double* transposed(int64_t p, int64_t k, const double* B) {
  static thread_local Mat bt;
  bt.resize(static_cast<size_t>(k * p));
  for (int64_t j = 0; j < p; ++j)
    for (int64_t l = 0; l < k; ++l) bt[l * p + j] = B[j * k + l];
  return bt.data();
}

// a . b as kLanes partial sums in a fixed order, so that it vectorises under strict IEEE.
FL_INLINE double dot_lanes(const double* a, const double* b, int64_t n) {
  double acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int q = 0; q < kLanes; ++q) acc[q] += a[i + q] * b[i + q];
  double s = 0;
  for (; i < n; ++i) s += a[i] * b[i];
  for (double v : acc) s += v;
  return s;
}

FL_ISA_BODY void gram_apply_body(int64_t n, const double* A, const double* x, double* t,
                                 double* y) {
  std::fill(t, t + n, 0.0);
  for (int64_t l = 0; l < n; ++l) {  // t = A^T x, a sum of rows
    const double f = x[l];
    const double* row = A + l * n;
    for (int64_t j = 0; j < n; ++j) t[j] += f * row[j];
  }
  for (int64_t i = 0; i < n; ++i) y[i] = dot_lanes(A + i * n, t, n);
}

// A[i][l] -= col[i] col[l] for j < l <= i: the Schur complement after column j.
FL_ISA_BODY void trailing_update(double* A, const double* col, int64_t n, int64_t j) {
  for (int64_t i = j + 1; i < n; ++i) {
    const double f = col[i];
    double* row = A + i * n;
    for (int64_t l = j + 1; l <= i; ++l) row[l] -= f * col[l];
  }
}

}  // namespace

void mul_nn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  product(n, p, k, alpha, View{A, k, 1}, B, beta, C);
}

void mul_nt(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  // B^T once (p k values), so that the tiles read B's rows contiguously.
  mul_nn(n, p, k, alpha, A, transposed(p, k, B), beta, C);
}

void mul_nt_symmetric(int64_t n, int64_t k, const double* A, const double* B, double* C) {
  const double* bt = transposed(n, k, B);
  // Each chunk of rows stops at the tile column past its last row; the rest is mirrored.
  parallel_chunks(n, row_chunk(n, k), [&](int64_t, int64_t b, int64_t e) {
    const int64_t cols = std::min(n, (e + kTileCols - 1) / kTileCols * kTileCols);
    FL_ISA_CALL(product_rows(b, e, n, cols, k, 1, View{A, k, 1}, bt, 0, C));
  });
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) C[i * n + j] = C[j * n + i];
}

void mul_tn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C) {
  product(n, p, k, alpha, View{A, 1, n}, B, beta, C);
}

FL_ISA_ENTRY(void, gram_apply, (int64_t n, const double* A, const double* x, double* t, double* y),
             (n, A, x, t, y))

FL_ISA_BODY void householder_body(int64_t m, int64_t d, int64_t r, double* cols, double* v) {
  for (int64_t k = 0; k < r; ++k) {
    double* x = &cols[k * d];
    const double norm = std::sqrt(dot_lanes(x + k, x + k, d - k));
    if (norm == 0) continue;  // nothing below the diagonal to clear
    // v = x + sign(x_k) |x| e_k, reflected as I - 2 v v^T / (v^T v); column k becomes -sign |x|
    // e_k.
    const double alpha = x[k] >= 0 ? -norm : norm;
    std::copy(x + k, x + d, v);
    v[0] -= alpha;
    const double vv = dot_lanes(v, v, d - k);
    for (int64_t j = k; j < m; ++j) {
      double* c = &cols[j * d + k];
      const double f = 2 * dot_lanes(v, c, d - k) / vv;
      for (int64_t i = 0; i < d - k; ++i) c[i] -= f * v[i];
    }
  }
}

int64_t householder_r(int64_t m, int64_t d, const double* H, Mat& R) {
  static thread_local Mat cols, v;  // kept: see transposed
  cols.assign(H, H + m * d);        // column j of H^T, contiguous
  v.resize(static_cast<size_t>(d));
  const int64_t r = std::min(m, d);
  FL_ISA_CALL(householder_body(m, d, r, cols.data(), v.data()));
  R.assign(static_cast<size_t>(r * m), 0.0);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = i; j < m; ++j) R[i * m + j] = cols[j * d + i];
  return r;
}

// y -= f x over n values. Pointers stepped, as in product_rows: 64-bit indices cost 64-bit
// arithmetic per step on wasm32.
FL_INLINE void sub_scaled(double* __restrict y, const double* __restrict x, double f, int64_t n) {
  for (const double* end = x + n; x != end; ++x, ++y) *y -= f * *x;
}

FL_ISA_BODY bool solve_body(int64_t n, int64_t p, double* A, double* B) {
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
      sub_scaled(A + r * n + col, A + col * n + col, f, n - col);
      sub_scaled(B + r * p, B + col * p, f, p);
    }
  }
  for (int64_t r = n - 1; r >= 0; --r) {
    double* x = B + r * p;
    for (int64_t l = r + 1; l < n; ++l) sub_scaled(x, B + l * p, A[r * n + l], p);
    const double inv = 1 / A[r * n + r];
    for (double* end = x + p; x != end; ++x) *x *= inv;
  }
  return true;
}

FL_ISA_ENTRY(bool, solve, (int64_t n, int64_t p, double* A, double* B), (n, p, A, B))

bool inverse_transpose(int64_t n, const double* A, double* out) {
  // A^T X = I gives X = A^-T.
  Mat at(static_cast<size_t>(n * n));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) at[i * n + j] = A[j * n + i];
  std::fill(out, out + n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) out[i * n + i] = 1;
  return solve(n, n, at.data(), out);
}

bool positive_definite(int64_t n, Mat& A) {
  // Right-looking Cholesky on the lower triangle: the trailing update is an axpy per row, which
  // vectorises (the dot-product form's reductions do not).
  static thread_local std::vector<double> col;  // kept: see transposed
  col.resize(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    const double pivot = A[j * n + j];
    if (!(pivot > 0)) return false;
    const double root = std::sqrt(pivot);
    for (int64_t i = j + 1; i < n; ++i) col[i] = A[i * n + j] / root;
    FL_ISA_CALL(trailing_update(A.data(), col.data(), n, j));
  }
  return true;
}

}  // namespace fl::dense
