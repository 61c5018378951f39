// Every fused loss as a TensorFlow.js op: `(yTrue, yPred, options) => loss tensor`, with the
// fused gradient attached, so it works inside tf.grad, tf.valueAndGrad and optimizer.minimize.
// The loss is a scalar, or one value per row for the row losses with reduction 'none'.
// The argument order is tfjs's (targets first, as tf.losses.* and model.compile losses take
// them), the reverse of the core functions' `(scores, labels)`; errors name yTrue and yPred.
import { engine, getBackend, Tensor } from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';
import type {
  AnyLossOptions,
  BinaryCrossEntropyOptions,
  DiceOptions,
  SigmoidFocalOptions,
  TverskyOptions,
} from '../losses/confusion';
import type {
  CircleLossOptions,
  ContrastiveOptions,
  MultiSimilarityOptions,
  NtXentOptions,
  OrthogonalProjectionOptions,
  SupConOptions,
  TripletBatchHardOptions,
} from '../losses/pairs';
import type {
  LambdaLossOptions,
  ListMLEOptions,
  ListNetOptions,
  PlackettLuceDistillOptions,
  RankListOptions,
  RankNetOptions,
  PairwiseHingeOptions,
  ApproxNDCGOptions,
} from '../losses/ranking';
import type { NeuralNDCGOptions } from '../losses/neural-ndcg';
import type { SoftmaxCrossEntropyOptions, SphericalLossOptions, ZLossOptions } from '../losses/spherical';
import { IN_PLACE_BACKENDS, registerFusedKernels, type FusedAttrs } from './kernels';
import { callLayout, type CallLayout } from './layout';
import { FUSED_LOSSES, type FusedLossName } from './table';

/** A loss's options as an op takes them: everything but `out` (tfjs owns the gradient's memory). */
export type OpOptions<O> = Omit<O, 'out'>;

const ready = new Set<string>();
let warned = false;

/** Registers the kernels for the active backend, warning once when it has to copy. */
function prepare(): void {
  const backend = getBackend();
  if (ready.has(backend)) return;
  const inPlace = (IN_PLACE_BACKENDS as readonly string[]).includes(backend);
  if (!inPlace && !warned) {
    warned = true;
    process.emitWarning(
      `fusedloss/tfjs: the '${backend}' backend has no in-place fused kernels; each loss call reads its ` +
        `inputs back to the CPU and uploads the loss and gradient. Use the 'cpu' or 'wasm' backend to avoid the copies.`,
      { code: 'FUSEDLOSS_TFJS_COPIES' },
    );
  }
  registerFusedKernels(inPlace ? [] : [backend]);
  ready.add(backend);
}

function checkTensor(op: string, name: string, t: unknown, float: boolean): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${op}: ${name} must be a tf.Tensor`);
  if (float && t.dtype !== 'float32') {
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${op}: ${name} must be a float32 tensor, got ${t.dtype}`);
  }
}

const shapeOf = (t: Tensor): string => `[${t.shape.join(', ')}]`;

/**
 * Checks that yTrue's size fits yPred before the call, so the message names the op's arguments
 * and shapes: class ids need one per row (a one-hot yTrue is refused with a hint: the ops take
 * ids; the layers losses convert one-hot rows), labels and relevance one per element.
 */
