// proxyAnchor's documented errors, on the reference and the native backends alike: labels out of
// range (naming the number of classes), lengths, non-finite inputs, option bounds, output buffers.
import { describe, it } from 'vitest';
import { backends, proxyAnchor } from '../src';
import { expectError } from './helpers';

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
