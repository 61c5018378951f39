// The float64 reference of the spherical family (formulas F.1 to F.3) and the softmax classification
// losses (formulas G): plain loops that follow the formulas of docs/formulas.md line by line. It is the oracle the
// native kernels are tested against, and the 'js' backend when the addon is missing.
import { sigmoid, softplus } from './confusion';

export type Reduction = 'mean' | 'sum' | 'none';

export interface ClassRefProblem {
  /** rows x classes, row-major. */
  logits: ArrayLike<number>;
  /** One class index per row. */
  targets: ArrayLike<number>;
  classes: number;
}

/** The reduced loss, each row's (weighted) loss, and the gradient of the reduced loss ('none': of the sum). */
export interface RefResult {
  loss: number;
  rowLoss: Float64Array;
  grad: Float64Array;
  /** Softmax losses: each row's log-sum-exp of the softmax's input (ignored rows too). */
  lse?: Float64Array;
}

export type SphericalKind = 'z-loss' | 'mse' | 'log-spherical-softmax' | 'log-taylor-softmax';

export interface SphericalRefParams {
  kind: SphericalKind;
  /** Z-loss sharpness and offset. */
  a: number;
  b: number;
  /** Log-spherical softmax's eps. */
  eps: number;
}

/** Sums row losses and gradients into the reduction; `count` is what 'mean' divides by (0 gives 0). */
function reduce(rowLoss: Float64Array, grad: Float64Array, reduction: Reduction, count: number): RefResult {
  const total = rowLoss.reduce((a, b) => a + b, 0);
  if (reduction !== 'mean') return { loss: total, rowLoss, grad };
  const scale = count > 0 ? 1 / count : 0;
  return { loss: total * scale, rowLoss, grad: grad.map((g) => g * scale) };
}

/** The largest entry (Math.max(...v) overflows the call stack for rows of 10^6). */
const maxOf = (v: number[]): number => v.reduce((a, b) => (b > a ? b : a), -Infinity);

const row = (pb: ClassRefProblem, i: number): number[] =>
  Array.from({ length: pb.classes }, (_, k) => pb.logits[i * pb.classes + k]);

/** A row's mean and population std (in double even denormal logits have an exact spread). */
function moments(o: number[]): { mu: number; sigma: number } {
  const mu = o.reduce((a, v) => a + v, 0) / o.length;
  return { mu, sigma: Math.sqrt(o.reduce((a, v) => a + (v - mu) ** 2, 0) / o.length) };
}

/**
 * Z-loss's one refusal: the first row whose (reduced) gradient has an entry beyond float32's range,
 * which only logits of tiny std reach (the gradient is about 1 / std), with that std; else
 * undefined. The native kernels refuse the same row (spherical_math.h kZLossMinStd).
 */
export function zLossOverflow(pb: ClassRefProblem, grad: Float64Array): { row: number; std: number } | undefined {
  const at = float32Overflow(grad);
  if (at < 0) return undefined;
  const i = Math.floor(at / pb.classes);
  return { row: i, std: moments(row(pb, i)).sigma };
}

/** The first entry of a float64 gradient that float32 cannot hold, or -1. */
export function float32Overflow(grad: Float64Array): number {
  return grad.findIndex((g) => !Number.isFinite(Math.fround(g)));
}

/**
 * Z-loss (F.1, F.2: dL/do = alpha 1 + beta o + gamma e_c) and the other spherical losses (F.3, from
 * dL/dA, dL/dq, dL/ds). A constant row has z = 0, loss softplus(a b) / a and gradient 0.
 */
