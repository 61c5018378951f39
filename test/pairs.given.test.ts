// Given pairs and triplets (options.pairs / options.triplets, formulas E.8) on the native CPU
// kernels and every GPU backend this build has, against the float64 reference: odd sizes, both
// normalisations, both reductions, repeats, a "positive" of two labels, self pairs, an anchor with
// no given pair; empty tuples (loss 0, zero gradient); the tuple of every label pair equal to the
// plain loss; triplets from pairs by anchor; thread-count determinism; refused inputs.
import { describe, expect, it } from 'vitest';
import {
  circleLoss,
  contrastive,
  contrastiveAsync,
  getThreads,
  multiSimilarity,
  setThreads,
  tripletBatchHard,
  type Backend,
  type GivenPairs,
  type GivenTriplets,
  type LossResult,
  type TupleOptions,
} from '../src';
import { bitwiseEqual, expectAgree, expectError, gpuBackends, randomClassLabels, randomScores } from './helpers';
import { NATIVE } from './native-backend';
import { mulberry32 } from '../src/random';

type Call = (x: Float32Array, y: Int32Array, o: object) => LossResult;

const LOSSES: [string, Call][] = [
  ['multiSimilarity pml', (x, y, o) => multiSimilarity(x, y, o)],
  ['multiSimilarity pml unmined', (x, y, o) => multiSimilarity(x, y, { ...o, mining: false })],
  ['multiSimilarity paper', (x, y, o) => multiSimilarity(x, y, { ...o, semantics: 'paper' })],
  ['contrastive', (x, y, o) => contrastive(x, y, { ...o, negMargin: 1.2, posMargin: 0.1 })],
  ['tripletBatchHard', (x, y, o) => tripletBatchHard(x, y, { ...o, margin: 0.3 })],
  ['tripletBatchHard soft', (x, y, o) => tripletBatchHard(x, y, { ...o, softMargin: true })],
  ['circleLoss', (x, y, o) => circleLoss(x, y, o)],
];

/** Random pairs of rows < n (row n - 1 never an anchor), with repeats and self pairs added. */
function randomPairs(n: number, count: number, seed: number): GivenPairs {
  const rand = mulberry32(seed);
  const pick = () => Math.floor(rand() * Math.max(n - 1, 1));
  const a1 = Array.from({ length: count }, pick),
    p = Array.from({ length: count }, pick);
  const a2 = Array.from({ length: count + 3 }, pick),
    ng = Array.from({ length: count + 3 }, pick);
  if (count > 2) {
    a1.push(a1[0], a1[1], 2 % n); // repeats and a self pair
    p.push(p[0], p[1], 2 % n);
    a2.push(a2[0]);
    ng.push(ng[0]);
  }
  return { a1: Int32Array.from(a1), p: Int32Array.from(p), a2: Int32Array.from(a2), n: Int32Array.from(ng) };
}

function randomTriplets(n: number, count: number, seed: number): GivenTriplets {
  const rand = mulberry32(seed);
  const pick = () => Math.floor(rand() * n);
  const anchor = Int32Array.from({ length: count }, pick);
  return { anchor, positive: anchor.map(pick), negative: anchor.map(pick) };
}

/** Every pair the labels define, as pair lists (the self pair left out). */
function labelPairs(y: Int32Array): GivenPairs {
  const a1: number[] = [],
    p: number[] = [],
    a2: number[] = [],
    n: number[] = [];
  y.forEach((yi, i) =>
    y.forEach((yj, j) => {
      if (i !== j && yi === yj) {
        a1.push(i);
        p.push(j);
      }
      if (yi !== yj) {
        a2.push(i);
        n.push(j);
      }
    }),
  );
  return { a1, p, a2, n };
}

// 'js' too: the reference's given pairs against its own plain losses (the equivalence tests).
const backends: { backend: Backend; skip: string | false }[] = [
  { backend: 'js', skip: false },
  { backend: NATIVE, skip: false },
  ...gpuBackends().map((g) => ({ ...g, backend: g.backend })),
];

