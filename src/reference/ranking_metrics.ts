// The float64 reference of the ranking metrics (formulas R), written from the textbook definitions:
// each list's valid items sorted by score and by relevance, then walked position by position. The
// kernels count ranks instead of sorting (binding/include/fusedloss/ranking_metrics.h); this is
// their oracle and the 'js' backend.
import { PADDING, type RefLists } from './ranking';

export type RankMetricName = 'ndcg' | 'mrr' | 'map' | 'recall' | 'precision';

/** One metric of a call: which, and its cutoff (0: the whole list). */
export interface RankMetricSpec {
  metric: RankMetricName;
  k: number;
}

/** The conventions (docs/ranking.md, "Ranking metrics"). */
export interface RankMetricConventions {
  gain: 'exp2' | 'linear';
  discount: 'log2' | 'reciprocal';
  emptyTargetAction: 'neg' | 'pos' | 'skip';
  apDenominator: 'relevant' | 'retrieved';
  adaptiveK: boolean;
}

export const METRIC_DEFAULTS: RankMetricConventions = {
  gain: 'exp2',
  discount: 'log2',
  emptyTargetAction: 'neg',
  apDenominator: 'relevant',
  adaptiveK: true,
};

/** Gain of relevance r under the conventions: 2^r - 1 or r. */
export const gainOf = (c: Pick<RankMetricConventions, 'gain'>, r: number) => (c.gain === 'linear' ? r : 2 ** r - 1);
const discountOf = (c: RankMetricConventions, rank: number) =>
  c.discount === 'reciprocal' ? 1 / rank : 1 / Math.log2(1 + rank);

/** One metric of one list: `byScore` and `ideal` its valid relevance in predicted and ideal order. */
function listMetric(spec: RankMetricSpec, c: RankMetricConventions, byScore: number[], ideal: number[]): number {
  const m = byScore.length;
  const relevant = byScore.filter((r) => r > 0).length;
  if (relevant === 0) return c.emptyTargetAction === 'pos' ? 1 : c.emptyTargetAction === 'skip' ? NaN : 0;
  const k = spec.k > 0 ? spec.k : m;
  const top = byScore.slice(0, k);
  const hits = top.filter((r) => r > 0).length;
  switch (spec.metric) {
    case 'ndcg': {
      const dcg = (order: number[]) =>
        order.slice(0, k).reduce((sum, r, p) => sum + gainOf(c, r) * discountOf(c, p + 1), 0);
      const best = dcg(ideal);
      return best > 0 ? dcg(byScore) / best : 0;
    }
    case 'mrr': {
      const first = top.findIndex((r) => r > 0);
      return first < 0 ? 0 : 1 / (first + 1);
    }
    case 'map': {
      let seen = 0;
      let sum = 0;
      top.forEach((r, p) => {
        if (r > 0) sum += ++seen / (p + 1);
      });
      const d = c.apDenominator === 'relevant' ? relevant : hits;
      return d > 0 ? sum / d : 0;
    }
    case 'recall':
      return hits / relevant;
    case 'precision':
      return hits / (c.adaptiveK ? Math.min(k, m) : k);
  }
}

/** Every list's metrics, list after list: lists x specs values, NaN for a list left out ('skip'). */
export function referenceRankingMetrics(
  pb: RefLists,
  specs: readonly RankMetricSpec[],
  c: RankMetricConventions = METRIC_DEFAULTS,
): Float64Array {
  const lists = pb.offsets.length - 1;
  const out = new Float64Array(Math.max(lists, 0) * specs.length);
  for (let l = 0; l < lists; l++) {
    const items: number[] = [];
    for (let i = pb.offsets[l]; i < pb.offsets[l + 1]; i++) if (pb.relevance[i] !== PADDING) items.push(i);
    // Score descending, ties by index.
    const byScore = [...items].sort((i, j) => pb.scores[j] - pb.scores[i] || i - j).map((i) => pb.relevance[i]);
    const ideal = items.map((i) => pb.relevance[i]).sort((a, b) => b - a);
    specs.forEach((s, q) => (out[l * specs.length + q] = listMetric(s, c, byScore, ideal)));
  }
  return out;
}

/** Metric q's mean over the lists not left out (NaN per list); 0 when none is left. */
export function metricMean(perList: Float64Array, count: number, q: number): number {
  let sum = 0;
  let n = 0;
  for (let i = q; i < perList.length; i += count) {
    if (Number.isNaN(perList[i])) continue;
    sum += perList[i];
    n++;
  }
  return n > 0 ? sum / n : 0;
}
