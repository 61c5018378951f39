// CPU kernels of the soft-confusion-matrix family (formulas A, B). Each loss is two sweeps over the
// rows: pass 1 reduces the batch sums (per class), a scalar step turns them into per-class
// gradient constants, pass 2 writes the gradient. Binary rows run in 8-lane blocks; multi-class
// rows go through a softmax whose probabilities are parked in the gradient row, not a buffer.
#include "fusedloss/confusion.h"

#include <algorithm>
#include <cfloat>
#include <type_traits>
#include <vector>

#include "fusedloss/confusion_math.h"
#include "fusedloss/dispatch.h"
#include "parallel.h"
#include "rows.h"
#include "simd.h"
#include "wide.h"

namespace fl {
namespace {

template <class L>
FL_INLINE float label_value(const L* labels, int64_t i) {
  return static_cast<float>(labels[i]);
}

// ---- validation: a vectorisable scan first, the exact index only when something is wrong ----

// Scores [b, e) finite (logits) or in [0, 1] (probabilities); labels [rb, re) in [0, 1] (binary)
// or [0, classes); weights [rb, re) finite and >= 0.
template <bool Logits, class L>
FL_ISA_BODY bool chunk_valid(const float* __restrict x, int64_t b, int64_t e, const L* __restrict y,
                             const float* __restrict w, int64_t rb, int64_t re, int32_t classes) {
  int bad = 0;
  for (int64_t i = b; i < e; ++i)
    bad |= Logits ? !(std::fabs(x[i]) <= FLT_MAX) : !(x[i] >= 0.0f && x[i] <= 1.0f);
  const float top = classes == 1 ? 1.0f : static_cast<float>(classes - 1);
  for (int64_t i = rb; i < re; ++i) {
    const float yi = label_value(y, i);
    bad |= !(yi >= 0.0f && yi <= top);
  }
  if (w)
    for (int64_t i = rb; i < re; ++i) bad |= !(w[i] >= 0.0f && w[i] <= FLT_MAX);
  return bad == 0;
}

// The first invalid element of rows [b, e): scores, then labels, then weights of each row.
template <class L>
Status find_fault(const ConfusionProblem& pb, const L* y, int64_t b, int64_t e) {
  const int64_t c = pb.classes;
  return first_row_fault(pb.scores, c, pb.input == Input::Logits, pb.weights, b, e, [&](int64_t i) {
    const double yi = static_cast<double>(y[i]);
    const bool ok = c == 1 ? (yi >= 0 && yi <= 1) : (yi >= 0 && yi < c);
    return ok ? Status{} : Status::at(Fault::LabelOutOfRange, i, yi);
  });
}

template <class L>
bool rows_valid(const ConfusionProblem& pb, const L* y, int64_t b, int64_t e) {
  const int64_t c = pb.classes;
  return pb.input == Input::Logits
             ? FL_ISA_CALL(chunk_valid<true>(pb.scores, b * c, e * c, y, pb.weights, b, e, c))
             : FL_ISA_CALL(chunk_valid<false>(pb.scores, b * c, e * c, y, pb.weights, b, e, c));
}

// Per-chunk partial sums: [n, then per class tp, s (sum yhat), n1]; the first fault seen.
struct Partial {
  std::vector<double> sums;
  Status status;
};

Status first_fault(const std::vector<Partial>& parts) {
  for (const Partial& p : parts)
    if (!p.status.ok()) return p.status;
  return Status{};
}

// ---- AnyLoss pass 1 ----
// With a stash buffer (the gradient), pass 1 also leaves there what pass 2 needs per element:
// d yhat / d score for binary rows, the probabilities for multi-class rows.

// Labels [b, e) as floats: the array itself when it holds floats, else converted into buf (at
// most kBlockSteps * kLanes entries) so the math loops that follow see one type and vectorise.
template <class L>
FL_ISA_BODY const float* float_labels(const L* __restrict y, int64_t b, int64_t e,
                                      float* __restrict buf) {
  if constexpr (std::is_same_v<L, float>) {
    return y + b;
  } else {
    for (int64_t i = b; i < e; ++i) buf[i - b] = static_cast<float>(y[i]);
    return buf;
  }
}

// Returns false when an input of [b, e) is invalid (the sums are then meaningless): the value
// checks ride along the first stage, which reads the same data (12% faster than a separate scan).
// A block of kBlockSteps * kLanes rows goes through three flat loops (each vectorises at the
// level's full width): the amplifier's input, the amplified prediction, then the count terms into
// kLanes float lanes kept in registers (as an array indexed in a remainder loop they lived in
// memory, and each step waited on the last one's store: 1.6x slower). The lanes past a block's
// end add exact zeros, so lane j sums rows j, j + kLanes, ... of each block whatever the length.
template <bool Logits, bool Weighted, bool Stash, class L>
FL_ISA_BODY bool binary_sums(const float* __restrict x, const L* __restrict y,
                             const float* __restrict w, int64_t b, int64_t e, float amp,
                             double* out /* tp, fn, fp, tn */, float* __restrict stash) {
  constexpr int64_t kBlock = kBlockSteps * kLanes;
  double dtp[kLanes] = {}, dfn[kLanes] = {}, dfp[kLanes] = {}, dtn[kLanes] = {};
  int bad = 0;
  for (int64_t block = b; block < e; block += kBlock) {
    const int64_t len = std::min(e - block, kBlock);
    float ybuf[kBlock];
    const float* yf = float_labels(y, block, block + len, ybuf);
    const float* wb = Weighted ? w + block : nullptr;
    float z[kBlock], dz[kBlock];  // separate arrays: no shuffles
    for (int64_t i = 0; i < len; ++i) {
      const float xi = x[block + i], yi = yf[i];
      bad |= Logits ? !(std::fabs(xi) <= FLT_MAX) : !(xi >= 0.0f && xi <= 1.0f);
      bad |= !(yi >= 0.0f && yi <= 1.0f);
      if (Weighted) bad |= !(wb[i] >= 0.0f && wb[i] <= FLT_MAX);
      const AmplifierInput in = amplifier_input<Logits>(xi, amp);
      z[i] = in.z;
      dz[i] = in.dz;
    }
    float yhat[kBlock], rest[kBlock];
    for (int64_t i = 0; i < len; ++i) {
      const Amplified a = amplified(AmplifierInput{z[i], dz[i]});
      yhat[i] = a.yhat;
      rest[i] = a.rest;
      if (Stash) stash[block + i] = a.slope;
    }
    Vec8 ftp = {}, ffn = {}, ffp = {}, ftn = {};
    const auto add = [&](int64_t i, const Vec8& yv, const Vec8& wv) FL_LAMBDA_INLINE {
      Vec8 yh, rs;
      load_vec(yh, yhat + i);
      load_vec(rs, rest + i);
      const Vec8 pos = wv * yv, neg = wv * (1.0f - yv);
      ftp += pos * yh;
      ffn += pos * rs;
      ffp += neg * yh;
      ftn += neg * rs;
    };
    int64_t i = 0;
    for (Vec8 yv, wv = Vec8{} + 1.0f; i + kLanes <= len; i += kLanes) {
      load_vec(yv, yf + i);
      if (Weighted) load_vec(wv, wb + i);
      add(i, yv, wv);
    }
    if (i < len) {  // the last rows in the first lanes, zero weight in the others
      Vec8 yv = {}, wv = {};
      for (int j = 0; i + j < len; ++j) {
        yv[j] = yf[i + j];
        wv[j] = Weighted ? wb[i + j] : 1.0f;
      }
      for (int64_t k = len; k < i + kLanes; ++k) yhat[k] = rest[k] = 0.0f;
      add(i, yv, wv);
    }
    for (int j = 0; j < kLanes; ++j) {
      dtp[j] += ftp[j];
      dfn[j] += ffn[j];
      dfp[j] += ffp[j];
      dtn[j] += ftn[j];
    }
  }
  for (int j = 0; j < kLanes; ++j) {
    out[0] += dtp[j];
    out[1] += dfn[j];
    out[2] += dfp[j];
    out[3] += dtn[j];
  }
  return bad == 0;
}

// Softmax of rows [0, rows) of x into p, with the exponentials taken in one flat loop over the
// whole block rather than row by row (short rows would spend most of their time in remainders).
FL_INLINE void softmax_rows(const float* __restrict x, int64_t rows, int32_t c,
                            float* __restrict p) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * c;
    float m = xr[0];
    for (int32_t k = 1; k < c; ++k) m = xr[k] > m ? xr[k] : m;
    for (int32_t k = 0; k < c; ++k) p[r * c + k] = xr[k] - m;
  }
  for (int64_t k = 0; k < rows * c; ++k) p[k] = exp_nonpos(p[k]);
  for (int64_t r = 0; r < rows; ++r) {
    const float inv = static_cast<float>(1.0 / lane_sum(p + r * c, c));
    for (int32_t k = 0; k < c; ++k) p[r * c + k] *= inv;
  }
}

