// The float64 reference of the confusion family against central finite differences, against
// hand-computed small cases, and the custom-metric derivatives against the closed forms.
import { describe, expect, it } from 'vitest';
import { differentiateMetric, METRICS } from '../src/losses/metric';
import {
  referenceAnyLoss,
  referenceBce,
  referenceCounts,
  referenceMetric,
  referenceOverlap,
  sigmoid,
  type Counts,
  type OverlapForm,
  type RefProblem,
} from '../src/reference/confusion';
import {
  finiteDifferences,
  gradError,
  randomBinaryLabels,
  randomClassLabels,
  randomProbabilities,
  randomScores,
  randomWeights,
  relError,
} from './helpers';

const EPS = 1e-5;
const metricOf =
  (name: string, beta = 2) =>
  (c: Counts) =>
    referenceMetric(name, c, beta, EPS);

describe('reference anyLoss vs finite differences', () => {
  // A moderate amplifier keeps the loss smooth on the step scale; 73 is tested on the CPU path.
  const cases = [
    { name: 'binary logits', classes: 1, probabilities: false },
    { name: 'binary probabilities', classes: 1, probabilities: true },
    { name: 'multi-class logits', classes: 4, probabilities: false },
    { name: 'multi-class probabilities', classes: 3, probabilities: true },
  ];
  for (const metric of METRICS) {
    for (const c of cases) {
      for (const average of c.classes === 1 ? (['macro'] as const) : (['macro', 'micro'] as const)) {
        it(`${metric}, ${c.name}, ${average}`, () => {
          const rows = 23;
          const n = rows * c.classes;
          const scores = c.probabilities ? randomProbabilities(n, 11) : randomScores(n, 11);
          const labels = c.classes === 1 ? randomBinaryLabels(rows, 12, 0.4) : randomClassLabels(rows, c.classes, 12);
          const weights = randomWeights(rows, 13);
          const pb = (s: ArrayLike<number>): RefProblem => ({
            scores: s,
            labels,
            weights,
            classes: c.classes,
            probabilities: c.probabilities,
          });
          const amplifier = 6;
          const loss = (s: ArrayLike<number>) => referenceAnyLoss(pb(s), amplifier, average, metricOf(metric)).loss;
          const { grad } = referenceAnyLoss(pb(scores), amplifier, average, metricOf(metric));
          const fd = finiteDifferences(loss, scores, 1e-6);
          expect(gradError(grad, fd)).toBeLessThan(1e-6);
        });
      }
    }
  }

  it('soft labels (binary)', () => {
    const rows = 31;
    const scores = randomScores(rows, 21);
    const labels = randomProbabilities(rows, 22);
    const pb = (s: ArrayLike<number>): RefProblem => ({ scores: s, labels, classes: 1, probabilities: false });
    const loss = (s: ArrayLike<number>) => referenceAnyLoss(pb(s), 8, 'macro', metricOf('mcc')).loss;
    const fd = finiteDifferences(loss, scores, 1e-6);
    expect(gradError(referenceAnyLoss(pb(scores), 8, 'macro', metricOf('mcc')).grad, fd)).toBeLessThan(1e-6);
  });
});

