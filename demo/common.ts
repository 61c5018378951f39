// What the showcase's four tasks share: the result they report, a seeded tfjs-layers model, and
// the timing of one loss step (forward + backward) with fusedloss and with the tfjs composition.
import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import type { LayersLoss } from '../src/tfjs';
import type { TfjsRunner } from '../bench/tfjs-anyloss';
import { mulberry32 } from '../src/random';
import { shuffle } from './mnist-data';

/** One trained contender: its held-out scores, and the held-out metric after every epoch. */
export interface Contender {
  loss: string;
  scores: Record<string, number>;
  curve: number[];
  trainS: number;
}

/** The time of one loss fwd+bwd at the training batch shape, fused op vs tfjs composition. */
export interface LossTiming {
  what: string;
  fusedMs: number;
  tfjsMs: number;
}

export interface TaskResult {
  task: string;
  data: string;
  /** The metric the curves show. */
  metric: string;
  contenders: Contender[];
  timing: LossTiming;
}

/** A dense network on flat inputs: hidden ReLU layers, then `out` linear units (logits). */
export function mlp(inputs: number, hidden: number[], out: number, seed: number): tf.Sequential {
  const model = tf.sequential();
  [...hidden, out].forEach((units, i) =>
    model.add(
      tf.layers.dense({
        units,
        inputShape: i === 0 ? [inputs] : undefined,
        activation: i < hidden.length ? 'relu' : 'linear',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
      }),
    ),
  );
  return model;
}

/** One task's training setup, the same for every loss it compares. */
export interface Training {
  /** A fresh model, initialised identically on every call. */
  model: () => tf.LayersModel;
  x: tf.Tensor;
  y: tf.Tensor;
  epochs: number;
  batchSize: number;
  lr: number;
  /** Seeds the batch order: each epoch the rows are shuffled by a generator seeded from it. */
  seed: number;
  /** Held-out scores of a trained model; `curve` names the one recorded after every epoch. */
  evaluate: (model: tf.LayersModel) => Record<string, number>;
  curve: string;
}

/**
 * Trains one model per loss (Adam, all else equal) and scores it; disposes x and y at the end.
 * The rows are shuffled here, by a seeded generator, and fit gets `shuffle: false`: tfjs's own
 * shuffle is unseeded, which moved held-out scores by 5 to 7 points between runs.
 */
export async function trainEach(contenders: Array<[string, LayersLoss]>, t: Training): Promise<Contender[]> {
  const out: Contender[] = [];
  for (const [name, loss] of contenders) {
    const model = t.model();
    const optimizer = tf.train.adam(t.lr);
    model.compile({ optimizer, loss });
    const curve: number[] = [];
    const t0 = performance.now();
    const rand = mulberry32(t.seed);
    const order = Int32Array.from({ length: t.x.shape[0] }, (_, i) => i);
    for (let epoch = 0; epoch < t.epochs; epoch++) {
      shuffle(order, rand);
      const [x, y] = tf.tidy(() => {
        const idx = tf.tensor1d(order, 'int32');
        return [tf.gather(t.x, idx), tf.gather(t.y, idx)];
      });
      await model.fit(x, y, { epochs: 1, batchSize: t.batchSize, shuffle: false, verbose: 0 });
      tf.dispose([x, y]);
      curve.push(t.evaluate(model)[t.curve]);
    }
    out.push({ loss: name, scores: t.evaluate(model), curve, trainS: since(t0) });
    model.dispose();
    optimizer.dispose(); // its moment estimates outlive the model
  }
  tf.dispose([t.x, t.y]);
  return out;
}

function medianMs(f: () => void, reps: number): number {
  f(); // warm-up: kernel registration, first allocation
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(reps / 2)];
}

/**
 * Median fwd+bwd of the fused op (tf.valueAndGrad through it, gradient read back) and of the
 * composition (its runner reads the loss back), on the active tfjs backend. Disposes yPred and
 * the runner.
 */
export function timeLoss(
  what: string,
  yPred: tf.Tensor,
  fused: (p: tf.Tensor) => tf.Scalar,
  composed: TfjsRunner,
  reps = 15,
): LossTiming {
  const vg = tf.valueAndGrad(fused);
  const fusedMs = medianMs(() => {
    tf.tidy(() => {
      const { value, grad } = vg(yPred);
      value.dataSync();
      grad.dataSync();
    });
  }, reps);
  const tfjsMs = medianMs(() => composed.step(), reps);
  composed.dispose();
  yPred.dispose();
  return { what, fusedMs, tfjsMs };
}

/** Seconds since t0 (performance.now()). */
export const since = (t0: number): number => (performance.now() - t0) / 1000;
