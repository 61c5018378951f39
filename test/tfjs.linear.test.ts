// ops.linearCrossEntropy and the fusedDense layer on tfjs's 'cpu' and 'wasm' backends: the value
// and the gradients for hidden, weight and bias equal tfjs autodiff of the composition (matMul,
// bias, soft cap, softmax cross-entropy, PaLM's z-loss) to 1e-4; training with model.fit through
// the fused layer equals training a tf.layers.dense model with the same weights; nothing leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { fusedDense, ops, type LinearOpOptions } from '../src/tfjs';
import { oneHot, useTfjsBackend } from '../bench/tfjs-anyloss';
import { gradError, randomClassLabels, randomScores, relError } from './helpers';

const B = 24,
  D = 7,
  C = 13;
const hidden = randomScores(B * D, 1, 1),
  weight = randomScores(C * D, 2, 1),
  bias = randomScores(C, 3, 0.5),
  ids = randomClassLabels(B, C, 4);

/** The loss composed from tfjs ops, differentiated by tfjs. */
function composed(h: tf.Tensor, w: tf.Tensor, b: tf.Tensor, o: LinearOpOptions): tf.Scalar {
  let z = h.matMul(w, false, true).add(b);
  if (o.softcap) z = tf.tanh(z.div(o.softcap)).mul(o.softcap);
  const y = oneHot(ids, C);
  const reduction = o.reduction === 'sum' ? tf.Reduction.SUM : tf.Reduction.MEAN;
  let loss = tf.losses.softmaxCrossEntropy(y, z, undefined, o.labelSmoothing ?? 0, reduction);
  if (o.lseSquareScale) {
    const lse2 = tf.logSumExp(z, 1).square().mul(o.lseSquareScale);
    loss = loss.add(o.reduction === 'sum' ? lse2.sum() : lse2.mean());
  }
  return loss as tf.Scalar;
}

