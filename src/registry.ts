// Every public loss once: its name, family, sync and async functions, options (the schema its
// function checks them against: kinds, bounds, enum values), the layout of its arrays, the backends
// with kernels for it, and a sample call. The TensorFlow.js table, and the determinism, async,
// leak and fuzz suites read their lists of losses from here; test/registry.test.ts fails when a
// public function is missing.
import * as confusion from './losses/confusion';
import * as linear from './losses/linear';
import type { LossResult, RowLossResult } from './losses/dispatch';
import * as metrics from './losses/metrics';
import * as neural from './losses/neural-ndcg';
import * as pairs from './losses/pairs';
import * as proxy from './losses/proxy';
import * as proxyNca from './losses/proxy-nca';
import * as ranking from './losses/ranking';
import * as spherical from './losses/spherical';
import type { ResolvedBackend } from './native';
import type { OptionSpec } from './options';
import { mulberry32 } from './random';

export type Family = 'confusion' | 'spherical' | 'ranking' | 'pairs';

/**
 * The arrays a loss takes, as TensorFlow.js's yPred shape fills the options in:
 * - 'confusion': scores [B] (binary, labels 0/1 or soft) or [B, C] (class ids, sets `classes`).
 * - 'elementwise': any shape; one label per element.
 * - 'classes': logits [B, C] (sets `classes`) and B class ids.
 * - 'lists': scores [lists, n] (sets `listSize`) and relevance alike.
 * - 'embeddings': [N, D] (sets `dim`) and N class ids (ntXent: may be null).
 * - 'distill': student logits [B, C], a teacher of the same shape, and B class ids.
 * - 'counts': the confusion layout, but the result is soft counts, not a loss (no gradient).
 * - 'linear': features [B, D] (sets `dim`), a weight [C, D] and B class ids; the result holds
 *   gradHidden and gradWeight instead of grad.
 * - 'list-metric': the lists layout, but the result is a ranking metric, not a loss (no gradient).
 * - 'proxies': embeddings [B, D] (sets `dim`), proxies [C, D] and B class ids; the result holds
 *   gradEmbeddings and gradProxies instead of grad.
 */
export type Layout =
  | 'confusion'
  | 'elementwise'
  | 'classes'
  | 'lists'
  | 'embeddings'
  | 'distill'
  | 'counts'
  | 'linear'
  | 'list-metric'
  | 'proxies';

/** Layouts whose result is not a loss with a gradient. */
const NO_GRADIENT: readonly Layout[] = ['counts', 'list-metric'];

/** A sample's size: 'small' a few dozen elements; 'large' enough to span many chunks of the pool. */
export type SampleSize = 'small' | 'large';

type Fn = (...args: never[]) => unknown;

export interface LossEntry {
  name: string;
  family: Family;
  layout: Layout;
  sync: Fn;
  async: (...args: never[]) => Promise<unknown>;
  options: Record<string, OptionSpec>;
  /** Backends with kernels for it ('js', the reference, always). */
  backends: readonly ResolvedBackend[];
  /** May return one loss per row (options.reduction 'none'). */
  perRow: boolean;
  /** Arguments of a sample call (options last), the same for the same size. */
  sample(size: SampleSize): unknown[];
}

const ALL: readonly ResolvedBackend[] = ['cpu', 'cuda', 'cuda-sim', 'js'];

const scores = (n: number, seed: number) => {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 3);
};
const ids = (n: number, k: number, seed: number) => {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * k));
};

// One sample per layout; `large` spans many chunks on the CPU (pairs stay small: O(N^2 D)).
const SAMPLES: Record<Exclude<Layout, 'counts' | 'list-metric'>, (size: SampleSize) => unknown[]> = {
  confusion: (size) => {
    const rows = size === 'large' ? 15_000 : 16;
    return [scores(rows * 3, 1), ids(rows, 3, 2), { classes: 3 }];
  },
  elementwise: (size) => {
    const n = size === 'large' ? 40_000 : 64;
    return [scores(n, 3), Float32Array.from(ids(n, 2, 4)), {}];
  },
  classes: (size) => {
    const [rows, classes] = size === 'large' ? [512, 300] : [8, 8];
    return [scores(rows * classes, 5), ids(rows, classes, 6), { classes }];
  },
  lists: (size) => {
    const [lists, n] = size === 'large' ? [800, 40] : [8, 8];
    // Relevance 0..3 with -1 (padding) mixed in.
    return [scores(lists * n, 7), Float32Array.from(ids(lists * n, 5, 8), (v) => v - 1), { listSize: n }];
  },
  embeddings: (size) => {
    const [n, dim] = size === 'large' ? [700, 48] : [16, 4];
    return [scores(n * dim, 9), ids(n, 3, 10), { dim }];
  },
  distill: (size) => {
    const [rows, classes] = size === 'large' ? [512, 300] : [8, 8];
    return [scores(rows * classes, 11), scores(rows * classes, 12), ids(rows, classes, 13), {}];
  },
  linear: (size) => {
    const [rows, dim, classes] = size === 'large' ? [500, 40, 300] : [8, 4, 6];
    return [scores(rows * dim, 14), scores(classes * dim, 15), ids(rows, classes, 16), { dim }];
  },
  proxies: (size) => {
    const [rows, dim, classes] = size === 'large' ? [500, 40, 300] : [8, 4, 6];
    return [scores(rows * dim, 17), scores(classes * dim, 18), ids(rows, classes, 19), { dim }];
  },
};

