// The baselines: AnyLoss written from TensorFlow.js ops with tf.valueAndGrad, as a user without
// fusedloss would write it, on tfjs's 'cpu' and 'wasm' backends.
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** One fwd+bwd step on prepared tensors; `result` also reads the gradient back (for checks). */
export interface TfjsRunner {
  step(): number;
  result(): { loss: number; grad: Float32Array };
  dispose(): void;
}

// Under Node the wasm backend reads its .wasm files from disk: point it at the package's dist/.
setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);

/** Switches tfjs to `name` ('cpu' or 'wasm'; wasm is single-threaded under Node). */
export async function useTfjsBackend(name: 'cpu' | 'wasm'): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend '${name}' failed to initialise`);
  await tf.ready();
}

/** Times loss(x) with tf.valueAndGrad on prepared tensors; dispose frees x and the constants. */
export function runner(x: tf.Tensor, constants: tf.Tensor[], loss: (x: tf.Tensor) => tf.Scalar): TfjsRunner {
  const valueAndGrad = tf.valueAndGrad(loss);
  const call = (): [tf.Tensor, tf.Tensor] =>
    tf.tidy(() => {
      const { value, grad } = valueAndGrad(x);
      return [value, grad];
    });
  return {
    step() {
      const [value, grad] = call();
      const l = value.dataSync()[0];
      tf.dispose([value, grad]);
      return l;
    },
    result() {
      const [value, grad] = call();
      const r = { loss: value.dataSync()[0], grad: Float32Array.from(grad.dataSync() as Float32Array) };
      tf.dispose([value, grad]);
      return r;
    },
    dispose: () => tf.dispose([x, ...constants]),
  };
}

/** Binary AnyLoss-F1: p = sigmoid(x), yhat = sigmoid(L (p - 1/2)), loss = 1 - 2 TP / (N1 + S + eps). */
export function anyLossF1Binary(scores: Float32Array, labels: Float32Array, amplifier = 73, eps = 1e-5): TfjsRunner {
  const x = tf.tensor1d(scores),
    y = tf.tensor1d(labels);
  return runner(x, [y], (xs) => {
    const p = tf.sigmoid(xs);
    const yhat = tf.sigmoid(p.sub(0.5).mul(amplifier));
    const tp = y.mul(yhat).sum(),
      s = yhat.sum(),
      n1 = y.sum();
    return tf.sub(1, tp.mul(2).div(n1.add(s).add(eps))) as tf.Scalar;
  });
}

/**
 * Multi-class macro AnyLoss-F1: P = softmax(X) per row, Yhat = sigmoid(L (P - 1/2)), per class
 * TP_k, S_k, N1_k summed over rows, loss = 1 - mean_k F1_k. The one-hot is built as int32 and
 * cast: tf.oneHot(..., 'float32') is wrong on the wasm backend of tfjs 4.22.
 */
export function anyLossF1Macro(
  scores: Float32Array,
  labels: Int32Array,
  classes: number,
  amplifier = 73,
  eps = 1e-5,
): TfjsRunner {
  const x = tf.tensor2d(scores, [labels.length, classes]);
  const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes, 1, 0, 'int32').cast('float32'));
  return runner(x, [onehot], (xs) => {
    const yhat = tf.sigmoid(tf.softmax(xs).sub(0.5).mul(amplifier));
    const tp = onehot.mul(yhat).sum(0),
      s = yhat.sum(0),
      n1 = onehot.sum(0);
    return tf.sub(1, tp.mul(2).div(n1.add(s).add(eps)).mean()) as tf.Scalar;
  });
}

/** Live tfjs tensors, to check a backend's runs leak none. */
export const liveTensors = (): number => tf.memory().numTensors;
