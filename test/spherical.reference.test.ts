// The float64 reference of the spherical family and the softmax classification losses against
// central finite differences, hand-computed small cases, and the edge cases of formulas F and G.
import { describe, expect, it } from 'vitest';
import { referenceBce, referenceSigmoidFocal, softplus } from '../src/reference/confusion';
import {
  referenceSoftmax,
  referenceSpherical,
  type ClassRefProblem,
  type Reduction,
  type SoftmaxRefParams,
  type SphericalKind,
} from '../src/reference/spherical';
import {
  finiteDifferences,
  gradError,
  randomBinaryLabels,
  randomClassLabels,
  randomProbabilities,
  randomScores,
  randomWeights,
} from './helpers';

const problem = (logits: ArrayLike<number>, targets: ArrayLike<number>, classes: number): ClassRefProblem => ({
  logits,
  targets,
  classes,
});

const SOFTMAX: SoftmaxRefParams = {
  form: 'ce',
  temperature: 1,
  labelSmoothing: 0,
  tau: 1,
  q: 0.7,
  gamma: 2,
  alpha: 1,
  lambda: 1,
  margin: 0.1,
  ignoreIndex: -100,
};

describe('reference spherical losses vs finite differences', () => {
  const kinds: [SphericalKind, object][] = [
    ['z-loss', { a: 1, b: 0 }],
    ['z-loss', { a: 2.5, b: 0.7 }],
    ['mse', {}],
    ['log-spherical-softmax', { eps: 1e-3 }],
    ['log-taylor-softmax', {}],
  ];
  for (const [kind, extra] of kinds) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      it(`${kind} ${JSON.stringify(extra)}, ${reduction}`, () => {
        const rows = 9,
          C = 7;
        const x = randomScores(rows * C, 31, 2);
        const t = randomClassLabels(rows, C, 32);
        const p = { kind, a: 1, b: 0, eps: 1e-6, ...extra };
        const total = (v: ArrayLike<number>) => {
          const r = referenceSpherical(problem(v, t, C), p, reduction);
          return reduction === 'none' ? r.rowLoss.reduce((a, b) => a + b, 0) : r.loss;
        };
        const { grad } = referenceSpherical(problem(x, t, C), p, reduction);
        expect(gradError(grad, finiteDifferences(total, x, 1e-6))).toBeLessThan(1e-6);
      });
    }
  }
});

describe('reference softmax losses vs finite differences', () => {
  const variants: [string, Partial<SoftmaxRefParams>][] = [
    ['ce', {}],
    ['ce, smoothing 0.2, temperature 1.7', { labelSmoothing: 0.2, temperature: 1.7 }],
    ['ce, smoothing 0.1, class weights', { labelSmoothing: 0.1, classWeights: [0.5, 2, 1, 3, 0.25] }],
    ['comp-sum tau 0', { form: 'comp-sum', tau: 0 }],
    ['comp-sum tau 0.5', { form: 'comp-sum', tau: 0.5 }],
    ['comp-sum tau 1.7, temperature 0.6', { form: 'comp-sum', tau: 1.7, temperature: 0.6 }],
    ['gce q 0.7', { form: 'gce', q: 0.7 }],
    ['mae', { form: 'mae' }],
    ['focal gamma 2', { form: 'focal', gamma: 2, alpha: 0.25 }],
    ['focal gamma 0.5', { form: 'focal', gamma: 0.5 }],
    ['ldr-kl lambda 0.5 margin 0.3', { form: 'ldr-kl', lambda: 0.5, margin: 0.3 }],
    ['ldr-kl lambda 10, temperature 2', { form: 'ldr-kl', lambda: 10, temperature: 2 }],
    ['ce, softcap 1.5, z-loss 0.3', { softcap: 1.5, lseSquareScale: 0.3 }],
    [
      'ce, smoothing 0.1, class weights, softcap 4, z-loss 0.05, temperature 0.8',
      { labelSmoothing: 0.1, classWeights: [0.5, 2, 1, 3, 0.25], softcap: 4, lseSquareScale: 0.05, temperature: 0.8 },
    ],
    ['focal gamma 2, softcap 1', { form: 'focal', gamma: 2, softcap: 1 }],
    ['ldr-kl, softcap 2', { form: 'ldr-kl', lambda: 0.5, margin: 0.3, softcap: 2 }],
  ];
  for (const [name, extra] of variants) {
    for (const reduction of ['mean', 'sum'] as const) {
      it(`${name}, weights, an ignored row, ${reduction}`, () => {
        const rows = 11,
          C = 5;
        const x = randomScores(rows * C, 41, 2);
        const t = randomClassLabels(rows, C, 42);
        t[3] = -100;
        const p = { ...SOFTMAX, ...extra, weights: randomWeights(rows, 43) };
        const loss = (v: ArrayLike<number>) => referenceSoftmax(problem(v, t, C), p, reduction).loss;
        const { grad } = referenceSoftmax(problem(x, t, C), p, reduction);
        expect(gradError(grad, finiteDifferences(loss, x, 1e-6))).toBeLessThan(1e-6);
        for (let k = 0; k < C; k++) expect(grad[3 * C + k]).toBe(0);
      });
    }
  }
});

