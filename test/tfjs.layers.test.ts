// fusedloss/tfjs losses in tfjs-layers: model.fit lowers each loss over 20 epochs on 'cpu' and
// 'wasm', the tensor count is the same after step 2 and step 200, a saved model loads and
// re-compiles with the same loss, row losses give one value per sample, and a backend without
// in-place kernels gets the copying kernels with one warning.
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { losses, ops, type LayersLoss } from '../src/tfjs';
import { useTfjsBackend } from '../bench/tfjs-anyloss';
import { gradError, randomScores } from './helpers';
import { TFJS_CASES } from './tfjs.cases';

interface Task {
  name: string;
  loss: LayersLoss;
  x: () => tf.Tensor;
  y: () => tf.Tensor;
  units: number;
  batch: number;
}

// Inputs with a learnable signal: the class (or relevance) is a linear function of x.
const FEATURES = 8;
function data(rows: number, seed: number) {
  const x = randomScores(rows * FEATURES, seed);
  const cls = Int32Array.from(
    { length: rows },
    (_, r) => (x[r * FEATURES] > 0 ? 1 : 0) + (x[r * FEATURES + 1] > 0 ? 2 : 0),
  );
  return { x, cls };
}
const { x, cls } = data(256, 31);
const xs = () => tf.tensor2d(x, [256, FEATURES]);
const oneHot = (k: number) => tf.tidy(() => tf.oneHot(tf.tensor1d(cls, 'int32'), k, 1, 0, 'int32').cast('float32'));

const TASKS: Task[] = [
  {
    name: 'anyLoss f1',
    loss: losses.anyLoss({ metric: 'f1' }),
    x: xs,
    y: () =>
      tf.tensor2d(
        Float32Array.from(cls, (c) => (c === 3 ? 1 : 0)),
        [256, 1],
      ),
    units: 1,
    batch: 64,
  },
  {
    name: 'binaryCrossEntropy',
    loss: losses.binaryCrossEntropy(),
    x: xs,
    y: () =>
      tf.tensor2d(
        Float32Array.from(cls, (c) => c & 1),
        [256, 1],
      ),
    units: 1,
    batch: 64,
  },
  {
    name: 'softmaxCrossEntropy (one-hot)',
    loss: losses.softmaxCrossEntropy(),
    x: xs,
    y: () => oneHot(4),
    units: 4,
    batch: 32,
  },
  { name: 'zLoss', loss: losses.zLoss(), x: xs, y: () => oneHot(4), units: 4, batch: 32 },
  {
    // model.fit wants targets shaped like the output: the label repeated across the embedding.
    name: 'multiSimilarity',
    loss: losses.multiSimilarity(),
    x: xs,
    y: () => tf.tidy(() => tf.tile(tf.tensor2d(Float32Array.from(cls), [256, 1]), [1, 6])),
    units: 6,
    batch: 64,
  },
  {
    // A "list" per sample: 4 items whose relevance is the class one-hot, scored from x.
    name: 'listMLE',
    loss: losses.listMLE(),
    x: xs,
    y: () => oneHot(4),
    units: 4,
    batch: 32,
  },
];

// The other layers losses, each on the target form its family takes (see TASKS).
const binaryY = () =>
  tf.tensor2d(
    Float32Array.from(cls, (c) => (c === 3 ? 1 : 0)),
    [256, 1],
  );
const tiledY = () => tf.tidy(() => tf.tile(tf.tensor2d(Float32Array.from(cls), [256, 1]), [1, 6]));
const EVERY_OTHER: Task[] = [
  { name: 'diceLoss', loss: losses.diceLoss(), x: xs, y: binaryY, units: 1, batch: 64 },
  { name: 'tverskyLoss', loss: losses.tverskyLoss({ alpha: 0.3, beta: 0.7 }), x: xs, y: binaryY, units: 1, batch: 64 },
  { name: 'sigmoidFocal', loss: losses.sigmoidFocal(), x: xs, y: binaryY, units: 1, batch: 64 },
  {
    name: 'sphericalLoss',
    loss: losses.sphericalLoss({ kind: 'log-taylor-softmax' }),
    x: xs,
    y: () => oneHot(4),
    units: 4,
    batch: 32,
  },
  { name: 'rankList', loss: losses.rankList(), x: xs, y: () => oneHot(4), units: 4, batch: 32 },
  { name: 'listNet', loss: losses.listNet(), x: xs, y: () => oneHot(4), units: 4, batch: 32 },
  { name: 'rankNet', loss: losses.rankNet(), x: xs, y: () => oneHot(4), units: 4, batch: 32 },
  {
    name: 'lambdaLoss',
    loss: losses.lambdaLoss({ scheme: 'ndcgLoss2PP' }),
    x: xs,
    y: () => oneHot(4),
    units: 4,
    batch: 32,
  },
  { name: 'contrastive', loss: losses.contrastive(), x: xs, y: tiledY, units: 6, batch: 64 },
  {
    name: 'tripletBatchHard',
    loss: losses.tripletBatchHard({ softMargin: true }),
    x: xs,
    y: tiledY,
    units: 6,
    batch: 64,
  },
  { name: 'circleLoss', loss: losses.circleLoss(), x: xs, y: tiledY, units: 6, batch: 64 },
  { name: 'supCon', loss: losses.supCon(), x: xs, y: tiledY, units: 6, batch: 64 },
  { name: 'ntXent (labels)', loss: losses.ntXent(), x: xs, y: tiledY, units: 6, batch: 64 },
  { name: 'orthogonalProjection', loss: losses.orthogonalProjection(), x: xs, y: tiledY, units: 6, batch: 64 },
];

