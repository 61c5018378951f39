// The fused linear cross-entropy (formulas J.1): options, defaults, checks and dispatch to the
// native CPU kernel (binding/cpu/linear_ce.cc, class tiles: the B x C logits are never formed) or
// the float64 reference (src/reference/linear.ts, which forms them: small problems only).
import {
  allocate,
  checkWeight,
  requireLength,
  rowWidth,
  toFloat32,
  toTargets,
  type NumericArray,
  type Targets,
} from '../arrays';
import { rangeError } from '../errors';
import { faultError, firstNonFinite, type FaultName } from '../faults';
import { deviceCode, nativeCall, resolveBackend, type Backend, type ResolvedBackend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import { referenceLinearCrossEntropy, referenceMarginCrossEntropy } from '../reference/linear';
import type { Reduction } from '../reference/spherical';
import { checkDisjoint } from '../wire';
import { wireId } from '../wire-enums';
import type { LinearWire } from '../wire-params';
import { asyncTwin, callOf, andThen, native } from './dispatch';
import { outBuffer, outObject } from './out-buffers';
import { MARGIN_SPEC, readMargin, rowNorms, type MarginOptions } from './linear-margin';

export type { MarginOptions } from './linear-margin';

/** Buffers for the gradients, each of the layout of what it is the gradient of. */
export interface LinearCrossEntropyOut {
  /** B x D, the layout of `hidden`. Default: a new array. */
  gradHidden?: Float32Array;
  /** C x D, the layout of `weight`. Default: a new array. */
  gradWeight?: Float32Array;
  /** C entries; used only with `options.bias`. Default: a new array. */
  gradBias?: Float32Array;
}

/** Options of {@link linearCrossEntropy}. Every array option may be any array of numbers (converted). */
export interface LinearCrossEntropyOptions {
  /**
   * The feature width D, an integer >= 1 (default hidden.length / targets.length). Then
   * B = hidden.length / D rows (one per target) and C = weight.length / D classes.
   */
  dim?: number;
  /** Bias b of the linear layer, one per class (default none): logits z = h W^T + b. */
  bias?: NumericArray;
  /** Rows whose target is this integer count nothing (default -100, as PyTorch); 'mean' excludes them. A batch with every row ignored has loss 0 and zero gradients. */
  ignoreIndex?: number;
  /** Label smoothing eps in [0, 1] (default 0, as PyTorch): target (1 - eps) e_t + eps / C, combined with classWeights as PyTorch does. */
  labelSmoothing?: number;
  /**
   * Per-class weights >= 0, one per class (default all 1): row i's cross-entropy is scaled by
   * classWeights[t_i] (and its smoothing part by each class's weight, as PyTorch), and 'mean'
   * divides the cross-entropy by the sum of classWeights[t_i] over kept rows, as PyTorch's
   * cross_entropy.
   */
  classWeights?: NumericArray;
  /** Per-row weights >= 0 (default all 1): row i's loss is scaled; the mean's divisors are unchanged (as softmaxCrossEntropy). */
  weights?: NumericArray;
  /** 'mean' (default), 'sum', or 'none': one loss per row, and the gradients of their sum. */
  reduction?: Reduction;
  /**
   * PaLM's z-loss (Chowdhery et al. 2022; Liger-Kernel's lse_square_scale): adds s * lse_i^2 for
   * each kept row (scaled by its row weight), s >= 0, at most 1e6 (default 0; 1e-4 is PaLM's).
   * 'mean' divides this part by the number of kept rows (not by the class weights), as Liger.
   * Not fusedloss's zLoss, which is de Brébisson and Vincent's spherical Z-loss.
   */
  lseSquareScale?: number;
  /**
   * Logit soft cap c > 0, at most 1e6 (default none): logits become c * tanh(z / c) before the
   * softmax (Gemma 2 uses 30 for the final logits), and the gradients flow through it.
   */
  softcap?: number;
  /** Also return each row's log-sum-exp of the (soft-capped) logits as `lse` (default false). */
  returnLse?: boolean;
  /**
   * A margin head instead of the plain linear layer (default none; formulas J.2): `{ kind:
   * 'arcface' | 'cosface', s?, m?, subCenters?, easyMargin? }`, see {@link MarginOptions}. The rows
   * of `hidden` and `weight` are L2-normalised inside the loss (a zero row is refused) and the
   * gradients flow through the normalisation; the logits are s cos theta_c, the target's with the
   * margin (ignored rows keep s cos theta_t). Still streamed over class tiles. Combines with
   * ignoreIndex, labelSmoothing (over the margined logits), classWeights, weights, reduction,
   * lseSquareScale and returnLse (the LSE of the margined logits); `bias` and `softcap` are refused
   * (the logits are already bounded by s).
   */
  margin?: MarginOptions;
  /** Buffers to fill with the gradients (not overlapping any input or each other). Default: new arrays. */
  out?: LinearCrossEntropyOut;
  /**
   * Where to compute (default 'auto'): 'cpu' the native threaded kernel, 'cuda' the GPU,
   * 'cuda-sim' the CUDA kernels run by the simulator (testing only, slow), 'wasm' the CPU kernel's
   * WebAssembly build, 'js' the float64 reference (forms the B x C logits: small problems only).
   * 'auto' is CUDA when a device exists and B C D is at least CUDA_AUTO_MIN_WORK (2^22), else the
   * CPU when the addon loaded, else 'wasm', else 'js'. FUSEDLOSS_BACKEND, when set, replaces 'auto'.
   */
  backend?: Backend;
}

/** The result of {@link linearCrossEntropy}; `L` is `number`, or `Float32Array` with reduction 'none'. */
export interface LinearCrossEntropyResult<L extends number | Float32Array = number> {
  /** The reduced loss, or one loss per row with reduction 'none' (0 for ignored rows). */
  loss: L;
  /** d loss / d hidden, B x D. */
  gradHidden: Float32Array;
  /** d loss / d weight, C x D. */
  gradWeight: Float32Array;
  /** d loss / d bias, C entries: present when options.bias was given. */
  gradBias?: Float32Array;
  /** Each row's log-sum-exp of its (soft-capped) logits, B entries: present with options.returnLse. */
  lse?: Float32Array;
}

/**
 * The result type for the options' reduction: per-row losses with 'none', one number with 'mean',
 * 'sum' or no reduction given, either when the reduction is only known at run time.
 */
export type LinearCrossEntropyResultFor<O> = O extends { reduction?: infer R }
  ? [R] extends ['none']
    ? LinearCrossEntropyResult<Float32Array>
    : [R] extends ['mean' | 'sum' | undefined]
      ? LinearCrossEntropyResult<number>
      : LinearCrossEntropyResult<number | Float32Array>
  : LinearCrossEntropyResult<number>;

export const LINEAR_DEFAULTS = {
  ignoreIndex: -100,
  labelSmoothing: 0,
  lseSquareScale: 0,
  softcap: 0,
  reduction: 'mean' as Reduction,
  returnLse: false,
};

/** The options schema, for the registry (src/registry.ts). */
export const LINEAR_OPTIONS: Record<string, OptionSpec> = {
  dim: { kind: 'number', integer: true, min: 1, max: 1 << 24 },
  bias: { kind: 'any' },
  ignoreIndex: { kind: 'number', integer: true, min: -(2 ** 31), max: 2 ** 31 - 1 },
  labelSmoothing: { kind: 'number', min: 0, max: 1 },
  classWeights: { kind: 'any' },
  weights: { kind: 'any' },
  reduction: { kind: 'enum', values: ['mean', 'sum', 'none'] },
  lseSquareScale: { kind: 'number', min: 0, max: 1e6 },
  softcap: { kind: 'number', min: 0, max: 1e6, minExclusive: true },
  returnLse: { kind: 'boolean' },
  margin: MARGIN_SPEC,
  out: { kind: 'any' },
  backend: backendSpec,
};

const OUT_KEYS = ['gradHidden', 'gradWeight', 'gradBias'] as const;

/** The public names of the arguments a kernel fault can be in (src/faults.ts). */
const NAMES = {
  scores: 'hidden',
  labels: 'targets',
  weights: 'options.weights',
  classWeights: 'options.classWeights',
  teacher: 'options.bias',
  reference: 'weight',
};

/** The checks the native kernel makes first (linear_ce_input_fault), with its messages, for the reference. */
function checkInputs(
  fn: string,
  a: { hidden: Float32Array; weight: Float32Array; bias?: Float32Array; targets: Int32Array },
  weights: Float32Array | undefined,
  classWeights: Float32Array | undefined,
  classes: number,
  ignoreIndex: number,
): void {
  const finite = (v: Float32Array, fault: FaultName) => {
    const k = firstNonFinite(v);
    if (k >= 0) throw faultError(fn, fault, k, v[k], { names: NAMES });
  };
  finite(a.hidden, 'score-not-finite');
  finite(a.weight, 'reference-not-finite');
  if (a.bias) finite(a.bias, 'teacher-not-finite');
  a.targets.forEach((t, i) => {
    if (t !== ignoreIndex && !(t >= 0 && t < classes)) {
      throw faultError(fn, 'label-out-of-range', i, t, {
        names: NAMES,
        labels: { classes, binary: false, ignoreIndex },
      });
    }
    if (weights) checkWeight(fn, 'options.weights', weights, i);
  });
  if (classWeights) classWeights.forEach((_, k) => checkWeight(fn, 'options.classWeights', classWeights, k));
}

/** float32's largest value: a logit beyond it overflows in the native kernels, which refuse it. */
const FLT_MAX = 3.4028234663852886e38;

type AnyResult = LinearCrossEntropyResult<number | Float32Array>;

function run(
  fn: string,
  hiddenIn: unknown,
  weightIn: unknown,
  targetsIn: unknown,
  options: unknown,
  async: boolean,
): AnyResult | Promise<AnyResult> {
  const o = readOptions(fn, options, LINEAR_OPTIONS);
  const hidden = toFloat32(fn, 'hidden', hiddenIn);
  const weight = toFloat32(fn, 'weight', weightIn);
  const targets = toTargets(fn, 'targets', targetsIn);
  const B = targets.length;
  const dim = rowWidth(fn, 'hidden', hidden.length, B, o.dim as number | undefined, 'dim');
  requireLength(fn, 'hidden', hidden.length, B * dim, `${B} targets x dim ${dim}`);
  const mp = readMargin(fn, o.margin);
  const K = mp?.subCenters ?? 1;
  if (weight.length === 0 || weight.length % (dim * K) !== 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      K === 1
        ? `${fn}: weight has length ${weight.length}, expected a positive multiple of dim ${dim} (C x D, one row per class)`
        : `${fn}: weight has length ${weight.length}, expected a positive multiple of dim ${dim} x subCenters ${K} (C k x D)`,
    );
  }
  const C = weight.length / dim / K;
  if (mp && (o.bias !== undefined || o.softcap !== undefined)) {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.${o.bias !== undefined ? 'bias' : 'softcap'} cannot be combined with options.margin (normalised logits s cos theta have no bias, and are bounded by s)`,
    );
  }
  const array = (key: string, n: number, why: string) => {
    if (o[key] === undefined) return undefined;
    const v = toFloat32(fn, `options.${key}`, o[key]);
    requireLength(fn, `options.${key}`, v.length, n, why);
    return v;
  };
  const bias = array('bias', C, 'one per class');
  const weights = array('weights', B, 'one weight per row');
  const classWeights = array('classWeights', C, 'one weight per class');
  const reduction = opt(o, 'reduction', LINEAR_DEFAULTS.reduction);
  const ignoreIndex = opt(o, 'ignoreIndex', LINEAR_DEFAULTS.ignoreIndex);
  const p = {
    ignoreIndex,
    labelSmoothing: opt(o, 'labelSmoothing', LINEAR_DEFAULTS.labelSmoothing),
    lseSquareScale: opt(o, 'lseSquareScale', LINEAR_DEFAULTS.lseSquareScale),
    softcap: opt(o, 'softcap', LINEAR_DEFAULTS.softcap),
    reduction,
  };
  const requested = opt(o, 'backend', 'auto');
  const backend: ResolvedBackend = resolveBackend(fn, requested, { cuda: true, pairWork: B * C * K * dim });

  const outRec = outObject(fn, o.out, OUT_KEYS);
  if (outRec.gradBias !== undefined && !bias) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: options.out.gradBias needs options.bias`);
  }
  const gradHidden = outBuffer(fn, outRec, 'gradHidden', hidden.length, 'the gradient of hidden (B x D)');
  const gradWeight = outBuffer(fn, outRec, 'gradWeight', weight.length, 'the gradient of weight (C x D)');
  const gradBias = bias ? outBuffer(fn, outRec, 'gradBias', C, 'the gradient of bias (one per class)') : undefined;
  const lse = opt(o, 'returnLse', LINEAR_DEFAULTS.returnLse)
    ? allocate(fn, 'the row LSEs', Float32Array, B)
    : undefined;
  const rowLoss = reduction === 'none' ? allocate(fn, 'the row losses', Float32Array, B) : undefined;
  const result = (loss: number): AnyResult => {
    const r: AnyResult = { loss: rowLoss ?? loss, gradHidden, gradWeight };
    if (gradBias) r.gradBias = gradBias;
    if (lse) r.lse = lse;
    return r;
  };

  if (backend === 'js') {
    const arrays: [string, Float32Array | Int32Array, boolean][] = [
      ['hidden', hidden, false],
      ['weight', weight, false],
      ['targets', targets, false],
      ['options.out.gradHidden', gradHidden, true],
      ['options.out.gradWeight', gradWeight, true],
    ];
    if (bias) arrays.push(['options.bias', bias, false]);
    if (gradBias) arrays.push(['options.out.gradBias', gradBias, true]);
    if (weights) arrays.push(['options.weights', weights, false]);
    if (classWeights) arrays.push(['options.classWeights', classWeights, false]);
    checkDisjoint(fn, arrays);
    checkInputs(fn, { hidden, weight, bias, targets }, weights, classWeights, C, ignoreIndex);
  }
  // The margin heads normalise every row: a zero row is refused here for every backend (the
  // kernels leave non-finite rows to their own fault).
  if (mp) {
    rowNorms(fn, 'hidden', hidden, B, dim);
    rowNorms(fn, 'weight', weight, C * K, dim);
  }
  if (backend === 'js') {
    const r = mp
      ? referenceMarginCrossEntropy({ hidden, weight, targets, dim, weights, classWeights }, p, mp)
      : referenceLinearCrossEntropy({ hidden, weight, targets, dim, bias, weights, classWeights }, p);
    // What overflows float32 in the native kernels (the logits, a row's loss, the gradients) is refused here too.
    const over = (v: number) => !(Math.abs(v) <= FLT_MAX);
    const bad = r.lse.findIndex((v, i) => over(v) || (reduction === 'none' && over(r.rowLoss[i])));
    if (bad >= 0) throw faultError(fn, 'logit-not-finite', bad, r.lse[bad], { names: NAMES });
    if ([r.gradHidden, r.gradWeight, r.gradBias].some((g) => g.some(over)))
      throw faultError(fn, 'logit-not-finite', -1, 0, { names: NAMES });
    gradHidden.set(r.gradHidden);
    gradWeight.set(r.gradWeight);
    if (gradBias) gradBias.set(r.gradBias);
    if (lse) lse.set(r.lse);
    if (rowLoss) rowLoss.set(r.rowLoss);
    return result(r.loss);
  }
  const params: LinearWire = {
    dim,
    reduction: wireId('Reduction', reduction),
    ignoreIndex,
    smoothing: p.labelSmoothing,
    lseSquareScale: p.lseSquareScale,
    softcap: p.softcap,
    device: deviceCode(backend),
    subCenters: K,
    // The margin heads' passes run in the native layer, on its threads (binding/cpu/linear_ce_margin.cc).
    ...(mp
      ? {
          marginKind: wireId('MarginKind', mp.kind),
          marginScale: mp.scale,
          marginM: mp.margin,
          marginEasy: mp.easyMargin,
        }
      : {}),
  };
  return andThen(
    nativeCall(
      fn,
      () =>
        native(backend).linearCrossEntropy(
          hidden,
          weight,
          targets,
          bias ?? null,
          weights ?? null,
          classWeights ?? null,
          gradHidden,
          gradWeight,
          gradBias ?? null,
          rowLoss ?? null,
          lse ?? null,
          params,
          async,
        ),
      { names: NAMES, labels: { classes: C, binary: false, ignoreIndex } },
    ),
    result,
  );
}

