// Every documented error of linearCrossEntropy: a TypeError or RangeError with an ERR_FUSEDLOSS_
// code and a message naming the argument, on the CPU and the reference, and in the native layer
// when it is called directly.
import { describe, expect, it } from 'vitest';
import { backends, linearCrossEntropy, linearCrossEntropyAsync } from '../src';
import { nativeAddon } from '../src/native';
import { expectError } from './helpers';

const hidden = new Float32Array([1, 0, -1, 0.5, 2, 0]); // 2 rows x 3
const weight = new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // 4 classes x 3
const targets = new Int32Array([0, 3]);
const TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
  VALUE = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
  LENGTH = 'ERR_FUSEDLOSS_LENGTH_MISMATCH',
  NON_FINITE = 'ERR_FUSEDLOSS_NON_FINITE';
const BACKENDS = backends().cpu.available ? (['cpu', 'js'] as const) : (['js'] as const);

describe('linearCrossEntropy errors', () => {
  it('arguments of the wrong type', () => {
    expectError(() => linearCrossEntropy('x' as never, weight, targets), TypeError, TYPE, 'hidden', 'string');
    expectError(() => linearCrossEntropy(hidden, {} as never, targets), TypeError, TYPE, 'weight');
    expectError(() => linearCrossEntropy(hidden, weight, [0, 0.5]), TypeError, TYPE, 'targets[1]', 'integer');
    expectError(() => linearCrossEntropy(hidden, weight, targets, 3 as never), TypeError, TYPE, 'options');
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { bias: 'b' as never }),
      TypeError,
      TYPE,
      'options.bias',
    );
  });

  it('unknown options, options out of range', () => {
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { classes: 4 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'classes'",
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { softcap: 0 }),
      RangeError,
      VALUE,
      'options.softcap',
      '> 0',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { labelSmoothing: 1.5 }),
      RangeError,
      VALUE,
      'labelSmoothing',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { lseSquareScale: -1 }),
      RangeError,
      VALUE,
      'lseSquareScale',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { reduction: 'max' as never }),
      RangeError,
      VALUE,
      'reduction',
    );
    expectError(() => linearCrossEntropy(hidden, weight, targets, { dim: 0 }), RangeError, VALUE, 'options.dim');
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { returnLse: 1 as never }),
      TypeError,
      TYPE,
      'returnLse',
    );
  });

  it('lengths that do not fit', () => {
    expectError(
      () => linearCrossEntropy(hidden, weight, [0, 1, 2, 3]),
      RangeError,
      LENGTH,
      'hidden',
      'pass options.dim',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { dim: 2 }),
      RangeError,
      LENGTH,
      'hidden',
      '2 targets x dim 2',
    );
    expectError(() => linearCrossEntropy(hidden, weight.subarray(0, 11), targets), RangeError, LENGTH, 'weight', '11');
    expectError(() => linearCrossEntropy(hidden, new Float32Array(0), targets), RangeError, LENGTH, 'weight');
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { bias: [1, 2] }),
      RangeError,
      LENGTH,
      'options.bias',
      'one per class',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { weights: [1] }),
      RangeError,
      LENGTH,
      'options.weights',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, { classWeights: [1, 1] }),
      RangeError,
      LENGTH,
      'options.classWeights',
    );
  });

  it('out buffers: wrong type, length, key, sharing memory, gradBias without bias', () => {
    const o = (out: object) => ({ out }) as never;
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, o({ gradHidden: [0] })),
      TypeError,
      TYPE,
      'options.out.gradHidden',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, o({ gradWeight: new Float32Array(3) })),
      RangeError,
      LENGTH,
      'options.out.gradWeight',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, o({ grad: new Float32Array(6) })),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      'options.out.grad',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, o(new Float32Array(6))),
      TypeError,
      TYPE,
      'options.out',
    );
    expectError(
      () => linearCrossEntropy(hidden, weight, targets, o({ gradBias: new Float32Array(4) })),
      RangeError,
      VALUE,
      'needs options.bias',
    );
    for (const backend of BACKENDS) {
      const h = new Float32Array(6).fill(0.5);
      expectError(
        () => linearCrossEntropy(h, weight, targets, { backend, out: { gradHidden: h } }),
        TypeError,
        VALUE,
        'options.out.gradHidden',
        'hidden',
      );
      const both = new Float32Array(18);
      expectError(
        () =>
          linearCrossEntropy(hidden, weight, targets, {
            backend,
            out: { gradHidden: both.subarray(0, 6), gradWeight: both.subarray(5, 17) },
          }),
        TypeError,
        VALUE,
        'must not share memory',
      );
    }
  });

  for (const backend of BACKENDS) {
    it(`values the kernel refuses, on ${backend}`, () => {
      const nan = Float32Array.from(hidden);
      nan[4] = NaN;
      expectError(
        () => linearCrossEntropy(nan, weight, targets, { backend }),
        RangeError,
        NON_FINITE,
        'hidden[4] = NaN',
      );
      const inf = Float32Array.from(weight);
      inf[7] = -Infinity;
      expectError(
        () => linearCrossEntropy(hidden, inf, targets, { backend }),
        RangeError,
        NON_FINITE,
        'weight[7] = -Infinity',
      );
      expectError(
        () => linearCrossEntropy(hidden, weight, targets, { backend, bias: [0, 0, NaN, 0] }),
        RangeError,
        NON_FINITE,
        'options.bias[2]',
      );
      expectError(
        () => linearCrossEntropy(hidden, weight, [0, 4], { backend }),
        RangeError,
        VALUE,
        'targets[1] = 4',
        'for 4 classes',
        'ignoreIndex (-100)',
      );
      expectError(() => linearCrossEntropy(hidden, weight, [-1, 0], { backend }), RangeError, VALUE, 'targets[0] = -1');
      expectError(
        () => linearCrossEntropy(hidden, weight, targets, { backend, weights: [1, -1] }),
        RangeError,
        VALUE,
        'options.weights[1]',
      );
      expectError(
        () => linearCrossEntropy(hidden, weight, targets, { backend, classWeights: [1, 1, NaN, 1] }),
        RangeError,
        VALUE,
        'options.classWeights[2]',
      );
      // Finite inputs whose logits overflow float32, and huge logits whose z-loss overflows.
      const big = new Float32Array(6).fill(1e30);
      expectError(
        () => linearCrossEntropy(big, new Float32Array(12).fill(1e30), targets, { backend }),
        RangeError,
        NON_FINITE,
        'overflow float32',
      );
      expectError(
        () =>
          linearCrossEntropy(big, new Float32Array(12).fill(1e5), targets, {
            backend,
            lseSquareScale: 1,
            reduction: 'none',
          }),
        RangeError,
        NON_FINITE,
        'overflow float32',
      );
      // The soft cap keeps the same logits finite.
      const capped = linearCrossEntropy(big, new Float32Array(12).fill(1e30), targets, { backend, softcap: 10 });
      expect(Number.isFinite(capped.loss)).toBe(true);
    });
  }

  it('the async twin rejects with the same errors', async () => {
    await expect(linearCrossEntropyAsync(hidden, weight, [0, 9])).rejects.toMatchObject({ code: VALUE });
    await expect(linearCrossEntropyAsync(hidden, weight, targets, { softcap: -1 })).rejects.toBeInstanceOf(RangeError);
  });

  it.skipIf(!backends().cpu.available)('the native entry point checks its arguments itself', () => {
    const addon = nativeAddon()!;
    const params = { dim: 3, reduction: 0, ignoreIndex: -100, smoothing: 0, lseSquareScale: 0, softcap: 0, device: 0 };
    // The entry point's positional arguments by name (binding/napi/linear_ce.cc), null unless given.
    const SLOTS = [
      'hidden',
      'weight',
      'targets',
      'bias',
      'weights',
      'classWeights',
      'gradHidden',
      'gradWeight',
      'gradBias',
      'rowLoss',
      'lse',
      'params',
      'async',
    ] as const;
    const call = (args: Partial<Record<(typeof SLOTS)[number], unknown>>) => () => {
      const a: Record<string, unknown> = {
        hidden,
        weight,
        targets,
        gradHidden: new Float32Array(6),
        gradWeight: new Float32Array(12),
        params,
        async: false,
        ...args,
      };
      return (addon.linearCrossEntropy as (...x: unknown[]) => unknown)(...SLOTS.map((k) => a[k] ?? null));
    };
    expectError(call({ params: { ...params, dim: 4 } }), RangeError, LENGTH, 'hidden');
    expectError(call({ targets: new Float32Array(2) }), TypeError, TYPE, 'targets');
    expectError(call({ gradHidden: new Float32Array(5) }), RangeError, LENGTH, 'gradHidden');
    expectError(call({ params: { ...params, reduction: 2 } }), TypeError, TYPE, 'rowLoss');
    expectError(call({ params: { ...params, smoothing: 2 } }), RangeError, VALUE, 'smoothing');
    const h = Float32Array.from(hidden);
    expectError(call({ hidden: h, gradHidden: h }), TypeError, VALUE, 'must not share memory');
  });
});
