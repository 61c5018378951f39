// The pair losses' options beyond the defaults (docs/metric-learning.md, "Conventions"): each in
// the float64 reference (its gradient against finite differences, its loss against the mean form
// or an independent formula), then the native CPU kernels and the CUDA kernels (every GPU backend
// this build has) against the reference at odd sizes.
import { describe, expect, it } from 'vitest';
import {
  contrastive,
  multiSimilarity,
  orthogonalProjection,
  supCon,
  type Backend,
  type LossResult,
  type PairOptions,
} from '../src';
import { PAIR_DEFAULTS } from '../src/losses/pairs';
import { pairDistance, referencePairs, type PairRefParams } from '../src/reference/pairs';
import {
  expectError,
  finiteDifferences,
  expectAgree,
  gpuBackends,
  gradError,
  randomClassLabels,
  randomScores,
  relError,
} from './helpers';
import { NATIVE } from './native-backend';
import { PER_ANCHOR, type PerAnchorCall } from './pairs.fixtures';

const BASE: PairRefParams = { ...PAIR_DEFAULTS, loss: 'multi-similarity' };

/** Row losses within 1e-5 relative (1e-6 absolute near 0), gradients within 1e-4 of the largest entry. */
function expectRowsAgree(a: { loss: Float32Array; grad: Float32Array }, b: { loss: Float32Array; grad: Float32Array }) {
  expect(a.loss.length).toBe(b.loss.length);
  a.loss.forEach((v, i) =>
    expect(Math.abs(v - b.loss[i])).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(b.loss[i]), 0.1)),
  );
  expect(gradError(a.grad, b.grad)).toBeLessThan(1e-4);
}

const normalised = (x: ArrayLike<number>, n: number, dim: number) =>
  Array.from({ length: n }, (_, i) => {
    const row = Array.from({ length: dim }, (_, d) => x[i * dim + d]);
    const len = Math.hypot(...row);
    return row.map((v) => v / len);
  });

