// Shared cases of the ranking-metric suites: each metric with its conventions, the layouts they run
// on, and the comparison every backend is held to against the float64 reference.
import { expect } from 'vitest';
import {
  approxNDCG,
  lambdaLoss,
  listMLE,
  listNet,
  meanAveragePrecision,
  mrr,
  ndcg,
  pairwiseHinge,
  precisionAtK,
  rankList,
  rankNet,
  recallAtK,
  type Backend,
  type ListLossResult,
  type RankingMetricResult,
} from '../src';
import { listBatch, LAYOUTS } from './ranking.cases';

type Run = (s: Float32Array, r: Float32Array, o: Record<string, unknown>) => RankingMetricResult;

type ListLoss = (s: Float32Array, r: Float32Array, o: object) => ListLossResult;

/**
 * The list losses whose `metrics` option the suites check, in each order a loss gathers its lists
 * before the metrics read them: by relevance (ties kept or shuffled), by index, by score.
 */
export const METRIC_LOSSES: Array<[string, ListLoss]> = [
  ['listMLE', listMLE],
  ['listMLE, ties shuffled', (s, r, o) => listMLE(s, r, { ...o, ties: 'shuffle', seed: 7 })],
  ['rankList', rankList],
  ['listNet', listNet],
  ['rankNet', rankNet],
  ['pairwiseHinge', pairwiseHinge],
  ['approxNDCG', approxNDCG],
  ['lambdaLoss', (s, r, o) => lambdaLoss(s, r, { ...o, scheme: 'ndcgLoss2PP', k: 10 })],
];

/** Each metric under each of its conventions, with cutoffs inside and past the lists. */
export const METRIC_CASES: Array<[string, Run]> = [
  ['ndcg', (s, r, o) => ndcg(s, r, o)],
  ['ndcg@3 linear reciprocal', (s, r, o) => ndcg(s, r, { ...o, k: 3, gain: 'linear', discount: 'reciprocal' })],
  ['ndcg@10 skip', (s, r, o) => ndcg(s, r, { ...o, k: 10, emptyTargetAction: 'skip' })],
  ['mrr', (s, r, o) => mrr(s, r, o)],
  ['mrr@2 pos', (s, r, o) => mrr(s, r, { ...o, k: 2, emptyTargetAction: 'pos' })],
  ['map', (s, r, o) => meanAveragePrecision(s, r, o)],
  ['map@5 retrieved', (s, r, o) => meanAveragePrecision(s, r, { ...o, k: 5, apDenominator: 'retrieved' })],
  ['recall@3', (s, r, o) => recallAtK(s, r, { ...o, k: 3 })],
  ['precision@3', (s, r, o) => precisionAtK(s, r, { ...o, k: 3 })],
  ['precision@40 over k', (s, r, o) => precisionAtK(s, r, { ...o, k: 40, adaptiveK: false })],
];

/** Per-list values equal to 1e-12 (NaN where the reference has NaN), and the means. */
export function expectSameMetric(a: RankingMetricResult, b: RankingMetricResult): void {
  expect(a.perList.length).toBe(b.perList.length);
  for (let i = 0; i < a.perList.length; i++) {
    if (Number.isNaN(b.perList[i])) expect(a.perList[i], `list ${i}`).toBeNaN();
    else
      expect(Math.abs(a.perList[i] - b.perList[i]), `list ${i}: ${a.perList[i]} vs ${b.perList[i]}`).toBeLessThan(
        1e-12,
      );
  }
  expect(Math.abs(a.value - b.value)).toBeLessThan(1e-12);
}

/** The batch with scores rounded to halves: many ties in score. */
function tied<T extends { scores: Float32Array }>(b: T): T {
  return { ...b, scores: b.scores.map((s) => Math.round(s * 2) / 2) };
}

/** The loss suites' layouts, the same with ties in score, and lists of 1, 7 and 33 items. */
export function metricLayouts(): Record<string, { scores: Float32Array; relevance: Float32Array; shape: object }> {
  const out: Record<string, { scores: Float32Array; relevance: Float32Array; shape: object }> = {};
  for (const [name, { batch, listSize }] of Object.entries(LAYOUTS)) {
    const shape = listSize ? { listSize } : { offsets: batch.offsets };
    out[name] = { ...batch, shape };
    out[`${name}, scores tied`] = { ...tied(batch), shape };
  }
  for (const [size, lists] of [
    [1, 31],
    [7, 1031],
    [33, 1],
    [33, 31],
  ]) {
    const b = tied(listBatch(Array(lists).fill(size), size * 13 + lists, { grades: 3, padding: 0.15 }));
    out[`${lists} lists of ${size}, padded, tied`] = { ...b, shape: { listSize: size } };
  }
  return out;
}

/** Every case on every layout, `backend` against the reference. */
export function expectMetricsAgree(backend: Backend, layouts = metricLayouts()): void {
  for (const [layout, { scores, relevance, shape }] of Object.entries(layouts)) {
    for (const [name, run] of METRIC_CASES) {
      const a = run(scores, relevance, { ...shape, backend });
      const b = run(scores, relevance, { ...shape, backend: 'js' });
      try {
        expectSameMetric(a, b);
      } catch (e) {
        throw new Error(`${name}, ${layout}: ${(e as Error).message}`);
      }
    }
  }
}