// Probabilities of rows [b, e): the softmax for logits (written to dst), the scores otherwise.
FL_INLINE const float* block_probabilities(const ConfusionProblem& pb, int64_t b, int64_t e,
                                           float* dst) {
  const float* x = pb.scores + b * pb.classes;
  if (pb.input == Input::Probabilities) return x;
  softmax_rows(x, e - b, pb.classes, dst);
  return dst;
}

// Per-class soft counts of the rows [b, e) into out = [tp_k, fn_k, fp_k, tn_k] (count_terms),
// through float blocks of kBlockSteps rows as in binary_sums. yhat and 1 - yhat are computed for
// the whole block in one flat loop. `stash` (or, without one, `probs`) receives the block's
// probabilities; `yhat`, `rest` (block long) and `f` (4 classes long) are scratch.
template <class L>
FL_ISA_BODY void multiclass_sums(const ConfusionProblem& pb, const L* y, int64_t b, int64_t e,
                                 float amp, double* out, float* probs, float* yhat, float* rest,
                                 float* f) {
  const int32_t c = pb.classes;
  const float* p = block_probabilities(pb, b, e, probs);
  for (int64_t k = 0; k < (e - b) * c; ++k) {
    const Amplified a = amplify<false>(p[k], amp);
    yhat[k] = a.yhat;
    rest[k] = a.rest;
  }
  std::fill(f, f + 4 * c, 0.0f);
  for (int64_t i = b; i < e; ++i) {
    const float* yh = yhat + (i - b) * c;
    const float* rs = rest + (i - b) * c;
    const float wi = pb.weights ? pb.weights[i] : 1.0f;
    const int32_t yi = static_cast<int32_t>(y[i]);
    for (int32_t k = 0; k < c; ++k) {
      const CountTerms t = count_terms(Amplified{yh[k], 0.0f, rs[k]}, k == yi ? 1.0f : 0.0f, wi);
      f[k] += t.tp;
      f[c + k] += t.fn;
      f[2 * c + k] += t.fp;
      f[3 * c + k] += t.tn;
    }
    if ((i - b + 1) % kBlockSteps == 0 || i + 1 == e) {
      for (int32_t k = 0; k < 4 * c; ++k) out[k] += f[k];
      std::fill(f, f + 4 * c, 0.0f);
    }
  }
}