export function referenceSpherical(pb: ClassRefProblem, p: SphericalRefParams, reduction: Reduction): RefResult {
  const rows = pb.targets.length,
    D = pb.classes;
  const rowLoss = new Float64Array(rows),
    grad = new Float64Array(rows * D);
  for (let i = 0; i < rows; i++) {
    const o = row(pb, i),
      c = pb.targets[i];
    let alpha: number, beta: number, gamma: number;
    if (p.kind === 'z-loss') {
      const { mu, sigma } = moments(o);
      if (sigma === 0) {
        rowLoss[i] = softplus(p.a * p.b) / p.a;
        continue;
      }
      const z = (o[c] - mu) / sigma,
        rho = sigmoid(p.a * (p.b - z));
      rowLoss[i] = softplus(p.a * (p.b - z)) / p.a;
      gamma = -rho / sigma;
      beta = (rho * z) / (D * sigma ** 2);
      alpha = (rho / (D * sigma)) * (1 - (z * mu) / sigma);
    } else {
      const A = o[c],
        q = o.reduce((a, v) => a + v * v, 0),
        s = o.reduce((a, v) => a + v, 0);
      let dA: number, dq: number, ds: number;
      if (p.kind === 'mse') {
        rowLoss[i] = q - 2 * A + 1;
        [dA, dq, ds] = [-2, 1, 0];
      } else if (p.kind === 'log-spherical-softmax') {
        rowLoss[i] = -Math.log(A * A + p.eps) + Math.log(q + D * p.eps);
        [dA, dq, ds] = [(-2 * A) / (A * A + p.eps), 1 / (q + D * p.eps), 0];
      } else {
        const n = 1 + A + (A * A) / 2,
          t = D + s + q / 2;
        rowLoss[i] = -Math.log(n) + Math.log(t);
        [dA, dq, ds] = [-(1 + A) / n, 1 / (2 * t), 1 / t];
      }
      [alpha, beta, gamma] = [ds, 2 * dq, dA];
    }
    for (let k = 0; k < D; k++) grad[i * D + k] = alpha + beta * o[k] + (k === c ? gamma : 0);
  }
  return reduce(rowLoss, grad, reduction, rows);
}

export type SoftmaxForm = 'ce' | 'comp-sum' | 'gce' | 'mae' | 'focal' | 'ldr-kl';

export interface SoftmaxRefParams {
  form: SoftmaxForm;
  temperature: number;
  /** Cross-entropy only. */
  labelSmoothing: number;
  /** comp-sum. */
  tau: number;
  /** GCE. */
  q: number;
  /** Focal. */
  gamma: number;
  alpha: number;
  /** LDR-KL. */
  lambda: number;
  margin: number;
  weights?: ArrayLike<number>;
  classWeights?: ArrayLike<number>;
  ignoreIndex: number;
  /** Soft cap c > 0: every form reads c tanh(x / c) (formulas G.8); 0 or absent: none. */
  softcap?: number;
  /** Cross-entropy only: adds s LSE(u)^2 per kept row (PaLM's z-loss, formulas G.8); default 0. */
  lseSquareScale?: number;
}

/**
 * Comp-sum's p_y^(tau - 1) for tau < 1 reads log p_y floored at this value (as the kernels do,
 * binding/include/fusedloss/spherical_math.h), so that it stays finite in float.
 */
export const LOG_PROB_FLOOR = -80;

/**
 * The softmax classification losses of formulas G on logits / temperature. Row i counts
 * weights[i] * classWeights[y_i]; rows whose target is ignoreIndex count nothing; 'mean' divides
 * by the sum of classWeights[y_i] over counted rows (PyTorch's cross_entropy normalisation), and
 * PaLM's z-loss, scaled by weights[i] only, by the number of counted rows.
 */
