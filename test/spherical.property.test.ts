// Properties over random shapes and values (fast-check, fixed seed: a failure prints the case and
// its seed): the invariances of Z-loss (formulas F.1, F.2), the zero row sums of softmax gradients, and
// cpu-reference agreement on any shape.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy, zLoss, type SoftmaxForm } from '../src';
import { gradError, relError } from './helpers';

const SEED = 20261122;

/** rows x classes logits in [-2, 2] (float32), with targets. */
const rowsOf = (minClasses: number) =>
  fc
    .record({
      rows: fc.integer({ min: 1, max: 20 }),
      classes: fc.integer({ min: minClasses, max: 60 }),
      seed: fc.nat(),
    })
    .map((p) => {
      let s = p.seed;
      const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const x = Float32Array.from({ length: p.rows * p.classes }, () => (next() - 0.5) * 4);
      const t = Int32Array.from({ length: p.rows }, () => Math.floor(next() * p.classes));
      return { ...p, x, t };
    });

/** |sum_k v_k| relative to sum_k |v_k|, per row; the worst row. */
function worstRowSum(v: ArrayLike<number>, rows: number, C: number): number {
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    let sum = 0,
      abs = 0;
    for (let k = 0; k < C; k++) {
      sum += v[i * C + k];
      abs += Math.abs(v[i * C + k]);
    }
    if (abs > 0) worst = Math.max(worst, Math.abs(sum) / abs);
  }
  return worst;
}

describe('Z-loss properties', () => {
  it('o -> lambda o + c (lambda > 0) leaves the loss unchanged and divides the gradient by lambda', () => {
    fc.assert(
      fc.property(
        rowsOf(3),
        fc.double({ min: 0.25, max: 8, noNaN: true }),
        fc.double({ min: -20, max: 20, noNaN: true }),
        ({ x, t }, lambda, c) => {
          const moved = Float32Array.from(x, (v) => lambda * v + c);
          const a = zLoss(x, t, { a: 1.5, b: 0.3 });
          const b = zLoss(moved, t, { a: 1.5, b: 0.3 });
          // float32 rounding of lambda o + c moves z by ~1e-6 relative
          expect(relError(b.loss, a.loss)).toBeLessThan(1e-4);
          expect(
            gradError(
              b.grad.map((g) => g * lambda),
              a.grad,
            ),
          ).toBeLessThan(1e-3);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('the gradient sums to zero in every row and is orthogonal to the row', () => {
    fc.assert(
      fc.property(rowsOf(3), fc.double({ min: -1e3, max: 1e3, noNaN: true }), ({ x, t, rows, classes }, c) => {
        const shifted = Float32Array.from(x, (v) => v + c);
        const { grad } = zLoss(shifted, t);
        expect(worstRowSum(grad, rows, classes)).toBeLessThan(1e-4);
        expect(
          worstRowSum(
            Array.from(grad, (g, j) => g * shifted[j]),
            rows,
            classes,
          ),
        ).toBeLessThan(1e-4);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

const FORMS: SoftmaxForm[] = ['ce', 'comp-sum', 'gce', 'mae', 'focal', 'ldr-kl'];

describe('softmax properties', () => {
  it('without smoothing or weights, every gradient row sums to zero (any form, any temperature)', () => {
    // From C = 2: a row of one class has a zero gradient, whose rounding noise has no scale to compare to.
    fc.assert(
      fc.property(
        rowsOf(2),
        fc.constantFrom(...FORMS),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        ({ x, t, rows, classes }, form, temperature) => {
          const { grad } = softmaxCrossEntropy(x, t, { form, temperature });
          expect(worstRowSum(grad, rows, classes)).toBeLessThan(1e-5);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('cpu agrees with the float64 reference on any shape, form and reduction', () => {
    fc.assert(
      fc.property(
        rowsOf(1),
        fc.constantFrom(...FORMS),
        fc.constantFrom('mean' as const, 'sum' as const),
        fc.double({ min: 0.2, max: 5, noNaN: true }),
        ({ x, t }, form, reduction, temperature) => {
          const o = { form, reduction, temperature };
          const a = softmaxCrossEntropy(x, t, { ...o, backend: 'cpu' });
          const b = softmaxCrossEntropy(x, t, { ...o, backend: 'js' });
          // Absolute floor for losses near 0 (LDR-KL can cross 0), where a relative error means nothing.
          expect(Math.min(relError(a.loss, b.loss), Math.abs(a.loss - b.loss))).toBeLessThan(1e-5);
          expect(gradError(a.grad, b.grad)).toBeLessThan(1e-4);
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });
});
