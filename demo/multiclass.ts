// Multi-class: the ten MNIST digits, the same network trained with softmax cross-entropy and with
// the Z-loss (de Brebisson and Vincent, 2016), all else equal. Held out: accuracy and top-5.
import * as tf from '@tensorflow/tfjs';
import { losses, ops, type LayersLoss } from '../src/tfjs';
import { softmaxCrossEntropyTfjs } from '../bench/tfjs-spherical';
import { mlp, timeLoss, trainEach, type TaskResult } from './common';
import { PIXELS, loadSplits, type Dataset } from './mnist-data';
import { randomRows } from './random-rows';

const EPOCHS = 6;
const BATCH = 128;

function scores(model: tf.LayersModel, test: Dataset) {
  const logits = tf.tidy(() => (model.predict(tf.tensor2d(test.x, [test.n, PIXELS])) as tf.Tensor).dataSync());
  let top1 = 0,
    top5 = 0;
  for (let i = 0; i < test.n; i++) {
    const row = logits.subarray(i * 10, i * 10 + 10);
    const above = row.filter((v) => v > row[test.digit[i]]).length; // rank of the true digit
    if (above === 0) top1++;
    if (above < 5) top5++;
  }
  return { accuracy: top1 / test.n, 'top-5': top5 / test.n };
}

export async function multiClassTask(seed: number): Promise<TaskResult> {
  const { train, test } = loadSplits(0, seed);
  const x = tf.tensor2d(train.x, [train.n, PIXELS]);
  // tfjs-layers wants targets shaped like the output: one-hot rows (built as int32, then cast).
  const y = tf.tidy(() =>
    tf.oneHot(tf.tensor1d(Int32Array.from(train.digit), 'int32'), 10, 1, 0, 'int32').cast('float32'),
  );
  const contenders: Array<[string, LayersLoss]> = [
    ['softmaxCrossEntropy', losses.softmaxCrossEntropy()],
    ['zLoss (a = 1, b = 0)', losses.zLoss()],
  ];
  const out = await trainEach(contenders, {
    model: () => mlp(PIXELS, [64], 10, seed),
    x,
    y,
    epochs: EPOCHS,
    seed,
    batchSize: BATCH,
    lr: 0.002,
    evaluate: (m) => scores(m, test),
    curve: 'accuracy',
  });

  const logits = randomRows(BATCH * 10, seed);
  const targets = Int32Array.from(train.digit.subarray(0, BATCH));
  const yT = tf.tensor1d(targets, 'int32');
  const timing = timeLoss(
    `softmax CE, ${BATCH} x 10`,
    tf.tensor2d(logits, [BATCH, 10]),
    (p) => ops.softmaxCrossEntropy(yT, p) as tf.Scalar,
    softmaxCrossEntropyTfjs(logits, targets, 10),
  );
  yT.dispose();
  return {
    task: 'Multi-class: ten digits',
    data: `MNIST, ${train.n} train / ${test.n} test`,
    metric: 'accuracy',
    contenders: out,
    timing,
  };
}
