// The soft-confusion-matrix family (formulas A, B): options, defaults, checks and dispatch to the
// native CPU kernels (binding/cpu/confusion.cc) or the float64 reference
// (src/reference/confusion.ts). Binary cross-entropy lives here too: it is the baseline every
// imbalanced-learning comparison with AnyLoss needs, and it shares the binary problem's checks.
import {
  checkValues,
  gradBuffer,
  requireLength,
  toBinaryLabels,
  toClassLabels,
  toFloat32,
  type BinaryLabels,
  type ClassLabels,
  type NumericArray,
} from '../arrays';
import { describe, rangeError, typeError } from '../errors';
import type { FaultContext } from '../faults';
import {
  deviceCode,
  nativeCall,
  resolveBackend,
  type Backend,
  type ElementwiseEntries,
  type ResolvedBackend,
} from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import {
  anyLossConstants,
  referenceAnyLoss,
  referenceBce,
  referenceCounts,
  referenceSigmoidFocal,
  referenceMetric,
  referenceOverlap,
  type Counts,
  type MetricValue,
  type OverlapForm,
  type RefProblem,
} from '../reference/confusion';
import { asyncTwin, callOf, native, andThen, withGrad, type LossResult } from './dispatch';
import { wireId } from '../wire-enums';
import { bounded } from '../wire-bounds';
import type {
  AnyLossWire,
  ConfusionWire,
  CountsWire,
  ElementwiseParams,
  ElementwiseWire,
  OverlapWire,
} from '../wire-params';
import { differentiateMetric, METRICS, type CustomMetric, type MetricName } from './metric';

export type { Counts } from '../reference/confusion';
export type { CustomMetric, MetricName } from './metric';
export type { LossResult } from './dispatch';

/** Options every loss of this family takes. */
export interface ProblemOptions {
  /**
   * Number of classes, an integer in [1, 2^24] (default 1). 1: a binary problem, one score per row
   * and labels in [0, 1] (soft labels allowed). C >= 2: scores are rows x C (row-major) and labels
   * are class ids in [0, C), scored one-vs-rest per class.
   */
  classes?: number;
  /**
   * What the scores are. 'logits' (default): raw outputs, read through a sigmoid (binary) or a
   * softmax over each row (multi-class). 'probabilities': used as given, each in [0, 1].
   */
  input?: 'logits' | 'probabilities';
  /** Per-row weights >= 0 (default: all 1). Each row's contribution to the sums is scaled. */
  weights?: NumericArray;
  /** Gradient buffer to fill (length = scores.length, not overlapping the scores). Default: a new array. */
  out?: Float32Array;
  /**
   * Where to compute (default 'auto'): 'cpu' the native threaded kernels, 'js' the float64
   * TypeScript reference, 'cuda' the GPU, 'cuda-sim' the CUDA kernels run by the simulator
   * (testing only, slow). 'auto' is the CPU when the addon loaded (a streaming loss finishes there
   * before a GPU call's copies would; see CUDA_AUTO_MIN_WORK), else 'js'. FUSEDLOSS_BACKEND, when
   * set, replaces 'auto' (see README).
   */
  backend?: Backend;
}

export interface AnyLossOptions extends ProblemOptions {
  /**
   * The confusion-matrix metric to maximise; the loss is 1 - metric (default 'f1'). A function
   * of the soft counts `{ tp, fn, fp, tn }` defines a custom metric; its derivatives are taken
   * by fourth-order finite differences in float64 (see differentiateMetric).
   */
  metric?: MetricName | CustomMetric;
  /** F-beta's beta, >= 1e-6 (default 1). Only with metric 'fbeta'. */
  beta?: number;
  /** Multi-class: 'macro' (default) averages the per-class metrics, 'micro' scores the summed counts. */
  average?: 'macro' | 'micro';
  /**
   * L of the approximation yhat = sigmoid(L (p - 1/2)), >= 1e-6 (default 73, the value of the
   * authors' notebooks; their README suggests 2 to 70). Larger is closer to 0/1 predictions.
   */
  amplifier?: number;
  /** Added to the metric's denominators, in [1e-12, 1] (default 1e-5, as the official code). */
  epsilon?: number;
}