describe('reference sigmoid focal vs finite differences', () => {
  for (const gamma of [0, 0.5, 2]) {
    for (const soft of [false, true]) {
      it(`gamma ${gamma}, ${soft ? 'soft' : 'hard'} labels`, () => {
        const n = 40;
        const x = randomScores(n, 51, 3);
        const y = soft ? randomProbabilities(n, 52) : randomBinaryLabels(n, 52, 0.4);
        const pb = (s: ArrayLike<number>) => ({
          scores: s,
          labels: y,
          weights: randomWeights(n, 53),
          classes: 1,
          probabilities: false,
        });
        const loss = (s: ArrayLike<number>) => referenceSigmoidFocal(pb(s), gamma, 0.25, 'mean').loss;
        const { grad } = referenceSigmoidFocal(pb(x), gamma, 0.25, 'mean');
        expect(gradError(grad, finiteDifferences(loss, x, 1e-6))).toBeLessThan(1e-6);
      });
    }
  }
});

describe('hand-computed cases', () => {
  const ln2 = Math.log(2);
  // logits [0, 0, ln 2], target 2: p = [1/4, 1/4, 1/2]
  const x = [0, 0, ln2];
  const softmax = (extra: Partial<SoftmaxRefParams>, reduction: Reduction = 'mean') =>
    referenceSoftmax(problem(x, [2], 3), { ...SOFTMAX, ...extra }, reduction);

  it('cross-entropy and its gradient p - e_y', () => {
    const r = softmax({});
    expect(r.loss).toBeCloseTo(ln2, 14);
    expect(Array.from(r.grad)).toEqual([0.25, 0.25, -0.5].map((v) => expect.closeTo(v, 14)));
  });
  it('label smoothing 0.3: 0.7 CE + 0.1 (ln 4 + ln 4 + ln 2)', () => {
    expect(softmax({ labelSmoothing: 0.3 }).loss).toBeCloseTo(1.2 * ln2, 14);
  });
  it('comp-sum tau 0 is 1/p_y - 1, GCE q 0.5 is (1 - sqrt(p_y)) / 0.5, MAE 2 (1 - p_y)', () => {
    expect(softmax({ form: 'comp-sum', tau: 0 }).loss).toBeCloseTo(1, 14);
    expect(softmax({ form: 'gce', q: 0.5 }).loss).toBeCloseTo((1 - Math.sqrt(0.5)) / 0.5, 14);
    expect(softmax({ form: 'mae' }).loss).toBeCloseTo(1, 14);
  });
  it('focal gamma 2: (1 - p_y)^2 (-log p_y)', () => {
    expect(softmax({ form: 'focal', gamma: 2, alpha: 1 }).loss).toBeCloseTo(0.25 * ln2, 14);
  });
  it('LDR-KL, lambda 1, margin 0: log mean(1/2, 1/2, 1) = ln(2/3)', () => {
    expect(softmax({ form: 'ldr-kl', lambda: 1, margin: 0 }).loss).toBeCloseTo(Math.log(2 / 3), 14);
  });
  it('temperature 2 on logits [0, 0, 2 ln 2] is the CE of [0, 0, ln 2], gradient / 2', () => {
    const r = referenceSoftmax(problem([0, 0, 2 * ln2], [2], 3), { ...SOFTMAX, temperature: 2 }, 'mean');
    expect(r.loss).toBeCloseTo(ln2, 14);
    expect(r.grad[2]).toBeCloseTo(-0.25, 14);
  });
  it("PaLM's z-loss adds s lse^2 (lse = ln 4 here) and 2 s lse p to the gradient; returnLse's lse is ln 4", () => {
    const r = softmax({ lseSquareScale: 0.1 });
    const lse = Math.log(4);
    expect(r.lse![0]).toBeCloseTo(lse, 14);
    expect(r.loss).toBeCloseTo(ln2 + 0.1 * lse * lse, 14);
    const p = [0.25, 0.25, 0.5];
    expect(Array.from(r.grad)).toEqual(p.map((pk, k) => expect.closeTo(pk - (k === 2 ? 1 : 0) + 0.2 * lse * pk, 14)));
  });
  it("with class weights, 'mean' divides the z-loss by the kept rows and the cross-entropy by their class weights", () => {
    const cw = [0.5, 1, 3];
    const r = referenceSoftmax(
      problem([...x, ...x], [2, 0], 3),
      { ...SOFTMAX, classWeights: cw, lseSquareScale: 0.1 },
      'mean',
    );
    const lse = Math.log(4);
    expect(r.loss).toBeCloseTo((3 * ln2 + 0.5 * 2 * ln2) / 3.5 + 0.1 * lse * lse, 14);
  });
  it('softcap c reads c tanh(x / c): the CE of the capped logits, gradient times 1 - tanh^2', () => {
    const c = 0.5,
      xc = x.map((v) => c * Math.tanh(v / c));
    const plain = referenceSoftmax(problem(xc, [2], 3), SOFTMAX, 'mean');
    const r = softmax({ softcap: c });
    expect(r.loss).toBeCloseTo(plain.loss, 14);
    x.forEach((v, k) => expect(r.grad[k]).toBeCloseTo(plain.grad[k] * (1 - Math.tanh(v / c) ** 2), 14));
  });
  it("class weights: 'mean' divides by the targets' class weights (PyTorch)", () => {
    // row 0 target 2 (weight 3, CE ln 2), row 1 target 0 (weight 0.5, CE -log 1/4 = 2 ln 2)
    const r = referenceSoftmax(problem([...x, ...x], [2, 0], 3), { ...SOFTMAX, classWeights: [0.5, 1, 3] }, 'mean');
    expect(r.loss).toBeCloseTo((3 * ln2 + 0.5 * 2 * ln2) / 3.5, 14);
  });
  it('Z-loss of [1, 2, 3] with target 2: softplus(-z), z = 1 / sqrt(2/3)', () => {
    const r = referenceSpherical(problem([1, 2, 3], [2], 3), { kind: 'z-loss', a: 1, b: 0, eps: 0 }, 'mean');
    expect(r.loss).toBeCloseTo(softplus(-Math.sqrt(1.5)), 14);
  });
  it('squared error, log-spherical and log-Taylor softmax', () => {
    const sph = (kind: SphericalKind, o: number[], c: number, eps = 0) =>
      referenceSpherical(problem(o, [c], o.length), { kind, a: 1, b: 0, eps }, 'mean').loss;
    expect(sph('mse', [1, 2, 3], 2)).toBeCloseTo(1 + 4 + 4, 14);
    expect(sph('log-spherical-softmax', [1, 2], 1, 1e-300)).toBeCloseTo(-Math.log(0.8), 14);
    expect(sph('log-taylor-softmax', [0, 0, 0], 0)).toBeCloseTo(Math.log(3), 14);
  });
  it('sigmoid focal at x = 0, y = 1: alpha (1/2)^2 ln 2', () => {
    const pb = { scores: [0], labels: [1], classes: 1, probabilities: false };
    expect(referenceSigmoidFocal(pb, 2, 0.25, 'mean').loss).toBeCloseTo(0.25 * 0.25 * ln2, 14);
  });
});

