// The CUDA kernels of the ranking family against the float64 reference, on every GPU backend this
// build has: 'cuda-sim' (the simulator, every test build) and 'cuda' (skipped, with the reason,
// where there is no device). Padded and ragged lists, ties, lists of length 0, 1 and 2, lists
// past one group (a block per list) and past the shared-memory sort (ranked in global memory),
// lists of 5000, PLD, invalid inputs, async twins and determinism.
import { describe, expect, it } from 'vitest';
import { listMLE, listMLEAsync, plackettLuceDistill, type Backend } from '../src';
import { bitwiseEqual, randomScores, gpuBackends, expectAgree } from './helpers';
import { LAYOUTS, listBatch, rankingCases } from './ranking.cases';

const gpus = gpuBackends();

for (const { backend, skip } of gpus) {
  describe.skipIf(skip)(`ranking family on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    for (const [layout, { batch, listSize }] of Object.entries(LAYOUTS)) {
      const shape = listSize ? { listSize } : { offsets: batch.offsets };
      it(`every loss and form, ${layout}`, () => {
        for (const c of rankingCases(64)) {
          const a = c.run(batch.scores, batch.relevance, { ...shape, backend });
          expectAgree(a, c.run(batch.scores, batch.relevance, { ...shape, backend: 'js' }));
          batch.relevance.forEach((r, i) => r === -1 && expect(a.grad[i]).toBe(0));
        }
      });
    }

    // 300 items: a block per list and a shared-memory sort; 2100: ranked in global memory.
    for (const lengths of [
      [300, 7, 0, 290],
      [2100, 1],
    ]) {
      it(`every loss and form, lists of ${lengths.join(', ')}`, () => {
        const batch = listBatch(lengths, 10, { grades: 30, padding: 0.05 });
        for (const c of rankingCases(2100)) {
          const o = { offsets: batch.offsets };
          expectAgree(
            c.run(batch.scores, batch.relevance, { ...o, backend }),
            c.run(batch.scores, batch.relevance, { ...o, backend: 'js' }),
          );
        }
      });
    }

    describe('lists of 5000', () => {
      const batch = listBatch([5000, 4999], 7, { grades: 50, padding: 0.05 });
      const names = ['rankList lse', 'rankList exact skip 2 margin 0.5', 'listMLE', 'listNet', 'rankNet'];
      for (const c of rankingCases(5000).filter((k) => names.includes(k.name))) {
        it(c.name, () => {
          const o = { offsets: batch.offsets };
          expectAgree(
            c.run(batch.scores, batch.relevance, { ...o, backend }),
            c.run(batch.scores, batch.relevance, { ...o, backend: 'js' }),
          );
        });
      }
    });

    it('plackettLuceDistill, 300 rows of 10 classes and 3 rows of 1000', () => {
      for (const [rows, C] of [
        [300, 10],
        [3, 1000],
      ]) {
        const s = randomScores(rows * C, 5, 2),
          t = randomScores(rows * C, 6, 3);
        const y = Int32Array.from({ length: rows }, (_, i) => (i * 7) % C);
        for (const tau of [0.5, 4]) {
          expectAgree(
            plackettLuceDistill(s, t, y, { tau, backend }),
            plackettLuceDistill(s, t, y, { tau, backend: 'js' }),
          );
        }
      }
    });

    it('names invalid inputs as the CPU does', () => {
      const b = listBatch(Array(30).fill(10), 11);
      const message = (run: () => unknown) => {
        try {
          run();
        } catch (e) {
          return `${(e as { code?: string }).code} ${(e as Error).message}`;
        }
        return 'no error';
      };
      const scores = b.scores.slice();
      scores[217] = NaN;
      const relevance = b.relevance.slice();
      relevance[123] = -2;
      const y = Int32Array.from({ length: 30 }, () => 1);
      y[17] = 10;
      const calls: [string, (be: Backend) => unknown][] = [
        ['scores', (be) => listMLE(scores, b.relevance, { listSize: 10, backend: be })],
        ['relevance', (be) => listMLE(b.scores, relevance, { listSize: 10, backend: be })],
        ['labels', (be) => plackettLuceDistill(b.scores, b.scores, y, { backend: be })],
      ];
      for (const [what, call] of calls) {
        const cpu = message(() => call('cpu'));
        expect(cpu, what).toMatch(/^ERR_FUSEDLOSS_/);
        expect(
          message(() => call(backend)),
          what,
        ).toBe(cpu);
      }
    });

    it('async gives the sync result bit for bit, and repeated runs are identical', async () => {
      const b = listBatch(Array(200).fill(24), 12, { padding: 0.1 });
      const o = { listSize: 24, ties: 'shuffle' as const, seed: 3, backend };
      const a = listMLE(b.scores, b.relevance, o),
        c = listMLE(b.scores, b.relevance, o),
        d = await listMLEAsync(b.scores, b.relevance, o);
      expect(c.loss).toBe(a.loss);
      expect(d.loss).toBe(a.loss);
      expect(bitwiseEqual(a.grad, c.grad)).toBe(true);
      expect(bitwiseEqual(a.grad, d.grad)).toBe(true);
    });
  });
}
