// A head on frozen features: MNIST's 10,000 digits (the `mnist` package), 2x2-pooled and turned
// once into 256 random ReLU features by a fixed seeded projection (a network nobody trains), then
// a 10-class linear head trained on them two ways under the same seed, initial weights, optimiser
// (SGD with momentum 0.9) and batch order: fusedloss's LinearHead (fused linear cross-entropy,
// update in place) and a tfjs dense layer with softmax + categorical cross-entropy
// (model.trainOnBatch). Reports the held-out accuracy, the training time, the median time of a
// step (timed apart), and the peak memory growth of a training epoch, measured in a child process
// each (demo/heads-memory.ts).
import * as tf from '@tensorflow/tfjs';
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LinearHead } from '../src';
import { gaussian } from '../src/head-common';
import { mulberry32 } from '../src/random';
import { loadSplits, PIXELS, shuffle } from './mnist-data';

export const FEATURES = 256;
export const CLASSES = 10;
export const HEAD = { lr: 0.05, momentum: 0.9, batch: 128, epochs: 4 };

/** Features (rows x FEATURES, standardised with the training rows' statistics) and digits. */
export interface Features {
  train: { x: Float32Array; y: Int32Array };
  test: { x: Float32Array; y: Int32Array };
}

/** The 28 x 28 images averaged over 2 x 2 blocks: 196 values each. */
const POOLED = 14 * 14;
function pool(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * POOLED);
  for (let i = 0; i < n; i++)
    for (let r = 0; r < 28; r++)
      for (let c = 0; c < 28; c++) out[i * POOLED + (r >> 1) * 14 + (c >> 1)] += x[i * PIXELS + r * 28 + c] / 4;
  return out;
}

/** relu(pool(x) R) with R (196 x FEATURES) N(0, 1 / 196) from the seed, on the active tfjs backend. */
export function frozenFeatures(seed: number): Features {
  const s = loadSplits(0, seed);
  const R = tf.tensor2d(Float32Array.from(gaussian(POOLED * FEATURES, 1 / Math.sqrt(POOLED), seed + 1)), [
    POOLED,
    FEATURES,
  ]);
  const project = (x: Float32Array, n: number) =>
    tf.tidy(() => tf.relu(tf.matMul(tf.tensor2d(pool(x, n), [n, POOLED]), R)).dataSync() as Float32Array);
  const train = project(s.train.x, s.train.n),
    test = project(s.test.x, s.test.n);
  R.dispose();
  // Standardise each feature by the training rows' mean and std: a well-conditioned head.
  for (let j = 0; j < FEATURES; j++) {
    let m = 0,
      q = 0;
    for (let i = 0; i < s.train.n; i++) m += train[i * FEATURES + j];
    m /= s.train.n;
    for (let i = 0; i < s.train.n; i++) q += (train[i * FEATURES + j] - m) ** 2;
    const inv = 1 / Math.sqrt(q / s.train.n + 1e-6);
    for (const [x, n] of [
      [train, s.train.n],
      [test, s.test.n],
    ] as const)
      for (let i = 0; i < n; i++) x[i * FEATURES + j] = (x[i * FEATURES + j] - m) * inv;
  }
  return {
    train: { x: train, y: Int32Array.from(s.train.digit) },
    test: { x: test, y: Int32Array.from(s.test.digit) },
  };
}

/** The rows of each batch of an epoch, in the seeded order both contenders share. */
export function* batches(n: number, seed: number, epochs: number): Generator<Int32Array, void> {
  const rand = mulberry32(seed);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    shuffle(order, rand);
    for (let b = 0; b + HEAD.batch <= n; b += HEAD.batch) yield order.subarray(b, b + HEAD.batch);
  }
}

