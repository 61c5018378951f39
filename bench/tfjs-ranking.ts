// The baselines of the ranking family written from TensorFlow.js ops with tf.valueAndGrad, as
// allRank formulates them. ListMLE, RankList (log-sum-exp form) and PLD take reverse cumulative
// sums of exp(s - max) over each list in a fixed order: the scores are put in that order on the
// host, untimed, and the gradient is put back for the agreement check (tfjs 'wasm' has no gradient
// for tf.gather (UnsortedSegmentSum), and this favours tfjs anyway). ListNet, RankNet and
// LambdaLoss work on the lists as they are, RankNet and LambdaLoss on every pair (i, j) of a list
// as an [lists, n, n] tensor; LambdaLoss's ranks by score come from a detached copy (they are
// piecewise constant, and tfjs has no stop-gradient).
import * as tf from '@tensorflow/tfjs';
import { detach, runner, type TfjsRunner } from './tfjs-anyloss';

/** log(reverse cumulative sum of exp(s)) per row, max-shifted, exclusive or not. */
function reverseLogCumSumExp(s: tf.Tensor2D, exclusive: boolean): tf.Tensor2D {
  const m = s.max(1, true);
  return tf.cumsum(s.sub(m).exp(), 1, exclusive, true).log().add(m) as tf.Tensor2D;
}

/** values [lists, n] with each list's items in `order` (per list, item indices). */
function inOrder(values: Float32Array, order: Int32Array, n: number): Float32Array {
  return Float32Array.from(order, (item, k) => values[Math.floor(k / n) * n + item]);
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
  constants: tf.Tensor[] = [],
): TfjsRunner {
  const at = (k: number) => Math.floor(k / n) * n + order[k];
  const sorted = inOrder(scores, order, n);
  const r = runner(tf.tensor2d(sorted, [lists, n]), constants, (x) => loss(x as tf.Tensor2D));
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

/**
 * PLD (formulas D.3): per row pi* = (y, the other classes by teacher logit, descending), a_k =
 * softmax(t / tau)_{pi*_k}, L = sum_k a_k (LSE_{l >= k} s_pi*(l) - s_pi*(k)); the mean over rows.
 */
export function plackettLuceDistillTfjs(
  student: Float32Array,
  teacher: Float32Array,
  labels: Int32Array,
  classes: number,
  tau = 4,
): TfjsRunner {
  const rows = labels.length;
  const order = new Int32Array(rows * classes);
  for (let b = 0; b < rows; b++) {
    const t = (i: number) => teacher[b * classes + i];
    const rest = Array.from({ length: classes }, (_, i) => i).filter((i) => i !== labels[b]);
    order.set([labels[b], ...rest.sort((i, j) => t(j) - t(i) || i - j)], b * classes);
  }
  // softmax does not depend on the order of its inputs: this is q = softmax(t / tau) read along pi*.
  const a = tf.tidy(() => tf.softmax(tf.tensor2d(inOrder(teacher, order, classes), [rows, classes]).div(tau)));
  const loss = (s: tf.Tensor2D) => reverseLogCumSumExp(s, false).sub(s).mul(a).sum(1).mean() as tf.Scalar;
  return sortedRunner(student, order, rows, classes, loss, [a]);
}

/** ListNet (formulas D.1, allRank): mean over lists of -sum_i softmax(r)_i log softmax(s / T)_i. */
export function listNetTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  temperature = 1,
): TfjsRunner {
  const target = tf.tidy(() => tf.softmax(tf.tensor2d(relevance, [lists, n])));
  return runner(
    tf.tensor2d(scores, [lists, n]),
    [target],
    (xs) =>
      target
        .mul(tf.logSoftmax(xs.div(temperature)))
        .sum(1)
        .neg()
        .mean() as tf.Scalar,
  );
}

/** The pair (i, j) of each list along axes 1 and 2: column i, row j. */
const column = (t: tf.Tensor) => t.expandDims(2);
const row = (t: tf.Tensor) => t.expandDims(1);
const pairDiff = (t: tf.Tensor) => column(t).sub(row(t));

/** softplus(-sigma (s_i - s_j)) = -log sigma(sigma (s_i - s_j)) for every pair of each list. */
const pairLogistic = (s: tf.Tensor, sigma: number) => tf.softplus(pairDiff(s).mul(-sigma));

/** The pairs (i, j) with r_i > r_j. */
const preferred = (r: tf.Tensor) => tf.greater(column(r), row(r));

