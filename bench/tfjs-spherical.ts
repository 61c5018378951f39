// The baselines of the spherical and softmax families: softmax cross-entropy and Z-loss written
// from TensorFlow.js ops with tf.valueAndGrad, as a user without fusedloss would write them.
import * as tf from '@tensorflow/tfjs';
import { runner, type TfjsRunner } from './tfjs-anyloss';

/** One-hot targets, built as int32 and cast (tf.oneHot(..., 'float32') is wrong on tfjs 4.22 wasm). */
function oneHot(targets: Int32Array, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(targets, 'int32'), classes, 1, 0, 'int32').cast('float32') as tf.Tensor2D);
}

/** Mean softmax cross-entropy over rows: tf.losses.softmaxCrossEntropy on one-hot targets. */
export function softmaxCrossEntropyTfjs(logits: Float32Array, targets: Int32Array, classes: number): TfjsRunner {
  const x = tf.tensor2d(logits, [targets.length, classes]);
  const y = oneHot(targets, classes);
  return runner(x, [y], (xs) => tf.losses.softmaxCrossEntropy(y, xs) as tf.Scalar);
}

/** Mean Z-loss, a = 1, b = 0: softplus(-(o_c - mean) / std) per row (spec F.1). */
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
