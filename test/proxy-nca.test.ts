// proxyNCA (ProxyNCA++, formulas M.2): the float64 reference against a hand-computed case and
// finite differences of its own loss; every backend (the native one, or its wasm build with
// FUSEDLOSS_TEST_BACKEND=wasm, and the CUDA simulator) against the reference at odd sizes; the
// documented errors, one class, an empty batch, the async twin, and the addon's entry point's own
// argument checks.
import { describe, expect, it } from 'vitest';
import { backends, proxyNCA, proxyNCAAsync, type ProxyNCAOptions } from '../src';
import { nativeAddon, type Backend } from '../src/native';
import { referenceProxyNCA, type ProxyNcaRefParams } from '../src/reference/proxy';
import {
  bitwiseEqual,
  expectAgree,
  expectError,
  finiteDifferences,
  gpuBackends,
  gradError,
  randomClassLabels,
  randomScores,
  relError,
} from './helpers';
import { NATIVE } from './native-backend';

interface Case {
  B: number;
  D: number;
  C: number;
  options?: ProxyNCAOptions;
}

// B, D, C from 1, 7, 33, 1031: one row, one class, past a tile on each side.
const CASES: Case[] = [
  { B: 1, D: 1, C: 1 },
  { B: 7, D: 7, C: 7 },
  { B: 1, D: 33, C: 7, options: { reduction: 'none' } },
  { B: 7, D: 1, C: 33 },
  { B: 33, D: 7, C: 1031, options: { softmaxScale: 9 } },
  { B: 1031, D: 33, C: 7, options: { reduction: 'sum' } },
  { B: 33, D: 1031, C: 33, options: { softmaxScale: 0.1, reduction: 'none' } },
  { B: 1031, D: 7, C: 33, options: { softmaxScale: 1000 } },
  { B: 1031, D: 7, C: 1031, options: { softmaxScale: 9 } },
];
const name = (c: Case) => `B ${c.B}, D ${c.D}, C ${c.C} ${JSON.stringify(c.options ?? {})}`;

function inputs(c: Case, seed = c.B * 7 + c.D * 13 + c.C) {
  return {
    embeddings: randomScores(c.B * c.D, seed),
    proxies: randomScores(c.C * c.D, seed + 1),
    labels: randomClassLabels(c.B, c.C, seed + 2),
  };
}

function refParams(o: ProxyNCAOptions = {}): ProxyNcaRefParams {
  return { scale: o.softmaxScale ?? 1, reduction: o.reduction ?? 'mean' };
}

function expectReference(c: Case, x: ReturnType<typeof inputs>, backend: Backend) {
  const got = proxyNCA(x.embeddings, x.proxies, x.labels, { ...c.options, dim: c.D, backend });
  const want = referenceProxyNCA({ ...x, dim: c.D }, refParams(c.options));
  const wantLoss = c.options?.reduction === 'none' ? want.rowLoss : want.loss;
  expect(typeof got.loss).toBe(c.options?.reduction === 'none' ? 'object' : 'number');
  expectAgree({ loss: got.loss, grad: got.gradEmbeddings }, { loss: wantLoss, grad: want.gradEmbeddings }, name(c));
  expectAgree({ loss: got.loss, grad: got.gradProxies }, { loss: wantLoss, grad: want.gradProxies }, name(c));
}

