// The float64 reference of the proxy losses (src/reference/proxy.ts) against hand-computed values
// and finite differences of its own loss.
import { describe, expect, it } from 'vitest';
import { proxyAnchor } from '../src';
import { referenceProxyAnchor, type ProxyAnchorRefParams } from '../src/reference/proxy';
import { finiteDifferences, gradError, randomScores, relError } from './helpers';

const PML: ProxyAnchorRefParams = { alpha: 32, margin: 0.1, reduction: 'mean' };
const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));

describe('proxyAnchor reference', () => {
  it('a hand-computed case: two orthogonal classes', () => {
    // Embeddings (1, 0) of class 0 and (0, 2) of class 1, proxies (1, 0) and (0, 1): cosines 1 on
    // the positives, 0 on the negatives. Each class's positive term is log(1 + e^{-alpha (1 - m)}),
    // its negative term log(1 + e^{alpha m}); both means are over 2 proxies.
    const r = referenceProxyAnchor({ embeddings: [1, 0, 0, 2], proxies: [1, 0, 0, 1], labels: [0, 1], dim: 2 }, PML);
    expect(relError(r.loss, Math.log1p(Math.exp(-28.8)) + Math.log1p(Math.exp(3.2)))).toBeLessThan(1e-14);
    // dL/ds for a negative pair: (1/C) alpha sigmoid(alpha m) = 16 sigmoid(3.2); the normalisation
    // keeps only the part orthogonal to the row, divided by its norm (1, then 2).
    const g = 16 * sigmoid(3.2);
    const want = [0, g, g / 2, 0];
    r.gradEmbeddings.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    // Proxy 0 gets s_10's weight times embedding 1's direction (0, 1), projected off (1, 0).
    const wantP = [0, g, g, 0];
    r.gradProxies.forEach((v, i) => expect(v).toBeCloseTo(wantP[i], 12));
  });

  it('averages the positive term over the proxies with a positive only', () => {
    // 3 embeddings all of class 1 among 4 proxies: |P+| = 1, C = 4.
    const x = randomScores(9, 3),
      p = randomScores(12, 4);
    const mean = referenceProxyAnchor({ embeddings: x, proxies: p, labels: [1, 1, 1], dim: 3 }, PML).loss;
    const sum = referenceProxyAnchor(
      { embeddings: x, proxies: p, labels: [1, 1, 1], dim: 3 },
      { ...PML, reduction: 'sum' },
    );
    // With one class holding positives, mean = pos + neg / 4 and sum = pos + neg; the sum of the
    // negative terms alone comes from a batch whose labels make every pair negative for classes 0, 2, 3.
    const unit = (v: ArrayLike<number>, k: number) => {
      const r = [v[3 * k], v[3 * k + 1], v[3 * k + 2]];
      const n = Math.hypot(...r);
      return r.map((a) => a / n);
    };
    const cos = (i: number, c: number) => unit(x, i).reduce((a, v, d) => a + v * unit(p, c)[d], 0);
    const pos = Math.log1p([0, 1, 2].reduce((a, i) => a + Math.exp(-32 * (cos(i, 1) - 0.1)), 0));
    const neg = [0, 2, 3].reduce(
      (a, c) => a + Math.log1p([0, 1, 2].reduce((b, i) => b + Math.exp(32 * (cos(i, c) + 0.1)), 0)),
      0,
    );
    // Class 1 has no negative: log(1 + 0) = 0.
    expect(relError(mean, pos + neg / 4)).toBeLessThan(1e-12);
    expect(relError(sum.loss, pos + neg)).toBeLessThan(1e-12);
    // The proxies without a positive still get the negative term's gradient; none is NaN.
    expect(sum.gradProxies.every(Number.isFinite)).toBe(true);
  });

  it('its gradients are the finite differences of its loss', () => {
    const B = 6,
      D = 5,
      C = 4;
    const x = randomScores(B * D, 11),
      p = randomScores(C * D, 12);
    const labels = [0, 2, 2, 0, 2, 0]; // classes 1 and 3 have no positive
    for (const params of [
      { alpha: 4, margin: 0.1, reduction: 'mean' as const },
      { alpha: 2, margin: -0.5, reduction: 'sum' as const },
    ]) {
      const r = referenceProxyAnchor({ embeddings: x, proxies: p, labels, dim: D }, params);
      const fx = finiteDifferences(
        (v) => referenceProxyAnchor({ embeddings: v, proxies: p, labels, dim: D }, params).loss,
        x,
        1e-6,
      );
      const fp = finiteDifferences(
        (v) => referenceProxyAnchor({ embeddings: x, proxies: v, labels, dim: D }, params).loss,
        p,
        1e-6,
      );
      expect(gradError(r.gradEmbeddings, fx)).toBeLessThan(1e-7);
      expect(gradError(r.gradProxies, fp)).toBeLessThan(1e-7);
    }
  });

  it("is the 'js' backend", () => {
    const r = proxyAnchor([1, 0, 0, 2], [1, 0, 0, 1], [0, 1], { backend: 'js' });
    expect(relError(r.loss, Math.log1p(Math.exp(-28.8)) + Math.log1p(Math.exp(3.2)))).toBeLessThan(1e-7);
  });
});