describe("reduction 'none' in the reference (float64)", () => {
  const [n, dim] = [9, 4];
  const x = Float64Array.from(randomScores(n * dim, 5));
  const labels = randomClassLabels(n, 3, 6);
  // Circle's gradient holds a_p, a_n constant (formulas E.4), not the loss's derivative: below.
  for (const [name, params] of PER_ANCHOR.filter(([k]) => k !== 'circle')) {
    it(`${name}: per-anchor losses sum to the loss, whose gradient is the finite differences'`, () => {
      const p = { ...BASE, ...params, reduction: 'none' as const };
      const r = referencePairs({ x, labels, dim, normalize: true }, p);
      const rows = r.rowLoss!;
      expect(rows.length).toBe(n);
      expect(rows.some((v) => v !== 0)).toBe(true);
      expect(r.loss).toBeCloseTo(
        rows.reduce((a, v) => a + v, 0),
        12,
      );
      const f = (v: Float64Array) => referencePairs({ x: v, labels, dim, normalize: true }, p).loss;
      expect(gradError(r.grad, finiteDifferences(f, x, 1e-6))).toBeLessThan(1e-6);
    });
  }

  // The mean forms are held against hand-computed cases in pairs.reference.test.ts; here the
  // per-anchor losses are held against them, each with the count its mean divides by.
  const has = (i: number, kind: 'pos' | 'neg') =>
    Array.from(labels).some((l, j) => j !== i && (kind === 'pos' ? l === labels[i] : l !== labels[i]));
  const count = (f: (i: number) => boolean) => Array.from({ length: n }, (_, i) => i).filter(f).length;
  const positivePairs = Array.from(labels).reduce((a, _, i) => a + count((j) => j !== i && labels[j] === labels[i]), 0);
  const denominators: Record<string, (rows: Float64Array) => number> = {
    'multi-similarity pml': () => n,
    'triplet hinge': (rows) => rows.filter((v) => v > 0).length,
    circle: () => count((i) => has(i, 'pos') && has(i, 'neg')),
    supcon: () => count((i) => has(i, 'pos')),
    'nt-xent': () => positivePairs,
  };
  for (const [name, params] of PER_ANCHOR.filter(([k]) => k in denominators)) {
    it(`${name}: the mean form is the per-anchor sum over its count`, () => {
      const p = { ...BASE, ...params };
      const rows = referencePairs({ x, labels, dim, normalize: true }, { ...p, reduction: 'none' }).rowLoss!;
      const mean = referencePairs({ x, labels, dim, normalize: true }, p).loss;
      expect(rows.reduce((a, v) => a + v, 0) / denominators[name](rows)).toBeCloseTo(mean, 12);
    });
  }

  it('circle: the gradient of the sum is the count times the gradient of the mean', () => {
    const p = { ...BASE, ...PER_ANCHOR.find(([k]) => k === 'circle')![1] };
    const sum = referencePairs({ x, labels, dim, normalize: true }, { ...p, reduction: 'none' });
    const mean = referencePairs({ x, labels, dim, normalize: true }, p);
    const k = denominators.circle(sum.rowLoss!);
    expect(
      gradError(
        sum.grad,
        mean.grad.map((g) => g * k),
      ),
    ).toBeLessThan(1e-12);
  });

  it("contrastive: an anchor's loss is the sum of its pairs' hinge terms", () => {
    const f = normalised(x, n, dim);
    const want = f.map((a, i) =>
      f.reduce((s, b, j) => {
        if (j === i) return s;
        const d = pairDistance(a, b);
        return s + (labels[i] === labels[j] ? Math.max(d, 0) : Math.max(1.2 - d, 0));
      }, 0),
    );
    const r = contrastive(Float32Array.from(x), labels, { dim, negMargin: 1.2, reduction: 'none', backend: 'js' });
    r.loss.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it('cross-batch Multi-Similarity: one loss per query, both gradients of their sum', () => {
    const [m, refRows] = [6, 8];
    const q = Float64Array.from(randomScores(m * dim, 7)),
      ref = Float64Array.from(randomScores(refRows * dim, 8));
    const ql = randomClassLabels(m, 2, 9),
      rl = randomClassLabels(refRows, 2, 10);
    const p = { ...BASE, beta: 10, reduction: 'none' as const };
    const at = (a: Float64Array, b: Float64Array) =>
      referencePairs({ x: a, labels: ql, dim, ref: b, refLabels: rl, normalize: true }, p);
    const r = at(q, ref);
    expect(r.rowLoss!.length).toBe(m);
    expect(
      gradError(
        r.grad,
        finiteDifferences((v) => at(v, ref).loss, q, 1e-6),
      ),
    ).toBeLessThan(1e-6);
    expect(
      gradError(
        r.refGrad!,
        finiteDifferences((v) => at(q, v).loss, ref, 1e-6),
      ),
    ).toBeLessThan(1e-6);
  });
});

describe('Multi-Similarity without mining (mining: false)', () => {
  // PML's MultiSimilarityLoss without a miner, from its definition: per anchor both halves over
  // every positive (j != i) and every negative pair, mean over all N anchors.
  const [n, dim] = [11, 5];
  const x = Float64Array.from(randomScores(n * dim, 15));
  const labels = Int32Array.from([0, 0, 0, 1, 1, 2, 2, 2, 3, 4, 4]); // class 3: one row, no positive
  const p = { ...BASE, alpha: 2, beta: 10, base: 0.5, mining: false };
  it("the loss is PML's unmined definition, an anchor without a positive keeping its negative half", () => {
    const f = normalised(x, n, dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let sp = 0,
        sn = 0;
      for (let j = 0; j < n; j++) {
        const s = f[i].reduce((a, v, d) => a + v * f[j][d], 0);
        if (j !== i && labels[j] === labels[i]) sp += Math.exp(-p.alpha * (s - p.base));
        if (labels[j] !== labels[i]) sn += Math.exp(p.beta * (s - p.base));
      }
      total += Math.log1p(sp) / p.alpha + Math.log1p(sn) / p.beta;
    }
    const r = multiSimilarity(Float32Array.from(x), labels, { dim, alpha: 2, beta: 10, mining: false, backend: 'js' });
    expect(r.loss).toBeCloseTo(total / n, 5);
    const mined = multiSimilarity(Float32Array.from(x), labels, { dim, alpha: 2, beta: 10, backend: 'js' });
    expect(mined.loss).not.toBeCloseTo(r.loss, 3);
  });
  it('its gradient is the finite differences of the loss', () => {
    const f = (v: Float64Array) => referencePairs({ x: v, labels, dim, normalize: true }, p).loss;
    const r = referencePairs({ x, labels, dim, normalize: true }, p);
    expect(gradError(r.grad, finiteDifferences(f, x, 1e-6))).toBeLessThan(1e-6);
  });
});

describe("SupCon's mean over every anchor (meanOver: 'all')", () => {
  // a = (1, 0) and b = (0.6, 0.8) share label 0; c = (0.8, 0.6) has label 1 and no positive.
  const abc = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6]);
  it("the authors' code: the anchors' terms over all 3 anchors, c counting 0", () => {
    const t = 0.5;
    const row = (sp: number, sn: number) => -(sp / t - Math.log(Math.exp(sp / t) + Math.exp(sn / t)));
    const o = { dim: 2, temperature: t, baseTemperature: t, backend: 'js' as const };
    const all = supCon(abc, Int32Array.from([0, 0, 1]), { ...o, meanOver: 'all' });
    expect(all.loss).toBeCloseTo((row(0.6, 0.8) + row(0.6, 0.96)) / 3, 7);
    const some = supCon(abc, Int32Array.from([0, 0, 1]), o);
    expect(
      gradError(
        all.grad,
        some.grad.map((g) => (g * 2) / 3),
      ),
    ).toBeLessThan(1e-6);
  });
});

