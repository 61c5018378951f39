// linearCrossEntropy's CUDA kernels (cuda/linear_ce.cu) against the float64 reference: in the
// simulator ('cuda-sim', every build) at odd sizes with every option and the edge cases (a subset
// of the CPU's cases: the simulator runs a fiber per thread), and on a real device when present.
import { describe, it } from 'vitest';
import { linearCrossEntropy } from '../src';
import { CASES, checkCase, expectReference, inputs, saturated, type LinearCase } from './linear.fixtures';
import { gpuBackends } from './helpers';

// In the simulator: the odd sizes (past one 64-row tile on each side, one element, one class,
// B and C of 4099), and of the B 97 cases with one option set each only the two that combine
// most options.
const SIM_CASES = CASES.filter(
  (c) => c.B * c.C * Math.max(c.D, 16) <= 2_200_000 && (c.B !== 97 || /every|capped/.test(c.name)),
);

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`linearCrossEntropy on ${backend}${skip ? ` (${skip})` : ''}`, () => {
    for (const c of backend === 'cuda' ? CASES : SIM_CASES) it(c.name, () => checkCase(c, backend));

    it('every row ignored, one class, logits of +-80 before the soft cap', () => {
      const ignored: LinearCase = {
        name: '',
        B: 33,
        D: 7,
        C: 70,
        options: { bias: new Float32Array(70).fill(0.5), lseSquareScale: 0.1, returnLse: true },
      };
      const x = inputs(ignored);
      x.targets.fill(-100);
      expectReference(ignored, x, linearCrossEntropy(x.hidden, x.weight, x.targets, { ...ignored.options, backend }));
      const one: LinearCase = { name: '', B: 65, D: 17, C: 1, options: { lseSquareScale: 0.5 } };
      const y = inputs(one);
      expectReference(one, y, linearCrossEntropy(y.hidden, y.weight, y.targets, { ...one.options, backend }));
      const { cases, x: z } = saturated();
      for (const c of cases)
        expectReference(c, z, linearCrossEntropy(z.hidden, z.weight, z.targets, { ...c.options, backend }));
    });
  });
}
