// Determinism: every loss returns bitwise-identical loss and gradient across 1, 2 and 8 CPU
// threads and across repeated runs, on the CPU, its WebAssembly build (one thread: repeated runs)
// and cuda-sim (DESIGN.md, Numerics: chunking and the order of reductions are fixed, never left to
// the scheduler).
import { afterAll, describe, expect, it } from 'vitest';
import * as fl from '../src';
import { gradientKeys, hasGradient, LOSS_LIST, type LossEntry } from '../src/registry';
import { bitwiseEqual } from './helpers';

type Backend = 'cpu' | 'wasm' | 'cuda-sim';
type Result = { loss: number | Float32Array; grad: Float32Array };

// Every loss of the registry with a gradient (softConfusion's counts are the first pass of
// anyLoss, covered there; the ranking metrics in ranking-metrics.cpu.test.ts), on its sample: large
// on the CPU, small for the simulator.
const LOSSES = LOSS_LIST.filter(hasGradient);

function call(e: LossEntry, big: boolean, backend: Backend): Result {
  const args = e.sample(big ? 'large' : 'small');
  const options = args.pop() as object;
  const r = (e.sync as (...a: unknown[]) => Record<string, Float32Array> & Pick<Result, 'loss'>)(...args, {
    ...options,
    backend,
  });
  // The two-input layouts' gradients as one array (copied, not spread: the large samples' gradients
  // exceed the call stack's argument limit).
  const parts = gradientKeys(e).map((k) => r[k]);
  const grad = new Float32Array(parts.reduce((n, g) => n + g.length, 0));
  let at = 0;
  for (const g of parts) {
    grad.set(g, at);
    at += g.length;
  }
  return { loss: r.loss, grad };
}

const same = (a: Result, b: Result): boolean =>
  (typeof a.loss === 'number' ? Object.is(a.loss, b.loss) : bitwiseEqual(a.loss, b.loss as Float32Array)) &&
  bitwiseEqual(a.grad, b.grad);

describe('determinism', () => {
  const initial = fl.getThreads();
  afterAll(() => fl.setThreads(initial));
  // The sanitizer build leaves the simulator out (see .ci/run); every other build has it. The wasm
  // build needs Emscripten (`npm run build:wasm`): CI always has it, a clone may not.
  const sim = fl.backends()['cuda-sim'].available;
  const wasm = fl.backends().wasm.available || !!process.env.CI;
  for (const backend of ['cpu', 'wasm', 'cuda-sim'] as const) {
    for (const e of LOSSES) {
      const skip =
        (backend === 'cuda-sim' && (!sim || !e.backends.includes('cuda-sim'))) || (backend === 'wasm' && !wasm);
      const runs = backend === 'wasm' ? 'on repeated runs' : 'with 1, 2 and 8 threads and on a second run';
      it.skipIf(skip)(`${e.name} on ${backend}: the same bits ${runs}`, () => {
        const results = [1, 2, 8, 8].map((t) => {
          fl.setThreads(t);
          const r = call(e, backend !== 'cuda-sim', backend);
          return { loss: r.loss, grad: Float32Array.from(r.grad) };
        });
        for (const r of results.slice(1)) expect(same(results[0], r)).toBe(true);
      });
    }
  }
});