function checkTruth(op: string, yTrue: Tensor, yPred: Tensor, layout: CallLayout): void {
  if (layout.options.offsets !== undefined) return; // ragged lists: the core call checks offsets
  if (!layout.classIds) {
    if (yTrue.size === yPred.size) return;
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${op}: yTrue has shape ${shapeOf(yTrue)} and yPred ${shapeOf(yPred)}; yTrue needs one label per element of ` +
        `yPred (the argument order is (yTrue, yPred))`,
    );
  }
  const width = (layout.options.classes ?? layout.options.dim ?? yPred.shape[yPred.rank - 1]) as number;
  const rows = yPred.size / width;
  if (yTrue.size === rows) return;
  const oneHot = yTrue.size === yPred.size && yTrue.rank >= 2;
  throw rangeError(
    'ERR_FUSEDLOSS_LENGTH_MISMATCH',
    `${op}: yTrue has shape ${shapeOf(yTrue)}, yPred ${shapeOf(yPred)}; yTrue must hold one class id per row of ` +
      `yPred, shape [${rows}]` +
      (oneHot
        ? `. It looks one-hot: pass class ids, tf.argMax(yTrue, -1) (the losses.* forms for model.fit convert one-hot rows)`
        : ' (the argument order is (yTrue, yPred))'),
  );
}

function runFused(
  name: FusedLossName,
  yTrue: Tensor | null,
  yPred: Tensor,
  options: object | undefined,
  teacher?: Tensor,
): Tensor {
  const op = `ops.${name}`;
  checkTensor(op, 'yPred', yPred, true);
  if (yTrue !== null || name !== 'ntXent') checkTensor(op, 'yTrue', yTrue, false);
  if (teacher !== undefined) checkTensor(op, 'teacherLogits', teacher, true);
  if (options && 'out' in options) {
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${op}: options.out is not supported; tfjs owns the gradient`);
  }
  const loss = FUSED_LOSSES[name];
  const attrs: FusedAttrs = { op, layout: callLayout(op, loss, yPred.shape, options as Record<string, unknown>) };
  if (yTrue !== null) checkTruth(op, yTrue, yPred, attrs.layout);
  prepare();
  const inputs = { yPred, ...(yTrue ? { yTrue } : {}), ...(teacher ? { teacher } : {}) };
  const [value, grad] = engine().runKernel(loss.kernel, inputs, attrs as never) as Tensor[];
  grad.dispose(); // under a gradient tape the engine keeps its own copy for the backward pass
  return value;
}

const op =
  <O>(name: FusedLossName) =>
  (yTrue: Tensor, yPred: Tensor, options?: OpOptions<O>): Tensor =>
    runFused(name, yTrue, yPred, options);

/**
 * AnyLoss as an op: `anyLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `anyLoss` takes them second, after the scores). yPred logits [B] / [B, 1] (binary) or [B, C]
 * (yTrue class ids).
 */
export const anyLoss = op<AnyLossOptions>('anyLoss');
/**
 * Dice loss as an op: `diceLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `diceLoss` takes them second, after the scores). yPred logits as for anyLoss.
 */
export const diceLoss = op<DiceOptions>('diceLoss');
/**
 * Tversky loss as an op: `tverskyLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `tverskyLoss` takes them second, after the scores). yPred logits as for anyLoss.
 */
export const tverskyLoss = op<TverskyOptions>('tverskyLoss');
/**
 * Binary cross-entropy on logits as an op: `binaryCrossEntropy(yTrue, yPred, options?)`, targets
 * first as in tfjs (the core `binaryCrossEntropy` takes them second, after the scores). yPred any
 * shape, yTrue one label per element.
 */
export const binaryCrossEntropy = op<BinaryCrossEntropyOptions>('binaryCrossEntropy');
/**
 * Sigmoid focal loss on logits as an op: `sigmoidFocal(yTrue, yPred, options?)`, targets first as
 * in tfjs (the core `sigmoidFocal` takes them second, after the scores). yPred any shape, yTrue one
 * label per element.
 */
export const sigmoidFocal = op<SigmoidFocalOptions>('sigmoidFocal');
/**
 * Z-loss as an op: `zLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core `zLoss`
 * takes them second, after the scores). yPred logits [B, C], yTrue B class ids; per-row losses
 * with reduction 'none'.
 */
export const zLoss = op<ZLossOptions>('zLoss');
/**
 * The spherical losses as an op: `sphericalLoss(yTrue, yPred, options?)`, targets first as in tfjs
 * (the core `sphericalLoss` takes them second, after the scores). yPred logits [B, C], yTrue B
 * class ids.
 */
export const sphericalLoss = op<SphericalLossOptions>('sphericalLoss');
/**
 * Softmax cross-entropy as an op: `softmaxCrossEntropy(yTrue, yPred, options?)`, targets first as
 * in tfjs (the core `softmaxCrossEntropy` takes them second, after the scores). yPred logits [B,
 * C], yTrue B class ids.
 */
export const softmaxCrossEntropy = op<SoftmaxCrossEntropyOptions>('softmaxCrossEntropy');
/**
 * RankList as an op: `rankList(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `rankList` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const rankList = op<RankListOptions>('rankList');
/**
 * ListMLE as an op: `listMLE(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `listMLE` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const listMLE = op<ListMLEOptions>('listMLE');
/**
 * ListNet as an op: `listNet(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `listNet` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const listNet = op<ListNetOptions>('listNet');
/**
 * RankNet as an op: `rankNet(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `rankNet` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const rankNet = op<RankNetOptions>('rankNet');
/**
 * LambdaLoss as an op: `lambdaLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `lambdaLoss` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const lambdaLoss = op<LambdaLossOptions>('lambdaLoss');
/**
 * The pairwise hinge as an op: `pairwiseHinge(yTrue, yPred, options?)`, targets first as in tfjs
 * (the core `pairwiseHinge` takes them second, after the scores). yPred scores [lists, n] (or flat
 * with options.offsets), yTrue relevance alike.
 */
