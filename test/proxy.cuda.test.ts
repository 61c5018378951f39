// proxyAnchor's CUDA kernels (cuda/proxy_anchor.cu) against the float64 reference: in the simulator
// ('cuda-sim', every build) at the odd sizes it runs in reasonable time (a fiber per thread), and
// every case on a real device when present.
import { describe, it } from 'vitest';
import { proxyAnchor } from '../src';
import { gpuBackends } from './helpers';
import { caseName, CASES, checkCase, expectReference, inputs } from './proxy.fixtures';

const SIM_CASES = CASES.filter((c) => c.B * c.C * Math.max(c.D, 16) <= 2_000_000);

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`proxyAnchor on ${backend}${skip ? ` (${skip})` : ''}`, () => {
    for (const c of backend === 'cuda' ? CASES : SIM_CASES) it(caseName(c), () => checkCase(c, backend));

    it('a batch where most proxies have no positive, and a zero embedding', () => {
      const c = { B: 70, D: 9, C: 130 };
      const x = inputs(c);
      x.labels.forEach((_, i) => (x.labels[i] = (i % 3) * 17));
      x.embeddings.fill(0, 9, 18);
      expectReference(c, x, proxyAnchor(x.embeddings, x.proxies, x.labels, { dim: c.D, backend }));
    });
  });
}