function gatherRows(x: Float32Array, rows: Int32Array, width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(x.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

/** The two contenders, each a step on a batch and a held-out scorer, from the same initial head. */
export function contenders(seed: number) {
  const fused = new LinearHead({
    classes: CLASSES,
    dim: FEATURES,
    seed,
    optimizer: 'sgd',
    lr: HEAD.lr,
    momentum: HEAD.momentum,
  });
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [FEATURES], units: CLASSES, activation: 'softmax' })],
  });
  model.compile({ optimizer: tf.train.momentum(HEAD.lr, HEAD.momentum), loss: 'categoricalCrossentropy' });
  model.layers[0].setWeights([tf.tensor2d(fused.weight, [CLASSES, FEATURES]).transpose(), tf.zeros([CLASSES])]);
  const accuracy = (predict: (x: Float32Array) => Float32Array, f: Features['test']) => {
    const z = predict(f.x);
    let right = 0;
    for (let i = 0; i < f.y.length; i++) {
      let best = 0;
      for (let c = 1; c < CLASSES; c++) if (z[i * CLASSES + c] > z[i * CLASSES + best]) best = c;
      right += best === f.y[i] ? 1 : 0;
    }
    return right / f.y.length;
  };
  return {
    fused: {
      step: (x: Float32Array, y: Int32Array) => fused.step(x, y).loss,
      accuracy: (f: Features['test']) => accuracy((x) => fused.logits(x), f),
    },
    tfjs: {
      step: async (x: Float32Array, y: Int32Array) => {
        const [xt, yt] = tf.tidy(() => [
          tf.tensor2d(x, [y.length, FEATURES]),
          tf.oneHot(tf.tensor1d(y, 'int32'), CLASSES, 1, 0, 'int32').cast('float32'),
        ]);
        const loss = (await model.trainOnBatch(xt, yt)) as number;
        tf.dispose([xt, yt]);
        return loss;
      },
      accuracy: (f: Features['test']) =>
        accuracy(
          (x) =>
            tf.tidy(
              () => (model.predict(tf.tensor2d(x, [f.y.length, FEATURES])) as tf.Tensor).dataSync() as Float32Array,
            ),
          f,
        ),
      dispose: () => model.dispose(),
    },
  };
}

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Peak RSS less the RSS at the start (MiB) of `which` training, in a child process (demo/heads-memory.ts). */
function childPeakMiB(which: 'fused' | 'tfjs', file: string, seed: number, backend: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'heads-memory.ts'), [which, file, String(seed), backend], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    child.once('message', (m) => resolve((m as { peakMiB: number }).peakMiB));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`heads-memory ${which} exited with ${code}`)));
  });
}

/** Trains both heads, prints the comparison; returns the accuracies (for the caller's checks). */
export async function headsDemo(seed: number, backend: string): Promise<{ fused: number; tfjs: number }> {
  const t0 = performance.now();
  const f = frozenFeatures(seed);
  const featureS = (performance.now() - t0) / 1000;
  const c = contenders(seed);
  const trainS = { fused: 0, tfjs: 0 };
  for (const rows of batches(f.train.y.length, seed, HEAD.epochs)) {
    const x = gatherRows(f.train.x, rows, FEATURES),
      y = Int32Array.from(rows, (r) => f.train.y[r]);
    let t = performance.now();
    c.fused.step(x, y);
    trainS.fused += (performance.now() - t) / 1000;
    t = performance.now();
    await c.tfjs.step(x, y);
    trainS.tfjs += (performance.now() - t) / 1000;
  }
  const acc = { fused: c.fused.accuracy(f.test), tfjs: c.tfjs.accuracy(f.test) };
  // Step times apart from training, each contender's steps back to back (interleaved, each found
  // the other's caches and threads cold): the median of 40 steps on the first batch, after 5.
  const first = batches(f.train.y.length, seed, 1).next().value as Int32Array;
  const bx = gatherRows(f.train.x, first, FEATURES),
    by = Int32Array.from(first, (r) => f.train.y[r]);
  const stepMs = async (step: (x: Float32Array, y: Int32Array) => unknown) => {
    const ms: number[] = [];
    for (let r = 0; r < 45; r++) {
      const t = performance.now();
      await step(bx, by);
      if (r >= 5) ms.push(performance.now() - t);
    }
    return median(ms);
  };
  const ms = { fused: await stepMs(c.fused.step), tfjs: await stepMs(c.tfjs.step) };
  c.tfjs.dispose();

  const dir = mkdtempSync(path.join(tmpdir(), 'fusedloss-heads-'));
  const file = path.join(dir, 'features.bin');
  writeFileSync(file, Buffer.from(f.train.x.buffer, f.train.x.byteOffset, f.train.x.byteLength));
  writeFileSync(`${file}.y`, Buffer.from(f.train.y.buffer));
  let peak: { fused: number; tfjs: number };
  try {
    peak = {
      fused: await childPeakMiB('fused', file, seed, backend),
      tfjs: await childPeakMiB('tfjs', file, seed, backend),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `Head on frozen features  [MNIST (mnist package), ${f.train.y.length} train / ${f.test.y.length} test, ` +
      `${FEATURES} random ReLU features of the 2x2-pooled images (${featureS.toFixed(1)} s), ${CLASSES} classes, ` +
      `SGD momentum ${HEAD.momentum}, lr ${HEAD.lr}, batch ${HEAD.batch}, ${HEAD.epochs} epochs, same initial weights and batch order]`,
  );
  const rows = [
    ['LinearHead (fused)', acc.fused, trainS.fused, ms.fused, peak.fused],
    [`tfjs dense + softmax CE ('${backend}')`, acc.tfjs, trainS.tfjs, ms.tfjs, peak.tfjs],
  ] as const;
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${'head'.padEnd(w)}  test accuracy  train s  step ms (median)  peak RSS growth MiB`);
  for (const [name, a, s, m, mib] of rows)
    console.log(
      `${name.padEnd(w)}  ${a.toFixed(4).padStart(13)}  ${s.toFixed(2).padStart(7)}  ${m.toFixed(3).padStart(16)}  ${mib.toFixed(1).padStart(19)}`,
    );
  console.log();
  return acc;
}