template <class L>
Status counts_typed(const ConfusionProblem& pb, const L* y, float amp, Counts* counts,
                    float* stash) {
  const int32_t c = pb.classes;
  const int64_t rpc = rows_per_chunk(c);
  std::vector<Partial> parts(static_cast<size_t>(chunk_count(pb.rows, rpc)));
  parallel_chunks(pb.rows, rpc, [&](int64_t ci, int64_t b, int64_t e) {
    Partial& part = parts[ci];
    part.sums.assign(4 * static_cast<size_t>(c), 0.0);
    if (c == 1) {
      bool valid = true;
      with_flags(
          [&](auto lg, auto wt, auto st) {
            valid = FL_ISA_CALL(binary_sums<lg.value, wt.value, st.value>(
                pb.scores, y, pb.weights, b, e, amp, part.sums.data(), stash));
          },
          pb.input == Input::Logits, pb.weights != nullptr, stash != nullptr);
      if (!valid) part.status = find_fault(pb, y, b, e);
    } else if (!rows_valid(pb, y, b, e)) {
      part.status = find_fault(pb, y, b, e);
    } else {
      const size_t block = static_cast<size_t>(e - b) * c;
      std::vector<float> scratch((stash ? 2 : 3) * block + 4 * c);
      float* probs = stash ? stash + b * c : scratch.data() + 2 * block + 4 * c;
      FL_ISA_CALL(multiclass_sums(pb, y, b, e, amp, part.sums.data(), probs, scratch.data(),
                                  scratch.data() + block, scratch.data() + 2 * block));
    }
  });
  const Status st = first_fault(parts);
  if (!st.ok()) return st;
  std::vector<double> total(4 * static_cast<size_t>(c), 0.0);
  for (const Partial& p : parts)
    for (size_t j = 0; j < total.size(); ++j) total[j] += p.sums[j];
  for (int32_t k = 0; k < c; ++k)
    counts[k] = Counts{total[k], total[c + k], total[2 * c + k], total[3 * c + k]};
  return Status{};
}