export interface SoftConfusionOptions extends Omit<ProblemOptions, 'out'> {
  /** L of yhat = sigmoid(L (p - 1/2)), >= 1e-6 (default 73). */
  amplifier?: number;
}

/** Per-class soft counts (binary problems have one class: the positive one). */
export interface SoftCounts {
  tp: Float64Array;
  fn: Float64Array;
  fp: Float64Array;
  tn: Float64Array;
}

export interface DiceOptions extends ProblemOptions {
  /** gamma added to numerator and denominator, >= 1e-12 (default 1, as the Dice-loss paper's training scripts; their class default is 1e-4). */
  smooth?: number;
  /** Self-adjusting exponent: pt = p (1 - p)^alpha, >= 0 (default 0: plain Dice). */
  alpha?: number;
  /** Square the denominator's terms (V-Net form): sum pt^2 + sum y^2 (default false). */
  squareDenominator?: boolean;
  /** 'global' (default): one Dice per class over the batch; 'per-example': one per cell, averaged. */
  mode?: 'global' | 'per-example';
}

export interface TverskyOptions extends ProblemOptions {
  /** Weight of false positives, >= 0 (default 0.5; alpha = beta = 0.5 is Dice). */
  alpha?: number;
  /** Weight of false negatives, >= 0 (default 0.5). Salehi et al. (2017) favour 0.3 / 0.7 for imbalanced data. */
  beta?: number;
  /** gamma added to numerator and denominator, >= 1e-12 (default 1). */
  smooth?: number;
  /** 'global' (default) or 'per-example'. */
  mode?: 'global' | 'per-example';
}

export interface BinaryCrossEntropyOptions extends Omit<ProblemOptions, 'classes' | 'input'> {
  /** Weight of the positive term (PyTorch's pos_weight), >= 0 (default 1). */
  posWeight?: number;
  /** 'mean' (default) over rows, or 'sum'. */
  reduction?: 'mean' | 'sum';
}

export interface SigmoidFocalOptions extends Omit<ProblemOptions, 'classes' | 'input'> {
  /** Focusing exponent gamma in (1 - p_t)^gamma, in [0, 1000] (default 2, Lin et al. 2017; 0 gives alpha-weighted BCE). */
  gamma?: number;
  /** Weight of positives, in [0, 1]; negatives get 1 - alpha (default 0.25, Lin et al. 2017; 0.5 weighs both alike, halving BCE). */
  alpha?: number;
  /** 'mean' (default) over rows, or 'sum'. */
  reduction?: 'mean' | 'sum';
}

export const DEFAULTS = {
  metric: 'f1' as MetricName,
  beta: 1,
  average: 'macro' as const,
  amplifier: 73,
  epsilon: 1e-5,
  smooth: 1,
  diceAlpha: 0,
  tverskyAlpha: 0.5,
  tverskyBeta: 0.5,
  posWeight: 1,
  focalGamma: 2,
  focalAlpha: 0.25,
};

const problemSchema: Record<string, OptionSpec> = {
  classes: bounded('kDimension'),
  input: { kind: 'enum', values: ['logits', 'probabilities'] },
  weights: { kind: 'any' },
  out: { kind: 'any' },
  backend: backendSpec,
};
const amplifierSpec = bounded('kPositive');

const anyLossSchema: Record<string, OptionSpec> = {
  ...problemSchema,
  metric: { kind: 'any' },
  beta: bounded('kPositive'),
  average: { kind: 'enum', values: ['macro', 'micro'] },
  amplifier: amplifierSpec,
  epsilon: bounded('kMetricEpsilon'), // 0 (or a denormal) leaves 0/0 for empty classes
};
const softConfusionSchema: Record<string, OptionSpec> = { ...problemSchema, amplifier: amplifierSpec };
delete softConfusionSchema.out;
const modeSpec: OptionSpec = { kind: 'enum', values: ['global', 'per-example'] };
const smoothSpec = bounded('kDiceSmooth');
const diceSchema: Record<string, OptionSpec> = {
  ...problemSchema,
  smooth: smoothSpec,
  alpha: bounded('kNonNegative1e3'),
  squareDenominator: { kind: 'boolean' },
  mode: modeSpec,
};
const tverskySchema: Record<string, OptionSpec> = {
  ...problemSchema,
  alpha: bounded('kNonNegative'),
  beta: bounded('kNonNegative'),
  smooth: smoothSpec,
  mode: modeSpec,
};
const elementwiseSchema: Record<string, OptionSpec> = {
  weights: { kind: 'any' },
  out: { kind: 'any' },
  backend: backendSpec,
  reduction: { kind: 'enum', values: ['mean', 'sum'] },
};
const bceSchema: Record<string, OptionSpec> = {
  ...elementwiseSchema,
  posWeight: bounded('kNonNegative1e12'),
};
const focalSchema: Record<string, OptionSpec> = {
  ...elementwiseSchema,
  gamma: bounded('kNonNegative1e3'),
  alpha: bounded('kUnit'),
};

