// The baseline of the ranking metrics written from TensorFlow.js ops, as a tfjs user would: NDCG@k
// per list from tf.topk of the scores (ties: lower index first, as fusedloss) and of the relevance
// (the ideal order), gains 2^r - 1 and discounts 1 / log2(1 + rank); the mean over lists.
import * as tf from '@tensorflow/tfjs';
import type { TfjsRunner } from './tfjs-anyloss';

export function ndcgTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  k: number,
): TfjsRunner {
  const s = tf.tensor2d(scores, [lists, n]);
  const r = tf.tensor2d(relevance, [lists, n]);
  const discount = tf.tensor1d(Float32Array.from({ length: k }, (_, p) => 1 / Math.log2(2 + p)));
  const dcg = (rel: tf.Tensor2D) => tf.pow(2, rel).sub(1).mul(discount).sum(1);
  const step = () =>
    tf.tidy(() => {
      const { indices } = tf.topk(s, k);
      // Row-major positions of the top k (tfjs-backend-wasm's gather faults with batchDims 1).
      const flat = indices.add(tf.range(0, lists * n, n, 'int32').expandDims(1)).flatten();
      const predicted = tf.gather(r.flatten(), flat).reshape([lists, k]) as tf.Tensor2D;
      const ideal = dcg(tf.topk(r, k).values);
      const value = tf.where(ideal.greater(0), dcg(predicted).div(ideal.maximum(1e-30)), tf.zerosLike(ideal));
      return value.mean();
    });
  return {
    step() {
      const v = step();
      const out = v.dataSync()[0];
      v.dispose();
      return out;
    },
    result: () => {
      const v = step();
      const out = v.dataSync()[0];
      v.dispose();
      return { loss: out, grad: new Float32Array(0) };
    },
    dispose: () => tf.dispose([s, r, discount]),
  };
}
