// The baselines of the ranking family: ListMLE and RankList (log-sum-exp form) written from
// TensorFlow.js ops with tf.valueAndGrad, as allRank formulates them (reverse cumulative sums of
// exp(s - max) over each list in relevance order). The scores are put in relevance order on the
// host, untimed, and the gradient is put back for the agreement check: tfjs 'wasm' has no
// gradient for tf.gather (UnsortedSegmentSum), and this favours tfjs anyway.
import * as tf from '@tensorflow/tfjs';
import { runner, type TfjsRunner } from './tfjs-anyloss';

/** log(reverse cumulative sum of exp(s)) per row, max-shifted, exclusive or not. */
function reverseLogCumSumExp(s: tf.Tensor2D, exclusive: boolean): tf.Tensor2D {
  const m = s.max(1, true);
  return tf.cumsum(s.sub(m).exp(), 1, exclusive, true).log().add(m) as tf.Tensor2D;
}

/**
 * loss on the scores [lists, n] in relevance order: `order` holds, per list, the item indices
 * from most to least relevant.
 */
function sortedRunner(
  scores: Float32Array,
  order: Int32Array,
  lists: number,
  n: number,
  loss: (sorted: tf.Tensor2D) => tf.Scalar,
): TfjsRunner {
  const at = (k: number) => Math.floor(k / n) * n + order[k];
  const sorted = Float32Array.from(order, (_, k) => scores[at(k)]);
  const r = runner(tf.tensor2d(sorted, [lists, n]), [], (x) => loss(x as tf.Tensor2D));
  return {
    ...r,
    result() {
      const { loss: value, grad } = r.result();
      const back = new Float32Array(grad.length);
      grad.forEach((g, k) => (back[at(k)] = g));
      return { loss: value, grad: back };
    },
  };
}

/** ListMLE: mean over lists of sum_k (LSE_{m >= k} s_pi(m) - s_pi(k)). */
export function listMLETfjs(scores: Float32Array, order: Int32Array, lists: number, n: number): TfjsRunner {
  return sortedRunner(scores, order, lists, n, (s) => reverseLogCumSumExp(s, false).sub(s).sum(1).mean() as tf.Scalar);
}

/**
 * RankList, log-sum-exp form over all pairs of a list with distinct relevance: mean over lists of
 * softplus(LSE_i (LSE_{j > i} s_pi(j) - s_pi(i))).
 */
export function rankListTfjs(scores: Float32Array, order: Int32Array, lists: number, n: number): TfjsRunner {
  return sortedRunner(scores, order, lists, n, (s) => {
    const below = reverseLogCumSumExp(s, true).slice([0, 0], [lists, n - 1]);
    const a = below.sub(s.slice([0, 0], [lists, n - 1]));
    return tf.softplus(tf.logSumExp(a, 1)).mean() as tf.Scalar;
  });
}