const CASES: [string, LinearOpOptions][] = [
  ['defaults', {}],
  ['sum', { reduction: 'sum' }],
  ['label smoothing 0.1, z-loss 1e-2, softcap 3', { labelSmoothing: 0.1, lseSquareScale: 1e-2, softcap: 3 }],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`ops.linearCrossEntropy on '${backend}'`, () => {
    afterAll(() => useTfjsBackend('cpu'));

    for (const [name, o] of CASES) {
      it(`${name}: value and gradients for hidden, weight and bias equal tfjs autodiff`, async () => {
        await useTfjsBackend(backend);
        const h = tf.tensor2d(hidden, [B, D]),
          w = tf.tensor2d(weight, [C, D]),
          b = tf.tensor1d(bias),
          y = tf.tensor1d(ids, 'int32');
        const fused = tf.valueAndGrads(
          (hh: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => ops.linearCrossEntropy(y, hh, ww, bb, o) as tf.Scalar,
        );
        const plain = tf.valueAndGrads((hh: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => composed(hh, ww, bb, o));
        const got = fused([h, w, b]),
          want = plain([h, w, b]);
        expect(relError(got.value.dataSync()[0], want.value.dataSync()[0])).toBeLessThan(1e-4);
        for (let k = 0; k < 3; k++)
          expect(
            gradError(got.grads[k].dataSync() as Float32Array, want.grads[k].dataSync() as Float32Array),
          ).toBeLessThan(1e-4);
        tf.dispose([h, w, b, y, got.value, want.value, ...got.grads, ...want.grads]);
      });
    }

    it('without a bias, and inside optimizer.minimize with no tensor leaking', async () => {
      await useTfjsBackend(backend);
      const w = tf.variable(tf.tensor2d(weight, [C, D]));
      const h = tf.tensor2d(hidden, [B, D]),
        y = tf.tensor1d(ids, 'int32');
      const opt = tf.train.sgd(0.5);
      const step = () => {
        const l = opt.minimize(() => ops.linearCrossEntropy(y, h, w) as tf.Scalar, true)!;
        const v = l.dataSync()[0];
        l.dispose();
        return v;
      };
      const first = step();
      const before = tf.memory().numTensors;
      let last = first;
      for (let s = 0; s < 20; s++) last = step();
      expect(tf.memory().numTensors).toBe(before);
      expect(last).toBeLessThan(first);
      tf.dispose([w, h, y]);
      opt.dispose();
    });

    it('refuses wrong shapes and options with coded errors', async () => {
      await useTfjsBackend(backend);
      const h = tf.tensor2d(hidden, [B, D]),
        w = tf.tensor2d(weight, [C, D]),
        y = tf.tensor1d(ids, 'int32');
      const code = (f: () => unknown) => {
        try {
          f();
        } catch (e) {
          return `${(e as { code?: string }).code}: ${(e as Error).message}`;
        }
        return 'no error';
      };
      expect(code(() => ops.linearCrossEntropy(y, h, tf.zeros([C, D + 1])))).toMatch(
        /^ERR_FUSEDLOSS_LENGTH_MISMATCH: ops\.linearCrossEntropy: hidden/,
      );
      expect(code(() => ops.linearCrossEntropy(y, h, w, tf.zeros([C + 1])))).toMatch(
        /^ERR_FUSEDLOSS_LENGTH_MISMATCH: .*bias/,
      );
      expect(code(() => ops.linearCrossEntropy(y, h, w, null, { reduction: 'none' as never }))).toMatch(
        /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: .*reduction/,
      );
      const bad = tf.tensor1d(
        Int32Array.from(ids, (v, i) => (i === 3 ? C : v)),
        'int32',
      );
      expect(code(() => ops.linearCrossEntropy(bad, h, w))).toMatch(
        /^ERR_FUSEDLOSS_INVALID_ARG_VALUE: ops\.linearCrossEntropy: yTrue\[3\] = 13/,
      );
      tf.dispose([h, w, y, bad]);
    });
  });
}

describe('fusedDense in model.fit', () => {
  it('trains as a tf.layers.dense output with softmax cross-entropy does, from the same weights', async () => {
    await useTfjsBackend('cpu');
    const x = tf.tensor2d(hidden, [B, D]);
    const lower = () =>
      tf.layers.dense({
        inputShape: [D],
        units: 6,
        activation: 'tanh',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }),
      });
    const head = fusedDense(tf, { units: C, seed: 8 });
    const fusedModel = tf.sequential({ layers: [lower(), head] });
    fusedModel.compile({ optimizer: tf.train.sgd(0.3), loss: head.loss() });
    const denseModel = tf.sequential({ layers: [lower(), tf.layers.dense({ units: C, activation: 'softmax' })] });
    denseModel.compile({ optimizer: tf.train.sgd(0.3), loss: 'categoricalCrossentropy' });
    // The same weights: the dense kernel is W^T.
    denseModel.layers[0].setWeights(fusedModel.layers[0].getWeights());
    denseModel.layers[1].setWeights([head.weight.read().transpose(), head.biasWeight!.read()]);
    // model.fit wants targets shaped like the fused layer's output [B, 6]: the id in every column.
    const targets = tf.tile(tf.tensor2d(ids, [B, 1], 'int32'), [1, 6]);
    const y = oneHot(ids, C);
    const a = await fusedModel.fit(x, targets, { epochs: 5, batchSize: B, shuffle: false, verbose: 0 });
    const b = await denseModel.fit(x, y, { epochs: 5, batchSize: B, shuffle: false, verbose: 0 });
    const la = a.history.loss as number[],
      lb = b.history.loss as number[];
    for (let e = 0; e < 5; e++) expect(relError(la[e], lb[e])).toBeLessThan(1e-4);
    expect(la[4]).toBeLessThan(la[0]);
    const wa = head.weight.read().transpose().dataSync() as Float32Array,
      wb = denseModel.layers[1].getWeights()[0].dataSync() as Float32Array;
    expect(gradError(wa, wb)).toBeLessThan(1e-4);
    // Prediction: the softmax of the fused layer's logits is the dense model's output.
    const p = tf.softmax(head.logits(fusedModel.predict(x) as tf.Tensor)).dataSync() as Float32Array;
    expect(gradError(p, (denseModel.predict(x) as tf.Tensor).dataSync() as Float32Array)).toBeLessThan(1e-4);
    tf.dispose([x, targets, y]);
  });
});
