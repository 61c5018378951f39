// The baseline of the pairwise family: Multi-Similarity (pytorch-metric-learning semantics, formulas
// E.1) written from TensorFlow.js ops with tf.valueAndGrad, as a user without fusedloss would:
// the full N x N similarity matrix, masks for the pairs, mining on a detached copy (tfjs has no
// stop-gradient), and two masked log-sum-exps with an implicit zero.
import * as tf from '@tensorflow/tfjs';
import { detach, runner, type TfjsRunner } from './tfjs-anyloss';

export function multiSimilarityTfjs(
  x: Float32Array,
  labels: Int32Array,
  dim: number,
  { alpha = 2, beta = 50, base = 0.5, epsilon = 0.1 } = {},
): TfjsRunner {
  const n = labels.length;
  const xt = tf.tensor2d(x, [n, dim]);
  const [pos, neg, zeros, far, near] = tf.tidy(() => {
    const y = tf.tensor1d(labels, 'int32');
    const idx = tf.range(0, n, 1, 'int32');
    const same = tf.equal(y.expandDims(1), y.expandDims(0));
    const self = tf.equal(idx.expandDims(1), idx.expandDims(0));
    return [
      tf.logicalAnd(same, tf.logicalNot(self)),
      tf.logicalNot(same),
      tf.zeros([n, 1]),
      tf.fill([n, n], 1e4),
      tf.fill([n, n], -1e4),
    ];
  });
  const lse = (mask: tf.Tensor, logits: tf.Tensor) =>
    tf.logSumExp(tf.concat([zeros, tf.where(mask, logits, near)], 1), 1);
  return runner(xt, [pos, neg, zeros, far, near], (xs) => {
    const fn = xs.div(tf.maximum(tf.norm(xs, 'euclidean', 1, true), 1e-12));
    const S = tf.matMul(fn, fn, false, true);
    const detached = detach(S);
    const minPos = tf.where(pos, detached, far).min(1, true);
    const maxNeg = tf.where(neg, detached, near).max(1, true);
    const posMined = tf.logicalAnd(pos, detached.sub(epsilon).less(maxNeg));
    const negMined = tf.logicalAnd(neg, detached.add(epsilon).greater(minPos));
    const lp = lse(posMined, S.sub(base).mul(-alpha));
    const ln = lse(negMined, S.sub(base).mul(beta));
    return lp.div(alpha).add(ln.div(beta)).mean() as tf.Scalar;
  });
}