export const pairwiseHinge = op<PairwiseHingeOptions>('pairwiseHinge');
/**
 * ApproxNDCG as an op: `approxNDCG(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `approxNDCG` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const approxNDCG = op<ApproxNDCGOptions>('approxNDCG');
/**
 * NeuralNDCG as an op: `neuralNDCG(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `neuralNDCG` takes them second, after the scores). yPred scores [lists, n] (or flat with
 * options.offsets), yTrue relevance alike.
 */
export const neuralNDCG = op<NeuralNDCGOptions>('neuralNDCG');
/**
 * Multi-Similarity as an op: `multiSimilarity(yTrue, yPred, options?)`, targets first as in tfjs
 * (the core `multiSimilarity` takes them second, after the scores). yPred embeddings [N, D], yTrue
 * N class ids (no cross-batch reference here).
 */
export const multiSimilarity = op<Omit<MultiSimilarityOptions, 'reference' | 'referenceLabels'>>('multiSimilarity');
/**
 * Contrastive loss as an op: `contrastive(yTrue, yPred, options?)`, targets first as in tfjs (the
 * core `contrastive` takes them second, after the scores). yPred embeddings [N, D], yTrue N class
 * ids.
 */
export const contrastive = op<ContrastiveOptions>('contrastive');
/**
 * Batch-hard triplet loss as an op: `tripletBatchHard(yTrue, yPred, options?)`, targets first as
 * in tfjs (the core `tripletBatchHard` takes them second, after the scores). yPred embeddings [N,
 * D], yTrue N class ids.
 */
export const tripletBatchHard = op<TripletBatchHardOptions>('tripletBatchHard');
/**
 * Circle loss as an op: `circleLoss(yTrue, yPred, options?)`, targets first as in tfjs (the core
 * `circleLoss` takes them second, after the scores). yPred embeddings [N, D], yTrue N class ids.
 */
export const circleLoss = op<CircleLossOptions>('circleLoss');
/**
 * SupCon as an op: `supCon(yTrue, yPred, options?)`, targets first as in tfjs (the core `supCon`
 * takes them second, after the scores). yPred embeddings [N, D], yTrue N class ids.
 */
export const supCon = op<SupConOptions>('supCon');
/**
 * Orthogonal projection loss as an op: `orthogonalProjection(yTrue, yPred, options?)`, targets
 * first as in tfjs (the core `orthogonalProjection` takes them second, after the scores).
 * yPred embeddings [N, D], yTrue N class ids.
 */
export const orthogonalProjection = op<OrthogonalProjectionOptions>('orthogonalProjection');

/**
 * NT-Xent as an op, `(yTrue, yPred, options?)` as the others (targets first): yPred embeddings
 * [N, D] (rows i and i + N/2 are the two views), yTrue null or N ids.
 *
 * @example
 * const views = tf.concat([encoder.apply(a), encoder.apply(b)]); // 2B x D
 * const loss = ops.ntXent(null, views, { temperature: 0.1 });
 */
export function ntXent(yTrue: Tensor | null, yPred: Tensor, options?: OpOptions<NtXentOptions>): Tensor {
  return runFused('ntXent', yTrue, yPred, options);
}

/**
 * Plackett-Luce distillation as an op, targets first as the other ops: yTrue B class ids, then
 * student and teacher logits [B, C]; the gradient flows to the student only.
 *
 * @example
 * const loss = ops.plackettLuceDistill(labels, student.apply(x), teacherLogits, { tau: 4 });
 */
export function plackettLuceDistill(
  yTrue: Tensor,
  studentLogits: Tensor,
  teacherLogits: Tensor,
  options?: OpOptions<PlackettLuceDistillOptions>,
): Tensor {
  return runFused('plackettLuceDistill', yTrue, studentLogits, options, teacherLogits);
}

export { linearCrossEntropy } from './linear';
export type { LinearOpOptions } from './linear';
export { proxyAnchor, proxyNCA } from './proxies';
export type { ProxyAnchorOpOptions, ProxyNCAOpOptions } from './proxies';