/**
 * Fused linear + softmax cross-entropy (formulas J.1; Liger-Kernel's fused linear cross-entropy,
 * Wijmans et al. 2024's Cut Cross-Entropy): the loss of logits z = hidden weight^T + bias and its
 * gradients with respect to `hidden`, `weight` and `bias`, without ever forming the B x C logits.
 * The native kernel recomputes class tiles of them (cache-sized) and discards them, so its extra
 * memory is O(B D + C D), whatever C. `hidden` is B x D, `weight` C x D (one row per class, as a
 * torch Linear layer stores it), both row-major; `targets` B class ids.
 *
 * @example
 * ```ts
 * import { linearCrossEntropy } from 'fusedloss';
 *
 * // 2 rows of dim 3, 4 classes.
 * const hidden = new Float32Array([1, 0, -1, 0.5, 2, 0]);
 * const weight = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
 * const targets = new Int32Array([0, 1]);
 * const { loss, gradHidden, gradWeight } = linearCrossEntropy(hidden, weight, targets); // loss ≈ 0.8638
 * linearCrossEntropy(hidden, weight, targets, { labelSmoothing: 0.1, softcap: 30 }).loss; // ≈ 0.9507
 * ```
 */
export function linearCrossEntropy<
  O extends LinearCrossEntropyOptions = LinearCrossEntropyOptions & { reduction?: 'mean' },
>(hidden: NumericArray, weight: NumericArray, targets: Targets, options?: O): LinearCrossEntropyResultFor<O> {
  const [fn, async] = callOf('linearCrossEntropy');
  return run(fn, hidden, weight, targets, options, async) as LinearCrossEntropyResultFor<O>;
}

/**
 * The Promise twin of {@link linearCrossEntropy}: the native backend runs off the main thread
 * ('js' computes before resolving).
 *
 * @function
 */
export const linearCrossEntropyAsync = asyncTwin('linearCrossEntropyAsync', linearCrossEntropy);
