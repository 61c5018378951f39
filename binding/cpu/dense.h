// Small dense linear algebra on row-major double matrices for the factored output layer
// (spherical_head.cc): products threaded over output rows, LU solves, a Cholesky definiteness
// test and power iteration. Sizes are the hidden width d and the minibatch m (hundreds), so plain
// loops that vectorise along rows are enough; nothing here touches the C classes.
#pragma once

#include <cstdint>
#include <vector>

namespace fl::dense {

using Mat = std::vector<double>;

// C (n x p) = beta C + alpha A B^T, A n x k, B p x k: dot products of rows.
void mul_nt(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C);
// C (n x n) = A B^T, A and B n x k, for a product known to be symmetric (B = A, or B = A S with S
// symmetric): the lower triangle, about half the work, then mirrored.
void mul_nt_symmetric(int64_t n, int64_t k, const double* A, const double* B, double* C);
// C (n x p) = beta C + alpha A B, A n x k, B k x p.
void mul_nn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C);
// C (n x p) = beta C + alpha A^T B, A k x n, B k x p: a sum of k outer products.
void mul_tn(int64_t n, int64_t p, int64_t k, double alpha, const double* A, const double* B,
            double beta, double* C);

// Solves A X = B in place (A n x n, destroyed; B n x p, becomes X) by LU with partial pivoting.
// False when a pivot is 0 (A singular).
bool solve(int64_t n, int64_t p, double* A, double* B);

// y = A A^T x for A n x n (t: n values of scratch, A^T x): the power iteration's operator, by
// contiguous passes over A's rows.
void gram_apply(int64_t n, const double* A, const double* x, double* t, double* y);

// A^-T of an n x n matrix, or false when it is singular.
bool inverse_transpose(int64_t n, const double* A, double* out);

// The triangular factor R of H^T = Qh R by Householder reflections, for H m x d row-major (its
// rows are the columns of H^T): R is r x m row-major with r = min(m, d), upper trapezoidal, and
// H H^T = R^T R. Returns r. O(d m min(m, d)).
int64_t householder_r(int64_t m, int64_t d, const double* H, Mat& R);

// Whether the symmetric n x n matrix A is positive definite (a Cholesky factorisation succeeds);
// A is overwritten.
bool positive_definite(int64_t n, Mat& A);

// The largest eigenvalue of the symmetric positive semi-definite operator `apply` (x -> y) on
// R^n and its unit eigenvector, by `iters` power iterations from a fixed start.
template <class Apply>
double power_iteration(int64_t n, int iters, Apply apply, std::vector<double>& vec);

}  // namespace fl::dense

#include "dense_power.inl"
