// The spherical family (formulas F.1 to F.3) and the softmax classification losses (formulas G): options,
// defaults, checks and dispatch to the native CPU kernels (binding/cpu/spherical.cc) or the
// float64 reference (src/reference/spherical.ts). Every loss here is a sum over rows of one row of
// logits and its target class.
import { wireId } from '../wire-enums';
import { bounded } from '../wire-bounds';
import type { SoftmaxWire, SphericalWire } from '../wire-params';
import {
  allocate,
  checkValues,
  checkWeight,
  gradBuffer,
  requireLength,
  rowWidth,
  toFloat32,
  toTargets,
  type NumericArray,
  type Targets,
} from '../arrays';
import { rangeError, typeError } from '../errors';
import { faultError } from '../faults';
import { deviceCode, nativeCall, resolveBackend, type Backend, type ResolvedBackend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import {
  float32Overflow,
  referenceSoftmax,
  referenceSpherical,
  zLossOverflow,
  type ClassRefProblem,
  type RefResult,
  type Reduction,
  type SoftmaxForm,
  type SphericalKind,
} from '../reference/spherical';
import { asyncTwin, callOf, native, andThen, withGrad, type LossResult, type RowLossResult } from './dispatch';

export type { Reduction, SoftmaxForm } from '../reference/spherical';
export type { RowLossResult } from './dispatch';

/** Options every loss of this family takes. */
export interface ClassLossOptions {
  /**
   * Number of classes C, an integer in [1, 2^24] (default logits.length / targets.length). Logits
   * are rows x C, row-major; targets are class indices in [0, C).
   */
  classes?: number;
  /**
   * 'mean' (default) over rows, 'sum', or 'none': `loss` is then a Float32Array with one loss per
   * row, and `grad` the gradient of their sum.
   */
  reduction?: Reduction;
  /** Gradient buffer to fill (length = logits.length, not overlapping the logits). Default: a new array. */
  out?: Float32Array;
  /**
   * Where to compute (default 'auto'): 'cpu' the native threaded kernels, 'js' the float64
   * TypeScript reference, 'cuda' the GPU, 'cuda-sim' the CUDA kernels run by the simulator
   * (testing only, slow). 'auto' is the CPU when the addon loaded (a streaming loss finishes there
   * before a GPU call's copies would; see CUDA_AUTO_MIN_WORK), else 'js'.
   * FUSEDLOSS_BACKEND, when set, replaces 'auto' (see README).
   */
  backend?: Backend;
}

export interface ZLossOptions extends ClassLossOptions {
  /**
   * Sharpness a in [1e-6, 1e6] (default 1). loss = softplus(a (b - z_c)) / a, z_c the target's
   * z-score in its row. Defaults a = 1, b = 0 are the authors' released example
   * (factored_output_layer); the paper tunes a and b per task.
   */
  a?: number;
  /** Offset b, the z-score beyond which a row counts as solved, in [-1e6, 1e6] (default 0; useful b lie below sqrt(C - 1)). */
  b?: number;
}

export interface SphericalLossOptions extends ClassLossOptions {
  /**
   * Which loss (required): 'mse' ||o - e_c||^2; 'log-spherical-softmax' -log p_c with
   * p_k = (o_k^2 + eps) / sum_j (o_j^2 + eps); 'log-taylor-softmax' -log p_c with
   * p_k = (1 + o_k + o_k^2 / 2) / sum_j (1 + o_j + o_j^2 / 2). Z-loss is zLoss.
   */
  kind: Exclude<SphericalKind, 'z-loss'>;
  /**
   * eps in [1e-30, 1e6] of the log-spherical softmax (default 1e-6, our choice: the authors' value
   * is not known). Only with kind 'log-spherical-softmax'.
   */
  eps?: number;
}

export interface SoftmaxCrossEntropyOptions extends ClassLossOptions {
  /**
   * The loss of p = softmax(logits / temperature) (default 'ce'): 'ce' cross-entropy; 'comp-sum'
   * (p_y^(tau-1) - 1) / (1 - tau) (Mao, Mohri, Zhong 2023); 'gce' (1 - p_y^q) / q (Zhang, Sabuncu
   * 2018); 'mae' 2 (1 - p_y) (Ghosh et al. 2017); 'focal' -alpha (1 - p_y)^gamma log p_y (Lin
   * et al. 2017); 'ldr-kl' lambda log((1/C) sum_k exp((x_k - x_y + margin [k != y]) / lambda))
   * (Zhu, Ying, Yang 2023).
   */
  form?: SoftmaxForm;
  /** Label smoothing eps in [0, 1] (default 0, as PyTorch; 0.1 is usual): target (1 - eps) e_y + eps / C. Form 'ce' only. */
  labelSmoothing?: number;
  /** Temperature T in [1e-6, 1e6] (default 1): every form reads logits / T. */
  temperature?: number;
  /** Per-row weights >= 0 (default all 1): row i's loss is scaled; the mean's divisor is unchanged. */
  weights?: NumericArray;
  /**
   * Per-class weights >= 0, one per class (default all 1): row i's loss is scaled by
   * classWeights[y_i], and 'mean' divides by the sum of classWeights[y_i] over counted rows, as
   * PyTorch's cross_entropy (with label smoothing as PyTorch combines them). Lin et al.'s
   * per-class alpha_t is this option.
   */
  classWeights?: NumericArray;
  /** Rows whose target is this integer count nothing (default -100, as PyTorch); 'mean' excludes them. A batch with every row ignored has loss 0. */
  ignoreIndex?: number;
  /** comp-sum's tau in [0, 100] (default 0.5, our choice: 0 is sum-exponential, 1 CE, 2 half MAE). p_y is floored at e^-80 in p_y^(tau-1) for tau < 1. */
  tau?: number;
  /** GCE's q in (0, 1] (default 0.7, Zhang and Sabuncu 2018). */
  q?: number;
  /** Focal gamma in [0, 1000] (default 2, Lin et al. 2017). */
  gamma?: number;
  /** Focal alpha >= 0, at most 1e6, scales the loss (default 1; use classWeights for a per-class alpha_t). */
  alpha?: number;
  /** LDR-KL's lambda in [1e-6, 1e6] (default 1, the official class default; the experiments pick 0.1, 1 or 10). */
  lambda?: number;
  /** LDR-KL's margin c >= 0, at most 1e6 (default 0.1, as the official experiments). */
  margin?: number;
  /**
   * Logit soft-capping c in [1e-6, 1e6] (default none): every form reads c tanh(x / c) in place of
   * x, before the temperature, as Gemma 2 caps its final logits (c = 30 there); the gradient
   * carries the cap's slope 1 - tanh(x / c)^2.
   */
  softcap?: number;
  /**
   * PaLM's z-loss s in [0, 1e6] (default 0; PaLM and Liger use 1e-4), form 'ce' only: each kept
   * row adds s lse_i^2, lse_i = log sum_k exp(u_k) the log of the softmax's normaliser (u = the
   * capped logits / temperature), scaled by the row's weight; 'mean' divides it by the number of
   * kept rows (not by the class weights), as Liger-Kernel. Not {@link zLoss}, which is de
   * Brébisson and Vincent's spherical Z-loss.
   */
  lseSquareScale?: number;
  /**
   * Form 'ce' only (default false): also return `lse`, a Float32Array of each row's log-sum-exp
   * lse_i (defined for ignored rows too), as inference code or a later backward pass needs it.
   */
  returnLse?: boolean;
}

/** {@link softmaxCrossEntropy}'s result: `lse` as well when `returnLse` is true. */
export type SoftmaxResult<O> = ClassLossResult<O> & (O extends { returnLse: true } ? { lse: Float32Array } : unknown);

/**
 * The result for the options' reduction: per-row losses with 'none', one number with 'mean', 'sum'
 * or no reduction given, either when the reduction is only known at run time.
 */
export type ClassLossResult<O> = O extends { reduction?: infer R }
  ? [R] extends ['none']
    ? RowLossResult
    : [R] extends ['mean' | 'sum' | undefined]
      ? LossResult
      : unknown extends R
        ? LossResult
        : LossResult | RowLossResult
  : LossResult;

export const SPHERICAL_DEFAULTS = {
  a: 1,
  b: 0,
  eps: 1e-6,
  form: 'ce' as SoftmaxForm,
  labelSmoothing: 0,
  temperature: 1,
  ignoreIndex: -100,
  tau: 0.5,
  q: 0.7,
  gamma: 2,
  alpha: 1,
  lambda: 1,
  margin: 0.1,
};

const classSchema: Record<string, OptionSpec> = {
  classes: bounded('kDimension'),
  reduction: { kind: 'enum', values: ['mean', 'sum', 'none'] },
  out: { kind: 'any' },
  backend: backendSpec,
};
const zLossSchema: Record<string, OptionSpec> = {
  ...classSchema,
  a: bounded('kPositive'),
  b: bounded('kSigned'),
};
const SPHERICAL_KINDS = ['mse', 'log-spherical-softmax', 'log-taylor-softmax'] as const;
const sphericalSchema: Record<string, OptionSpec> = {
  ...classSchema,
  kind: { kind: 'enum', values: SPHERICAL_KINDS },
  eps: bounded('kSphericalEps'),
};
const SOFTMAX_FORMS = ['ce', 'comp-sum', 'gce', 'mae', 'focal', 'ldr-kl'] as const;
const softmaxSchema: Record<string, OptionSpec> = {
  ...classSchema,
  form: { kind: 'enum', values: SOFTMAX_FORMS },
  labelSmoothing: bounded('kUnit'),
  temperature: bounded('kPositive'),
  weights: { kind: 'any' },
  classWeights: { kind: 'any' },
  ignoreIndex: bounded('kInt32'),
  tau: bounded('kNonNegative100'),
  q: { kind: 'number', min: 1e-6, max: 1 }, // GCE's q: the wire carries tau = 1 + q
  gamma: bounded('kNonNegative1e3'),
  alpha: bounded('kNonNegative'),
  lambda: bounded('kPositive'),
  margin: bounded('kNonNegative'),
  softcap: bounded('kPositive'),
  lseSquareScale: bounded('kNonNegative'),
  returnLse: { kind: 'boolean' },
};

/** Each public function's options, for the registry (src/registry.ts). */
export const SPHERICAL_OPTIONS = {
  zLoss: zLossSchema,
  sphericalLoss: sphericalSchema,
  softmaxCrossEntropy: softmaxSchema,
};

/** The options each softmax form reads besides the shared ones. */
const FORM_OPTIONS: Record<SoftmaxForm, readonly string[]> = {
  ce: ['labelSmoothing', 'lseSquareScale', 'returnLse'],
  'comp-sum': ['tau'],
  gce: ['q'],
  mae: [],
  focal: ['gamma', 'alpha'],
  'ldr-kl': ['lambda', 'margin'],
};

/** A checked problem: arrays converted, lengths consistent, backend chosen. */
interface Problem {
  fn: string;
  logits: Float32Array;
  targets: Int32Array;
  classes: number;
  reduction: Reduction;
  out: Float32Array;
  backend: ResolvedBackend;
}

function problem(fn: string, logits: unknown, targets: unknown, o: Record<string, unknown>): Problem {
  const x = toFloat32(fn, 'logits', logits);
  const t = toTargets(fn, 'targets', targets);
  const rows = t.length;
  const classes = rowWidth(fn, 'logits', x.length, rows, o.classes as number | undefined, 'classes');
  requireLength(fn, 'logits', x.length, rows * classes, `${rows} targets x ${classes} classes`);
  return {
    fn,
    logits: x,
    targets: t,
    classes,
    reduction: opt<Reduction>(o, 'reduction', 'mean'),
    out: gradBuffer(fn, o.out, x.length, x, 'options.out', 'logits'),
    backend: resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: 0 }),
  };
}

