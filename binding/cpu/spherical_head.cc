// The factored output layer of formulas F.4 and F.5 on the CPU. Every per-step product is between
// d x d, m x d and m x m matrices (dense.h); only the m target rows of V are read and written.
#include "fusedloss/spherical_head.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <utility>

#include "dense.h"
#include "fusedloss/spherical_math.h"
#include "parallel.h"

namespace fl {
namespace {

using dense::Mat;

double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

double dot(const float* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

Mat identity(int64_t d) {
  Mat I(static_cast<size_t>(d * d), 0.0);
  for (int64_t i = 0; i < d; ++i) I[i * d + i] = 1;
  return I;
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// N(0, std^2) draws, a Box-Muller pair per counter value, so chunks fill in parallel and the
// result does not depend on the thread count.
void gaussian_fill(float* out, int64_t n, double std, uint64_t seed) {
  const uint64_t key = splitmix64(seed);
  parallel_chunks((n + 1) / 2, 1 << 14, [&](int64_t, int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      const double u1 = (static_cast<double>(splitmix64(key ^ (2 * k)) >> 11) + 1) * 0x1p-53;
      const double u2 = static_cast<double>(splitmix64(key ^ (2 * k + 1)) >> 11) * 0x1p-53;
      const double r = std * std::sqrt(-2 * std::log(u1)), t = 2 * M_PI * u2;
      out[2 * k] = static_cast<float>(r * std::cos(t));
      if (2 * k + 1 < n) out[2 * k + 1] = static_cast<float>(r * std::sin(t));
    }
  });
}

// Whether every singular value of A (d x d) provably lies in [lo, hi]: by Weyl's inequality each
// is within |A - cI|_2 <= |A - cI|_F of |c|, c = tr A / d. U stays near a multiple of I for many
// steps, and then this O(d^2) test spares the power iterations; their estimates are lower bounds
// of the extreme singular values, so with the 1% margin they could not decide otherwise.
bool singular_values_within(const Mat& A, int64_t d, double lo, double hi) {
  double c = 0;
  for (int64_t i = 0; i < d; ++i) c += A[i * d + i];
  c /= d;
  double e2 = 0;
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double x = A[i * d + j] - (i == j ? c : 0);
      e2 += x * x;
    }
  const double e = std::sqrt(e2), a = std::fabs(c);
  return a + e < 0.99 * hi && a - e > 1.01 * lo;
}

// Classes per chunk of the O(C d) sweeps, and per block widened to double for the tiled products.
constexpr int64_t kClassChunk = 1024;
constexpr int64_t kBlock = 256;

}  // namespace

SphericalHead::SphericalHead(const HeadParams& p, const float* weights)
    : p_(p),
      V_(static_cast<size_t>(p.classes * p.dim)),
      U_(identity(p.dim)),
      Uit_(identity(p.dim)),
      omega_(static_cast<size_t>(p.dim), 0.0) {
  if (weights)
    std::copy(weights, weights + V_.size(), V_.begin());
  else
    gaussian_fill(V_.data(), static_cast<int64_t>(V_.size()), p.init_std, p.seed);
  recompute_moments();
}

void SphericalHead::recompute_moments() {
  const int64_t d = p_.dim, C = p_.classes;
  // A few large chunks, each with its own d x d partial, summed in chunk order; within a chunk,
  // blocks of rows widened to double go through the tiled product.
  const int64_t chunk = std::max<int64_t>(kClassChunk, (C + 15) / 16);
  const int64_t width = d * d + d;
  const Mat total = parallel_reduce<Mat>(
      C, chunk,
      [&](int64_t b, int64_t e, Mat& part) {
        part.assign(static_cast<size_t>(width), 0.0);
        Mat block;
        for (int64_t lo = b; lo < e; lo += kBlock) {
          const int64_t n = std::min(kBlock, e - lo);
          widen(lo, n, block);
          dense::mul_tn(d, d, n, 1, block.data(), block.data(), 1, part.data());
          for (int64_t c = 0; c < n; ++c)
            for (int64_t i = 0; i < d; ++i) part[d * d + i] += block[c * d + i];
        }
      },
      [&](Mat& acc, const Mat& part) {
        if (acc.empty()) acc.assign(static_cast<size_t>(width), 0.0);
        for (int64_t i = 0; i < width; ++i) acc[i] += part[i];
      });
  Q_.assign(static_cast<size_t>(d * d), 0.0);
  wbar_.assign(static_cast<size_t>(d), 0.0);
  if (total.empty()) return;
  std::copy(total.begin(), total.begin() + d * d, Q_.begin());
  std::copy(total.begin() + d * d, total.end(), wbar_.begin());
}

void SphericalHead::widen(int64_t first, int64_t n, Mat& block) const {
  const int64_t d = p_.dim;
  block.resize(static_cast<size_t>(n * d));
  std::copy(&V_[first * d], &V_[(first + n) * d], block.begin());
}

HeadStatus SphericalHead::check_hidden(const float* hidden, int64_t m) const {
  for (int64_t i = 0; i < m * p_.dim; ++i)
    if (!std::isfinite(hidden[i])) return HeadStatus{HeadFault::HiddenNotFinite, i, hidden[i]};
  return HeadStatus{};
}

HeadStatus SphericalHead::step(const float* hidden, const int32_t* targets, int64_t m, double lr,
                               double weight_decay, float* grad_hidden, double* loss) {
  const int64_t d = p_.dim, C = p_.classes;
  if (HeadStatus st = check_hidden(hidden, m); !st.ok()) return st;
  for (int64_t j = 0; j < m; ++j)
    if (targets[j] < 0 || targets[j] >= C)
      return HeadStatus{HeadFault::TargetOutOfRange, j, static_cast<double>(targets[j])};
  const double shrink = 1 - lr * weight_decay;
  if (shrink < kMinStepScale) return HeadStatus{HeadFault::DecayTooLarge, -1, shrink};
  *loss = 0;
  if (m == 0) return HeadStatus{};

  // ---- forward: q = h^T Q h, s = wbar . h, A = W[t] . h = V[t] . (U h) + omega . h ----
  Scratch& w = ws_;
  const auto md = static_cast<size_t>(m * d), mm = static_cast<size_t>(m * m),
             dd = static_cast<size_t>(d * d);
  for (Mat* x : {&w.H, &w.Hhat, &w.Htil, &w.Y, &w.Zhat, &w.dH, &w.F, &w.R, &w.X, &w.Hnew})
    x->resize(md);
  for (Mat* x : {&w.Khh, &w.Kz, &w.K, &w.M, &w.S}) x->resize(mm);
  w.T.resize(dd);
  for (std::vector<double>* x : {&w.s, &w.hw, &w.gA, &w.gq, &w.gs}) x->resize(m);
  Mat &H = w.H, &Hhat = w.Hhat, &Htil = w.Htil;
  std::vector<double>&s = w.s, &hw = w.hw, &gA = w.gA, &gq = w.gq, &gs = w.gs;
  std::copy(hidden, hidden + m * d, H.begin());
  dense::mul_nn(m, d, d, 1, H.data(), Q_.data(), 0, Hhat.data());  // rows Q h: Q is symmetric
  dense::mul_nt(m, d, d, 1, H.data(), U_.data(), 0, Htil.data());
  SphericalParams mse;
  mse.kind = SphericalKind::SquaredError;
  const auto classes = static_cast<int32_t>(C);
  for (int64_t j = 0; j < m; ++j) {
    const double* h = &H[j * d];
    const double q = dot(h, &Hhat[j * d], d);
    s[j] = dot(wbar_.data(), h, d);
    hw[j] = dot(omega_.data(), h, d);
    const double A = dot(&V_[targets[j] * d], &Htil[j * d], d) + hw[j];
    const double mean = s[j] / C, m2 = std::max(0.0, q - s[j] * mean);
    const AffineRow r = p_.loss == HeadLoss::ZLoss ? zloss_row(p_.a, p_.b, mean, m2, A, classes)
                                                   : spherical_row(mse, s[j], q, A, classes);
    *loss += r.loss / m;
    // dL/do_k = alpha + beta (o_k - centre) + gamma [k = c] = dL/ds + 2 dL/dq o_k + dL/dA [k = c]
    gA[j] = r.gamma / m;
    gq[j] = r.beta / (2 * m);
    gs[j] = (r.alpha - r.beta * r.centre) / m;
  }

  // ---- refuse a step whose P = I - 2 lr H diag(gq) H^T is ill-conditioned ----
  // With H^T = Qh R (r = min(m, d) rows of R), P is 1 off span(H) and I_r - 2 lr B on it,
  // B = R diag(gq) R^T: two Cholesky tests on r x r instead of d x d.
  Mat &R0 = w.R0, &B = w.B, &low = w.low, &high = w.high;
  const int64_t r = dense::householder_r(m, d, H.data(), R0);
  // B by the tiled product of R0 diag(gq) and R0 (twice the scalar loop's multiply-adds over
  // the triangle, but vectorised); only its lower triangle is read.
  Mat& Rg = w.low;  // scratch until low is formed from B
  Rg.resize(R0.size());
  for (int64_t a = 0; a < r; ++a)
    for (int64_t j = 0; j < m; ++j) Rg[a * m + j] = R0[a * m + j] * gq[j];
  B.resize(static_cast<size_t>(r * r));
  dense::mul_nt(r, r, m, 1, Rg.data(), R0.data(), 0, B.data());
  low.resize(B.size());
  high.resize(B.size());
  for (int64_t i = 0; i < r * r; ++i) {
    low[i] = -2 * lr * B[i];
    high[i] = 2 * lr * B[i];
  }
  for (int64_t i = 0; i < r; ++i) {
    low[i * r + i] += 1 - kMinStepScale;
    high[i * r + i] += kMaxStepScale - 1;
  }
  if (!dense::positive_definite(r, low) || !dense::positive_definite(r, high))
    return HeadStatus{HeadFault::IllConditioned, -1, lr};

  // ---- dL/dH = 2 Hhat diag(gq) + Zhat, Zhat_j = gA_j (U^T V[t_j] + omega) + gs_j wbar ----
  Mat &Y = w.Y, &Zhat = w.Zhat, &dH = w.dH;
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < d; ++i) Y[j * d + i] = gA[j] * V_[targets[j] * d + i];
  dense::mul_nn(m, d, d, 1, Y.data(), U_.data(), 0, Zhat.data());
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < d; ++i) {
      double& z = Zhat[j * d + i];
      z += gA[j] * omega_[i] + gs[j] * wbar_[i];
      dH[j * d + i] = 2 * gq[j] * Hhat[j * d + i] + z;
      grad_hidden[j * d + i] = static_cast<float>(dH[j * d + i]);
    }
  // A gradient past float32 is refused before anything changes: Z-loss's on tiny hidden rows
  // (logits of tiny std, gradient about 1 / std, as zLoss refuses: spherical_math.h
  // kZLossMinStd), the squared error's on huge ones (it grows with the logits).
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < d; ++i)
      if (!(std::fabs(grad_hidden[j * d + i]) <= FLT_MAX)) {
        if (p_.loss != HeadLoss::ZLoss) return HeadStatus{HeadFault::GradientOverflow, j, 0};
        const double q = dot(&H[j * d], &Hhat[j * d], d), mean = s[j] / C;
        const double sd = std::sqrt(std::max(0.0, q - s[j] * mean) / C);
        return HeadStatus{HeadFault::ZLossSpreadTooSmall, j, sd};
      }

  // ---- everything the update needs from the old state, before any of it changes ----
  // M = Go^T Go (m x m), Go = Ydot + 2 O diag(gq) + 1 gs^T the never-formed C x m output gradient.
  Mat &Khh = w.Khh, &Kz = w.Kz, &K = w.K, &M = w.M;
  dense::mul_nt_symmetric(m, d, H.data(), Hhat.data(), Khh.data());  // H Q H^T
  dense::mul_nt(m, m, d, 1, H.data(), Zhat.data(), 0, Kz.data());
  dense::mul_nt_symmetric(m, d, H.data(), H.data(), K.data());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < m; ++j)
      M[i * m + j] = 4 * gq[i] * gq[j] * Khh[i * m + j] + C * gs[i] * gs[j] +
                     (targets[i] == targets[j] ? gA[i] * gA[j] : 0) + gs[i] * gA[j] +
                     gA[i] * gs[j] + 2 * gq[i] * Kz[i * m + j] + 2 * Kz[j * m + i] * gq[j];
  // Q <- Q - lr (dH^T H + H^T dH) + lr^2 H^T M H = Q + H^T F + F^T H, F = (lr^2 / 2) M H - lr dH.
  Mat &F = w.F, &T = w.T;
  dense::mul_nn(m, d, m, lr * lr / 2, M.data(), H.data(), 0, F.data());
  for (int64_t i = 0; i < m * d; ++i) F[i] -= lr * dH[i];
  dense::mul_tn(d, d, m, 1, H.data(), F.data(), 0, T.data());
  // Woodbury: Uit P^-1 = Uit + lr (Uit H) S^-1 (2 diag(gq) H^T), S = I_m - 2 lr diag(gq) H^T H.
  Mat &R = w.R, &X = w.X, &S = w.S;
  dense::mul_nt(m, d, d, 1, H.data(), Uit_.data(), 0, R.data());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < m; ++j) S[i * m + j] = (i == j) - 2 * lr * gq[i] * K[i * m + j];
    for (int64_t l = 0; l < d; ++l) X[i * d + l] = 2 * gq[i] * H[i * d + l];
  }
  if (!dense::solve(m, d, S.data(), X.data())) return HeadStatus{HeadFault::IllConditioned, -1, lr};

  // ---- apply: Q, wbar, omega, U, Uit, then the m target rows of V ----
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) Q_[i * d + j] += T[i * d + j] + T[j * d + i];
  for (int64_t j = 0; j < m; ++j) {
    const double cw = gA[j] + 2 * gq[j] * s[j] + C * gs[j];  // (Go^T 1)_j
    const double co = 2 * gq[j] * hw[j] + gs[j];
    for (int64_t i = 0; i < d; ++i) {
      wbar_[i] -= lr * cw * H[j * d + i];
      omega_[i] -= lr * co * H[j * d + i];
    }
  }
  for (int64_t j = 0; j < m; ++j)
    for (int64_t i = 0; i < d; ++i) Htil[j * d + i] *= gq[j];
  dense::mul_tn(d, d, m, -2 * lr, Htil.data(), H.data(), 1, U_.data());  // U <- U P
  dense::mul_tn(d, d, m, lr, R.data(), X.data(), 1, Uit_.data());
  Mat& Hnew = w.Hnew;  // rows Uit_new h_j
  dense::mul_nt(m, d, d, 1, H.data(), Uit_.data(), 0, Hnew.data());
  for (int64_t j = 0; j < m; ++j) {
    float* v = &V_[targets[j] * d];
    for (int64_t i = 0; i < d; ++i) v[i] -= static_cast<float>(lr * gA[j] * Hnew[j * d + i]);
  }
  if (shrink != 1) {  // W <- shrink W (formulas F.5: Q and wbar scale too)
    for (double& x : U_) x *= shrink;
    for (double& x : Uit_) x /= shrink;
    for (double& x : Q_) x *= shrink * shrink;
    for (double& x : omega_) x *= shrink;
    for (double& x : wbar_) x *= shrink;
  }
  ++stats_.steps;
  if (p_.stabilize_every > 0 && stats_.steps % p_.stabilize_every == 0) stabilize();
  return HeadStatus{};
}