for (const { backend, skip } of backends) {
  describe.skipIf(skip)(`given pairs and triplets on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    for (const [name, call] of LOSSES) {
      describe(name, () => {
        const both = (x: Float32Array, y: Int32Array, o: object, what = '') =>
          expectAgree(call(x, y, { ...o, backend }), call(x, y, { ...o, backend: 'js' }), what);
        for (const [N, D, K] of [
          [3, 5, 4],
          [37, 13, 60],
          [101, 7, 500],
        ] as const) {
          it.skipIf(backend === 'js')(
            `N = ${N}, D = ${D}: ${K} pairs, ${K} triplets; both normalisations and reductions`,
            () => {
              const y = randomClassLabels(N, 4, N);
              for (const reduction of ['mean', 'none'] as const) {
                const tuples: TupleOptions[] = [
                  { pairs: randomPairs(N, K, 3 * N) },
                  { triplets: randomTriplets(N, K, 5 * N) },
                ];
                for (const t of tuples) {
                  const what = `${reduction} ${Object.keys(t)[0]}`;
                  both(randomScores(N * D, 7 * N + D), y, { dim: D, reduction, ...t }, what);
                  both(randomScores(N * D, 8 * N + D, 0.15), y, { dim: D, reduction, normalize: false, ...t }, what);
                }
              }
            },
          );
        }
        it('empty tuples: loss 0 and a zero gradient', () => {
          const x = randomScores(9 * 4, 1),
            y = randomClassLabels(9, 3, 2);
          const empty = new Int32Array(0);
          for (const t of [
            { pairs: { a1: empty, p: empty, a2: empty, n: empty } },
            { triplets: { anchor: [], positive: [], negative: [] } },
          ]) {
            for (const reduction of ['mean', 'none'] as const) {
              const r = call(x, y, { dim: 4, backend, reduction, ...t });
              expect(Array.from(typeof r.loss === 'number' ? [r.loss] : r.loss).every((v) => v === 0)).toBe(true);
              expect(r.grad.every((v) => v === 0)).toBe(true);
            }
          }
        });
      });
    }

    it('the tuple of every label pair is the plain loss (contrastive, multiSimilarity, circleLoss)', () => {
      const [N, D] = [29, 11];
      const x = randomScores(N * D, 91),
        y = randomClassLabels(N, 5, 92);
      const pairs = labelPairs(y);
      for (const [name, call] of LOSSES.filter(([n]) => !n.startsWith('triplet'))) {
        for (const reduction of ['mean', 'none'] as const) {
          const o = { dim: D, reduction, backend };
          expectAgree(call(x, y, { ...o, pairs }), call(x, y, o), `${name} ${reduction}`);
        }
      }
    });

    it("tripletBatchHard given each anchor's hardest triplet is the plain loss", () => {
      const [N, D] = [31, 9];
      const x = randomScores(N * D, 93),
        y = randomClassLabels(N, 4, 94);
      // The hardest positive and negative per anchor from float64 distances of the normalised rows.
      const rows = Array.from({ length: N }, (_, i) => {
        const r = Array.from(x.subarray(i * D, (i + 1) * D));
        const len = Math.hypot(...r);
        return r.map((v) => v / len);
      });
      const dist = (i: number, j: number) => Math.hypot(...rows[i].map((v, d) => v - rows[j][d]));
      const anchor: number[] = [],
        positive: number[] = [],
        negative: number[] = [];
      for (let i = 0; i < N; i++) {
        const others = [...Array(N).keys()].filter((j) => j !== i);
        const pos = others.filter((j) => y[j] === y[i]),
          neg = others.filter((j) => y[j] !== y[i]);
        if (!pos.length || !neg.length) continue;
        anchor.push(i);
        positive.push(pos.reduce((a, j) => (dist(i, j) > dist(i, a) ? j : a)));
        negative.push(neg.reduce((a, j) => (dist(i, j) < dist(i, a) ? j : a)));
      }
      for (const o of [{ margin: 0.3 }, { softMargin: true }, { margin: 0.3, reduction: 'none' as const }]) {
        const opts = { dim: D, backend, ...o };
        expectAgree(
          tripletBatchHard(x, y, { ...opts, triplets: { anchor, positive, negative } }),
          tripletBatchHard(x, y, opts),
        );
      }
    });

    it('tripletBatchHard given pairs: each positive pair with each negative pair of its anchor', () => {
      const [N, D] = [17, 6];
      const x = randomScores(N * D, 95),
        y = randomClassLabels(N, 3, 96);
      const pairs = randomPairs(N, 30, 97);
      const anchor: number[] = [],
        positive: number[] = [],
        negative: number[] = [];
      pairs.a1.forEach((a, i) =>
        pairs.a2.forEach((b, j) => {
          if (a !== b) return;
          anchor.push(a);
          positive.push(pairs.p[i]);
          negative.push(pairs.n[j]);
        }),
      );
      expect(anchor.length).toBeGreaterThan(10);
      const o = { dim: D, backend, margin: 0.5 };
      expectAgree(
        tripletBatchHard(x, y, { ...o, pairs }),
        tripletBatchHard(x, y, { ...o, triplets: { anchor, positive, negative } }),
      );
    });
  });
}

describe('given pairs: conventions', () => {
  const [N, D] = [12, 5];
  const x = randomScores(N * D, 71),
    y = randomClassLabels(N, 3, 72);
  for (const backend of ['js', NATIVE] as const) {
    it(`repeats: a set for multiSimilarity and circleLoss, terms of their own for contrastive (${backend})`, () => {
      const once = { a1: [0, 1, 4], p: [1, 2, 5], a2: [0, 0, 3, 7], n: [3, 6, 1, 2] };
      const twice = { a1: [0, 1, 4, 4], p: [1, 2, 5, 5], a2: [0, 0, 3, 7, 0], n: [3, 6, 1, 2, 6] };
      const o = { dim: D, backend };
      for (const f of [LOSSES[0][1], LOSSES[6][1]])
        expectAgree(f(x, y, { ...o, pairs: twice }), f(x, y, { ...o, pairs: once }));
      // contrastive: each half the mean over its non-zero terms, the repeat counted again.
      const d = (i: number, j: number) => {
        const a = Array.from(x.subarray(i * D, (i + 1) * D)),
          b = Array.from(x.subarray(j * D, (j + 1) * D));
        const na = Math.hypot(...a),
          nb = Math.hypot(...b);
        return Math.hypot(...a.map((v, k) => v / na - b[k] / nb));
      };
      const pos = twice.a1.map((a, k) => Math.max(d(a, twice.p[k]) - 0.1, 0)).filter((v) => v > 0);
      const neg = twice.a2.map((a, k) => Math.max(1.2 - d(a, twice.n[k]), 0)).filter((v) => v > 0);
      const want = pos.reduce((s, v) => s + v, 0) / pos.length + neg.reduce((s, v) => s + v, 0) / (neg.length || 1);
      expect(LOSSES[3][1](x, y, { ...o, pairs: twice }).loss).toBeCloseTo(want, 5);
    });
    it(`labels are not consulted: a "positive" of two labels counts as given (${backend})`, () => {
      const pairs = { a1: [0], p: [1], a2: [0], n: [2] };
      const o = { dim: D, backend, pairs };
      const relabelled = new Int32Array(N).map((_, i) => i); // every label unique
      for (const f of [LOSSES[0][1], LOSSES[6][1], LOSSES[3][1]]) expectAgree(f(x, relabelled, o), f(x, y, o));
    });
  }
  it('the Promise twins take them too, off the main thread', async () => {
    const pairs = { a1: [0, 1, 4], p: [1, 2, 5], a2: [0, 0, 3, 7], n: [3, 6, 1, 2] };
    const o = { dim: D, backend: NATIVE, pairs };
    const got = await contrastiveAsync(x, y, o);
    expect(got.loss).toBe(contrastive(x, y, o).loss);
    expect(bitwiseEqual(got.grad, contrastive(x, y, o).grad)).toBe(true);
  });
  it('results do not depend on the thread count', () => {
    const before = getThreads();
    const [n, d] = [300, 20];
    const xs = randomScores(n * d, 81),
      ys = randomClassLabels(n, 7, 82);
    const pairs = randomPairs(n, 5000, 83);
    try {
      for (const [, call] of LOSSES) {
        setThreads(1);
        const one = call(xs, ys, { dim: d, pairs, backend: NATIVE });
        setThreads(Math.max(2, before));
        const many = call(xs, ys, { dim: d, pairs, backend: NATIVE });
        expect(one.loss).toBe(many.loss);
        expect(bitwiseEqual(one.grad, many.grad)).toBe(true);
      }
    } finally {
      setThreads(before);
    }
  });
});

describe('given pairs: refused inputs', () => {
  const x = randomScores(10 * 3, 1),
    y = randomClassLabels(10, 2, 2);
  const INVALID = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
    TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE';
  for (const backend of ['js', NATIVE] as const) {
    const o = { dim: 3, backend };
    it(`indices out of range name the option and the batch size (${backend})`, () => {
      expectError(
        () => contrastive(x, y, { ...o, pairs: { a1: [0, 1], p: [2, 10], a2: [], n: [] } }),
        RangeError,
        INVALID,
        'options.pairs.p[1] = 10',
        'batch of 10',
      );
      expectError(
        () => tripletBatchHard(x, y, { ...o, triplets: { anchor: [-1], positive: [0], negative: [1] } }),
        RangeError,
        INVALID,
        'options.triplets.anchor[0] = -1',
      );
    });
    it(`shapes, both options, the reference (${backend})`, () => {
      expectError(
        () => circleLoss(x, y, { ...o, pairs: { a1: [0, 1], p: [2], a2: [], n: [] } }),
        RangeError,
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        'options.pairs.p',
      );
      expectError(
        () => circleLoss(x, y, { ...o, pairs: { a1: [0], p: [1.5], a2: [], n: [] } }),
        TypeError,
        TYPE,
        'options.pairs.p[0]',
      );
      expectError(() => circleLoss(x, y, { ...o, pairs: [0, 1] as never }), TypeError, TYPE, 'options.pairs');
      expectError(
        () => circleLoss(x, y, { ...o, pairs: { a1: [], p: [], a2: [] } as never }),
        TypeError,
        TYPE,
        'options.pairs.n',
      );
      expectError(
        () => circleLoss(x, y, { ...o, pairs: { a1: [], p: [], a2: [], n: [], b: [] } as never }),
        TypeError,
        'ERR_FUSEDLOSS_UNKNOWN_OPTION',
        'options.pairs.b',
      );
      expectError(
        () =>
          multiSimilarity(x, y, {
            ...o,
            pairs: { a1: [], p: [], a2: [], n: [] },
            triplets: { anchor: [], positive: [], negative: [] },
          }),
        RangeError,
        INVALID,
        'not both',
      );
      expectError(
        () =>
          multiSimilarity(x, y, {
            ...o,
            reference: x,
            referenceLabels: y,
            pairs: { a1: [], p: [], a2: [], n: [] },
          }),
        RangeError,
        INVALID,
        'options.reference',
      );
    });
  }
});
