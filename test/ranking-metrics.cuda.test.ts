// The CUDA kernel of the ranking metrics against the float64 reference on every GPU backend this
// build has ('cuda-sim' in every test build; 'cuda' skipped, with the reason, without a device):
// padded, ragged and tied lists, lists past one lane group (a block per list), bad input, the
// same bits on every run, and the loss option: computed in each loss's own pass, with the metrics
// kernel's bits and (counted by the simulator) no kernel launched for them.
import { describe, expect, it } from 'vitest';
import {
  listMLE,
  meanAveragePrecision,
  mrr,
  ndcg,
  neuralNDCG,
  precisionAtK,
  recallAtK,
  type ListLossResult,
  type RankingMetricResult,
} from '../src';
import { nativeAddon } from '../src/native';
import { expectError, gpuBackends } from './helpers';
import { expectMetricsAgree, expectSameMetric, METRIC_CASES, METRIC_LOSSES } from './ranking-metrics.cases';
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

    // Each loss computes the metrics in its own pass over the lists it gathered (by relevance, by
    // score, by index): the same bits as the metrics kernel on the same lists.
    const lossCases: Array<[string, (s: Float32Array, r: Float32Array, o: object) => ListLossResult]> = [
      ...METRIC_LOSSES,
      ['neuralNDCG', neuralNDCG],
    ];
    const standalone: Array<[string, (s: Float32Array, r: Float32Array, o: object) => RankingMetricResult]> = [
      ['ndcg@10', (s, r, o) => ndcg(s, r, { ...o, k: 10 })],
      ['ndcg', ndcg],
      ['mrr', mrr],
      ['mrr@2', (s, r, o) => mrr(s, r, { ...o, k: 2 })],
      ['map@5', (s, r, o) => meanAveragePrecision(s, r, { ...o, k: 5 })],
      ['recall@3', (s, r, o) => recallAtK(s, r, { ...o, k: 3 })],
      ['precision@40', (s, r, o) => precisionAtK(s, r, { ...o, k: 40 })],
    ];
    // Fixed lists (lane groups), ragged ones with scores tied in quarters and lists of 300 and 290
    // (a block each, launched apart from the short ones).
    const ragged = listBatch([300, 7, 0, 1, 33, 290, 2], 17, { grades: 5, padding: 0.1 });
    ragged.scores.forEach((v, i) => (ragged.scores[i] = Math.round(v * 4) / 4));
    const fixed = listBatch(Array(23).fill(40), 9, { grades: 4, padding: 0.1 });
    for (const [layout, b, shape] of [
      ['listSize 40', fixed, { listSize: 40 }],
      ['ragged, tied, long lists', ragged, { offsets: ragged.offsets }],
    ] as const) {
      it(`the loss option, ${layout}: the metrics kernel's bits from every loss's own pass`, () => {
        const want = standalone.map(([, run]) => run(b.scores, b.relevance, { ...shape, backend }));
        for (const [name, loss] of lossCases) {
          const names = standalone.map(([n]) => n);
          const got = loss(b.scores, b.relevance, { ...shape, backend, metrics: names });
          names.forEach((n, q) => expect(got.metrics![n], `${name}: ${n}`).toBe(want[q].value));
        }
      });
      // The simulator counts the kernels a call launches: the metrics add none.
      it.skipIf(backend !== 'cuda-sim')(`the loss option, ${layout}: no kernel launched for the metrics`, () => {
        const launches = (call: () => void) => {
          const before = nativeAddon()!.simLaunches!();
          call();
          return nativeAddon()!.simLaunches!() - before;
        };
        for (const [name, loss] of lossCases) {
          const plain = launches(() => loss(b.scores, b.relevance, { ...shape, backend }));
          const metrics = ['ndcg@10', 'mrr'];
          const fused = launches(() => loss(b.scores, b.relevance, { ...shape, backend, metrics }));
          expect(plain, name).toBeGreaterThan(0);
          expect(fused, name).toBe(plain);
        }
      });
    }

    it('the loss option: the same means as the CPU', () => {
      const b = listBatch(Array(31).fill(33), 5, { grades: 4, padding: 0.1 });
      const metrics = ['ndcg@10', 'mrr', 'map', 'recall@5', 'precision@3'];
      const g = listMLE(b.scores, b.relevance, { listSize: 33, backend, metrics });
      const c = listMLE(b.scores, b.relevance, { listSize: 33, backend: 'js', metrics });
      for (const m of metrics) expect(Math.abs(g.metrics![m] - c.metrics![m]), m).toBeLessThan(1e-12);
    });
  });
}
