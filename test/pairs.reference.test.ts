// The float64 reference of the pairwise family: its gradient against central finite differences
// of its own loss (through the normalisation, and without it), hand-computed cases, and the
// edge cases of docs/formulas.md (a half with no pairs, singletons, coincident rows).
import { describe, expect, it } from 'vitest';
import {
  circleLoss,
  contrastive,
  multiSimilarity,
  ntXent,
  orthogonalProjection,
  supCon,
  tripletBatchHard,
} from '../src';
import { referencePairs, type PairRefParams } from '../src/reference/pairs';
import { PAIR_DEFAULTS } from '../src/losses/pairs';
import { finiteDifferences, gradError, randomClassLabels, randomScores } from './helpers';
import { PAIR_LOSSES } from './pairs.fixtures';

const BASE: PairRefParams = { ...PAIR_DEFAULTS, loss: 'multi-similarity', gamma: PAIR_DEFAULTS.gamma };

const CASES: [string, Partial<PairRefParams>][] = [
  ['multi-similarity pml', { loss: 'multi-similarity' }],
  ['multi-similarity paper', { loss: 'multi-similarity', semantics: 'paper' }],
  ['contrastive', { loss: 'contrastive', negMargin: 1.2 }],
  ['triplet hinge', { loss: 'triplet-batch-hard', margin: 0.3 }],
  ['triplet soft margin', { loss: 'triplet-batch-hard', softMargin: true }],
  ['supcon', { loss: 'supcon', temperature: 0.5, baseTemperature: 0.7 }],
  ['nt-xent', { loss: 'nt-xent', temperature: 0.5 }],
  ['orthogonal projection', { loss: 'orthogonal-projection', gamma: 0.5 }],
];

describe('reference gradient vs finite differences (float64)', () => {
  for (const [name, params] of CASES) {
    for (const normalize of [true, false]) {
      it(`${name}, normalize ${normalize}`, () => {
        const n = 9,
          dim = 4;
        const x = Float64Array.from(randomScores(n * dim, 5, normalize ? 1 : 0.4));
        const labels = randomClassLabels(n, 3, 6);
        const p = { ...BASE, ...params };
        const f = (v: Float64Array) => referencePairs({ x: v, labels, dim, normalize }, p).loss;
        const r = referencePairs({ x, labels, dim, normalize }, p);
        expect(r.loss).not.toBe(0);
        expect(gradError(r.grad, finiteDifferences(f, x, 1e-6))).toBeLessThan(1e-6);
      });
    }
  }
  it('cross-batch Multi-Similarity: the gradients of queries and reference rows', () => {
    const [n, m, dim] = [6, 8, 3];
    const x = Float64Array.from(randomScores(n * dim, 7)),
      ref = Float64Array.from(randomScores(m * dim, 8));
    const labels = randomClassLabels(n, 2, 9),
      refLabels = randomClassLabels(m, 2, 10);
    const p = { ...BASE, alpha: 2, beta: 10 };
    const at = (q: Float64Array, r: Float64Array) =>
      referencePairs({ x: q, labels, dim, ref: r, refLabels, normalize: true }, p);
    const r = at(x, ref);
    expect(
      gradError(
        r.grad,
        finiteDifferences((v) => at(v, ref).loss, x, 1e-6),
      ),
    ).toBeLessThan(1e-6);
    expect(
      gradError(
        r.refGrad!,
        finiteDifferences((v) => at(x, v).loss, ref, 1e-6),
      ),
    ).toBeLessThan(1e-6);
  });
});