describe('reference anyLoss, hand-computed', () => {
  it('binary F1 on four probabilities', () => {
    // p = [0.9, 0.1, 0.6, 0.3], y = [1, 0, 0, 1], L = 10: yhat = sigmoid(4), sigmoid(-4), sigmoid(1), sigmoid(-2)
    const s = (t: number) => 1 / (1 + Math.exp(-t));
    const yhat = [s(4), s(-4), s(1), s(-2)];
    const tp = yhat[0] + yhat[3];
    const sum = yhat.reduce((a, b) => a + b, 0);
    const f1 = (2 * tp) / (2 + sum + 1e-5); // (1 + b^2) TP / (b^2 N1 + S + eps), N1 = 2
    const pb: RefProblem = { scores: [0.9, 0.1, 0.6, 0.3], labels: [1, 0, 0, 1], classes: 1, probabilities: true };
    expect(referenceAnyLoss(pb, 10, 'macro', metricOf('f1')).loss).toBeCloseTo(1 - f1, 14);
    const c = referenceCounts(pb, 10)[0];
    expect(c.tp).toBeCloseTo(tp, 14);
    expect(c.fp).toBeCloseTo(yhat[1] + yhat[2], 14);
    expect(c.fn).toBeCloseTo(2 - tp, 14);
    expect(c.tn).toBeCloseTo(2 - yhat[1] - yhat[2], 14);
  });

  it('metrics of crisp counts match their textbook values', () => {
    const c = { tp: 40, fn: 10, fp: 20, tn: 30 };
    const m = (name: string) => referenceMetric(name, c, 2, 0).value;
    expect(m('accuracy')).toBeCloseTo(0.7, 12);
    expect(m('precision')).toBeCloseTo(40 / 60, 12);
    expect(m('recall')).toBeCloseTo(0.8, 12);
    expect(m('specificity')).toBeCloseTo(0.6, 12);
    expect(m('f1')).toBeCloseTo((2 * 40) / (2 * 40 + 10 + 20), 12);
    expect(m('fbeta')).toBeCloseTo((5 * 40) / (5 * 40 + 4 * 10 + 20), 12);
    expect(m('balanced-accuracy')).toBeCloseTo(0.7, 12);
    expect(m('gmean')).toBeCloseTo(Math.sqrt(0.8 * 0.6), 12);
    expect(m('gmean-squared')).toBeCloseTo(0.48, 12);
    expect(m('mcc')).toBeCloseTo((40 * 30 - 20 * 10) / Math.sqrt(60 * 50 * 50 * 40), 12);
    expect(m('jaccard')).toBeCloseTo(40 / 70, 12);
  });

  it('macro multi-class is the mean of one-vs-rest binary losses on the softmax', () => {
    const rows = 9,
      C = 3;
    const scores = randomScores(rows * C, 5);
    const labels = randomClassLabels(rows, C, 6);
    const multi = referenceAnyLoss(
      { scores, labels, classes: C, probabilities: false },
      20,
      'macro',
      metricOf('f1'),
    ).loss;
    let total = 0;
    for (let k = 0; k < C; k++) {
      const p = Array.from({ length: rows }, (_, i) => {
        const row = Array.from({ length: C }, (_, j) => Math.exp(scores[i * C + j]));
        return row[k] / row.reduce((a, b) => a + b, 0);
      });
      const y = Array.from(labels, (l) => (l === k ? 1 : 0));
      total += referenceAnyLoss(
        { scores: p, labels: y, classes: 1, probabilities: true },
        20,
        'macro',
        metricOf('f1'),
      ).loss;
    }
    expect(multi).toBeCloseTo(total / C, 12);
  });
});

describe('custom metric derivatives', () => {
  const counts: Counts[] = [
    { tp: 40.3, fn: 9.7, fp: 20.2, tn: 29.8 },
    { tp: 0.02, fn: 5.1, fp: 3.3, tn: 900.5 }, // near the tp = 0 edge: one-sided differences
    { tp: 1234.5, fn: 10.25, fp: 0.5, tn: 7 },
  ];
  // The closed forms of the built-ins, written here as a user would write a metric.
  const asUserFunction: Record<string, (c: Counts) => number> = {
    accuracy: (c) => (c.tp + c.tn) / (c.tp + c.fn + c.fp + c.tn + EPS),
    precision: (c) => c.tp / (c.tp + c.fp + EPS),
    recall: (c) => c.tp / (c.tp + c.fn + EPS),
    specificity: (c) => c.tn / (c.tn + c.fp + EPS),
    f1: (c) => (2 * c.tp) / (2 * c.tp + c.fn + c.fp + EPS),
    'balanced-accuracy': (c) => {
      const n1 = c.tp + c.fn,
        n0 = c.fp + c.tn;
      return (n0 * c.tp + n1 * c.tn) / (2 * n1 * n0 + EPS);
    },
    'gmean-squared': (c) => (c.tp * c.tn) / ((c.tp + c.fn) * (c.fp + c.tn) + EPS),
    mcc: (c) => (c.tp * c.tn - c.fp * c.fn) / Math.sqrt((c.tp + c.fp) * (c.tp + c.fn) * (c.tn + c.fp) * (c.tn + c.fn)),
    jaccard: (c) => c.tp / (c.tp + c.fn + c.fp + EPS),
  };
  for (const [name, f] of Object.entries(asUserFunction)) {
    for (const [j, c] of counts.entries()) {
      it(`${name}, counts #${j}`, () => {
        const want = referenceMetric(name, c, 1, EPS);
        const got = differentiateMetric('test', f, c);
        const scale = Math.max(Math.abs(want.gPos), Math.abs(want.gNeg));
        expect(relError(got.value, want.value)).toBeLessThan(1e-9);
        expect(Math.abs(got.gPos - want.gPos) / scale).toBeLessThan(1e-7);
        expect(Math.abs(got.gNeg - want.gNeg) / scale).toBeLessThan(1e-7);
      });
    }
  }

  it('never evaluates the metric at negative counts', () => {
    const seen: Counts[] = [];
    differentiateMetric('test', (c) => (seen.push(c), Math.sqrt(c.tp * c.tn)), { tp: 1e-3, fn: 4, fp: 0, tn: 2 });
    expect(seen.length).toBeGreaterThan(1);
    for (const c of seen) for (const v of Object.values(c)) expect(v).toBeGreaterThanOrEqual(0);
  });
});