// ---- AnyLoss pass 2 ----

// Binary rows [b, e): g holds pass 1's stash, d yhat / d score, and becomes the gradient.
template <bool Weighted, class L>
FL_ISA_BODY void binary_backward(const L* __restrict y, const float* __restrict w, int64_t b,
                                 int64_t e, float dpos, float dneg, float* __restrict g) {
  for (int64_t block = b; block < e; block += kBlockSteps * kLanes) {
    const int64_t end = std::min(e, block + kBlockSteps * kLanes);
    float ybuf[kBlockSteps * kLanes];
    const float* yf = float_labels(y, block, end, ybuf);
    for (int64_t i = block; i < end; ++i) {
      const float yi = yf[i - block], wi = Weighted ? w[i] : 1.0f;
      g[i] *= wi * (yi * dpos + (1.0f - yi) * dneg);
    }
  }
}

// Softmax backward in place: g holds p and becomes p_k (u_k - sum_j p_j u_j).
FL_INLINE void softmax_backward_inplace(float* __restrict g, const float* __restrict u, int32_t c) {
  double acc[kLanes] = {};
  int32_t i = 0;
  for (; i + kLanes <= c; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(g[i + j]) * u[i + j];
  for (int j = 0; i < c; ++i, ++j) acc[j] += static_cast<double>(g[i]) * u[i];
  double dot = 0;
  for (int j = 0; j < kLanes; ++j) dot += acc[j];
  const float d = static_cast<float>(dot);
  for (int32_t k = 0; k < c; ++k) g[k] *= u[k] - d;
}

// Rows [b, e): u_k = w (y == k ? dpos_k : dneg_k) d yhat_k / d p_k, then the softmax backward
// (logits) or u itself (probabilities). `u` is scratch, (e - b) x classes.
template <class L>
FL_ISA_BODY void multiclass_backward(const ConfusionProblem& pb, const L* y, int64_t b, int64_t e,
                                     float amp, const float* dpos, const float* dneg, float* grad,
                                     float* u) {
  const int32_t c = pb.classes;
  const bool logits = pb.input == Input::Logits;
  float* g = grad + b * c;
  // Logits: pass 1 stashed the probabilities in g. Probabilities: they are the scores.
  const float* p = logits ? g : pb.scores + b * c;
  for (int64_t k = 0; k < (e - b) * c; ++k) u[k] = amplify<false>(p[k], amp).slope;
  for (int64_t i = b; i < e; ++i) {
    float* ur = u + (i - b) * c;
    const float wi = pb.weights ? pb.weights[i] : 1.0f;
    const int32_t yi = static_cast<int32_t>(y[i]);
    for (int32_t k = 0; k < c; ++k) ur[k] *= wi * (k == yi ? dpos[k] : dneg[k]);
    if (logits)
      softmax_backward_inplace(g + (i - b) * c, ur, c);
    else
      std::copy(ur, ur + c, g + (i - b) * c);
  }
}

template <class L>
void backward_typed(const ConfusionProblem& pb, const L* y, float amp, const double* dpos,
                    const double* dneg, float* grad) {
  const int32_t c = pb.classes;
  const std::vector<float> dp(dpos, dpos + c), dn(dneg, dneg + c);
  parallel_chunks(pb.rows, rows_per_chunk(c), [&](int64_t, int64_t b, int64_t e) {
    if (c == 1) {
      const float dp = static_cast<float>(dpos[0]), dn = static_cast<float>(dneg[0]);
      with_flags(
          [&](auto wt) {
            FL_ISA_CALL(binary_backward<wt.value>(y, pb.weights, b, e, dp, dn, grad));
          },
          pb.weights != nullptr);
    } else {
      std::vector<float> u(static_cast<size_t>(e - b) * c);
      FL_ISA_CALL(multiclass_backward(pb, y, b, e, amp, dp.data(), dn.data(), grad, u.data()));
    }
  });
}

// ---- Overlap losses (Dice, Tversky) ----

// One cell of pass 1, given pt and rest = 1 - pt: its loss (per example) or its sums' terms.
void add_overlap_cell(const OverlapParams& op, double w, double pt, double rest, double y,
                      double* loss, double* sums) {
  double t[kOverlapSums];
  overlap_parts(op, pt, rest, y, t);
  if (op.per_example) {
    *loss += w * overlap_complement(op, t);
  } else {
    for (int j = 0; j < kOverlapSums; ++j) sums[j] += w * t[j];
  }
}

// Self-adjusted softmax row: pt_k = p_k r_k^alpha with r_k = 1 - p_k computed without
// cancellation for the dominant class d (r_d = sum_{j != d} e_j / sum_j e_j).
struct AdjustedRow {
  int32_t d = 0;   // dominant class
  double r_d = 0;  // 1 - p_d, accurate
};

AdjustedRow adjusted_row(const float* x, int32_t c) {
  AdjustedRow a;
  for (int32_t k = 1; k < c; ++k)
    if (x[k] > x[a.d]) a.d = k;
  double rest = 0, all = 0;
  for (int32_t k = 0; k < c; ++k) {
    const double ek = std::exp(static_cast<double>(x[k]) - x[a.d]);
    all += ek;
    if (k != a.d) rest += ek;
  }
  a.r_d = rest / all;
  return a;
}

// 1 - p_k of a softmax row (accurate for the dominant class when `a` was computed).
double one_minus(const AdjustedRow* a, int32_t k, const float* p) {
  return a && k == a->d ? a->r_d : 1.0 - p[k];
}

// pt = p r^alpha of one cell of a multi-class row, with r = one_minus(...).
double adjusted_pt(double p, double r, double alpha) {
  return alpha == 0 ? p : p * std::pow(r, alpha);
}

// d loss / d x_j for a softmax row given G_m = d loss / d pt_m, pt_m = p_m r_m^alpha:
//   dx_j = b_j - p_j sum_{m != j} b_m / r_m,   b_m = G_m r_m^alpha (1 - (1 + alpha) p_m) p_m,
// where every b_m / r_m with m != d is bounded (r_m >= p_d >= 1/C) and p_j b_d / r_d is taken as
// (p_j / r_d) b_d with p_j <= r_d. For alpha = 0 this is the plain softmax backward.
void adjusted_softmax_backward(const AdjustedRow& a, int32_t c, const float* p, const double* G,
                               double alpha, float* g, double* b) {
  double rest = 0;  // sum over m != d of b_m / r_m
  for (int32_t m = 0; m < c; ++m) {
    const double r = one_minus(&a, m, p);
    b[m] = G[m] * std::pow(r, alpha) * (1 - (1 + alpha) * p[m]) * p[m];
    if (m != a.d) rest += b[m] / r;
  }
  for (int32_t j = 0; j < c; ++j) {
    if (j == a.d) {
      g[j] = static_cast<float>(b[j] - p[j] * rest);
    } else {
      const double r = 1.0 - p[j];
      const double bd_term = a.r_d > 0 ? (p[j] / a.r_d) * b[a.d] : 0.0;
      g[j] = static_cast<float>(b[j] - p[j] * (rest - b[j] / r) - bd_term);
    }
  }
}

// Pass 1 of the overlap losses over rows [b, e): out = [per-example loss][(I, P, Y, U, V) per
// class]. Softmax rows of logits take the dominant class's 1 - p accurately (adjusted_row) for
// the misses as well as for pt.
template <class L>
FL_ISA_BODY void overlap_sums(const ConfusionProblem& pb, const L* y, const OverlapParams& op,
                              int64_t b, int64_t e, double* out, float* scratch) {
  const int32_t c = pb.classes;
  const bool logits = pb.input == Input::Logits;
  for (int64_t i = b; i < e; ++i) {
    const double wi = pb.weights ? pb.weights[i] : 1.0;
    if (c == 1) {
      const Adjusted a = logits ? adjust_binary<true>(pb.scores[i], op.adjust)
                                : adjust_binary<false>(pb.scores[i], op.adjust);
      add_overlap_cell(op, wi, a.pt, a.rest, label_value(y, i), out, out + 1);
      continue;
    }
    const float* p = block_probabilities(pb, i, i + 1, scratch);
    const AdjustedRow a = logits ? adjusted_row(pb.scores + i * c, c) : AdjustedRow{};
    const AdjustedRow* careful = logits ? &a : nullptr;
    const int32_t yi = static_cast<int32_t>(y[i]);
    for (int32_t k = 0; k < c; ++k) {
      const double r = one_minus(careful, k, p);
      const double pt = adjusted_pt(p[k], r, op.adjust);
      add_overlap_cell(op, wi, pt, op.adjust == 0 ? r : 1 - pt, k == yi ? 1.0 : 0.0, out,
                       out + 1 + kOverlapSums * k);
    }
  }
}

// Pass 2 of the overlap losses over rows [b, e), given the batch sums.
template <class L>
FL_ISA_BODY void overlap_backward_rows(const ConfusionProblem& pb, const L* y,
                                       const OverlapParams& op, const std::vector<double>& sums,
                                       double scale, int64_t b, int64_t e, float* grad) {
  const int32_t c = pb.classes;
  const bool logits = pb.input == Input::Logits;
  const double alpha = op.adjust;
  std::vector<double> G(c), work(c);
  for (int64_t i = b; i < e; ++i) {
    const double wi = pb.weights ? pb.weights[i] : 1.0;
    if (c == 1) {
      const Adjusted a = logits ? adjust_binary<true>(pb.scores[i], op.adjust)
                                : adjust_binary<false>(pb.scores[i], op.adjust);
      const OverlapTerm t = overlap_cell(op, sums.data() + 1, a.pt, label_value(y, i));
      grad[i] = static_cast<float>(-scale * wi * t.dscore_dpt * a.slope);
      continue;
    }
    float* g = grad + i * c;
    const float* p = block_probabilities(pb, i, i + 1, g);
    // The softmax backward needs the dominant class and its accurate 1 - p in every case.
    const AdjustedRow a = logits ? adjusted_row(pb.scores + i * c, c) : AdjustedRow{};
    const AdjustedRow* careful = logits ? &a : nullptr;
    const int32_t yi = static_cast<int32_t>(y[i]);
    for (int32_t k = 0; k < c; ++k) {
      const double r = one_minus(careful, k, p);
      const double pt = adjusted_pt(p[k], r, alpha);
      const OverlapTerm t =
          overlap_cell(op, sums.data() + 1 + kOverlapSums * k, pt, k == yi ? 1.0 : 0.0);
      G[k] = -scale * wi * t.dscore_dpt;  // d loss / d pt
      if (!logits && alpha != 0)  // probabilities: d pt / d p = r^(alpha-1) (1 - (1+alpha) p)
        G[k] *= std::pow(std::max(r, 1e-7), alpha - 1) * (1 - (1 + alpha) * p[k]);
    }
    if (logits)
      adjusted_softmax_backward(a, c, p, G.data(), alpha, g, work.data());
    else
      for (int32_t k = 0; k < c; ++k) g[k] = static_cast<float>(G[k]);
  }
}

template <class L>
Status overlap_typed(const ConfusionProblem& pb, const L* y, const OverlapParams& op, double* loss,
                     float* grad) {
  const int32_t c = pb.classes;
  const int64_t rpc = rows_per_chunk(c);
  std::vector<Partial> parts(static_cast<size_t>(chunk_count(pb.rows, rpc)));
  parallel_chunks(pb.rows, rpc, [&](int64_t ci, int64_t b, int64_t e) {
    Partial& part = parts[ci];
    if (!rows_valid(pb, y, b, e)) {
      part.status = find_fault(pb, y, b, e);
      return;
    }
    part.sums.assign(1 + kOverlapSums * static_cast<size_t>(c), 0.0);
    std::vector<float> scratch(c);
    FL_ISA_CALL(overlap_sums(pb, y, op, b, e, part.sums.data(), scratch.data()));
  });
  const Status st = first_fault(parts);
  if (!st.ok()) return st;
  std::vector<double> sums(1 + kOverlapSums * static_cast<size_t>(c), 0.0);
  for (const Partial& p : parts)
    for (size_t j = 0; j < sums.size(); ++j) sums[j] += p.sums[j];

  const double scale = overlap_scale(op, pb.rows, c);
  *loss = overlap_loss(op, sums.data(), pb.rows, c);
  parallel_chunks(pb.rows, rpc, [&](int64_t, int64_t b, int64_t e) {
    FL_ISA_CALL(overlap_backward_rows(pb, y, op, sums, scale, b, e, grad));
  });
  return Status{};
}

// ---- Element-wise binary losses (cross-entropy, sigmoid focal) ----

template <bool Weighted, class Cell, class L>
FL_ISA_BODY void elementwise_rows(const float* __restrict x, const L* __restrict y,
                                  const float* __restrict w, int64_t b, int64_t e, Cell cell,
                                  float scale, float* __restrict g, double* loss) {
  // Float blocks as in binary_sums, each term taken times 1 / kBlockSteps (exact, a power of two):
  // a term reaches |x| (3e38 for a confident, wrong logit), and a block of them would overflow.
  constexpr float kShrink = 1.0f / kBlockSteps;
  double acc[kLanes] = {};
  for (int64_t block = b; block < e; block += kBlockSteps * kLanes) {
    const int64_t end = std::min(e, block + kBlockSteps * kLanes);
    float f[kLanes] = {};
    float ybuf[kBlockSteps * kLanes];
    const float* yf = float_labels(y, block, end, ybuf);
    auto add = [&](int64_t k, int j) {
      const float wi = Weighted ? w[k] : 1.0f;
      const ElementLoss t = cell(x[k], yf[k - block]);
      f[j] += wi * kShrink * t.loss;
      g[k] = scale * wi * t.grad;
    };
    int64_t i = block;
    for (; i + kLanes <= end; i += kLanes)
      for (int j = 0; j < kLanes; ++j) add(i + j, j);
    for (int j = 0; i < end; ++i, ++j) add(i, j);
    for (int j = 0; j < kLanes; ++j) acc[j] += static_cast<double>(f[j]) * kBlockSteps;
  }
  for (int j = 0; j < kLanes; ++j) *loss += acc[j];
}

// loss = sum (or mean over rows) of w_i cell(x_i, y_i).loss; grad_i = (scale) w_i cell(...).grad.
template <class Cell, class L>
Status elementwise_typed(const ConfusionProblem& pb, const L* y, Cell cell, bool sum, double* loss,
                         float* grad) {
  const double scale = sum || pb.rows == 0 ? 1.0 : 1.0 / static_cast<double>(pb.rows);
  std::vector<Partial> parts(static_cast<size_t>(chunk_count(pb.rows, kChunk)));
  parallel_chunks(pb.rows, kChunk, [&](int64_t ci, int64_t b, int64_t e) {
    Partial& part = parts[ci];
    if (!rows_valid(pb, y, b, e)) {
      part.status = find_fault(pb, y, b, e);
      return;
    }
    part.sums.assign(1, 0.0);
    with_flags(
        [&](auto wt) {
          FL_ISA_CALL(elementwise_rows<wt.value>(pb.scores, y, pb.weights, b, e, cell,
                                                 static_cast<float>(scale), grad,
                                                 part.sums.data()));
        },
        pb.weights != nullptr);
  });
  const Status st = first_fault(parts);
  if (!st.ok()) return st;
  double total = 0;
  for (const Partial& p : parts) total += p.sums[0];
  *loss = total * scale;
  return Status{};
}

}  // namespace

