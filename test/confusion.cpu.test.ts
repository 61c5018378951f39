// The native CPU kernels of the confusion family against the float64 reference: every metric,
// both input kinds, binary and multi-class, several sizes (1, odd, around the 8192-element
// chunk, 10^6), label types, weights, and the edge cases of formulas A.5 / B.4; binary cross-entropy and
// sigmoid focal, whose kernels live in binding/cpu/confusion.cc too.
import { afterAll, describe, expect, it } from 'vitest';
import {
  anyLoss,
  binaryCrossEntropy,
  diceLoss,
  METRICS,
  setThreads,
  getThreads,
  sigmoidFocal,
  sigmoidFocalAsync,
  softConfusion,
  tverskyLoss,
  type AnyLossOptions,
} from '../src';
import {
  bitwiseEqual,
  randomBinaryLabels,
  randomClassLabels,
  randomProbabilities,
  randomScores,
  randomWeights,
  relError,
  expectAgree,
} from './helpers';
import { NATIVE } from './native-backend';

const metricOptions = (metric: (typeof METRICS)[number]): AnyLossOptions =>
  metric === 'fbeta' ? { metric, beta: 2 } : { metric };

describe('anyLoss cpu vs reference, binary', () => {
  for (const n of [1, 7, 8191, 8193, 20011]) {
    for (const metric of METRICS) {
      it(`${metric}, n = ${n}, logits`, () => {
        const x = randomScores(n, n, 0.1); // near 0: where L = 73 has its gradient
        const y = randomBinaryLabels(n, n + 1);
        expectAgree(
          anyLoss(x, y, { ...metricOptions(metric), backend: NATIVE }),
          anyLoss(x, y, { ...metricOptions(metric), backend: 'js' }),
        );
      });
    }
  }
  for (const metric of METRICS) {
    it(`${metric}, probabilities, weights, amplifier 20`, () => {
      const n = 9001;
      const p = randomProbabilities(n, 3),
        y = randomBinaryLabels(n, 4),
        w = randomWeights(n, 5);
      const o: AnyLossOptions = { ...metricOptions(metric), input: 'probabilities', weights: w, amplifier: 20 };
      expectAgree(anyLoss(p, y, { ...o, backend: NATIVE }), anyLoss(p, y, { ...o, backend: 'js' }));
    });
  }

  it('label types Float32Array, Uint8Array, Int32Array and soft labels agree', () => {
    const n = 5000;
    const x = randomScores(n, 8, 0.1),
      y = randomBinaryLabels(n, 9);
    const ref = anyLoss(x, y, { backend: 'js' });
    expectAgree(anyLoss(x, Uint8Array.from(y), { backend: NATIVE }), ref);
    expectAgree(anyLoss(x, Int32Array.from(y), { backend: NATIVE }), ref);
    expectAgree(anyLoss(x, Array.from(y), { backend: NATIVE }), ref);
    const soft = randomProbabilities(n, 10);
    expectAgree(
      anyLoss(x, soft, { metric: 'mcc', backend: NATIVE }),
      anyLoss(x, soft, { metric: 'mcc', backend: 'js' }),
    );
  });

  it('n = 10^6', () => {
    const n = 1_000_000;
    const x = randomScores(n, 1, 0.2),
      y = randomBinaryLabels(n, 2, 0.1);
    expectAgree(anyLoss(x, y, { backend: NATIVE }), anyLoss(x, y, { backend: 'js' }));
  });
});

