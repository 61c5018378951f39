// The baselines of the confusion family: AnyLoss, Dice and Tversky written from TensorFlow.js ops
// with tf.valueAndGrad, as a user without fusedloss would write them, on tfjs's 'cpu' and 'wasm'
// backends; and the runner and helpers the other bench/tfjs-*.ts files share.
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

/** d loss / d x by tf.valueAndGrad on x; `constants` are disposed with the runner. */
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

/** A copy of `t` outside the tape: tfjs has no stop-gradient, and no gradient for comparisons. */
export function detach<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync() as Float32Array, t.shape, 'float32') as T;
}

/** One-hot rows, built as int32 and cast: tf.oneHot(..., 'float32') is wrong on the wasm backend of tfjs 4.22. */
export function oneHot(ids: Int32Array, classes: number): tf.Tensor2D {
  return tf.tidy(() => tf.oneHot(tf.tensor1d(ids, 'int32'), classes, 1, 0, 'int32').cast('float32') as tf.Tensor2D);
}

/**
 * A confusion-family problem as tensors [rows, classes]: binary scores (classes 1) with their
 * labels as given (soft labels allowed), or multi-class scores with one-hot class ids.
 */
function confusionTensors(scores: Float32Array, labels: Float32Array | Int32Array, classes: number) {
  const rows = labels.length;
  const y = classes === 1 ? tf.tensor2d(labels, [rows, 1], 'float32') : oneHot(labels as Int32Array, classes);
  return { x: tf.tensor2d(scores, [rows, classes]), y };
}

/** p from the scores: a sigmoid for a binary problem, a softmax over each row for a multi-class one. */
const probabilities = (xs: tf.Tensor, classes: number): tf.Tensor => (classes === 1 ? tf.sigmoid(xs) : tf.softmax(xs));

/** Soft confusion counts, one per class (or one, summed, for micro averaging). */
interface SoftCounts {
  tp: tf.Tensor;
  fn: tf.Tensor;
  fp: tf.Tensor;
  tn: tf.Tensor;
}

/** The metrics the tests compose (formulas A.3, eps as the official code); MCC written as TP TN - FP FN over the four margins. */
const METRICS = {
  f1: (c: SoftCounts, eps: number) => c.tp.mul(2).div(c.tp.mul(2).add(c.fp).add(c.fn).add(eps)),
  jaccard: (c: SoftCounts, eps: number) => c.tp.div(c.tp.add(c.fp).add(c.fn).add(eps)),
  mcc: (c: SoftCounts) =>
    c.tp
      .mul(c.tn)
      .sub(c.fp.mul(c.fn))
      .div(c.tp.add(c.fp).mul(c.tp.add(c.fn)).mul(c.tn.add(c.fp)).mul(c.tn.add(c.fn)).sqrt()),
};

export interface AnyLossTfjsOptions {
  /** 1 (default): binary, one score per row; C: rows x C scores and class ids, one-vs-rest. */
  classes?: number;
  metric?: keyof typeof METRICS;
  average?: 'macro' | 'micro';
  amplifier?: number;
  eps?: number;
}

/**
 * AnyLoss (formulas A.2, A.6): p = sigmoid(x) (binary) or softmax(X) per row, yhat = sigmoid(L (p - 1/2)),
 * per class TP, S, N1 summed over rows, loss = 1 - M: macro the mean over classes of M_k, micro M
 * of the counts summed over classes.
 */
export function anyLossTfjs(
  scores: Float32Array,
  labels: Float32Array | Int32Array,
  { classes = 1, metric = 'f1', average = 'macro', amplifier = 73, eps = 1e-5 }: AnyLossTfjsOptions = {},
): TfjsRunner {
  const { x, y } = confusionTensors(scores, labels, classes);
  return runner(x, [y], (xs) => {
    const yhat = tf.sigmoid(probabilities(xs, classes).sub(0.5).mul(amplifier));
    const tp = y.mul(yhat).sum(0),
      s = yhat.sum(0),
      n1 = y.sum(0);
    const perClass = { tp, fn: n1.sub(tp), fp: s.sub(tp), tn: tf.scalar(labels.length).sub(n1).sub(s).add(tp) };
    const counts =
      average === 'micro'
        ? { tp: perClass.tp.sum(), fn: perClass.fn.sum(), fp: perClass.fp.sum(), tn: perClass.tn.sum() }
        : perClass;
    return tf.sub(1, METRICS[metric](counts, eps).mean()) as tf.Scalar;
  });
}

