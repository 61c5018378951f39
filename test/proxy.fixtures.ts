// Shared cases of the proxy-loss suites: odd sizes (B, D, C from 1, 7, 33, 1031; past one tile on
// each side), inputs, and the comparison of a backend's result with the float64 reference.
import { proxyAnchor, type ProxyAnchorOptions, type ProxyLossResult } from '../src';
import type { Backend } from '../src/native';
import { referenceProxyAnchor } from '../src/reference/proxy';
import { expectAgree, randomClassLabels, randomScores } from './helpers';

export interface ProxyCase {
  B: number;
  D: number;
  C: number;
  options?: ProxyAnchorOptions;
}

export const CASES: ProxyCase[] = [
  { B: 1, D: 1, C: 1 },
  { B: 7, D: 7, C: 7 },
  { B: 1, D: 33, C: 7 },
  { B: 7, D: 1, C: 33 },
  { B: 33, D: 7, C: 1031 },
  { B: 1031, D: 33, C: 7 },
  { B: 33, D: 1031, C: 33, options: { reduction: 'sum' } },
  { B: 1031, D: 7, C: 33, options: { alpha: 9, margin: -0.3 } },
  { B: 33, D: 33, C: 33, options: { alpha: 1000, margin: 1 } },
  { B: 1031, D: 7, C: 1031 },
];

export const caseName = (c: ProxyCase) => `B ${c.B}, D ${c.D}, C ${c.C} ${JSON.stringify(c.options ?? {})}`;

export function inputs(c: ProxyCase, seed = c.B * 7 + c.D * 13 + c.C) {
  return {
    embeddings: randomScores(c.B * c.D, seed),
    proxies: randomScores(c.C * c.D, seed + 1),
    labels: randomClassLabels(c.B, c.C, seed + 2),
  };
}

/** `got` agrees with the float64 reference on the same inputs, loss and both gradients. */
export function expectReference(
  c: ProxyCase,
  x: ReturnType<typeof inputs>,
  got: ProxyLossResult,
  what = caseName(c),
): void {
  const want = referenceProxyAnchor({ ...x, dim: c.D }, {
    alpha: 32,
    margin: 0.1,
    reduction: 'mean',
    ...c.options,
  } as Parameters<typeof referenceProxyAnchor>[1]);
  expectAgree(
    { loss: got.loss, grad: got.gradEmbeddings },
    { loss: want.loss, grad: want.gradEmbeddings },
    `${what} embeddings`,
  );
  expectAgree(
    { loss: got.loss, grad: got.gradProxies },
    { loss: want.loss, grad: want.gradProxies },
    `${what} proxies`,
  );
}

export function checkCase(c: ProxyCase, backend: Backend): void {
  const x = inputs(c);
  expectReference(c, x, proxyAnchor(x.embeddings, x.proxies, x.labels, { ...c.options, dim: c.D, backend }));
}