const NAMES = { scores: 'logits', labels: 'targets', weights: 'options.weights', classWeights: 'options.classWeights' };

/** The reference's view of a problem, after the value checks the native kernels make. */
function refProblem(pb: Problem, weights?: Float32Array, ignoreIndex?: number): ClassRefProblem {
  checkValues(pb.fn, NAMES, pb.logits, pb.targets, weights, { classes: pb.classes, binary: false, ignoreIndex });
  return { logits: pb.logits, targets: pb.targets, classes: pb.classes };
}

/**
 * Per-row losses are float32: a row whose loss (computed in double) lies beyond float32's range,
 * as 'mse' gives for logits beyond about 1e19, is refused rather than returned as Infinity.
 */
function checkedRows(fn: string, rowLoss: Float32Array): Float32Array {
  const r = rowLoss.findIndex((v) => !Number.isFinite(v));
  if (r >= 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_NON_FINITE',
      `${fn}: the loss of row ${r} is beyond the float32 range of per-row losses (the logits are too large ` +
        `for this loss); reduction 'mean' or 'sum' returns the total in double`,
    );
  }
  return rowLoss;
}

/** The reference's result in the public shape. */
function fromReference(pb: Problem, r: RefResult): LossResult | RowLossResult {
  const res = withGrad(pb.out, r.loss, r.grad);
  return pb.reduction === 'none' ? { loss: checkedRows(pb.fn, Float32Array.from(r.rowLoss)), grad: res.grad } : res;
}