/** Each public function's options, for the registry (src/registry.ts). */
export const CONFUSION_OPTIONS = {
  anyLoss: anyLossSchema,
  softConfusion: softConfusionSchema,
  diceLoss: diceSchema,
  tverskyLoss: tverskySchema,
  binaryCrossEntropy: bceSchema,
  sigmoidFocal: focalSchema,
};

type Labels = Float32Array | Uint8Array | Int32Array;

/** A checked problem: arrays converted, lengths consistent, backend chosen. */
interface Problem {
  fn: string;
  scores: Float32Array;
  labels: Labels;
  weights: Float32Array | null;
  classes: number;
  probabilities: boolean;
  backend: ResolvedBackend;
  names: { scores: string; labels: string; weights: string };
}

function problem(
  fn: string,
  scores: unknown,
  labels: unknown,
  o: Record<string, unknown>,
  scoresName = 'scores',
): Problem {
  const classes = opt(o, 'classes', 1);
  const s = toFloat32(fn, scoresName, scores);
  const y = classes === 1 ? toBinaryLabels(fn, 'labels', labels) : toClassLabels(fn, 'labels', labels);
  const rows = y.length;
  requireLength(fn, scoresName, s.length, rows * classes, `${rows} labels x ${classes} classes`);
  const weights = o.weights === undefined ? null : toFloat32(fn, 'options.weights', o.weights);
  if (weights) requireLength(fn, 'options.weights', weights.length, rows, 'one weight per row');
  return {
    fn,
    scores: s,
    labels: y,
    weights,
    classes,
    probabilities: opt<string>(o, 'input', 'logits') === 'probabilities',
    // Every loss of this family has CUDA kernels.
    backend: resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: 0 }),
    names: { scores: scoresName, labels: 'labels', weights: 'options.weights' },
  };
}

/** The reference's view of a problem, after the value checks the native kernels make. */
function refProblem(pb: Problem): RefProblem {
  checkValues(pb.fn, pb.names, pb.scores, pb.labels, pb.weights ?? undefined, {
    classes: pb.classes,
    binary: pb.classes === 1,
    probabilities: pb.probabilities,
  });
  return {
    scores: pb.scores,
    labels: pb.labels,
    weights: pb.weights ?? undefined,
    classes: pb.classes,
    probabilities: pb.probabilities,
  };
}

/** What the labels may hold, for the message of a native label fault. */
function faults(pb: Problem): FaultContext {
  return { names: pb.names, labels: { classes: pb.classes, binary: pb.classes === 1 } };
}

function nativeParams(pb: Problem): ConfusionWire {
  return {
    classes: pb.classes,
    input: wireId('Input', pb.probabilities ? 'probabilities' : 'logits'),
    device: deviceCode(pb.backend),
  };
}

function countsFromArray(a: Float64Array, k: number): Counts {
  return { tp: a[4 * k], fn: a[4 * k + 1], fp: a[4 * k + 2], tn: a[4 * k + 3] };
}

// ---- anyLoss ----

const KNOWN_METRICS = `one of ${METRICS.map((m) => `'${m}'`).join(', ')} or a function of { tp, fn, fp, tn }`;

