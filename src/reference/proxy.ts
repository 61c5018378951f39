// The float64 reference of the proxy losses (formulas M): the dense composition, every embedding
// and proxy L2-normalised (F.normalize, floor 1e-12), the full B x C cosines (or squared
// distances) built, the loss written as the paper writes it, and the gradients by the chain rule
// through them and the normalisation. The oracle the native kernels are tested against, and the
// 'js' backend (small problems only: it holds the B x C matrix).

export interface ProxyRefProblem {
  /** rows x dim, row-major. */
  embeddings: ArrayLike<number>;
  /** classes x dim, row-major: one proxy per class. */
  proxies: ArrayLike<number>;
  /** One class id in [0, classes) per row. */
  labels: ArrayLike<number>;
  dim: number;
}

export interface ProxyAnchorRefParams {
  alpha: number;
  margin: number;
  reduction: 'mean' | 'sum';
}

export interface ProxyRefResult {
  loss: number;
  gradEmbeddings: Float64Array;
  gradProxies: Float64Array;
}

/** Unit rows u_k = v_k / max(|v_k|, 1e-12) of an n x dim matrix, with each row's norm (unclamped). */
function unitRows(v: ArrayLike<number>, dim: number): { u: Float64Array; len: Float64Array } {
  const n = v.length / dim;
  const u = new Float64Array(v.length),
    len = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += v[k * dim + d] ** 2;
    len[k] = Math.sqrt(ss);
    const m = Math.max(len[k], 1e-12);
    for (let d = 0; d < dim; d++) u[k * dim + d] = v[k * dim + d] / m;
  }
  return { u, len };
}

/**
 * d/dv of u = v / max(|v|, eps) applied to g = dL/du: (g - (g.u) u) / |v|, or g / eps below the
 * floor.
 */
function throughNorm(g: Float64Array, u: Float64Array, len: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(g.length);
  for (let k = 0; k < len.length; k++) {
    let gu = 0;
    if (len[k] >= 1e-12) for (let d = 0; d < dim; d++) gu += g[k * dim + d] * u[k * dim + d];
    const m = Math.max(len[k], 1e-12);
    for (let d = 0; d < dim; d++) out[k * dim + d] = (g[k * dim + d] - gu * u[k * dim + d]) / m;
  }
  return out;
}

/** The sizes of a problem and its unit rows. */
function unitProblem(pb: ProxyRefProblem) {
  const D = pb.dim;
  return {
    D,
    B: pb.labels.length,
    C: pb.proxies.length / D,
    X: unitRows(pb.embeddings, D),
    P: unitRows(pb.proxies, D),
  };
}

/** log(1 + sum_k exp(z_k)), stably. */
function log1pSumExp(z: number[]): number {
  const m = Math.max(0, ...z);
  return m + Math.log(Math.exp(-m) + z.reduce((a, v) => a + Math.exp(v - m), 0));
}

/**
 * ProxyAnchor (Kim et al. 2020; formulas M.1): with s_ic the cosine of embedding i and proxy c,
 * L = 1/|P+| sum_{c in P+} log(1 + sum_{i: y_i = c} e^{-alpha (s_ic - margin)})
 *   + 1/C sum_c log(1 + sum_{i: y_i != c} e^{alpha (s_ic + margin)}),
 * P+ the classes with a positive in the batch; 'sum' drops the two divisors.
 */