describe('anyLoss cpu vs reference, multi-class', () => {
  for (const average of ['macro', 'micro'] as const) {
    for (const metric of METRICS) {
      for (const [rows, C] of [
        [1, 3],
        [503, 10],
        [3001, 7],
      ] as const) {
        it(`${metric}, ${average}, ${rows} x ${C}`, () => {
          const x = randomScores(rows * C, rows + C, 2);
          const y = randomClassLabels(rows, C, rows);
          const o: AnyLossOptions = { ...metricOptions(metric), classes: C, average };
          expectAgree(anyLoss(x, y, { ...o, backend: NATIVE }), anyLoss(x, y, { ...o, backend: 'js' }));
        });
      }
    }
  }
  it('probabilities input with weights', () => {
    const rows = 777,
      C = 5;
    const p = randomProbabilities(rows * C, 7),
      y = randomClassLabels(rows, C, 8),
      w = randomWeights(rows, 9);
    const o: AnyLossOptions = { classes: C, input: 'probabilities', weights: w, metric: 'balanced-accuracy' };
    expectAgree(anyLoss(p, y, { ...o, backend: NATIVE }), anyLoss(p, y, { ...o, backend: 'js' }));
  });
});

describe('custom metric on the CPU', () => {
  it('a user-written F1 gives the built-in F1 loss and gradient', () => {
    const n = 4096;
    const x = randomScores(n, 12, 0.1),
      y = randomBinaryLabels(n, 13);
    const f1 = ({ tp, fn, fp }: { tp: number; fn: number; fp: number }) => (2 * tp) / (2 * tp + fn + fp + 1e-5);
    expectAgree(anyLoss(x, y, { metric: f1, backend: NATIVE }), anyLoss(x, y, { metric: 'f1', backend: NATIVE }));
    expectAgree(anyLoss(x, y, { metric: f1, backend: 'js' }), anyLoss(x, y, { metric: 'f1', backend: 'js' }));
  });
  it('multi-class macro and micro with a custom metric match the built-in', () => {
    const rows = 600,
      C = 4;
    const x = randomScores(rows * C, 14, 2),
      y = randomClassLabels(rows, C, 15);
    const jaccard = ({ tp, fn, fp }: { tp: number; fn: number; fp: number }) => tp / (tp + fn + fp + 1e-5);
    for (const average of ['macro', 'micro'] as const) {
      expectAgree(
        anyLoss(x, y, { classes: C, average, metric: jaccard, backend: NATIVE }),
        anyLoss(x, y, { classes: C, average, metric: 'jaccard', backend: NATIVE }),
      );
    }
  });
});

describe('softConfusion', () => {
  it('cpu counts equal the reference counts and add up to the weighted row count', () => {
    const rows = 3000,
      C = 6;
    const x = randomScores(rows * C, 16, 2),
      y = randomClassLabels(rows, C, 17),
      w = randomWeights(rows, 18);
    const a = softConfusion(x, y, { classes: C, weights: w, backend: NATIVE });
    const b = softConfusion(x, y, { classes: C, weights: w, backend: 'js' });
    const total = w.reduce((s, v) => s + v, 0);
    for (let k = 0; k < C; k++) {
      for (const key of ['tp', 'fn', 'fp', 'tn'] as const) expect(relError(a[key][k], b[key][k])).toBeLessThan(1e-5);
      expect(a.tp[k] + a.fn[k] + a.fp[k] + a.tn[k]).toBeCloseTo(total, 2);
    }
  });
});