function entry(
  family: Family,
  layout: Layout,
  sync: Fn,
  async: (...args: never[]) => Promise<unknown>,
  options: Record<string, OptionSpec>,
  extra: {
    perRow?: boolean;
    sample?: (size: SampleSize) => unknown[];
    required?: object;
    backends?: readonly ResolvedBackend[];
  } = {},
): Omit<LossEntry, 'name'> {
  const sample =
    extra.sample ?? SAMPLES[layout === 'counts' ? 'confusion' : layout === 'list-metric' ? 'lists' : layout];
  return {
    family,
    layout,
    sync,
    async,
    options,
    backends: extra.backends ?? ALL,
    perRow: extra.perRow ?? false,
    sample: (size) => {
      const args = sample(size);
      return [...args.slice(0, -1), { ...(args[args.length - 1] as object), ...extra.required }];
    },
  };
}

const C = confusion.CONFUSION_OPTIONS,
  S = spherical.SPHERICAL_OPTIONS,
  R = ranking.RANKING_OPTIONS,
  P = pairs.PAIR_OPTIONS,
  M = metrics.METRIC_OPTIONS;
const rows = { perRow: true };
// ntXent's positives are the two views of each row; its sample passes no labels.
const ntXentSample = (size: SampleSize) => {
  const [x, , o] = SAMPLES.embeddings(size);
  return [x, null, o];
};

