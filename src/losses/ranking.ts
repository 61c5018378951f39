// The log-sum-exp listwise ranking family (formulas C, D): options, defaults, checks and dispatch to
// the native CPU kernels (binding/cpu/ranking*.cc), the CUDA kernels (cuda/ranking*.cu, on a device
// or the simulator) or the float64 reference (src/reference/ranking.ts).
import { wireId } from '../wire-enums';
import { bounded } from '../wire-bounds';
import type { ListParams, ListWire } from '../wire-params';
import {
  gradBuffer,
  requireLength,
  toClassLabels,
  toFloat32,
  toInt32,
  type ClassLabels,
  type NumericArray,
} from '../arrays';
import { rangeError } from '../errors';
import { faultError, type FaultContext } from '../faults';
import { deviceCode, nativeCall, resolveBackend, type Backend, type ListEntries } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import {
  LAMBDA_MAX_RELEVANCE,
  referenceLambdaLoss,
  referenceListMLE,
  referenceListNet,
  referencePlackettLuceDistill,
  referenceRankList,
  referenceRankNet,
  referencePairwiseHinge,
  referenceApproxNDCG,
  type LambdaSchemeName,
  type RefLists,
  type RefResult,
} from '../reference/ranking';
import { referenceRankingMetrics } from '../reference/ranking_metrics';
import { asyncTwin, callOf, andThen, native, withGrad, type LossResult } from './dispatch';
import { checkListValues, LIST_FAULTS, listBatch, listOffsets, longestList, pairCount, type ListBatch } from './lists';
import { lossMetricParams, metricMeans, parseMetricNames } from './metrics';

/** Options every list loss takes: the list layout, the gradient buffer and the backend. */
export interface ListOptions {
  /**
   * Items per list (an integer >= 1; scores.length must be a multiple). Padded items have
   * relevance -1: their scores are never read (NaN or -Infinity are fine) and their gradient is 0.
   * Default: the whole array is one list. Give this or `offsets`, not both.
   */
  listSize?: number;
  /**
   * Ragged lists: lists + 1 non-decreasing integers from 0 to scores.length; list l is
   * [offsets[l], offsets[l + 1]). Int32Array is used as is; other arrays are converted. Default:
   * none; the lists are cut every `listSize` items (or, without that either, the whole array is
   * one list). Give this or `listSize`, not both.
   */
  offsets?: Int32Array | ArrayLike<number>;
  /** Gradient buffer to fill (length = scores.length, not overlapping the scores). Default: a new array. */
  out?: Float32Array;
  /**
   * 'auto' (default): for RankNet and LambdaLoss, CUDA when a device exists and the lists hold at
   * least CUDA_AUTO_MIN_WORK (2^22) pairs (the sum of n^2); else, and for the other list losses
   * (streaming, O(n log n) a list), the native CPU when the addon loaded, else 'js'; 'cpu';
   * 'cuda' the GPU; 'cuda-sim' the CUDA kernels run by the simulator (testing only, slow); 'js'
   * the float64 reference.
   */
  backend?: Backend;
  /**
   * Ranking metrics of the same lists, returned in the result's `metrics` by these names: 'ndcg',
   * 'mrr', 'map', 'recall', 'precision', each optionally '@k' (e.g. ['ndcg@10', 'mrr']), at most
   * 16, with the metrics' default conventions (gain 2^r - 1, discount 1 / log2(1 + rank), lists
   * without a relevant item count 0; see `ndcg`). Default: none.
   */
  metrics?: readonly string[];
}

/** A list loss's result: with options.metrics, also the mean of each metric over the lists. */
export interface ListLossResult extends LossResult {
  metrics?: Record<string, number>;
}

export interface RankListOptions extends ListOptions {
  /**
   * 'lse' (default): softplus(LSE over the constrained pairs of s_j - s_i), one smooth maximum of
   * the violations; 'exact': the sum over pairs of softplus(s_j - s_i); 'anchor': per item i,
   * log(1 + sum_j e^{s_j - s_i}) over the items constrained below it (with all pairs: ListMLE).
   */
  form?: 'lse' | 'exact' | 'anchor';
  /** Skip-wise constraint set C_m: only pairs at most `skip` positions apart in the relevance order (integer >= 1). Default: all pairs. */
  skip?: number;
  /** Minimum margin W >= 0 (default 0): pairs whose relevance differs by less are ties, unconstrained. Equal relevance is always a tie. */
  margin?: number;
}

