// An oracle written by other hands: every built-in metric's forward pass composed from
// TensorFlow.js ops (float32, 'cpu' backend) and differentiated by tfjs autograd, as formulas A.6
// prescribes ("autograd of the 10-line forward"), against the native CPU kernels.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { anyLoss, METRICS, type MetricName } from '../src';
import { gradError, randomBinaryLabels, randomClassLabels, randomScores, randomWeights, relError } from './helpers';

const EPS = 1e-5;
const BETA = 2;
type C = { tp: tf.Tensor; fn: tf.Tensor; fp: tf.Tensor; tn: tf.Tensor };

// The metrics of formulas A.3 with the eps placements of the official AnyLoss code.
const forward: Record<MetricName, (c: C) => tf.Tensor> = {
  accuracy: (c) => c.tp.add(c.tn).div(c.tp.add(c.fn).add(c.fp).add(c.tn).add(EPS)),
  precision: (c) => c.tp.div(c.tp.add(c.fp).add(EPS)),
  recall: (c) => c.tp.div(c.tp.add(c.fn).add(EPS)),
  specificity: (c) => c.tn.div(c.tn.add(c.fp).add(EPS)),
  f1: (c) => c.tp.mul(2).div(c.tp.mul(2).add(c.fn).add(c.fp).add(EPS)),
  fbeta: (c) =>
    c.tp.mul(1 + BETA ** 2).div(
      c.tp
        .mul(1 + BETA ** 2)
        .add(c.fn.mul(BETA ** 2))
        .add(c.fp)
        .add(EPS),
    ),
  'balanced-accuracy': (c) => {
    const n1 = c.tp.add(c.fn),
      n0 = c.fp.add(c.tn);
    return n0.mul(c.tp).add(n1.mul(c.tn)).div(n1.mul(n0).mul(2).add(EPS));
  },
  gmean: (c) =>
    c.tp
      .mul(c.tn)
      .div(c.tp.add(c.fn).mul(c.fp.add(c.tn)).add(EPS))
      .sqrt(),
  'gmean-squared': (c) => c.tp.mul(c.tn).div(c.tp.add(c.fn).mul(c.fp.add(c.tn)).add(EPS)),
  mcc: (c) =>
    c.tp
      .mul(c.tn)
      .sub(c.fp.mul(c.fn))
      .div(c.tp.add(c.fp).mul(c.tp.add(c.fn)).mul(c.tn.add(c.fp)).mul(c.tn.add(c.fn)).sqrt()),
  jaccard: (c) => c.tp.div(c.tp.add(c.fn).add(c.fp).add(EPS)),
};

/** loss = 1 - mean over classes of M(counts); yhat from logits as formulas A.2 / A.6. */
function oracle(
  metric: MetricName,
  scores: Float32Array,
  labels: tf.Tensor,
  weights: tf.Tensor,
  classes: number,
  amplifier: number,
) {
  const f = (x: tf.Tensor): tf.Scalar => {
    const p = classes === 1 ? tf.sigmoid(x) : tf.softmax(x);
    const yhat = tf.sigmoid(p.sub(0.5).mul(amplifier));
    const w = classes === 1 ? weights : weights.expandDims(1);
    const tp = w.mul(labels).mul(yhat).sum(0),
      s = w.mul(yhat).sum(0),
      n1 = w.mul(labels).sum(0),
      n = weights.sum();
    const c = { tp, fn: n1.sub(tp), fp: s.sub(tp), tn: n.sub(n1).sub(s).add(tp) };
    return tf.sub(1, forward[metric](c).mean()) as tf.Scalar;
  };
  return tf.tidy(() => {
    const x = classes === 1 ? tf.tensor1d(scores) : tf.tensor2d(scores, [scores.length / classes, classes]);
    const { value, grad } = tf.valueAndGrad(f)(x);
    return { loss: value.dataSync()[0], grad: grad.dataSync() as Float32Array };
  });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('anyLoss against tfjs autograd of the forward pass', () => {
  for (const metric of METRICS) {
    it(`${metric}, binary, weighted`, () => {
      const n = 2000;
      const x = randomScores(n, 71, 0.1),
        y = randomBinaryLabels(n, 72),
        w = randomWeights(n, 73);
      const want = tf.tidy(() => oracle(metric, x, tf.tensor1d(y), tf.tensor1d(w), 1, 73));
      const got = anyLoss(x, y, { metric, weights: w, ...(metric === 'fbeta' ? { beta: BETA } : {}) });
      expect(relError(got.loss, want.loss)).toBeLessThan(1e-5);
      expect(gradError(got.grad, want.grad)).toBeLessThan(1e-4);
    });
    it(`${metric}, 500 x 6 macro`, () => {
      const rows = 500,
        C = 6;
      const x = randomScores(rows * C, 74, 2),
        y = randomClassLabels(rows, C, 75);
      const want = tf.tidy(() =>
        oracle(metric, x, tf.oneHot(tf.tensor1d(y, 'int32'), C).cast('float32'), tf.ones([rows]), C, 20),
      );
      const got = anyLoss(x, y, { metric, classes: C, amplifier: 20, ...(metric === 'fbeta' ? { beta: BETA } : {}) });
      expect(relError(got.loss, want.loss)).toBeLessThan(1e-5);
      expect(gradError(got.grad, want.grad)).toBeLessThan(1e-4);
    });
  }
});