const ENTRIES = {
  anyLoss: entry('confusion', 'confusion', confusion.anyLoss, confusion.anyLossAsync, C.anyLoss),
  softConfusion: entry('confusion', 'counts', confusion.softConfusion, confusion.softConfusionAsync, C.softConfusion),
  diceLoss: entry('confusion', 'confusion', confusion.diceLoss, confusion.diceLossAsync, C.diceLoss),
  tverskyLoss: entry('confusion', 'confusion', confusion.tverskyLoss, confusion.tverskyLossAsync, C.tverskyLoss),
  binaryCrossEntropy: entry(
    'confusion',
    'elementwise',
    confusion.binaryCrossEntropy,
    confusion.binaryCrossEntropyAsync,
    C.binaryCrossEntropy,
  ),
  sigmoidFocal: entry('confusion', 'elementwise', confusion.sigmoidFocal, confusion.sigmoidFocalAsync, C.sigmoidFocal),
  zLoss: entry('spherical', 'classes', spherical.zLoss, spherical.zLossAsync, S.zLoss, rows),
  sphericalLoss: entry('spherical', 'classes', spherical.sphericalLoss, spherical.sphericalLossAsync, S.sphericalLoss, {
    ...rows,
    required: { kind: 'log-taylor-softmax' },
  }),
  softmaxCrossEntropy: entry(
    'spherical',
    'classes',
    spherical.softmaxCrossEntropy,
    spherical.softmaxCrossEntropyAsync,
    S.softmaxCrossEntropy,
    rows,
  ),
  linearCrossEntropy: entry(
    'spherical',
    'linear',
    linear.linearCrossEntropy,
    linear.linearCrossEntropyAsync,
    linear.LINEAR_OPTIONS,
    rows,
  ),
  rankList: entry('ranking', 'lists', ranking.rankList, ranking.rankListAsync, R.rankList),
  listMLE: entry('ranking', 'lists', ranking.listMLE, ranking.listMLEAsync, R.listMLE),
  listNet: entry('ranking', 'lists', ranking.listNet, ranking.listNetAsync, R.listNet),
  rankNet: entry('ranking', 'lists', ranking.rankNet, ranking.rankNetAsync, R.rankNet),
  lambdaLoss: entry('ranking', 'lists', ranking.lambdaLoss, ranking.lambdaLossAsync, R.lambdaLoss),
  pairwiseHinge: entry('ranking', 'lists', ranking.pairwiseHinge, ranking.pairwiseHingeAsync, R.pairwiseHinge),
  approxNDCG: entry('ranking', 'lists', ranking.approxNDCG, ranking.approxNDCGAsync, R.approxNDCG),
  neuralNDCG: entry('ranking', 'lists', neural.neuralNDCG, neural.neuralNDCGAsync, neural.NEURAL_NDCG_OPTIONS),
  plackettLuceDistill: entry(
    'ranking',
    'distill',
    ranking.plackettLuceDistill,
    ranking.plackettLuceDistillAsync,
    R.plackettLuceDistill,
  ),
  multiSimilarity: entry(
    'pairs',
    'embeddings',
    pairs.multiSimilarity,
    pairs.multiSimilarityAsync,
    P.multiSimilarity,
    rows,
  ),
  contrastive: entry('pairs', 'embeddings', pairs.contrastive, pairs.contrastiveAsync, P.contrastive, rows),
  tripletBatchHard: entry(
    'pairs',
    'embeddings',
    pairs.tripletBatchHard,
    pairs.tripletBatchHardAsync,
    P.tripletBatchHard,
    rows,
  ),
  circleLoss: entry('pairs', 'embeddings', pairs.circleLoss, pairs.circleLossAsync, P.circleLoss, rows),
  supCon: entry('pairs', 'embeddings', pairs.supCon, pairs.supConAsync, P.supCon, rows),
  ntXent: entry('pairs', 'embeddings', pairs.ntXent, pairs.ntXentAsync, P.ntXent, { ...rows, sample: ntXentSample }),
  orthogonalProjection: entry(
    'pairs',
    'embeddings',
    pairs.orthogonalProjection,
    pairs.orthogonalProjectionAsync,
    P.orthogonalProjection,
  ),
  ndcg: entry('ranking', 'list-metric', metrics.ndcg, metrics.ndcgAsync, M.ndcg),
  mrr: entry('ranking', 'list-metric', metrics.mrr, metrics.mrrAsync, M.mrr),
  meanAveragePrecision: entry(
    'ranking',
    'list-metric',
    metrics.meanAveragePrecision,
    metrics.meanAveragePrecisionAsync,
    M.meanAveragePrecision,
  ),
  recallAtK: entry('ranking', 'list-metric', metrics.recallAtK, metrics.recallAtKAsync, M.recallAtK),
  precisionAtK: entry('ranking', 'list-metric', metrics.precisionAtK, metrics.precisionAtKAsync, M.precisionAtK),
  proxyAnchor: entry('pairs', 'proxies', proxy.proxyAnchor, proxy.proxyAnchorAsync, proxy.PROXY_ANCHOR_OPTIONS),
  proxyNCA: entry('pairs', 'proxies', proxyNca.proxyNCA, proxyNca.proxyNCAAsync, proxyNca.PROXY_NCA_OPTIONS, rows),
} satisfies Record<string, Omit<LossEntry, 'name'>>;

export type LossName = keyof typeof ENTRIES;

/** Every public loss, by name: the key, not the function's `name`, which bundlers may rename. */
export const LOSSES = Object.fromEntries(Object.entries(ENTRIES).map(([name, e]) => [name, { name, ...e }])) as Record<
  LossName,
  LossEntry
>;

/** The registry's entries as a list. */
export const LOSS_LIST: readonly LossEntry[] = Object.values(LOSSES);

/** Whether an entry returns a loss and its gradient (softConfusion's counts and the ranking metrics do not). */
export function hasGradient(e: LossEntry): boolean {
  return !NO_GRADIENT.includes(e.layout);
}

/** The result's gradient fields: `grad`, or one per input for the two-input layouts (linear, proxies). */
export function gradientKeys(e: LossEntry): readonly string[] {
  if (e.layout === 'linear') return ['gradHidden', 'gradWeight'];
  if (e.layout === 'proxies') return ['gradEmbeddings', 'gradProxies'];
  return ['grad'];
}

/** The entries without a gradient, by name. */
export type NoGradientName = 'softConfusion' | 'ndcg' | 'mrr' | 'meanAveragePrecision' | 'recallAtK' | 'precisionAtK';

/** A loss's sync result as the suites compare it (softConfusion's counts and the metrics have no gradient). */
export type AnyResult = LossResult | RowLossResult | confusion.SoftCounts | metrics.RankingMetricResult;
