// proxyAnchor's documented errors, on the reference and the native backends alike: labels out of
// range (naming the number of classes), lengths, non-finite inputs, option bounds, output buffers;
// and the native entry point called directly.
import { describe, expect, it } from 'vitest';
import { backends, proxyAnchor } from '../src';
import { nativeAddon } from '../src/native';
import { expectError } from './helpers';

const LENGTH = 'ERR_FUSEDLOSS_LENGTH_MISMATCH';

const report = backends();
const BACKENDS = (['js', 'cpu', 'cuda-sim'] as const).filter((b) => report[b].available);

const x = new Float32Array([1, 0, 0, 2, 1, 1]); // 3 embeddings of dim 2
const p = new Float32Array([1, 0, 0, 1]); // 2 proxies

describe.each(BACKENDS)('proxyAnchor errors on %s', (backend) => {
  it('labels outside [0, C), naming the number of classes', () => {
    for (const bad of [2, -1]) {
      expectError(
        () => proxyAnchor(x, p, [0, bad, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `labels[1] = ${bad}`,
        'for 2 classes',
      );
    }
  });

  it('non-finite embeddings or proxies', () => {
    expectError(
      () => proxyAnchor(Float32Array.of(1, 0, NaN, 2, 1, 1), p, [0, 1, 1], { backend }),
      RangeError,
      'ERR_FUSEDLOSS_NON_FINITE',
      'embeddings[2]',
    );
    expectError(
      () => proxyAnchor(x, Float32Array.of(1, 0, 0, Infinity), [0, 1, 1], { backend }),
      RangeError,
      'ERR_FUSEDLOSS_NON_FINITE',
      'proxies[3]',
    );
  });

  it('lengths', () => {
    expectError(
      () => proxyAnchor(x, p, [0, 1], { dim: 2, backend }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'embeddings',
    );
    expectError(
      () => proxyAnchor(x, new Float32Array(3), [0, 1, 1], { backend }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'proxies has length 3',
    );
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, out: { gradProxies: new Float32Array(3) } }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.out.gradProxies',
    );
  });

  it('option bounds and values', () => {
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, alpha: 0 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'alpha',
    );
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, margin: 1.5 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'margin',
    );
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, reduction: 'none' as 'sum' }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'reduction',
    );
  });

  it('output buffers that alias an input or each other', () => {
    const g = new Float32Array(6);
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, out: { gradEmbeddings: x } }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.out.gradEmbeddings',
    );
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, out: { gradEmbeddings: g, gradProxies: g.subarray(0, 4) } }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'must not share memory',
    );
    expectError(
      () => proxyAnchor(x, p, [0, 1, 1], { backend, out: { gradBias: g } as object }),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      'options.out.gradBias',
    );
  });
});

describe.skipIf(!report.cpu.available)("proxyAnchor's native entry point checks its arguments itself", () => {
  // binding/napi/proxy.cc through binding/napi/two_sets.h, called directly: each argument by name.
  it('lengths, types, outputs and overlaps, naming the argument', () => {
    const addon = nativeAddon()!;
    const params = { dim: 2, alpha: 32, margin: 0.1, reduction: 0, device: 0 };
    const SLOTS = ['embeddings', 'proxies', 'labels', 'gradEmbeddings', 'gradProxies', 'params', 'async'] as const;
    const call = (args: Partial<Record<(typeof SLOTS)[number], unknown>>) => () => {
      const a: Record<string, unknown> = {
        embeddings: x,
        proxies: p,
        labels: new Int32Array([0, 1, 1]),
        gradEmbeddings: new Float32Array(6),
        gradProxies: new Float32Array(4),
        params,
        async: false,
        ...args,
      };
      return (addon.proxyAnchor as (...v: unknown[]) => unknown)(...SLOTS.map((k) => a[k] ?? null));
    };
    expect(typeof call({})()).toBe('number');
    expectError(call({ params: { ...params, dim: 3 } }), RangeError, LENGTH, 'embeddings', '3 labels x dim 3');
    expectError(call({ proxies: new Float32Array(3) }), RangeError, LENGTH, 'proxies has length 3');
    expectError(call({ labels: new Float32Array(3) }), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'labels');
    expectError(call({ gradProxies: new Float32Array(2) }), RangeError, LENGTH, 'options.out.gradProxies');
    expectError(call({ gradEmbeddings: null }), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'gradEmbeddings');
    const g = new Float32Array(6);
    expectError(
      call({ gradEmbeddings: g, gradProxies: g.subarray(2, 6) }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'must not share memory',
    );
  });
});
