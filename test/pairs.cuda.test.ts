// The CUDA kernels of the pairwise family against the float64 reference (N = 1000: against the
// native CPU), on every GPU backend this build has: 'cuda-sim' (the simulator, every test build)
// and 'cuda' (skipped, with the reason, where there is no device). Every loss, both
// normalisations, the label patterns that empty a half, duplicated rows, N from 1 to 1000 (past
// one 64-row tile, ragged last tiles), D off the 16-wide slices; cross-batch Multi-Similarity with
// both gradients; invalid inputs, async and determinism. N = 4099 runs in the native parity test
// on a device only (too slow in the simulator).
import { describe, expect, it } from 'vitest';
import { multiSimilarity, multiSimilarityAsync, supCon, type Backend } from '../src';
import { bitwiseEqual, randomClassLabels, randomScores, gpuBackends, expectAgree } from './helpers';
import { PAIR_LOSSES } from './pairs.fixtures';

const gpus = gpuBackends();

const LABELS: [string, (n: number) => Int32Array][] = [
  ['5 classes', (n) => randomClassLabels(n, 5, 11 + n)],
  ['all labels equal', (n) => new Int32Array(n).fill(3)],
  ['every label unique', (n) => Int32Array.from({ length: n }, (_, i) => 1000 - i)],
];

for (const { backend, skip } of gpus) {
  describe.skipIf(skip)(`pairwise losses on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    for (const [name, call] of PAIR_LOSSES) {
      describe(name, () => {
        const both = (x: Float32Array, y: Int32Array, o: object) =>
          expectAgree(call(x, y, { ...o, backend }), call(x, y, { ...o, backend: 'js' }));
        for (const [N, D] of [
          [1, 3],
          [2, 5],
          [3, 7],
          [70, 19],
        ] as const) {
          for (const [labelName, labels] of LABELS) {
            it(`N = ${N}, D = ${D}, ${labelName}`, () => {
              both(randomScores(N * D, 7 * N + D), labels(N), { dim: D });
              // Dot-product similarities: rows kept small so gamma = 80 and 1 / tau stay in float range.
              both(randomScores(N * D, 8 * N + D, 0.15), labels(N), { dim: D, normalize: false });
            });
          }
        }
        it('duplicated embeddings (rows repeated within and across classes)', () => {
          const N = 48,
            D = 10;
          const x = randomScores(N * D, 21);
          for (let i = 0; i < N; i += 4) x.copyWithin((i + 1) * D, i * D, (i + 1) * D);
          x.copyWithin(5 * D, 2 * D, 3 * D);
          both(x, randomClassLabels(N, 4, 22), { dim: D });
        });
        // Against the native CPU, which pairs.cpu.test.ts holds against the reference at this size
        // (the reference's N x N matrix would double this case's time).
        it('N = 1000, D = 24 (16 x 16 tiles)', () => {
          const x = randomScores(1000 * 24, 31),
            y = randomClassLabels(1000, 20, 32);
          expectAgree(call(x, y, { dim: 24, backend }), call(x, y, { dim: 24, backend: 'cpu' }));
        }, 60_000);
      });
    }

    for (const semantics of ['pml', 'paper'] as const) {
      it(`cross-batch Multi-Similarity (${semantics}): both gradients`, () => {
        const [n, m, D] = [70, 130, 17];
        const x = randomScores(n * D, 51);
        const o = {
          dim: D,
          semantics,
          reference: randomScores(m * D, 52),
          referenceLabels: randomClassLabels(m, 6, 53),
        };
        const y = randomClassLabels(n, 6, 54);
        const gpu = multiSimilarity(x, y, { ...o, backend });
        const js = multiSimilarity(x, y, { ...o, backend: 'js' });
        expectAgree(gpu, js);
        expectAgree({ loss: gpu.loss, grad: gpu.referenceGrad }, { loss: js.loss, grad: js.referenceGrad });
        expect(gpu.referenceGrad.some((g) => g !== 0)).toBe(true);
      });
    }

    it('names invalid inputs as the CPU does', () => {
      const x = randomScores(40 * 4, 61);
      x[77] = NaN;
      const message = (b: Backend, o: object = {}) => {
        try {
          multiSimilarity(x, randomClassLabels(40, 3, 62), { ...o, backend: b });
        } catch (e) {
          return `${(e as { code?: string }).code} ${(e as Error).message}`;
        }
        return 'no error';
      };
      expect(message('cpu')).toMatch(/^ERR_FUSEDLOSS_NON_FINITE .*embeddings\[77\]/);
      expect(message(backend)).toBe(message('cpu'));
      const ref = { reference: new Float32Array([0, 1, 2, 3, 4, 5, Infinity, 0]), referenceLabels: [1, 2] };
      x[77] = 0;
      expect(message('cpu', ref)).toMatch(/options\.reference\[6\]/);
      expect(message(backend, ref)).toBe(message('cpu', ref));
    });

    it('async gives the sync result bit for bit, and repeated runs are identical', async () => {
      const x = randomScores(150 * 12, 71),
        y = randomClassLabels(150, 7, 72);
      const o = { dim: 12, backend };
      const a = multiSimilarity(x, y, o),
        b = multiSimilarity(x, y, o),
        c = await multiSimilarityAsync(x, y, o);
      expect(b.loss).toBe(a.loss);
      expect(c.loss).toBe(a.loss);
      expect(bitwiseEqual(a.grad, b.grad)).toBe(true);
      expect(bitwiseEqual(a.grad, c.grad)).toBe(true);
      const s = supCon(x, y, o);
      expect(bitwiseEqual(supCon(x, y, o).grad, s.grad)).toBe(true);
    });
  });
}