describe('reference dice / tversky vs finite differences', () => {
  const dice: OverlapForm = {
    numI: 2,
    denI: 0,
    denP: 1,
    denY: 1,
    smooth: 1,
    exponent: 1,
    adjust: 0,
    perExample: false,
  };
  const forms: Record<string, OverlapForm> = {
    dice,
    'dice squared, self-adjusting': { ...dice, smooth: 0.5, exponent: 2, adjust: 0.7 },
    'dice per example, self-adjusting': { ...dice, adjust: 1.5, perExample: true },
    'tversky 0.3/0.7': { ...dice, numI: 1, denP: 0.3, denY: 0.7 },
  };
  for (const [name, form] of Object.entries(forms)) {
    for (const classes of [1, 4]) {
      for (const probabilities of [false, true]) {
        it(`${name}, classes ${classes}, ${probabilities ? 'probabilities' : 'logits'}`, () => {
          const rows = 17,
            n = rows * classes;
          const scores = probabilities ? randomProbabilities(n, 31) : randomScores(n, 31);
          const labels = classes === 1 ? randomBinaryLabels(rows, 32) : randomClassLabels(rows, classes, 32);
          const weights = randomWeights(rows, 33);
          const pb = (s: ArrayLike<number>): RefProblem => ({ scores: s, labels, weights, classes, probabilities });
          const fd = finiteDifferences((s) => referenceOverlap(pb(s), form).loss, scores, 1e-6);
          expect(gradError(referenceOverlap(pb(scores), form).grad, fd)).toBeLessThan(1e-6);
        });
      }
    }
  }

  it('Tversky with alpha = beta = 1/2 is Dice with twice the smoothing (formulas B.1)', () => {
    const scores = randomScores(40, 3),
      labels = randomBinaryLabels(40, 4);
    const pb: RefProblem = { scores, labels, classes: 1, probabilities: false };
    const tversky = referenceOverlap(pb, { ...dice, numI: 1, denP: 0.5, denY: 0.5, smooth: 0.5 });
    expect(tversky.loss).toBeCloseTo(referenceOverlap(pb, dice).loss, 14);
  });
});

describe('reference binary cross-entropy', () => {
  it('matches finite differences with weights and posWeight', () => {
    const scores = randomScores(25, 41, 3),
      labels = randomProbabilities(25, 42),
      weights = randomWeights(25, 43);
    const pb = (s: ArrayLike<number>): RefProblem => ({ scores: s, labels, weights, classes: 1, probabilities: false });
    const fd = finiteDifferences((s) => referenceBce(pb(s), 2.5, 'mean').loss, scores, 1e-6);
    expect(gradError(referenceBce(pb(scores), 2.5, 'mean').grad, fd)).toBeLessThan(1e-7);
  });

  it('is -log sigmoid(x) for a positive and -log(1 - sigmoid(x)) for a negative', () => {
    const r = referenceBce({ scores: [0.3, -1.2], labels: [1, 0], classes: 1, probabilities: false }, 1, 'sum');
    expect(r.loss).toBeCloseTo(-Math.log(sigmoid(0.3)) - Math.log(1 - sigmoid(-1.2)), 14);
  });
});
