// options.precision of the pair losses (docs/metric-learning.md, "Precision on the GPU"). On every
// GPU backend this build has ('cuda-sim' runs the tensor-core kernels with TF32 and BF16 rounding
// bit-exact): every loss built on similarity tiles in every precision against the float64
// reference at odd sizes, within that precision's tolerance (PRECISION_TOL, the one place they are
// stated); each lower precision measurably less exact than the one above it, so an option that
// does not reach the kernels fails; with inputs TF32 or BF16 hold exactly, the loss as exact as
// FP32's. On the CPU and js backends the option has no effect.
import { describe, expect, it } from 'vitest';
import { multiSimilarity, type LossResult, type PairPrecision } from '../src';
import { agreement, bitwiseEqual, gpuBackends, randomClassLabels, randomScores, TOL } from './helpers';
import { NATIVE } from './native-backend';
import { PAIR_LOSSES } from './pairs.fixtures';

/**
 * Agreement with the float64 reference per precision, in TOL's units (loss relative, gradient
 * relative to its largest entry); the one place these are stated (cuda_parity_pairs.cc and
 * cuda_bench.cu repeat them). fp32 is every backend's TOL. tf32 and bf16 round each product's
 * inputs to 10 and 7 mantissa bits, S by up to about 2^-11 and 2^-8 of sum_k |x_k y_k|, which the
 * logit scales amplify (beta = 50, gamma = 80, 1 / tau = 14.3):
 * - loss, grad: on random rows. The gradient bound is for the losses that weigh pairs smoothly
 *   (SMOOTH). Batch-hard triplet and contrastive choose pairs by hard rules (the hardest pair, the
 *   hinge at the margin); a pair within S's rounding of the rule's boundary can change sides and
 *   move that anchor's gradient (by up to 0.14 of the largest entry at tf32 and 0.36 at bf16 in
 *   seven batches measured). Their losses stay continuous (a hinge, a maximum) up to a count's
 *   change, and their gradients are held on exact inputs (below). Multi-Similarity's mining is a
 *   hard rule too, but its boundary pairs weigh least among those it keeps.
 * - exactGrad: with inputs the precision holds exactly, S is exact products summed in float and
 *   the loss meets fp32's bound; the gradient product still rounds the pair weights G, so the
 *   gradient is off by up to the unit roundoff (2^-11, 2^-8): twice that.
 * The loss and grad bounds hold the largest error measured on random rows (N from 37 to 200, D
 * from 7 to 129) with a margin of about 2, and bf16's loss bound is about half its unit roundoff
 * (as tf32's is 0.6 of its own): contrastive's distance sqrt(2 - 2 S) of a near pair turns S's
 * rounding into more, and one such batch (N 65, D 17, unit rows) measured 6.6e-4 in
 * cuda_parity_sim, past the 6e-4 first set here.
 */
const PRECISION_TOL: Record<PairPrecision, { loss: number; grad: number; exactGrad: number }> = {
  fp32: { loss: TOL.loss, grad: TOL.grad, exactGrad: TOL.grad },
  tf32: { loss: 3e-4, grad: 1e-2, exactGrad: 2 * 2 ** -11 },
  bf16: { loss: 2e-3, grad: 8e-2, exactGrad: 2 * 2 ** -8 },
};
const PRECISIONS = Object.keys(PRECISION_TOL) as PairPrecision[];

// Every loss but orthogonalProjection, which has no similarity tiles (and no such option).
const TILED = PAIR_LOSSES.filter(([name]) => name !== 'orthogonalProjection');
const SMOOTH = new Set(['multiSimilarity pml', 'multiSimilarity paper', 'circleLoss', 'supCon', 'ntXent']);

