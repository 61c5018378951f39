// Determinism: every loss returns bitwise-identical loss and gradient across 1, 2 and 8 CPU
// threads and across repeated runs, on the CPU, its WebAssembly build (one thread: repeated runs)
// and cuda-sim (DESIGN.md, Numerics: chunking and the order of reductions are fixed, never left to
// the scheduler).
import { afterAll, describe, expect, it } from 'vitest';
import * as fl from '../src';
import { bitwiseEqual, randomBinaryLabels, randomClassLabels, randomScores } from './helpers';

type Backend = 'cpu' | 'wasm' | 'cuda-sim';
type Result = { loss: number | Float32Array; grad: Float32Array };

/** Every loss at a size that spans many chunks (`big`) or one fit for the simulator. */
function cases(big: boolean): Array<[string, (backend: Backend) => Result]> {
  const n = big ? 40_000 : 3000;
  const [rows, classes] = big ? [512, 300] : [40, 50];
  const [lists, size] = big ? [800, 40] : [60, 20];
  const [items, dim] = big ? [700, 48] : [96, 12];
  const x = randomScores(n, 1, 2);
  const y = randomBinaryLabels(n, 2);
  const multi = randomScores(rows * classes, 3, 3);
  const ids = randomClassLabels(rows, classes, 4);
  const s = randomScores(lists * size, 5, 2);
  const rel = Float32Array.from(randomClassLabels(lists * size, 5, 6), (v) => v - 1); // -1 pads
  const teacher = randomScores(rows * classes, 7, 2);
  const e = randomScores(items * dim, 8);
  const ey = randomClassLabels(items, 12, 9);
  const list = { listSize: size };
  const pair = { dim };
  return [
    ['anyLoss', (backend) => fl.anyLoss(x, y, { metric: 'mcc', backend })],
    ['anyLoss multi-class', (backend) => fl.anyLoss(multi, ids, { classes, average: 'macro', backend })],
    ['diceLoss', (backend) => fl.diceLoss(x, y, { backend })],
    ['tverskyLoss', (backend) => fl.tverskyLoss(multi, ids, { classes, backend })],
    ['binaryCrossEntropy', (backend) => fl.binaryCrossEntropy(x, y, { backend })],
    ['sigmoidFocal', (backend) => fl.sigmoidFocal(x, y, { backend })],
    ['zLoss', (backend) => fl.zLoss(multi, ids, { classes, backend })],
    ['sphericalLoss', (backend) => fl.sphericalLoss(multi, ids, { classes, kind: 'log-taylor-softmax', backend })],
    ['softmaxCrossEntropy', (backend) => fl.softmaxCrossEntropy(multi, ids, { classes, labelSmoothing: 0.1, backend })],
    ['rankList', (backend) => fl.rankList(s, rel, { ...list, backend })],
    ['listMLE', (backend) => fl.listMLE(s, rel, { ...list, backend })],
    ['listNet', (backend) => fl.listNet(s, rel, { ...list, backend })],
    ['rankNet', (backend) => fl.rankNet(s, rel, { ...list, backend })],
    ['lambdaLoss', (backend) => fl.lambdaLoss(s, rel, { ...list, scheme: 'ndcgLoss2PP', backend })],
    ['plackettLuceDistill', (backend) => fl.plackettLuceDistill(multi, teacher, ids, { backend })],
    ['multiSimilarity', (backend) => fl.multiSimilarity(e, ey, { ...pair, backend })],
    ['contrastive', (backend) => fl.contrastive(e, ey, { ...pair, backend })],
    ['tripletBatchHard', (backend) => fl.tripletBatchHard(e, ey, { ...pair, backend })],
    ['circleLoss', (backend) => fl.circleLoss(e, ey, { ...pair, backend })],
    ['supCon', (backend) => fl.supCon(e, ey, { ...pair, backend })],
    ['ntXent', (backend) => fl.ntXent(e, null, { ...pair, backend })],
    ['orthogonalProjection', (backend) => fl.orthogonalProjection(e, ey, { ...pair, backend })],
  ];
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
    for (const [name, run] of cases(backend !== 'cuda-sim')) {
      const skip = (backend === 'cuda-sim' && !sim) || (backend === 'wasm' && !wasm);
      it.skipIf(skip)(`${name} on ${backend}: the same bits with 1, 2 and 8 threads and on a second run`, () => {
        const results = [1, 2, 8, 8].map((t) => {
          fl.setThreads(t);
          const r = run(backend);
          return { loss: r.loss, grad: Float32Array.from(r.grad) };
        });
        for (const r of results.slice(1)) expect(same(results[0], r)).toBe(true);
      });
    }
  }
});
