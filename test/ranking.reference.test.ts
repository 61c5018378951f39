// The float64 reference of the ranking family against central finite differences, against
// hand-computed small cases, and on the edge cases of formulas C and D.
import { describe, expect, it } from 'vitest';
import {
  lse,
  referenceLambdaLoss,
  referenceListMLE,
  referenceListNet,
  referencePlackettLuceDistill,
  referenceRankList,
  referenceRankNet,
  type RefLists,
} from '../src/reference/ranking';
import { sigmoid, softplus } from '../src/reference/confusion';
import { finiteDifferences, gradError, randomScores } from './helpers';
import { listBatch, rankingCases } from './ranking.cases';

describe('reference vs finite differences', () => {
  // Ragged lists with padding and ties; padded scores replaced by 0 (they must not matter).
  const b = listBatch([6, 1, 0, 7, 5, 2], 3, { grades: 3, padding: 0.15 });
  const scores = Float64Array.from(b.scores, (v) => (Number.isNaN(v) ? 0 : v));
  for (const c of rankingCases()) {
    it(c.name, () => {
      const pb = (s: ArrayLike<number>): RefLists => ({ scores: s, relevance: b.relevance, offsets: b.offsets });
      const { grad } = c.reference(pb(scores));
      const fd = finiteDifferences((s) => c.reference(pb(s)).loss, scores, 1e-6);
      expect(gradError(grad, fd)).toBeLessThan(1e-6);
      b.relevance.forEach((r, i) => r === -1 && expect(grad[i]).toBe(0));
      expect(grad.some((g) => g !== 0)).toBe(true);
    });
  }
  it('plackettLuceDistill', () => {
    const rows = 5,
      C = 7;
    const student = Float64Array.from(randomScores(rows * C, 4, 2));
    const teacher = randomScores(rows * C, 5, 3);
    const labels = [0, 6, 3, 3, 1];
    const loss = (s: ArrayLike<number>) =>
      referencePlackettLuceDistill({ student: s, teacher, labels, classes: C }, 2).loss;
    const { grad } = referencePlackettLuceDistill({ student, teacher, labels, classes: C }, 2);
    expect(gradError(grad, finiteDifferences(loss, student, 1e-6))).toBeLessThan(1e-6);
  });
});

const one = (scores: number[], relevance: number[]): RefLists => ({
  scores,
  relevance,
  offsets: [0, scores.length],
});

describe('hand-computed', () => {
  it('ListMLE of two items is softplus(s_2 - s_1); three items by the partition sums', () => {
    expect(referenceListMLE(one([0.3, 1.1], [2, 1]), { topK: 0, shuffle: false, seed: 0 }).loss).toBeCloseTo(
      softplus(1.1 - 0.3),
      14,
    );
    const s = [0.5, -1, 2];
    // order by relevance: items 2, 0, 1
    const expected =
      Math.log(Math.exp(2) + Math.exp(0.5) + Math.exp(-1)) - 2 + Math.log(Math.exp(0.5) + Math.exp(-1)) - 0.5;
    expect(referenceListMLE(one(s, [1, 0, 3]), { topK: 0, shuffle: false, seed: 0 }).loss).toBeCloseTo(expected, 14);
  });
  it('RankList on three ordered items: exact, lse and anchor', () => {
    const s = [1, 0.2, 0.7];
    const pb = one(s, [3, 2, 1]);
    const d = [s[1] - s[0], s[2] - s[0], s[2] - s[1]];
    const exact = d.reduce((a, x) => a + softplus(x), 0);
    expect(referenceRankList(pb, { form: 'exact', skip: 0, margin: 0 }).loss).toBeCloseTo(exact, 14);
    expect(referenceRankList(pb, { form: 'lse', skip: 0, margin: 0 }).loss).toBeCloseTo(
      Math.log(1 + d.reduce((a, x) => a + Math.exp(x), 0)),
      14,
    );
    const anchor = Math.log(1 + Math.exp(d[0]) + Math.exp(d[1])) + Math.log(1 + Math.exp(d[2]));
    expect(referenceRankList(pb, { form: 'anchor', skip: 0, margin: 0 }).loss).toBeCloseTo(anchor, 14);
    // skip 1: adjacent pairs only; margin 1.5: only the pair (3, 1)
    expect(referenceRankList(pb, { form: 'exact', skip: 1, margin: 0 }).loss).toBeCloseTo(
      softplus(d[0]) + softplus(d[2]),
      14,
    );
    expect(referenceRankList(pb, { form: 'exact', skip: 0, margin: 1.5 }).loss).toBeCloseTo(softplus(d[1]), 14);
  });
  it('ListNet of two items: softmax targets and normalised targets', () => {
    const s = [0.4, -0.6],
      r = [1, 0];
    const t = [Math.exp(1) / (Math.exp(1) + 1), 1 / (Math.exp(1) + 1)];
    const ce = (tt: number[], x: number[]) => lse(x) - tt[0] * x[0] - tt[1] * x[1];
    expect(referenceListNet(one(s, r), 'softmax', 1).loss).toBeCloseTo(ce(t, s), 14);
    expect(referenceListNet(one(s, r), 'normalize', 2).loss).toBeCloseTo(ce([1, 0], [0.2, -0.3]), 14);
  });
  it('RankNet: one pair per list, mean over the pairs of the batch', () => {
    const pb: RefLists = { scores: [1, 2, 0.5, 0, 3], relevance: [1, 0, 2, 2, 2], offsets: [0, 2, 5] };
    // list 0: pair (0 > 1); list 1: all tied, no pair
    const r = referenceRankNet(pb, 2, 'none');
    expect(r.loss).toBeCloseTo(softplus(-2 * (1 - 2)), 14);
    expect(r.grad[0]).toBeCloseTo(-2 * sigmoid(2), 14);
    expect([...r.grad.slice(2)]).toEqual([0, 0, 0]);
  });
  it('LambdaLoss lambdaRank on two items by the formula', () => {
    // predicted order: item 1 (s 2) then item 0 (s 1); relevance 2 and 0
    const pb = one([1, 2], [2, 0]);
    const maxDcg = 3 / Math.log2(2);
    const w = Math.abs(1 / Math.log2(3) - 1 / Math.log2(2)) * Math.abs(3 / maxDcg - 0);
    const r = referenceLambdaLoss(pb, {
      scheme: 'lambdaRank',
      k: 0,
      sigma: 1,
      mu: 10,
      reduction: 'sum',
      normalize: true,
    });
    expect(r.loss).toBeCloseTo((w * softplus(-(1 - 2))) / Math.LN2, 14);
  });
  it('PLD: a one-hot teacher gives cross-entropy, a flat teacher ListMLE / C', () => {
    const C = 5;
    const s = [0.3, -1, 2, 0.1, 0.5];
    const sharp = referencePlackettLuceDistill({ student: s, teacher: [0, 0, 0, 50, 0], labels: [3], classes: C }, 1);
    expect(sharp.loss).toBeCloseTo(lse(s) - s[3], 10);
    const flat = referencePlackettLuceDistill({ student: s, teacher: [1, 1, 1, 1, 1], labels: [2], classes: C }, 4);
    const pl = referenceListMLE(one(s, [3, 3, 4, 3, 3]), { topK: 0, shuffle: false, seed: 0 });
    expect(flat.loss).toBeCloseTo(pl.loss / C, 14);
  });
});

