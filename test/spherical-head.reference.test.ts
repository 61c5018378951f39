// The dense float64 oracle of SphericalHead against finite differences: dL/dhidden, and the SGD
// update W <- (1 - lr weightDecay) (W - lr dL/dW) with dL/dW taken numerically, for both losses.
import { describe, expect, it } from 'vitest';
import { DenseHead, type HeadLossKind } from '../src/reference/spherical-head';
import { finiteDifferences, gradError } from './helpers';

const C = 7,
  D = 3;
const W0 = Float64Array.from({ length: C * D }, (_, i) => Math.sin(1.7 * i + 0.3));
const hidden = Float64Array.from({ length: 2 * D }, (_, i) => Math.cos(0.8 * i) - 0.2);
const targets = [4, 1];

/** The mean loss at (W, hidden), W untouched. */
function lossAt(loss: HeadLossKind, W: ArrayLike<number>, h: ArrayLike<number>): number {
  const r = new DenseHead({ classes: C, dim: D, loss, a: 1.5, b: 0.5 }, W).step(h, targets, 1e-9, 0);
  if ('kind' in r) throw new Error(r.kind);
  return r.loss;
}

describe('dense reference vs finite differences', () => {
  for (const loss of ['z', 'mse'] as const) {
    it(`${loss}: dL/dhidden and the weight update`, () => {
      const head = new DenseHead({ classes: C, dim: D, loss, a: 1.5, b: 0.5 }, W0);
      const [lr, weightDecay] = [0.1, 0.5];
      const r = head.step(hidden, targets, lr, weightDecay);
      if ('kind' in r) throw new Error(r.kind);
      expect(r.loss).toBeCloseTo(lossAt(loss, W0, hidden), 12);
      const dH = finiteDifferences((h) => lossAt(loss, W0, h), hidden, 1e-6);
      expect(gradError(r.gradHidden, dH)).toBeLessThan(1e-7);
      const dW = finiteDifferences((w) => lossAt(loss, w, hidden), W0, 1e-6);
      const want = W0.map((w, i) => (1 - lr * weightDecay) * (w - lr * dW[i]));
      expect(gradError(head.W, want)).toBeLessThan(1e-8);
    });
  }
});
