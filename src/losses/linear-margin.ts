// The margin heads of linearCrossEntropy (formulas J.2: ArcFace, CosFace, sub-center ArcFace) on
// the native kernels: a pre-pass makes L2-normalised copies of the rows (hidden's scaled by s, so
// the plain kernel's product is s cos), and each row's margined target logit s psi(cos theta_t),
// which the kernel puts in place of the product's target entry; a post-pass adds what the kernel
// could not know (the target entry's gradient flows through psi, slope psi'), then takes the
// gradients back through the normalisation. Both passes are O((B + C k) D); only the kernel
// touches B x C k, in tiles. With k sub-centres the kernel takes each class's largest product
// itself; the pre-pass picks the target's sub-centre, and the post-pass gives the target entry
// its whole gradient there (the kernel leaves it out, so both sides agree on the sub-centre).
import { describe, rangeError, typeError } from '../errors';
import type { OptionSpec } from '../options';
import type { MarginRefParams } from '../reference/linear';

/** The margin option of {@link linearCrossEntropy}: which head, and its constants. */
export interface MarginOptions {
  /**
   * 'arcface': the target's logit is s cos(theta_t + m) (Deng et al. 2019, additive angular
   * margin); 'cosface': s (cos theta_t - m) (Wang et al. 2018, additive cosine margin). Required.
   */
  kind: 'arcface' | 'cosface';
  /** The logit scale s > 0, at most 1e4 (default 64, as pytorch-metric-learning). */
  s?: number;
  /**
   * The margin m: radians in [0, pi/2] for 'arcface' (default 0.5, pytorch-metric-learning's 28.6
   * degrees), a cosine in [0, 2] for 'cosface' (default 0.35).
   */
  m?: number;
  /**
   * Sub-centres per class k, an integer in [1, 64] (default 1; Deng et al. 2020 use 3): `weight`
   * has C k rows, class c's in rows c k .. c k + k - 1, and a class's cosine is the largest of
   * its sub-centres' (the gradient goes to that one, the first on a tie), on every backend.
   */
  subCenters?: number;
  /**
   * 'arcface' only (default false): insightface's easy margin, cos(theta + m) where cos theta > 0
   * and plain cos theta elsewhere. By default (insightface's threshold) cos(theta + m) where
   * theta + m <= pi and cos theta - m sin m beyond, so the target logit keeps falling with theta.
   */
  easyMargin?: boolean;
}

export const MARGIN_DEFAULTS = { s: 64, arcfaceM: 0.5, cosfaceM: 0.35, subCenters: 1, easyMargin: false };

/** The registry schema of options.margin (per-kind bounds of m are checked in readMargin). */
export const MARGIN_SPEC: OptionSpec = {
  kind: 'object',
  fields: {
    kind: { kind: 'enum', values: ['arcface', 'cosface'] },
    s: { kind: 'number', min: 0, max: 1e4, minExclusive: true },
    m: { kind: 'number', min: 0, max: 2 },
    subCenters: { kind: 'number', integer: true, min: 1, max: 64 },
    easyMargin: { kind: 'boolean' },
  },
};

/** options.margin (already checked against MARGIN_SPEC) with its defaults, or undefined. */
export function readMargin(fn: string, v: unknown): MarginRefParams | undefined {
  if (v === undefined) return undefined;
  const o = v as MarginOptions;
  if (o.kind === undefined) {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.margin.kind is required ('arcface' or 'cosface'), got ${describe(o.kind)}`,
    );
  }
  const arc = o.kind === 'arcface';
  const m = o.m ?? (arc ? MARGIN_DEFAULTS.arcfaceM : MARGIN_DEFAULTS.cosfaceM);
  if (arc && m > Math.PI / 2) {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.margin.m must be an angle in [0, pi/2] radians for 'arcface', got ${m}`,
    );
  }
  if (!arc && o.easyMargin !== undefined) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: options.margin.easyMargin applies to 'arcface' only`);
  }
  return {
    kind: o.kind,
    scale: o.s ?? MARGIN_DEFAULTS.s,
    margin: m,
    subCenters: o.subCenters ?? MARGIN_DEFAULTS.subCenters,
    easyMargin: o.easyMargin ?? MARGIN_DEFAULTS.easyMargin,
  };
}

/**
 * psi(cos) and d psi / d cos of the target (formulas J.2), in the angle-addition form:
 * cos(theta + m) = cos cos m - sin theta sin m, slope cos m + cos sin m / sin theta (sin theta
 * floored at 1e-6 where the row lies on its class, theta = 0).
 */
export function marginTarget(cos: number, mp: MarginRefParams): [number, number] {
  const m = mp.margin;
  if (mp.kind === 'cosface') return [cos - m, 1];
  const c = Math.min(1, Math.max(-1, cos)),
    cm = Math.cos(m),
    sm = Math.sin(m);
  // cos(pi - m) = -cos m: beyond it theta + m passes pi.
  if (mp.easyMargin ? !(c > 0) : !(c > -cm)) return mp.easyMargin ? [cos, 1] : [cos - m * sm, 1];
  const sinT = Math.sqrt(Math.max(0, 1 - c * c));
  return [c * cm - sinT * sm, cm + (c * sm) / Math.max(sinT, 1e-6)];
}

/** Each row's L2 norm; a zero row is refused (the margin heads normalise every row). */
export function rowNorms(fn: string, name: string, x: Float32Array, n: number, D: number): Float64Array {
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let d = 0; d < D; d++) q += x[i * D + d] * x[i * D + d];
    if (!(q > 0)) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: row ${i} of ${name} has norm 0; the margin heads L2-normalise every row`,
      );
    }
    norm[i] = Math.sqrt(q);
  }
  return norm;
}

