// The float64 reference of the ranking metrics against the public libraries' own documented
// examples (TF Ranking's keras metric docstrings, TorchMetrics' retrieval_normalized_dcg
// docstring) and values worked by hand from the definitions (formulas R).
import { describe, expect, it } from 'vitest';
import { meanAveragePrecision, mrr, ndcg, precisionAtK, recallAtK } from '../src';
import { referenceRankingMetrics } from '../src/reference/ranking_metrics';

const js = { backend: 'js' } as const;
const close = (got: number, want: number, digits = 6) => expect(got).toBeCloseTo(want, digits);

describe('ranking metrics: the public libraries’ examples', () => {
  // TF Ranking (tensorflow_ranking/python/keras/metrics.py): y_true [[0, 1, 1]], y_pred [[3, 1, 2]].
  const y = [0, 1, 1];
  const s = [3, 1, 2];
  it('TF Ranking NDCGMetric: 0.6934264, and 0.7974351 on its ragged lists', () => {
    close(ndcg(s, y, js).value, 0.6934264);
    // y_true [[0, 1], [1, 2, 0]], y_pred [[2, 1], [2, 5, 4]] as ragged lists.
    close(ndcg([2, 1, 2, 5, 4], [0, 1, 1, 2, 0], { ...js, offsets: [0, 2, 5] }).value, 0.7974351);
  });
  it('TF Ranking MeanAveragePrecisionMetric(topn=2): 0.25 (over all relevant items)', () => {
    close(meanAveragePrecision(s, y, { ...js, k: 2 }).value, 0.25);
  });
  it('TorchMetrics retrieval_normalized_dcg: 0.6957 with its linear gain', () => {
    const r = ndcg([0.1, 0.2, 0.3, 4, 70], [10, 0, 0, 1, 5], { ...js, gain: 'linear' });
    close(r.value, 0.6957, 4);
  });
});

describe('ranking metrics: the definitions by hand', () => {
  // Predicted order of [0, 1, 1] by [3, 1, 2]: relevance 0, 1, 1.
  const y = [0, 1, 1];
  const s = [3, 1, 2];
  it('MRR, recall, precision and MAP on TF Ranking’s example lists', () => {
    close(mrr(s, y, js).value, 1 / 2);
    close(mrr(s, y, { ...js, k: 1 }).value, 0);
    close(recallAtK(s, y, { ...js, k: 2 }).value, 1 / 2);
    close(precisionAtK(s, y, { ...js, k: 2 }).value, 1 / 2);
    close(precisionAtK(s, y, js).value, 2 / 3);
    // AP over the whole list: (1/2 + 2/3) / 2.
    close(meanAveragePrecision(s, y, js).value, (1 / 2 + 2 / 3) / 2);
    close(meanAveragePrecision(s, y, { ...js, k: 2, apDenominator: 'retrieved' }).value, 1 / 2);
  });
  it('precision@k beyond the list: over min(k, items), or over k', () => {
    close(precisionAtK([0.9, 0.8, 0.7], [1, 0, 1], { ...js, k: 5 }).value, 2 / 3);
    close(precisionAtK([0.9, 0.8, 0.7], [1, 0, 1], { ...js, k: 5, adaptiveK: false }).value, 2 / 5);
  });
  it('NDCG@k with exp2 and linear gains, log2 and reciprocal discounts', () => {
    // Predicted: r = 1, 3, 0, 2 (scores 4, 3, 2, 1); ideal 3, 2, 1, 0.
    const r = [1, 3, 0, 2];
    const sc = [4, 3, 2, 1];
    const l2 = (p: number) => 1 / Math.log2(1 + p);
    close(ndcg(sc, r, { ...js, k: 2 }).value, (1 * l2(1) + 7 * l2(2)) / (7 * l2(1) + 3 * l2(2)));
    close(ndcg(sc, r, { ...js, gain: 'linear' }).value, (1 + 3 * l2(2) + 2 * l2(4)) / (3 + 2 * l2(2) + 1 * l2(3)));
    close(ndcg(sc, r, { ...js, discount: 'reciprocal' }).value, (1 + 7 / 2 + 3 / 4) / (7 + 3 / 2 + 1 / 3));
  });
  it('ties in score go by index; padding is no item', () => {
    // Equal scores: item 0 (relevance 0) ranks first, item 1 (relevance 1) second.
    close(mrr([1, 1, 0], [0, 1, 0], js).value, 1 / 2);
    close(mrr([1, 1, 0], [1, 0, 0], js).value, 1);
    // The padded item (-1) scores highest and is skipped: the relevant item is first.
    close(mrr([NaN, 0.5, 0.1], [-1, 1, 0], js).value, 1);
    close(precisionAtK([NaN, 0.5, 0.1], [-1, 1, 0], js).value, 1 / 2);
  });
  it('lists without a relevant item: 0, 1, or left out (NaN) as emptyTargetAction says', () => {
    const scores = [0.3, 0.2, 0.9, 0.1];
    const rel = [1, 0, 0, 0]; // list 0: relevant first; list 1: none
    for (const [action, list1, mean] of [
      ['neg', 0, 0.5],
      ['pos', 1, 1],
      ['skip', NaN, 1],
    ] as const) {
      const r = ndcg(scores, rel, { ...js, listSize: 2, emptyTargetAction: action });
      expect(r.perList[0]).toBe(1);
      expect(r.perList[1]).toBe(list1);
      expect(r.value).toBe(mean);
    }
    // Every list left out: the mean of none is 0.
    expect(mrr([1, 2], [0, 0], { ...js, emptyTargetAction: 'skip' }).value).toBe(0);
  });
  it('the reference gives lists x metrics, list after list', () => {
    const v = referenceRankingMetrics({ scores: [3, 1, 2, 1, 2], relevance: [0, 1, 1, 1, 0], offsets: [0, 3, 5] }, [
      { metric: 'mrr', k: 0 },
      { metric: 'recall', k: 1 },
    ]);
    expect(Array.from(v)).toEqual([1 / 2, 0, 1 / 2, 0]);
  });
});
