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

export function referenceLinearCrossEntropy(pb: LinearRefProblem, p: LinearRefParams): LinearRefResult {
  const { hidden, weight, targets, dim: D } = pb;
  const B = targets.length,
    C = weight.length / D;
  const eps = p.labelSmoothing,
    s = p.lseSquareScale,
    cap = p.softcap;
  const cw = (c: number) => (pb.classWeights ? pb.classWeights[c] : 1);
  let wsum = 0;
  for (let c = 0; c < C; c++) wsum += cw(c);

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

  // dZ = (dloss/dz') dz'/dz; dH = dZ W, dW = dZ^T H, db = sum over rows of dZ.
  const gradHidden = new Float64Array(B * D),
    gradWeight = new Float64Array(C * D),
    gradBias = new Float64Array(C);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      const g = (gCe[i * C + c] * sCe + gZ[i * C + c] * sZ) * slope[i * C + c];
      if (g === 0) continue;
      gradBias[c] += g;
      for (let d = 0; d < D; d++) {
        gradHidden[i * D + d] += g * weight[c * D + d];
        gradWeight[c * D + d] += g * hidden[i * D + d];
      }
    }
  const rowLoss = ceRow.map((v, i) => v + zRow[i]);
  return { loss: ceTotal * sCe + zTotal * sZ, rowLoss, lse, gradHidden, gradWeight, gradBias };
}