export interface ListMLEOptions extends ListOptions {
  /** a_k >= 0 per position k of the relevance order, at least as many as the longest list (default all 1): position-aware ListMLE. */
  weights?: NumericArray;
  /** Only the first topK positions' terms count (integer >= 1; default: all); the partition sums still run over every item. */
  topK?: number;
  /** Order of items with equal relevance: 'index' (default, deterministic) or 'shuffle' (a permutation drawn from `seed`, per list). */
  ties?: 'index' | 'shuffle';
  /** Seed of the tie shuffle, an integer in [0, 2^32) (default 0); pass a new one each step for fresh shuffles. Only with ties 'shuffle'. */
  seed?: number;
}

export interface PlackettLuceDistillOptions {
  /** Teacher temperature tau in [1e-6, 1e6] (default 4, the paper's CIFAR-100 value): weights a_k = softmax(teacher / tau). */
  tau?: number;
  /** Gradient buffer to fill (length = studentLogits.length, not overlapping them). Default: a new array. */
  out?: Float32Array;
  /**
   * 'auto' (default): the native CPU when the addon loaded, else 'js'; 'cpu'; 'js' the float64
   * reference. No CUDA kernel yet: 'cuda' and 'cuda-sim' are refused.
   */
  backend?: Backend;
}

export interface ListNetOptions extends ListOptions {
  /** Target distribution: 'softmax' (default, allRank) of the relevance, or 'normalize': relevance / its sum (TF-Ranking; lists summing to 0 contribute 0). */
  target?: 'softmax' | 'normalize';
  /** The scores are divided by it, >= 1e-6 (default 1). */
  temperature?: number;
}

export interface RankNetOptions extends ListOptions {
  /** Score scale sigma >= 1e-6 (default 1): each pair costs softplus(-sigma (s_i - s_j)). */
  sigma?: number;
  /** Pair weight: 'none' (default), 'label-diff' |r_i - r_j|, 'label-diff-squared' |r_i^2 - r_j^2|. */
  weighting?: 'none' | 'label-diff' | 'label-diff-squared';
}

export interface PairwiseHingeOptions extends ListOptions {
  /** Margin m >= 0 (default 1, TF Ranking's): each pair with r_i > r_j costs max(0, m - (s_i - s_j)). */
  margin?: number;
  /**
   * The batch's sum divided by 'items' (default): scores.length, padding included, as TF Ranking's
   * Keras PairwiseHingeLoss over its [lists, listSize] tensor; or by 'pairs': the pairs with
   * r_i > r_j (TF Ranking's tfr.losses, and rankNet's mean).
   */
  normalizeBy?: 'items' | 'pairs';
}

export interface ApproxNDCGOptions extends ListOptions {
  /** Temperature T in [1e-6, 1e6] of the smooth ranks 1 + sum_j sigmoid((s_j - s_i) / T) (default 0.1, TF Ranking's; allRank's alpha 1 is T = 1). */
  temperature?: number;
}

export interface LambdaLossOptions extends ListOptions {
  /** Pair weighting (formulas D.4): 'none' (default: RankNet), 'lambdaRank', 'ndcgLoss1', 'ndcgLoss2', 'ndcgLoss2PP'. */
  scheme?: LambdaSchemeName;
  /** NDCG cutoff: only pairs within the top k predicted ranks, and the ideal DCG over k (integer >= 1; default: the whole list). */
  k?: number;
  /** Score scale sigma >= 1e-6 (default 1). */
  sigma?: number;
  /** ndcgLoss2PP's weight of ndcgLoss2, >= 0 (default 10). */
  mu?: number;
  /** Per list: 'sum' (default) or 'mean' over its pairs; then the mean over lists. */
  reduction?: 'sum' | 'mean';
  /** Divide the gains by the ideal DCG (default true); false with 'lambdaRank' is LiPO-lambda. */
  normalize?: boolean;
}

export const RANKING_DEFAULTS = {
  form: 'lse' as const,
  margin: 0,
  ties: 'index' as const,
  seed: 0,
  tau: 4,
  target: 'softmax' as const,
  temperature: 1,
  sigma: 1,
  weighting: 'none' as const,
  hingeMargin: 1,
  approxTemperature: 0.1,
  normalizeBy: 'items' as const,
  scheme: 'none' as LambdaSchemeName,
  mu: 10,
  reduction: 'sum' as const,
  normalize: true,
};