describe('edge cases (formulas A.5)', () => {
  const n = 1000;
  const x = randomScores(n, 20, 0.1);
  for (const metric of METRICS) {
    it(`${metric}: all labels 0 and all labels 1 give finite results`, () => {
      for (const label of [0, 1]) {
        const y = new Float32Array(n).fill(label);
        const r = anyLoss(x, y, { ...metricOptions(metric), backend: NATIVE });
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(r.grad.every(Number.isFinite)).toBe(true);
        expectAgree(r, anyLoss(x, y, { ...metricOptions(metric), backend: 'js' }));
      }
    });
    it(`${metric}: saturated logits of +-1e4 give finite results`, () => {
      const xs = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1e4 : -1e4));
      const y = randomBinaryLabels(n, 21);
      const r = anyLoss(xs, y, { ...metricOptions(metric), backend: NATIVE });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.grad.every(Number.isFinite)).toBe(true);
    });
  }
  it('perfect predictions give F1 loss ~0, all-wrong give ~1', () => {
    const y = randomBinaryLabels(n, 22);
    const perfect = Float32Array.from(y, (v) => (v ? 10 : -10));
    const wrong = Float32Array.from(y, (v) => (v ? -10 : 10));
    expect(anyLoss(perfect, y).loss).toBeLessThan(1e-6);
    expect(anyLoss(wrong, y).loss).toBeGreaterThan(1 - 1e-6);
    expect(anyLoss(perfect, y, { metric: 'mcc' }).loss).toBeLessThan(1e-6);
    expect(anyLoss(wrong, y, { metric: 'mcc' }).loss).toBeGreaterThan(2 - 1e-6); // MCC = -1
  });
  it('F1 with no positive in the batch has no learning signal (TP = 0, g_neg = 0)', () => {
    const y = new Float32Array(n);
    const r = anyLoss(x, y);
    expect(r.grad.every((g) => g === 0)).toBe(true);
    expect(r.loss).toBeCloseTo(1, 12);
  });
  it('recall ignores negatives, specificity ignores positives', () => {
    const y = randomBinaryLabels(n, 23);
    const rec = anyLoss(x, y, { metric: 'recall' }).grad;
    const spec = anyLoss(x, y, { metric: 'specificity' }).grad;
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) expect(rec[i] === 0).toBe(true);
      else expect(spec[i] === 0).toBe(true);
    }
  });
  it('raising a positive logit lowers the F1 loss (the gradient points the right way)', () => {
    const y = randomBinaryLabels(n, 24);
    const { loss, grad } = anyLoss(x, y);
    const i = y.indexOf(1);
    expect(grad[i]).toBeLessThan(0);
    const moved = Float32Array.from(x);
    moved[i] += 0.01;
    expect(anyLoss(moved, y).loss).toBeLessThan(loss);
  });
});

describe('dice and tversky cpu vs reference', () => {
  const variants = {
    dice: {},
    'dice squared': { squareDenominator: true, smooth: 1e-4 },
    'dice self-adjusting': { alpha: 0.6 },
    'dice per-example self-adjusting': { alpha: 1.5, mode: 'per-example' as const },
  };
  for (const [name, extra] of Object.entries(variants)) {
    for (const [rows, classes] of [
      [1, 1],
      [9000, 1],
      [1500, 5],
    ] as const) {
      for (const input of ['logits', 'probabilities'] as const) {
        it(`${name}, ${rows} x ${classes}, ${input}`, () => {
          const n = rows * classes;
          const x = input === 'logits' ? randomScores(n, 40 + rows, 2) : randomProbabilities(n, 40 + rows);
          const y = classes === 1 ? randomBinaryLabels(rows, 41) : randomClassLabels(rows, classes, 41);
          const w = randomWeights(rows, 42);
          const o = { ...extra, classes, input, weights: w };
          expectAgree(diceLoss(x, y, { ...o, backend: NATIVE }), diceLoss(x, y, { ...o, backend: 'js' }));
        });
      }
    }
  }
  it('self-adjusting softmax Dice is exact where 1 - p rounds to 0 in float32', () => {
    // 1 - p_0 = 3 e^-20 ~ 6e-9: float32 p_0 is exactly 1, yet (1 - p)^(alpha - 1) matters. The
    // float64 reference still resolves it; the kernel gets it from sum_{j != 0} e^(x_j - x_0).
    const rows = 50,
      C = 4;
    const x = Float32Array.from({ length: rows * C }, (_, i) => (i % C === 0 ? 20 : 0));
    const y = randomClassLabels(rows, C, 43);
    expectAgree(
      diceLoss(x, y, { classes: C, alpha: 0.5, backend: NATIVE }),
      diceLoss(x, y, { classes: C, alpha: 0.5, backend: 'js' }),
    );
  });
  it('self-adjusting softmax Dice stays finite and bounded when 1 - p underflows', () => {
    const rows = 50,
      C = 4;
    const x = Float32Array.from({ length: rows * C }, (_, i) => (i % C === 0 ? 800 : 0));
    const r = diceLoss(x, randomClassLabels(rows, C, 43), { classes: C, alpha: 0.5, backend: NATIVE });
    expect(r.grad.every((g) => Number.isFinite(g) && Math.abs(g) < 1)).toBe(true);
  });
  for (const mode of ['global', 'per-example'] as const) {
    it(`tversky 0.3/0.7, ${mode}`, () => {
      const rows = 4000,
        C = 3;
      const x = randomScores(rows * C, 44, 2),
        y = randomClassLabels(rows, C, 45);
      const o = { classes: C, alpha: 0.3, beta: 0.7, mode };
      expectAgree(tverskyLoss(x, y, { ...o, backend: NATIVE }), tverskyLoss(x, y, { ...o, backend: 'js' }));
    });
  }
  it('a batch without positives still has a Dice gradient (formulas B.4)', () => {
    const x = randomScores(100, 46),
      y = new Float32Array(100);
    expect(diceLoss(x, y).grad.some((g) => g > 0)).toBe(true);
  });
});

