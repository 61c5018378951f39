// The margin option of linearCrossEntropy (formulas J.2: ArcFace, CosFace, sub-center ArcFace):
// its type, schema and defaults, and the zero-row check of the 'js' backend and LinearHead. The
// passes around the fused kernel (normalised copies, the margined target logit, the gradients
// through psi and the normalisation) run in the native layer on its threads, for every native
// backend (binding/cpu/linear_ce_margin.cc).
import { describe, rangeError, typeError } from '../errors';
import type { OptionSpec } from '../options';
import type { MarginRefParams } from '../reference/linear';
import { bounded } from '../wire-bounds';

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
    s: { ...bounded('kMarginScale'), minExclusive: true },
    m: bounded('kMarginM'),
    subCenters: bounded('kSubCenters'),
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
 * Each row's L2 norm; a row of norm exactly 0 is refused (the margin heads normalise every row).
 * A non-finite row passes, for the finiteness checks to name.
 */
export function rowNorms(fn: string, name: string, x: Float32Array, n: number, D: number): Float64Array {
  const norm = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let q = 0;
    for (let d = 0; d < D; d++) q += x[i * D + d] * x[i * D + d];
    if (q === 0) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: row ${i} of ${name} has norm 0; the margin heads L2-normalise every row`,
      );
    }
    norm[i] = Math.sqrt(q);
  }
  return norm;
}