export const positive = bounded('kPositive');
export const count = bounded('kCount');
export const listSchema: Record<string, OptionSpec> = {
  listSize: count,
  offsets: { kind: 'any' },
  out: { kind: 'any' },
  backend: backendSpec,
  metrics: { kind: 'any' },
};
const rankListSchema = {
  ...listSchema,
  form: { kind: 'enum', values: ['lse', 'exact', 'anchor'] },
  skip: count,
  margin: bounded('kFloatNonNegative'),
} satisfies Record<string, OptionSpec>;
const listMLESchema = {
  ...listSchema,
  weights: { kind: 'any' },
  topK: count,
  ties: { kind: 'enum', values: ['index', 'shuffle'] },
  seed: bounded('kSeed32', true),
} satisfies Record<string, OptionSpec>;
const distillSchema: Record<string, OptionSpec> = { tau: positive, out: { kind: 'any' }, backend: backendSpec };
const listNetSchema = {
  ...listSchema,
  target: { kind: 'enum', values: ['softmax', 'normalize'] },
  temperature: positive,
} satisfies Record<string, OptionSpec>;
const rankNetSchema = {
  ...listSchema,
  sigma: positive,
  weighting: { kind: 'enum', values: ['none', 'label-diff', 'label-diff-squared'] },
} satisfies Record<string, OptionSpec>;
const hingeSchema = {
  ...listSchema,
  margin: bounded('kNonNegative'),
  normalizeBy: { kind: 'enum', values: ['items', 'pairs'] },
} satisfies Record<string, OptionSpec>;
const approxSchema = { ...listSchema, temperature: positive } satisfies Record<string, OptionSpec>;
const SCHEMES: readonly LambdaSchemeName[] = ['none', 'lambdaRank', 'ndcgLoss1', 'ndcgLoss2', 'ndcgLoss2PP'];
const lambdaSchema = {
  ...listSchema,
  scheme: { kind: 'enum', values: SCHEMES },
  k: count,
  sigma: positive,
  mu: bounded('kNonNegative'),
  reduction: { kind: 'enum', values: ['sum', 'mean'] },
  normalize: { kind: 'boolean' },
} satisfies Record<string, OptionSpec>;

/** Each public function's options, for the registry (src/registry.ts). */
export const RANKING_OPTIONS: Record<string, Record<string, OptionSpec>> = {
  rankList: rankListSchema,
  listMLE: listMLESchema,
  listNet: listNetSchema,
  rankNet: rankNetSchema,
  pairwiseHinge: hingeSchema,
  approxNDCG: approxSchema,
  lambdaLoss: lambdaSchema,
  plackettLuceDistill: distillSchema,
};

export type Result = ListLossResult | Promise<ListLossResult>;

/**
 * The shared flow of a list loss: read options, check the layout, pick the backend, then run the
 * reference (after its value checks) or the native kernel with `params`; the metrics asked for
 * come from the same call.
 */
export function runList<K extends keyof ListParams>(
  fn: string,
  call: K,
  scores: unknown,
  relevance: unknown,
  options: unknown,
  schema: Record<string, OptionSpec>,
  async: boolean,
  prepare: (
    o: Record<string, unknown>,
    b: ListBatch,
  ) => { params: (w: ListWire) => ListParams[K]; reference: (pb: RefLists) => RefResult; top?: number },
): Result {
  const o = readOptions(fn, options, schema);
  const b = listBatch(fn, scores, relevance, o);
  // RankNet, the pairwise hinge and LambdaLoss are pairwise by nature; the others stream their lists.
  const pairwise = call === 'rankNet' || call === 'pairwiseHinge' || call === 'approxNDCG' || call === 'lambdaLoss';
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: pairwise ? pairCount(b) : 0 });
  const out = gradBuffer(fn, o.out, b.scores.length, b.scores);
  const { params, reference, top } = prepare(o, b);
  const names = o.metrics === undefined ? null : (o.metrics as string[]);
  const specs = names && parseMetricNames(fn, names);
  if (backend === 'js') {
    checkListValues(fn, b, top);
    const pb = { scores: b.scores, relevance: b.relevance, offsets: listOffsets(b) };
    const r = reference(pb);
    const result: ListLossResult = withGrad(out, r.loss, r.grad);
    if (names && specs) result.metrics = metricMeans(names, referenceRankingMetrics(pb, specs));
    return result;
  }
  const lists = b.offsets ? b.offsets.length - 1 : b.scores.length / b.listSize;
  const perList = specs ? new Float64Array(lists * specs.length) : undefined;
  const wire: ListWire = { listSize: b.listSize, device: deviceCode(backend) };
  if (specs) wire.metrics = lossMetricParams(specs);
  const full = params(wire);
  const entries: ListEntries = native(backend);
  return andThen(
    nativeCall(
      fn,
      () => entries[call](b.scores, b.relevance, b.offsets, out, full, perList ?? null, async),
      LIST_FAULTS,
    ),
    (loss): ListLossResult =>
      names && perList ? { loss, grad: out, metrics: metricMeans(names, perList) } : { loss, grad: out },
  );
}