describe('circle loss: the gradient with a_p and a_n held constant (formulas E.4)', () => {
  // Not the derivative of the loss: the paper holds the pair weights a constant. So the finite
  // differences are of the loss with a frozen at the point, written out here from S.
  const [m, gamma, n, dim] = [0.25, 8, 9, 4];
  const labels = randomClassLabels(n, 3, 12);
  const normalise = (v: ArrayLike<number>) =>
    Array.from({ length: n }, (_, i) => {
      const row = Array.from({ length: dim }, (_, d) => v[i * dim + d]);
      const len = Math.hypot(...row);
      return row.map((e) => e / len);
    });
  const similarities = (v: ArrayLike<number>) => {
    const f = normalise(v);
    return f.map((a) => f.map((b) => a.reduce((s, e, k) => s + e * b[k], 0)));
  };
  const x = Float64Array.from(randomScores(n * dim, 13));
  const S0 = similarities(x);
  const frozen = (v: Float64Array) => {
    const S = similarities(v);
    let total = 0,
      rows = 0;
    for (let i = 0; i < n; i++) {
      const pos: number[] = [],
        neg: number[] = [];
      for (let j = 0; j < n; j++) {
        if (j === i) continue;
        if (labels[i] === labels[j]) pos.push(-gamma * Math.max(1 + m - S0[i][j], 0) * (S[i][j] - 1 + m));
        else neg.push(gamma * Math.max(S0[i][j] + m, 0) * (S[i][j] - m));
      }
      if (!pos.length || !neg.length) continue;
      const z = Math.log(pos.reduce((s, e) => s + Math.exp(e), 0)) + Math.log(neg.reduce((s, e) => s + Math.exp(e), 0));
      total += Math.log1p(Math.exp(z));
      rows++;
    }
    return total / rows;
  };
  it('matches finite differences of the loss with frozen weights', () => {
    const r = referencePairs({ x, labels, dim, normalize: true }, { ...BASE, loss: 'circle', m, gamma });
    expect(r.loss).toBeCloseTo(frozen(x), 12);
    expect(gradError(r.grad, finiteDifferences(frozen, x, 1e-6))).toBeLessThan(1e-6);
  });
});

// a = (1, 0) and b = (0.6, 0.8) share label 0; c = (0.8, 0.6) has label 1.
const abc = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6]);
const abcLabels = new Int32Array([0, 0, 1]);

describe('hand-computed cases', () => {
  it('Multi-Similarity: anchors a and b mine their positive and negative, c has no positive', () => {
    const half = (alpha: number, beta: number, sp: number, sn: number) =>
      Math.log1p(Math.exp(-alpha * (sp - 0.5))) / alpha + Math.log1p(Math.exp(beta * (sn - 0.5))) / beta;
    const want = (half(2, 50, 0.6, 0.8) + half(2, 50, 0.6, 0.96)) / 3;
    for (const semantics of ['pml', 'paper'] as const)
      expect(multiSimilarity(abc, abcLabels, { dim: 2, semantics, backend: 'js' }).loss).toBeCloseTo(want, 7);
  });
  it('contrastive: a and b at distance sqrt(2.4 - 2 * 0.6) ... the positive half only', () => {
    // d_ab = sqrt(2 - 1.2); the negatives are at sqrt(0.4) and sqrt(0.08), both below 1.
    const dab = Math.sqrt(0.8),
      dac = Math.sqrt(0.4),
      dbc = Math.sqrt(0.08);
    const want = dab + (1 - dac + (1 - dbc)) / 2;
    expect(contrastive(abc, abcLabels, { dim: 2, backend: 'js' }).loss).toBeCloseTo(want, 7);
  });
  it('batch-hard triplet: [m + d+ - d-]_+ over the anchors with a positive loss', () => {
    const dab = Math.sqrt(0.8),
      dac = Math.sqrt(0.4),
      dbc = Math.sqrt(0.08);
    const terms = [0.05 + dab - dac, 0.05 + dab - dbc].filter((t) => t > 0);
    const want = terms.reduce((s, t) => s + t, 0) / terms.length;
    expect(tripletBatchHard(abc, abcLabels, { dim: 2, backend: 'js' }).loss).toBeCloseTo(want, 7);
  });
  it('orthogonal projection: 1 - mean positive S + gamma mean negative S', () => {
    const sPos = 0.6,
      sNeg = (0.8 + 0.96) / 2; // each unordered pair counted twice, in both sums
    const want = 1 - (2 * sPos) / (2 + 1e-6) + (0.5 * 4 * sNeg) / (4 + 1e-6);
    expect(orthogonalProjection(abc, abcLabels, { dim: 2, backend: 'js' }).loss).toBeCloseTo(want, 7);
  });
  it('supCon: an anchor with one positive and one negative', () => {
    const t = 0.5;
    const row = (sp: number, sn: number) => -(sp / t - Math.log(Math.exp(sp / t) + Math.exp(sn / t)));
    const want = (row(0.6, 0.8) + row(0.6, 0.96)) / 2; // c has no positive: not counted
    expect(supCon(abc, abcLabels, { dim: 2, temperature: t, baseTemperature: t, backend: 'js' }).loss).toBeCloseTo(
      want,
      7,
    );
  });
  it('ntXent: two views of two rows, each pair against the other view pair', () => {
    const x = new Float32Array([1, 0, 0, 1, 0.6, 0.8, 0.8, 0.6]); // rows 0,2 and 1,3 are views
    const S = [
      [1, 0, 0.6, 0.8],
      [0, 1, 0.8, 0.6],
      [0.6, 0.8, 1, 0.96],
      [0.8, 0.6, 0.96, 1],
    ];
    const t = 0.5;
    let sum = 0;
    for (let a = 0; a < 4; a++) {
      const p = (a + 2) % 4;
      const negs = [0, 1, 2, 3].filter((k) => k !== a && k !== p);
      sum += Math.log(Math.exp(S[a][p] / t) + negs.reduce((s, k) => s + Math.exp(S[a][k] / t), 0)) - S[a][p] / t;
    }
    expect(ntXent(x, null, { dim: 2, temperature: t, backend: 'js' }).loss).toBeCloseTo(sum / 4, 7);
  });
  it('circle: softplus of the two LSEs for each anchor with both kinds of pairs', () => {
    const [m, gamma] = [0.25, 4];
    const anchor = (sp: number, sn: number) =>
      Math.log1p(Math.exp(gamma * Math.max(sn + m, 0) * (sn - m) - gamma * Math.max(1 + m - sp, 0) * (sp - 1 + m)));
    const want = (anchor(0.6, 0.8) + anchor(0.6, 0.96)) / 2;
    expect(circleLoss(abc, abcLabels, { dim: 2, m, gamma, backend: 'js' }).loss).toBeCloseTo(want, 7);
  });
});