void SphericalHead::stabilize() {
  const int64_t d = p_.dim;
  ++stats_.stabilizations;
  // Iterated Woodbury updates drift: start from an exact inverse (formulas F.5).
  if (!dense::inverse_transpose(d, U_.data(), Uit_.data())) {
    unfactorize();
    return;
  }
  const int64_t budget = std::max<int64_t>(1, d / 3);
  std::vector<double> u, t(static_cast<size_t>(d));
  // y = A A^T x for A = U (largest singular value of U) or A = Uit (1 / the smallest).
  auto gram = [&](const Mat& A) {
    return [&, pa = &A](const double* x, double* y) {
      dense::gram_apply(d, pa->data(), x, t.data(), y);
    };
  };
  for (int64_t fixes = 0;;) {
    if (singular_values_within(U_, d, kSvLow, kSvHigh)) return;
    double sv = std::sqrt(dense::power_iteration(d, 100, gram(U_), u));
    if (!(sv > kSvHigh)) {
      const double inv = dense::power_iteration(d, 100, gram(Uit_), u);
      sv = inv > 0 ? 1 / std::sqrt(inv) : 0;
      if (!(sv < kSvLow)) return;
    }
    if (++fixes > budget || !(sv > 0)) {
      unfactorize();
      return;
    }
    reset_singular_value(u, sv);
  }
}