describe('spec edge cases', () => {
  it('Z-loss: a constant row gives softplus(a b) / a and a zero gradient; so does C = 1', () => {
    for (const [o, C] of [
      [[4, 4, 4, 4], 4],
      [[-7], 1],
    ] as const) {
      const r = referenceSpherical(problem(o, [0], C), { kind: 'z-loss', a: 2, b: 0.5, eps: 0 }, 'sum');
      expect(r.loss).toBeCloseTo(softplus(1) / 2, 14);
      expect(r.grad.every((g) => g === 0)).toBe(true);
    }
  });
  it('comp-sum tau = 1 is cross-entropy; GCE is comp-sum with tau = 1 + q; MAE is 2 x comp-sum tau = 2', () => {
    const rows = 20,
      C = 6;
    const pb = problem(randomScores(rows * C, 61, 2), randomClassLabels(rows, C, 62), C);
    const run = (extra: Partial<SoftmaxRefParams>) => referenceSoftmax(pb, { ...SOFTMAX, ...extra }, 'mean');
    const ce = run({});
    const agree = (a: typeof ce, b: typeof ce, factor = 1) => {
      expect(a.loss).toBeCloseTo(factor * b.loss, 12);
      expect(
        gradError(
          a.grad,
          b.grad.map((g) => factor * g),
        ),
      ).toBeLessThan(1e-12);
    };
    agree(run({ form: 'comp-sum', tau: 1 }), ce);
    agree(run({ form: 'gce', q: 0.3 }), run({ form: 'comp-sum', tau: 1.3 }));
    agree(run({ form: 'mae' }), run({ form: 'comp-sum', tau: 2 }), 2);
    agree(run({ form: 'focal', gamma: 0, alpha: 0.4 }), ce, 0.4);
  });
  it('ignored rows count nothing and leave the mean; a batch of ignored rows has loss 0', () => {
    const C = 4;
    const x = randomScores(3 * C, 63, 2);
    const withIgnored = referenceSoftmax(problem(x, [1, 7, 2], C), { ...SOFTMAX, ignoreIndex: 7 }, 'mean');
    const without = referenceSoftmax(problem([...x.slice(0, C), ...x.slice(2 * C)], [1, 2], C), SOFTMAX, 'mean');
    expect(withIgnored.loss).toBeCloseTo(without.loss, 14);
    const none = referenceSoftmax(problem(x, [7, 7, 7], C), { ...SOFTMAX, ignoreIndex: 7 }, 'mean');
    expect(none.loss).toBe(0);
    expect(none.grad.every((g) => g === 0)).toBe(true);
  });
  it('sigmoid focal with gamma 0 and alpha 1/2 is half of BCE', () => {
    const n = 30;
    const pb = { scores: randomScores(n, 64, 3), labels: randomProbabilities(n, 65), classes: 1, probabilities: false };
    const focal = referenceSigmoidFocal(pb, 0, 0.5, 'sum'),
      bce = referenceBce(pb, 1, 'sum');
    expect(focal.loss).toBeCloseTo(bce.loss / 2, 12);
    expect(
      gradError(
        focal.grad,
        bce.grad.map((g) => g / 2),
      ),
    ).toBeLessThan(1e-12);
  });
});