/** The options of this file as calls, for the native and CUDA comparisons. */
const OPTION_CASES: [string, (x: Float32Array, y: Int32Array, o: PairOptions) => LossResult][] = [
  ['multiSimilarity mining false', (x, y, o) => multiSimilarity(x, y, { ...o, mining: false })],
  [
    'multiSimilarity paper, mining false',
    (x, y, o) => multiSimilarity(x, y, { ...o, semantics: 'paper', mining: false }),
  ],
  ["supCon meanOver 'all'", (x, y, o) => supCon(x, y, { ...o, meanOver: 'all' })],
];

function nativeAgainstReference(backend: Backend, sizes: readonly (readonly [number, number])[]) {
  for (const [name, , call] of PER_ANCHOR) {
    for (const [N, D] of sizes) {
      it(`${name}, reduction 'none', N = ${N}, D = ${D}`, () => {
        const x = randomScores(N * D, 3 * N + D),
          y = randomClassLabels(N, 4, N + 1);
        const run = (b: Backend, normalize: boolean) =>
          (call as PerAnchorCall)(normalize ? x : x.map((v) => v * 0.15), y, { dim: D, normalize, backend: b });
        for (const normalize of [true, false]) expectRowsAgree(run(backend, normalize), run('js', normalize));
      });
    }
  }
  for (const [name, call] of OPTION_CASES) {
    for (const [N, D] of sizes) {
      it(`${name}, N = ${N}, D = ${D}, singleton classes among them`, () => {
        const x = randomScores(N * D, 5 * N + D),
          y = randomClassLabels(N, Math.ceil(N / 2), N + 2);
        for (const normalize of [true, false]) {
          const o = { dim: D, normalize };
          const v = normalize ? x : x.map((e) => e * 0.15);
          expectAgree(call(v, y, { ...o, backend }), call(v, y, { ...o, backend: 'js' }));
        }
      });
    }
  }
  it("cross-batch Multi-Similarity, reduction 'none': per-query losses and both gradients", () => {
    const [n, m, D] = [37, 53, 9];
    const x = randomScores(n * D, 51),
      r = randomScores(m * D, 52);
    const o = { dim: D, reference: r, referenceLabels: randomClassLabels(m, 5, 54), reduction: 'none' as const };
    const y = randomClassLabels(n, 5, 53);
    const a = multiSimilarity(x, y, { ...o, backend }),
      b = multiSimilarity(x, y, { ...o, backend: 'js' });
    expectRowsAgree(a, b);
    expect(gradError(a.referenceGrad, b.referenceGrad)).toBeLessThan(1e-4);
    expect(relError(a.loss.length, n)).toBe(0);
  });
}

describe(`pair options on ${NATIVE} vs the reference`, () => {
  nativeAgainstReference(NATIVE, [
    [1, 3],
    [3, 7],
    [41, 19],
    [101, 33],
  ]);
});

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`pair options on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    nativeAgainstReference(backend, [
      [1, 3],
      [3, 7],
      [71, 19],
    ]);
  });
}

describe('option errors', () => {
  const x = randomScores(6 * 2, 1),
    y = Int32Array.from([0, 0, 1, 1, 2, 2]);
  it('orthogonalProjection has no per-anchor losses: reduction is an unknown option', () => {
    expectError(
      () => orthogonalProjection(x, y, { dim: 2, reduction: 'none' } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      'reduction',
    );
  });
  it('values outside each enum, and mining not a boolean', () => {
    expectError(
      () => supCon(x, y, { dim: 2, reduction: 'sum' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'reduction',
    );
    expectError(
      () => supCon(x, y, { dim: 2, meanOver: 'some' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'meanOver',
    );
    expectError(
      () => multiSimilarity(x, y, { dim: 2, mining: 1 as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'mining',
    );
  });
});
