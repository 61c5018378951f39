// Every documented error of the ranking family: TypeError or RangeError with an ERR_FUSEDLOSS_
// code naming the argument, on both backends that read the data, and again in the native layer.
import type { ListParams } from '../src/wire-params';
import { describe, expect, it } from 'vitest';
import { backends, lambdaLoss, listMLE, listMLEAsync, listNet, plackettLuceDistill, rankList, rankNet } from '../src';
import { nativeAddon } from '../src/native';
import { expectError } from './helpers';

const s = new Float32Array([0.1, -0.2, 0.3, 0.4, 0.5, 0.6]);
const r = new Float32Array([1, 0, 2, 1, -1, 0]);

describe('argument types', () => {
  it('scores, relevance, offsets and options of the wrong type', () => {
    expectError(() => rankList('x' as never, r), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'rankList', 'scores');
    expectError(() => listMLE(s, {} as never), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'relevance');
    expectError(
      () => listNet(s, r, { offsets: [0, 2.5, 6] }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.offsets[1]',
    );
    expectError(
      () => rankNet(s, r, { sigma: '1' as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.sigma',
    );
    expectError(
      () => lambdaLoss(s, r, { normalize: 0 as never }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.normalize',
    );
    expectError(() => listMLE(s, r, { topk: 2 } as never), TypeError, 'ERR_FUSEDLOSS_UNKNOWN_OPTION', "'topk'", 'topK');
  });
});

describe('option values', () => {
  it('enums and ranges', () => {
    expectError(
      () => rankList(s, r, { form: 'sum' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.form',
      "'anchor'",
    );
    expectError(() => rankList(s, r, { skip: 0 }), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', 'options.skip');
    expectError(() => rankList(s, r, { margin: -1 }), RangeError, 'ERR_FUSEDLOSS_INVALID_ARG_VALUE', 'options.margin');
    expectError(
      () => listMLE(s, r, { ties: 'random' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.ties',
    );
    expectError(
      () => listMLE(s, r, { ties: 'shuffle', seed: -1 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.seed',
    );
    expectError(
      () => listMLE(s, r, { seed: 3 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.seed',
      'shuffle',
    );
    expectError(
      () => listNet(s, r, { temperature: 0 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.temperature',
    );
    expectError(
      () => rankNet(s, r, { weighting: 'abs' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.weighting',
    );
    expectError(
      () => lambdaLoss(s, r, { scheme: 'ndcg' as never }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.scheme',
    );
    expectError(
      () => lambdaLoss(s, r, { k: 1.5 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.k',
      'integer',
    );
    expectError(
      () => plackettLuceDistill(s, s, [0, 1], { tau: 0 }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.tau',
    );
  });
  it.skipIf(backends().cuda.available)("backend 'cuda' without a device is refused, naming the backend", () => {
    expectError(() => listMLE(s, r, { backend: 'cuda' }), Error, 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE', "backend 'cuda'");
  });
});

describe('layout', () => {
  it('listSize that does not divide, both listSize and offsets, bad offsets, short relevance', () => {
    expectError(
      () => listMLE(s, r, { listSize: 4 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'length 6',
      'listSize = 4',
    );
    expectError(
      () => listMLE(s, r, { listSize: 3, offsets: [0, 6] }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'not both',
    );
    expectError(
      () => listMLE(s, r, { offsets: [0, 4, 3, 6] }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.offsets[2] = 3',
    );
    expectError(
      () => listMLE(s, r, { offsets: [1, 6] }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.offsets[0] = 1',
    );
    expectError(
      () => listMLE(s, r, { offsets: [0, 5] }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.offsets[1] = 5',
      '(6)',
    );
    expectError(() => listMLE(s, r, { offsets: [] }), RangeError, 'ERR_FUSEDLOSS_LENGTH_MISMATCH', 'options.offsets');
    expectError(
      () => rankList(s, r.subarray(0, 5)),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'relevance has length 5',
    );
    expectError(
      () => listMLE(s, r, { out: new Float32Array(5) }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.out',
    );
  });
  it('listMLE weights shorter than the longest list, or negative', () => {
    expectError(
      () => listMLE(s, r, { listSize: 3, weights: [1, 1] }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.weights',
      'at least 3',
    );
    expectError(
      () => listMLE(s, r, { listSize: 3, weights: [1, -1, 1] }),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.weights[1] = -1',
    );
  });
  it('plackettLuceDistill shapes', () => {
    expectError(
      () => plackettLuceDistill(s, s, [0, 1, 2, 3]),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'studentLogits has length 6',
      '4 labels',
    );
    expectError(
      () => plackettLuceDistill(s, s.subarray(1), [0, 1]),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'teacherLogits',
    );
  });
});

describe('values, on each backend', () => {
  for (const backend of ['cpu', 'js'] as const) {
    it(`${backend}: relevance that is neither -1 nor finite >= 0`, () => {
      for (const bad of [NaN, -2, -0.5, Infinity]) {
        const rr = Float32Array.from(r);
        rr[3] = bad;
        expectError(
          () => rankList(s, rr, { listSize: 3, backend }),
          RangeError,
          'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
          `relevance[3] = ${bad}`,
          'padding',
        );
      }
      expectError(
        () => lambdaLoss(s, Float32Array.from([1, 65, 0, 0, 0, 0]), { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'relevance[1] = 65',
        'at most 64',
      );
    });
    it(`${backend}: a non-finite score is refused, unless its item is padding`, () => {
      const ss = Float32Array.from(s);
      ss[4] = NaN; // relevance -1: never read
      expect(Number.isFinite(listNet(ss, r, { listSize: 3, backend }).loss)).toBe(true);
      ss[2] = -Infinity;
      expectError(
        () => listNet(ss, r, { listSize: 3, backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'scores[2] = -Infinity',
      );
    });
    it(`${backend}: listMLE weights that are not finite`, () => {
      expectError(
        () => listMLE(s, r, { weights: [1, 1, NaN, 1, 1, 1], backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'options.weights[2] = NaN',
      );
    });
    it(`${backend}: plackettLuceDistill labels and logits`, () => {
      expectError(
        () => plackettLuceDistill(s, s, [0, 3], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        'labels[1] = 3',
      );
      const t = Float32Array.from(s);
      t[4] = NaN;
      expectError(
        () => plackettLuceDistill(s, t, [0, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'teacherLogits[4] = NaN',
      );
      expectError(
        () => plackettLuceDistill(t, s, [0, 1], { backend }),
        RangeError,
        'ERR_FUSEDLOSS_NON_FINITE',
        'studentLogits[4] = NaN',
      );
    });
  }
  it('async twins reject with the same error', async () => {
    await expect(listMLEAsync(s, Float32Array.from([1, 0, 2, 1, -3, 0]))).rejects.toMatchObject({
      code: 'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      message: expect.stringContaining('listMLEAsync: relevance[4] = -3'),
    });
  });
});

describe('the native layer checks again when called directly', () => {
  const addon = nativeAddon()!;
  const out = new Float32Array(6);
  const params: ListParams['rankList'] = { listSize: 3, form: 0, skip: 0, margin: 0, device: 0 };
  it('types, layout, params and overlap', () => {
    expectError(
      () => addon.rankList(s, new Float64Array(6) as never, null, out, params, null, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'relevance',
    );
    expectError(
      () => addon.rankList(s, r, null, out, { ...params, listSize: 4 }, null, false),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'listSize = 4',
    );
    expectError(
      () => addon.rankList(s, r, Int32Array.from([0, 7]), out, params, null, false),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.offsets[1] = 7',
    );
    expectError(
      () => addon.rankList(s, r, [0, 6] as never, out, params, null, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'options.offsets',
    );
    expectError(
      () => addon.rankList(s, r, null, out, { ...params, form: 3 as never }, null, false),
      RangeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.form',
    );
    expectError(
      () => addon.rankList(s, r, null, s, params, null, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'share memory',
    );
    expectError(
      () =>
        addon.listMLE(
          s,
          r,
          null,
          out,
          { listSize: 3, weights: new Float32Array(2), topK: 0, ties: 0, seed: 0, device: 0 },
          null,
          false,
        ),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.weights',
    );
    expectError(
      () => addon.plackettLuceDistill(s, s, new Uint8Array(2) as never, out, { tau: 4, device: 0 }, false),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      'Int32Array',
    );
  });
});
