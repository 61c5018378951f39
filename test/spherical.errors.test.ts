// Every documented error of the spherical family and the softmax losses: a TypeError
// or RangeError with an ERR_FUSEDLOSS_ code and a message naming the argument, on both backends
// that read the data, and again in the native layer when it is called directly.
import type { SoftmaxWire, SphericalWire } from '../src/wire-params';
import { describe, expect, it } from 'vitest';
import { softmaxCrossEntropy, softmaxCrossEntropyAsync, sphericalLoss, zLoss } from '../src';
import { nativeAddon } from '../src/native';
import { wireId } from '../src/wire-enums';
import { expectError } from './helpers';

const x = new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]); // 2 rows x 3 classes
const t = new Int32Array([2, 0]);
const INVALID = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE';

describe('argument types', () => {
  it('logits and targets of the wrong type', () => {
    expectError(
      () => zLoss('abc' as never, t),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'zLoss',
      'logits',
      'string',
    );
    expectError(() => softmaxCrossEntropy(x, 'ab' as never), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'targets');
    expectError(
      () => softmaxCrossEntropy(x, [0, 1.5]),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'targets[1]',
      'integer',
    );
  });
  it('options of the wrong type, unknown options, sphericalLoss without a kind', () => {
    expectError(
      () => zLoss(x, t, { a: '1' as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.a',
      'string',
    );
    expectError(
      () => zLoss(x, t, { weights: [1, 1] } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'weights'",
    );
    expectError(
      () => softmaxCrossEntropy(x, t, { smoothing: 0.1 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'smoothing'",
      'labelSmoothing',
    );
    expectError(
      () => sphericalLoss(x, t, {} as never),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.kind',
      'required',
    );
  });
});

describe('option values', () => {
  it('out of range', () => {
    expectError(() => zLoss(x, t, { a: 0 }), RangeError, INVALID, 'options.a', '>= 0.000001');
    expectError(() => zLoss(x, t, { b: Infinity }), RangeError, INVALID, 'options.b');
    expectError(() => zLoss(x, t, { reduction: 'avg' as never }), RangeError, INVALID, 'options.reduction', "'none'");
    expectError(() => sphericalLoss(x, t, { kind: 'z-loss' as never }), RangeError, INVALID, 'options.kind');
    expectError(
      () => sphericalLoss(x, t, { kind: 'log-spherical-softmax', eps: 0 }),
      RangeError,
      INVALID,
      'options.eps',
    );
    expectError(() => softmaxCrossEntropy(x, t, { temperature: 0 }), RangeError, INVALID, 'options.temperature');
    expectError(
      () => softmaxCrossEntropy(x, t, { labelSmoothing: 1.5 }),
      RangeError,
      INVALID,
      'options.labelSmoothing',
    );
    expectError(() => softmaxCrossEntropy(x, t, { form: 'gce', q: 0 }), RangeError, INVALID, 'options.q');
    expectError(
      () => softmaxCrossEntropy(x, t, { ignoreIndex: 0.5 }),
      RangeError,
      INVALID,
      'options.ignoreIndex',
      'integer',
    );
    expectError(
      () => softmaxCrossEntropy(x, t, { form: 'hinge' as never }),
      RangeError,
      INVALID,
      'options.form',
      "'ldr-kl'",
    );
  });
  it('an option of another form or kind', () => {
    expectError(
      () => softmaxCrossEntropy(x, t, { tau: 0.5 }),
      RangeError,
      INVALID,
      'options.tau',
      "form 'ce'",
      'labelSmoothing',
    );
    expectError(
      () => softmaxCrossEntropy(x, t, { form: 'focal', labelSmoothing: 0.1 }),
      RangeError,
      INVALID,
      'options.labelSmoothing',
      'gamma, alpha',
    );
    expectError(() => softmaxCrossEntropy(x, t, { form: 'mae', q: 0.5 }), RangeError, INVALID, 'no form option');
    expectError(() => sphericalLoss(x, t, { kind: 'mse', eps: 1e-3 }), RangeError, INVALID, 'options.eps', "'mse'");
  });
});

describe('lengths', () => {
  it('classes not inferable, or not matching', () => {
    expectError(
      () => zLoss(new Float32Array(7), t),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'length 7',
      'options.classes',
    );
    expectError(() => zLoss(x, new Int32Array(0)), RangeError, 'ERR_FUSEDLOSS_LENGTH_MISMATCH', 'options.classes');
    expectError(
      () => softmaxCrossEntropy(x, t, { classes: 2 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'logits has length 6, expected 4',
      '2 classes',
    );
  });
  it('weights, class weights and out of the wrong length; out sharing the logits', () => {
    const LENGTH = 'ERR_FUSEDLOSS_LENGTH_MISMATCH';
    expectError(
      () => softmaxCrossEntropy(x, t, { weights: [1] }),
      RangeError,
      LENGTH,
      'options.weights',
      'one weight per row',
    );
    expectError(
      () => softmaxCrossEntropy(x, t, { classWeights: [1, 2] }),
      RangeError,
      LENGTH,
      'options.classWeights',
      'per class',
    );
    expectError(() => zLoss(x, t, { out: new Float32Array(5) }), RangeError, LENGTH, 'options.out');
    const buf = new Float32Array(12);
    buf.set(x);
    expectError(() => zLoss(buf.subarray(0, 6), t, { out: buf.subarray(3, 9) }), TypeError, INVALID, 'share memory');
  });
});

describe('values, on each backend', () => {
  for (const backend of ['cpu', 'js'] as const) {
    it(`${backend}: non-finite logits`, () => {
      const bad = Float32Array.from(x);
      bad[4] = NaN;
      expectError(() => zLoss(bad, t, { backend }), RangeError, 'ERR_FUSEDLOSS_NON_FINITE', 'zLoss: logits[4] = NaN');
      bad[4] = -Infinity;
      expectError(
        () => softmaxCrossEntropy(bad, t, { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'logits[4] = -Infinity',
      );
    });
    it(`${backend}: targets out of range (ignoreIndex allowed)`, () => {
      expectError(
        () => zLoss(x, [2, 3], { backend }),
        RangeError,
        INVALID,
        'targets[1] = 3',
        'class ids must be in [0, 3) for 3 classes',
      );
      expectError(() => softmaxCrossEntropy(x, [-1, 0], { backend }), RangeError, INVALID, 'targets[0] = -1');
      expect(softmaxCrossEntropy(x, [-1, 0], { backend, ignoreIndex: -1 }).loss).toBeGreaterThan(0);
      expectError(
        () => sphericalLoss(x, [0, -100], { kind: 'mse', backend }),
        RangeError,
        INVALID,
        'targets[1] = -100',
      );
    });
    it(`${backend}: negative or non-finite weights and class weights`, () => {
      expectError(
        () => softmaxCrossEntropy(x, t, { weights: [1, -1], backend }),
        RangeError,
        INVALID,
        'options.weights[1] = -1',
      );
      expectError(
        () => softmaxCrossEntropy(x, t, { classWeights: [1, NaN, 1], backend }),
        RangeError,
        INVALID,
        'options.classWeights[1] = NaN',
      );
    });
  }
});

describe('backends and async twins', () => {
  it("backend 'cuda' is refused with the reason", () => {
    for (const f of [() => zLoss(x, t, { backend: 'cuda' }), () => softmaxCrossEntropy(x, t, { backend: 'cuda' })]) {
      expectError(f, Error, 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE', "backend 'cuda'");
    }
  });
  it('async twins reject with the same errors', async () => {
    await expect(softmaxCrossEntropyAsync(x, [0, 9])).rejects.toMatchObject({
      code: INVALID,
      message: expect.stringContaining('softmaxCrossEntropyAsync: targets[1] = 9'),
    });
    await expect(softmaxCrossEntropyAsync(x, t, { temperature: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('the native layer checks again when called directly', () => {
  const addon = nativeAddon()!;
  const out = new Float32Array(6);
  const sph: SphericalWire = { classes: 3, reduction: 0, kind: 0, a: 1, b: 0, eps: 1e-6, device: 0 };
  const soft: SoftmaxWire = {
    classes: 3,
    reduction: 0,
    form: 0,
    temperature: 1,
    smoothing: 0,
    tau: 1,
    scale: 1,
    gamma: 2,
    alpha: 1,
    lambda: 1,
    margin: 0.1,
    softcap: 0,
    lseSquare: 0,
    ignoreIndex: -100,
    device: 0,
  };
  it('wrong typed arrays, lengths and params', () => {
    const TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE';
    expectError(
      () => addon.sphericalLoss(new Float64Array(6) as never, t, out, null, sph, false),
      TypeError,
      TYPE,
      'logits must be a Float32Array',
    );
    expectError(
      () => addon.sphericalLoss(x, new Uint8Array(2) as never, out, null, sph, false),
      TypeError,
      TYPE,
      'targets must be an Int32Array',
    );
    expectError(
      () => addon.sphericalLoss(x, t, out, null, { ...sph, kind: 9 as never }, false),
      RangeError,
      INVALID,
      'options.kind',
    );
    expectError(() => addon.sphericalLoss(x, t, x, null, sph, false), TypeError, INVALID, 'share memory');
    expectError(
      () => addon.sphericalLoss(x, t, out, new Float32Array(1), { ...sph, reduction: 2 }, false),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'rowLoss',
    );
    expectError(
      () => addon.softmaxLoss(x, t, null, new Float32Array(2), out, null, null, soft, false),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.classWeights',
    );
    expectError(
      () => addon.softmaxLoss(x, t, null, null, out, null, null, { ...soft, smoothing: 2 }, false),
      RangeError,
      INVALID,
      'options.smoothing',
    );
    expectError(
      () => addon.softmaxLoss(x, [2, 7] as never, null, null, out, null, null, soft, false),
      TypeError,
      TYPE,
      'targets',
    );
  });
  // Faults as data (fault id, index, value): src/faults.ts writes the public message from them.
  it('the kernels report bad values as data: fault id, index and value', () => {
    const fault = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        const { code, fault, index, value } = e as Record<string, unknown>;
        return { type: (e as Error).constructor.name, code, fault, index, value };
      }
      return 'no error';
    };
    const as = (name: 'label-out-of-range' | 'class-weight-invalid', index: number, value: number) => ({
      type: 'RangeError',
      code: 'ERR_FUSEDLOSS_FAULT',
      fault: wireId('Fault', name),
      index,
      value,
    });
    expect([
      fault(() => addon.softmaxLoss(x, new Int32Array([2, 7]), null, null, out, null, null, soft, false)),
      fault(() => addon.softmaxLoss(x, t, null, new Float32Array([1, -2, 1]), out, null, null, soft, false)),
    ]).toEqual([as('label-out-of-range', 1, 7), as('class-weight-invalid', 1, -2)]);
  });
});

describe('result types follow the reduction (checked by tsc)', () => {
  it('a Float32Array of row losses with reduction none, a number otherwise', () => {
    const rows: Float32Array = zLoss(x, t, { reduction: 'none' }).loss;
    const mean: number = softmaxCrossEntropy(x, t, { form: 'focal', gamma: 1 }).loss;
    const sum: number = sphericalLoss(x, t, { kind: 'mse', reduction: 'sum' }).loss;
    const chosen: 'mean' | 'none' = rows.length > 1 ? 'none' : 'mean';
    const either: number | Float32Array = zLoss(x, t, { reduction: chosen }).loss;
    expect([rows.length, typeof mean, typeof sum, either instanceof Float32Array]).toEqual([
      2,
      'number',
      'number',
      true,
    ]);
  });
});
