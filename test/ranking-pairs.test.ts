// The pair loops of rankNet, pairwiseHinge and lambdaLoss (binding/cpu/ranking_pairs.cc) visit each
// unordered pair once, a row's pairs in blocks of 8 lanes with the last block masked, a batch of
// rows at a time, and take a list's score differences in float unless its spread may pass float's
// range (then in double). Held to the float64 reference: every list length around the block edges,
// cutoffs inside and past a block, lists longer than a batch, and batches whose lists take either
// path.
import { describe, expect, it } from 'vitest';
import { lambdaLoss, pairwiseHinge, rankNet } from '../src';
import { expectAgree, gpuBackends } from './helpers';
import { listBatch } from './ranking.cases';
import { NATIVE } from './native-backend';

const SCHEMES = ['none', 'lambdaRank', 'ndcgLoss1', 'ndcgLoss2', 'ndcgLoss2PP'] as const;
const backends = [{ backend: NATIVE, skip: false as string | false }, ...gpuBackends()];

// Lists of 1 to 19 items and 31 to 34: rows of every length modulo 8, one and several blocks.
const LENGTHS = [...Array.from({ length: 19 }, (_, i) => i + 1), 31, 32, 33, 34];

for (const { backend, skip } of backends) {
  describe.skipIf(skip)(`pair loops on ${backend} vs the reference`, () => {
    const b = listBatch(LENGTHS, 11, { grades: 4, padding: 0.1 });
    const o = { offsets: b.offsets };
    it('lambdaLoss, every scheme, no cutoff, and cutoffs 3, 8 and 9, sum and mean', () => {
      for (const scheme of SCHEMES)
        for (const k of [undefined, 3, 8, 9])
          for (const reduction of ['sum', 'mean'] as const) {
            const opts = { ...o, scheme, k, reduction, sigma: 1.5 };
            expectAgree(
              lambdaLoss(b.scores, b.relevance, { ...opts, backend }),
              lambdaLoss(b.scores, b.relevance, { ...opts, backend: 'js' }),
              `${scheme} k ${k} ${reduction}`,
            );
          }
    });
    it('rankNet, every weighting, and pairwiseHinge', () => {
      for (const weighting of ['none', 'label-diff', 'label-diff-squared'] as const)
        expectAgree(
          rankNet(b.scores, b.relevance, { ...o, weighting, sigma: 0.7, backend }),
          rankNet(b.scores, b.relevance, { ...o, weighting, sigma: 0.7, backend: 'js' }),
          weighting,
        );
      for (const normalizeBy of ['items', 'pairs'] as const)
        expectAgree(
          pairwiseHinge(b.scores, b.relevance, { ...o, normalizeBy, backend }),
          pairwiseHinge(b.scores, b.relevance, { ...o, normalizeBy, backend: 'js' }),
          normalizeBy,
        );
    });

    // The float pair loop takes a list's pairs in batches of 2048: lists of about 95 and 2185 valid
    // items fill several, with rows cut between batches at a block and rows longer than a batch.
    it('lists whose pairs fill several batches of the pair loop', () => {
      const long = listBatch([100, 2300], 12, { grades: 5, padding: 0.05 });
      const lo = { offsets: long.offsets, sigma: 0.8 };
      for (const scheme of ['none', 'ndcgLoss1'] as const)
        expectAgree(
          lambdaLoss(long.scores, long.relevance, { ...lo, scheme, backend }),
          lambdaLoss(long.scores, long.relevance, { ...lo, scheme, backend: 'js' }),
          scheme,
        );
      expectAgree(
        rankNet(long.scores, long.relevance, { ...lo, weighting: 'label-diff', backend }),
        rankNet(long.scores, long.relevance, { ...lo, weighting: 'label-diff', backend: 'js' }),
        'rankNet label-diff',
      );
    });

    // Spreads (largest score minus smallest) of 1e38 and 3e38 with sigma 1, 2 and 1e-3: the first
    // list takes float at sigma 1 and 1e-3 and double at 2 (sigma times the spread passes half
    // of FLT_MAX), the second double at any sigma, the third float. Each call mixes the paths.
    it('lists whose score differences pass float range, beside ordinary ones', () => {
      const scores = Float32Array.from([5e37, -5e37, 1, 0, 1.5e38, -1.5e38, 2, 0.5, 0.25, -1, 3, 0, 1, 2]);
      const relevance = Float32Array.from([0, 2, 1, 3, 1, 0, 2, 3, 1, 0, 2, 1, 0, 3]);
      const offsets = Int32Array.from([0, 4, 8, 14]);
      for (const sigma of [1, 2, 1e-3]) {
        for (const scheme of SCHEMES) {
          const got = lambdaLoss(scores, relevance, { offsets, scheme, sigma, backend });
          expect(Number.isFinite(got.loss)).toBe(true);
          expectAgree(got, lambdaLoss(scores, relevance, { offsets, scheme, sigma, backend: 'js' }), scheme);
        }
        expectAgree(
          rankNet(scores, relevance, { offsets, sigma, backend }),
          rankNet(scores, relevance, { offsets, sigma, backend: 'js' }),
          `rankNet sigma ${sigma}`,
        );
      }
    });
  });
}
