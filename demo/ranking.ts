// Ranking: a small scoring network (shared across the items of a list) trained on real movie
// lists (movies.ts) with ListMLE (Xia et al., ICML 2008) and with RankList, all else equal.
// Held out: NDCG@10 on lists never trained on.
import * as tf from '@tensorflow/tfjs';
import { losses, ops, type LayersLoss } from '../src/tfjs';
import { listMLETfjs } from '../bench/tfjs-ranking';
import { timeLoss, trainEach, type TaskResult } from './common';
import { FEATURES, LIST, movieLists, ndcgAt, type Lists } from './movies';
import { randomRows } from './random-rows';

const EPOCHS = 30;
const BATCH = 16; // lists per step

/** Scores every item of every list with the same two dense layers: [lists, LIST, F] -> [lists, LIST]. */
function scorer(seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        units: 16,
        activation: 'relu',
        inputShape: [LIST, FEATURES],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      tf.layers.reshape({ targetShape: [LIST] }),
    ],
  });
}

function ndcg10(model: tf.LayersModel, d: Lists): number {
  const s = tf.tidy(() => (model.predict(tf.tensor3d(d.x, [d.lists, LIST, FEATURES])) as tf.Tensor).dataSync());
  return ndcgAt(10, s, d);
}

export async function rankingTask(seed: number): Promise<TaskResult> {
  const { train, test } = movieLists(seed);
  const x = tf.tensor3d(train.x, [train.lists, LIST, FEATURES]);
  const y = tf.tensor2d(train.relevance, [train.lists, LIST]);
  const contenders: Array<[string, LayersLoss]> = [
    ['listMLE', losses.listMLE()],
    ["rankList (form 'lse')", losses.rankList()],
  ];
  const out = await trainEach(contenders, {
    model: () => scorer(seed),
    x,
    y,
    epochs: EPOCHS,
    seed,
    batchSize: BATCH,
    lr: 0.005,
    evaluate: (m) => ({ 'NDCG@10': ndcg10(m, test) }),
    curve: 'NDCG@10',
  });

  // Timing on full lists with distinct relevance (the composition needs a strict order).
  const scores = randomRows(BATCH * LIST, seed);
  const order = new Int32Array(BATCH * LIST);
  const rel = new Float32Array(BATCH * LIST);
  for (let l = 0; l < BATCH; l++) {
    for (let i = 0; i < LIST; i++) {
      order[l * LIST + i] = i;
      rel[l * LIST + i] = LIST - i;
    }
  }
  const yT = tf.tensor2d(rel, [BATCH, LIST]);
  const timing = timeLoss(
    `listMLE, ${BATCH} lists x ${LIST}`,
    tf.tensor2d(scores, [BATCH, LIST]),
    (p) => ops.listMLE(yT, p) as tf.Scalar,
    listMLETfjs(scores, order, BATCH, LIST),
  );
  yT.dispose();
  return {
    task: 'Ranking: movies by IMDB rating',
    data: `vega-datasets movies, ${train.lists} train / ${test.lists} test lists of (genre, year), up to ${LIST} films each`,
    metric: 'NDCG@10',
    contenders: out,
    timing,
  };
}
