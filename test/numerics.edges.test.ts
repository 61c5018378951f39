// Issue 18's edge cases, one test each, against the float64 truth of numerics.truth.ts (dual
// numbers, written apart from src/reference): confident BCE, Z-loss at extreme scales, finite
// inputs near FLT_MAX, ranking gradients at large scores, the reference at huge logits, and the
// pair losses with normalize: false up to the 1e4 row-norm limit.
import { describe, expect, it } from 'vitest';
import {
  anyLoss,
  backends,
  binaryCrossEntropy,
  circleLoss,
  contrastive,
  diceLoss,
  lambdaLoss,
  listNet,
  multiSimilarity,
  ntXent,
  plackettLuceDistill,
  rankList,
  rankNet,
  sigmoidFocal,
  softmaxCrossEntropy,
  SphericalHead,
  sphericalLoss,
  supCon,
  tripletBatchHard,
  tverskyLoss,
  zLoss,
} from '../src';
import { NATIVE as CPU } from './native-backend';
import { expectTruth } from './numerics.expect';
import {
  ANY_METRICS,
  anyLossMetricTruth,
  bceTruth,
  circleTruth,
  contrastiveTruth,
  focalTruth,
  gceTruth,
  listNetTruth,
  multiSimilarityTruth,
  ntXentTruth,
  overlapTruth,
  pldTruth,
  rankListTruth,
  rankNetTruth,
  softmaxTruth,
  sum,
  supConTruth,
  tripletTruth,
  truth,
  zLossTruth,
} from './numerics.truth';

// The CPU kernels natively, or on the wasm build with FUSEDLOSS_TEST_BACKEND=wasm, and the
// simulator where the addon has it (release and sanitizer builds leave it out, as in CI's wasm run).
const NATIVE = backends()['cuda-sim'].available ? ([CPU, 'cuda-sim'] as const) : ([CPU] as const);
const f32 = (xs: number[]) => Float32Array.from(xs);

describe.each(NATIVE)('%s at the edges', (backend) => {
  it('plackettLuceDistill with tied student logits beyond 1e11', () => {
    // Tied scores at |s| = 1e15: one double log-partition per anchor carried its ulp (0.125) into
    // the gradient; the truth is the float64 dual-number one.
    const base = [0.9, 0.9, 0.2, -0.35, 0.5, 0.5, 0.5, -0.8];
    const teacher = f32([2, 1, 0.5, -1, 1, 0.25, 0, 3]);
    const labels = Int32Array.from([2, 0]);
    for (const scale of [1e15, 1e30, 3e38]) {
      const student = f32(base.map((v) => v * scale));
      const got = plackettLuceDistill(student, teacher, labels, { backend });
      expectTruth(got, truth(8, pldTruth(teacher, labels, 4, 4), student), `scale ${scale}`);
    }
  });

  it('binaryCrossEntropy keeps a confident, correct logit small loss and gradient', () => {
    for (const [x, y] of [
      [10, 1],
      [15, 1],
      [20, 1],
      [30, 1],
      [-15, 0],
      [-60, 0],
    ]) {
      const got = binaryCrossEntropy(f32([x]), f32([y]), { backend });
      expectTruth(got, truth(1, bceTruth([y]), f32([x])), `x=${x} y=${y}`);
    }
  });

  it('binaryCrossEntropy and sigmoidFocal stay finite and right at +-3e38', () => {
    const x = f32([3e38, -3e38, 3e38, -3e38, 1e36]);
    const y = f32([0, 1, 1, 0, 0]);
    expectTruth(binaryCrossEntropy(x, y, { backend }), truth(5, bceTruth(y), x));
    expectTruth(sigmoidFocal(x, y, { backend }), truth(5, focalTruth(y, 2, 0.25), x));
    const wide = f32([1e36]);
    expectTruth(sigmoidFocal(wide, f32([0]), { backend }), truth(1, focalTruth([0], 2, 0.25), wide));
  });

  it('zLoss is scale-invariant from 1e-30 to 3e38', () => {
    const targets = Int32Array.from([2, 1]);
    for (const scale of [1e-30, 1e-25, 1e-6, 1, 1e20, 1e30, 1e38]) {
      const x = f32(Z_BASE.map((v) => v * scale));
      expectTruth(zLoss(x, targets, { classes: 3, backend }), truth(6, zLossTruth(targets, 3), x), `scale ${scale}`);
    }
  });

  it('rankNet, lambdaLoss and rankList give a finite loss for scores at +-3e38', () => {
    const s = f32([3e38, -3e38, 1e38]);
    const r = f32([0, 1, 2]);
    expectTruth(rankNet(s, r, { backend }), truth(3, rankNetTruth(r), s));
    expectTruth(rankList(s, r, { backend }), truth(3, rankListTruth(r), s));
    expectTruth(rankList(s, r, { backend, form: 'exact' }), truth(3, rankListExact(r), s));
    // LambdaLoss's default scheme is RankNet's pair term in log2 units, summed over the 3 pairs.
    const lam = lambdaLoss(s, r, { backend });
    const rn = truth(3, rankNetTruth(r), s);
    const k = 3 * Math.LOG2E;
    expectTruth(lam, { loss: rn.loss * k, grad: rn.grad.map((g) => g * k) });
  });

  it('listNet keeps its gradient (summing to 0) for scores near 1e4 and 1e8', () => {
    const offsets = Array.from({ length: 16 }, (_, i) => Math.sin(i * 1.7) * 2);
    const r = Float32Array.from(offsets, (_, i) => (i * 7) % 4);
    for (const centre of [1e4, 1e8]) {
      const s = f32(offsets.map((v) => centre + v));
      expectTruth(listNet(s, r, { backend }), truth(16, listNetTruth(r), s), `around ${centre}`);
    }
  });
});

