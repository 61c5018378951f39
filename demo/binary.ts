// Imbalanced binary: MNIST's digit 5 against the other nine (about 9% positives), a small
// tfjs-layers network trained with binary cross-entropy and with AnyLoss (F1 and MCC), all else
// equal. Held out: F1, precision and recall at logit > 0.
import * as tf from '@tensorflow/tfjs';
import { losses, ops, type LayersLoss } from '../src/tfjs';
import { anyLossF1Binary } from '../bench/tfjs-anyloss';
import { mlp, timeLoss, trainEach, type TaskResult } from './common';
import { PIXELS, loadSplits, type Dataset } from './mnist-data';
import { randomRows } from './random-rows';

const POSITIVE = 5;
const EPOCHS = 6;
const BATCH = 256; // AnyLoss is batch-global: a batch should hold a few dozen positives

function scores(model: tf.LayersModel, test: Dataset) {
  const logits = tf.tidy(() => (model.predict(tf.tensor2d(test.x, [test.n, PIXELS])) as tf.Tensor).dataSync());
  let tp = 0,
    fp = 0,
    fn = 0;
  test.y.forEach((y, i) => {
    const p = logits[i] > 0;
    if (p && y) tp++;
    else if (p) fp++;
    else if (y) fn++;
  });
  const precision = tp / Math.max(tp + fp, 1);
  const recall = tp / Math.max(tp + fn, 1);
  return { f1: (2 * tp) / Math.max(2 * tp + fp + fn, 1), precision, recall };
}

export async function binaryTask(seed: number): Promise<TaskResult> {
  const { train, test } = loadSplits(POSITIVE, seed);
  const x = tf.tensor2d(train.x, [train.n, PIXELS]);
  const y = tf.tensor2d(Float32Array.from(train.y), [train.n, 1]);
  const contenders: Array<[string, LayersLoss]> = [
    ['binaryCrossEntropy', losses.binaryCrossEntropy()],
    ["anyLoss 'f1'", losses.anyLoss({ metric: 'f1' })],
    ["anyLoss 'mcc'", losses.anyLoss({ metric: 'mcc' })],
  ];
  const out = await trainEach(contenders, {
    model: () => mlp(PIXELS, [32], 1, seed),
    x,
    y,
    epochs: EPOCHS,
    seed,
    batchSize: BATCH,
    lr: 0.002,
    evaluate: (m) => scores(m, test),
    curve: 'f1',
  });

  const batchX = randomRows(BATCH, seed);
  const batchY = Float32Array.from(train.y.subarray(0, BATCH));
  const yT = tf.tensor1d(batchY);
  const timing = timeLoss(
    `anyLoss f1, batch ${BATCH}`,
    tf.tensor1d(batchX),
    (p) => ops.anyLoss(yT, p, { metric: 'f1' }) as tf.Scalar,
    anyLossF1Binary(batchX, batchY),
  );
  yT.dispose();
  return {
    task: `Imbalanced binary: digit ${POSITIVE} vs rest`,
    data: `MNIST (mnist package), ${train.n} train / ${test.n} test, ${((100 * test.y.reduce((a, b) => a + b, 0)) / test.n).toFixed(1)}% positive`,
    metric: 'F1',
    contenders: out,
    timing,
  };
}
