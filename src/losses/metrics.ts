// Ranking metrics on the listwise layout (formulas R; docs/ranking.md, "Ranking metrics"): NDCG,
// MRR, MAP, recall@k and precision@k per list and their mean, from the native CPU kernel
// (binding/cpu/ranking_metrics.cc), the CUDA kernel (cuda/ranking_metrics.cu) or the float64
// reference (src/reference/ranking_metrics.ts); and the `metrics` option of the list losses.
import { rangeError, typeError, describe } from '../errors';
import type { NumericArray } from '../arrays';
import { deviceCode, nativeCall, resolveBackend, type Backend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import {
  METRIC_DEFAULTS,
  metricMean,
  referenceRankingMetrics,
  type RankMetricConventions,
  type RankMetricName,
  type RankMetricSpec,
} from '../reference/ranking_metrics';
import { wireId } from '../wire-enums';
import type { MetricSpecsWire, RankingMetricsWire } from '../wire-params';
import { asyncTwin, callOf, andThen, native } from './dispatch';
import { checkListValues, LIST_FAULTS, listBatch, listOffsets, type ListBatch } from './lists';

/** Options every ranking metric takes. */
export interface RankingMetricOptions {
  /** Items per list (an integer >= 1; scores.length a multiple). Relevance -1 marks padding, which is not an item. Default: one list. Give this or `offsets`. */
  listSize?: number;
  /** Ragged lists: lists + 1 integers rising from 0 to scores.length. Default: none. Give this or `listSize`. */
  offsets?: Int32Array | ArrayLike<number>;
  /** Cutoff: only the top k items by score count (an integer >= 1). Default: the whole list. */
  k?: number;
  /**
   * A list without a relevant item (relevance > 0): 'neg' (default) counts 0, 'pos' counts 1,
   * 'skip' leaves it out of the mean (its per-list value is NaN; the mean of no list is 0). The
   * names and default are TorchMetrics' `empty_target_action`; TF Ranking counts 0.
   */
  emptyTargetAction?: 'neg' | 'pos' | 'skip';
  /** 'auto' (default): the native CPU when the addon loaded, else 'js'; 'cpu'; 'cuda'; 'cuda-sim' (testing); 'js' the float64 reference. */
  backend?: Backend;
}

export interface NdcgOptions extends RankingMetricOptions {
  /** Gain of relevance r: 'exp2' (default) 2^r - 1, as TF Ranking and allRank; 'linear' r, as TorchMetrics and scikit-learn. */
  gain?: 'exp2' | 'linear';
  /** Discount of 1-based rank p: 'log2' (default) 1 / log2(1 + p); 'reciprocal' 1 / p. */
  discount?: 'log2' | 'reciprocal';
}

export interface MapOptions extends RankingMetricOptions {
  /** Average precision over 'relevant' (default), every relevant item of the list (TF Ranking), or 'retrieved', those in the top k (TorchMetrics). */
  apDenominator?: 'relevant' | 'retrieved';
}

export interface PrecisionOptions extends RankingMetricOptions {
  /** Divide by min(k, items) (true, default: TF Ranking, TorchMetrics' adaptive_k) or by k (false: TorchMetrics' default). */
  adaptiveK?: boolean;
}

/** A ranking metric: its mean over lists and each list's value. */
export interface RankingMetricResult {
  value: number;
  /** One value per list; NaN for a list left out (emptyTargetAction 'skip'). */
  perList: Float64Array;
}

const count: OptionSpec = { kind: 'number', integer: true, min: 1, max: 2 ** 31 - 1 };
const common: Record<string, OptionSpec> = {
  listSize: count,
  offsets: { kind: 'any' },
  k: count,
  emptyTargetAction: { kind: 'enum', values: ['neg', 'pos', 'skip'] },
  backend: backendSpec,
};

/** Each public metric's options, for the registry (src/registry.ts). */
export const METRIC_OPTIONS: Record<string, Record<string, OptionSpec>> = {
  ndcg: {
    ...common,
    gain: { kind: 'enum', values: ['exp2', 'linear'] },
    discount: { kind: 'enum', values: ['log2', 'reciprocal'] },
  },
  mrr: common,
  meanAveragePrecision: { ...common, apDenominator: { kind: 'enum', values: ['relevant', 'retrieved'] } },
  recallAtK: common,
  precisionAtK: { ...common, adaptiveK: { kind: 'boolean' } },
};

/** The wire form of the specs and conventions (binding/napi/ranking.cc, metric_params). */
function wireParams(specs: readonly RankMetricSpec[], c: RankMetricConventions): MetricSpecsWire {
  return {
    specs: Int32Array.from(specs.flatMap((s) => [wireId('RankMetric', s.metric), s.k])),
    gain: wireId('MetricGain', c.gain),
    discount: wireId('MetricDiscount', c.discount),
    empty: wireId('EmptyTarget', c.emptyTargetAction),
    ap: wireId('ApDenominator', c.apDenominator),
    adaptiveK: c.adaptiveK,
  };
}

/** lists x specs per-list values of a checked batch, on `backend` (the reference checks values first). */
export function listMetrics(
  fn: string,
  b: ListBatch,
  backend: ReturnType<typeof resolveBackend>,
  specs: readonly RankMetricSpec[],
  c: RankMetricConventions,
  async: boolean,
): Float64Array | Promise<Float64Array> {
  const offsets = listOffsets(b);
  if (backend === 'js') {
    checkListValues(fn, b);
    return referenceRankingMetrics({ scores: b.scores, relevance: b.relevance, offsets }, specs, c);
  }
  const perList = new Float64Array((offsets.length - 1) * specs.length);
  const params: RankingMetricsWire = { ...wireParams(specs, c), listSize: b.listSize, device: deviceCode(backend) };
  return andThen(
    nativeCall(
      fn,
      () => native(backend).rankingMetrics(b.scores, b.relevance, b.offsets, perList, params, async),
      LIST_FAULTS,
    ),
    () => perList,
  );
}

type MetricResult = RankingMetricResult | Promise<RankingMetricResult>;

function metricImpl(
  metric: RankMetricName,
  schema: string,
  scores: unknown,
  relevance: unknown,
  options: unknown,
  fn: string,
  async: boolean,
): MetricResult {
  const o = readOptions(fn, options, METRIC_OPTIONS[schema]);
  const b = listBatch(fn, scores, relevance, o);
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: 0 });
  const c: RankMetricConventions = {
    gain: opt(o, 'gain', METRIC_DEFAULTS.gain),
    discount: opt(o, 'discount', METRIC_DEFAULTS.discount),
    emptyTargetAction: opt(o, 'emptyTargetAction', METRIC_DEFAULTS.emptyTargetAction),
    apDenominator: opt(o, 'apDenominator', METRIC_DEFAULTS.apDenominator),
    adaptiveK: opt(o, 'adaptiveK', METRIC_DEFAULTS.adaptiveK),
  };
  const spec = { metric, k: opt(o, 'k', 0) };
  return andThen(listMetrics(fn, b, backend, [spec], c, async), (perList) => ({
    value: metricMean(perList, 1, 0),
    perList,
  }));
}