/** Calls a native entry point with the per-row loss buffer 'none' needs, and shapes its result. */
function viaNative(
  pb: Problem,
  call: (rowLoss: Float32Array | null) => number | Promise<number>,
  ignoreIndex?: number,
): LossResult | RowLossResult | Promise<LossResult | RowLossResult> {
  const rowLoss = pb.reduction === 'none' ? allocate(pb.fn, 'the row losses', Float32Array, pb.targets.length) : null;
  return andThen(
    nativeCall(pb.fn, () => call(rowLoss), {
      names: NAMES,
      labels: { classes: pb.classes, binary: false, ignoreIndex },
    }),
    (loss) => (rowLoss ? { loss: checkedRows(pb.fn, rowLoss), grad: pb.out } : { loss, grad: pb.out }),
  );
}

// ---- zLoss and sphericalLoss ----

function sphericalImpl(
  logits: unknown,
  targets: unknown,
  o: Record<string, unknown>,
  kind: SphericalKind,
  fn: string,
  async: boolean,
) {
  const pb = problem(fn, logits, targets, o);
  const params = {
    kind,
    a: opt(o, 'a', SPHERICAL_DEFAULTS.a),
    b: opt(o, 'b', SPHERICAL_DEFAULTS.b),
    eps: opt(o, 'eps', SPHERICAL_DEFAULTS.eps),
  };
  if (pb.backend === 'js') {
    const ref = refProblem(pb);
    const r = referenceSpherical(ref, params, pb.reduction);
    const over = kind === 'z-loss' ? zLossOverflow(ref, r.grad) : undefined;
    if (over) throw faultError(fn, 'zloss-spread-too-small', over.row, over.std, { names: NAMES });
    // The squared error's gradient grows with the logits (binding squared_error_overflow).
    if (kind === 'mse' && float32Overflow(r.grad) >= 0) throw faultError(fn, 'logit-not-finite', -1, Infinity);
    return fromReference(pb, r);
  }
  const nativeParams: SphericalWire = {
    ...params,
    kind: wireId('SphericalKind', kind),
    classes: pb.classes,
    reduction: wireId('Reduction', pb.reduction),
    device: deviceCode(pb.backend),
  };
  return viaNative(pb, (rowLoss) =>
    native(pb.backend).sphericalLoss(pb.logits, pb.targets, pb.out, rowLoss, nativeParams, async),
  );
}

