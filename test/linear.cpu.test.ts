// linearCrossEntropy on the native CPU kernel against the float64 dense composition (formulas
// J.1) at odd sizes with every option, the edge cases (every row ignored, one class, logits of
// +-80 before the soft cap), the async twin, caller buffers, and softmaxCrossEntropy on the same
// logits (hidden = I) as an independent check of the conventions.
import { describe, expect, it } from 'vitest';
import { backends, linearCrossEntropy, linearCrossEntropyAsync, softmaxCrossEntropy } from '../src';
import { gradError, randomClassLabels, randomScores, relError } from './helpers';
import { CASES, checkCase, expectReference, inputs, saturated, type LinearCase } from './linear.fixtures';

const noCpu = !backends().cpu.available;

describe.skipIf(noCpu)('linearCrossEntropy on the CPU', () => {
  for (const c of CASES) it(c.name, () => checkCase(c, 'cpu'));

  it('every row ignored: loss 0 and zero gradients, with every reduction', () => {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      const c: LinearCase = {
        name: 'ignored',
        B: 33,
        D: 7,
        C: 33,
        options: { reduction, bias: randomScores(33, 5), lseSquareScale: 0.1, returnLse: true },
      };
      const x = inputs(c);
      x.targets.fill(-100);
      const r = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, backend: 'cpu' });
      if (reduction === 'none') expect([...(r.loss as Float32Array)].every((v) => v === 0)).toBe(true);
      else expect(r.loss).toBe(0);
      for (const g of [r.gradHidden, r.gradWeight, r.gradBias!]) expect(g.every((v) => v === 0)).toBe(true);
      expectReference(c, x, r);
    }
  });

  it('one class: cross-entropy 0, the z-loss alone moves the weights', () => {
    for (const lseSquareScale of [0, 0.5]) {
      const c: LinearCase = { name: 'one class', B: 7, D: 33, C: 1, options: { lseSquareScale } };
      const x = inputs(c);
      const r = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, backend: 'cpu' });
      if (lseSquareScale === 0) {
        expect(r.loss).toBe(0);
        expect(r.gradWeight.every((v) => v === 0)).toBe(true);
      } else expect(r.loss).toBeGreaterThan(0);
      expectReference(c, x, r);
    }
  });

  it('logits of +-80 before the soft cap, capped and not', () => {
    const { cases, x } = saturated();
    for (const c of cases)
      expectReference(c, x, linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, backend: 'cpu' }));
  });

  it('the async twin gives the same bits, and caller buffers are filled and returned', async () => {
    const c = CASES.find((k) => k.name.endsWith('every'))!;
    const x = inputs(c);
    const options = { ...c.options, dim: c.D, backend: 'cpu' as const };
    const sync = linearCrossEntropy(x.hidden, x.weight, x.targets, options);
    const async = await linearCrossEntropyAsync(x.hidden, x.weight, x.targets, options);
    expect(async).toEqual(sync);
    const out = {
      gradHidden: new Float32Array(c.B * c.D),
      gradWeight: new Float32Array(c.C * c.D),
      gradBias: new Float32Array(c.C),
    };
    const mine = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...options, out });
    expect(mine.gradHidden).toBe(out.gradHidden);
    expect(mine.gradWeight).toBe(out.gradWeight);
    expect(mine.gradBias).toBe(out.gradBias);
    expect(mine).toEqual(sync);
  });

  it('with hidden = I it is softmaxCrossEntropy on the weight, transposed', () => {
    const C = 33;
    const logits = randomScores(C * C, 7, 3); // logits[i][c] = weight[c][i]
    const weight = new Float32Array(C * C);
    for (let i = 0; i < C; i++) for (let c = 0; c < C; c++) weight[c * C + i] = logits[i * C + c];
    const hidden = new Float32Array(C * C);
    for (let i = 0; i < C; i++) hidden[i * C + i] = 1;
    const targets = randomClassLabels(C, C, 8);
    targets[3] = -100;
    const classWeights = randomScores(C, 9).map((v) => Math.abs(v) + 0.1);
    const weights = randomScores(C, 10).map((v) => Math.abs(v));
    for (const o of [{}, { labelSmoothing: 0.2, classWeights, weights }, { reduction: 'sum' as const, classWeights }]) {
      const want = softmaxCrossEntropy(logits, targets, { ...o, backend: 'js' });
      const got = linearCrossEntropy(hidden, weight, targets, { ...o, backend: 'cpu' });
      expect(relError(got.loss, want.loss)).toBeLessThan(1e-5);
      const gradT = new Float32Array(C * C);
      for (let i = 0; i < C; i++) for (let c = 0; c < C; c++) gradT[i * C + c] = got.gradWeight[c * C + i];
      expect(gradError(gradT, want.grad)).toBeLessThan(1e-5);
    }
  });
});
