// Properties docs/formulas.md states for the ranking family, over random list shapes and values
// (fast-check, fixed seed): ListMLE equals RankList's anchor form over all pairs (formulas C.2),
// every loss is unchanged by adding a constant to the scores of a list, and padded entries never
// change the result.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listMLE, rankList } from '../src';
import { gradError, relError } from './helpers';
import { rankingCases } from './ranking.cases';

const SEED = 20261123;

/** Lists of random lengths; relevance graded (ties) or distinct per list; scores in [-4, 4) on a 2^-10 grid, so integer shifts are exact in float32. */
const batch = (distinct: boolean) =>
  fc
    .record({
      lengths: fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 8 }),
      seed: fc.nat(),
    })
    .map(({ lengths, seed }) => {
      let s = seed;
      const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const n = lengths.reduce((a, b) => a + b, 0);
      const offsets = Int32Array.from({ length: lengths.length + 1 }, (_, l) =>
        lengths.slice(0, l).reduce((a, b) => a + b, 0),
      );
      const scores = Float32Array.from({ length: n }, () => Math.round((next() - 0.5) * 8192) / 1024);
      const relevance = Float32Array.from({ length: n }, (_, i) =>
        distinct ? (i * 7919) % 1009 : Math.floor(next() * 4),
      );
      return { lengths, offsets, scores, relevance, next };
    });

function close(a: { loss: number; grad: Float32Array }, b: { loss: number; grad: Float32Array }, tol = 1e-5) {
  expect(Math.min(relError(a.loss, b.loss), Math.abs(a.loss - b.loss))).toBeLessThan(tol);
  expect(gradError(a.grad, b.grad)).toBeLessThan(10 * tol);
}

describe('ranking properties', () => {
  it('ListMLE equals RankList anchor over all pairs when relevance has no ties (formulas C.2)', () => {
    fc.assert(
      fc.property(batch(true), ({ offsets, scores, relevance }) => {
        for (const backend of ['cpu', 'js'] as const) {
          close(
            listMLE(scores, relevance, { offsets, backend }),
            rankList(scores, relevance, { offsets, form: 'anchor', backend }),
          );
        }
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it('every loss is unchanged by a constant added to the scores of each list', () => {
    const cases = rankingCases(24);
    fc.assert(
      fc.property(batch(false), fc.integer({ min: -20, max: 20 }), ({ lengths, offsets, scores, relevance }, shift) => {
        // Each list gets its own shift.
        const shifted = Float32Array.from(scores);
        lengths.forEach((_, l) => {
          for (let i = offsets[l]; i < offsets[l + 1]; i++) shifted[i] += shift * (l + 1);
        });
        for (const c of cases) {
          for (const backend of ['cpu', 'js'] as const) {
            close(
              c.run(shifted, relevance, { offsets, backend }),
              c.run(scores, relevance, { offsets, backend }),
              backend === 'js' ? 1e-9 : 1e-5,
            );
          }
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
  });

  it('padded entries (any score, even NaN) never change the result, and get gradient 0', () => {
    // Not the shuffled ties: their permutation is drawn per item position, which padding moves.
    const cases = rankingCases(48).filter((c) => !/shuffle/.test(c.name));
    fc.assert(
      fc.property(batch(false), ({ lengths, offsets, scores, relevance, next }) => {
        // Insert padding at random places of each list; the valid items keep their order.
        const s: number[] = [],
          r: number[] = [],
          where: number[] = [],
          padded = [0];
        lengths.forEach((_, l) => {
          for (let i = offsets[l]; i <= offsets[l + 1]; i++) {
            while (next() < 0.3) {
              s.push([NaN, -Infinity, 1e30, 0][Math.floor(next() * 4)]);
              r.push(-1);
            }
            if (i < offsets[l + 1]) {
              where.push(s.length);
              s.push(scores[i]);
              r.push(relevance[i]);
            }
          }
          padded.push(s.length);
        });
        const ps = Float32Array.from(s),
          pr = Float32Array.from(r),
          po = Int32Array.from(padded);
        for (const c of cases) {
          for (const backend of ['cpu', 'js'] as const) {
            const a = c.run(ps, pr, { offsets: po, backend });
            const b = c.run(scores, relevance, { offsets, backend });
            expect(relError(a.loss, b.loss)).toBeLessThan(1e-12);
            where.forEach((j, i) => expect(a.grad[j]).toBe(b.grad[i]));
            pr.forEach((v, j) => v === -1 && expect(a.grad[j]).toBe(0));
          }
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
});
