// The baselines of the General Pair Weighting losses (formulas E.2 to E.6) written from TensorFlow.js
// ops with tf.valueAndGrad, as a user without fusedloss would: the full N x N similarity matrix of
// the normalised rows, boolean masks for the pairs, and the loss as the defaults of
// src/losses/pairs.ts define it (pytorch-metric-learning conventions). Constants of the gradient
// (circle's a_p, a_n) and masks that depend on the rows (which terms are non-zero) come from a
// detached copy of S: tfjs has no stop-gradient, nor gradients for comparisons.
import * as tf from '@tensorflow/tfjs';
import { detach, runner, type TfjsRunner } from './tfjs-anyloss';

const BIG = 1e4; // masks out a logit of an LSE, or a distance of a max / min

interface Pairs {
  pos: tf.Tensor; // same label, not the row itself
  neg: tf.Tensor; // different label
  notSelf: tf.Tensor;
}

/** S = Fn Fn^T of rows normalised as F.normalize. */
function similarity(xs: tf.Tensor): tf.Tensor {
  const fn = xs.div(tf.maximum(tf.norm(xs, 'euclidean', 1, true), 1e-12));
  return tf.matMul(fn, fn, false, true);
}

/** Distances on the unit sphere, clamped away from 0 so sqrt's gradient stays finite on the diagonal. */
function distances(S: tf.Tensor): tf.Tensor {
  return tf.sqrt(tf.maximum(tf.scalar(2).sub(S.mul(2)), 1e-12));
}

/** The loss of (S, masks) on N x dim rows, as a runner. */
function pairRunner(
  x: Float32Array,
  labels: Int32Array,
  dim: number,
  loss: (S: tf.Tensor, m: Pairs) => tf.Scalar,
): TfjsRunner {
  const n = labels.length;
  const masks = tf.tidy(() => {
    const y = tf.tensor1d(labels, 'int32');
    const idx = tf.range(0, n, 1, 'int32');
    const same = tf.equal(y.expandDims(1), y.expandDims(0));
    const notSelf = tf.notEqual(idx.expandDims(1), idx.expandDims(0));
    return { pos: tf.logicalAnd(same, notSelf), neg: tf.logicalNot(same), notSelf };
  });
  return runner(tf.tensor2d(x, [n, dim]), [masks.pos, masks.neg, masks.notSelf], (xs) => loss(similarity(xs), masks));
}

/** The mean of `v` over the entries where `mask` holds (0 for none). */
function maskedMean(v: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  const count = tf.maximum(mask.cast('float32').sum(), 1);
  return tf.where(mask, v, tf.zerosLike(v)).sum().div(count) as tf.Scalar;
}

/** Contrastive: relu(d - posMargin) on positives, relu(negMargin - d) on negatives, each half the mean over its non-zero terms. */
export function contrastiveTfjs(x: Float32Array, labels: Int32Array, dim: number, posMargin = 0, negMargin = 1) {
  return pairRunner(x, labels, dim, (S, m) => {
    const d = distances(S),
      dd = distances(detach(S));
    const p = tf.relu(d.sub(posMargin)),
      q = tf.relu(tf.scalar(negMargin).sub(d));
    const pUsed = tf.logicalAnd(m.pos, dd.greater(posMargin)),
      qUsed = tf.logicalAnd(m.neg, dd.less(negMargin));
    return maskedMean(p, pUsed).add(maskedMean(q, qUsed));
  });
}

/** Batch-hard triplet (hinge): [margin + max_P d - min_N d]_+, mean over anchors with a positive loss. */
export function tripletBatchHardTfjs(x: Float32Array, labels: Int32Array, dim: number, margin = 0.05) {
  return pairRunner(x, labels, dim, (S, m) => {
    const hinge = (d: tf.Tensor) =>
      tf.relu(
        tf
          .where(m.pos, d, tf.fill(d.shape, -BIG))
          .max(1)
          .sub(tf.where(m.neg, d, tf.fill(d.shape, BIG)).min(1))
          .add(margin),
      );
    return maskedMean(hinge(distances(S)), hinge(distances(detach(S))).greater(0));
  });
}

/**
 * Circle loss: softplus(LSE_n(gamma a_n (s_n - m)) + LSE_p(-gamma a_p (s_p - 1 + m))), a_p, a_n
 * constants; the mean over all rows (at the bench's sizes every row has positives and negatives).
 */
export function circleLossTfjs(x: Float32Array, labels: Int32Array, dim: number, margin = 0.4, gamma = 80) {
  return pairRunner(x, labels, dim, (S, m) => {
    const detached = detach(S);
    const ap = tf.relu(tf.scalar(1 + margin).sub(detached)),
      an = tf.relu(detached.add(margin));
    const lp = tf.where(m.pos, ap.mul(S.sub(1 - margin)).mul(-gamma), tf.fill(S.shape, -BIG));
    const ln = tf.where(m.neg, an.mul(S.sub(margin)).mul(gamma), tf.fill(S.shape, -BIG));
    const z = tf.logSumExp(lp, 1).add(tf.logSumExp(ln, 1));
    return tf.softplus(z).mean() as tf.Scalar;
  });
}

/** SupCon: (tau / tau_b) (LSE_{a != i} S_ia / tau - mean_P S_ip / tau), mean over anchors with a positive. */
export function supConTfjs(x: Float32Array, labels: Int32Array, dim: number, tau = 0.07, baseTau = 0.07) {
  return pairRunner(x, labels, dim, (S, m) => {
    const logits = S.div(tau);
    const lse = tf.logSumExp(tf.where(m.notSelf, logits, tf.fill(S.shape, -BIG)), 1);
    const count = m.pos.cast('float32').sum(1);
    const posMean = tf.where(m.pos, logits, tf.zerosLike(logits)).sum(1).div(tf.maximum(count, 1));
    return maskedMean(lse.sub(posMean).mul(tau / baseTau), count.greater(0));
  });
}

/** NT-Xent: softplus(LSE_n(S_an / tau) - S_ap / tau) per positive pair (a, p), mean over the pairs. */
export function ntXentTfjs(x: Float32Array, labels: Int32Array, dim: number, tau = 0.07) {
  return pairRunner(x, labels, dim, (S, m) => {
    const logits = S.div(tau);
    const lseNeg = tf.logSumExp(tf.where(m.neg, logits, tf.fill(S.shape, -BIG)), 1, true);
    return maskedMean(tf.softplus(lseNeg.sub(logits)), m.pos);
  });
}

/** Orthogonal projection loss: 1 - mean_P S + gamma mean_N S, as kahnchana/opl (ordered pairs, 1e-6 guards). */
export function orthogonalProjectionTfjs(x: Float32Array, labels: Int32Array, dim: number, gamma = 0.5) {
  return pairRunner(x, labels, dim, (S, m) => {
    const mean = (mask: tf.Tensor) =>
      tf.where(mask, S, tf.zerosLike(S)).sum().div(mask.cast('float32').sum().add(1e-6));
    return tf.scalar(1).sub(mean(m.pos)).add(mean(m.neg).mul(gamma)) as tf.Scalar;
  });
}
