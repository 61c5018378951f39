// pairwiseHinge (formulas D.6) against TF Ranking's own docstring examples, and every backend
// against the float64 reference at odd sizes (lists of 1, 7 and 33 items; 1, 31 and 1031 lists),
// with padding and ties in score and in relevance, both reductions, and the metrics option.
import { describe, expect, it } from 'vitest';
import { pairwiseHinge } from '../src';
import { ODD_SIZES, oddBatch } from './ranking.cases';
import { expectAgree, gpuBackends } from './helpers';
import { NATIVE } from './native-backend';

describe('pairwiseHinge: TF Ranking’s PairwiseHingeLoss examples', () => {
  for (const backend of ['js', NATIVE] as const) {
    it(`${backend}: 0.6, and 0.41666666 on its ragged lists padded to 3`, () => {
      expect(pairwiseHinge([0.6, 0.8], [1, 0], { backend }).loss).toBeCloseTo(0.6, 6);
      // y_true [[1, 0], [0, 1, 0]], y_pred [[0.6, 0.8], [0.5, 0.8, 0.4]]: dense [2, 3] with padding.
      const s = [0.6, 0.8, 0, 0.5, 0.8, 0.4];
      const r = [1, 0, -1, 0, 1, 0];
      expect(pairwiseHinge(s, r, { backend, listSize: 3 }).loss).toBeCloseTo(2.5 / 6, 6);
      // Over its 3 pairs instead: (1.2 + 0.7 + 0.6) / 3.
      expect(pairwiseHinge(s, r, { backend, listSize: 3, normalizeBy: 'pairs' }).loss).toBeCloseTo(2.5 / 3, 6);
    });
  }
  it('a pair outside the margin costs nothing and has no gradient', () => {
    const r = pairwiseHinge([3, 1], [1, 0], { backend: 'js', margin: 1 });
    expect(r.loss).toBe(0);
    expect(Array.from(r.grad)).toEqual([0, 0]);
    // Inside: d(loss)/ds = (-1, 1) / 2 items.
    expect(Array.from(pairwiseHinge([1, 1], [1, 0], { backend: 'js' }).grad)).toEqual([-0.5, 0.5]);
  });
});

const backends = [
  { backend: NATIVE, skip: false as string | false, largest: Infinity },
  ...gpuBackends().map((g) => ({ ...g, largest: 31 * 33 })),
];

for (const { backend, skip, largest } of backends) {
  describe.skipIf(skip)(`pairwiseHinge on ${backend} vs the reference`, () => {
    for (const [size, lists] of ODD_SIZES.filter(([n, l]) => n * l <= largest)) {
      it(`${lists} lists of ${size}, padded, tied`, () => {
        const b = oddBatch(size, lists, size * 7 + lists);
        for (const o of [{}, { normalizeBy: 'pairs' as const, margin: 0.5 }]) {
          for (const shape of [{ listSize: size }, { offsets: b.offsets }]) {
            const a = pairwiseHinge(b.scores, b.relevance, { ...o, ...shape, backend });
            expectAgree(a, pairwiseHinge(b.scores, b.relevance, { ...o, ...shape, backend: 'js' }));
            b.relevance.forEach((r, i) => r === -1 && expect(a.grad[i]).toBe(0));
          }
        }
      });
    }
  });
}