/** Binary AnyLoss-F1: p = sigmoid(x), yhat = sigmoid(L (p - 1/2)), loss = 1 - 2 TP / (N1 + S + eps). */
export const anyLossF1Binary = (scores: Float32Array, labels: Float32Array, amplifier = 73, eps = 1e-5): TfjsRunner =>
  anyLossTfjs(scores, labels, { amplifier, eps });

/** Multi-class macro AnyLoss-F1: 1 - mean_k F1_k over softmax rows. */
export const anyLossF1Macro = (
  scores: Float32Array,
  labels: Int32Array,
  classes: number,
  amplifier = 73,
  eps = 1e-5,
): TfjsRunner => anyLossTfjs(scores, labels, { classes, amplifier, eps });

/**
 * Dice and Tversky (formulas B.1) as 1 - an overlap score of p and the targets y: 'global' sums each
 * class over the rows first (one score per class), 'per-example' scores every cell; the loss is
 * the mean of 1 - score over what was scored (classes, or rows x classes).
 */
function overlapRunner(
  scores: Float32Array,
  labels: Float32Array | Int32Array,
  classes: number,
  mode: 'global' | 'per-example',
  score: (p: tf.Tensor, y: tf.Tensor, sum: (t: tf.Tensor) => tf.Tensor) => tf.Tensor,
): TfjsRunner {
  const { x, y } = confusionTensors(scores, labels, classes);
  const sum = mode === 'global' ? (t: tf.Tensor) => t.sum(0) : (t: tf.Tensor) => t;
  return runner(x, [y], (xs) => tf.sub(1, score(probabilities(xs, classes), y, sum)).mean() as tf.Scalar);
}

export interface DiceTfjsOptions {
  classes?: number;
  smooth?: number;
  /** Self-adjusting exponent: pt = p (1 - p)^alpha. */
  alpha?: number;
  squareDenominator?: boolean;
  mode?: 'global' | 'per-example';
}

/** Dice: DSC = (2 sum pt y + gamma) / (sum pt^e + sum y^e + gamma), pt = p (1 - p)^alpha, e = 2 for the square denominator. */
export function diceLossTfjs(
  scores: Float32Array,
  labels: Float32Array | Int32Array,
  { classes = 1, smooth = 1, alpha = 0, squareDenominator = false, mode = 'global' }: DiceTfjsOptions = {},
): TfjsRunner {
  const power = (t: tf.Tensor) => (squareDenominator ? t.square() : t);
  return overlapRunner(scores, labels, classes, mode, (p, y, sum) => {
    const pt = alpha === 0 ? p : p.mul(tf.sub(1, p).pow(alpha));
    const num = sum(pt.mul(y)).mul(2).add(smooth);
    return num.div(
      sum(power(pt))
        .add(sum(power(y)))
        .add(smooth),
    );
  });
}

export interface TverskyTfjsOptions {
  classes?: number;
  /** Weight of false positives. */
  alpha?: number;
  /** Weight of false negatives. */
  beta?: number;
  smooth?: number;
  mode?: 'global' | 'per-example';
}

/** Tversky: TI = (TP + gamma) / (TP + alpha FP + beta FN + gamma), TP = sum p y, FP = sum p (1 - y), FN = sum (1 - p) y. */
export function tverskyLossTfjs(
  scores: Float32Array,
  labels: Float32Array | Int32Array,
  { classes = 1, alpha = 0.5, beta = 0.5, smooth = 1, mode = 'global' }: TverskyTfjsOptions = {},
): TfjsRunner {
  return overlapRunner(scores, labels, classes, mode, (p, y, sum) => {
    const tp = sum(p.mul(y)),
      fp = sum(p.mul(tf.sub(1, y))),
      fn = sum(tf.sub(1, p).mul(y));
    return tp.add(smooth).div(tp.add(fp.mul(alpha)).add(fn.mul(beta)).add(smooth));
  });
}

/** Live tfjs tensors, to check a backend's runs leak none. */
export const liveTensors = (): number => tf.memory().numTensors;
