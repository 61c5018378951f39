// approxNDCG (formulas D.7) against TF Ranking's own docstring examples, the reference's gradient
// against finite differences of its loss, and every backend against the float64 reference at odd
// sizes (lists of 1, 7 and 33 items; 1, 31 and 1031 lists) with padding and ties.
import { describe, expect, it } from 'vitest';
import { approxNDCG } from '../src';
import { referenceApproxNDCG } from '../src/reference/ranking';
import { expectAgree, finiteDifferences, gpuBackends, gradError } from './helpers';
import { NATIVE } from './native-backend';
import { listBatch, ODD_SIZES, oddBatch } from './ranking.cases';

describe('approxNDCG: TF Ranking’s ApproxNDCGLoss examples', () => {
  for (const backend of ['js', NATIVE] as const) {
    it(`${backend}: -0.655107, and -0.80536866 on its ragged lists`, () => {
      expect(approxNDCG([0.6, 0.8], [1, 0], { backend }).loss).toBeCloseTo(-0.655107, 5);
      const r = approxNDCG([0.6, 0.8, 0.5, 0.8, 0.4], [1, 0, 0, 1, 0], { backend, offsets: [0, 2, 5] });
      expect(r.loss).toBeCloseTo(-0.80536866, 5);
    });
  }
  it('a list without relevance contributes 0 and counts in the mean', () => {
    const one = approxNDCG([0.6, 0.8], [1, 0], { backend: 'js' }).loss;
    const r = approxNDCG([0.6, 0.8, 0.1, 0.2], [1, 0, 0, 0], { backend: 'js', listSize: 2 });
    expect(r.loss).toBeCloseTo(one / 2, 12);
    expect(r.grad[2]).toBe(0);
    expect(r.grad[3]).toBe(0);
  });
  it('the reference gradient equals finite differences of its loss', () => {
    const b = listBatch([7, 5, 1], 3, { grades: 3 });
    for (const temperature of [0.1, 1]) {
      const pb = { scores: Float64Array.from(b.scores), relevance: b.relevance, offsets: b.offsets };
      const fd = finiteDifferences((x) => referenceApproxNDCG({ ...pb, scores: x }, temperature).loss, pb.scores, 1e-6);
      expect(gradError(referenceApproxNDCG(pb, temperature).grad, fd)).toBeLessThan(1e-6);
    }
  });
});

const backends = [
  { backend: NATIVE, skip: false as string | false, largest: Infinity },
  ...gpuBackends().map((g) => ({ ...g, largest: 31 * 33 })),
];

for (const { backend, skip, largest } of backends) {
  describe.skipIf(skip)(`approxNDCG on ${backend} vs the reference`, () => {
    for (const [size, lists] of ODD_SIZES.filter(([n, l]) => n * l <= largest)) {
      it(`${lists} lists of ${size}, padded, tied`, () => {
        const b = oddBatch(size, lists, size * 5 + lists);
        for (const temperature of [0.1, 1]) {
          for (const shape of [{ listSize: size }, { offsets: b.offsets }]) {
            const a = approxNDCG(b.scores, b.relevance, { ...shape, temperature, backend });
            expectAgree(a, approxNDCG(b.scores, b.relevance, { ...shape, temperature, backend: 'js' }));
            b.relevance.forEach((r, i) => r === -1 && expect(a.grad[i]).toBe(0));
          }
        }
      });
    }
  });
}
