// fusedloss/tfjs ops on tfjs's 'cpu' and 'wasm' backends: the value and tf.grad of every op equal
// the fused function called directly (1e-6); for the losses bench/ composes from tfjs ops (13 of
// the 22), the gradient equals tfjs autodiff through that composition (1e-4); per-row losses
// scale each row by its dy; and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ops, registerFusedKernels } from '../src/tfjs';
import { anyLossF1Binary, runner, useTfjsBackend, type TfjsRunner } from '../bench/tfjs-anyloss';
import {
  circleLossTfjs,
  contrastiveTfjs,
  ntXentTfjs,
  orthogonalProjectionTfjs,
  supConTfjs,
  tripletBatchHardTfjs,
} from '../bench/tfjs-gpw';
import { multiSimilarityTfjs } from '../bench/tfjs-pairs';
import { listMLETfjs, rankListTfjs } from '../bench/tfjs-ranking';
import { softmaxCrossEntropyTfjs, zLossTfjs } from '../bench/tfjs-spherical';
import { gradError, randomBinaryLabels, randomClassLabels, randomScores, relError } from './helpers';
import { TFJS_CASES, type TfjsCase } from './tfjs.cases';

function tensors(c: TfjsCase) {
  const yPred = tf.tensor(c.pred, c.predShape, 'float32');
  const yTrue = c.truth && tf.tensor(c.truth, c.truthShape, c.truth instanceof Int32Array ? 'int32' : 'float32');
  const teacher = c.teacher && tf.tensor(c.teacher, c.predShape, 'float32');
  return { yPred, yTrue, teacher };
}

function callOp(c: TfjsCase, yTrue: tf.Tensor | null, yPred: tf.Tensor, teacher?: tf.Tensor): tf.Tensor {
  if (c.loss === 'plackettLuceDistill') return ops.plackettLuceDistill(yTrue!, yPred, teacher!, c.options);
  if (c.loss === 'ntXent') return ops.ntXent(yTrue, yPred, c.options);
  return (ops[c.loss] as (t: tf.Tensor, p: tf.Tensor, o: object) => tf.Tensor)(yTrue!, yPred, c.options);
}

