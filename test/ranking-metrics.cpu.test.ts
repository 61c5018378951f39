// The native CPU kernel of the ranking metrics against the float64 reference (padded, ragged and
// tied lists, lists of 1 to 64, graded and fractional relevance), bitwise-identical across thread
// counts, the async twins, bad input, and the list losses' `metrics` option.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, listMLE, listMLEAsync, listNet, ndcg, ndcgAsync, rankNet, setThreads } from '../src';
import { referenceRankingMetrics } from '../src/reference/ranking_metrics';
import { expectError } from './helpers';
import { NATIVE } from './native-backend';
import { expectMetricsAgree, expectSameMetric, METRIC_CASES, METRIC_LOSSES } from './ranking-metrics.cases';
import { listBatch } from './ranking.cases';

describe('ranking metrics: cpu vs reference', () => {
  it('every metric and convention on every layout', () => expectMetricsAgree(NATIVE));
});

// Lists of 32 to 80 items (where the CPU ranks only the items that can reach the cutoffs), few of
// them relevant (the best relevant item often ranked past those: MRR's own search), scores tied in
// groups across the cutoffs, and graded relevance tied in the ideal order.
const sparse = listBatch([32, 40, 47, 64, 80, 33, 40, 40, 56, 41, 35, 40], 23, { grades: 3, padding: 0.05 });
sparse.relevance.forEach((v, i) => (sparse.relevance[i] = i % 6 === 0 ? v : Math.min(v, 0)));
sparse.scores.forEach((v, i) => (sparse.scores[i] = Math.round(v * 3) / 3));

describe('ranking metrics: cpu vs reference on long lists with few relevant items', () => {
  it('every metric and convention', () =>
    expectMetricsAgree(NATIVE, { sparse: { ...sparse, shape: { offsets: sparse.offsets } } }));
});

// Lists of 33 to 130 items, most of them relevant (the CPU then ranks every item, in passes of up
// to four vectors of rows, and picks those within the cutoffs from the counts' lane bits), their
// grades whole numbers: up to 3 (gains from the table), up to 200 in every third list (past the
// table: 64 and more are not grades), fractional in one, -0 in some; every fifth list with scores
// tied.
const dense = listBatch([70, 100, 130, 40, 33, 65, 97, 48, 129, 64], 31, { grades: 4, padding: 0.05 });
dense.relevance.forEach((v, i) => {
  const list = dense.offsets.findIndex((o) => o > i) - 1;
  if (v === 0 && i % 3 === 0) dense.relevance[i] = 1;
  else if (v > 0 && list % 3 === 2 && i % 4 === 0) dense.relevance[i] = 60 + ((i * 7) % 141);
  else if (v > 0 && list === 4 && i % 5 === 0) dense.relevance[i] = v + 0.25;
  else if (v === 0 && list === 3) dense.relevance[i] = -0;
});
dense.scores.forEach((v, i) => {
  const list = dense.offsets.findIndex((o) => o > i) - 1;
  if (list % 5 === 1) dense.scores[i] = Math.round(v * 2) / 2;
});

describe('ranking metrics: cpu vs reference on long lists, most items relevant, large grades', () => {
  it('every metric and convention', () =>
    expectMetricsAgree(NATIVE, { dense: { ...dense, shape: { offsets: dense.offsets } } }));
  // ListNet and RankNet gather by index: every item is ranked, the ideal order from the grades'
  // lane counts (large or fractional grades: a gather by relevance).
  for (const [name, loss] of [
    ['listNet', listNet],
    ['rankNet', rankNet],
  ] as const)
    it(`${name}: the metrics option`, () => {
      const names = ['ndcg@10', 'ndcg', 'ndcg@70', 'mrr', 'map@5', 'precision@100'];
      const specs = names.map((n) => {
        const [metric, k] = n.split('@');
        return { metric: metric as 'ndcg', k: k ? Number(k) : 0 };
      });
      const want = referenceRankingMetrics(dense, specs);
      const lists = dense.offsets.length - 1;
      const r = loss(dense.scores, dense.relevance, { offsets: dense.offsets, backend: NATIVE, metrics: names });
      names.forEach((n, q) => {
        let sum = 0;
        for (let l = 0; l < lists; l++) sum += want[l * names.length + q];
        expect(Math.abs(r.metrics![n] - sum / lists), n).toBeLessThan(1e-12);
      });
    });
});

describe('ranking metrics: determinism and async', () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));
  const b = listBatch(Array(3000).fill(40), 11, { grades: 4, padding: 0.1 });
  it('the same bits with 1, 2 and 8 threads', () => {
    for (const [name, run] of METRIC_CASES) {
      const results = [1, 2, 8].map((t) => {
        setThreads(t);
        return run(b.scores, b.relevance, { listSize: 40, backend: NATIVE });
      });
      for (const r of results.slice(1)) {
        expect(Object.is(r.value, results[0].value), name).toBe(true);
        expect(Buffer.from(r.perList.buffer).equals(Buffer.from(results[0].perList.buffer)), name).toBe(true);
      }
    }
  });
  it('async twins give the sync result', async () => {
    const o = { listSize: 40, k: 10, backend: NATIVE } as const;
    const got = await Promise.all([ndcgAsync(b.scores, b.relevance, o), ndcgAsync(b.scores, b.relevance, o)]);
    for (const g of got) expectSameMetric(g, ndcg(b.scores, b.relevance, o));
  });
});

