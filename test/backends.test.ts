// What backends() reports, async results against sync ones, and the js fallback.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  anyLoss,
  anyLossAsync,
  backends,
  binaryCrossEntropy,
  binaryCrossEntropyAsync,
  diceLoss,
  diceLossAsync,
  softConfusion,
  softConfusionAsync,
  tverskyLoss,
  tverskyLossAsync,
} from '../src';
import { listBatch, pairCount } from '../src/losses/lists';
import { pairWork } from '../src/losses/pairs';
import { autoPicksCuda, CUDA_AUTO_MIN_WORK } from '../src/native';
import { bitwiseEqual, randomBinaryLabels, randomClassLabels, randomScores } from './helpers';

describe('backends()', () => {
  const b = backends();
  it('reports the js reference and the native CPU', () => {
    expect(b.js.available).toBe(true);
    expect(b.cpu.available).toBe(true);
    expect(b.cpu.threads).toBeGreaterThanOrEqual(1);
  });
  it('reports CUDA with the runtime reason when no device can be used', () => {
    expect(typeof b.cuda.compiled).toBe('boolean');
    if (b.cuda.available) {
      expect(b.cuda.devices.length).toBeGreaterThan(0);
    } else {
      expect(b.cuda.reason).toMatch(/\w/);
      expect(b.cuda.devices).toEqual([]);
      // This project's CI machines build with nvcc but have no driver.
      if (b.cuda.compiled && b.cuda.driverVersion === 0) expect(b.cuda.reason).toMatch(/driver/i);
    }
  });
});

// The rule, measured on an H100 machine (bench/cuda_bench.cu): host-array copies make a GPU call
// slower than the CPU for a streaming loss, and faster for pairwise work from about 2^22 up.
describe("'auto' and the GPU", () => {
  it('keeps streaming losses on the CPU, however large', () => {
    expect(autoPicksCuda({ cuda: true, pairWork: 0 })).toBe(false);
  });
  it('sends pairwise work to the GPU from CUDA_AUTO_MIN_WORK up', () => {
    expect(CUDA_AUTO_MIN_WORK).toBe(1 << 22);
    expect(autoPicksCuda({ cuda: true, pairWork: 1024 * 1024 * 128 })).toBe(true);
    expect(autoPicksCuda({ cuda: true, pairWork: CUDA_AUTO_MIN_WORK - 1 })).toBe(false);
    expect(autoPicksCuda({ cuda: false, pairWork: 1 << 30 })).toBe(false);
  });
  it('weighs the metric-learning losses by N M D, and OPL (O(N D)) as streaming', () => {
    expect(pairWork('multi-similarity', 1024, 1024, 128)).toBe(1024 * 1024 * 128);
    expect(pairWork('contrastive', 64, 4096, 32)).toBe(64 * 4096 * 32);
    expect(pairWork('orthogonal-projection', 65536, 65536, 512)).toBe(0);
  });
  it('counts the pairs of ragged and fixed lists', () => {
    const ragged = listBatch('t', new Float32Array(10), new Float32Array(10), { offsets: [0, 3, 3, 10] });
    expect(pairCount(ragged)).toBe(9 + 0 + 49);
    const fixed = listBatch('t', new Float32Array(12), new Float32Array(12), { listSize: 4 });
    expect(pairCount(fixed)).toBe(3 * 16);
  });
});

describe('Async twins give the sync results bit for bit', () => {
  const n = 50_000,
    rows = 5000,
    C = 5;
  const x = randomScores(n, 1, 0.2),
    y = randomBinaryLabels(n, 2);
  const xm = randomScores(rows * C, 3, 2),
    ym = randomClassLabels(rows, C, 4);
  const pairs: [
    string,
    () => { loss: number; grad: Float32Array },
    () => Promise<{ loss: number; grad: Float32Array }>,
  ][] = [
    ['anyLoss', () => anyLoss(x, y), () => anyLossAsync(x, y)],
    [
      'anyLoss custom metric',
      () => anyLoss(xm, ym, { classes: C, metric: (c) => c.tp / (c.tp + c.fn + c.fp) }),
      () => anyLossAsync(xm, ym, { classes: C, metric: (c) => c.tp / (c.tp + c.fn + c.fp) }),
    ],
    ['diceLoss', () => diceLoss(xm, ym, { classes: C }), () => diceLossAsync(xm, ym, { classes: C })],
    [
      'tverskyLoss',
      () => tverskyLoss(x, y, { alpha: 0.3, beta: 0.7 }),
      () => tverskyLossAsync(x, y, { alpha: 0.3, beta: 0.7 }),
    ],
    ['binaryCrossEntropy', () => binaryCrossEntropy(x, y), () => binaryCrossEntropyAsync(x, y)],
  ];
  for (const [name, sync, async] of pairs) {
    it(name, async () => {
      const a = sync();
      const b = await async();
      expect(b.loss).toBe(a.loss);
      expect(bitwiseEqual(b.grad, a.grad)).toBe(true);
    });
  }
  it('many concurrent calls all match', async () => {
    const want = anyLoss(x, y);
    const got = await Promise.all(Array.from({ length: 16 }, () => anyLossAsync(x, y)));
    for (const r of got) {
      expect(r.loss).toBe(want.loss);
      expect(bitwiseEqual(r.grad, want.grad)).toBe(true);
    }
  });
  it('softConfusionAsync', async () => {
    const a = softConfusion(xm, ym, { classes: C });
    const b = await softConfusionAsync(xm, ym, { classes: C });
    expect(Array.from(b.tp)).toEqual(Array.from(a.tp));
    expect(Array.from(b.tn)).toEqual(Array.from(a.tn));
  });
});

describe('FUSEDLOSS_THREADS', () => {
  it('sets the initial pool size of a new process', () => {
    const script = `console.log(require(${JSON.stringify(path.resolve(__dirname, '../build/Release/fusedloss.node'))}).getThreads())`;
    for (const n of ['1', '3']) {
      const got = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, FUSEDLOSS_THREADS: n } });
      expect(got.toString().trim()).toBe(n);
    }
  });
});

describe('empty input', () => {
  it('gives a finite loss and an empty gradient', () => {
    for (const backend of ['cpu', 'js'] as const) {
      const r = anyLoss(new Float32Array(0), new Float32Array(0), { backend });
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.grad.length).toBe(0);
      expect(Number.isFinite(diceLoss(new Float32Array(0), new Int32Array(0), { classes: 3, backend }).loss)).toBe(
        true,
      );
      expect(binaryCrossEntropy(new Float32Array(0), new Float32Array(0), { backend }).loss).toBe(0);
    }
  });
});

describe('options.out', () => {
  it('is filled and returned', () => {
    const x = randomScores(100, 5),
      y = randomBinaryLabels(100, 6);
    const out = new Float32Array(100);
    const r = anyLoss(x, y, { out });
    expect(r.grad).toBe(out);
    expect(bitwiseEqual(out, anyLoss(x, y).grad)).toBe(true);
  });
});
