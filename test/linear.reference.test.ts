// The float64 reference of linearCrossEntropy (src/reference/linear.ts) against central finite
// differences of its own loss, for hidden, weight and bias, with every option (formulas J.1).
import { describe, expect, it } from 'vitest';
import { referenceLinearCrossEntropy, type LinearRefParams } from '../src/reference/linear';
import { finiteDifferences, gradError, randomClassLabels, randomScores, randomWeights } from './helpers';

describe('linearCrossEntropy reference', () => {
  const B = 5,
    D = 3,
    C = 4;
  const hidden = Float64Array.from(randomScores(B * D, 1));
  const weight = Float64Array.from(randomScores(C * D, 2));
  const bias = Float64Array.from(randomScores(C, 3));
  const targets = randomClassLabels(B, C, 4);
  targets[2] = -1;
  const weights = randomWeights(B, 5);
  const classWeights = randomWeights(C, 6);
  const sets: [string, LinearRefParams][] = [
    ['plain', { ignoreIndex: -1, labelSmoothing: 0, lseSquareScale: 0, softcap: 0, reduction: 'mean' }],
    ['every option', { ignoreIndex: -1, labelSmoothing: 0.1, lseSquareScale: 0.05, softcap: 2, reduction: 'mean' }],
    ['sum', { ignoreIndex: -1, labelSmoothing: 0.3, lseSquareScale: 0.02, softcap: 0, reduction: 'sum' }],
  ];
  for (const [name, p] of sets) {
    it(`matches finite differences: ${name}`, () => {
      const pb = { hidden, weight, bias, targets, dim: D, weights, classWeights };
      const r = referenceLinearCrossEntropy(pb, p);
      const h = 1e-6;
      const fh = finiteDifferences((x) => referenceLinearCrossEntropy({ ...pb, hidden: x }, p).loss, hidden, h);
      const fw = finiteDifferences((x) => referenceLinearCrossEntropy({ ...pb, weight: x }, p).loss, weight, h);
      const fb = finiteDifferences((x) => referenceLinearCrossEntropy({ ...pb, bias: x }, p).loss, bias, h);
      expect(gradError(r.gradHidden, fh)).toBeLessThan(1e-6);
      expect(gradError(r.gradWeight, fw)).toBeLessThan(1e-6);
      expect(gradError(r.gradBias, fb)).toBeLessThan(1e-6);
      expect(r.gradHidden.some((v) => v !== 0)).toBe(true);
    });
  }

  it("'none' sums to 'sum', and the loss is the documented formula on a hand case", () => {
    const p: LinearRefParams = { ignoreIndex: -1, labelSmoothing: 0, lseSquareScale: 0, softcap: 0, reduction: 'none' };
    const pb = { hidden, weight, targets, dim: D };
    const none = referenceLinearCrossEntropy(pb, p);
    const sum = referenceLinearCrossEntropy(pb, { ...p, reduction: 'sum' });
    expect(none.rowLoss.reduce((a, b) => a + b, 0)).toBeCloseTo(sum.loss, 12);
    // One row [1, 0] against classes [1, 0] and [0, 1], target 0: log(1 + e^-1).
    const one = referenceLinearCrossEntropy({ hidden: [1, 0], weight: [1, 0, 0, 1], targets: [0], dim: 2 }, p);
    expect(one.loss).toBeCloseTo(Math.log(1 + Math.exp(-1)), 14);
  });
});