describe('ranking metrics: bad input', () => {
  for (const backend of [NATIVE, 'js'] as const) {
    it(`${backend}: names the relevance or score at fault, and the option`, () => {
      expectError(
        () => ndcg([1, 2, 3], [0, NaN, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /relevance\[1\] = NaN/,
      );
      expectError(
        () => ndcg([1, Infinity, 3], [0, 1, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        /scores\[1\] = Infinity/,
      );
      expectError(() => ndcg([1, 2], [0, 1], { backend, k: 0 }), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', /k/);
      expectError(
        () => ndcg([1, 2], [0, 1], { backend, gain: 'log' as never }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /gain/,
      );
      expectError(
        () => ndcg([1, 2, 3], [0, 1, 1], { backend, listSize: 2 }),
        RangeError,
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        /listSize/,
      );
    });
  }
  it('a padded item may hold any score', () => {
    expect(ndcg([NaN, 1, -Infinity], [-1, 1, -1], { backend: NATIVE }).value).toBe(1);
  });
});

describe('the metrics option of the list losses', () => {
  // Every metric, and (cut ones beside MRR) the items past every cutoff that only MRR may count.
  // Cut at most 16 (every cut but MRR's), the CPU ranks only the items that can reach the cuts.
  const nameSets = [
    ['ndcg@10', 'ndcg', 'mrr', 'map@5', 'recall@3', 'precision@2', 'mrr@2', 'ndcg@1'],
    ['ndcg@3', 'mrr', 'map@2'],
    ['ndcg@16', 'recall@16', 'mrr@4'],
    ['ndcg@17', 'mrr'],
    ['mrr'],
  ];
  const fixed = listBatch(Array(31).fill(33), 5, { grades: 4, padding: 0.1 });
  // Ragged, with empty lists, lists of 1, 2 and 7, ties, padding and fractional relevance.
  const ragged = listBatch([7, 0, 1, 2, 33, 40, 0, 3, 64, 2], 6, { grades: 5, padding: 0.15 });
  ragged.relevance.forEach((v, i) => (ragged.relevance[i] = v > 0 && i % 5 === 0 ? v - 0.5 : v));
  // Scores rounded to quarters: ties in score at every cutoff, between relevant and other items
  // (the rank counts then fall back from score keys to (score, index) keys).
  const tied = { ...ragged, scores: ragged.scores.map((v) => Math.round(v * 4) / 4) };
  const layouts: Array<[string, typeof fixed, object]> = [
    ['listSize 33', fixed, { listSize: 33 }],
    ['ragged offsets', ragged, { offsets: ragged.offsets }],
    ['ragged offsets, scores tied', tied, { offsets: ragged.offsets }],
    ['long lists, few relevant, scores tied', sparse, { offsets: sparse.offsets }],
  ];
  for (const [layout, b, o] of layouts) {
    const lists = b.offsets.length - 1;
    // Each loss computes the metrics from its own gather of the lists (METRIC_LOSSES' orders).
    for (const [name, loss] of METRIC_LOSSES) {
      for (const [set, names] of nameSets.entries())
        for (const backend of [NATIVE, 'js'] as const) {
          const specs = names.map((n) => {
            const [metric, k] = n.split('@');
            return { metric: metric as 'ndcg', k: k ? Number(k) : 0 };
          });
          const want = referenceRankingMetrics({ scores: b.scores, relevance: b.relevance, offsets: b.offsets }, specs);
          it(`${name} on ${backend}, ${layout}, metrics ${set}: the metrics' means, and the loss and gradient unchanged`, () => {
            const plain = loss(b.scores, b.relevance, { ...o, backend });
            const r = loss(b.scores, b.relevance, { ...o, backend, metrics: names });
            expect(r.loss).toBe(plain.loss);
            expect(Array.from(r.grad)).toEqual(Array.from(plain.grad));
            expect(plain.metrics).toBeUndefined();
            expect(Object.keys(r.metrics!)).toEqual(names);
            names.forEach((n, q) => {
              // A list without a relevant item counts 0 by default; a NaN one would be left out.
              let sum = 0;
              let counted = 0;
              for (let l = 0; l < lists; l++) {
                const v = want[l * names.length + q];
                if (Number.isNaN(v)) continue;
                sum += v;
                counted++;
              }
              expect(Math.abs(r.metrics![n] - sum / counted), n).toBeLessThan(1e-12);
            });
          });
        }
    }
  }
  const b = fixed;
  it('the async twin returns them too', async () => {
    const r = await listMLEAsync(b.scores, b.relevance, { listSize: 33, backend: NATIVE, metrics: ['mrr'] });
    expect(r.metrics!.mrr).toBe(
      listMLE(b.scores, b.relevance, { listSize: 33, backend: NATIVE, metrics: ['mrr'] }).metrics!.mrr,
    );
  });
  it('refuses names that are not metrics', () => {
    for (const bad of [['ndcg@0'], ['auc'], ['ndcg@'], [], 'ndcg', Array(17).fill('mrr')]) {
      expect(() => listMLE(b.scores, b.relevance, { listSize: 33, metrics: bad as never })).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_FUSEDLOSS_INVALID_ARG_(VALUE|TYPE)$/) }),
      );
    }
  });
});