function expectWithin(got: LossResult, want: LossResult, tol: { loss: number; grad: number }, what: string) {
  const { lossErr, gradErr } = agreement(got, want);
  expect(lossErr, `${what}: loss ${String(got.loss)} vs ${String(want.loss)}`).toBeLessThan(tol.loss);
  expect(gradErr, `${what}: grad`).toBeLessThan(tol.grad);
}

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`options.precision on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    for (const [name, call] of TILED) {
      it(`${name}: every precision against the reference at odd sizes${SMOOTH.has(name) ? '' : ' (gradient: fp32)'}`, () => {
        for (const [N, D] of [
          [70, 19],
          [37, 53],
        ] as const) {
          const y = randomClassLabels(N, 5, N + D);
          for (const normalize of [true, false]) {
            // Unnormalised rows kept small, so gamma = 80 and 1 / tau stay in float range.
            const x = randomScores(N * D, 3 * N + D, normalize ? 1 : 0.15);
            const want = call(x, y, { dim: D, normalize, backend: 'js' });
            for (const precision of PRECISIONS) {
              const got = call(x, y, { dim: D, normalize, backend, precision });
              const { loss, grad } = PRECISION_TOL[precision];
              const tol = { loss, grad: SMOOTH.has(name) || precision === 'fp32' ? grad : Infinity };
              expectWithin(got, want, tol, `N ${N} D ${D} normalize ${normalize} ${precision}`);
            }
          }
        }
      });
    }

    // 'paper' positives need S < 1 - 1e-5: S_ii rounded by tf32 or bf16 would let self pairs in,
    // which unmined Multi-Similarity counts (cuda/pair_tiles.cuh, exact_diagonal).
    it("'paper' Multi-Similarity drops the self pair in every precision", () => {
      const [N, D] = [70, 19];
      const x = randomScores(N * D, 97),
        y = randomClassLabels(N, 5, 98);
      const o = { dim: D, semantics: 'paper', mining: false } as const;
      const want = multiSimilarity(x, y, { ...o, backend: 'js' });
      for (const precision of PRECISIONS)
        expectWithin(multiSimilarity(x, y, { ...o, backend, precision }), want, PRECISION_TOL[precision], precision);
    });

    it('each precision below fp32 is measurably less exact (the option reaches the kernels)', () => {
      const [N, D] = [150, 96];
      const x = randomScores(N * D, 81),
        y = randomClassLabels(N, 8, 82);
      const want = multiSimilarity(x, y, { dim: D, backend: 'js' });
      const err = (precision: PairPrecision) =>
        agreement(multiSimilarity(x, y, { dim: D, backend, precision }), want).gradErr;
      const [fp32, tf32, bf16] = PRECISIONS.map(err);
      expect(fp32).toBeLessThan(TOL.grad);
      expect(tf32).toBeGreaterThan(4 * fp32);
      expect(bf16).toBeGreaterThan(4 * tf32);
    });

    // Rows normalised and rounded beforehand (normalize: false): the rounding of the inputs is then
    // exact, S is exact products summed in float, and only the gradient product's rounding of the
    // weights (G) remains. Every loss, the hard-rule ones too: their choices are now FP32's.
    for (const [precision, keep] of [
      ['tf32', 0xffffe000],
      ['bf16', 0xffff0000],
    ] as const) {
      it(`${precision}: with inputs ${precision} holds exactly, the loss to FP32 accuracy`, () => {
        const [N, D] = [70, 37];
        const x = randomScores(N * D, 91);
        for (let i = 0; i < N; i++) {
          const row = x.subarray(i * D, (i + 1) * D);
          const norm = Math.hypot(...row);
          row.forEach((v, k) => (row[k] = v / norm));
        }
        const bits = new Uint32Array(x.buffer);
        // Truncation keeps each value's top bits, which the precision holds, and the norms near 1.
        bits.forEach((b, k) => (bits[k] = b & keep));
        const y = randomClassLabels(N, 5, 92);
        for (const [name, call] of TILED) {
          const want = call(x, y, { dim: D, normalize: false, backend: 'js' });
          const got = call(x, y, { dim: D, normalize: false, backend, precision });
          expectWithin(got, want, { loss: TOL.loss, grad: PRECISION_TOL[precision].exactGrad }, name);
        }
      });
    }
  });
}

describe(`options.precision on ${NATIVE} and js: no effect`, () => {
  for (const backend of [NATIVE, 'js'] as const) {
    it(`${backend}: every precision gives the default result bit for bit`, () => {
      const [N, D] = [40, 13];
      const x = randomScores(N * D, 95),
        y = randomClassLabels(N, 4, 96);
      for (const [name, call] of TILED) {
        const base = call(x, y, { dim: D, backend });
        for (const precision of PRECISIONS) {
          const r = call(x, y, { dim: D, backend, precision });
          expect(r.loss, `${name} ${precision}`).toBe(base.loss);
          expect(bitwiseEqual(r.grad, base.grad), `${name} ${precision}`).toBe(true);
        }
      }
    });
  }
});