// ---- rankList ----

function rankListImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'rankList', scores, relevance, options, rankListSchema, async, (o) => {
    const form = opt<'lse' | 'exact' | 'anchor'>(o, 'form', RANKING_DEFAULTS.form);
    const skip = opt(o, 'skip', 0);
    const margin = opt(o, 'margin', RANKING_DEFAULTS.margin);
    return {
      params: (w) => ({ ...w, form: wireId('RankListForm', form), skip, margin }),
      reference: (pb) => referenceRankList(pb, { form, skip, margin }),
    };
  });
}

/**
 * RankList (Naini, Diaz and Busso 2025, arXiv 2508.09826), as docs/formulas.md reconstructs it (section
 * C; the paper's method section could not be read): RankNet's pairwise logistic lifted to lists,
 * over the pairs the relevance order constrains. Mean over lists.
 *
 * @example
 * ```ts
 * import { rankList } from 'fusedloss';
 *
 * // 2 lists of 4 items; relevance -1 marks the second list's last item as padding.
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]);
 * const { loss, grad } = rankList(scores, relevance, { listSize: 4 }); // form 'lse': loss ≈ 1.6950
 * rankList(scores, relevance, { listSize: 4, skip: 1 }).loss; // adjacent pairs only: ≈ 1.4293
 * // Ragged lists by offsets: [0, 4), [4, 7) and [7, 8) (padding only: contributes 0, counts in the mean).
 * rankList(scores, relevance, { offsets: new Int32Array([0, 4, 7, 8]), form: 'anchor' }).loss; // ≈ 1.4085
 * ```
 */
export function rankList(scores: NumericArray, relevance: NumericArray, options?: RankListOptions): ListLossResult {
  const [fn, async] = callOf('rankList');
  return rankListImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link rankList}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const rankListAsync = asyncTwin('rankListAsync', rankList);

// ---- listMLE ----

function listMLEImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'listMLE', scores, relevance, options, listMLESchema, async, (o, b) => {
    const ties = opt<'index' | 'shuffle'>(o, 'ties', RANKING_DEFAULTS.ties);
    if (o.seed !== undefined && ties !== 'shuffle') {
      throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: options.seed applies only to ties 'shuffle'`);
    }
    const weights = o.weights === undefined ? null : toFloat32(fn, 'options.weights', o.weights);
    if (weights && weights.length < longestList(b)) {
      throw rangeError(
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        `${fn}: options.weights has length ${weights.length}, expected at least ${longestList(b)} (one weight per position of the longest list)`,
      );
    }
    weights?.subarray(0, longestList(b)).forEach((w, k) => {
      if (!(w >= 0 && Number.isFinite(w))) {
        throw faultError(fn, 'weight-invalid', k, w, LIST_FAULTS);
      }
    });
    const topK = opt(o, 'topK', 0);
    const seed = opt(o, 'seed', RANKING_DEFAULTS.seed);
    const shuffle = ties === 'shuffle';
    return {
      params: (w) => ({ ...w, weights, topK, ties: wireId('Ties', ties), seed }),
      reference: (pb) => referenceListMLE(pb, { weights: weights ?? undefined, topK, shuffle, seed }),
    };
  });
}

/**
 * ListMLE (Xia et al. 2008): the Plackett-Luce negative log-likelihood of the relevance order
 * (formulas D.2), sum_k a_k (LSE_{m >= k} s_pi(m) - s_pi(k)) per list, mean over lists.
 *
 * @example
 * ```ts
 * import { listMLE } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * const { loss, grad } = listMLE(scores, relevance, { listSize: 4 }); // loss ≈ 2.1128
 * // The same two lists without the padding item, as ragged lists: the same loss.
 * listMLE(scores.subarray(0, 7), relevance.subarray(0, 7), { offsets: [0, 4, 7] }).loss; // ≈ 2.1128
 * listMLE(scores, relevance, { listSize: 4, topK: 2 }).loss; // the first 2 positions only: ≈ 1.8940
 * ```
 */
export function listMLE(scores: NumericArray, relevance: NumericArray, options?: ListMLEOptions): ListLossResult {
  const [fn, async] = callOf('listMLE');
  return listMLEImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link listMLE}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const listMLEAsync = asyncTwin('listMLEAsync', listMLE);

// ---- listNet ----

function listNetImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'listNet', scores, relevance, options, listNetSchema, async, (o) => {
    const target = opt<'softmax' | 'normalize'>(o, 'target', RANKING_DEFAULTS.target);
    const temperature = opt(o, 'temperature', RANKING_DEFAULTS.temperature);
    return {
      params: (w) => ({ ...w, target: wireId('ListNetTarget', target), temperature }),
      reference: (pb) => referenceListNet(pb, target, temperature),
    };
  });
}

/**
 * ListNet, top-1 (Cao et al. 2007; formulas D.1): per list LSE(s / T) - sum_i t_i s_i / T, mean over
 * lists, against the target distribution t of the relevance.
 *
 * @example
 * ```ts
 * import { listNet } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * const { loss, grad } = listNet(scores, relevance, { listSize: 4 }); // softmax target: loss ≈ 1.3044
 * listNet(scores, relevance, { listSize: 4, target: 'normalize' }).loss; // TF-Ranking's target: ≈ 1.3159
 * ```
 */
export function listNet(scores: NumericArray, relevance: NumericArray, options?: ListNetOptions): ListLossResult {
  const [fn, async] = callOf('listNet');
  return listNetImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link listNet}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const listNetAsync = asyncTwin('listNetAsync', listNet);

// ---- rankNet ----

function rankNetImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'rankNet', scores, relevance, options, rankNetSchema, async, (o) => {
    const sigma = opt(o, 'sigma', RANKING_DEFAULTS.sigma);
    const weighting = opt<'none' | 'label-diff' | 'label-diff-squared'>(o, 'weighting', RANKING_DEFAULTS.weighting);
    return {
      params: (w) => ({ ...w, sigma, weighting: wireId('PairWeighting', weighting) }),
      reference: (pb) => referenceRankNet(pb, sigma, weighting),
    };
  });
}

/**
 * RankNet (Burges et al. 2005; formulas D.5, as allRank): softplus(-sigma (s_i - s_j)) over every pair
 * of a list with r_i > r_j, optionally weighted; the mean is over all pairs of the batch, not over
 * lists.
 *
 * @example
 * ```ts
 * import { rankNet } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * const { loss, grad } = rankNet(scores, relevance, { listSize: 4 }); // loss ≈ 0.5831
 * rankNet(scores, relevance, { listSize: 4, weighting: 'label-diff' }).loss; // ≈ 0.8018
 * ```
 */
export function rankNet(scores: NumericArray, relevance: NumericArray, options?: RankNetOptions): ListLossResult {
  const [fn, async] = callOf('rankNet');
  return rankNetImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link rankNet}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const rankNetAsync = asyncTwin('rankNetAsync', rankNet);

// ---- pairwiseHinge ----

function pairwiseHingeImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'pairwiseHinge', scores, relevance, options, hingeSchema, async, (o) => {
    const margin = opt(o, 'margin', RANKING_DEFAULTS.hingeMargin);
    const perItem = opt<'items' | 'pairs'>(o, 'normalizeBy', RANKING_DEFAULTS.normalizeBy) === 'items';
    return {
      params: (w) => ({ ...w, margin, perItem }),
      reference: (pb) => referencePairwiseHinge(pb, margin, perItem),
    };
  });
}

/**
 * Pairwise hinge (TF Ranking's PairwiseHingeLoss; formulas D.6): max(0, margin - (s_i - s_j)) over
 * every pair of a list with r_i > r_j, the batch's sum over its items (or its pairs).
 *
 * @example
 * ```ts
 * import { pairwiseHinge } from 'fusedloss';
 *
 * // TF Ranking's example: y_true [[1, 0]], y_pred [[0.6, 0.8]] → 0.6.
 * pairwiseHinge([0.6, 0.8], [1, 0]).loss; // ≈ 0.6
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * pairwiseHinge(scores, relevance, { listSize: 4 }).loss; // over the 8 items: ≈ 0.7000
 * pairwiseHinge(scores, relevance, { listSize: 4, normalizeBy: 'pairs' }).loss; // over the 9 pairs: ≈ 0.6222
 * ```
 */
export function pairwiseHinge(
  scores: NumericArray,
  relevance: NumericArray,
  options?: PairwiseHingeOptions,
): ListLossResult {
  const [fn, async] = callOf('pairwiseHinge');
  return pairwiseHingeImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link pairwiseHinge}: the native backend runs off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const pairwiseHingeAsync = asyncTwin('pairwiseHingeAsync', pairwiseHinge);

// ---- approxNDCG ----

function approxNDCGImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'approxNDCG', scores, relevance, options, approxSchema, async, (o) => {
    const temperature = opt(o, 'temperature', RANKING_DEFAULTS.approxTemperature);
    return {
      params: (w) => ({ ...w, temperature }),
      reference: (pb) => referenceApproxNDCG(pb, temperature),
      top: LAMBDA_MAX_RELEVANCE,
    };
  });
}

/**
 * ApproxNDCG (Qin, Liu and Li 2010; TF Ranking's ApproxNDCGLoss; formulas D.7): per list -NDCG with
 * each rank replaced by the smooth 1 + sum_{j != i} sigmoid((s_j - s_i) / T), gains 2^r - 1
 * (relevance at most 64); lists without a positive gain contribute 0. Mean over lists.
 *
 * @example
 * ```ts
 * import { approxNDCG } from 'fusedloss';
 *
 * // TF Ranking's example: y_true [[1, 0]], y_pred [[0.6, 0.8]] → -0.655107.
 * approxNDCG([0.6, 0.8], [1, 0]).loss; // ≈ -0.6551
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * approxNDCG(scores, relevance, { listSize: 4, temperature: 1 }).loss; // allRank's alpha 1: ≈ -0.7172
 * ```
 */
export function approxNDCG(scores: NumericArray, relevance: NumericArray, options?: ApproxNDCGOptions): ListLossResult {
  const [fn, async] = callOf('approxNDCG');
  return approxNDCGImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link approxNDCG}: the native backend runs off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const approxNDCGAsync = asyncTwin('approxNDCGAsync', approxNDCG);

// ---- lambdaLoss ----

function lambdaLossImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'lambdaLoss', scores, relevance, options, lambdaSchema, async, (o) => {
    const r = {
      scheme: opt(o, 'scheme', RANKING_DEFAULTS.scheme),
      k: opt(o, 'k', 0),
      sigma: opt(o, 'sigma', RANKING_DEFAULTS.sigma),
      mu: opt(o, 'mu', RANKING_DEFAULTS.mu),
      reduction: opt<'sum' | 'mean'>(o, 'reduction', RANKING_DEFAULTS.reduction),
      normalize: opt(o, 'normalize', RANKING_DEFAULTS.normalize),
    };
    return {
      params: (w) => ({ ...w, ...r, scheme: wireId('LambdaScheme', r.scheme), mean: r.reduction === 'mean' }),
      reference: (pb) => referenceLambdaLoss(pb, r),
      top: LAMBDA_MAX_RELEVANCE,
    };
  });
}

/**
 * LambdaLoss (Wang et al. 2018) as allRank computes it (formulas D.4): -sum w_ij log2 sigmoid(sigma
 * (s_i - s_j)) over pairs r_i > r_j, weighted by the scheme from the predicted ranks and NDCG
 * gains (relevance at most 64). Per list 'sum' or 'mean', then the mean over lists. LiPO-lambda
 * (Liu et al. 2024) is `scheme: 'lambdaRank', normalize: false`.
 *
 * @example
 * ```ts
 * import { lambdaLoss } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * // NDCG-Loss2++ with the cutoff at the top 3 predicted ranks.
 * const { loss, grad } = lambdaLoss(scores, relevance, { listSize: 4, scheme: 'ndcgLoss2PP', k: 3 }); // ≈ 4.7490
 * lambdaLoss(scores, relevance, { listSize: 4, scheme: 'lambdaRank' }).loss; // ≈ 0.6392
 * ```
 */
export function lambdaLoss(scores: NumericArray, relevance: NumericArray, options?: LambdaLossOptions): ListLossResult {
  const [fn, async] = callOf('lambdaLoss');
  return lambdaLossImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link lambdaLoss}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const lambdaLossAsync = asyncTwin('lambdaLossAsync', lambdaLoss);

// ---- plackettLuceDistill ----

function distillImpl(
  student: unknown,
  teacher: unknown,
  labels: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): Result {
  const o = readOptions(fn, options, distillSchema);
  const s = toFloat32(fn, 'studentLogits', student);
  const t = toFloat32(fn, 'teacherLogits', teacher);
  const y = toInt32(fn, 'labels', toClassLabels(fn, 'labels', labels));
  const rows = y.length;
  if (rows === 0 ? s.length !== 0 : s.length % rows !== 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: studentLogits has length ${s.length}, not a multiple of the ${rows} labels`,
    );
  }
  requireLength(fn, 'teacherLogits', t.length, s.length, 'the layout of the student logits');
  const classes = rows === 0 ? 0 : s.length / rows;
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: 0 });
  const out = gradBuffer(fn, o.out, s.length, s, 'options.out', 'studentLogits');
  const tau = opt(o, 'tau', RANKING_DEFAULTS.tau);
  if (backend === 'js') {
    checkDistillValues(fn, s, t, y, classes);
    const r = referencePlackettLuceDistill({ student: s, teacher: t, labels: y, classes }, tau);
    return withGrad(out, r.loss, r.grad);
  }
  return andThen(
    nativeCall(
      fn,
      () => native(backend).plackettLuceDistill(s, t, y, out, { tau, device: deviceCode(backend) }, async),
      distillFaults(classes),
    ),
    (loss) => ({ loss, grad: out }),
  );
}

