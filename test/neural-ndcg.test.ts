// neuralNDCG (formulas D.8): a closed form for two items (NeuralSort's matrix is then already
// doubly stochastic), the hard NDCG as the temperature goes to 0, the reference's gradient against
// central differences of its loss through the Sinkhorn iterations, and every backend against the
// float64 reference at odd sizes (lists of 1, 2, 7 and 33; ragged offsets; ties; padding).
import { describe, expect, it } from 'vitest';
import { ndcg, neuralNDCG, type NeuralNDCGOptions } from '../src';
import { referenceNeuralNDCG, type RefNeuralNDCG } from '../src/reference/neural-ndcg';
import { expectAgree, expectError, finiteDifferences, gpuBackends, gradError } from './helpers';
import { NATIVE } from './native-backend';
import { listBatch, oddBatch } from './ranking.cases';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const DEFAULTS: RefNeuralNDCG = { temperature: 1, k: 0, gain: 'exp2', maxIter: 50, tol: 1e-6 };

describe('neuralNDCG: closed forms and limits', () => {
  for (const backend of ['js', NATIVE] as const) {
    it(`${backend}: two items, P0 = [[p, 1 - p], [1 - p, p]] with p = sigmoid((s_0 - s_1) / T)`, () => {
      for (const [s0, s1, r0, r1, T] of [
        [0.6, 0.8, 1, 0, 1],
        [2, -1, 1, 3, 0.5],
        [0.3, 0.3, 2, 1, 1],
      ]) {
        const p = sigmoid((s0 - s1) / T);
        const [g0, g1] = [2 ** r0 - 1, 2 ** r1 - 1];
        const idcg = Math.max(g0, g1) + Math.min(g0, g1) / Math.log2(3);
        const want = -(p * g0 + (1 - p) * g1 + ((1 - p) * g0 + p * g1) / Math.log2(3)) / (idcg + 1e-10);
        expect(neuralNDCG([s0, s1], [r0, r1], { backend, temperature: T }).loss).toBeCloseTo(want, 6);
      }
    });
    it(`${backend}: at a small temperature, minus the hard NDCG@k (distinct scores)`, () => {
      const b = listBatch([9, 5, 12], 11, { grades: 4 });
      for (const k of [undefined, 3]) {
        const hard = ndcg(b.scores, b.relevance, { offsets: b.offsets, k, backend: 'js' }).value;
        const soft = neuralNDCG(b.scores, b.relevance, { offsets: b.offsets, k, temperature: 1e-3, backend });
        expect(soft.loss).toBeCloseTo(-hard, 5);
      }
    });
  }
  it('a list without relevance contributes 0 and counts in the mean; padding gets 0', () => {
    const one = neuralNDCG([0.6, 0.8, 0.1], [1, 0, 2], { backend: 'js' }).loss;
    const r = neuralNDCG([0.6, 0.8, 0.1, NaN, 0.2, 0.3, 0.4, NaN], [1, 0, 2, -1, 0, 0, 0, -1], {
      backend: 'js',
      listSize: 4,
    });
    expect(r.loss).toBeCloseTo(one / 2, 12);
    expect(Array.from(r.grad.subarray(3))).toEqual([0, 0, 0, 0, 0]);
  });
  it('the options reach the kernel: maxIter 0 (NeuralSort alone), k, linear gain', () => {
    const b = listBatch([6, 6], 5, { grades: 3 });
    const base = neuralNDCG(b.scores, b.relevance, { listSize: 6, backend: NATIVE }).loss;
    for (const o of [{ maxIter: 0 }, { k: 2 }, { gain: 'linear' as const }, { temperature: 0.2 }]) {
      const got = neuralNDCG(b.scores, b.relevance, { listSize: 6, ...o, backend: NATIVE });
      expect(got.loss, JSON.stringify(o)).not.toBeCloseTo(base, 6);
    }
  });
  it('relevance above 64 is refused with the exp2 gain, accepted with the linear one', () => {
    expectError(() => neuralNDCG([1, 2], [65, 0]), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', /relevance/);
    expect(Number.isFinite(neuralNDCG([1, 2], [65, 0], { gain: 'linear' }).loss)).toBe(true);
  });
});

describe('neuralNDCG: the reference gradient equals central differences of its loss', () => {
  // Distinct scores: |s_j - s_l| has a kink at ties. tol 0 fixes the number of Sinkhorn iterations.
  const b = listBatch([7, 5, 1, 2, 9], 3, { grades: 3, padding: 0.1 });
  const cases: Array<Partial<RefNeuralNDCG>> = [
    { maxIter: 0, tol: 0 },
    { maxIter: 1, tol: 0 },
    { maxIter: 5, tol: 0, temperature: 0.5 },
    { maxIter: 50, tol: 0, k: 3 },
    { maxIter: 20, tol: 0, gain: 'linear', temperature: 2 },
    {},
  ];
  for (const c of cases) {
    it(JSON.stringify(c), () => {
      const o = { ...DEFAULTS, ...c };
      const pb = { scores: Float64Array.from(b.scores), relevance: b.relevance, offsets: b.offsets };
      const fd = finiteDifferences((x) => referenceNeuralNDCG({ ...pb, scores: x }, o).loss, pb.scores, 1e-6);
      const got = referenceNeuralNDCG(pb, o).grad;
      b.relevance.forEach((r, i) => r === -1 && (fd[i] = 0));
      expect(gradError(got, fd)).toBeLessThan(1e-6);
    });
  }
});

const backends = [
  { backend: NATIVE, skip: false as string | false, largest: Infinity },
  ...gpuBackends().map((g) => ({ ...g, largest: 31 * 33 })),
];
const OPTIONS: NeuralNDCGOptions[] = [{}, { k: 3, gain: 'linear', temperature: 0.3 }, { maxIter: 0 }, { tol: 0 }];

for (const { backend, skip, largest } of backends) {
  describe.skipIf(skip)(`neuralNDCG on ${backend} vs the reference`, () => {
    const sizes = [1, 2, 7, 33].flatMap((n) => [1, 31, 101].map((l): [number, number] => [n, l]));
    for (const [size, lists] of sizes.filter(([n, l]) => n * l <= largest)) {
      it(`${lists} lists of ${size}, padded, tied`, () => {
        const b = oddBatch(size, lists, size * 5 + lists);
        for (const o of OPTIONS)
          for (const shape of [{ listSize: size }, { offsets: b.offsets }]) {
            const a = neuralNDCG(b.scores, b.relevance, { ...shape, ...o, backend });
            expectAgree(a, neuralNDCG(b.scores, b.relevance, { ...shape, ...o, backend: 'js' }), JSON.stringify(o));
            b.relevance.forEach((r, i) => r === -1 && expect(a.grad[i]).toBe(0));
          }
      });
    }
    it('a near-hard sort (temperature 1e-6, ties): columns of zeros, finite and agreeing', () => {
      const b = listBatch([9, 0, 1, 2, 33, 3, 17], 4, { grades: 4, padding: 0.1, scale: 10 });
      b.scores.forEach((v, i) => (b.scores[i] = Math.round(v)));
      for (const temperature of [1e-6, 1e-3]) {
        const a = neuralNDCG(b.scores, b.relevance, { offsets: b.offsets, temperature, backend });
        expect(Number.isFinite(a.loss) && a.grad.every(Number.isFinite)).toBe(true);
        expectAgree(a, neuralNDCG(b.scores, b.relevance, { offsets: b.offsets, temperature, backend: 'js' }));
      }
    });
    it('ragged lists with empty ones, ties and scores up to +-30', () => {
      const b = listBatch([9, 0, 1, 2, 33, 3, 0, 17, 7, 2], 2, { grades: 4, padding: 0.1, scale: 10 });
      b.scores.forEach((v, i) => (b.scores[i] = Math.round(v)));
      for (const o of OPTIONS) {
        const a = neuralNDCG(b.scores, b.relevance, { offsets: b.offsets, ...o, backend });
        expectAgree(
          a,
          neuralNDCG(b.scores, b.relevance, { offsets: b.offsets, ...o, backend: 'js' }),
          JSON.stringify(o),
        );
      }
    });
  });
}
