// The float64 reference of the fused linear cross-entropy (formulas J.1): the dense composition,
// logits Z = H W^T + b built in full (B x C), soft-capped, cross-entropy on them, and the gradients
// by the chain rule through the product. The oracle the native kernels are tested against, and
// the 'js' backend (small problems only: it holds the B x C logits).
import type { Reduction } from './spherical';

export interface LinearRefProblem {
  /** rows x dim, row-major. */
  hidden: ArrayLike<number>;
  /** classes x dim, row-major: one row per class. */
  weight: ArrayLike<number>;
  /** One class id (or the ignore index) per row. */
  targets: ArrayLike<number>;
  dim: number;
  bias?: ArrayLike<number>;
  /** Row weights. */
  weights?: ArrayLike<number>;
  classWeights?: ArrayLike<number>;
}

export interface LinearRefParams {
  ignoreIndex: number;
  labelSmoothing: number;
  lseSquareScale: number;
  /** 0: none. */
  softcap: number;
  reduction: Reduction;
}

/** The reduced loss, each row's loss, each row's LSE, and the gradients of the reduced loss ('none': of the sum). */
export interface LinearRefResult {
  loss: number;
  rowLoss: Float64Array;
  lse: Float64Array;
  gradHidden: Float64Array;
  gradWeight: Float64Array;
  gradBias: Float64Array;
}

/** The dense cross-entropy of B x C logits z (formulas J.1): losses, LSEs and d loss / d z. */
function denseCrossEntropy(
  z: Float64Array,
  C: number,
  pb: Pick<LinearRefProblem, 'targets' | 'weights' | 'classWeights'>,
  p: Omit<LinearRefParams, 'softcap'>,
): { loss: number; rowLoss: Float64Array; lse: Float64Array; dz: Float64Array } {
  const { targets } = pb;
  const B = targets.length;
  const eps = p.labelSmoothing,
    s = p.lseSquareScale;
  const cw = (c: number) => (pb.classWeights ? pb.classWeights[c] : 1);
  let wsum = 0;
  for (let c = 0; c < C; c++) wsum += cw(c);

  // Per row: LSE, loss parts, and dloss/dz' (before the reduction's divisors).
  const lse = new Float64Array(B),
    ceRow = new Float64Array(B),
    zRow = new Float64Array(B);
  const gCe = new Float64Array(B * C),
    gZ = new Float64Array(B * C);
  let keptW = 0,
    kept = 0;
  for (let i = 0; i < B; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[i * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(z[i * C + c] - m);
    lse[i] = m + Math.log(sum);
    const t = targets[i];
    if (t === p.ignoreIndex) continue;
    const r = pb.weights ? pb.weights[i] : 1;
    keptW += cw(t);
    kept += 1;
    // -log p_c = lse - z'_c; target distribution (1 - eps) w_t e_t + (eps / C) w.
    let ce = (1 - eps) * cw(t) * (lse[i] - z[i * C + t]);
    for (let c = 0; c < C; c++) ce += (eps / C) * cw(c) * (lse[i] - z[i * C + c]);
    ceRow[i] = r * ce;
    zRow[i] = r * s * lse[i] * lse[i];
    for (let c = 0; c < C; c++) {
      const pc = Math.exp(z[i * C + c] - lse[i]);
      gCe[i * C + c] = r * ((1 - eps) * cw(t) * (pc - (c === t ? 1 : 0)) + (eps / C) * (wsum * pc - cw(c)));
      gZ[i * C + c] = r * 2 * s * lse[i] * pc;
    }
  }
  const mean = p.reduction === 'mean';
  const sCe = mean ? (keptW > 0 ? 1 / keptW : 0) : 1,
    sZ = mean ? (kept > 0 ? 1 / kept : 0) : 1;
  let ceTotal = 0,
    zTotal = 0;
  for (let i = 0; i < B; i++) {
    ceTotal += ceRow[i];
    zTotal += zRow[i];
  }
  const dz = gCe.map((g, k) => g * sCe + gZ[k] * sZ);
  const rowLoss = ceRow.map((v, i) => v + zRow[i]);
  return { loss: ceTotal * sCe + zTotal * sZ, rowLoss, lse, dz };
}

export function referenceLinearCrossEntropy(pb: LinearRefProblem, p: LinearRefParams): LinearRefResult {
  const { hidden, weight, targets, dim: D } = pb;
  const B = targets.length,
    C = weight.length / D;
  const cap = p.softcap;

  // The logits, soft-capped, and the slope of the cap.
  const z = new Float64Array(B * C),
    slope = new Float64Array(B * C).fill(1);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      let x = pb.bias ? pb.bias[c] : 0;
      for (let d = 0; d < D; d++) x += hidden[i * D + d] * weight[c * D + d];
      if (cap > 0) {
        // 1 - tanh^2 as 4 e / (1 + e)^2, e = exp(-2 |x / cap|): no cancellation where tanh is near 1.
        const e = Math.exp((-2 * Math.abs(x)) / cap);
        slope[i * C + c] = (4 * e) / ((1 + e) * (1 + e));
        x = cap * Math.tanh(x / cap);
      }
      z[i * C + c] = x;
    }
  const { loss, rowLoss, lse, dz } = denseCrossEntropy(z, C, pb, p);

  // dZ = (dloss/dz') dz'/dz; dH = dZ W, dW = dZ^T H, db = sum over rows of dZ.
  const gradHidden = new Float64Array(B * D),
    gradWeight = new Float64Array(C * D),
    gradBias = new Float64Array(C);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      const g = dz[i * C + c] * slope[i * C + c];
      if (g === 0) continue;
      gradBias[c] += g;
      for (let d = 0; d < D; d++) {
        gradHidden[i * D + d] += g * weight[c * D + d];
        gradWeight[c * D + d] += g * hidden[i * D + d];
      }
    }
  return { loss, rowLoss, lse, gradHidden, gradWeight, gradBias };
}