function anyLossImpl(
  scores: unknown,
  labels: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): LossResult | Promise<LossResult> {
  const o = readOptions(fn, options, anyLossSchema);
  const metric = o.metric ?? DEFAULTS.metric;
  if (typeof metric !== 'function' && typeof metric !== 'string') {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.metric must be ${KNOWN_METRICS}, got ${describe(metric)}`,
    );
  }
  if (typeof metric === 'string' && !(METRICS as readonly string[]).includes(metric)) {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.metric must be ${KNOWN_METRICS}, got '${metric}'`,
    );
  }
  if (o.beta !== undefined && metric !== 'fbeta') {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.beta applies only to metric 'fbeta', got metric ${describe(metric)}`,
    );
  }
  const pb = problem(fn, scores, labels, o);
  const out = gradBuffer(fn, o.out, pb.scores.length, pb.scores);
  const amplifier = opt(o, 'amplifier', DEFAULTS.amplifier);
  const average = opt<'macro' | 'micro'>(o, 'average', DEFAULTS.average);
  const beta = opt(o, 'beta', DEFAULTS.beta);
  const eps = opt(o, 'epsilon', DEFAULTS.epsilon);
  const metricFn = (c: Counts): MetricValue =>
    typeof metric === 'function'
      ? differentiateMetric(fn, metric as CustomMetric, c)
      : referenceMetric(metric as string, c, beta, eps);

  if (pb.backend === 'js') {
    const r = referenceAnyLoss(refProblem(pb), amplifier, average, metricFn);
    return withGrad(out, r.loss, r.grad);
  }
  const params: CountsWire = { ...nativeParams(pb), amplifier };
  if (typeof metric !== 'function') {
    const full: AnyLossWire = {
      ...params,
      metric: wireId('Metric', metric as MetricName),
      beta,
      eps,
      average: wireId('Average', average),
    };
    return andThen(
      nativeCall(fn, () => native(pb.backend).anyLoss(pb.scores, pb.labels, pb.weights, out, full, async), faults(pb)),
      (loss) => ({ loss, grad: out }),
    );
  }
  // Custom metric: native pass 1 (counts, stashing into out), the scalar step here, native pass 2.
  return andThen(
    nativeCall(
      fn,
      () => native(pb.backend).confusionCounts(pb.scores, pb.labels, pb.weights, out, params, async),
      faults(pb),
    ),
    (arr) => {
      const counts = Array.from({ length: pb.classes }, (_, k) => countsFromArray(arr, k));
      const { loss, dpos, dneg } = anyLossConstants(counts, average, metricFn);
      return andThen(
        nativeCall(
          fn,
          () => native(pb.backend).confusionBackward(pb.scores, pb.labels, pb.weights, out, dpos, dneg, params, async),
          faults(pb),
        ),
        () => ({ loss, grad: out }),
      );
    },
  );
}

/**
 * AnyLoss (Han, Moniz and Chawla, 2024, arXiv 2405.14745): 1 - a confusion-matrix metric
 * computed on amplified predictions yhat = sigmoid(L (p - 1/2)), differentiable in the scores.
 * Binary by default; `classes: C` for multi-class one-vs-rest with macro or micro averaging.
 * Batch-global: the loss of a batch is one number, so use batches that hold every class.
 *
 * @example
 * ```ts
 * import { anyLoss } from 'fusedloss';
 *
 * // Binary: one logit per row, labels 0/1 (soft labels in [0, 1] allowed).
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8]);
 * const labels = new Float32Array([1, 0, 1, 1]);
 * const { loss, grad } = anyLoss(logits, labels, { metric: 'f1' });
 * // loss ≈ 0.2007 (1 - soft F1: the last positive is missed); grad is a Float32Array(4)
 *
 * // Multi-class: 4 rows x 3 classes (row-major) and class ids; macro-averaged MCC.
 * const scores = new Float32Array([2, 0.1, -1, 0.3, 1.5, 0.2, -0.5, 0.4, 1.1, 0.2, 0.9, 0.1]);
 * anyLoss(scores, new Int32Array([0, 1, 2, 2]), { classes: 3, metric: 'mcc' }).loss; // ≈ 0.2544
 *
 * // A metric of your own, of the soft counts (differentiated numerically in float64).
 * anyLoss(logits, labels, { metric: ({ tp, fn, fp }) => tp / (tp + 0.5 * (fn + fp)) }).loss; // ≈ 0.2007
 * ```
 */
export function anyLoss(
  scores: NumericArray,
  labels: BinaryLabels | ClassLabels,
  options?: AnyLossOptions,
): LossResult {
  const [fn, async] = callOf('anyLoss');
  return anyLossImpl(scores, labels, options, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link anyLoss}: the native backends run off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const anyLossAsync = asyncTwin('anyLossAsync', anyLoss);

// ---- softConfusion ----

function softConfusionImpl(
  scores: unknown,
  labels: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): SoftCounts | Promise<SoftCounts> {
  const o = readOptions(fn, options, softConfusionSchema);
  const pb = problem(fn, scores, labels, o);
  const amplifier = opt(o, 'amplifier', DEFAULTS.amplifier);
  const split = (arr: Float64Array): SoftCounts => {
    const c = pb.classes;
    const pick = (j: number) => Float64Array.from({ length: c }, (_, k) => arr[4 * k + j]);
    return { tp: pick(0), fn: pick(1), fp: pick(2), tn: pick(3) };
  };
  if (pb.backend === 'js') {
    const counts = referenceCounts(refProblem(pb), amplifier);
    return split(Float64Array.from(counts.flatMap((c) => [c.tp, c.fn, c.fp, c.tn])));
  }
  const params: CountsWire = { ...nativeParams(pb), amplifier };
  return andThen(
    nativeCall(
      fn,
      () => native(pb.backend).confusionCounts(pb.scores, pb.labels, pb.weights, null, params, async),
      faults(pb),
    ),
    split,
  );
}

/**
 * The soft confusion matrix alone: per class, the weighted sums TP = sum y yhat, FN, FP, TN of
 * AnyLoss's amplified predictions (no gradient). Binary problems have one class, the positive one.
 *
 * @example
 * ```ts
 * import { softConfusion } from 'fusedloss';
 *
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8]);
 * const labels = new Float32Array([1, 0, 1, 1]);
 * const { tp, fn, fp, tn } = softConfusion(logits, labels); // each a Float64Array(1)
 * // tp[0] ≈ 2, fn[0] ≈ 1, fp[0] ≈ 0.0043, tn[0] ≈ 0.9957
 * ```
 */
export function softConfusion(
  scores: NumericArray,
  labels: BinaryLabels | ClassLabels,
  options?: SoftConfusionOptions,
): SoftCounts {
  const [fn, async] = callOf('softConfusion');
  return softConfusionImpl(scores, labels, options, fn, async) as SoftCounts;
}

/**
 * The Promise twin of {@link softConfusion}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const softConfusionAsync = asyncTwin('softConfusionAsync', softConfusion);

// ---- Dice and Tversky ----

function overlapImpl(
  scores: unknown,
  labels: unknown,
  o: Record<string, unknown>,
  form: OverlapForm,
  fn: string,
  async: boolean,
): LossResult | Promise<LossResult> {
  const pb = problem(fn, scores, labels, o);
  const out = gradBuffer(fn, o.out, pb.scores.length, pb.scores);
  if (pb.backend === 'js') {
    const r = referenceOverlap(refProblem(pb), form);
    return withGrad(out, r.loss, r.grad);
  }
  const params: OverlapWire = { ...nativeParams(pb), ...form };
  return andThen(
    nativeCall(
      fn,
      () => native(pb.backend).overlapLoss(pb.scores, pb.labels, pb.weights, out, params, async),
      faults(pb),
    ),
    (loss) => ({ loss, grad: out }),
  );
}

function diceForm(fn: string, options: unknown): [Record<string, unknown>, OverlapForm] {
  const o = readOptions(fn, options, diceSchema);
  return [
    o,
    {
      numI: 2,
      denI: 0,
      denP: 1,
      denY: 1,
      smooth: opt(o, 'smooth', DEFAULTS.smooth),
      exponent: opt(o, 'squareDenominator', false) ? 2 : 1,
      adjust: opt(o, 'alpha', DEFAULTS.diceAlpha),
      perExample: opt<string>(o, 'mode', 'global') === 'per-example',
    },
  ];
}

function tverskyForm(fn: string, options: unknown): [Record<string, unknown>, OverlapForm] {
  const o = readOptions(fn, options, tverskySchema);
  const a = opt(o, 'alpha', DEFAULTS.tverskyAlpha),
    b = opt(o, 'beta', DEFAULTS.tverskyBeta);
  // TI = (TP + g) / (TP + a FP + b FN + g) with FP = P - TP, FN = Y - TP (formulas B.1)
  return [
    o,
    {
      numI: 1,
      denI: 1 - a - b,
      denP: a,
      denY: b,
      smooth: opt(o, 'smooth', DEFAULTS.smooth),
      exponent: 1,
      adjust: 0,
      perExample: opt<string>(o, 'mode', 'global') === 'per-example',
    },
  ];
}

/**
 * Dice loss (Milletari et al. 2016; self-adjusting form of Li et al., ACL 2020, arXiv 1911.02855):
 * 1 - (2 sum pt y + g) / (sum pt^e + sum y^e + g) with pt = p (1 - p)^alpha, per class
 * (one-vs-rest), averaged over classes. ShannonAI's dice_loss_for_NLP (the authors' code) sums its
 * multi-class Dice over the classes instead: its loss is a sum of C per-class terms where this one
 * is their mean (formulas B.2 names its other differences).
 *
 * @example
 * ```ts
 * import { diceLoss } from 'fusedloss';
 *
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8]);
 * const labels = new Float32Array([1, 0, 1, 1]);
 * diceLoss(logits, labels).loss; // ≈ 0.2815
 * // The Dice-loss paper's training setting: self-adjusting alpha 0.01, squared denominator.
 * diceLoss(logits, labels, { alpha: 0.01, squareDenominator: true }).loss; // ≈ 0.1941
 * ```
 */
export function diceLoss(scores: NumericArray, labels: BinaryLabels | ClassLabels, options?: DiceOptions): LossResult {
  const [fn, async] = callOf('diceLoss');
  const [o, form] = diceForm(fn, options);
  return overlapImpl(scores, labels, o, form, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link diceLoss}: the native backends run off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const diceLossAsync = asyncTwin('diceLossAsync', diceLoss);

/**
 * Tversky loss (Salehi, Erdogmus and Gholipour 2017): 1 - (TP + g) / (TP + alpha FP + beta FN + g)
 * on soft counts of the probabilities, per class, averaged over classes.
 *
 * @example
 * ```ts
 * import { tverskyLoss } from 'fusedloss';
 *
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8]);
 * const labels = new Float32Array([1, 0, 1, 1]);
 * // Missed positives (FN) cost more than false alarms (FP).
 * const { loss, grad } = tverskyLoss(logits, labels, { alpha: 0.3, beta: 0.7 }); // loss ≈ 0.2774
 * ```
 */
export function tverskyLoss(
  scores: NumericArray,
  labels: BinaryLabels | ClassLabels,
  options?: TverskyOptions,
): LossResult {
  const [fn, async] = callOf('tverskyLoss');
  const [o, form] = tverskyForm(fn, options);
  return overlapImpl(scores, labels, o, form, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link tverskyLoss}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const tverskyLossAsync = asyncTwin('tverskyLossAsync', tverskyLoss);

// ---- binaryCrossEntropy ----

/**
 * The element-wise binary losses' flow: checks, then the reference or the native entry `entry`
 * with the params `params` completes.
 */
function elementwiseImpl<K extends keyof ElementwiseParams>(
  fn: string,
  o: Record<string, unknown>,
  logits: unknown,
  labels: unknown,
  async: boolean,
  params: (w: ElementwiseWire) => ElementwiseParams[K],
  reference: (pb: RefProblem, reduction: 'mean' | 'sum') => { loss: number; grad: Float64Array },
  entry: K,
): LossResult | Promise<LossResult> {
  const pb = problem(fn, logits, labels, o, 'logits');
  const out = gradBuffer(fn, o.out, pb.scores.length, pb.scores, 'options.out', pb.names.scores);
  const reduction = opt<'mean' | 'sum'>(o, 'reduction', 'mean');
  if (pb.backend === 'js') {
    const r = reference(refProblem(pb), reduction);
    return withGrad(out, r.loss, r.grad);
  }
  const full = params({ sum: reduction === 'sum', device: deviceCode(pb.backend) });
  const entries: ElementwiseEntries = native(pb.backend);
  return andThen(
    nativeCall(fn, () => entries[entry](pb.scores, pb.labels, pb.weights, out, full, async), faults(pb)),
    (loss) => ({ loss, grad: out }),
  );
}

function bceImpl(
  logits: unknown,
  labels: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): LossResult | Promise<LossResult> {
  const o = readOptions(fn, options, bceSchema);
  const posWeight = opt(o, 'posWeight', DEFAULTS.posWeight);
  const reference = (pb: RefProblem, reduction: 'mean' | 'sum') => referenceBce(pb, posWeight, reduction);
  return elementwiseImpl(fn, o, logits, labels, async, (w) => ({ ...w, posWeight }), reference, 'binaryCrossEntropy');
}

/**
 * Binary cross-entropy with logits (as PyTorch's BCEWithLogitsLoss): mean over rows of
 * w (posWeight y softplus(-x) + (1 - y) softplus(x)); labels in [0, 1].
 *
 * @example
 * ```ts
 * import { binaryCrossEntropy } from 'fusedloss';
 *
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8, -2.5, -0.9, 0.2, -3.0]);
 * const labels = new Float32Array([1, 0, 1, 0, 0, 0, 0, 0]);
 * binaryCrossEntropy(logits, labels).loss; // ≈ 0.3116
 * // 2 positives, 6 negatives: weigh the positives by negatives / positives.
 * const { loss, grad } = binaryCrossEntropy(logits, labels, { posWeight: 3 }); // loss ≈ 0.4413
 * ```
 */
export function binaryCrossEntropy(
  logits: NumericArray,
  labels: BinaryLabels,
  options?: BinaryCrossEntropyOptions,
): LossResult {
  const [fn, async] = callOf('binaryCrossEntropy');
  return bceImpl(logits, labels, options, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link binaryCrossEntropy}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const binaryCrossEntropyAsync = asyncTwin('binaryCrossEntropyAsync', binaryCrossEntropy);

// ---- sigmoidFocal ----

function sigmoidFocalImpl(
  logits: unknown,
  labels: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): LossResult | Promise<LossResult> {
  const o = readOptions(fn, options, focalSchema);
  const gamma = opt(o, 'gamma', DEFAULTS.focalGamma);
  const alpha = opt(o, 'alpha', DEFAULTS.focalAlpha);
  const reference = (pb: RefProblem, reduction: 'mean' | 'sum') => referenceSigmoidFocal(pb, gamma, alpha, reduction);
  return elementwiseImpl(fn, o, logits, labels, async, (w) => ({ ...w, gamma, alpha }), reference, 'sigmoidFocal');
}

/**
 * Sigmoid focal loss (Lin et al. 2017, RetinaNet; torchvision's sigmoid_focal_loss): mean over
 * rows of w a_t (1 - p_t)^gamma BCE(x, y), with p = sigmoid(x), p_t = p y + (1 - p)(1 - y) and
 * a_t = alpha y + (1 - alpha)(1 - y). Labels in [0, 1] (soft labels as torchvision takes them).
 *
 * @example
 * ```ts
 * import { sigmoidFocal } from 'fusedloss';
 *
 * const logits = new Float32Array([2.1, -0.3, 0.7, -1.8, -2.5, -0.9, 0.2, -3.0]);
 * const labels = new Float32Array([1, 0, 1, 0, 0, 0, 0, 0]);
 * const { loss, grad } = sigmoidFocal(logits, labels); // gamma 2, alpha 0.25: loss ≈ 0.03648
 * sigmoidFocal(logits, labels, { gamma: 0, alpha: 0.5 }).loss; // half of BCE: ≈ 0.1558
 * ```
 */
export function sigmoidFocal(logits: NumericArray, labels: BinaryLabels, options?: SigmoidFocalOptions): LossResult {
  const [fn, async] = callOf('sigmoidFocal');
  return sigmoidFocalImpl(logits, labels, options, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link sigmoidFocal}: the native backends run off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const sigmoidFocalAsync = asyncTwin('sigmoidFocalAsync', sigmoidFocal);
