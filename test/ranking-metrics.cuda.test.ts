// The CUDA kernel of the ranking metrics against the float64 reference on every GPU backend this
// build has ('cuda-sim' in every test build; 'cuda' skipped, with the reason, without a device):
// padded, ragged and tied lists, lists past one lane group (a block per list), bad input, the
// loss option, and the same bits on every run.
import { describe, expect, it } from 'vitest';
import { listMLE, ndcg } from '../src';
import { expectError, gpuBackends } from './helpers';
import { expectMetricsAgree, expectSameMetric, METRIC_CASES } from './ranking-metrics.cases';
import { listBatch } from './ranking.cases';

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`ranking metrics on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    it('every metric and convention on every layout', () => expectMetricsAgree(backend));

    it('lists of 300 and 2100 items (a block each) beside short ones', () => {
      const b = listBatch([300, 7, 0, 2100, 1], 10, { grades: 30, padding: 0.05 });
      for (const [, run] of METRIC_CASES) {
        const o = { offsets: b.offsets };
        expectSameMetric(
          run(b.scores, b.relevance, { ...o, backend }),
          run(b.scores, b.relevance, { ...o, backend: 'js' }),
        );
      }
    });

    it('the same bits on a second run', () => {
      const b = listBatch(Array(200).fill(40), 3, { grades: 4, padding: 0.1 });
      const a = ndcg(b.scores, b.relevance, { listSize: 40, k: 10, backend });
      const c = ndcg(b.scores, b.relevance, { listSize: 40, k: 10, backend });
      expect(Buffer.from(a.perList.buffer).equals(Buffer.from(c.perList.buffer))).toBe(true);
    });

    it('names the first bad relevance or score, as the CPU does', () => {
      expectError(
        () => ndcg([1, 2, 3, 4], [0, 1, 1, NaN], { backend, listSize: 2 }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /relevance\[3\] = NaN/,
      );
      expectError(
        () => ndcg([1, 2, NaN, 4], [0, 1, 1, 0], { backend, listSize: 2 }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        /scores\[2\] = NaN/,
      );
    });

    it('the loss option: the same means as the CPU', () => {
      const b = listBatch(Array(31).fill(33), 5, { grades: 4, padding: 0.1 });
      const metrics = ['ndcg@10', 'mrr', 'map', 'recall@5', 'precision@3'];
      const g = listMLE(b.scores, b.relevance, { listSize: 33, backend, metrics });
      const c = listMLE(b.scores, b.relevance, { listSize: 33, backend: 'js', metrics });
      for (const m of metrics) expect(Math.abs(g.metrics![m] - c.metrics![m]), m).toBeLessThan(1e-12);
    });
  });
}
