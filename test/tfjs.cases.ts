// One small case per fused loss for the TensorFlow.js tests: the raw arrays, the tensor shapes
// and options, and the direct call of the fused function the op must reproduce.
import * as fl from '../src';
import type { FusedLossName } from '../src/tfjs/table';
import { randomBinaryLabels, randomClassLabels, randomScores } from './helpers';

export interface TfjsCase {
  name: string;
  loss: FusedLossName;
  pred: Float32Array;
  predShape: number[];
  /** null for ntXent's two views. */
  truth: Float32Array | Int32Array | null;
  truthShape: number[];
  teacher?: Float32Array;
  options: Record<string, unknown>;
  /** The fused function on the same arrays: what the op must return. */
  direct(): { loss: number | Float32Array; grad: Float32Array };
}

const relevance = (n: number, seed: number) => Float32Array.from(randomClassLabels(n, 4, seed));

function build(): TfjsCase[] {
  const bin = randomScores(40, 1, 2);
  const binY = randomBinaryLabels(40, 2, 0.4);
  const multi = randomScores(30 * 4, 3, 2);
  const multiY = randomClassLabels(30, 4, 4);
  const logits = randomScores(16 * 10, 5, 3);
  const targets = randomClassLabels(16, 10, 6);
  const lists = randomScores(6 * 8, 7, 2);
  const rel = relevance(6 * 8, 8);
  const emb = randomScores(24 * 8, 9);
  const embY = randomClassLabels(24, 6, 10);
  const teacher = randomScores(12 * 6, 11, 2);
  const student = randomScores(12 * 6, 12, 2);
  const studentY = randomClassLabels(12, 6, 13);
  const elem = randomScores(8 * 5, 14, 2);
  const elemY = randomBinaryLabels(8 * 5, 15);
  const pairs = { a1: [0, 3, 3, 7], p: [5, 9, 9, 1], a2: [0, 2, 3, 20], n: [11, 4, 17, 6] };
  const triplets = {
    reduction: 'none' as const,
    triplets: { anchor: [0, 3, 3, 23], positive: [5, 9, 1, 2], negative: [11, 4, 17, 6] },
  };
  const c = (
    name: string,
    loss: FusedLossName,
    pred: Float32Array,
    predShape: number[],
    truth: Float32Array | Int32Array | null,
    truthShape: number[],
    options: Record<string, unknown>,
    direct: TfjsCase['direct'],
  ): TfjsCase => ({ name, loss, pred, predShape, truth, truthShape, options, direct });
  return [
    c('anyLoss binary f1', 'anyLoss', bin, [40, 1], binY, [40, 1], { metric: 'f1' }, () =>
      fl.anyLoss(bin, binY, { metric: 'f1' }),
    ),
    c('anyLoss macro mcc', 'anyLoss', multi, [30, 4], multiY, [30], { metric: 'mcc', average: 'macro' }, () =>
      fl.anyLoss(multi, multiY, { classes: 4, metric: 'mcc', average: 'macro' }),
    ),
    c('diceLoss binary', 'diceLoss', bin, [40], binY, [40], {}, () => fl.diceLoss(bin, binY)),
    c('tverskyLoss multi-class', 'tverskyLoss', multi, [30, 4], multiY, [30], { alpha: 0.3, beta: 0.7 }, () =>
      fl.tverskyLoss(multi, multiY, { classes: 4, alpha: 0.3, beta: 0.7 }),
    ),
    c('binaryCrossEntropy', 'binaryCrossEntropy', elem, [8, 5], elemY, [8, 5], { posWeight: 2 }, () =>
      fl.binaryCrossEntropy(elem, elemY, { posWeight: 2 }),
    ),
    c('sigmoidFocal', 'sigmoidFocal', bin, [40], binY, [40], { gamma: 2, alpha: 0.25 }, () =>
      fl.sigmoidFocal(bin, binY, { gamma: 2, alpha: 0.25 }),
    ),
    c('zLoss', 'zLoss', logits, [16, 10], targets, [16], {}, () => fl.zLoss(logits, targets, { classes: 10 })),
    c('zLoss per row', 'zLoss', logits, [16, 10], targets, [16], { reduction: 'none', a: 2 }, () =>
      fl.zLoss(logits, targets, { classes: 10, reduction: 'none', a: 2 }),
    ),
    c(
      'sphericalLoss log-taylor',
      'sphericalLoss',
      logits,
      [16, 10],
      targets,
      [16],
      { kind: 'log-taylor-softmax' },
      () => fl.sphericalLoss(logits, targets, { classes: 10, kind: 'log-taylor-softmax' }),
    ),
    c(
      'softmaxCrossEntropy smoothed',
      'softmaxCrossEntropy',
      logits,
      [16, 10],
      targets,
      [16],
      { labelSmoothing: 0.1 },
      () => fl.softmaxCrossEntropy(logits, targets, { classes: 10, labelSmoothing: 0.1 }),
    ),
    c(
      'softmaxCrossEntropy per row',
      'softmaxCrossEntropy',
      logits,
      [16, 10],
      targets,
      [16],
      { reduction: 'none' },
      () => fl.softmaxCrossEntropy(logits, targets, { classes: 10, reduction: 'none' }),
    ),
    c('rankList', 'rankList', lists, [6, 8], rel, [6, 8], {}, () => fl.rankList(lists, rel, { listSize: 8 })),
    c('listMLE', 'listMLE', lists, [6, 8], rel, [6, 8], {}, () => fl.listMLE(lists, rel, { listSize: 8 })),
    c('listNet', 'listNet', lists, [6, 8], rel, [6, 8], {}, () => fl.listNet(lists, rel, { listSize: 8 })),
    c('rankNet', 'rankNet', lists, [6, 8], rel, [6, 8], {}, () => fl.rankNet(lists, rel, { listSize: 8 })),
    c('lambdaLoss', 'lambdaLoss', lists, [6, 8], rel, [6, 8], {}, () => fl.lambdaLoss(lists, rel, { listSize: 8 })),
    c('pairwiseHinge', 'pairwiseHinge', lists, [6, 8], rel, [6, 8], {}, () =>
      fl.pairwiseHinge(lists, rel, { listSize: 8 }),
    ),
    c('approxNDCG', 'approxNDCG', lists, [6, 8], rel, [6, 8], {}, () => fl.approxNDCG(lists, rel, { listSize: 8 })),
    c('neuralNDCG', 'neuralNDCG', lists, [6, 8], rel, [6, 8], {}, () => fl.neuralNDCG(lists, rel, { listSize: 8 })),
    {
      ...c('plackettLuceDistill', 'plackettLuceDistill', student, [12, 6], studentY, [12], {}, () =>
        fl.plackettLuceDistill(student, teacher, studentY),
      ),
      teacher,
    },
    c('multiSimilarity', 'multiSimilarity', emb, [24, 8], embY, [24], {}, () =>
      fl.multiSimilarity(emb, embY, { dim: 8 }),
    ),
    c('contrastive', 'contrastive', emb, [24, 8], embY, [24], {}, () => fl.contrastive(emb, embY, { dim: 8 })),
    c('tripletBatchHard', 'tripletBatchHard', emb, [24, 8], embY, [24], {}, () =>
      fl.tripletBatchHard(emb, embY, { dim: 8 }),
    ),
    c('circleLoss', 'circleLoss', emb, [24, 8], embY, [24], {}, () => fl.circleLoss(emb, embY, { dim: 8 })),
    c('supCon', 'supCon', emb, [24, 8], embY, [24], {}, () => fl.supCon(emb, embY, { dim: 8 })),
    c('ntXent two views', 'ntXent', emb, [24, 8], null, [], {}, () => fl.ntXent(emb, null, { dim: 8 })),
    c('orthogonalProjection', 'orthogonalProjection', emb, [24, 8], embY, [24], {}, () =>
      fl.orthogonalProjection(emb, embY, { dim: 8 }),
    ),
    c('supCon per anchor', 'supCon', emb, [24, 8], embY, [24], { reduction: 'none' }, () =>
      fl.supCon(emb, embY, { dim: 8, reduction: 'none' }),
    ),
    // Given pairs and triplets (formulas E.8) pass through the op's options.
    c('contrastive given pairs', 'contrastive', emb, [24, 8], embY, [24], { pairs }, () =>
      fl.contrastive(emb, embY, { dim: 8, pairs }),
    ),
    c('tripletBatchHard given triplets per anchor', 'tripletBatchHard', emb, [24, 8], embY, [24], triplets, () =>
      fl.tripletBatchHard(emb, embY, { dim: 8, ...triplets }),
    ),
  ];
}

export const TFJS_CASES = build();
