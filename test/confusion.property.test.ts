// Properties over random shapes and values (fast-check, fixed seed: a failure prints the case
// and its seed): the native CPU agrees with the reference everywhere, monotone metrics push every
// positive up and every negative down, and losses stay in their ranges.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyLoss, METRICS, type AnyLossOptions, type MetricName } from '../src';
import { gradError, relError } from './helpers';

const SEED = 20261122;
const monotone = METRICS.filter((m) => m !== 'mcc');

const problem = fc
  .record({
    rows: fc.integer({ min: 1, max: 300 }),
    classes: fc.integer({ min: 1, max: 12 }),
    metric: fc.constantFrom(...METRICS),
    average: fc.constantFrom('macro' as const, 'micro' as const),
    probabilities: fc.boolean(),
    amplifier: fc.double({ min: 1, max: 80, noNaN: true }),
    seed: fc.nat(),
  })
  .map((p) => {
    let s = p.seed;
    const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const n = p.rows * p.classes;
    const scores = Float32Array.from({ length: n }, () => (p.probabilities ? next() : (next() - 0.5) * 8));
    const labels =
      p.classes === 1
        ? Float32Array.from({ length: p.rows }, () => (next() < 0.4 ? 1 : 0))
        : Int32Array.from({ length: p.rows }, () => Math.floor(next() * p.classes));
    const options: AnyLossOptions = {
      metric: p.metric,
      classes: p.classes,
      average: p.average,
      input: p.probabilities ? 'probabilities' : 'logits',
      amplifier: p.amplifier,
      ...(p.metric === 'fbeta' ? { beta: 0.5 } : {}),
    };
    return { ...p, scores, labels, options };
  });

describe('anyLoss properties', () => {
  it('cpu agrees with the float64 reference on any shape', () => {
    fc.assert(
      fc.property(problem, ({ scores, labels, options }) => {
        const a = anyLoss(scores, labels, { ...options, backend: 'cpu' });
        const b = anyLoss(scores, labels, { ...options, backend: 'js' });
        // Absolute floor for losses near 0, where a relative error means nothing.
        expect(Math.min(relError(a.loss, b.loss), Math.abs(a.loss - b.loss))).toBeLessThan(1e-5);
        expect(gradError(a.grad, b.grad)).toBeLessThan(1e-4);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('monotone metrics: raising a positive logit never raises the loss, raising a negative never lowers it', () => {
    fc.assert(
      fc.property(
        problem.filter((p) => p.classes === 1 && (monotone as MetricName[]).includes(p.metric)),
        ({ scores, labels, options }) => {
          const { grad } = anyLoss(scores, labels, options);
          for (let i = 0; i < labels.length; i++) {
            if (labels[i] === 1) expect(grad[i]).toBeLessThanOrEqual(0);
            else expect(grad[i]).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('losses stay in range: [0, 1] for metrics in [0, 1], [0, 2] for MCC', () => {
    fc.assert(
      fc.property(problem, ({ scores, labels, options, metric }) => {
        const { loss, grad } = anyLoss(scores, labels, options);
        expect(loss).toBeGreaterThanOrEqual(-1e-6);
        expect(loss).toBeLessThanOrEqual(metric === 'mcc' ? 2 + 1e-6 : 1 + 1e-6);
        expect(grad.every(Number.isFinite)).toBe(true);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});