void SphericalHead::reset_singular_value(const std::vector<double>& u, double sv) {
  // U <- (I + a u u^T) U takes sv to 1; V <- V (I + b u u^T) and Uit <- (I + b u u^T) Uit with
  // b = -a / (1 + a) keep W = V U and Uit = U^-T.
  const int64_t d = p_.dim;
  const double a = (1 - sv) / sv, b = -a / (1 + a);
  std::vector<double> uU(static_cast<size_t>(d)), uUit(uU.size());
  dense::mul_nn(1, d, d, 1, u.data(), U_.data(), 0, uU.data());
  dense::mul_nn(1, d, d, 1, u.data(), Uit_.data(), 0, uUit.data());
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      U_[i * d + j] += a * u[i] * uU[j];
      Uit_[i * d + j] += b * u[i] * uUit[j];
    }
  parallel_chunks(p_.classes, kClassChunk, [&](int64_t, int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      float* v = &V_[c * d];
      const double f = b * dot(v, u.data(), d);
      for (int64_t i = 0; i < d; ++i) v[i] += static_cast<float>(f * u[i]);
    }
  });
  ++stats_.resets;
}

void SphericalHead::unfactorize() {
  weights(V_.data());  // row by row: each row of W only reads its own row of V
  U_ = identity(p_.dim);
  Uit_ = U_;
  std::fill(omega_.begin(), omega_.end(), 0.0);
  ++stats_.unfactorizations;
}