/** A margin head's parameters (formulas J.2). */
export interface MarginRefParams {
  kind: 'arcface' | 'cosface';
  /** The logit scale s. */
  scale: number;
  /** The margin m (radians for ArcFace, a cosine for CosFace). */
  margin: number;
  /** Sub-centres per class k (weight has C k rows, class c's at c k .. c k + k - 1). */
  subCenters: number;
  /** ArcFace only: insightface's easy margin (no margin where cos theta <= 0). */
  easyMargin: boolean;
}

/**
 * The target's margined cosine psi(cos) and its derivative d psi / d cos, from the angle (formulas
 * J.2). ArcFace: cos(theta + m) where theta + m <= pi (insightface's threshold), else cos - m sin m
 * (or, with easyMargin, cos(theta + m) only where cos > 0, else cos); CosFace: cos - m.
 */
function marginOf(cos: number, mp: MarginRefParams): [number, number] {
  const m = mp.margin;
  if (mp.kind === 'cosface') return [cos - m, 1];
  const c = Math.min(1, Math.max(-1, cos));
  const useAngle = mp.easyMargin ? c > 0 : c > Math.cos(Math.PI - m);
  if (!useAngle) return mp.easyMargin ? [cos, 1] : [cos - m * Math.sin(m), 1];
  const theta = Math.acos(c);
  // d cos(theta + m) / d cos = sin(theta + m) / sin(theta); sin(theta) floored at 1e-6 (theta = 0).
  return [Math.cos(theta + m), Math.sin(theta + m) / Math.max(Math.sin(theta), 1e-6)];
}

/**
 * The float64 margin head (formulas J.2), dense: rows of hidden and weight L2-normalised, each
 * class's cosine the largest over its sub-centres, logits s cos with the target's replaced by
 * s psi(cos) (ignored rows keep theirs), the cross-entropy of J.1 on them, and the gradients by the
 * chain rule through the margin, the sub-centre maximum (to its first argmax) and the norms.
 */
export function referenceMarginCrossEntropy(
  pb: Omit<LinearRefProblem, 'bias'>,
  p: Omit<LinearRefParams, 'softcap'>,
  mp: MarginRefParams,
): LinearRefResult {
  const { hidden, weight, targets, dim: D } = pb;
  const B = targets.length,
    K = mp.subCenters,
    C = weight.length / D / K;
  const unit = (x: ArrayLike<number>, n: number) => {
    const u = new Float64Array(n * D),
      norm = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let d = 0; d < D; d++) q += x[i * D + d] ** 2;
      norm[i] = Math.sqrt(q);
      for (let d = 0; d < D; d++) u[i * D + d] = x[i * D + d] / norm[i];
    }
    return { u, norm };
  };
  const h = unit(hidden, B),
    w = unit(weight, C * K);
  const cos = new Float64Array(B * C),
    arg = new Int32Array(B * C),
    dpsi = new Float64Array(B * C).fill(1),
    z = new Float64Array(B * C);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      let best = -Infinity;
      for (let k = 0; k < K; k++) {
        let x = 0;
        for (let d = 0; d < D; d++) x += h.u[i * D + d] * w.u[(c * K + k) * D + d];
        if (x > best) {
          best = x;
          arg[i * C + c] = c * K + k;
        }
      }
      cos[i * C + c] = best;
      let v = best;
      if (c === targets[i] && targets[i] !== p.ignoreIndex) [v, dpsi[i * C + c]] = marginOf(best, mp);
      z[i * C + c] = mp.scale * v;
    }
  const { loss, rowLoss, lse, dz } = denseCrossEntropy(z, C, pb, p);
  // d loss / d (unit rows), then through x / |x|: (g - u (u . g)) / |x|.
  const gu = new Float64Array(B * D),
    gw = new Float64Array(C * K * D);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      const g = dz[i * C + c] * mp.scale * dpsi[i * C + c],
        j = arg[i * C + c];
      if (g === 0) continue;
      for (let d = 0; d < D; d++) {
        gu[i * D + d] += g * w.u[j * D + d];
        gw[j * D + d] += g * h.u[i * D + d];
      }
    }
  const throughNorm = (g: Float64Array, u: { u: Float64Array; norm: Float64Array }, n: number) => {
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += u.u[i * D + d] * g[i * D + d];
      for (let d = 0; d < D; d++) g[i * D + d] = (g[i * D + d] - u.u[i * D + d] * dot) / u.norm[i];
    }
    return g;
  };
  return {
    loss,
    rowLoss,
    lse,
    gradHidden: throughNorm(gu, h, B),
    gradWeight: throughNorm(gw, w, C * K),
    gradBias: new Float64Array(0),
  };
}
