// Every documented error of the confusion family (soft-confusion losses, binary cross-entropy
// and sigmoidFocal): a TypeError or RangeError with an ERR_FUSEDLOSS_ code and a message
// naming the argument, on every backend that reads the data (the native kernels check values in
// their first pass, the reference in its own).
import type { AnyLossWire } from '../src/wire-params';
import { describe, expect, it } from 'vitest';
import {
  anyLoss,
  anyLossAsync,
  backends,
  binaryCrossEntropy,
  diceLoss,
  setThreads,
  sigmoidFocal,
  softConfusion,
  softmaxCrossEntropy,
  tverskyLoss,
  zLoss,
} from '../src';
import { cudaReason, nativeAddon } from '../src/native';
import { expectError } from './helpers';

const x = new Float32Array([0.1, -0.2, 0.3, 0.4]);
const y = new Float32Array([1, 0, 0, 1]);

describe('argument types', () => {
  it('scores of the wrong type', () => {
    expectError(
      () => anyLoss('abc' as never, y),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'anyLoss',
      'scores',
      'Float32Array',
      'string',
    );
    expectError(() => anyLoss([1, 'a'] as never, y), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'scores[1]');
    expectError(() => binaryCrossEntropy({} as never, y), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'logits');
  });
  it('labels of the wrong type', () => {
    expectError(() => anyLoss(x, 'x' as never), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'labels');
    expectError(
      () => anyLoss(new Float32Array(6), 'ab' as never, { classes: 3 }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'labels',
      'class ids',
    );
    expectError(
      () => anyLoss(new Float32Array(6), [0, 1.5], { classes: 3 }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'labels[1]',
      'integer',
    );
  });
  it('options of the wrong type', () => {
    expectError(
      () => anyLoss(x, y, 5 as never),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options must be an object',
    );
    expectError(
      () => anyLoss(x, y, { amplifier: '73' as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.amplifier',
      'number',
      'string',
    );
    expectError(
      () => anyLoss(x, y, { metric: 3 as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.metric',
    );
    expectError(
      () => diceLoss(x, y, { squareDenominator: 1 as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'squareDenominator',
      'boolean',
    );
    expectError(
      () => anyLoss(x, y, { out: new Float64Array(4) as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.out',
      'Float64Array',
    );
  });
  it('unknown option names', () => {
    expectError(
      () => anyLoss(x, y, { amplifer: 10 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'amplifer'",
      'amplifier',
    );
    expectError(
      () => binaryCrossEntropy(x, y, { classes: 2 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'classes'",
    );
  });
});

describe('option values', () => {
  it('unknown metric, average, input, backend', () => {
    expectError(
      () => anyLoss(x, y, { metric: 'f2' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.metric',
      "'f2'",
      "'fbeta'",
    );
    expectError(
      () => anyLoss(x, y, { average: 'weighted' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.average',
    );
    expectError(
      () => anyLoss(x, y, { input: 'probs' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.input',
    );
    expectError(
      () => anyLoss(x, y, { backend: 'gpu' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.backend',
    );
  });
  it('non-finite and out-of-range numbers', () => {
    for (const v of [NaN, Infinity, -1, 0]) {
      expectError(
        () => anyLoss(x, y, { amplifier: v }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'options.amplifier',
        String(v),
      );
    }
    expectError(
      () => anyLoss(x, y, { metric: 'fbeta', beta: -2 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.beta',
    );
    expectError(
      () => anyLoss(x, y, { classes: 2.5 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.classes',
      'integer',
    );
    expectError(() => diceLoss(x, y, { smooth: 0 }), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', 'options.smooth');
    expectError(
      () => tverskyLoss(x, y, { alpha: -0.1 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.alpha',
    );
    expectError(
      () => binaryCrossEntropy(x, y, { posWeight: NaN }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.posWeight',
    );
  });
  it('beta without fbeta', () => {
    expectError(
      () => anyLoss(x, y, { metric: 'f1', beta: 2 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'beta',
      'fbeta',
    );
  });
});

describe('lengths', () => {
  it('scores and labels disagree', () => {
    expectError(
      () => anyLoss(x, new Float32Array(3)),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'scores has length 4, expected 3',
    );
    expectError(
      () => anyLoss(new Float32Array(7), new Int32Array(2), { classes: 3 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'length 7, expected 6',
      '3 classes',
    );
  });
  it('weights and out of the wrong length', () => {
    expectError(
      () => anyLoss(x, y, { weights: new Float32Array(3) }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.weights',
    );
    expectError(
      () => anyLoss(x, y, { out: new Float32Array(5) }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.out',
    );
  });
  it('out sharing memory with the scores', () => {
    const buf = new Float32Array(8);
    expectError(
      () => anyLoss(buf.subarray(0, 4), y, { out: buf.subarray(2, 6) }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'share memory',
    );
  });
});

describe('values, on each backend', () => {
  for (const backend of ['cpu', 'js'] as const) {
    it(`${backend}: binary labels outside [0, 1]`, () => {
      expectError(
        () => anyLoss(x, new Float32Array([1, 0, 2, 1]), { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[2] = 2',
      );
      expectError(
        () => anyLoss(x, new Float32Array([1, -0.5, 0, 1]), { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[1] = -0.5',
      );
      expectError(
        () => anyLoss(x, new Float32Array([1, NaN, 0, 1]), { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[1] = NaN',
      );
    });
    it(`${backend}: class ids outside [0, classes)`, () => {
      expectError(
        () => anyLoss(new Float32Array(6), new Int32Array([0, 3]), { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[1] = 3',
      );
      expectError(
        () => diceLoss(new Float32Array(6), new Int32Array([-1, 0]), { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[0] = -1',
      );
    });
    it(`${backend}: NaN and infinite scores`, () => {
      expectError(
        () => anyLoss(new Float32Array([0, NaN, 0, 0]), y, { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'scores[1] = NaN',
      );
      expectError(
        () => binaryCrossEntropy(new Float32Array([0, 0, -Infinity, 0]), y, { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'logits[2] = -Infinity',
      );
      expectError(
        () =>
          softConfusion(new Float32Array([0, 0, 0, 0, Infinity, 0]), new Int32Array([0, 1]), { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'scores[4]',
      );
    });
    it(`${backend}: probabilities outside [0, 1]`, () => {
      expectError(
        () => anyLoss(new Float32Array([0.5, 1.5, 0, 0]), y, { input: 'probabilities', backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'scores[1] = 1.5',
        'probabilities',
      );
    });
    it(`${backend}: negative weights`, () => {
      expectError(
        () => anyLoss(x, y, { weights: new Float32Array([1, 1, -1, 1]), backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'weights[2] = -1',
      );
    });
    it(`${backend}: a custom metric returning a non-number`, () => {
      expectError(
        () => anyLoss(x, y, { metric: () => NaN, backend }),
        TypeError,
        'ERR_FUSEDLOSS_INVALID_RETURN_VALUE',
        'custom metric',
        'NaN',
      );
      expectError(
        () => anyLoss(x, y, { metric: (() => 'good') as never, backend }),
        TypeError,
        'ERR_FUSEDLOSS_INVALID_RETURN_VALUE',
        'string',
      );
    });
  }
  it('a bad value found late in a large array is reported by index', () => {
    const n = 100_003;
    const big = new Float32Array(n);
    big[n - 2] = NaN;
    expectError(() => anyLoss(big, new Float32Array(n)), RangeError, 'ERR_FUSEDLOSS_NON_FINITE', `scores[${n - 2}]`);
  });
});

describe('sigmoidFocal', () => {
  const logits = new Float32Array([0.5, -1, 2, 0, 1, -3]);
  it('argument types, unknown options and option values', () => {
    expectError(
      () => sigmoidFocal({} as never, [1]),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'sigmoidFocal',
      'logits',
    );
    expectError(
      () => sigmoidFocal(logits, logits, { classes: 2 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'classes'",
    );
    expectError(
      () => sigmoidFocal(logits, logits, { alpha: 2 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.alpha',
    );
    expectError(
      () => sigmoidFocal(logits, logits, { gamma: -1 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.gamma',
    );
  });
  for (const backend of ['cpu', 'js'] as const) {
    it(`${backend}: non-finite logits, labels outside [0, 1]`, () => {
      const bad = Float32Array.from(logits);
      bad[4] = -Infinity;
      expectError(
        () => sigmoidFocal(bad, new Float32Array(6), { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'logits[4]',
      );
      expectError(
        () => sigmoidFocal(logits, [0, 1, 2, 0, 0, 0], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[2] = 2',
      );
    });
  }
});

describe('async twins reject instead of throwing', () => {
  it('bad labels reject with the same error', async () => {
    await expect(anyLossAsync(x, new Float32Array([3, 0, 0, 0]))).rejects.toMatchObject({
      code: 'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      message: expect.stringContaining('anyLossAsync: labels[0] = 3'),
    });
    await expect(anyLossAsync(x, y, { amplifier: -1 })).rejects.toBeInstanceOf(RangeError);
  });
});

describe('backends and threads', () => {
  it("backend 'cuda' is refused with the reason", () => {
    expectError(() => anyLoss(x, y, { backend: 'cuda' }), Error, 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE', "backend 'cuda'");
  });
  it('setThreads checks its argument', () => {
    expectError(() => setThreads(0), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', 'setThreads');
    expectError(() => setThreads('2' as never), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'setThreads');
  });
});

describe('the native layer checks again when called directly', () => {
  const addon = nativeAddon()!;
  const params: AnyLossWire = {
    classes: 1,
    input: 0,
    amplifier: 73,
    metric: 4,
    beta: 1,
    eps: 1e-5,
    average: 0,
    device: 0,
  };
  it('wrong typed array, wrong length, bad params', () => {
    const out = new Float32Array(4);
    expectError(
      () => addon.anyLoss(new Float64Array(4) as never, y, null, out, params, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'scores must be a Float32Array',
    );
    expectError(
      () => addon.anyLoss(x, new Float32Array(3), null, out, params, false),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
    );
    expectError(
      () => addon.anyLoss(x, y, null, out, { ...params, metric: 99 as never }, false),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.metric',
    );
    expectError(
      () => addon.anyLoss(x, y, null, out, { ...params, amplifier: 'x' as never }, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.amplifier',
    );
    expectError(
      () => addon.anyLoss(x, y, null, x, params, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'share memory',
    );
  });
});

describe('messages that say what to do', () => {
  it('a class id out of range: the number of classes, and ignoreIndex where the loss has one, on every backend', () => {
    const x = new Float32Array(6);
    for (const backend of ['cpu', 'js'] as const) {
      expectError(
        () => softmaxCrossEntropy(x, [0, 3], { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `softmaxCrossEntropy: targets[1] = 3 is out of range; class ids must be in [0, 3) for 3 classes, or equal options.ignoreIndex (-100)`,
      );
      expectError(
        () => zLoss(x, [0, 3], { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /^zLoss: targets\[1\] = 3 is out of range; class ids must be in \[0, 3\) for 3 classes$/,
      );
      expectError(
        () => anyLoss(x, new Int32Array([0, 5]), { classes: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /^anyLoss: labels\[1\] = 5 is out of range; class ids must be in \[0, 3\) for 3 classes$/,
      );
      expectError(
        () => binaryCrossEntropy(new Float32Array(2), [0, 2], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        /^binaryCrossEntropy: labels\[1\] = 2 is out of range; binary labels must be in \[0, 1\]$/,
      );
    }
  });

  it('the CUDA reason tells no driver at all from a driver older than the runtime', () => {
    const insufficient = 'cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA runtime version';
    expect(cudaReason({ reason: insufficient, runtimeVersion: 13000, driverVersion: 0 })).toMatch(
      /^no NVIDIA driver: libcuda could not be loaded/,
    );
    expect(cudaReason({ reason: insufficient, runtimeVersion: 13000, driverVersion: 12040 })).toMatch(
      /^the NVIDIA driver supports CUDA 12\.4, older than the CUDA 13\.0 runtime of this build: update the driver/,
    );
    expect(
      cudaReason({
        reason: 'cudaErrorNoDevice: no CUDA-capable device is detected',
        runtimeVersion: 13000,
        driverVersion: 12040,
      }),
    ).toBe('cudaErrorNoDevice: no CUDA-capable device is detected');
    // What backends() says on this machine: a CUDA build without a driver (CI's) names the cause.
    const cuda = backends().cuda;
    if (cuda.compiled && !cuda.available && cuda.driverVersion === 0) expect(cuda.reason).toMatch(/^no NVIDIA driver/);
  });
});
