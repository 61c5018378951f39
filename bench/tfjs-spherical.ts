// The baselines of the spherical and softmax families: softmax cross-entropy, Z-loss, the other
// spherical losses and the sigmoid focal loss written from TensorFlow.js ops with tf.valueAndGrad,
// as a user without fusedloss would write them.
import * as tf from '@tensorflow/tfjs';
import { oneHot, runner, type TfjsRunner } from './tfjs-anyloss';

/** Mean softmax cross-entropy over rows: tf.losses.softmaxCrossEntropy on one-hot targets. */
export function softmaxCrossEntropyTfjs(logits: Float32Array, targets: Int32Array, classes: number): TfjsRunner {
  const x = tf.tensor2d(logits, [targets.length, classes]);
  const y = oneHot(targets, classes);
  return runner(x, [y], (xs) => tf.losses.softmaxCrossEntropy(y, xs) as tf.Scalar);
}

/** Mean Z-loss, a = 1, b = 0: softplus(-(o_c - mean) / std) per row (formulas F.1). */
export function zLossTfjs(logits: Float32Array, targets: Int32Array, classes: number): TfjsRunner {
  const x = tf.tensor2d(logits, [targets.length, classes]);
  const y = oneHot(targets, classes);
  return runner(x, [y], (xs) => {
    const { mean, variance } = tf.moments(xs, 1);
    const target = xs.mul(y).sum(1);
    const z = target.sub(mean).div(variance.sqrt());
    return tf.softplus(z.neg()).mean() as tf.Scalar;
  });
}

/**
 * Mean over rows of the spherical losses of formulas F.3, from their definitions: 'mse' ||o - e_c||^2;
 * 'log-spherical-softmax' -log p_c, p_k = (o_k^2 + eps) / sum_j (o_j^2 + eps); 'log-taylor-softmax'
 * -log p_c, p_k = (1 + o_k + o_k^2 / 2) / sum_j (1 + o_j + o_j^2 / 2).
 */
export function sphericalLossTfjs(
  logits: Float32Array,
  targets: Int32Array,
  classes: number,
  kind: 'mse' | 'log-spherical-softmax' | 'log-taylor-softmax',
  eps = 1e-6,
): TfjsRunner {
  const x = tf.tensor2d(logits, [targets.length, classes]);
  const y = oneHot(targets, classes);
  /** -log of the target's share of the row's unnormalised weights f. */
  const nll = (f: tf.Tensor) => f.sum(1).log().sub(f.mul(y).sum(1).log());
  return runner(x, [y], (xs) => {
    const perRow =
      kind === 'mse'
        ? xs.sub(y).square().sum(1)
        : kind === 'log-spherical-softmax'
          ? nll(xs.square().add(eps))
          : nll(xs.add(1).add(xs.square().div(2)));
    return perRow.mean() as tf.Scalar;
  });
}

/**
 * Mean sigmoid focal loss (formulas G, RetinaNet): a_t (1 - p_t)^gamma BCE(x, y) per element, with
 * 1 - p_t = y sigmoid(-x) + (1 - y) sigmoid(x) and a_t = alpha y + (1 - alpha)(1 - y).
 */
export function sigmoidFocalTfjs(scores: Float32Array, labels: Float32Array, gamma = 2, alpha = 0.25): TfjsRunner {
  const x = tf.tensor1d(scores),
    y = tf.tensor1d(labels);
  return runner(x, [y], (xs) => {
    const notY = tf.sub(1, y);
    const bce = y.mul(tf.softplus(xs.neg())).add(notY.mul(tf.softplus(xs)));
    const miss = y.mul(tf.sigmoid(xs.neg())).add(notY.mul(tf.sigmoid(xs)));
    const at = y.mul(alpha).add(notY.mul(1 - alpha));
    return at.mul(miss.pow(gamma)).mul(bce).mean() as tf.Scalar;
  });
}