void SphericalHead::renormalize() {
  unfactorize();
  recompute_moments();
}

void SphericalHead::weights(float* out) const {
  const int64_t d = p_.dim;
  parallel_chunks(p_.classes, kBlock, [&](int64_t, int64_t lo, int64_t hi) {
    Mat block, w(static_cast<size_t>((hi - lo) * d));
    widen(lo, hi - lo, block);
    dense::mul_nn(hi - lo, d, d, 1, block.data(), U_.data(), 0, w.data());  // rows v_c U
    for (int64_t c = 0; c < hi - lo; ++c)
      for (int64_t j = 0; j < d; ++j)
        out[(lo + c) * d + j] = static_cast<float>(w[c * d + j] + omega_[j]);
  });
}

HeadStatus SphericalHead::scores(const float* hidden, int64_t m, float* out) const {
  if (HeadStatus st = check_hidden(hidden, m); !st.ok()) return st;
  const int64_t d = p_.dim, C = p_.classes;
  Mat H(hidden, hidden + m * d), Htil(H.size());
  dense::mul_nt(m, d, d, 1, H.data(), U_.data(), 0, Htil.data());
  std::vector<double> bias(m);
  for (int64_t j = 0; j < m; ++j) bias[j] = dot(omega_.data(), &H[j * d], d);
  parallel_chunks(C, kBlock, [&](int64_t, int64_t lo, int64_t hi) {
    Mat block, o(static_cast<size_t>(m * (hi - lo)));
    widen(lo, hi - lo, block);
    dense::mul_nt(m, hi - lo, d, 1, Htil.data(), block.data(), 0, o.data());
    for (int64_t j = 0; j < m; ++j)
      for (int64_t c = lo; c < hi; ++c)
        out[j * C + c] = static_cast<float>(o[j * (hi - lo) + c - lo] + bias[j]);
  });
  return HeadStatus{};
}