const lossArray = (l: number | Float32Array): Float32Array => (typeof l === 'number' ? Float32Array.of(l) : l);

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tfjs '${backend}' backend`, () => {
    beforeAll(() => useTfjsBackend(backend));
    it('runs on that backend', () => expect(tf.getBackend()).toBe(backend));

    for (const c of TFJS_CASES) {
      it(`${c.name}: value and tf.grad equal the fused call`, () => {
        const direct = c.direct();
        const { yPred, yTrue, teacher } = tensors(c);
        const before = tf.memory().numTensors;
        const [value, grad] = tf.tidy(() => {
          const v = callOp(c, yTrue, yPred, teacher);
          // A per-row loss is summed with weights 1..rows, so dy differs from row to row.
          const weights = v.rank === 0 ? tf.scalar(1) : tf.range(1, v.size + 1);
          const g = tf.grad((p: tf.Tensor) => callOp(c, yTrue, p, teacher).mul(weights).sum())(yPred);
          return [v, g];
        });
        const want = lossArray(direct.loss);
        const got = value.dataSync() as Float32Array;
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(relError(v, want[i])).toBeLessThan(1e-6));
        const rows = want.length;
        const per = direct.grad.length / rows;
        const wantGrad = direct.grad.map((g, k) => (rows === 1 ? g : g * (Math.floor(k / per) + 1)));
        expect(gradError(grad.dataSync() as Float32Array, wantGrad)).toBeLessThan(1e-6);
        tf.dispose([value, grad]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([yPred, yTrue ?? [], teacher ?? []]);
      });
    }

    // The tfjs compositions of bench/, differentiated by tfjs itself.
    const composed: Array<{ name: string; runner: () => TfjsRunner; op: () => tf.Tensor; x: () => tf.Tensor }> = [];
    {
      const s = randomScores(64, 21, 2);
      const y = randomBinaryLabels(64, 22, 0.4);
      composed.push({
        name: 'anyLoss f1 (binary)',
        runner: () => anyLossF1Binary(s, y),
        x: () => tf.tensor1d(s),
        op: () => tf.tensor1d(y),
      });
      const logits = randomScores(32 * 12, 23, 3);
      const t = randomClassLabels(32, 12, 24);
      composed.push(
        {
          name: 'softmaxCrossEntropy',
          runner: () => softmaxCrossEntropyTfjs(logits, t, 12),
          x: () => tf.tensor2d(logits, [32, 12]),
          op: () => tf.tensor1d(t, 'int32'),
        },
        {
          name: 'zLoss',
          runner: () => zLossTfjs(logits, t, 12),
          x: () => tf.tensor2d(logits, [32, 12]),
          op: () => tf.tensor1d(t, 'int32'),
        },
      );
      const emb = randomScores(40 * 6, 25);
      const ey = randomClassLabels(40, 5, 26);
      composed.push({
        name: 'multiSimilarity',
        runner: () => multiSimilarityTfjs(emb, ey, 6),
        x: () => tf.tensor2d(emb, [40, 6]),
        op: () => tf.tensor1d(ey, 'int32'),
      });
      const pairEmb = randomScores(48 * 5, 29);
      const pairY = randomClassLabels(48, 6, 30);
      const gpw: Array<[string, (x: Float32Array, y: Int32Array, d: number) => TfjsRunner]> = [
        ['contrastive', contrastiveTfjs],
        ['tripletBatchHard', tripletBatchHardTfjs],
        ['circleLoss', circleLossTfjs],
        ['supCon', supConTfjs],
        ['ntXent', ntXentTfjs],
        ['orthogonalProjection', orthogonalProjectionTfjs],
      ];
      for (const [name, composition] of gpw) {
        composed.push({
          name,
          runner: () => composition(pairEmb, pairY, 5),
          x: () => tf.tensor2d(pairEmb, [48, 5]),
          op: () => tf.tensor1d(pairY, 'int32'),
        });
      }
      const bce = randomScores(6 * 7, 31, 2);
      const bceY = randomBinaryLabels(6 * 7, 32);
      composed.push({
        name: 'binaryCrossEntropy',
        runner: () => {
          const y = tf.tensor2d(bceY, [6, 7]);
          return runner(tf.tensor2d(bce, [6, 7]), [y], (xs) => tf.losses.sigmoidCrossEntropy(y, xs) as tf.Scalar);
        },
        x: () => tf.tensor2d(bce, [6, 7]),
        op: () => tf.tensor2d(bceY, [6, 7]),
      });
      // Distinct relevance in every list, so the relevance order the composition takes is unique.
      const lists = 5,
        n = 9;
      const scores = randomScores(lists * n, 27, 2);
      const rel = new Float32Array(lists * n);
      const order = new Int32Array(lists * n);
      const pick = randomClassLabels(lists * n, 1 << 20, 28);
      for (let l = 0; l < lists; l++) {
        const items = Array.from({ length: n }, (_, i) => i).sort((a, b) => pick[l * n + a] - pick[l * n + b]);
        items.forEach((item, rank) => {
          rel[l * n + item] = n - rank;
          order[l * n + rank] = item;
        });
      }
      composed.push(
        {
          name: 'listMLE',
          runner: () => listMLETfjs(scores, order, lists, n),
          x: () => tf.tensor2d(scores, [lists, n]),
          op: () => tf.tensor2d(rel, [lists, n]),
        },
        {
          name: 'rankList',
          runner: () => rankListTfjs(scores, order, lists, n),
          x: () => tf.tensor2d(scores, [lists, n]),
          op: () => tf.tensor2d(rel, [lists, n]),
        },
      );
    }
    const opOf: Record<string, (y: tf.Tensor, p: tf.Tensor) => tf.Tensor> = {
      'anyLoss f1 (binary)': (y, p) => ops.anyLoss(y, p, { metric: 'f1' }),
      softmaxCrossEntropy: (y, p) => ops.softmaxCrossEntropy(y, p),
      zLoss: (y, p) => ops.zLoss(y, p),
      multiSimilarity: (y, p) => ops.multiSimilarity(y, p),
      listMLE: (y, p) => ops.listMLE(y, p),
      rankList: (y, p) => ops.rankList(y, p),
      contrastive: (y, p) => ops.contrastive(y, p),
      tripletBatchHard: (y, p) => ops.tripletBatchHard(y, p),
      circleLoss: (y, p) => ops.circleLoss(y, p),
      supCon: (y, p) => ops.supCon(y, p),
      ntXent: (y, p) => ops.ntXent(y, p),
      orthogonalProjection: (y, p) => ops.orthogonalProjection(y, p),
      binaryCrossEntropy: (y, p) => ops.binaryCrossEntropy(y, p),
    };
    for (const k of composed) {
      it(`${k.name}: tf.grad equals tfjs autodiff of the composed loss`, () => {
        const r = k.runner();
        const want = r.result();
        r.dispose();
        const x = k.x();
        const y = k.op();
        const { value, grad } = tf.tidy(() => tf.valueAndGrad((p: tf.Tensor) => opOf[k.name](y, p) as tf.Scalar)(x));
        expect(relError(value.dataSync()[0], want.loss)).toBeLessThan(1e-4);
        expect(gradError(grad.dataSync() as Float32Array, want.grad)).toBeLessThan(1e-4);
        tf.dispose([x, y, value, grad]);
      });
    }
  });
}

describe('registerFusedKernels', () => {
  afterAll(() => useTfjsBackend('cpu'));
  it('is idempotent and makes every loss a kernel runKernel can call, returning [loss, grad]', async () => {
    await useTfjsBackend('cpu');
    registerFusedKernels();
    registerFusedKernels();
    const c = TFJS_CASES.find((k) => k.loss === 'zLoss')!;
    const { yPred, yTrue } = tensors(c);
    const out = tf.engine().runKernel('FusedLossZLoss', { yPred, yTrue: yTrue! }, {
      op: 'zLoss',
      layout: { options: { classes: 10 }, classIds: true, lossShape: [] },
    } as never) as tf.Tensor[];
    const direct = c.direct();
    expect(out).toHaveLength(2);
    expect(relError(out[0].dataSync()[0], direct.loss as number)).toBeLessThan(1e-6);
    expect(gradError(out[1].dataSync() as Float32Array, direct.grad)).toBe(0);
    tf.dispose([...out, yPred, yTrue!]);
  });
});

describe('ops argument errors', () => {
  it('name the argument', () => {
    const p = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), tf.tensor1d([1, 2], 'int32'))).toThrow(
      /ops\.zLoss: yPred must be a float32 tensor, got int32/,
    );
    expect(() => ops.zLoss([0, 1] as never, p)).toThrow(/ops\.zLoss: yTrue must be a tf\.Tensor/);
    expect(() => ops.zLoss(tf.tensor1d([0.5, 1]), p)).toThrow(/yTrue\[0\] = 0\.5 is not a class id/);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), tf.tensor1d([1, 2]))).toThrow(/shape \[rows, classes\]/);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), p, { out: new Float32Array(4) } as never)).toThrow(
      /options\.out is not supported/,
    );
    expect(() => ops.zLoss(tf.tensor1d([0, 5], 'int32'), p)).toThrow(RangeError);
  });
});