/** Unit rows of x (n x D) as float32, times `scale`, and the norms. */
function unitRows(fn: string, name: string, x: Float32Array, n: number, D: number, scale: number) {
  const u = new Float32Array(n * D),
    norm = rowNorms(fn, name, x, n, D);
  for (let i = 0; i < n; i++) {
    const k = scale / norm[i];
    for (let d = 0; d < D; d++) u[i * D + d] = x[i * D + d] * k;
  }
  return { u, norm };
}

/** What the kernel call takes and the post-pass needs. */
export interface MarginPrepared {
  /** s times the unit rows of hidden (B x D), and the unit rows of weight (C k x D). */
  hidden: Float32Array;
  weight: Float32Array;
  hNorm: Float64Array;
  wNorm: Float64Array;
  /** Per row: s psi(cos theta_t) for the kernel, and psi' (1 for ignored rows). */
  targetLogit: Float32Array;
  slope: Float64Array;
  /** Per row: the weight row of its target's chosen sub-centre (t k + j). */
  targetRow: Int32Array;
  subCenters: number;
  scale: number;
}

/** The pre-pass. hidden/weight are finite (checked by the caller's kernel too). */
export function marginPrepare(
  fn: string,
  hidden: Float32Array,
  weight: Float32Array,
  targets: Int32Array,
  D: number,
  ignoreIndex: number,
  mp: MarginRefParams,
): MarginPrepared {
  const B = targets.length,
    K = mp.subCenters,
    C = weight.length / D / K,
    s = mp.scale;
  const h = unitRows(fn, 'hidden', hidden, B, D, s),
    w = unitRows(fn, 'weight', weight, C * K, D, 1);
  const targetLogit = new Float32Array(B),
    slope = new Float64Array(B).fill(1),
    targetRow = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    const t = targets[i];
    if (t === ignoreIndex || !(t >= 0 && t < C)) continue; // the kernel reports a bad target itself
    let z = -Infinity; // s cos theta_t, from the same float32 copies the kernel multiplies
    for (let j = t * K; j < t * K + K; j++) {
      let x = 0;
      for (let d = 0; d < D; d++) x += h.u[i * D + d] * w.u[j * D + d];
      if (x > z) [z, targetRow[i]] = [x, j]; // the first sub-centre on a tie, as the reference
    }
    const [psi, dpsi] = marginTarget(z / s, mp);
    targetLogit[i] = s * psi;
    slope[i] = dpsi;
  }
  return {
    hidden: h.u,
    weight: w.u,
    hNorm: h.norm,
    wNorm: w.norm,
    targetLogit,
    slope,
    targetRow,
    subCenters: K,
    scale: s,
  };
}

/**
 * The post-pass, in place: gradHidden and gradWeight come in as the kernel's gradients with
 * respect to the prepared copies, gradTarget as d loss / d targetLogit; they leave as the
 * gradients with respect to the caller's hidden and weight.
 */
export function marginFinish(
  p: MarginPrepared,
  targets: Int32Array,
  D: number,
  gradHidden: Float32Array,
  gradWeight: Float32Array,
  gradTarget: Float32Array,
): void {
  const B = targets.length,
    rowsW = p.wNorm.length,
    s = p.scale;
  const gh = Float64Array.from(gradHidden),
    gw = Float64Array.from(gradWeight);
  // The kernel counted the target entry with slope 1 on the product s cos (k = 1) or left it out
  // (k > 1); its slope is psi'.
  const counted = p.subCenters === 1 ? 1 : 0;
  for (let i = 0; i < B; i++) {
    const delta = gradTarget[i] * (p.slope[i] - counted);
    if (delta === 0) continue;
    const t = p.targetRow[i];
    for (let d = 0; d < D; d++) {
      gh[i * D + d] += delta * p.weight[t * D + d];
      gw[t * D + d] += delta * p.hidden[i * D + d];
    }
  }
  // Through u = x / |x| (hidden's copy is s u): dx = (du - u (u . du)) / |x|.
  const back = (g: Float64Array, u: Float32Array, norm: Float64Array, n: number, k: number, out: Float32Array) => {
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += u[i * D + d] * g[i * D + d];
      const q = dot / (k * k);
      for (let d = 0; d < D; d++) out[i * D + d] = ((g[i * D + d] - u[i * D + d] * q) * k) / norm[i];
    }
  };
  back(gh, p.hidden, p.hNorm, B, s, gradHidden);
  back(gw, p.weight, p.wNorm, rowsW, 1, gradWeight);
}
