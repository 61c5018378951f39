// The factored SphericalHead (native CPU, or its WebAssembly build with FUSEDLOSS_TEST_BACKEND=wasm)
// against a naive dense SGD on the explicit W in float64 (formulas F.6): 50 steps at C = 500,
// d = 16, m = 8 agree on every loss, every dL/dH and the final W to 1e-4 relative, for Z-loss and
// squared error, with and without the formulas F.5 stabilisation in between (whose resets and
// unfactorisations are counted, so the test sees them happen).
import { describe, expect, it } from 'vitest';
import { SphericalHead, backends } from '../src';
import { DenseHead } from '../src/reference/spherical-head';
import { addonFor } from '../src/native';
import { gradError } from './helpers';
import { NATIVE } from './native-backend';
import { batches, followReference, type TrajectoryCase } from './spherical-head.fixtures';

const C = 500,
  D = 16,
  M = 8;
const TOL = 1e-4;
const noNative = !backends()[NATIVE].available;

// lr per loss: Z-loss is scale-invariant and its gradients are O(1 / (C sigma)); squared error's
// are O(1). Both runs move U well away from I (the squared-error one shrinks it by ~0.13).
const LR = { z: 2, mse: 0.02 } as const;

const CASES: (TrajectoryCase & { name: string; stabilises: boolean })[] = (['z', 'mse'] as const).flatMap((loss) => [
  { name: `${loss}`, loss, lr: LR[loss], weightDecay: 0, stabilizeEvery: 0, stabilises: false },
  {
    name: `${loss}, stabilised every 5`,
    loss,
    lr: LR[loss],
    weightDecay: 0,
    stabilizeEvery: 5,
    stabilises: loss === 'mse',
  },
  {
    name: `${loss}, weight decay, stabilised every 5`,
    loss,
    lr: LR[loss],
    weightDecay: 0.04 / LR[loss],
    stabilizeEvery: 5,
    stabilises: true,
  },
  {
    name: `${loss}, weight decay, every step stabilised, renormalized at 25`,
    loss,
    lr: LR[loss],
    weightDecay: 0.02 / LR[loss],
    stabilizeEvery: 1,
    renormalizeAt: 25,
    stabilises: true,
  },
]);

describe.skipIf(noNative)(
  `${NATIVE}: factored head vs dense float64 SGD (C = ${C}, d = ${D}, m = ${M}, 50 steps)`,
  () => {
    const data = batches(50, M, D, C, 11);
    for (const c of CASES) {
      it(c.name, () => {
        const t = followReference(c, data, C, D, NATIVE);
        expect(t.loss).toBeLessThan(TOL);
        expect(t.gradHidden).toBeLessThan(TOL);
        expect(t.weights).toBeLessThan(TOL);
        const s = t.head.stats;
        expect(s.steps).toBe(50);
        expect(s.stabilizations).toBe(c.stabilizeEvery ? 50 / c.stabilizeEvery : 0);
        if (c.stabilises) expect(s.resets + s.unfactorizations).toBeGreaterThan(0);
      });
    }
    it('the runs train: the mean loss over the last 10 steps is below that of the first 10', () => {
      const repeat = batches(5, M, D, C, 12);
      for (const loss of ['z', 'mse'] as const) {
        const head = new SphericalHead({ classes: C, dim: D, loss, backend: NATIVE });
        const losses = Array.from({ length: 50 }, (_, i) => {
          const b = repeat[i % 5];
          return head.step(b.hidden, b.targets, { lr: LR[loss] }).loss;
        });
        const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
        expect(mean(losses.slice(40))).toBeLessThan(mean(losses.slice(0, 10)));
      }
    });
  },
);

