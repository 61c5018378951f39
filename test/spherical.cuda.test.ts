// The CUDA kernels of the spherical family and the softmax losses against the native CPU kernels,
// on every GPU backend this build has: 'cuda-sim' (the simulator, every test build) and 'cuda'
// (skipped, with the reason, where there is no device). The parity suites of the CPU tests (every
// loss, form and reduction; C = 1, 2, 13, 1000, 50000; rows of +-1e4, constant rows, |mean| >>
// std), then weights, ignored rows, a row of 10^6 classes (one block per row), invalid inputs,
// async twins and determinism.
import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy, softmaxCrossEntropyAsync, zLoss, type Backend } from '../src';
import {
  bitwiseEqual,
  expectAgree,
  gpuBackends,
  gradError,
  randomClassLabels,
  randomScores,
  randomWeights,
} from './helpers';
import { logits, parity, softmax, SOFTMAX_FORMS, sphericalParity } from './spherical.fixtures';

const gpus = gpuBackends();

for (const { backend, skip } of gpus) {
  describe.skipIf(skip)(`spherical family on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    sphericalParity([backend, 'cpu']);
    for (const [name, options] of SOFTMAX_FORMS) parity(name, softmax, options, [backend, 'cpu']);

    it('weights, class weights and ignored targets, every form and reduction', () => {
      const rows = 301,
        C = 37;
      const x = logits(rows, C, 5, true);
      const t = randomClassLabels(rows, C, 6);
      t[150] = -1;
      t[151] = -1;
      const o = { weights: randomWeights(rows, 7), classWeights: randomWeights(C, 8), ignoreIndex: -1 };
      for (const [, form] of SOFTMAX_FORMS) {
        for (const reduction of ['mean', 'sum', 'none'] as const) {
          const all = { ...form, ...o, reduction };
          expectAgree(softmax(x, t, { ...all, backend }), softmax(x, t, { ...all, backend: 'cpu' }));
        }
      }
    });

    it('softcap, PaLM z-loss and returnLse with weights and ignored rows, as the CPU', () => {
      const rows = 203,
        C = 1031; // rows of a whole block (C >= 1024) and of lane groups (below)
      for (const c of [C, 37]) {
        const x = logits(rows, c, 15, true);
        const t = randomClassLabels(rows, c, 16);
        t[7] = -1;
        const o = {
          weights: randomWeights(rows, 17),
          classWeights: randomWeights(c, 18),
          ignoreIndex: -1,
          softcap: 4,
          lseSquareScale: 0.01,
          labelSmoothing: 0.1,
          returnLse: true,
        } as const;
        for (const reduction of ['mean', 'none'] as const) {
          const g = softmaxCrossEntropy(x, t, { ...o, reduction, backend });
          const h = softmaxCrossEntropy(x, t, { ...o, reduction, backend: 'cpu' });
          expectAgree(g, h);
          expect(gradError(g.lse, h.lse)).toBeLessThan(1e-5);
        }
      }
    });

    it('a row of 10^6 classes is split across a block', () => {
      const C = 1_000_000;
      const x = logits(2, C, 9, false);
      const t = [C - 1, 12345];
      expectAgree(softmaxCrossEntropy(x, t, { backend }), softmaxCrossEntropy(x, t, { backend: 'cpu' }));
      expectAgree(zLoss(x, t, { backend }), zLoss(x, t, { backend: 'cpu' }));
    });

    it('names invalid inputs as the CPU does', () => {
      const x = randomScores(400, 10);
      x[333] = Infinity;
      const message = (b: Backend) => {
        try {
          zLoss(x, randomClassLabels(40, 10, 11), { backend: b });
        } catch (e) {
          return `${(e as { code?: string }).code} ${(e as Error).message}`;
        }
        return 'no error';
      };
      expect(message('cpu')).toMatch(/^ERR_FUSEDLOSS_NON_FINITE .*logits\[333\]/);
      expect(message(backend)).toBe(message('cpu'));
    });

    it('async gives the sync result bit for bit, and repeated runs are identical', async () => {
      const x = logits(500, 33, 12, true);
      const t = randomClassLabels(500, 33, 13);
      const o = { labelSmoothing: 0.1, backend };
      const a = softmaxCrossEntropy(x, t, o),
        b = softmaxCrossEntropy(x, t, o),
        c = await softmaxCrossEntropyAsync(x, t, o);
      expect(b.loss).toBe(a.loss);
      expect(c.loss).toBe(a.loss);
      expect(bitwiseEqual(a.grad, b.grad)).toBe(true);
      expect(bitwiseEqual(a.grad, c.grad)).toBe(true);
    });
  });
}