/**
 * Z-loss (de Brebisson and Vincent 2016, arXiv 1604.08859): softplus(a (b - z_c)) / a per row,
 * with z_c = (o_c - mean) / std the target's z-score among the row's C logits. Invariant to
 * o -> lambda o + c (lambda > 0). A row whose logits are all equal has z_c = 0, loss
 * softplus(a b) / a and gradient 0 (z is undefined there). Any other row, however tiny its std
 * (denormal logits too), gets the float64 answer; a row whose gradient (about 1 / std) overflows
 * float32 throws a RangeError naming the row (README "Numerics").
 *
 * @example
 * ```ts
 * import { zLoss } from 'fusedloss';
 *
 * // 2 rows x 4 classes (row-major), one target class per row.
 * const logits = new Float32Array([2.0, 0.5, -1.0, 0.1, 0.3, 1.2, 0.4, -0.6]);
 * const targets = new Int32Array([0, 3]);
 * const { loss, grad } = zLoss(logits, targets); // loss ≈ 0.9322, grad: Float32Array(8)
 * zLoss(logits, targets, { a: 2, b: 1 }).loss; // ≈ 1.3068
 * zLoss(logits, targets, { reduction: 'none' }).loss; // Float32Array [≈ 0.2035, ≈ 1.6608]
 * ```
 */