/**
 * NDCG@k (Järvelin and Kekäläinen 2002; formulas R.1): per list DCG@k / ideal DCG@k with
 * DCG@k = sum over the top k items by score of gain(r) x discount(rank); ties in score are ranked
 * by index. Mean over lists.
 *
 * @example
 * ```ts
 * import { ndcg } from 'fusedloss';
 *
 * // 2 lists of 4 items; relevance -1 marks the second list's last item as padding.
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]);
 * const { value, perList } = ndcg(scores, relevance, { listSize: 4 }); // value ≈ 0.8443
 * ndcg(scores, relevance, { listSize: 4, k: 2, gain: 'linear' }).value; // ≈ 0.6900
 * ```
 */
export function ndcg(scores: NumericArray, relevance: NumericArray, options?: NdcgOptions): RankingMetricResult {
  const [fn, async] = callOf('ndcg');
  return metricImpl('ndcg', 'ndcg', scores, relevance, options, fn, async) as RankingMetricResult;
}

/**
 * The Promise twin of {@link ndcg}: the native backend runs off the main thread.
 *
 * @function
 */
export const ndcgAsync = asyncTwin('ndcgAsync', ndcg);

/**
 * MRR@k (formulas R.2): per list 1 / the rank of the first relevant item (relevance > 0) within the
 * top k by score, 0 when none is there. Mean over lists.
 *
 * @example
 * ```ts
 * import { mrr } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([0, 1, 0, 0, 0, 0, 1, -1]); // -1: padding
 * mrr(scores, relevance, { listSize: 4 }).value; // (1 + 1/2) / 2 = 0.75
 * ```
 */
export function mrr(
  scores: NumericArray,
  relevance: NumericArray,
  options?: RankingMetricOptions,
): RankingMetricResult {
  const [fn, async] = callOf('mrr');
  return metricImpl('mrr', 'mrr', scores, relevance, options, fn, async) as RankingMetricResult;
}

/**
 * The Promise twin of {@link mrr}: the native backend runs off the main thread.
 *
 * @function
 */
export const mrrAsync = asyncTwin('mrrAsync', mrr);