export function referenceSoftmax(pb: ClassRefProblem, p: SoftmaxRefParams, reduction: Reduction): RefResult {
  const rows = pb.targets.length,
    K = pb.classes,
    T = p.temperature;
  const rowLoss = new Float64Array(rows),
    grad = new Float64Array(rows * K),
    lse = new Float64Array(rows);
  const cap = p.softcap ?? 0,
    zScale = p.lseSquareScale ?? 0;
  const w = (k: number): number => (p.classWeights ? p.classWeights[k] : 1);
  const W = Array.from({ length: K }, (_, k) => w(k)).reduce((a, b) => a + b, 0);
  // 'mean' divides the loss by the kept rows' class weights (count) and PaLM's z-loss by the number
  // of kept rows (kept), as Liger-Kernel (formulas G.8).
  let count = 0,
    kept = 0;
  for (let i = 0; i < rows; i++) {
    if (pb.targets[i] === p.ignoreIndex) continue;
    count += w(pb.targets[i]);
    kept += 1;
  }
  const mean = reduction === 'mean';
  const sLoss = mean ? (count > 0 ? 1 / count : 0) : 1,
    sZ = mean ? (kept > 0 ? 1 / kept : 0) : 1;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    const raw = row(pb, i),
      y = pb.targets[i];
    const x = cap > 0 ? raw.map((v) => cap * Math.tanh(v / cap)) : raw;
    if (y === p.ignoreIndex) {
      const u0 = x.map((v) => v / T),
        m0 = maxOf(u0);
      lse[i] = m0 + Math.log(u0.reduce((a, v) => a + Math.exp(v - m0), 0));
      continue;
    }
    const wy = w(y),
      wi = p.weights ? p.weights[i] : 1;
    // u = the softmax's input, dudx = d u_k / d x_k
    const ldr = p.form === 'ldr-kl';
    const u = x.map((v, k) => (ldr ? (v / T + (k === y ? 0 : p.margin)) / p.lambda : v / T));
    const dudx = ldr ? 1 / (T * p.lambda) : 1 / T;
    const m = maxOf(u);
    // log p_k = (u_k - m) - log sum e^{u - m}: m + log(sum) would absorb the log at |u| >= 1e17.
    const logSum = Math.log(u.reduce((a, v) => a + Math.exp(v - m), 0));
    lse[i] = m + logSum;
    const logp = u.map((v) => v - m - logSum);
    const prob = logp.map(Math.exp);
    const ell = logp[y],
      py = prob[y],
      miss = -Math.expm1(ell); // 1 - p_y
    let loss: number;
    let dLdu: number[];
    // PaLM's z-loss s lse^2 and its gradient 2 s lse p (form 'ce' only: s is 0 otherwise)
    const zLoss = zScale * lse[i] ** 2;
    const dZdu = prob.map((pk) => 2 * zScale * lse[i] * pk);
    const towardTarget = (c: number) => prob.map((pk, k) => c * (pk - (k === y ? 1 : 0)));
    switch (p.form) {
      case 'ce': {
        const e = p.labelSmoothing;
        loss = (1 - e) * wy * -ell + (e / K) * logp.reduce((a, l, k) => a - w(k) * l, 0);
        dLdu = prob.map((pk, k) => (1 - e) * wy * (pk - (k === y ? 1 : 0)) + (e / K) * (W * pk - w(k)));
        break;
      }
      case 'comp-sum': {
        const ellc = p.tau < 1 ? Math.max(ell, LOG_PROB_FLOOR) : ell;
        loss = wy * (p.tau === 1 ? -ell : (Math.exp((p.tau - 1) * ellc) - 1) / (1 - p.tau));
        dLdu = towardTarget(wy * Math.exp((p.tau - 1) * ellc));
        break;
      }
      case 'gce':
        loss = (wy * -Math.expm1(p.q * ell)) / p.q; // (1 - p_y^q) / q
        dLdu = towardTarget(wy * py ** p.q);
        break;
      case 'mae':
        loss = wy * 2 * miss;
        dLdu = towardTarget(wy * 2 * py);
        break;
      case 'focal': {
        const g = p.gamma;
        const F = miss > 0 ? miss ** g - g * py * miss ** (g - 1) * ell : g === 0 ? 1 : 0;
        loss = p.alpha * wy * miss ** g * -ell;
        dLdu = towardTarget(p.alpha * wy * F);
        break;
      }
      case 'ldr-kl': {
        // lambda log((1/K) sum_k exp((x_k - x_y + c [k != y]) / lambda)), on x / T
        const v = x.map((xk, k) => (xk / T - x[y] / T + (k === y ? 0 : p.margin)) / p.lambda);
        const mv = maxOf(v);
        loss = wy * p.lambda * (mv + Math.log(v.reduce((a, t) => a + Math.exp(t - mv), 0)) - Math.log(K));
        dLdu = towardTarget(wy * p.lambda);
        break;
      }
    }
    rowLoss[i] = wi * (loss + zLoss);
    total += wi * (loss * sLoss + zLoss * sZ);
    // d cap(x)/dx = 1 - tanh(x / c)^2
    for (let k = 0; k < K; k++) {
      const slope = cap > 0 ? 1 - Math.tanh(raw[k] / cap) ** 2 : 1;
      grad[i * K + k] = wi * (dLdu[k] * sLoss + dZdu[k] * sZ) * dudx * slope;
    }
  }
  return { loss: total, rowLoss, grad, lse };
}
