// The native CPU kernels of the spherical family and the softmax classification losses against the
// float64 reference: every loss and form, every reduction, odd shapes, C = 1, 2 and 50000, and rows
// that are hard on float32 (logits of +-1e4, constant rows, |mean| >> std); bitwise identical
// results across thread counts.
import { afterAll, describe, expect, it } from 'vitest';
import {
  getThreads,
  setThreads,
  softmaxCrossEntropy,
  softmaxCrossEntropyAsync,
  sphericalLoss,
  zLoss,
  zLossAsync,
} from '../src';
import { bitwiseEqual, randomClassLabels, randomScores, randomWeights, expectAgree } from './helpers';
import { CPU_VS_JS, logits, parity, softmax, SOFTMAX_FORMS, sphericalParity } from './spherical.fixtures';
import { NATIVE } from './native-backend';

describe('spherical family cpu vs reference', () => {
  sphericalParity(CPU_VS_JS);
});

describe('softmax losses cpu vs reference', () => {
  for (const [name, options] of SOFTMAX_FORMS) parity(name, softmax, options, CPU_VS_JS);

  describe('weights, class weights and an ignored target', () => {
    for (const [name, options] of SOFTMAX_FORMS) {
      for (const [rows, C] of [
        [1, 1],
        [7, 2],
        [301, 37],
      ] as const) {
        it(`${name}, ${rows} x ${C}`, () => {
          const x = logits(rows, C, 71 + C, true);
          const t = randomClassLabels(rows, C, 72);
          t[rows >> 1] = -1;
          const o = {
            ...options,
            weights: randomWeights(rows, 73),
            classWeights: randomWeights(C, 74),
            ignoreIndex: -1,
          };
          for (const reduction of ['mean', 'sum', 'none'] as const) {
            expectAgree(
              softmax(x, t, { ...o, reduction, backend: NATIVE }),
              softmax(x, t, { ...o, reduction, backend: 'js' }),
            );
          }
        });
      }
    }
  });

  it("returnLse: each row's log-sum-exp as the float64 formula, ignored rows too (softcap, temperature)", () => {
    const [rows, C] = [37, 1031];
    const x = logits(rows, C, 76, true);
    const t = randomClassLabels(rows, C, 77);
    t[5] = -100;
    const cases: { softcap?: number; temperature?: number; lseSquareScale?: number }[] = [
      {},
      { softcap: 3, temperature: 0.7, lseSquareScale: 1e-3 },
    ];
    for (const o of cases) {
      const r = softmaxCrossEntropy(x, t, { ...o, returnLse: true, backend: NATIVE });
      const js = softmaxCrossEntropy(x, t, { ...o, returnLse: true, backend: 'js' });
      expectAgree(r, js);
      for (let i = 0; i < rows; i++) {
        const c = o.softcap ?? 0,
          T = o.temperature ?? 1;
        const u = Array.from(x.subarray(i * C, (i + 1) * C), (v) => (c ? c * Math.tanh(v / c) : v) / T);
        const m = Math.max(...u);
        const want = m + Math.log(u.reduce((a, v) => a + Math.exp(v - m), 0));
        expect(Math.abs(r.lse[i] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
        expect(Math.abs(js.lse[i] - want)).toBeLessThan(1e-6 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('a batch whose every row is ignored has loss 0 and no gradient', () => {
    const x = randomScores(12, 75);
    const r = softmaxCrossEntropy(x, [5, 5, 5], { ignoreIndex: 5, backend: NATIVE });
    expect(r.loss).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
});

describe('edge cases on the CPU', () => {
  it('Z-loss: constant rows give softplus(a b) / a and a zero gradient, C = 1 included', () => {
    const r = zLoss(new Float32Array([2, 2, 2, -1e4, -1e4, -1e4]), [0, 2], { a: 2, b: 0.5, reduction: 'none' });
    expect(Array.from(r.loss)).toEqual([1, 1].map(() => expect.closeTo(Math.log1p(Math.E) / 2, 6)));
    expect(r.grad.every((g) => g === 0)).toBe(true);
    expect(zLoss(new Float32Array([3, -4]), [0, 0], { classes: 1 }).grad.every((g) => g === 0)).toBe(true);
  });
  it('Z-loss with C = 2: z_c = +-1 in every non-constant row, so the loss is softplus(a (b -+ 1)) / a and the gradient ~0', () => {
    const rows = 200;
    const x = logits(rows, 2, 83, true);
    const t = randomClassLabels(rows, 2, 84);
    for (const backend of [NATIVE, 'js'] as const) {
      const r = zLoss(x, t, { a: 2, b: 0.5, reduction: 'none', backend });
      for (let i = 0; i < rows; i++) {
        const [o0, o1] = [x[2 * i], x[2 * i + 1]];
        const z = o0 === o1 ? 0 : (t[i] === 0 ? o0 > o1 : o1 > o0) ? 1 : -1;
        expect(r.loss[i]).toBeCloseTo(Math.log1p(Math.exp(2 * (0.5 - z))) / 2, 6);
        // rounding of terms of size 1 / std (std = |o0 - o1| / 2)
        const std = Math.abs(o0 - o1) / 2;
        for (const g of [r.grad[2 * i], r.grad[2 * i + 1]]) expect(Math.abs(g)).toBeLessThanOrEqual(1e-5 / std);
      }
    }
  });
  it('log-spherical and log-Taylor softmax with C = 1: p = 1, loss 0, gradient ~0', () => {
    const x = logits(50, 1, 85, true);
    for (const kind of ['log-spherical-softmax', 'log-taylor-softmax'] as const) {
      for (const backend of [NATIVE, 'js'] as const) {
        const r = sphericalLoss(x, new Int32Array(50), { kind, backend, reduction: 'none' });
        expect(r.loss.every((l) => Math.abs(l) < 1e-12)).toBe(true);
        // each gradient is a difference of two terms of size at most 1 / sqrt(eps) = 1000
        expect(r.grad.every((g) => Math.abs(g) < 1e-3)).toBe(true);
      }
    }
  });
  it('Z-loss gradient rows sum to ~0 where |mean| >> std (the centred form keeps its digits)', () => {
    const C = 1000;
    const x = Float32Array.from(randomScores(C, 76, 1e-2), (v) => 1e4 + v);
    const { grad } = zLoss(x, [7]);
    const max = Math.max(...grad.map(Math.abs));
    expect(Math.abs(grad.reduce((a, g) => a + g, 0))).toBeLessThan(1e-5 * max * Math.sqrt(C));
    expectAgree(zLoss(x, [7], { backend: NATIVE }), zLoss(x, [7], { backend: 'js' }));
  });
  it('softmax CE of a row with +1e4 on the target and -1e4 elsewhere is 0 with a ~0 gradient', () => {
    const r = softmaxCrossEntropy(new Float32Array([-1e4, 1e4, -1e4]), [1]);
    expect(r.loss).toBe(0);
    // exp_nonpos floors e^-20000 at ~1e-38 rather than underflowing (binding/include/fusedloss/math.h)
    expect(r.grad.every((g) => Math.abs(g) < 1e-37)).toBe(true);
  });
  it('a wrong +-1e4 row gives loss 2e4 and gradient p - e_y', () => {
    const r = softmaxCrossEntropy(new Float32Array([1e4, -1e4]), [1], { backend: NATIVE });
    expect(r.loss).toBeCloseTo(2e4, 6);
    expect(Array.from(r.grad)).toEqual([1, -1]);
  });
  it('a row of 10^6 classes (one row per task, past every cache)', () => {
    const C = 1_000_000;
    const x = logits(2, C, 86, false);
    const t = [C - 1, 12345];
    expectAgree(softmaxCrossEntropy(x, t, { backend: NATIVE }), softmaxCrossEntropy(x, t, { backend: 'js' }));
    expectAgree(zLoss(x, t, { backend: NATIVE }), zLoss(x, t, { backend: 'js' }));
  });
  it('classes is inferred from the lengths, and Uint8Array / plain targets are converted', () => {
    const x = randomScores(40, 77);
    const t = randomClassLabels(10, 4, 78);
    const ref = softmaxCrossEntropy(x, t, { classes: 4 });
    expectAgree(softmaxCrossEntropy(x, Uint8Array.from(t)), ref);
    expectAgree(softmaxCrossEntropy(Array.from(x), Array.from(t)), ref);
  });
  it('async twins give the sync results', async () => {
    const x = logits(50, 9, 79, true);
    const t = randomClassLabels(50, 9, 80);
    expectAgree(await zLossAsync(x, t, { a: 2 }), zLoss(x, t, { a: 2 }));
    const none = await softmaxCrossEntropyAsync(x, t, { form: 'focal', reduction: 'none' });
    expectAgree(none, softmaxCrossEntropy(x, t, { form: 'focal', reduction: 'none' }));
  });
  it('options.out is filled and returned', () => {
    const x = randomScores(60, 81);
    const out = new Float32Array(60);
    const r = zLoss(x, randomClassLabels(6, 10, 82), { out });
    expect(r.grad).toBe(out);
    expect(out.some((g) => g !== 0)).toBe(true);
  });
});

describe('threads', () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));
  it('1, 2 and 8 threads give bitwise-identical results', () => {
    const cases = [
      [2000, 100],
      [9, 20000],
    ] as const;
    const data = cases.map(([rows, C]) => ({
      x: logits(rows, C, rows, true),
      t: randomClassLabels(rows, C, C),
      cw: randomWeights(C, 3),
      w: randomWeights(rows, 4),
    }));
    const run = () =>
      data.flatMap(({ x, t, cw, w }) => [
        zLoss(x, t),
        sphericalLoss(x, t, { kind: 'log-taylor-softmax' }),
        softmaxCrossEntropy(x, t, { labelSmoothing: 0.1, classWeights: cw, weights: w }),
        softmaxCrossEntropy(x, t, { form: 'ldr-kl' }),
      ]);
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