/**
 * RankNet (formulas D.5, allRank): the mean over all pairs r_i > r_j of the batch of
 * w_ij softplus(-sigma (s_i - s_j)), w_ij 1, |r_i - r_j| or |r_i^2 - r_j^2|.
 */
export function rankNetTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  { sigma = 1, weighting = 'none' as 'none' | 'label-diff' | 'label-diff-squared' } = {},
): TfjsRunner {
  const r = tf.tensor2d(relevance, [lists, n]);
  return runner(tf.tensor2d(scores, [lists, n]), [r], (xs) => {
    const mask = preferred(r).cast('float32');
    const w = weighting === 'none' ? mask : mask.mul(pairDiff(weighting === 'label-diff' ? r : r.square()).abs());
    return w.mul(pairLogistic(xs, sigma)).sum().div(mask.sum()) as tf.Scalar;
  });
}

/** 0-based position of each item of each list in descending order of v, ties by index: the items ahead of it. */
function descendingRanks(v: tf.Tensor): tf.Tensor {
  const n = v.shape[1] as number;
  const idx = tf.range(0, n, 1, 'int32');
  const jBeforeI = tf.less(idx.expandDims(0), idx.expandDims(1)); // [i, j]
  const ahead = tf.logicalOr(tf.greater(row(v), column(v)), tf.logicalAnd(tf.equal(row(v), column(v)), jBeforeI));
  return ahead.cast('float32').sum(2);
}

/**
 * NeuralNDCG (formulas D.8), deterministic, k = the list, gains 2^r - 1: NeuralSort's matrix
 * P[i, j] = softmax_j(((n - 1 - 2 i) s_j - sum_l |s_j - s_l|) / T), then maxIter Sinkhorn steps
 * (columns, then rows, sums floored at 1e-10), then -DCG(P g) / IDCG per list; lists without
 * relevance count 0. tfjs differentiates through every step.
 */
export function neuralNDCGTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  temperature = 1,
  maxIter = 50,
): TfjsRunner {
  const r = tf.tensor2d(relevance, [lists, n]);
  const gain = tf.tidy(() => tf.pow(2, r).sub(1));
  const idcg = tf.tidy(() => gain.div(log2(descendingRanks(r).add(2))).sum(1));
  const discount = tf.tidy(() => tf.div(1, log2(tf.range(0, n).add(2))));
  const slope = tf.range(n - 1, -n, -2).reshape([1, n, 1]); // n - 1 - 2 i
  return runner(tf.tensor2d(scores, [lists, n]), [r, gain, idcg, discount, slope], (xs) => {
    const spread = pairDiff(xs).abs().sum(2); // sum_l |s_j - s_l|
    let P = tf.softmax(slope.mul(row(xs)).sub(row(spread)).div(temperature)); // softmax over j
    for (let t = 0; t < maxIter; t++) {
      P = P.div(P.sum(1, true).maximum(1e-10));
      P = P.div(P.sum(2, true).maximum(1e-10));
    }
    const dcg = P.matMul(column(gain)).squeeze([2]).mul(discount).sum(1);
    return tf.where(idcg.greater(0), dcg.div(idcg.maximum(1e-30)).neg(), tf.zerosLike(dcg)).mean() as tf.Scalar;
  });
}

export interface LambdaTfjsOptions {
  scheme?: 'none' | 'lambdaRank' | 'ndcgLoss1' | 'ndcgLoss2' | 'ndcgLoss2PP';
  /** NDCG cutoff (default: the list). */
  k?: number;
  sigma?: number;
  mu?: number;
  reduction?: 'sum' | 'mean';
  normalize?: boolean;
}

const log2 = (t: tf.Tensor) => t.log().div(Math.LN2);

/**
 * LambdaLoss's pair weights (formulas D.4) from the ranks rho of the (detached) scores, zero off the
 * pairs: r_i > r_j (every pair for ndcgLoss1) with both in the top k predicted ranks. Gains
 * G = (2^r - 1) / maxDCG, discounts D = log2(1 + rho).
 */