function model(units: number): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ units, inputShape: [FEATURES], kernelInitializer: tf.initializers.glorotUniform({ seed: 7 }) }),
    ],
  });
  return m;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tfjs-layers on '${backend}'`, () => {
    for (const t of TASKS) {
      it(`${t.name}: model.fit lowers the loss over 20 epochs`, async () => {
        await useTfjsBackend(backend);
        const m = model(t.units);
        m.compile({ optimizer: tf.train.adam(0.02), loss: t.loss });
        const [xt, yt] = [t.x(), t.y()];
        const h = await m.fit(xt, yt, { epochs: 20, batchSize: t.batch, shuffle: false, verbose: 0 });
        const curve = h.history.loss as number[];
        expect(curve.every(Number.isFinite)).toBe(true);
        expect(curve[19]).toBeLessThan(curve[0] * 0.9);
        tf.dispose([xt, yt]);
        m.dispose();
      });
    }

    it('train steps leak no tensors (count after step 2 = after step 200)', async () => {
      await useTfjsBackend(backend);
      for (const t of [TASKS[0], TASKS[2]]) {
        const m = model(t.units);
        m.compile({ optimizer: tf.train.sgd(0.01), loss: t.loss });
        const [xt, yt] = [tf.slice(t.x(), 0, t.batch), tf.slice(t.y(), 0, t.batch)];
        let after2 = 0;
        for (let step = 1; step <= 200; step++) {
          await m.trainOnBatch(xt, yt);
          if (step === 2) after2 = tf.memory().numTensors;
        }
        expect(tf.memory().numTensors).toBe(after2);
        tf.dispose([xt, yt]);
        m.dispose();
      }
    });
  });
}

describe("every other layers loss, on 'cpu'", () => {
  for (const t of EVERY_OTHER) {
    it(`${t.name}: model.fit lowers the loss over 20 epochs`, async () => {
      await useTfjsBackend('cpu');
      const m = model(t.units);
      m.compile({ optimizer: tf.train.adam(0.02), loss: t.loss });
      const [xt, yt] = [t.x(), t.y()];
      const h = await m.fit(xt, yt, { epochs: 20, batchSize: t.batch, shuffle: false, verbose: 0 });
      const curve = h.history.loss as number[];
      expect(curve.every(Number.isFinite)).toBe(true);
      expect(curve[19]).toBeLessThan(curve[0]);
      tf.dispose([xt, yt]);
      m.dispose();
    });
  }
});

describe('layers losses', () => {
  it('row losses return one value per sample (so sampleWeight applies), batch losses a scalar', async () => {
    await useTfjsBackend('cpu');
    const p = tf.tensor2d(randomScores(5 * 3, 41), [5, 3]);
    const y = tf.tensor2d([[0], [2], [1], [1], [0]]);
    expect(losses.softmaxCrossEntropy()(y, p).shape).toEqual([5]);
    expect(losses.softmaxCrossEntropy({ reduction: 'mean' })(y, p).shape).toEqual([]);
    expect(losses.anyLoss()(y, p).shape).toEqual([]);
    // One-hot rows and sparse ids give the same loss.
    const hot = tf.oneHot(tf.tensor1d([0, 2, 1, 1, 0], 'int32'), 3, 1, 0, 'int32').cast('float32');
    expect(losses.zLoss()(hot, p).dataSync()).toEqual(losses.zLoss()(y, p).dataSync());
    tf.dispose([p, y, hot]);
  });

  it('a saved model loads and re-compiles with the same one-liner, and evaluates the same', async () => {
    await useTfjsBackend('cpu');
    const m = model(4);
    const compile = (mm: tf.LayersModel) => mm.compile({ optimizer: 'adam', loss: losses.softmaxCrossEntropy() });
    compile(m);
    const [xt, yt] = [xs(), oneHot(4)];
    await m.fit(xt, yt, { epochs: 2, verbose: 0 });
    let saved: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(
        async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }),
      ),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    compile(loaded);
    const e1 = m.evaluate(xt, yt) as tf.Scalar;
    const e2 = loaded.evaluate(xt, yt) as tf.Scalar;
    expect(e2.dataSync()[0]).toBeCloseTo(e1.dataSync()[0], 6);
    tf.dispose([xt, yt, e1, e2]);
    m.dispose();
    loaded.dispose();
  });
});

describe('a backend without in-place kernels', () => {
  afterAll(() => useTfjsBackend('cpu'));
  it('gets the copying kernels, with the same results and one warning', async () => {
    tf.registerBackend('cpu-copy', () => new MathBackendCPU());
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'cpu-copy' });
    const warn = vi.spyOn(process, 'emitWarning');
    const c = TFJS_CASES.find((k) => k.name === 'softmaxCrossEntropy per row')!;
    const run = () => {
      const p = tf.tensor(c.pred, c.predShape);
      const y = tf.tensor(c.truth!, c.truthShape, 'int32');
      const out = tf.tidy(() => {
        const { value, grad } = tf.valueAndGrad((q: tf.Tensor) => ops.softmaxCrossEntropy(y, q).sum() as tf.Scalar)(p);
        return [value.dataSync()[0], grad.dataSync() as Float32Array] as const;
      });
      tf.dispose([p, y]);
      return out;
    };
    await useTfjsBackend('cpu');
    const inPlace = run();
    await tf.setBackend('cpu-copy');
    const copied = run();
    run();
    expect(copied[0]).toBe(inPlace[0]);
    expect(gradError(copied[1], inPlace[1])).toBe(0);
    const copies = warn.mock.calls.filter((a) => String(a[0]).includes("'cpu-copy' backend has no in-place"));
    expect(copies).toHaveLength(1);
    warn.mockRestore();
  });
});
