// The float64 oracle of SphericalHead: a plain dense output layer o = W h on an explicit C x d
// matrix, trained by SGD on the mean Z-loss or squared error (formulas F.6: O(C d) per example). The
// factored native head (binding/cpu/spherical_head.cc) must follow its trajectory.
import { sigmoid } from './confusion';
import { float32Overflow, referenceSpherical } from './spherical';

export type HeadLossKind = 'z' | 'mse';

export interface DenseHeadParams {
  classes: number;
  dim: number;
  loss: HeadLossKind;
  /** Z-loss sharpness and offset. */
  a: number;
  b: number;
}

/**
 * A step is refused when I - 2 lr H diag(dL/dq) H^T has an eigenvalue outside these bounds, or
 * when 1 - lr weightDecay is below the lower one (the factored update would make U near singular;
 * formulas F.5). The dense update itself would not mind: the oracle refuses what the head refuses.
 */
export const STEP_SCALE_BOUNDS = { min: 0.125, max: 8 };

/** Why a step was refused, in the words the native layer uses. */
export function illConditionedMessage(lr: number): string {
  return (
    `options.lr = ${lr} is too large for this batch: the factored update multiplies U by I - 2 lr H ` +
    `diag(dL/dq) H^T, which would have an eigenvalue outside [${STEP_SCALE_BOUNDS.min}, ${STEP_SCALE_BOUNDS.max}] ` +
    `(U near singular, the factored and dense trajectories would part); use a smaller lr. Nothing was updated`
  );
}

export function decayTooLargeMessage(shrink: number): string {
  return (
    `1 - lr * weightDecay = ${shrink} is below ${STEP_SCALE_BOUNDS.min}: weight decay would shrink W too ` +
    `far in one step; use a smaller lr or weightDecay. Nothing was updated`
  );
}

/** Why a Z-loss step on tiny hidden rows is refused (binding/cpu/spherical_head.cc's words). */
export function spreadTooSmallMessage(row: number): string {
  return (
    `the Z-loss gradient of row ${row} of hidden (about 1 / the std of its logits) overflows float32; ` +
    `scale hidden up. Nothing was updated`
  );
}

/** Why a squared-error step on huge hidden rows is refused (binding/napi/spherical_head.cc's words). */
export function gradientOverflowMessage(row: number): string {
  return (
    `the squared-error gradient of row ${row} of hidden overflows float32 (it grows with the logits); ` +
    `scale hidden down. Nothing was updated`
  );
}

/** Whether the symmetric n x n matrix a (row-major) is positive definite: Cholesky succeeds. */
export function positiveDefinite(a: Float64Array, n: number): boolean {
  const l = Float64Array.from(a);
  for (let j = 0; j < n; j++) {
    let d = l[j * n + j];
    for (let k = 0; k < j; k++) d -= l[j * n + k] ** 2;
    if (!(d > 0)) return false;
    const root = Math.sqrt(d);
    l[j * n + j] = root;
    for (let i = j + 1; i < n; i++) {
      let s = l[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / root;
    }
  }
  return true;
}

/** dL/dq of one row's loss (F.2: rho z / (2 C sigma^2) for Z-loss, 1 for squared error). */
function lossDq(p: DenseHeadParams, o: Float64Array, c: number): number {
  if (p.loss === 'mse') return 1;
  const C = o.length;
  const mu = o.reduce((s, v) => s + v, 0) / C;
  const sigma2 = o.reduce((s, v) => s + (v - mu) ** 2, 0) / C;
  if (sigma2 === 0) return 0;
  const z = (o[c] - mu) / Math.sqrt(sigma2);
  return (sigmoid(p.a * (p.b - z)) * z) / (2 * C * sigma2);
}

export type StepRefusal =
  | { kind: 'ill-conditioned'; lr: number }
  | { kind: 'decay'; shrink: number }
  | { kind: 'spread'; row: number }
  | { kind: 'overflow'; row: number };

export class DenseHead {
  /** C x d, row-major. */
  readonly W: Float64Array;
  /** Steps taken (refused ones not counted). */
  steps = 0;

  constructor(
    readonly p: DenseHeadParams,
    weights: ArrayLike<number>,
  ) {
    this.W = Float64Array.from(weights);
  }

  /** o = W h for the m rows of hidden: m x C. */
  scores(hidden: ArrayLike<number>): Float64Array {
    const { classes: C, dim: d } = this.p;
    const m = hidden.length / d;
    const o = new Float64Array(m * C);
    for (let j = 0; j < m; j++)
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += this.W[c * d + i] * hidden[j * d + i];
        o[j * C + c] = s;
      }
    return o;
  }

  /**
   * One SGD step on the mean loss over the rows: W <- (1 - lr weightDecay) (W - lr dL/dW). Returns
   * the loss and dL/dhidden, or why the step is refused (then nothing changes).
   */
  step(
    hidden: ArrayLike<number>,
    targets: ArrayLike<number>,
    lr: number,
    weightDecay: number,
  ): { loss: number; gradHidden: Float64Array } | StepRefusal {
    const { classes: C, dim: d } = this.p;
    const m = targets.length;
    const o = this.scores(hidden);
    const kind = this.p.loss === 'z' ? 'z-loss' : 'mse';
    const r = referenceSpherical(
      { logits: o, targets, classes: C },
      { kind, a: this.p.a, b: this.p.b, eps: 0 },
      'mean',
    );
    const shrink = 1 - lr * weightDecay;
    if (shrink < STEP_SCALE_BOUNDS.min) return { kind: 'decay', shrink };
    // P = I - 2 lr sum_j (dL_mean/dq_j) h_j h_j^T
    const P = new Float64Array(d * d);
    for (let j = 0; j < m; j++) {
      const gq = lossDq(this.p, o.subarray(j * C, (j + 1) * C), targets[j]) / m;
      for (let i = 0; i < d; i++)
        for (let k = 0; k < d; k++) P[i * d + k] -= 2 * lr * gq * hidden[j * d + i] * hidden[j * d + k];
    }
    const low = P.map((v, ik) => v + (ik % (d + 1) === 0 ? 1 - STEP_SCALE_BOUNDS.min : 0));
    const high = P.map((v, ik) => -v + (ik % (d + 1) === 0 ? STEP_SCALE_BOUNDS.max - 1 : 0));
    if (!positiveDefinite(low, d) || !positiveDefinite(high, d)) return { kind: 'ill-conditioned', lr };
    const gradHidden = new Float64Array(m * d);
    for (let j = 0; j < m; j++)
      for (let c = 0; c < C; c++) {
        const g = r.grad[j * C + c];
        for (let i = 0; i < d; i++) gradHidden[j * d + i] += g * this.W[c * d + i];
      }
    // A gradient past float32 is refused: Z-loss's on tiny hidden rows (about 1 / std of the
    // logits), the squared error's on huge ones (it grows with the logits).
    const over = float32Overflow(gradHidden);
    if (over >= 0) return { kind: this.p.loss === 'z' ? 'spread' : 'overflow', row: Math.floor(over / d) };
    for (let c = 0; c < C; c++)
      for (let i = 0; i < d; i++) {
        let dw = 0;
        for (let j = 0; j < m; j++) dw += r.grad[j * C + c] * hidden[j * d + i];
        this.W[c * d + i] = shrink * (this.W[c * d + i] - lr * dw);
      }
    this.steps++;
    return { loss: r.loss, gradHidden };
  }
}
