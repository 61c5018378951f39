// proxyAnchor's CPU kernel (binding/cpu/proxy_anchor.cc) against the float64 reference at odd sizes,
// a batch where most proxies have no positive, and across thread counts (bitwise); with
// FUSEDLOSS_TEST_BACKEND=wasm the same on the WebAssembly build.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, proxyAnchor, setThreads } from '../src';
import { bitwiseEqual, randomScores } from './helpers';
import { NATIVE } from './native-backend';
import { caseName, CASES, checkCase, expectReference, inputs } from './proxy.fixtures';

describe(`proxyAnchor on ${NATIVE}`, () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));

  for (const c of CASES) it(caseName(c), () => checkCase(c, NATIVE));

  it('a batch where most proxies have no positive, and a zero embedding', () => {
    const c = { B: 50, D: 9, C: 200 };
    const x = inputs(c);
    x.labels.forEach((_, i) => (x.labels[i] = (i % 3) * 17));
    x.embeddings.fill(0, 9, 18);
    expectReference(c, x, proxyAnchor(x.embeddings, x.proxies, x.labels, { dim: c.D, backend: NATIVE }));
  });

  it('is bitwise the same on 1, 2 and 5 threads', () => {
    const c = { B: 300, D: 20, C: 250 };
    const x = inputs(c);
    const runs = [1, 2, 5].map((t) => {
      setThreads(t);
      return proxyAnchor(x.embeddings, x.proxies, x.labels, { dim: c.D, backend: NATIVE });
    });
    for (const r of runs.slice(1)) {
      expect(Object.is(r.loss, runs[0].loss)).toBe(true);
      expect(bitwiseEqual(r.gradEmbeddings, runs[0].gradEmbeddings)).toBe(true);
      expect(bitwiseEqual(r.gradProxies, runs[0].gradProxies)).toBe(true);
    }
  });

  it('the async twin gives the same result', async () => {
    const x = randomScores(7 * 33, 5),
      p = randomScores(9 * 33, 6);
    const y = Int32Array.from({ length: 7 }, (_, i) => i);
    const a = proxyAnchor(x, p, y, { dim: 33, backend: NATIVE });
    const { proxyAnchorAsync } = await import('../src');
    const b = await proxyAnchorAsync(x, p, y, { dim: 33, backend: NATIVE });
    expect(b.loss).toBe(a.loss);
    expect(bitwiseEqual(b.gradProxies, a.gradProxies)).toBe(true);
  });
});