HeadStatus SphericalHead::top_k(const float* hidden, int64_t m, int32_t k, int32_t* classes,
                                float* values) const {
  if (HeadStatus st = check_hidden(hidden, m); !st.ok()) return st;
  const int64_t d = p_.dim, C = p_.classes;
  Mat H(hidden, hidden + m * d), Htil(H.size());
  dense::mul_nt(m, d, d, 1, H.data(), U_.data(), 0, Htil.data());
  std::vector<double> bias(m);
  for (int64_t j = 0; j < m; ++j) bias[j] = dot(omega_.data(), &H[j * d], d);
  using Cand = std::pair<float, int32_t>;
  // Better: the higher score, then the lower class.
  auto better = [](const Cand& x, const Cand& y) {
    return x.first > y.first || (x.first == y.first && x.second < y.second);
  };
  auto keep_best = [&](std::vector<Cand>& v) {
    const size_t n = std::min<size_t>(static_cast<size_t>(k), v.size());
    std::partial_sort(v.begin(), v.begin() + n, v.end(), better);
    v.resize(n);
  };
  // Each chunk keeps its k best per row; the chunks' lists are merged in order afterwards.
  const int64_t chunks = chunk_count(C, kBlock);
  std::vector<std::vector<Cand>> best(static_cast<size_t>(chunks * m));
  parallel_chunks(C, kBlock, [&](int64_t ci, int64_t lo, int64_t hi) {
    Mat block, o(static_cast<size_t>(m * (hi - lo)));
    widen(lo, hi - lo, block);
    dense::mul_nt(m, hi - lo, d, 1, Htil.data(), block.data(), 0, o.data());
    for (int64_t j = 0; j < m; ++j) {
      std::vector<Cand>& v = best[ci * m + j];
      for (int64_t c = lo; c < hi; ++c)
        v.emplace_back(static_cast<float>(o[j * (hi - lo) + c - lo] + bias[j]),
                       static_cast<int32_t>(c));
      keep_best(v);
    }
  });
  for (int64_t j = 0; j < m; ++j) {
    std::vector<Cand> all;
    for (int64_t ci = 0; ci < chunks; ++ci)
      all.insert(all.end(), best[ci * m + j].begin(), best[ci * m + j].end());
    keep_best(all);
    for (int32_t r = 0; r < k; ++r) {
      classes[j * k + r] = all[r].second;
      values[j * k + r] = all[r].first;
    }
  }
  return HeadStatus{};
}

}  // namespace fl