describe('spec edge cases', () => {
  const mle = { topK: 0, shuffle: false, seed: 0 };
  it('empty lists, lists of one item and all-padded lists contribute 0 (and count in the mean)', () => {
    const pb: RefLists = { scores: [5, 0.1, 0.2, 9, 9], relevance: [1, 2, 0, -1, -1], offsets: [0, 0, 1, 3, 5] };
    const two = referenceListMLE({ scores: [0.1, 0.2], relevance: [2, 0], offsets: [0, 2] }, mle);
    const r = referenceListMLE(pb, mle);
    expect(r.loss).toBeCloseTo(two.loss / 4, 14);
    expect([r.grad[0], r.grad[3], r.grad[4]]).toEqual([0, 0, 0]);
  });
  it('a list of ties has no constrained pair: RankList, RankNet and LambdaLoss give 0', () => {
    const pb = one([0.3, -2, 1], [1, 1, 1]);
    for (const form of ['lse', 'exact', 'anchor'] as const) {
      const r = referenceRankList(pb, { form, skip: 0, margin: 0 });
      expect(r.loss).toBe(0);
      expect(r.grad.every((g) => g === 0)).toBe(true);
    }
    expect(referenceRankNet(pb, 1, 'none').loss).toBe(0);
    expect(
      referenceLambdaLoss(pb, { scheme: 'none', k: 0, sigma: 1, mu: 10, reduction: 'mean', normalize: true }).loss,
    ).toBe(0);
  });
  it("ListNet 'normalize' drops a list whose relevance sums to 0", () => {
    const r = referenceListNet(one([1, 2], [0, 0]), 'normalize', 1);
    expect(r.loss).toBe(0);
    expect(r.grad.every((g) => g === 0)).toBe(true);
  });
  it('RankList: anchor over C_1 equals exact over C_1; lse <= exact; anchor over all pairs equals ListMLE', () => {
    const s = randomScores(9, 8, 2);
    const pb = one([...s], [8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const rl = (form: 'lse' | 'exact' | 'anchor', skip: number) =>
      referenceRankList(pb, { form, skip, margin: 0 }).loss;
    expect(rl('anchor', 1)).toBeCloseTo(rl('exact', 1), 12);
    expect(rl('lse', 0)).toBeLessThanOrEqual(rl('exact', 0));
    expect(rl('anchor', 0)).toBeCloseTo(referenceListMLE(pb, mle).loss, 12);
  });
  it('ListMLE ties: index order by default, a seeded permutation with shuffle', () => {
    const pb = one([3, 0, -1, 2, 1, 0.5], [1, 1, 1, 1, 1, 1]);
    const byIndex = referenceListMLE(pb, mle).loss;
    const fromSeed = (seed: number) => referenceListMLE(pb, { ...mle, shuffle: true, seed }).loss;
    expect(fromSeed(1)).toBe(fromSeed(1));
    const seen = new Set([byIndex, ...[1, 2, 3, 4, 5].map(fromSeed)]);
    expect(seen.size).toBeGreaterThan(2);
  });
});
