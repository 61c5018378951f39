// The CUDA kernels of the confusion family against the native CPU kernels, on every GPU backend
// this build has: 'cuda-sim' (the kernels run by the simulator in cuda/sim; every test build) and
// 'cuda' (a real device; skipped, with the reason, where there is none). Odd sizes around warp,
// block and tile edges, every metric, both inputs, every label type, saturated scores, one-class
// batches, invalid inputs, the custom-metric path, async twins and determinism.
import type { AnyLossWire } from '../src/wire-params';
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  anyLoss,
  anyLossAsync,
  backends,
  binaryCrossEntropy,
  diceLoss,
  METRICS,
  sigmoidFocal,
  softConfusion,
  tverskyLoss,
  type AnyLossOptions,
  type Backend,
} from '../src';
import {
  bitwiseEqual,
  randomBinaryLabels,
  randomClassLabels,
  randomProbabilities,
  randomScores,
  randomWeights,
  gpuBackends,
  expectAgree,
} from './helpers';
import { nativeAddon, resolveBackend } from '../src/native';

/** Each row of rows x classes logits through a softmax: probabilities that sum to 1 per row. */
function softmaxRows(x: Float32Array, classes: number): Float32Array {
  const p = new Float32Array(x.length);
  for (let r = 0; r < x.length / classes; r++) {
    const row = x.subarray(r * classes, (r + 1) * classes);
    const m = Math.max(...row);
    const total = row.reduce((a, v) => a + Math.exp(v - m), 0);
    row.forEach((v, k) => (p[r * classes + k] = Math.exp(v - m) / total));
  }
  return p;
}

const report = backends();
const gpus = gpuBackends();

it('this test build has the simulated backend', () => {
  expect(report['cuda-sim']).toEqual({ available: true });
});