describe('binaryCrossEntropy cpu vs reference', () => {
  for (const n of [1, 8193, 100_000]) {
    it(`n = ${n}, weights and posWeight, logits up to +-1e4`, () => {
      const x = randomScores(n, 50, 30);
      if (n > 10) {
        x[3] = 1e4;
        x[4] = -1e4;
      }
      const y = randomProbabilities(n, 51),
        w = randomWeights(n, 52);
      for (const reduction of ['mean', 'sum'] as const) {
        const o = { weights: w, posWeight: 3, reduction };
        expectAgree(
          binaryCrossEntropy(x, y, { ...o, backend: NATIVE }),
          binaryCrossEntropy(x, y, { ...o, backend: 'js' }),
        );
      }
    });
  }
});

describe('sigmoidFocal cpu vs reference', () => {
  for (const n of [1, 8193, 100_000]) {
    for (const gamma of [0, 0.5, 2]) {
      it(`n = ${n}, gamma ${gamma}, weights, soft and hard labels, logits up to +-1e4`, () => {
        const x = randomScores(n, 90, 20);
        if (n > 10) [x[3], x[4]] = [1e4, -1e4];
        const w = randomWeights(n, 91);
        for (const y of [randomBinaryLabels(n, 92), randomProbabilities(n, 93)]) {
          for (const reduction of ['mean', 'sum'] as const) {
            const o = { gamma, weights: w, reduction };
            expectAgree(sigmoidFocal(x, y, { ...o, backend: NATIVE }), sigmoidFocal(x, y, { ...o, backend: 'js' }));
          }
        }
      });
    }
  }
  it('async twin', async () => {
    const x = randomScores(999, 94, 3),
      y = randomBinaryLabels(999, 95);
    expectAgree(await sigmoidFocalAsync(x, y), sigmoidFocal(x, y));
  });
});

describe('threads', () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));
  it('1, 2 and 8 threads give bitwise-identical results', () => {
    const n = 300_001;
    const x = randomScores(n, 60, 0.2),
      y = randomBinaryLabels(n, 61),
      w = randomWeights(n, 62);
    const rows = 20_000,
      C = 10;
    const xm = randomScores(rows * C, 63, 2),
      ym = randomClassLabels(rows, C, 64);
    const run = () => [
      anyLoss(x, y, { weights: w }),
      anyLoss(xm, ym, { classes: C, metric: 'mcc' }),
      diceLoss(xm, ym, { classes: C, alpha: 0.3 }),
      binaryCrossEntropy(x, y),
    ];
    setThreads(1);
    const one = run();
    for (const n of [2, 8]) {
      setThreads(n);
      expect(getThreads()).toBe(n);
      const many = run();
      for (let i = 0; i < one.length; i++) {
        expect(many[i].loss).toBe(one[i].loss);
        expect(bitwiseEqual(many[i].grad, one[i].grad)).toBe(true);
      }
    }
  });
});
