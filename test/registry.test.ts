// The registry (src/registry.ts) lists every public loss: a function exported from src/index.ts
// that is neither in it nor one of the few non-loss exports fails here, and so does an entry whose
// functions are not the exported ones or whose sample call does not run.
import { describe, expect, it } from 'vitest';
import * as fl from '../src';
import { gradientKeys, hasGradient, LOSS_LIST, LOSSES } from '../src/registry';
import { losses as layersLosses, ops } from '../src/tfjs';
import { FUSED_LOSSES } from '../src/tfjs/table';

/** Public functions that are not losses. */
const NOT_LOSSES = ['backends', 'setThreads', 'getThreads', 'SphericalHead', 'LinearHead'];

describe('the loss registry', () => {
  it('holds every public function of src/index.ts, sync and async, as exported', () => {
    const exported = Object.entries(fl).filter(([name, v]) => typeof v === 'function' && !NOT_LOSSES.includes(name));
    const registered = new Map(LOSS_LIST.flatMap((e) => [[e.sync, e.name] as const, [e.async, e.name] as const]));
    const missing = exported.filter(([, v]) => !registered.has(v as never)).map(([name]) => name);
    expect(missing).toEqual([]);
    for (const e of LOSS_LIST) {
      expect((fl as Record<string, unknown>)[e.name]).toBe(e.sync);
      expect((fl as Record<string, unknown>)[`${e.name}Async`]).toBe(e.async);
    }
  });

  it("gives every loss with a gradient to TensorFlow.js, under the registry's layout", () => {
    // linearCrossEntropy, proxyAnchor and proxyNCA (two inputs) have ops of their own, not table entries.
    const withGrad = LOSS_LIST.filter((e) => hasGradient(e) && gradientKeys(e).length === 1);
    expect(Object.keys(FUSED_LOSSES).sort()).toEqual(withGrad.map((e) => e.name).sort());
    for (const e of withGrad) expect(FUSED_LOSSES[e.name as keyof typeof FUSED_LOSSES].layout).toBe(e.layout);
  });

  it('has a fusedloss/tfjs op for every loss with a gradient, and a layers loss for every one-tensor loss but distillation', () => {
    const withGrad = LOSS_LIST.filter(hasGradient).map((e) => e.name);
    expect(withGrad.filter((n) => typeof (ops as Record<string, unknown>)[n] !== 'function')).toEqual([]);
    // Distillation takes a teacher tensor beside yTrue, which a (yTrue, yPred) layers loss cannot pass.
    const oneTensor = Object.keys(FUSED_LOSSES).filter(
      (n) => FUSED_LOSSES[n as keyof typeof FUSED_LOSSES].layout !== 'distill',
    );
    expect(oneTensor.filter((n) => typeof (layersLosses as Record<string, unknown>)[n] !== 'function')).toEqual([]);
    expect(Object.keys(layersLosses).sort()).toEqual(oneTensor.sort());
  });

  it('has async twins (src/losses/dispatch.ts, asyncTwin) that reject, under their own name, what the sync function throws', async () => {
    for (const e of LOSS_LIST) {
      expect(e.async.name).toBe(`${e.name}Async`);
      const args = e.sample('small');
      const bad = [...args.slice(0, -1), { ...(args[args.length - 1] as object), backend: 'nowhere' }] as never[];
      let pending: Promise<unknown> | undefined;
      expect(() => (pending = e.async(...bad)), e.name).not.toThrow();
      await expect(pending, e.name).rejects.toThrow(new RegExp(`^${e.name}Async: options\\.backend`));
      // The sync function, called next, is not taken for its twin.
      expect(() => e.sync(...bad), e.name).toThrow(new RegExp(`^${e.name}: options\\.backend`));
    }
  });

  it('has sample calls that run on the reference and agree with the default backend', () => {
    for (const e of LOSS_LIST) {
      const args = e.sample('small');
      const options = args.pop() as object;
      const run = e.sync as (...a: unknown[]) => { loss?: unknown };
      const js = run(...args, { ...options, backend: 'js' });
      const auto = run(...args, options);
      expect(typeof js, e.name).toBe('object');
      if (typeof js.loss === 'number')
        expect(Math.abs((auto.loss as number) - js.loss), e.name).toBeLessThan(1e-3 * Math.max(1, Math.abs(js.loss)));
    }
    expect(Object.keys(LOSSES)).toContain('anyLoss');
  });
});