/**
 * MAP@k (formulas R.3): per list the sum of precision@rank at each relevant item within the top k,
 * over the list's relevant items (or, `apDenominator: 'retrieved'`, over those within the top k).
 * Mean over lists.
 *
 * @example
 * ```ts
 * import { meanAveragePrecision } from 'fusedloss';
 *
 * // TF Ranking's own example: labels [0, 1, 1], scores [3, 1, 2], topn 2 → 0.25.
 * meanAveragePrecision([3, 1, 2], [0, 1, 1], { k: 2 }).value; // 0.25
 * meanAveragePrecision([3, 1, 2], [0, 1, 1], { k: 2, apDenominator: 'retrieved' }).value; // 0.5
 * ```
 */
export function meanAveragePrecision(
  scores: NumericArray,
  relevance: NumericArray,
  options?: MapOptions,
): RankingMetricResult {
  const [fn, async] = callOf('meanAveragePrecision');
  return metricImpl('map', 'meanAveragePrecision', scores, relevance, options, fn, async) as RankingMetricResult;
}

/**
 * The Promise twin of {@link meanAveragePrecision}: the native backend runs off the main thread.
 *
 * @function
 */
export const meanAveragePrecisionAsync = asyncTwin('meanAveragePrecisionAsync', meanAveragePrecision);

/**
 * Recall@k (formulas R.4): per list the relevant items within the top k by score over all its
 * relevant items. Mean over lists.
 *
 * @example
 * ```ts
 * import { recallAtK } from 'fusedloss';
 *
 * recallAtK([0.9, 0.8, 0.7, 0.1], [1, 0, 0, 1], { k: 2 }).value; // 0.5
 * ```
 */
export function recallAtK(
  scores: NumericArray,
  relevance: NumericArray,
  options?: RankingMetricOptions,
): RankingMetricResult {
  const [fn, async] = callOf('recallAtK');
  return metricImpl('recall', 'recallAtK', scores, relevance, options, fn, async) as RankingMetricResult;
}

/**
 * The Promise twin of {@link recallAtK}: the native backend runs off the main thread.
 *
 * @function
 */
export const recallAtKAsync = asyncTwin('recallAtKAsync', recallAtK);

/**
 * Precision@k (formulas R.5): per list the relevant items within the top k by score over
 * min(k, items) (or k, `adaptiveK: false`). Mean over lists.
 *
 * @example
 * ```ts
 * import { precisionAtK } from 'fusedloss';
 *
 * precisionAtK([0.9, 0.8, 0.7], [1, 0, 1], { k: 5 }).value; // 2 / 3
 * precisionAtK([0.9, 0.8, 0.7], [1, 0, 1], { k: 5, adaptiveK: false }).value; // 2 / 5
 * ```
 */
export function precisionAtK(
  scores: NumericArray,
  relevance: NumericArray,
  options?: PrecisionOptions,
): RankingMetricResult {
  const [fn, async] = callOf('precisionAtK');
  return metricImpl('precision', 'precisionAtK', scores, relevance, options, fn, async) as RankingMetricResult;
}

/**
 * The Promise twin of {@link precisionAtK}: the native backend runs off the main thread.
 *
 * @function
 */
export const precisionAtKAsync = asyncTwin('precisionAtKAsync', precisionAtK);

const NAMES: readonly RankMetricName[] = ['ndcg', 'mrr', 'map', 'recall', 'precision'];
export const MAX_METRICS = 16;

/**
 * The `metrics` option of a list loss: names 'ndcg', 'mrr', 'map', 'recall', 'precision', each
 * optionally '@k' (an integer >= 1), at most 16.
 */
export function parseMetricNames(fn: string, v: unknown): RankMetricSpec[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_METRICS) {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.metrics must be an array of 1 to ${MAX_METRICS} metric names, got ${describe(v)}`,
    );
  }
  return v.map((name: unknown, i) => {
    const m = typeof name === 'string' ? /^([a-z]+)(?:@([1-9]\d{0,9}))?$/.exec(name) : null;
    const k = m?.[2] === undefined ? 0 : Number(m[2]);
    if (!m || !NAMES.includes(m[1] as RankMetricName) || k > 2 ** 31 - 1) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: options.metrics[${i}] = ${describe(name)} is not a metric; use ${NAMES.join(', ')}, each optionally @k`,
      );
    }
    return { metric: m[1] as RankMetricName, k };
  });
}

/** The means of a loss call's metrics, by the names the caller gave. */
export function metricMeans(names: readonly string[], perList: Float64Array): Record<string, number> {
  return Object.fromEntries(names.map((name, q) => [name, metricMean(perList, names.length, q)]));
}

/** The wire params a list loss passes along for its `metrics` (the default conventions). */
export function lossMetricParams(specs: readonly RankMetricSpec[]): MetricSpecsWire {
  return wireParams(specs, METRIC_DEFAULTS);
}
