// The baseline of the fused linear cross-entropy: a dense layer and softmax cross-entropy written
// from TensorFlow.js ops, gradients for both inputs by tf.grads, as a user without fusedloss would
// write it. It forms the B x C logits (and their gradient).
import * as tf from '@tensorflow/tfjs';
import { oneHot, type TfjsRunner } from './tfjs-anyloss';

/** Mean softmax cross-entropy of h W^T (h: B x D, W: C x D); the gradient is [dH, dW] concatenated. */
export function linearCrossEntropyTfjs(
  hidden: Float32Array,
  weight: Float32Array,
  targets: Int32Array,
  dim: number,
): TfjsRunner {
  const B = targets.length,
    C = weight.length / dim;
  const h = tf.tensor2d(hidden, [B, dim]);
  const w = tf.tensor2d(weight, [C, dim]);
  const y = oneHot(targets, C);
  const valueAndGrads = tf.valueAndGrads((hs: tf.Tensor, ws: tf.Tensor) =>
    tf.losses.softmaxCrossEntropy(y, tf.matMul(hs, ws, false, true)),
  );
  const call = () => tf.tidy(() => valueAndGrads([h, w]));
  return {
    step() {
      const { value, grads } = call();
      const l = value.dataSync()[0];
      tf.dispose([value, ...grads]);
      return l;
    },
    result() {
      const { value, grads } = call();
      const grad = new Float32Array(hidden.length + weight.length);
      grad.set(grads[0].dataSync() as Float32Array);
      grad.set(grads[1].dataSync() as Float32Array, hidden.length);
      const r = { loss: value.dataSync()[0], grad };
      tf.dispose([value, ...grads]);
      return r;
    },
    dispose: () => tf.dispose([h, w, y]),
  };
}