// Z-loss rows of two sizes: 0.05 to 1 (std about 1) and 0.5 to 2.
const Z_BASE = [0.3, -1.2, 2.0, 0.5, 1.1, -0.4];
const DENORMAL = 2 ** -149; // float32's smallest denormal, 1.4e-45

/** What a call threw (code and message), or 'returned'. */
function thrown(f: () => unknown): string {
  try {
    f();
    return 'returned';
  } catch (e) {
    return `${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
}

// Tiny spreads (std below 1e-36, denormal logits included): the float64 answer wherever the
// gradient (about 1 / std) fits float32, a coded RangeError naming the row where it does not.
describe.each(['js', ...NATIVE] as const)('%s Z-loss on tiny logits', (backend) => {
  const targets = Int32Array.from([2, 1]);
  const z = (x: Float32Array, reduction: 'mean' | 'sum' = 'mean') =>
    zLoss(x, targets, { classes: 3, backend, reduction });
  const zTruth = (x: Float32Array) => truth(6, zLossTruth(targets, 3), x);

  it('zLoss gives the float64 answer down to std 1e-39 (denormal rows from 1e-38)', () => {
    for (const scale of [1e-36, 1e-37, 1e-38, 3e-39, 1e-39]) {
      const x = f32(Z_BASE.map((v) => v * scale));
      expectTruth(z(x), zTruth(x), `scale ${scale}`);
    }
    // 'sum' doubles the gradient (1.6e38 at 1e-39): it still fits.
    const sum = f32(Z_BASE.map((v) => v * 1e-39));
    const want = zTruth(sum);
    expectTruth(z(sum, 'sum'), { loss: want.loss * 2, grad: want.grad.map((g) => g * 2) }, 'sum');
    // Mixed: a row of std 1 beside denormal rows, each way round.
    for (const x of [
      f32([...Z_BASE.slice(0, 3), ...Z_BASE.slice(3).map((v) => v * 2e-39)]),
      f32([...Z_BASE.slice(0, 3).map((v) => v * 1e-38), ...Z_BASE.slice(3)]),
    ])
      expectTruth(z(x), zTruth(x), `mixed ${Array.from(x)}`);
  });

  it('zLoss keeps the convention for a constant denormal row (std exactly 0)', () => {
    const x = f32([3, 3, 3, ...Z_BASE.slice(3)].map((v, i) => (i < 3 ? v * DENORMAL : v)));
    expectTruth(z(x), zTruth(x), 'constant row');
    expect(Array.from(z(x).grad.slice(0, 3))).toEqual([0, 0, 0]);
  });

  it('zLoss refuses a row whose gradient overflows float32, naming the row', () => {
    const cases: [Float32Array, number][] = [
      [f32(Z_BASE.map((v) => v * 1e-40)), 1], // row 1 (std 6.2e-41) reaches 7.8e38; row 0 fits
      [f32([-3, 1, 2, 4, -1, 0].map((k) => k * DENORMAL)), 0], // std 3.0e-45
      [f32([...Z_BASE.slice(0, 3), ...[-3, 1, 2].map((k) => k * DENORMAL)]), 1],
    ];
    for (const [x, row] of cases) {
      const got = thrown(() => z(x));
      expect(got).toMatch(
        new RegExp(`^ERR_FUSEDLOSS_INVALID_ARG_VALUE: zLoss: row ${row} of logits has std [0-9.]+e-`),
      );
      expect(got).toContain('overflows float32');
    }
  });
});

// SphericalHead's Z-loss on hidden rows of tiny norm: logits of tiny std, the same contract.
describe.each(['js', CPU] as const)('%s SphericalHead on tiny hidden rows', (backend) => {
  const C = 4,
    dim = 2;
  const W = f32([0.9, -0.3, 0.2, 0.8, -0.7, 0.4, 0.1, -1.1]);
  const t = Int32Array.from([1, 3]);
  const H = [0.6, -0.5, -0.2, 0.9];
  // The truth: the mean Z-loss of o = W h, differentiated in h.
  const headTruth = (h: Float32Array) =>
    truth(
      4,
      (x) => zLossTruth(t, C)((k) => sum([0, 1].map((i) => x(Math.floor(k / C) * dim + i).mul(W[(k % C) * dim + i])))),
      h,
    );
  const step = (h: Float32Array) => {
    const r = SphericalHead.fromWeights(W, { dim, backend }).step(h, t, { lr: 0.01 });
    return { loss: r.loss, grad: r.gradHidden };
  };

  it('a step gives the float64 loss and gradient down to hidden of 1e-38', () => {
    for (const h of [
      ...[1e-36, 1e-37, 1e-38].map((s) => f32(H.map((v) => v * s))),
      f32([...H.slice(0, 2), ...H.slice(2).map((v) => v * 1e-38)]),
    ])
      expectTruth(step(h), headTruth(h), `hidden ${Array.from(h)}`);
  });

  it('a step whose gradient overflows float32 is refused, naming the row', () => {
    for (const [h, row] of [
      [f32(H.map((v) => v * 1e-41)), 0],
      [f32([...H.slice(0, 2), ...[3, -2].map((k) => k * DENORMAL)]), 1],
    ] as const) {
      const got = thrown(() => step(h));
      expect(got).toBe(
        `ERR_FUSEDLOSS_INVALID_ARG_VALUE: SphericalHead.step: the Z-loss gradient of row ${row} of hidden ` +
          `(about 1 / the std of its logits) overflows float32; scale hidden up. Nothing was updated`,
      );
    }
  });
});

// The squared error's gradient 2 (o - e_c) / N is the one spherical gradient that grows with the
// logits: the float64 answer while it fits float32, a coded RangeError past it (formulas F.3).
describe.each(['js', ...NATIVE] as const)('%s squared error on huge logits', (backend) => {
  const targets = Int32Array.from([0, 2]);
  const x = f32([3e38, -2e38, 1e38, 2.5e38, 3e38, -3e38]);
  const mse = (reduction: 'mean' | 'sum') => sphericalLoss(x, targets, { classes: 3, kind: 'mse', reduction, backend });

  it("sphericalLoss 'mse' is exact while its gradient fits float32", () => {
    // 'mean' over 2 rows: the gradient o - e_c (the 1 of e_c is below the logits' ulp), the loss
    // half the sum of the squares, 1.9e77 in double.
    const want = { loss: Array.from(x).reduce((a, v) => a + v * v, 0) / 2, grad: Array.from(x) };
    expectTruth(mse('mean'), want, 'mean');
  });

  it("sphericalLoss 'mse' refuses a gradient past float32 ('sum': 2 o reaches 6e38)", () => {
    expect(thrown(() => mse('sum'))).toBe(
      'ERR_FUSEDLOSS_NON_FINITE: sphericalLoss: the gradients overflow float32; scale the inputs down',
    );
  });
});

describe.each(['js', CPU] as const)('%s SphericalHead squared error on huge rows', (backend) => {
  const W = f32([0.9, -0.3, 0.2, 0.8, -0.7, 0.4, 0.1, -1.1]);
  const H = [0.6, -0.5, -0.2, 0.9];
  it('a step whose gradient overflows float32 is refused, naming the row, and changes nothing', () => {
    // dL/dh = W^T (o - e_c) over m = 2 rows: about 1.06 s for row 0 and 1.99 s for row 1 at hidden
    // scale s, so at s = 2e38 row 1's leaves float32 and row 0's does not. (lr 1e-80: a larger one
    // is refused first, the update's conditioning, with rows this long.)
    const head = SphericalHead.fromWeights(W, { dim: 2, loss: 'mse', backend });
    const before = head.weights();
    expect(thrown(() => head.step(f32(H.map((v) => v * 2e38)), Int32Array.from([1, 3]), { lr: 1e-80 }))).toBe(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE: SphericalHead.step: the squared-error gradient of row 1 of hidden ' +
        'overflows float32 (it grows with the logits); scale hidden down. Nothing was updated',
    );
    expect(Array.from(head.weights())).toEqual(Array.from(before));
  });
});

describe.each(['js', ...NATIVE] as const)('%s soft-confusion losses, confident and right', (backend) => {
  // Every prediction right, from barely (scale 1: AnyLoss's yhat = sigmoid(73 (p - 1/2)) within
  // 1e-7 of its label) to surely (20: Dice's p within 1e-8): the loss, the misses over the counts,
  // keeps its few parts in 1e5 where 1 - M from float counts cancelled.
  const y = f32([1, 1, 0, 1, 0]);
  const base = [0.9, 0.55, -0.35, 0.2, -0.8];
  it('anyLoss with every metric but MCC', () => {
    for (const scale of [1, 3, 20])
      for (const metric of ANY_METRICS) {
        const x = f32(base.map((v) => v * scale));
        const got = anyLoss(x, y, { backend, metric: metric as 'f1' });
        expectTruth(got, truth(5, anyLossMetricTruth(y, 73, metric, 1e-5), x), `${metric} at ${scale}`);
      }
  });

  it('diceLoss (squared denominator too) and tverskyLoss', () => {
    for (const scale of [1, 20, 30]) {
      const x = f32(base.map((v) => v * scale));
      expectTruth(diceLoss(x, y, { backend }), truth(5, overlapTruth(y, 'dice', 1), x), `dice ${scale}`);
      const sq = diceLoss(x, y, { backend, squareDenominator: true });
      expectTruth(sq, truth(5, overlapTruth(y, 'dice-squared', 1), x), `squared ${scale}`);
      const tv = tverskyLoss(x, y, { backend, alpha: 0.3, beta: 0.7 });
      expectTruth(tv, truth(5, overlapTruth(y, 'tversky', 1, 0.3, 0.7), x), `tversky ${scale}`);
    }
  });
});

describe.each(['js', ...NATIVE] as const)('%s with huge logits (the reference too)', (backend) => {
  it('softmaxCrossEntropy and gce at 1e30', () => {
    const x = f32([1e30, 1e30, -1e30, 5e29, 1e30, 1e30]);
    const t = Int32Array.from([0, 2]);
    expectTruth(softmaxCrossEntropy(x, t, { backend }), truth(6, softmaxTruth(t, 3), x));
    const gce = softmaxCrossEntropy(x, t, { backend, form: 'gce', q: 0.7 });
    expectTruth(gce, truth(6, gceTruth(t, 3, 0.7), x), 'gce');
  });

  it('plackettLuceDistill with teacher logits of 1e37', () => {
    const student = f32([0.5, -1, 2, 0.25, 1, -0.5, 0, 3]);
    const teacher = f32([1e37, 1e37, -1e37, 1e37, 3e36, 1e37, 1e37, -2e37]);
    const labels = Int32Array.from([2, 0]);
    const got = plackettLuceDistill(student, teacher, labels, { backend });
    expectTruth(got, truth(8, pldTruth(teacher, labels, 4, 4), student));
  });
});

/** RankList's exact form over every preferred pair: the sum of RankNet's pair terms. */
const rankListExact = (r: Float32Array) => {
  const rn = rankNetTruth(r);
  const pairs = Array.from(r).flatMap((ri) => Array.from(r).filter((rj) => ri > rj)).length;
  return (s: Parameters<typeof rn>[0]) => rn(s).mul(pairs);
};

// The size of the terms a raw row's gradient is a sum of, sum_j W_ij f_j (W = G + G^T): a bound on
// sum_j |W_ij| (each softmax sums to 1 and each part of G is at most 1 / (tau_b n), 1 / n, or
// gamma a / n) times the row norm. Identical rows cancel the terms to 0 exactly, which a float32
// sum leaves as rounding noise of about 1e-7 of this.
const SUPCON_UNIT = (norm: number) => (4 / (0.07 * 6)) * norm;
const MS_UNIT = (norm: number) => (4 / 6) * norm;
const CIRCLE_UNIT = (norm: number) => ((4 * 80 * (norm * norm + 1.4)) / 6) * norm;

// Rows of a given L2 norm in dim 4 (pseudo-random directions), labels 0, 0, 1, 1, 2, 2.
const PAIR_LABELS = Int32Array.from([0, 0, 1, 1, 2, 2]);
/** Six rows of dim 4, row r the direction dir(r, d) scaled to the given norm. */
function rowsAlong(norm: number, dir: (r: number, d: number) => number): Float32Array {
  const out = new Float32Array(24);
  for (let r = 0; r < 6; r++) {
    const v = [0, 1, 2, 3].map((d) => dir(r, d));
    const len = Math.hypot(...v);
    v.forEach((x, d) => (out[r * 4 + d] = (x / len) * norm));
  }
  return out;
}
const rowsOfNorm = (norm: number, same = false) =>
  rowsAlong(norm, (r, d) => Math.sin((same ? 1 : r + 1) * 2.3 + d * 1.1));

describe.each(['js', ...NATIVE] as const)('%s pair losses with normalize: false', (backend) => {
  const o = { dim: 4, normalize: false, backend } as const;
  it('circleLoss at row norms 1 to 1e4', () => {
    for (const norm of [1, 5, 10, 100, 9e3]) {
      const x = rowsOfNorm(norm);
      const want = truth(24, circleTruth(PAIR_LABELS, 4, 0.4, 80), x);
      expectTruth(circleLoss(x, PAIR_LABELS, o), want, `norm ${norm}`, CIRCLE_UNIT(norm));
    }
  });

  it('supCon and multiSimilarity at row norms 1 to 1e4', () => {
    for (const norm of [1, 10, 30, 1e3, 9e3]) {
      const x = rowsOfNorm(norm);
      const sc = truth(24, supConTruth(PAIR_LABELS, 4, 0.07, 0.07), x);
      expectTruth(supCon(x, PAIR_LABELS, o), sc, `supCon norm ${norm}`, SUPCON_UNIT(norm));
      const ms = truth(24, multiSimilarityTruth(PAIR_LABELS, 4, 2, 50, 0.5, 0.1), x);
      expectTruth(multiSimilarity(x, PAIR_LABELS, o), ms, `multiSimilarity norm ${norm}`, MS_UNIT(norm));
    }
  });

  it('identical rows at norm 9e3', () => {
    const x = rowsOfNorm(9e3, true);
    const ms = truth(24, multiSimilarityTruth(PAIR_LABELS, 4, 2, 50, 0.5, 0.1), x);
    expectTruth(multiSimilarity(x, PAIR_LABELS, o), ms, 'multiSimilarity', MS_UNIT(9e3));
    const sc = truth(24, supConTruth(PAIR_LABELS, 4, 0.07, 0.07), x);
    expectTruth(supCon(x, PAIR_LABELS, o), sc, 'supCon', SUPCON_UNIT(9e3));
    const ci = truth(24, circleTruth(PAIR_LABELS, 4, 0.4, 80), x);
    expectTruth(circleLoss(x, PAIR_LABELS, o), ci, 'circleLoss', CIRCLE_UNIT(9e3));
  });
});

// Near ties at a given norm: rows N (u + delta v_r) / |...|, u fixed, v_r pseudo-random, so the
// similarities, about N^2, differ by about N^2 delta: delta is chosen per loss so its logits differ
// by about 1 (weights far from one-hot), where a float32 S's rounding (6e-8 N^2), times the
// loss's scale, shows in every weight.
const nearRows = (norm: number, delta: number) => rowsAlong(norm, (r, d) => 0.5 + delta * Math.sin(r * 3.7 + d * 1.9));

describe.each(['js', ...NATIVE] as const)('%s pair losses with normalize: false, near ties', (backend) => {
  const o = { dim: 4, normalize: false, backend } as const;
  it('supCon (logits S / 0.07) at norms 3 to 9e3', () => {
    for (const norm of [3, 10, 30, 1e3, 9e3]) {
      const x = nearRows(norm, (0.07 * 4) / norm ** 2);
      const want = truth(24, supConTruth(PAIR_LABELS, 4, 0.07, 0.07), x);
      expectTruth(supCon(x, PAIR_LABELS, o), want, `norm ${norm}`, SUPCON_UNIT(norm));
    }
  });

  it('multiSimilarity (logits 50 S) at norms 3 to 9e3', () => {
    for (const norm of [3, 10, 30, 1e3, 9e3]) {
      const x = nearRows(norm, 4 / (50 * norm ** 2));
      const want = truth(24, multiSimilarityTruth(PAIR_LABELS, 4, 2, 50, 0.5, 0.1), x);
      expectTruth(multiSimilarity(x, PAIR_LABELS, o), want, `norm ${norm}`, MS_UNIT(norm));
    }
  });

  it('ntXent (logits S / 0.07) at norms 3 to 9e3', () => {
    for (const norm of [3, 10, 30, 1e3, 9e3]) {
      const x = nearRows(norm, (0.07 * 4) / norm ** 2);
      const want = truth(24, ntXentTruth(PAIR_LABELS, 4, 0.07), x);
      expectTruth(ntXent(x, PAIR_LABELS, o), want, `norm ${norm}`, SUPCON_UNIT(norm));
    }
  });

  it('circleLoss (logits 80 S^2) at norms 2 to 9e3', () => {
    for (const norm of [2, 5, 10, 30, 100, 9e3]) {
      const x = nearRows(norm, 4 / (160 * norm ** 4));
      const want = truth(24, circleTruth(PAIR_LABELS, 4, 0.4, 80), x);
      expectTruth(circleLoss(x, PAIR_LABELS, o), want, `norm ${norm}`, CIRCLE_UNIT(norm));
    }
  });
});

// Near pairs: row r along e_{axis(r)} + delta w_r (w pseudo-random), scaled to a norm, so pairs
// on one axis lie about 2.5 delta of their norm apart. There d^2 = q_i + q_j - 2 S from float S
// and q cancels (rounding of 1e-7 (q_i + q_j), 1e-3 of d at 1% apart); the distances must come
// out as the rows' own, for pairs from just past the coincidence threshold (0.14%, formulas E.0)
// to 3% apart.
const nearPairs = (norm: number, delta: number, axis: (r: number) => number) =>
  rowsAlong(norm, (r, d) => (d === axis(r) ? 1 : 0) + delta * Math.sin(r * 3.7 + d * 1.9));
const NEAR = [0.001, 0.004, 0.012];

describe.each(['js', ...NATIVE] as const)('%s distance losses on near pairs', (backend) => {
  for (const normalize of [true, false]) {
    const norms = normalize ? [1, 1e20] : [1, 100, 9e3];
    it(`contrastive, normalize: ${normalize}`, () => {
      // Positives near each other on their label's axis, negatives sqrt(2) norms apart (past the
      // margin when normalised): the loss is the mean positive distance.
      for (const norm of norms)
        for (const delta of NEAR) {
          const x = nearPairs(norm, delta, (r) => PAIR_LABELS[r]);
          const negMargin = normalize ? 1 : 1e-3 * norm;
          const want = truth(24, contrastiveTruth(PAIR_LABELS, 4, 0, negMargin, !normalize), x);
          const o = { dim: 4, normalize, negMargin, backend } as const;
          expectTruth(contrastive(x, PAIR_LABELS, o), want, `norm ${norm}, delta ${delta}`);
        }
    });

    it(`tripletBatchHard, normalize: ${normalize}`, () => {
      // Every row near one axis, labels alternating: each anchor's hinge is active with a margin
      // of a few pair distances, so the loss is of their size.
      const labels = Int32Array.from([0, 1, 0, 1, 0, 1]);
      for (const norm of norms)
        for (const delta of NEAR) {
          const x = nearPairs(norm, delta, () => 0);
          const margin = 4 * delta * (normalize ? 1 : norm);
          const want = truth(24, tripletTruth(labels, 4, margin, !normalize), x);
          const o = { dim: 4, normalize, margin, backend } as const;
          expectTruth(tripletBatchHard(x, labels, o), want, `norm ${norm}, delta ${delta}`);
        }
    });
  }
});