/** The public names of plackettLuceDistill's arguments and its label rules, for src/faults.ts. */
function distillFaults(classes: number): FaultContext {
  return { names: { scores: 'studentLogits' }, labels: { classes, binary: false } };
}

/** The kernel's checks per row: student and teacher logits finite, item by item, then the label. */
function checkDistillValues(fn: string, s: Float32Array, t: Float32Array, y: Int32Array, classes: number): void {
  for (let row = 0; row < y.length; row++) {
    for (let i = row * classes; i < (row + 1) * classes; i++) {
      if (!Number.isFinite(s[i])) throw faultError(fn, 'score-not-finite', i, s[i], distillFaults(classes));
      if (!Number.isFinite(t[i])) throw faultError(fn, 'teacher-not-finite', i, t[i], distillFaults(classes));
    }
    if (!(y[row] >= 0 && y[row] < classes))
      throw faultError(fn, 'label-out-of-range', row, y[row], distillFaults(classes));
  }
}

/**
 * PLD, Plackett-Luce distillation (Bassam, Zhu and Bian 2025; formulas D.3): ListMLE of the student
 * logits over the teacher-optimal order (the true class, then the rest by teacher logit), each
 * position weighted by the teacher's softmax(t / tau). Rows of classes = studentLogits.length /
 * labels.length logits; mean over rows.
 *
 * @example
 * ```ts
 * import { plackettLuceDistill } from 'fusedloss';
 *
 * // 2 rows x 3 classes of student and teacher logits, and the true classes.
 * const student = new Float32Array([1.0, 0.2, -0.3, 0.5, 0.1, 0.9]);
 * const teacher = new Float32Array([2.0, 0.5, -1.0, 0.0, 0.3, 1.5]);
 * const { loss, grad } = plackettLuceDistill(student, teacher, new Int32Array([0, 2])); // tau 4: loss ≈ 0.4952
 * plackettLuceDistill(student, teacher, new Int32Array([0, 2]), { tau: 1 }).loss; // ≈ 0.5916
 * ```
 */
export function plackettLuceDistill(
  studentLogits: NumericArray,
  teacherLogits: NumericArray,
  labels: ClassLabels,
  options?: PlackettLuceDistillOptions,
): LossResult {
  const [fn, async] = callOf('plackettLuceDistill');
  return distillImpl(studentLogits, teacherLogits, labels, options, fn, async) as LossResult;
}

/**
 * The Promise twin of {@link plackettLuceDistill}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const plackettLuceDistillAsync = asyncTwin('plackettLuceDistillAsync', plackettLuceDistill);