describe('proxyNCA reference', () => {
  it('a hand-computed case: two orthogonal classes', () => {
    // Unit embeddings on their proxies: squared distance 0 to the own proxy, 2 to the other, so
    // each row's loss is log(1 + e^{-2 scale}); the mean is the same.
    const pb = { embeddings: [1, 0, 0, 2], proxies: [1, 0, 0, 1], labels: [0, 1], dim: 2 };
    const r = referenceProxyNCA(pb, { scale: 3, reduction: 'mean' });
    expect(relError(r.loss, Math.log1p(Math.exp(-6)))).toBeLessThan(1e-12);
    // dL/dx^_0 = (1/2) sum_c (softmax_c - [c = 0]) (-2 scale)(x^_0 - p^_c): only the other proxy
    // (0, 1) pulls, with weight q = e^{-6} / (1 + e^{-6}); its (1, -1) difference keeps (0, -1)
    // orthogonal to x^_0 = (1, 0): gradient (0, 3 q) for row 0, and (3 q, 0) / 2 for row 1 (norm 2).
    const q = Math.exp(-6) / (1 + Math.exp(-6));
    const want = [0, 3 * q, (3 * q) / 2, 0];
    r.gradEmbeddings.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it("'none' keeps the rows whose sum is 'sum' and whose mean is 'mean'", () => {
    const c = { B: 9, D: 5, C: 4 };
    const x = inputs(c);
    const none = referenceProxyNCA({ ...x, dim: 5 }, { scale: 2, reduction: 'none' });
    const sum = referenceProxyNCA({ ...x, dim: 5 }, { scale: 2, reduction: 'sum' });
    const mean = referenceProxyNCA({ ...x, dim: 5 }, { scale: 2, reduction: 'mean' });
    const total = none.rowLoss.reduce((a, v) => a + v, 0);
    expect(relError(sum.loss, total)).toBeLessThan(1e-14);
    expect(relError(mean.loss, total / 9)).toBeLessThan(1e-14);
    expect(gradError(none.gradProxies, sum.gradProxies)).toBeLessThan(1e-14);
  });

  it('its gradients are the finite differences of its loss, for both inputs', () => {
    const c = { B: 6, D: 4, C: 5 };
    const x = inputs(c);
    const loss = (e: ArrayLike<number>, p: ArrayLike<number>) =>
      referenceProxyNCA({ embeddings: e, proxies: p, labels: x.labels, dim: 4 }, { scale: 4, reduction: 'mean' }).loss;
    const r = referenceProxyNCA({ ...x, dim: 4 }, { scale: 4, reduction: 'mean' });
    expect(
      gradError(
        r.gradEmbeddings,
        finiteDifferences((e) => loss(e, x.proxies), x.embeddings, 1e-6),
      ),
    ).toBeLessThan(1e-6);
    expect(
      gradError(
        r.gradProxies,
        finiteDifferences((p) => loss(x.embeddings, p), x.proxies, 1e-6),
      ),
    ).toBeLessThan(1e-6);
  });
});

const report = backends();
const RUN: { backend: Backend; skip: string | false }[] = [
  { backend: 'js', skip: false },
  { backend: NATIVE, skip: report[NATIVE].available ? false : report[NATIVE].reason! },
  ...gpuBackends(),
];

for (const { backend, skip } of RUN) {
  describe.skipIf(skip)(`proxyNCA on ${backend}${skip ? ` (${skip})` : ''}`, () => {
    // The simulator runs a fiber per thread: its sizes stay moderate.
    const cases = backend === 'cuda-sim' ? CASES.filter((c) => c.B * c.C * Math.max(c.D, 16) <= 2_000_000) : CASES;
    for (const c of cases) it(name(c), () => expectReference(c, inputs(c), backend));

    it('labels outside [0, C), naming the number of classes, and non-finite inputs', () => {
      const x = new Float32Array([1, 0, 0, 2, 1, 1]),
        p = new Float32Array([1, 0, 0, 1]);
      for (const bad of [2, -1, -100])
        expectError(
          () => proxyNCA(x, p, [0, bad, 1], { backend }),
          RangeError,
          'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
          `labels[1] = ${bad}`,
          'for 2 classes',
        );
      expectError(
        () => proxyNCA(Float32Array.of(1, 0, NaN, 2, 1, 1), p, [0, 1, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'embeddings[2]',
      );
      expectError(
        () => proxyNCA(x, Float32Array.of(1, 0, 0, Infinity), [0, 1, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'proxies[3]',
      );
    });

    it('one class: loss 0 and zero gradients', () => {
      const r = proxyNCA(randomScores(15, 3), randomScores(3, 4), [0, 0, 0, 0, 0], { dim: 3, backend });
      expect(r.loss).toBe(0);
      expect(r.gradEmbeddings.every((v) => v === 0)).toBe(true);
      expect(r.gradProxies.every((v) => v === 0)).toBe(true);
    });

    it('a zero embedding, a zero proxy and one below the 1e-12 floor (as F.normalize)', () => {
      // Such a proxy's p^ is shorter than 1: its distances are not 2 - 2 cos (formulas M.2).
      const c = { B: 9, D: 5, C: 6 };
      const x = inputs(c);
      x.embeddings.fill(0, 5, 10);
      x.proxies.fill(0, 0, 5);
      x.proxies.fill(-2e-13, 5, 10);
      expectReference(c, x, backend);
    });

    it('an empty batch: loss 0, zero proxy gradients', () => {
      const r = proxyNCA(new Float32Array(0), randomScores(6, 1), [], {
        dim: 3,
        backend,
        out: { gradProxies: new Float32Array(6).fill(7) },
      });
      expect(r.loss).toBe(0);
      expect(Array.from(r.gradProxies)).toEqual([0, 0, 0, 0, 0, 0]);
    });

    it('the async twin gives the same result', async () => {
      const c = { B: 7, D: 33, C: 9 };
      const x = inputs(c);
      const a = proxyNCA(x.embeddings, x.proxies, x.labels, { dim: 33, backend });
      const b = await proxyNCAAsync(x.embeddings, x.proxies, x.labels, { dim: 33, backend });
      expect(b.loss).toBe(a.loss);
      expect(bitwiseEqual(b.gradEmbeddings, a.gradEmbeddings)).toBe(true);
      expect(bitwiseEqual(b.gradProxies, a.gradProxies)).toBe(true);
    });
  });
}

describe('proxyNCA options', () => {
  it('refuses softmaxScale outside (0, 1000] and an unknown reduction', () => {
    const x = new Float32Array([1, 0]),
      p = new Float32Array([1, 0, 0, 1]);
    for (const s of [0, -1, 1001])
      expectError(
        () => proxyNCA(x, p, [0], { softmaxScale: s }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'softmaxScale',
      );
    expectError(
      () => proxyNCA(x, p, [0], { reduction: 'avg' as 'mean' }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'reduction',
    );
  });
});

// The addon's proxyNCA (binding/napi/linear_ce.cc), which the native backends call with the
// TypeScript checks already made, checks its arguments itself.
describe.skipIf(!backends().cpu.available)('the native entry point proxyNCA', () => {
  const x = new Float32Array([1, 0, -1, 0.5, 2, 0]), // 2 rows x 3
    p = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // 4 classes x 3
  const params = { dim: 3, softmaxScale: 1, reduction: 0, device: 0 };
  const SLOTS = [
    'embeddings',
    'proxies',
    'labels',
    'gradEmbeddings',
    'gradProxies',
    'rowLoss',
    'params',
    'async',
  ] as const;
  const call = (args: Partial<Record<(typeof SLOTS)[number], unknown>>) => () => {
    const a: Record<string, unknown> = {
      embeddings: x,
      proxies: p,
      labels: new Int32Array([0, 3]),
      gradEmbeddings: new Float32Array(6),
      gradProxies: new Float32Array(12),
      params,
      async: false,
      ...args,
    };
    return (nativeAddon()!.proxyNCA as (...v: unknown[]) => unknown)(...SLOTS.map((k) => a[k] ?? null));
  };

  it('agrees with the public function', () => {
    const want = proxyNCA(x, p, [0, 3], { dim: 3, backend: 'cpu' });
    const gradEmbeddings = new Float32Array(6);
    expect(call({ gradEmbeddings })()).toBe(want.loss);
    expect(bitwiseEqual(gradEmbeddings, want.gradEmbeddings)).toBe(true);
  });

  it('refuses wrong lengths and types, a missing rowLoss, a scale it would divide by 0 with, and aliasing', () => {
    const LENGTH = 'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      VALUE = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE';
    expectError(call({ params: { ...params, dim: 4 } }), RangeError, LENGTH, 'embeddings');
    expectError(call({ labels: new Float32Array(2) }), TypeError, TYPE, 'labels');
    expectError(call({ gradProxies: new Float32Array(9) }), RangeError, LENGTH, 'gradProxies');
    expectError(call({ params: { ...params, reduction: 2 } }), TypeError, TYPE, 'rowLoss');
    expectError(call({ params: { ...params, softmaxScale: 0 } }), RangeError, VALUE, 'softmaxScale');
    const e = Float32Array.from(x);
    expectError(call({ embeddings: e, gradEmbeddings: e }), TypeError, VALUE, 'must not share memory');
  });
});
