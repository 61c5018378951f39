// Every documented error of the pairwise family: a TypeError or RangeError (or, for a backend
// that cannot run, an Error) with an ERR_FUSEDLOSS_ code and a message naming the argument, on
// both backends that read the data, and again in the native layer when it is called directly.
import type { PairWire } from '../src/wire-params';
import { describe, expect, it } from 'vitest';
import { contrastive, multiSimilarity, multiSimilarityAsync, ntXent, supCon, tripletBatchHard } from '../src';
import { nativeAddon } from '../src/native';
import { expectError } from './helpers';

const x = new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]); // 3 rows x 2
const y = new Int32Array([1, 1, 2]);
const TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE';
const INVALID = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE';
const LENGTH = 'ERR_FUSEDLOSS_LENGTH_MISMATCH';

describe('argument types and options', () => {
  it('embeddings and labels of the wrong type', () => {
    expectError(() => multiSimilarity('ab' as never, y), TypeError, TYPE, 'multiSimilarity', 'embeddings', 'string');
    expectError(() => contrastive(x, 'ab' as never), TypeError, TYPE, 'contrastive', 'labels');
    expectError(() => supCon(x, [0, 1.5, 2]), TypeError, TYPE, 'labels[1]', 'integer');
  });
  it('unknown options, options of the wrong type or out of range', () => {
    expectError(() => contrastive(x, y, { alpha: 2 } as never), TypeError, 'ERR_FUSEDLOSS_UNKNOWN_OPTION', "'alpha'");
    expectError(
      () => tripletBatchHard(x, y, { reference: x } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'reference'",
    );
    expectError(
      () => multiSimilarity(x, y, { normalize: 1 as never }),
      TypeError,
      TYPE,
      'options.normalize',
      'boolean',
    );
    expectError(() => multiSimilarity(x, y, { alpha: 0 }), RangeError, INVALID, 'options.alpha', '>= 0.000001');
    expectError(
      () => multiSimilarity(x, y, { semantics: 'official' as never }),
      RangeError,
      INVALID,
      'options.semantics',
      "'paper'",
    );
    expectError(() => supCon(x, y, { temperature: -1 }), RangeError, INVALID, 'options.temperature');
    expectError(() => multiSimilarity(x, y, { dim: 0 }), RangeError, INVALID, 'options.dim');
  });
  it('shapes that do not divide', () => {
    expectError(() => multiSimilarity(x, [0, 1, 2, 3]), RangeError, LENGTH, 'embeddings', 'length 6', 'options.dim');
    expectError(
      () => multiSimilarity(x, y, { dim: 3 }),
      RangeError,
      LENGTH,
      'embeddings',
      'length 6',
      '3 labels x dim 3',
    );
    expectError(() => ntXent(x, null, { dim: 2 }), RangeError, LENGTH, 'even number of rows');
    expectError(() => ntXent(x, null), RangeError, INVALID, 'options.dim is required');
  });
  it('the gradient buffers', () => {
    expectError(() => supCon(x, y, { out: new Float32Array(5) }), RangeError, LENGTH, 'options.out', 'length 5');
    expectError(() => supCon(x, y, { out: x }), TypeError, INVALID, 'options.out', 'share memory');
  });
  it('the cross-batch arguments', () => {
    const r = new Float32Array(4);
    expectError(() => multiSimilarity(x, y, { reference: r }), RangeError, INVALID, 'options.referenceLabels');
    expectError(() => multiSimilarity(x, y, { referenceLabels: y }), RangeError, INVALID, 'need options.reference');
    expectError(
      () => multiSimilarity(x, y, { reference: r, referenceLabels: [1, 2, 3] }),
      RangeError,
      LENGTH,
      'options.reference',
      '3 labels x dim 2',
    );
    expectError(
      () => multiSimilarity(x, y, { reference: r, referenceLabels: [1, 2], referenceOut: new Float32Array(3) }),
      RangeError,
      LENGTH,
      'options.referenceOut',
    );
  });
});

describe('values, on both backends', () => {
  for (const backend of ['cpu', 'js'] as const) {
    it(`${backend}: a non-finite embedding or reference entry is named with its index`, async () => {
      const bad = x.slice();
      bad[3] = NaN;
      expectError(
        () => multiSimilarity(bad, y, { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'embeddings[3] = NaN',
      );
      const ref = new Float32Array([0, 1, Infinity, 0]);
      expectError(
        () => multiSimilarity(x, y, { backend, reference: ref, referenceLabels: [1, 2] }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'options.reference[2] = Infinity',
      );
      await expect(multiSimilarityAsync(bad, y, { backend })).rejects.toThrow('embeddings[3] = NaN');
    });
  }
  for (const backend of ['cpu', 'cuda-sim', 'js'] as const) {
    it(`${backend}: with normalize false, a row longer than 1e4 is named (S would overflow float32)`, () => {
      const long = x.slice();
      long[2] = 3e4; // row 1
      expectError(
        () => contrastive(long, y, { backend, normalize: false }),
        RangeError,
        INVALID,
        'embeddings row 1 has L2 norm 30000',
        'at most 1e4',
      );
      const ref = new Float32Array([0, 1, 2e30, 0]);
      expectError(
        () => multiSimilarity(x, y, { backend, normalize: false, reference: ref, referenceLabels: [1, 2] }),
        RangeError,
        INVALID,
        'options.reference row 1',
      );
      // Normalised, the same rows are fine.
      expect(Number.isFinite(contrastive(long, y, { backend }).loss)).toBe(true);
    });
  }
});

describe('the native layer checks again', () => {
  const addon = nativeAddon()!;
  const params: PairWire = {
    loss: 0,
    dim: 2,
    normalize: true,
    alpha: 2,
    beta: 50,
    base: 0.5,
    epsilon: 0.1,
    semantics: 1,
    posMargin: 0,
    negMargin: 1,
    margin: 0.05,
    softMargin: false,
    m: 0.4,
    gamma: 80,
    temperature: 0.07,
    baseTemperature: 0.07,
    mining: true,
    supConAllAnchors: false,
    precision: 0,
    givenPositives: 0,
    givenNegatives: 0,
    device: 0,
  };
  const out = new Float32Array(6);
  it('types, lengths, parameters and a reference for another loss', () => {
    expectError(
      () => addon.pairLoss(x, new Float32Array(3) as never, null, null, out, null, null, null, params, false),
      TypeError,
      TYPE,
      'labels',
      'Int32Array',
    );
    expectError(
      () => addon.pairLoss(x, new Int32Array(2), null, null, out, null, null, null, params, false),
      RangeError,
      LENGTH,
      'embeddings',
    );
    expectError(
      () => addon.pairLoss(x, y, null, null, out, null, null, null, { ...params, alpha: -1 }, false),
      RangeError,
      INVALID,
      'alpha',
    );
    expectError(
      () => addon.pairLoss(x, y, x.slice(), y, out, new Float32Array(6), null, null, { ...params, loss: 1 }, false),
      RangeError,
      INVALID,
      'only supported by multiSimilarity',
    );
    expectError(
      () => addon.pairLoss(x, y, null, null, out, null, null, null, { ...params, device: 3 as never }, false),
      RangeError,
      INVALID,
      'options.device',
    );
    expectError(
      () => addon.pairLoss(x, y, null, null, out, null, null, null, { ...params, precision: 3 as never }, false),
      RangeError,
      INVALID,
      'precision',
    );
    // Given pairs (a1 | p | a2 | n): the glue checks every index itself, and the losses that take them.
    const given: PairWire = { ...params, loss: 1, givenPositives: 1, givenNegatives: 1 };
    expectError(
      () => addon.pairLoss(x, y, null, null, out, null, null, new Int32Array([0, 1, 0, 3]), given, false),
      RangeError,
      INVALID,
      'batch of 3',
    );
    expectError(
      () => addon.pairLoss(x, y, null, null, out, null, null, new Int32Array([0, 1, 0]), given, false),
      RangeError,
      LENGTH,
      'given',
    );
    expectError(
      () =>
        addon.pairLoss(x, y, null, null, out, null, null, new Int32Array([0, 1, 0, 2]), { ...given, loss: 4 }, false),
      RangeError,
      INVALID,
      'given pairs are taken by',
    );
  });
});