describe.skipIf(noNative)(`${NATIVE}: explicit form, scores and topK`, () => {
  const W = Float32Array.from({ length: 40 * 6 }, (_, i) => Math.sin(i * 0.7) + 0.1 * Math.cos(i));
  const hidden = Float32Array.from({ length: 3 * 6 }, (_, i) => Math.cos(i * 1.3));

  it('fromWeights(W).weights() returns W; weights survive renormalize', () => {
    const head = SphericalHead.fromWeights(W, { dim: 6, backend: NATIVE });
    expect(head.backend).toBe(NATIVE);
    expect(head.classes).toBe(40);
    expect(head.weights()).toEqual(W);
    const trained = SphericalHead.fromWeights(W, { dim: 6, loss: 'mse', stabilizeEvery: 0, backend: NATIVE });
    const t = new Int32Array([1, 5, 39]);
    for (let i = 0; i < 5; i++) trained.step(hidden, t, { lr: 0.05 });
    const before = trained.weights();
    trained.renormalize();
    expect(gradError(trained.weights(), before)).toBeLessThan(1e-6);
    expect(trained.stats.unfactorizations).toBe(1);
  });

  it('scores are W h, as the reference computes them, after training too', () => {
    const head = SphericalHead.fromWeights(W, { dim: 6, stabilizeEvery: 2, backend: NATIVE });
    for (let i = 0; i < 6; i++) head.step(hidden, [i, 2 * i, 3 * i], { lr: 0.5, weightDecay: 0.1 });
    const ref = new DenseHead({ classes: 40, dim: 6, loss: 'z', a: 1, b: 0 }, head.weights());
    expect(gradError(head.scores(hidden), ref.scores(hidden))).toBeLessThan(1e-6);
  });

  it('topK ranks the scores, best first, ties to the lower class; k = classes sorts every row', () => {
    const head = SphericalHead.fromWeights(W, { dim: 6, backend: NATIVE });
    const scores = head.scores(hidden);
    for (const k of [1, 5, 40]) {
      const top = head.topK(hidden, k);
      for (let j = 0; j < 3; j++) {
        const row = Array.from(scores.subarray(j * 40, (j + 1) * 40));
        const want = row.map((_, c) => c).sort((x, y) => row[y] - row[x] || x - y);
        expect(Array.from(top.classes.subarray(j * k, (j + 1) * k))).toEqual(want.slice(0, k));
        expect(Array.from(top.scores.subarray(j * k, (j + 1) * k))).toEqual(want.slice(0, k).map((c) => row[c]));
      }
    }
    const tied = SphericalHead.fromWeights(new Float32Array(10 * 2).fill(1), { dim: 2, backend: NATIVE });
    expect(Array.from(tied.topK([1, 1], 3).classes)).toEqual([0, 1, 2]);
  });

  it('topK over more classes than one chunk matches the scores', () => {
    const head = new SphericalHead({ classes: 5000, dim: 8, seed: 9, backend: NATIVE });
    const h = Float32Array.from({ length: 2 * 8 }, (_, i) => Math.sin(i + 1));
    const scores = head.scores(h);
    const top = head.topK(h, 7);
    for (let j = 0; j < 2; j++) {
      const row = Array.from(scores.subarray(j * 5000, (j + 1) * 5000));
      const want = row
        .map((_, c) => c)
        .sort((x, y) => row[y] - row[x] || x - y)
        .slice(0, 7);
      expect(Array.from(top.classes.subarray(j * 7, (j + 1) * 7))).toEqual(want);
    }
  });

  it("the 'js' backend (dense reference) takes the same steps", () => {
    const native = SphericalHead.fromWeights(W, { dim: 6, backend: NATIVE });
    const js = SphericalHead.fromWeights(W, { dim: 6, backend: 'js' });
    expect(js.backend).toBe('js');
    for (let i = 0; i < 4; i++) {
      const t = [i, i + 3, i + 7];
      const a = native.step(hidden, t, { lr: 1 });
      const b = js.step(hidden, t, { lr: 1 });
      expect(Math.abs(a.loss - b.loss) / b.loss).toBeLessThan(1e-6);
      expect(gradError(a.gradHidden, b.gradHidden)).toBeLessThan(1e-5);
    }
    expect(gradError(native.weights(), js.weights())).toBeLessThan(1e-5);
    expect(Array.from(native.topK(hidden, 4).classes)).toEqual(Array.from(js.topK(hidden, 4).classes));
    expect(js.stats.steps).toBe(4);
  });

  it('the same seed gives the same initial weights; another seed others', () => {
    const a = new SphericalHead({ classes: 30, dim: 4, seed: 5, backend: NATIVE }).weights();
    const b = new SphericalHead({ classes: 30, dim: 4, seed: 5, backend: NATIVE }).weights();
    const c = new SphericalHead({ classes: 30, dim: 4, seed: 6, backend: NATIVE }).weights();
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const std = Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    expect(std).toBeGreaterThan(0.35);
    expect(std).toBeLessThan(0.65); // init 1 / sqrt(4)
  });
});

describe.skipIf(noNative)(`${NATIVE}: the bench's dense baseline step (binding/cpu/dense_head.cc)`, () => {
  it('logits, softmax cross-entropy, dL/dH and the SGD update of W, against plain float64 loops', () => {
    const [m, d, classes, lr] = [3, 5, 600, 0.3];
    const hidden = Float32Array.from({ length: m * d }, (_, i) => Math.sin(i + 0.5));
    const W = Float32Array.from({ length: classes * d }, (_, i) => Math.cos(0.37 * i) / 2);
    const targets = new Int32Array([7, 599, 0]);
    const logits = new Float32Array(m * classes),
      grad = new Float32Array(m * classes),
      gradHidden = new Float32Array(m * d);
    const ref = new DenseHead({ classes, dim: d, loss: 'mse', a: 1, b: 0 }, W);
    const o = ref.scores(hidden);
    let loss = 0;
    const g = new Float64Array(m * classes);
    for (let j = 0; j < m; j++) {
      const row = o.subarray(j * classes, (j + 1) * classes);
      const max = row.reduce((a, v) => Math.max(a, v), -Infinity);
      const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
      loss += (max + Math.log(sum) - row[targets[j]]) / m;
      row.forEach((v, c) => (g[j * classes + c] = (Math.exp(v - max) / sum - (c === targets[j] ? 1 : 0)) / m));
    }
    const dH = new Float64Array(m * d),
      Wnew = Float64Array.from(W);
    for (let c = 0; c < classes; c++)
      for (let i = 0; i < d; i++)
        for (let j = 0; j < m; j++) {
          dH[j * d + i] += g[j * classes + c] * W[c * d + i];
          Wnew[c * d + i] -= lr * g[j * classes + c] * hidden[j * d + i];
        }
    const step = (addonFor(NATIVE) as unknown as { denseSoftmaxStep: (...a: unknown[]) => number }).denseSoftmaxStep;
    const got = step(hidden, targets, W, lr, logits, grad, gradHidden);
    expect(Math.abs(got - loss) / loss).toBeLessThan(1e-5);
    expect(gradError(logits, o)).toBeLessThan(1e-5);
    expect(gradError(grad, g)).toBeLessThan(1e-5);
    expect(gradError(gradHidden, dH)).toBeLessThan(1e-5);
    expect(gradError(W, Wnew)).toBeLessThan(1e-5);
  });
});