export function zLoss<O extends ZLossOptions = ZLossOptions & { reduction?: 'mean' }>(
  logits: NumericArray,
  targets: Targets,
  options?: O,
): ClassLossResult<O> {
  const [fn, async] = callOf('zLoss');
  const o = readOptions(fn, options, zLossSchema);
  return sphericalImpl(logits, targets, o, 'z-loss', fn, async) as ClassLossResult<O>;
}

/**
 * The Promise twin of {@link zLoss}: the native backends run off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const zLossAsync = asyncTwin('zLossAsync', zLoss);

function sphericalOptions(fn: string, options: unknown): [Record<string, unknown>, SphericalKind] {
  const o = readOptions(fn, options, sphericalSchema);
  const kind = o.kind as Exclude<SphericalKind, 'z-loss'> | undefined;
  if (kind === undefined) {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.kind is required: one of ${SPHERICAL_KINDS.map((k) => `'${k}'`).join(', ')}`,
    );
  }
  if (o.eps !== undefined && kind !== 'log-spherical-softmax') {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.eps applies only to kind 'log-spherical-softmax', got kind '${kind}'`,
    );
  }
  return [o, kind];
}

/**
 * The other spherical losses (Vincent, de Brebisson, Bouthillier 2015; de Brebisson and Vincent
 * 2016), functions of the target's logit, the row's sum and its sum of squares only: squared error
 * to the one-hot, log-spherical softmax and log-Taylor softmax (see `kind`).
 *
 * @example
 * ```ts
 * import { sphericalLoss } from 'fusedloss';
 *
 * const logits = new Float32Array([2.0, 0.5, -1.0, 0.1, 0.3, 1.2, 0.4, -0.6]); // 2 rows x 4 classes
 * const targets = new Int32Array([0, 3]);
 * sphericalLoss(logits, targets, { kind: 'log-taylor-softmax' }).loss; // ≈ 1.4438
 * sphericalLoss(logits, targets, { kind: 'mse' }).loss; // ≈ 3.255
 * const { loss, grad } = sphericalLoss(logits, targets, { kind: 'log-spherical-softmax' }); // loss ≈ 1.0067
 * ```
 */
export function sphericalLoss<O extends SphericalLossOptions>(
  logits: NumericArray,
  targets: Targets,
  options: O,
): ClassLossResult<O> {
  const [fn, async] = callOf('sphericalLoss');
  const [o, kind] = sphericalOptions(fn, options);
  return sphericalImpl(logits, targets, o, kind, fn, async) as ClassLossResult<O>;
}

