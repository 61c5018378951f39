// SphericalHead on the 'wasm' backend beside 'cpu' and 'js' (the parity files run on wasm with
// FUSEDLOSS_TEST_BACKEND=wasm): the three train alike, weights() hands back the caller's own copy,
// a dropped head's wasm memory is freed, sizes past wasm's 4 GB are refused with a coded error,
// and 'auto' takes 'wasm' where the native addon does not load.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import * as fl from '../src';
import { addonFor } from '../src/native';
import { expectAgree, expectError, gradError } from './helpers';
import { batches } from './spherical-head.fixtures';

// `npm run build:wasm` needs Emscripten: CI always has it, a clone may not.
const ready = fl.backends().wasm.available || !!process.env.CI;
const noCpu = !fl.backends().cpu.available;

describe.skipIf(!ready)("SphericalHead on 'wasm'", () => {
  const [C, D, M] = [300, 12, 6];
  const W = Float32Array.from({ length: C * D }, (_, i) => Math.sin(0.37 * i) / Math.sqrt(D));

  for (const loss of ['z', 'mse'] as const) {
    it(`${loss}: 'wasm' and 'cpu' heads follow the 'js' head over 12 steps (stabilised every 3)`, () => {
      const lr = loss === 'z' ? 2 : 0.02;
      const make = (backend: 'cpu' | 'wasm' | 'js') =>
        fl.SphericalHead.fromWeights(W, { dim: D, loss, stabilizeEvery: 3, backend });
      const js = make('js');
      const native: ('wasm' | 'cpu')[] = noCpu ? ['wasm'] : ['wasm', 'cpu'];
      const heads = native.map(make);
      expect(heads[0].backend).toBe('wasm');
      for (const [i, b] of batches(12, M, D, C, 21).entries()) {
        const want = js.step(b.hidden, b.targets, { lr, weightDecay: 0.01 });
        for (const head of heads) {
          const got = head.step(b.hidden, b.targets, { lr, weightDecay: 0.01 });
          expectAgree(
            { loss: got.loss, grad: got.gradHidden },
            { loss: want.loss, grad: want.gradHidden },
            `${head.backend} step ${i}`,
          );
        }
      }
      const probe = batches(1, 2, D, C, 22)[0].hidden;
      for (const head of heads) {
        expect(gradError(head.weights(), js.weights())).toBeLessThan(1e-4);
        expect(head.stats.stabilizations).toBe(4);
        expect(Array.from(head.topK(probe, 5).classes)).toEqual(Array.from(js.topK(probe, 5).classes));
      }
    });
  }

  it.skipIf(noCpu)("draws the 'cpu' head's initial weights from a seed", () => {
    const opts = { classes: 50, dim: 8, seed: 4 };
    const wasm = new fl.SphericalHead({ ...opts, backend: 'wasm' }).weights();
    expect(gradError(wasm, new fl.SphericalHead({ ...opts, backend: 'cpu' }).weights())).toBeLessThan(1e-6);
  });

  it('weights(), scores() and stats are the caller’s own, outside wasm memory', () => {
    const head = fl.SphericalHead.fromWeights(W, { dim: D, backend: 'wasm' });
    const w = head.weights();
    const scores = head.scores(W.subarray(0, D));
    expect(w).toEqual(W);
    w.fill(7);
    expect(head.weights()).toEqual(W);
    const b = batches(1, M, D, C, 23)[0];
    head.step(b.hidden, b.targets, { lr: 1 });
    expect(Array.from(new Set(w))).toEqual([7]);
    const js = fl.SphericalHead.fromWeights(W, { dim: D, backend: 'js' }).scores(W.subarray(0, D));
    expect(gradError(scores, js)).toBeLessThan(1e-6);
    expect(head.scores(W.subarray(0, D))).not.toEqual(scores);
    expect(head.stats).toEqual({ steps: 1, stabilizations: 0, resets: 0, unfactorizations: 0 });
  });

  it('frees the wasm memory of a head once the head is garbage-collected', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const bytes = (addonFor('wasm') as unknown as { wasmMemoryBytes: () => number }).wasmMemoryBytes;
    const collect = async () => {
      // GC, then the FinalizationRegistry callback, then emnapi's setImmediate that runs finalizers.
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const headMiB = 32; // 2^20 classes x 8 floats
    const grow = () => {
      const head = new fl.SphericalHead({ classes: 2 ** 20, dim: 8, backend: 'wasm' });
      expect(head.stats.steps).toBe(0);
    };
    grow();
    await collect();
    const before = bytes();
    for (let i = 0; i < 10; i++) {
      grow();
      await collect();
    }
    // Ten heads kept would take 320 MiB more; freed, each reuses the last one's memory.
    expect((bytes() - before) / 2 ** 20).toBeLessThan(2 * headMiB);
  });

  it('refuses a head past wasm memory with ERR_FUSEDLOSS_OUT_OF_MEMORY, and goes on working', () => {
    // 2^32 floats: more than wasm32's size_t counts. 2^30 - 1 floats (4 GB - 4 bytes): malloc fails.
    for (const [classes, dim] of [
      [2 ** 24, 256],
      [1549411, 693],
    ])
      expectError(
        () => new fl.SphericalHead({ classes, dim, backend: 'wasm' }),
        RangeError,
        'ERR_FUSEDLOSS_OUT_OF_MEMORY',
        'SphericalHead: out of memory',
      );
    const head = fl.SphericalHead.fromWeights(W, { dim: D, backend: 'wasm' });
    expect(head.weights()).toEqual(W);
  });
});

describe.skipIf(!ready)("'auto' without the native addon", () => {
  it("runs SphericalHead on 'wasm', as the losses", async () => {
    vi.resetModules();
    vi.doMock('../src/host', async (original) => ({
      ...(await original<typeof import('../src/host')>()),
      loadNativeAddon: () => {
        throw new Error('simulated: no native addon for this platform');
      },
    }));
    const fresh = await import('../src');
    vi.doUnmock('../src/host');
    expect(fresh.backends().cpu.available).toBe(false);
    const head = new fl.SphericalHead({ classes: 40, dim: 4, seed: 2, backend: 'wasm' });
    const auto = new fresh.SphericalHead({ classes: 40, dim: 4, seed: 2 });
    expect(auto.backend).toBe('wasm');
    const b = batches(1, 3, 4, 40, 24)[0];
    expect(auto.step(b.hidden, b.targets, { lr: 0.1 })).toEqual(head.step(b.hidden, b.targets, { lr: 0.1 }));
  });
});
