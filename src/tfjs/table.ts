// Every public loss as TensorFlow.js sees it: the fused function to call on the raw arrays of
// (yTrue, yPred), how yPred's shape fills in the options the function needs (classes, listSize,
// dim), and whether yTrue holds values or class ids. The kernels, ops and layers losses are all
// built from this one table.
import { anyLoss, binaryCrossEntropy, diceLoss, sigmoidFocal, tverskyLoss } from '../losses/confusion';
import type { LossResult, RowLossResult } from '../losses/dispatch';
import {
  circleLoss,
  contrastive,
  multiSimilarity,
  ntXent,
  orthogonalProjection,
  supCon,
  tripletBatchHard,
} from '../losses/pairs';
import { lambdaLoss, listMLE, listNet, plackettLuceDistill, rankList, rankNet } from '../losses/ranking';
import { softmaxCrossEntropy, sphericalLoss, zLoss } from '../losses/spherical';

/**
 * How yPred's shape maps to the loss's layout:
 * - 'confusion': [B] or [B, 1] is binary (yTrue holds 0/1 or soft labels); [B, C] with C > 1 is
 *   multi-class (yTrue holds class ids) and sets `classes`.
 * - 'elementwise': any shape; yTrue holds one label per element.
 * - 'classes': [B, C] sets `classes`; yTrue holds B class ids.
 * - 'lists': [lists, n] sets `listSize` = n (unless `offsets` is given); yTrue holds relevance.
 * - 'embeddings': [N, D] sets `dim` = D; yTrue holds N class ids (ntXent: may be null).
 * - 'distill': [B, C] student logits with a teacher tensor of the same shape; yTrue holds B
 *   class ids.
 */
export type Layout = 'confusion' | 'elementwise' | 'classes' | 'lists' | 'embeddings' | 'distill';

type Truth = Float32Array | Int32Array;
type Options = Record<string, unknown>;

export interface FusedLoss {
  /** The kernel's name in the tfjs registry. */
  kernel: string;
  layout: Layout;
  /** May return one loss per row (options.reduction 'none'). */
  perRow: boolean;
  run(yPred: Float32Array, yTrue: Truth | null, options: Options, teacher?: Float32Array): LossResult | RowLossResult;
}

// The fused functions take their own option types; the table passes options checked by them.
type AnyFn = (pred: Float32Array, truth: never, options: never) => LossResult | RowLossResult;
const entry = (name: string, layout: Layout, fn: AnyFn, perRow = false): FusedLoss => ({
  kernel: `FusedLoss${name[0].toUpperCase()}${name.slice(1)}`,
  layout,
  perRow,
  run: (pred, truth, options) => fn(pred, truth as never, options as never),
});

export const FUSED_LOSSES = {
  anyLoss: entry('anyLoss', 'confusion', anyLoss),
  diceLoss: entry('diceLoss', 'confusion', diceLoss),
  tverskyLoss: entry('tverskyLoss', 'confusion', tverskyLoss),
  binaryCrossEntropy: entry('binaryCrossEntropy', 'elementwise', binaryCrossEntropy),
  sigmoidFocal: entry('sigmoidFocal', 'elementwise', sigmoidFocal),
  zLoss: entry('zLoss', 'classes', zLoss, true),
  sphericalLoss: entry('sphericalLoss', 'classes', sphericalLoss, true),
  softmaxCrossEntropy: entry('softmaxCrossEntropy', 'classes', softmaxCrossEntropy, true),
  rankList: entry('rankList', 'lists', rankList),
  listMLE: entry('listMLE', 'lists', listMLE),
  listNet: entry('listNet', 'lists', listNet),
  rankNet: entry('rankNet', 'lists', rankNet),
  lambdaLoss: entry('lambdaLoss', 'lists', lambdaLoss),
  plackettLuceDistill: {
    kernel: 'FusedLossPlackettLuceDistill',
    layout: 'distill',
    perRow: false,
    run: (student, labels, options, teacher) =>
      plackettLuceDistill(student, teacher as Float32Array, labels as Int32Array, options),
  } satisfies FusedLoss,
  multiSimilarity: entry('multiSimilarity', 'embeddings', multiSimilarity as AnyFn),
  contrastive: entry('contrastive', 'embeddings', contrastive),
  tripletBatchHard: entry('tripletBatchHard', 'embeddings', tripletBatchHard),
  circleLoss: entry('circleLoss', 'embeddings', circleLoss),
  supCon: entry('supCon', 'embeddings', supCon),
  ntXent: entry('ntXent', 'embeddings', ntXent),
  orthogonalProjection: entry('orthogonalProjection', 'embeddings', orthogonalProjection),
} as const;

export type FusedLossName = keyof typeof FUSED_LOSSES;