/**
 * The Promise twin of {@link sphericalLoss}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const sphericalLossAsync = asyncTwin('sphericalLossAsync', sphericalLoss);

// ---- softmaxCrossEntropy ----

function softmaxImpl(logits: unknown, targets: unknown, options: unknown, fn: string, async: boolean) {
  const o = readOptions(fn, options, softmaxSchema);
  const form = opt(o, 'form', SPHERICAL_DEFAULTS.form);
  const formOptions = Object.values(FORM_OPTIONS).flat();
  for (const key of formOptions) {
    if (o[key] !== undefined && !FORM_OPTIONS[form].includes(key)) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: options.${key} does not apply to form '${form}'; form '${form}' takes ${FORM_OPTIONS[form].join(', ') || 'no form option'}`,
      );
    }
  }
  const pb = problem(fn, logits, targets, o);
  const weights = o.weights === undefined ? undefined : toFloat32(fn, 'options.weights', o.weights);
  if (weights) requireLength(fn, 'options.weights', weights.length, pb.targets.length, 'one weight per row');
  const classWeights = o.classWeights === undefined ? undefined : toFloat32(fn, 'options.classWeights', o.classWeights);
  if (classWeights) requireLength(fn, 'options.classWeights', classWeights.length, pb.classes, 'one weight per class');
  const p = {
    form,
    temperature: opt(o, 'temperature', SPHERICAL_DEFAULTS.temperature),
    labelSmoothing: opt(o, 'labelSmoothing', SPHERICAL_DEFAULTS.labelSmoothing),
    tau: opt(o, 'tau', SPHERICAL_DEFAULTS.tau),
    q: opt(o, 'q', SPHERICAL_DEFAULTS.q),
    gamma: opt(o, 'gamma', SPHERICAL_DEFAULTS.gamma),
    alpha: opt(o, 'alpha', SPHERICAL_DEFAULTS.alpha),
    lambda: opt(o, 'lambda', SPHERICAL_DEFAULTS.lambda),
    margin: opt(o, 'margin', SPHERICAL_DEFAULTS.margin),
    ignoreIndex: opt(o, 'ignoreIndex', SPHERICAL_DEFAULTS.ignoreIndex),
    softcap: opt(o, 'softcap', 0),
    lseSquareScale: opt(o, 'lseSquareScale', 0),
  };
  const lse = opt(o, 'returnLse', false) ? allocate(fn, 'the row log-sum-exps', Float32Array, pb.targets.length) : null;
  const withLse = <R extends object>(r: R): R => (lse ? { ...r, lse } : r);
  if (pb.backend === 'js') {
    if (classWeights) classWeights.forEach((_, k) => checkWeight(fn, 'options.classWeights', classWeights, k));
    const ref = refProblem(pb, weights, p.ignoreIndex);
    const r = referenceSoftmax(ref, { ...p, weights, classWeights }, pb.reduction);
    if (lse) lse.set(r.lse!);
    return withLse(fromReference(pb, r));
  }
  // gce and mae are comp-sum with tau = 1 + q and tau = 2 (times 2) (formulas G).
  const tau = form === 'gce' ? 1 + p.q : form === 'mae' ? 2 : p.tau;
  const nativeParams: SoftmaxWire = {
    classes: pb.classes,
    reduction: wireId('Reduction', pb.reduction),
    form: wireId('SoftmaxForm', form),
    temperature: p.temperature,
    smoothing: p.labelSmoothing,
    tau,
    scale: form === 'mae' ? 2 : 1,
    gamma: p.gamma,
    alpha: p.alpha,
    lambda: p.lambda,
    margin: p.margin,
    softcap: p.softcap,
    lseSquare: p.lseSquareScale,
    ignoreIndex: p.ignoreIndex,
    device: deviceCode(pb.backend),
  };
  return andThen(
    viaNative(
      pb,
      (rowLoss) =>
        native(pb.backend).softmaxLoss(
          pb.logits,
          pb.targets,
          weights ?? null,
          classWeights ?? null,
          pb.out,
          rowLoss,
          lse,
          nativeParams,
          async,
        ),
      p.ignoreIndex,
    ),
    withLse,
  );
}

/**
 * Softmax cross-entropy and its classification relatives (formulas G) in one fused pass per row: label
 * smoothing, temperature, per-row and per-class weights, an ignored target, and `form` 'comp-sum',
 * 'gce', 'mae', 'focal' or 'ldr-kl'. The gradient of 'ce' is (softmax(x / T) - target) / T per row.
 * Logit soft-capping (`softcap`), PaLM's z-loss (`lseSquareScale`) and each row's log-sum-exp
 * (`returnLse`) come at no extra pass (formulas G.8).
 *
 * @example
 * ```ts
 * import { softmaxCrossEntropy } from 'fusedloss';
 *
 * const logits = new Float32Array([2.0, 0.5, -1.0, 0.1, 0.3, 1.2, 0.4, -0.6]); // 2 rows x 4 classes
 * const targets = new Int32Array([0, 3]);
 * softmaxCrossEntropy(logits, targets).loss; // ≈ 1.4280
 * const { loss, grad } = softmaxCrossEntropy(logits, targets, { labelSmoothing: 0.1 }); // loss ≈ 1.4618
 * // Per-row losses of the softmax focal loss: a Float32Array(2), [≈ 0.03109, ≈ 2.1109].
 * softmaxCrossEntropy(logits, targets, { form: 'focal', gamma: 2, reduction: 'none' }).loss;
 * ```
 */
export function softmaxCrossEntropy<
  O extends SoftmaxCrossEntropyOptions = SoftmaxCrossEntropyOptions & { reduction?: 'mean' },
>(logits: NumericArray, targets: Targets, options?: O): SoftmaxResult<O> {
  const [fn, async] = callOf('softmaxCrossEntropy');
  return softmaxImpl(logits, targets, options, fn, async) as SoftmaxResult<O>;
}

/**
 * The Promise twin of {@link softmaxCrossEntropy}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const softmaxCrossEntropyAsync = asyncTwin('softmaxCrossEntropyAsync', softmaxCrossEntropy);