Status confusion_find_fault(const ConfusionProblem& pb, int64_t row_begin, int64_t row_end) {
  return with_labels(pb, [&](auto y) { return find_fault(pb, y, row_begin, row_end); });
}

Status confusion_counts_cpu(const ConfusionProblem& pb, float amplifier, Counts* counts,
                            float* stash) {
  return with_labels(pb, [&](auto y) { return counts_typed(pb, y, amplifier, counts, stash); });
}

void confusion_backward_cpu(const ConfusionProblem& pb, float amplifier, const double* dpos,
                            const double* dneg, float* grad) {
  with_labels(pb, [&](auto y) { backward_typed(pb, y, amplifier, dpos, dneg, grad); });
}

Status anyloss_cpu(const ConfusionProblem& pb, float amplifier, Average avg, const MetricParams& mp,
                   double* loss, float* grad) {
  std::vector<Counts> counts(pb.classes);
  const Status st = confusion_counts_cpu(pb, amplifier, counts.data(), grad);
  if (!st.ok()) return st;
  std::vector<double> dpos(pb.classes), dneg(pb.classes);
  *loss = anyloss_constants(counts.data(), pb.classes, avg, mp, dpos.data(), dneg.data());
  confusion_backward_cpu(pb, amplifier, dpos.data(), dneg.data(), grad);
  return Status{};
}

Status bce_cpu(const ConfusionProblem& pb, float pos_weight, bool sum, double* loss, float* grad) {
  return with_labels(
      pb, [&](auto y) { return elementwise_typed(pb, y, BceCell{pos_weight}, sum, loss, grad); });
}

Status sigmoid_focal_cpu(const ConfusionProblem& pb, float gamma, float alpha, bool sum,
                         double* loss, float* grad) {
  return with_labels(pb, [&](auto y) {
    return elementwise_typed(pb, y, FocalCell{gamma, alpha}, sum, loss, grad);
  });
}

Status overlap_loss_cpu(const ConfusionProblem& pb, const OverlapParams& op, double* loss,
                        float* grad) {
  return with_labels(pb, [&](auto y) { return overlap_typed(pb, y, op, loss, grad); });
}

}  // namespace fl