function lambdaWeights(scores: tf.Tensor, r: tf.Tensor, o: Required<Omit<LambdaTfjsOptions, 'sigma' | 'reduction'>>) {
  const rank = descendingRanks(scores); // rho - 1
  const D = log2(rank.add(2));
  const gain = tf.pow(2, r).sub(1);
  const ideal = descendingRanks(r);
  const maxDcg = gain
    .div(log2(ideal.add(2)))
    .mul(ideal.less(o.k).cast('float32'))
    .sum(1, true)
    .maximum(1e-10);
  const G = o.normalize ? gain.div(maxDcg) : gain;
  const top = rank.less(o.k);
  const inTop = tf.logicalAnd(column(top), row(top));
  const pairs = (o.scheme === 'ndcgLoss1' ? inTop : tf.logicalAnd(inTop, preferred(r))).cast('float32');
  const lambdaRank = () => pairDiff(tf.reciprocal(D)).abs().mul(pairDiff(G).abs());
  const ndcgLoss2 = () => {
    const m = tf.maximum(pairDiff(rank).abs(), 1); // 0 only on the diagonal, never a pair here
    return tf
      .reciprocal(log2(m.add(1)))
      .sub(tf.reciprocal(log2(m.add(2))))
      .abs()
      .mul(pairDiff(G).abs());
  };
  const w = {
    none: () => tf.scalar(1),
    lambdaRank,
    ndcgLoss1: () => column(G.div(D)),
    ndcgLoss2,
    ndcgLoss2PP: () => ndcgLoss2().mul(o.mu).add(lambdaRank()),
  }[o.scheme]();
  return { pairs, weights: pairs.mul(w) };
}

/**
 * LambdaLoss (formulas D.4, allRank): per list -sum_pairs w_ij log2 sigma(sigma (s_i - s_j)) ('sum',
 * or the mean over its pairs), then the mean over lists.
 */
export function lambdaLossTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  { scheme = 'none', k = n, sigma = 1, mu = 10, reduction = 'sum', normalize = true }: LambdaTfjsOptions = {},
): TfjsRunner {
  const r = tf.tensor2d(relevance, [lists, n]);
  return runner(tf.tensor2d(scores, [lists, n]), [r], (xs) => {
    const { pairs, weights } = lambdaWeights(detach(xs), r, { scheme, k, mu, normalize });
    const perList = weights.mul(pairLogistic(xs, sigma)).sum([1, 2]).div(Math.LN2);
    const scaled = reduction === 'mean' ? perList.div(pairs.sum([1, 2]).maximum(1)) : perList;
    return scaled.mean() as tf.Scalar;
  });
}

/**
 * Pairwise hinge (formulas D.6, TF Ranking's PairwiseHingeLoss): sum over pairs r_i > r_j of
 * max(0, margin - (s_i - s_j)), over the batch's items ('items') or its pairs ('pairs').
 */
export function pairwiseHingeTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  { margin = 1, normalizeBy = 'items' as 'items' | 'pairs' } = {},
): TfjsRunner {
  const r = tf.tensor2d(relevance, [lists, n]);
  return runner(tf.tensor2d(scores, [lists, n]), [r], (xs) => {
    const mask = preferred(r).cast('float32');
    const sum = mask.mul(tf.relu(tf.scalar(margin).sub(pairDiff(xs)))).sum();
    return (normalizeBy === 'items' ? sum.div(lists * n) : sum.div(mask.sum())) as tf.Scalar;
  });
}

/**
 * ApproxNDCG (formulas D.7, TF Ranking's ApproxNDCGLoss): per list -sum_i (2^r_i - 1) / log2(1 + pi_i)
 * / IDCG, pi_i = 1 + sum_{j != i} sigmoid((s_j - s_i) / T), the mean over lists (lists without
 * relevance: 0).
 */
export function approxNDCGTfjs(
  scores: Float32Array,
  relevance: Float32Array,
  lists: number,
  n: number,
  temperature = 0.1,
): TfjsRunner {
  const r = tf.tensor2d(relevance, [lists, n]);
  const gain = tf.tidy(() => tf.pow(2, r).sub(1));
  const idcg = tf.tidy(() => {
    const ideal = descendingRanks(r);
    return gain.div(log2(ideal.add(2))).sum(1);
  });
  return runner(tf.tensor2d(scores, [lists, n]), [r, gain, idcg], (xs) => {
    // sigmoid((s_j - s_i) / T) summed over j counts j = i as 1/2: pi_i = 1/2 + the sum.
    const pi = tf.sigmoid(pairDiff(xs).neg().div(temperature)).sum(2).add(0.5);
    const dcg = gain.div(log2(pi.add(1))).sum(1);
    return tf.where(idcg.greater(0), dcg.div(idcg.maximum(1e-30)).neg(), tf.zerosLike(dcg)).mean() as tf.Scalar;
  });
}