export function referenceProxyAnchor(pb: ProxyRefProblem, p: ProxyAnchorRefParams): ProxyRefResult {
  const { D, B, C, X, P } = unitProblem(pb);
  const cos = (i: number, c: number) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += X.u[i * D + d] * P.u[c * D + d];
    return s;
  };
  const withPos = new Set(Array.from(pb.labels)).size;
  const posDiv = p.reduction === 'mean' ? withPos : 1,
    negDiv = p.reduction === 'mean' ? C : 1;
  // dL/ds_ic, filled class by class.
  const G = new Float64Array(B * C);
  let loss = 0;
  for (let c = 0; c < C; c++) {
    const pos: number[] = [],
      neg: number[] = [],
      posRows: number[] = [],
      negRows: number[] = [];
    for (let i = 0; i < B; i++) {
      const s = cos(i, c);
      if (pb.labels[i] === c) {
        pos.push(-p.alpha * (s - p.margin));
        posRows.push(i);
      } else {
        neg.push(p.alpha * (s + p.margin));
        negRows.push(i);
      }
    }
    const lp = log1pSumExp(pos),
      ln = log1pSumExp(neg);
    if (pos.length > 0) loss += lp / posDiv;
    loss += ln / negDiv;
    // d log(1 + sum e^z) / dz_k = e^{z_k - lse}; dz/ds = -alpha (positives), alpha (negatives).
    pos.forEach((z, k) => (G[posRows[k] * C + c] = (-p.alpha * Math.exp(z - lp)) / posDiv));
    neg.forEach((z, k) => (G[negRows[k] * C + c] = (p.alpha * Math.exp(z - ln)) / negDiv));
  }
  const gX = new Float64Array(B * D),
    gP = new Float64Array(C * D);
  for (let i = 0; i < B; i++)
    for (let c = 0; c < C; c++) {
      const g = G[i * C + c];
      for (let d = 0; d < D; d++) {
        gX[i * D + d] += g * P.u[c * D + d];
        gP[c * D + d] += g * X.u[i * D + d];
      }
    }
  return { loss, gradEmbeddings: throughNorm(gX, X.u, X.len, D), gradProxies: throughNorm(gP, P.u, P.len, D) };
}

export interface ProxyNcaRefParams {
  /** The softmax scale (1 / the paper's temperature T). */
  scale: number;
  reduction: 'mean' | 'sum' | 'none';
}

export interface ProxyNcaRefResult extends ProxyRefResult {
  /** Each row's loss (the gradients are of their reduction: their sum with 'none'). */
  rowLoss: Float64Array;
}

/**
 * ProxyNCA++ (Teh et al. 2020; formulas M.2), as the paper writes it: with d2_ic the squared
 * Euclidean distance between the unit embedding i and the unit proxy c,
 * L_i = -log( exp(-scale d2_iy) / sum_c exp(-scale d2_ic) ), the positive proxy in the sum;
 * 'mean' averages the rows, 'sum' adds them, 'none' keeps them (gradients of their sum).
 */
export function referenceProxyNCA(pb: ProxyRefProblem, p: ProxyNcaRefParams): ProxyNcaRefResult {
  const { D, B, C, X, P } = unitProblem(pb);
  const w = p.reduction === 'mean' ? 1 / Math.max(B, 1) : 1;
  const rowLoss = new Float64Array(B),
    gX = new Float64Array(B * D),
    gP = new Float64Array(C * D);
  const z = new Float64Array(C);
  let loss = 0;
  for (let i = 0; i < B; i++) {
    for (let c = 0; c < C; c++) {
      let d2 = 0;
      for (let d = 0; d < D; d++) d2 += (X.u[i * D + d] - P.u[c * D + d]) ** 2;
      z[c] = -p.scale * d2;
    }
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    const y = pb.labels[i];
    rowLoss[i] = lse - z[y];
    loss += rowLoss[i] * w;
    // dL/dz_ic = w (softmax_ic - [c = y]); dz_ic/dx^_i = -2 scale (x^_i - p^_c) = -dz_ic/dp^_c.
    for (let c = 0; c < C; c++) {
      const g = w * (Math.exp(z[c] - lse) - (c === y ? 1 : 0)) * -2 * p.scale;
      for (let d = 0; d < D; d++) {
        const diff = X.u[i * D + d] - P.u[c * D + d];
        gX[i * D + d] += g * diff;
        gP[c * D + d] -= g * diff;
      }
    }
  }
  return {
    loss,
    rowLoss,
    gradEmbeddings: throughNorm(gX, X.u, X.len, D),
    gradProxies: throughNorm(gP, P.u, P.len, D),
  };
}
