// Metric learning: an embedding network trained on MNIST digits 0-5 with the Multi-Similarity
// loss (Wang et al., CVPR 2019) and with the contrastive loss, then tested on digits it never
// saw (6-9): Recall@1, the share of test images whose nearest other test image (cosine) shows
// the same digit.
import * as tf from '@tensorflow/tfjs';
import { losses, ops, type LayersLoss } from '../src/tfjs';
import { multiSimilarityTfjs } from '../bench/tfjs-pairs';
import { mlp, timeLoss, trainEach, type TaskResult } from './common';
import { PIXELS, loadSplits, type Dataset } from './mnist-data';
import { randomRows } from './random-rows';

const SEEN = 6; // digits 0..5 train, 6..9 test
const DIM = 32;
const EPOCHS = 6;
const BATCH = 256;

function subset(d: Dataset, keep: (digit: number) => boolean): Dataset {
  const rows = [...d.digit.keys()].filter((i) => keep(d.digit[i]));
  const x = new Float32Array(rows.length * PIXELS);
  rows.forEach((i, r) => x.set(d.x.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS));
  const digit = Uint8Array.from(rows, (i) => d.digit[i]);
  return { n: rows.length, x, digit, y: new Uint8Array(rows.length) };
}

function recallAt1(model: tf.LayersModel, test: Dataset): number {
  const e = tf.tidy(() => {
    const z = model.predict(tf.tensor2d(test.x, [test.n, PIXELS])) as tf.Tensor;
    const unit = z.div(z.norm('euclidean', 1, true).maximum(1e-12));
    return unit.matMul(unit, false, true).dataSync();
  });
  let hits = 0;
  for (let i = 0; i < test.n; i++) {
    let best = -1,
      bestSim = -Infinity;
    for (let j = 0; j < test.n; j++) {
      if (j !== i && e[i * test.n + j] > bestSim) {
        bestSim = e[i * test.n + j];
        best = j;
      }
    }
    if (test.digit[best] === test.digit[i]) hits++;
  }
  return hits / test.n;
}

export async function embeddingTask(seed: number): Promise<TaskResult> {
  const splits = loadSplits(0, seed);
  const train = subset(splits.train, (d) => d < SEEN);
  const test = subset(splits.test, (d) => d >= SEEN);
  const x = tf.tensor2d(train.x, [train.n, PIXELS]);
  // tfjs-layers wants targets shaped like the output: the digit repeated across the embedding.
  const y = tf.tidy(() => tf.tile(tf.tensor2d(Float32Array.from(train.digit), [train.n, 1]), [1, DIM]));
  const contenders: Array<[string, LayersLoss]> = [
    ['multiSimilarity', losses.multiSimilarity()],
    ['contrastive', losses.contrastive()],
  ];
  const out = await trainEach(contenders, {
    model: () => mlp(PIXELS, [128], DIM, seed),
    x,
    y,
    epochs: EPOCHS,
    seed,
    batchSize: BATCH,
    lr: 0.001,
    evaluate: (m) => ({ 'Recall@1': recallAt1(m, test) }),
    curve: 'Recall@1',
  });

  const emb = randomRows(BATCH * DIM, seed);
  const labels = Int32Array.from(train.digit.subarray(0, BATCH));
  const yT = tf.tensor1d(labels, 'int32');
  const timing = timeLoss(
    `multiSimilarity, ${BATCH} x ${DIM}`,
    tf.tensor2d(emb, [BATCH, DIM]),
    (p) => ops.multiSimilarity(yT, p) as tf.Scalar,
    multiSimilarityTfjs(emb, labels, DIM),
  );
  yT.dispose();
  return {
    task: `Metric learning: train on digits 0-${SEEN - 1}, test on ${SEEN}-9`,
    data: `MNIST, ${train.n} train / ${test.n} test images of unseen digits`,
    metric: 'Recall@1',
    contenders: out,
    timing,
  };
}