for (const { backend, skip } of gpus) {
  describe.skipIf(skip)(`confusion family on ${backend}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const both = (x: Float32Array, y: Float32Array | Int32Array | Uint8Array, o: AnyLossOptions) => {
      expectAgree(anyLoss(x, y, { ...o, backend }), anyLoss(x, y, { ...o, backend: 'cpu' }));
    };

    describe('anyLoss, binary', () => {
      for (const n of [1, 31, 33, 1000, 4097, 100_003]) {
        for (const metric of METRICS) {
          it(`${metric}, n = ${n}, logits`, () => {
            const o: AnyLossOptions = metric === 'fbeta' ? { metric, beta: 2 } : { metric };
            both(randomScores(n, n, 0.1), randomBinaryLabels(n, n + 1), o);
          });
        }
      }
      it('probabilities, soft labels, weights, amplifier 20', () => {
        const n = 4099;
        const y = Float32Array.from(randomProbabilities(n, 2));
        both(randomProbabilities(n, 1), y, { input: 'probabilities', weights: randomWeights(n, 3), amplifier: 20 });
      });
      it('Uint8 and Int32 labels', () => {
        const n = 1025;
        const x = randomScores(n, 4, 0.1),
          y = randomBinaryLabels(n, 5);
        both(x, Uint8Array.from(y), { metric: 'mcc' });
        both(x, Int32Array.from(y), { metric: 'mcc', weights: randomWeights(n, 6) });
      });
      it('saturated logits (+-1e4) and one-class batches stay finite and agree', () => {
        const n = 3001;
        const x = randomScores(n, 7, 1e4);
        for (const y of [new Float32Array(n), new Float32Array(n).fill(1), randomBinaryLabels(n, 8)]) {
          for (const metric of ['f1', 'mcc', 'gmean', 'precision'] as const) both(x, y, { metric });
        }
      });
    });

    describe('anyLoss, multi-class', () => {
      for (const classes of [2, 3, 10, 33, 257]) {
        for (const rows of [1, 31, 1000]) {
          it(`C = ${classes}, rows = ${rows}: logits macro, probabilities micro with weights`, () => {
            const x = randomScores(rows * classes, rows + classes, 2);
            const y = randomClassLabels(rows, classes, rows * classes);
            both(x, y, { classes, metric: 'f1' });
            const p = randomProbabilities(rows * classes, 9);
            both(p, y, { classes, input: 'probabilities', average: 'micro', weights: randomWeights(rows, 10) });
          });
        }
      }
      it('peaked rows (one logit 30 above the rest) and all labels in one class', () => {
        const rows = 500,
          classes = 12;
        const x = randomScores(rows * classes, 11, 0.01).map((v, i) => (i % classes === 3 ? v + 30 : v));
        both(x, new Int32Array(rows).fill(3), { classes, metric: 'mcc' });
        both(x, randomClassLabels(rows, classes, 12), { classes, metric: 'balanced-accuracy' });
      });
    });

    describe('diceLoss and tverskyLoss', () => {
      for (const [rows, classes] of [
        [1, 1],
        [4097, 1],
        [31, 3],
        [1000, 10],
        [64, 1500],
      ] as const) {
        it(`${rows} x ${classes}: logits and probabilities, self-adjusting, squared, per example, weights`, () => {
          const x = randomScores(rows * classes, rows + classes, 2);
          const y = classes === 1 ? randomBinaryLabels(rows, 70) : randomClassLabels(rows, classes, 71);
          const w = randomWeights(rows, 72);
          const p = classes === 1 ? randomProbabilities(rows, 73) : softmaxRows(x, classes);
          for (const [scores, input] of [
            [x, 'logits'],
            [p, 'probabilities'],
          ] as const) {
            const base = { classes, input, weights: w };
            for (const dice of [
              {},
              { alpha: 1 },
              { squareDenominator: true },
              { alpha: 0.5, mode: 'per-example' },
            ] as const) {
              expectAgree(
                diceLoss(scores, y, { ...base, ...dice, backend }),
                diceLoss(scores, y, { ...base, ...dice, backend: 'cpu' }),
              );
            }
            const tversky = { ...base, alpha: 0.3, beta: 0.7 };
            expectAgree(
              tverskyLoss(scores, y, { ...tversky, backend }),
              tverskyLoss(scores, y, { ...tversky, backend: 'cpu' }),
            );
          }
        });
      }
    });

    describe('binaryCrossEntropy and sigmoidFocal', () => {
      for (const n of [1, 31, 33, 1000, 4097, 100_003]) {
        it(`n = ${n}: hard and soft labels, weights, logits up to +-1e4, mean and sum`, () => {
          const x = randomScores(n, n + 60, 20);
          if (n > 10) [x[3], x[4]] = [1e4, -1e4];
          const w = randomWeights(n, n + 61);
          for (const y of [randomBinaryLabels(n, n + 62), randomProbabilities(n, n + 63)]) {
            for (const reduction of ['mean', 'sum'] as const) {
              const bce = { weights: w, posWeight: 2, reduction };
              expectAgree(
                binaryCrossEntropy(x, y, { ...bce, backend }),
                binaryCrossEntropy(x, y, { ...bce, backend: 'cpu' }),
              );
              for (const gamma of [0.5, 2]) {
                const focal = { weights: w, gamma, alpha: 0.25, reduction };
                expectAgree(
                  sigmoidFocal(x, y, { ...focal, backend }),
                  sigmoidFocal(x, y, { ...focal, backend: 'cpu' }),
                );
              }
            }
          }
        });
      }
    });

    it('the custom-metric path (counts, the scalar step in JS, backward) agrees', () => {
      const rows = 777,
        classes = 5;
      const metric = (c: { tp: number; fn: number; fp: number }) => c.tp / (c.tp + c.fn + c.fp + 1e-5);
      both(randomScores(rows * classes, 13, 1), randomClassLabels(rows, classes, 14), { classes, metric });
      both(randomScores(4097, 15, 0.1), randomBinaryLabels(4097, 16), { metric });
    });

    it('softConfusion counts agree', () => {
      const rows = 2049,
        classes = 7;
      const x = randomScores(rows * classes, 17, 1),
        y = randomClassLabels(rows, classes, 18);
      const a = softConfusion(x, y, { classes, backend }),
        b = softConfusion(x, y, { classes, backend: 'cpu' });
      for (const k of ['tp', 'fn', 'fp', 'tn'] as const) {
        for (let c = 0; c < classes; c++) expect(Math.abs(a[k][c] - b[k][c])).toBeLessThan(1e-5 * rows);
      }
    });

    it('names an invalid input as the CPU does', () => {
      const n = 5000;
      const x = randomScores(n, 19),
        y = randomBinaryLabels(n, 20);
      const bad = (f: (b: Backend) => unknown) => {
        const messages = (['cpu', backend] as const).map((b) => {
          try {
            f(b);
          } catch (e) {
            return `${(e as Error).constructor.name} ${(e as { code?: string }).code} ${(e as Error).message}`;
          }
          return 'no error';
        });
        expect(messages[0]).toMatch(/RangeError ERR_FUSEDLOSS_/);
        expect(messages[1]).toBe(messages[0]);
      };
      const xNaN = x.slice();
      xNaN[4321] = NaN;
      xNaN[4400] = NaN;
      bad((b) => anyLoss(xNaN, y, { backend: b }));
      const yBad = y.slice();
      yBad[3000] = 1.5;
      bad((b) => anyLoss(x, yBad, { backend: b }));
      const w = randomWeights(n, 21);
      w[17] = -1;
      bad((b) => anyLoss(x, y, { backend: b, weights: w }));
      const ym = randomClassLabels(1000, 4, 22);
      ym[999] = 4;
      bad((b) => anyLoss(randomScores(4000, 23), ym, { classes: 4, backend: b }));
    });

    it('async gives the sync result bit for bit, and repeated runs are identical', async () => {
      const rows = 3000,
        classes = 6;
      const x = randomScores(rows * classes, 24, 1),
        y = randomClassLabels(rows, classes, 25);
      const o: AnyLossOptions = { classes, backend };
      const a = anyLoss(x, y, o),
        b = anyLoss(x, y, o),
        c = await anyLossAsync(x, y, o);
      expect(b.loss).toBe(a.loss);
      expect(c.loss).toBe(a.loss);
      expect(bitwiseEqual(a.grad, b.grad)).toBe(true);
      expect(bitwiseEqual(a.grad, c.grad)).toBe(true);
    });

    it('many concurrent async calls give the sync results', async () => {
      const n = 20_000;
      const inputs = Array.from({ length: 8 }, (_, i) => [randomScores(n, 30 + i, 0.2), randomBinaryLabels(n, 40 + i)]);
      const got = await Promise.all(inputs.map(([x, y]) => anyLossAsync(x, y, { backend })));
      inputs.forEach(([x, y], i) => {
        const want = anyLoss(x, y, { backend });
        expect(got[i].loss).toBe(want.loss);
        expect(bitwiseEqual(got[i].grad, want.grad)).toBe(true);
      });
    });

    it('a loss without CUDA kernels is refused, saying so', () => {
      expect(() => resolveBackend('someLoss', backend, { cuda: false, pairWork: 0 })).toThrow(
        expect.objectContaining({
          code: 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE',
          message: expect.stringMatching(/someLoss has no CUDA kernel/),
        }),
      );
    });
  });
}

// The addon asked for the device directly (the TypeScript layer would refuse first): the CUDA
// runtime's failure comes back as an Error with code ERR_FUSEDLOSS_CUDA and the runtime's words.
it.skipIf(!report.cuda.compiled || report.cuda.available)('a CUDA runtime failure becomes ERR_FUSEDLOSS_CUDA', () => {
  const x = randomScores(100, 50),
    y = randomBinaryLabels(100, 51);
  const params: AnyLossWire = {
    classes: 1,
    input: 0,
    device: 1,
    amplifier: 73,
    metric: 4,
    beta: 1,
    eps: 1e-5,
    average: 0,
  };
  expect(() => nativeAddon()!.anyLoss(x, y, null, new Float32Array(100), params, false)).toThrow(
    expect.objectContaining({
      code: 'ERR_FUSEDLOSS_CUDA',
      // The runtime's error name, which backends()' reason quotes.
      message: expect.stringContaining(/cudaError\w+/.exec(report.cuda.reason!)![0]),
    }),
  );
});

describe('FUSEDLOSS_BACKEND', () => {
  const run = (env: string, code: string) =>
    execFileSync(process.execPath, ['-e', code], {
      env: { ...process.env, FUSEDLOSS_BACKEND: env },
      encoding: 'utf8',
    }).trim();
  // The built package (npm test builds dist/ first), so the variable is read at load as a user's is.
  const probe = `const f = require(${JSON.stringify(path.resolve(__dirname, '../dist'))}); const x = new Float32Array(3000).map((_, i) => Math.sin(i));
    const y = new Float32Array(3000).map((_, i) => i % 3 === 0 ? 1 : 0);
    const r = f.anyLoss(x, y); console.log(JSON.stringify({ loss: r.loss, cuda: f.backends().cuda.reason ?? '',
      dice: f.diceLoss(x, y).loss }));`;

  it.skipIf(report.cuda.available)('cuda without a device: one warning, then the CPU', () => {
    const r = spawnSync(process.execPath, ['-e', `${probe}; f.anyLoss(new Float32Array(4), new Float32Array(4));`], {
      env: { ...process.env, FUSEDLOSS_BACKEND: 'cuda' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(r.stderr.match(/FUSEDLOSS_BACKEND=cuda but that backend is unavailable/g)).toHaveLength(1);
    const x = new Float32Array(3000).map((_, i) => Math.sin(i));
    const y = new Float32Array(3000).map((_, i) => (i % 3 === 0 ? 1 : 0));
    expect(JSON.parse(r.stdout).loss).toBe(anyLoss(x, y, { backend: 'cpu' }).loss);
  });
  it('cpu: CUDA is not even probed', () => {
    const out = JSON.parse(run('cpu', probe));
    expect(out.cuda).toMatch(/not probed/);
  });
  it('cuda-sim: losses run on the simulator', () => {
    const out = JSON.parse(run('cuda-sim', probe));
    const x = new Float32Array(3000).map((_, i) => Math.sin(i));
    const y = new Float32Array(3000).map((_, i) => (i % 3 === 0 ? 1 : 0));
    expect(out.loss).toBe(anyLoss(x, y, { backend: 'cuda-sim' }).loss);
    expect(out.dice).toBe(diceLoss(x, y, { backend: 'cuda-sim' }).loss);
  });
});
