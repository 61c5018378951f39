// The fused losses for tfjs-layers: `model.compile({ loss: losses.anyLoss({ metric: 'f1' }) })`.
// Each factory returns `(yTrue, yPred) => Tensor` taking Keras' conventions: yPred is the model's
// output *logits* (no sigmoid or softmax on the last layer), and class targets may be one-hot rows
// (as for categoricalCrossentropy) or class ids of shape [B] or [B, 1]. model.fit insists on
// targets shaped like the output, so there class targets are one-hot rows, and the pair losses'
// labels are repeated across the embedding: `tf.tile(labels.reshape([-1, 1]), [1, D])` (column 0
// is read). Custom loops (optimizer.minimize) may pass ids of shape [B] or [B, 1] directly.
// The row losses return one value per sample, so `sampleWeight` keeps its meaning; the batch-level
// losses (AnyLoss, Dice, Tversky, the ranking and pair losses) return a scalar.
import { argMax, cast, reshape, slice, tidy, type Tensor } from '@tensorflow/tfjs-core';
import * as ops from './ops';
import { FUSED_LOSSES, type FusedLossName } from './table';

/** What `model.compile({ loss })` takes. */
export type LayersLoss = (yTrue: Tensor, yPred: Tensor) => Tensor;

const sameShape = (a: Tensor, b: Tensor): boolean => a.rank === b.rank && a.shape.every((d, i) => d === b.shape[i]);

/** Class ids from one-hot rows shaped like yPred, or from ids of shape [B] or [B, 1]. */
function classIds(yTrue: Tensor, yPred: Tensor): Tensor {
  if (yPred.rank >= 2 && yPred.shape[yPred.rank - 1] > 1 && sameShape(yTrue, yPred)) return argMax(yTrue, -1);
  return cast(reshape(yTrue, [-1]), 'int32');
}

/** Pair-loss labels from [N], [N, 1] or [N, D] (the label repeated across the embedding). */
function pairLabels(yTrue: Tensor, yPred: Tensor): Tensor {
  const ids = sameShape(yTrue, yPred) && yPred.rank === 2 ? slice(yTrue, [0, 0], [-1, 1]) : yTrue;
  return cast(reshape(ids, [-1]), 'int32');
}

/** yTrue in the form the op takes, for the loss's layout. */
function keras(name: FusedLossName, yTrue: Tensor, yPred: Tensor): Tensor {
  switch (FUSED_LOSSES[name].layout) {
    case 'confusion':
      return yPred.rank >= 2 && yPred.shape[yPred.rank - 1] > 1 ? classIds(yTrue, yPred) : reshape(yTrue, yPred.shape);
    case 'classes':
      return classIds(yTrue, yPred);
    case 'embeddings':
      return pairLabels(yTrue, yPred);
    default:
      return reshape(yTrue, yPred.shape);
  }
}

// Each factory takes the options of its op (ops.ts). The row losses (the registry's 'classes'
// layout: one loss per sample) default `reduction` to 'none', so tfjs-layers weights and averages
// the rows and `sampleWeight` keeps its meaning; the others return the batch's scalar.
type Op = (yTrue: Tensor, yPred: Tensor, options?: never) => Tensor;
type OptionsOf<F> = F extends (yTrue: Tensor, yPred: Tensor, options?: infer O) => Tensor ? O : never;

const layersLoss =
  <F extends Op>(name: FusedLossName, op: F) =>
  (options?: OptionsOf<F>): LayersLoss => {
    const perSample = FUSED_LOSSES[name].layout === 'classes';
    return (yTrue, yPred) =>
      tidy(() =>
        op(
          keras(name, yTrue, yPred),
          yPred,
          (perSample ? Object.assign({ reduction: 'none' }, options) : options) as never,
        ),
      );
  };

export const anyLoss = layersLoss('anyLoss', ops.anyLoss);
export const diceLoss = layersLoss('diceLoss', ops.diceLoss);
export const tverskyLoss = layersLoss('tverskyLoss', ops.tverskyLoss);
export const binaryCrossEntropy = layersLoss('binaryCrossEntropy', ops.binaryCrossEntropy);
export const sigmoidFocal = layersLoss('sigmoidFocal', ops.sigmoidFocal);
export const zLoss = layersLoss('zLoss', ops.zLoss);
export const sphericalLoss = layersLoss('sphericalLoss', ops.sphericalLoss);
export const softmaxCrossEntropy = layersLoss('softmaxCrossEntropy', ops.softmaxCrossEntropy);
export const rankList = layersLoss('rankList', ops.rankList);
export const listMLE = layersLoss('listMLE', ops.listMLE);
export const listNet = layersLoss('listNet', ops.listNet);
export const rankNet = layersLoss('rankNet', ops.rankNet);
export const lambdaLoss = layersLoss('lambdaLoss', ops.lambdaLoss);
export const pairwiseHinge = layersLoss('pairwiseHinge', ops.pairwiseHinge);
export const approxNDCG = layersLoss('approxNDCG', ops.approxNDCG);
export const neuralNDCG = layersLoss('neuralNDCG', ops.neuralNDCG);
export const multiSimilarity = layersLoss('multiSimilarity', ops.multiSimilarity);
export const contrastive = layersLoss('contrastive', ops.contrastive);
export const tripletBatchHard = layersLoss('tripletBatchHard', ops.tripletBatchHard);
export const circleLoss = layersLoss('circleLoss', ops.circleLoss);
export const supCon = layersLoss('supCon', ops.supCon);
export const ntXent = layersLoss('ntXent', ops.ntXent);
export const orthogonalProjection = layersLoss('orthogonalProjection', ops.orthogonalProjection);