describe('spec edge cases', () => {
  const x = randomScores(12 * 5, 11);
  const same = new Int32Array(12).fill(1);
  const unique = Int32Array.from({ length: 12 }, (_, i) => i);
  for (const [name, call] of PAIR_LOSSES) {
    it(`${name}: finite loss and gradient with all labels equal and with every label unique`, () => {
      for (const y of [same, unique]) {
        const r = call(x, y, { dim: 5, backend: 'js' });
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(r.grad.every(Number.isFinite)).toBe(true);
      }
    });
  }
  it('a loss without a negative or without a positive anywhere is 0 with a zero gradient', () => {
    const zero = [
      ...['pml', 'paper'].flatMap((semantics) =>
        [same, unique].map((y) => multiSimilarity(x, y, { dim: 5, semantics: semantics as 'pml', backend: 'js' })),
      ),
      ...[same, unique].map((y) => tripletBatchHard(x, y, { dim: 5, backend: 'js' })),
      ...[same, unique].map((y) => circleLoss(x, y, { dim: 5, backend: 'js' })),
      ...[same, unique].map((y) => ntXent(x, y, { dim: 5, backend: 'js' })),
      supCon(x, unique, { dim: 5, backend: 'js' }),
    ];
    for (const r of zero) {
      expect(r.loss).toBe(0);
      expect(r.grad.every((g) => g === 0)).toBe(true);
    }
  });
  it("Multi-Similarity: 'paper' drops exact duplicates as positives, 'pml' keeps them", () => {
    const d = new Float32Array([1, 0, 1, 0, 0.6, 0.8, 0.96, 0.28]); // the negative is close: S = 0.96
    const y = new Int32Array([0, 0, 0, 1]);
    const paper = multiSimilarity(d, y, { dim: 2, semantics: 'paper', backend: 'js' }).loss;
    const pml = multiSimilarity(d, y, { dim: 2, semantics: 'pml', backend: 'js' }).loss;
    expect(paper).not.toBeCloseTo(pml, 6);
  });
  it('contrastive: coincident rows of different classes cost the margin but give no gradient', () => {
    const d = new Float32Array([1, 0, 1, 0]);
    const r = contrastive(d, new Int32Array([0, 1]), { dim: 2, backend: 'js' });
    expect(r.loss).toBe(1);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
});
