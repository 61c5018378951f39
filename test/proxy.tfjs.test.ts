// ops.proxyAnchor and ops.proxyNCA on tfjs's 'cpu' and 'wasm' backends: the value and the
// gradients for the embeddings and the proxies equal tfjs autodiff of the dense compositions
// (normalise; cosines, masked exponentials, log1p; or squared distances, log-softmax) to 1e-4;
// nothing leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ops, type ProxyAnchorOpOptions, type ProxyNCAOpOptions } from '../src/tfjs';
import { oneHot, useTfjsBackend } from '../bench/tfjs-anyloss';
import { gradError, randomClassLabels, randomScores, relError } from './helpers';

const B = 24,
  D = 7,
  C = 13;
const emb = randomScores(B * D, 1, 1),
  prox = randomScores(C * D, 2, 1),
  ids = randomClassLabels(B, C, 4);

/** ProxyAnchor composed from tfjs ops (the B x C cosines in full), differentiated by tfjs. */
function composed(x: tf.Tensor, p: tf.Tensor, o: ProxyAnchorOpOptions): tf.Scalar {
  const alpha = o.alpha ?? 32,
    m = o.margin ?? 0.1;
  const unit = (v: tf.Tensor) => v.div(tf.maximum(tf.norm(v, 'euclidean', 1, true), 1e-12));
  const s = unit(x).matMul(unit(p), false, true);
  const pos = oneHot(ids, C);
  const neg = tf.onesLike(pos).sub(pos);
  const posTerm = tf.log1p(tf.exp(s.sub(m).mul(-alpha)).mul(pos).sum(0)).sum();
  const negTerm = tf.log1p(tf.exp(s.add(m).mul(alpha)).mul(neg).sum(0)).sum();
  if (o.reduction === 'sum') return posTerm.add(negTerm) as tf.Scalar;
  const withPos = new Set(ids).size;
  return posTerm.div(withPos).add(negTerm.div(C)) as tf.Scalar;
}

const CASES: [string, ProxyAnchorOpOptions][] = [
  ['defaults', {}],
  ['sum, alpha 9, margin -0.2', { reduction: 'sum', alpha: 9, margin: -0.2 }],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`ops.proxyAnchor on '${backend}'`, () => {
    afterAll(() => useTfjsBackend('cpu'));

    for (const [name, o] of CASES) {
      it(`${name}: value and gradients for embeddings and proxies equal tfjs autodiff`, async () => {
        await useTfjsBackend(backend);
        const x = tf.tensor2d(emb, [B, D]),
          p = tf.tensor2d(prox, [C, D]),
          y = tf.tensor1d(ids, 'int32');
        const before = tf.memory().numTensors;
        const fused = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => ops.proxyAnchor(y, a, b, o))([x, p]);
        const want = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => composed(a, b, o))([x, p]);
        expect(relError(fused.value.dataSync()[0], want.value.dataSync()[0])).toBeLessThan(1e-4);
        for (let k = 0; k < 2; k++)
          expect(gradError(fused.grads[k].dataSync(), want.grads[k].dataSync())).toBeLessThan(1e-4);
        tf.dispose([fused.value, ...fused.grads, want.value, ...want.grads]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, p, y]);
      });
    }
  });
}

/** ProxyNCA++ composed from tfjs ops (the B x C squared distances in full), differentiated by tfjs. */
function composedNca(x: tf.Tensor, p: tf.Tensor, o: ProxyNCAOpOptions): tf.Scalar {
  const unit = (v: tf.Tensor) => v.div(tf.maximum(tf.norm(v, 'euclidean', 1, true), 1e-12));
  const d2 = unit(x).expandDims(1).sub(unit(p).expandDims(0)).square().sum(2);
  const rows = tf
    .logSoftmax(d2.mul(-(o.softmaxScale ?? 1)))
    .mul(oneHot(ids, C))
    .sum(1)
    .neg();
  return (o.reduction === 'sum' ? rows.sum() : rows.mean()) as tf.Scalar;
}

const NCA_CASES: [string, ProxyNCAOpOptions][] = [
  ['defaults', {}],
  ['sum, softmaxScale 9', { reduction: 'sum', softmaxScale: 9 }],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`ops.proxyNCA on '${backend}'`, () => {
    afterAll(() => useTfjsBackend('cpu'));

    for (const [name, o] of NCA_CASES) {
      it(`${name}: value and gradients for embeddings and proxies equal tfjs autodiff`, async () => {
        await useTfjsBackend(backend);
        const x = tf.tensor2d(emb, [B, D]),
          p = tf.tensor2d(prox, [C, D]),
          y = tf.tensor1d(ids, 'int32');
        const before = tf.memory().numTensors;
        const fused = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => ops.proxyNCA(y, a, b, o))([x, p]);
        const want = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => composedNca(a, b, o))([x, p]);
        expect(relError(fused.value.dataSync()[0], want.value.dataSync()[0])).toBeLessThan(1e-4);
        for (let k = 0; k < 2; k++)
          expect(gradError(fused.grads[k].dataSync(), want.grads[k].dataSync())).toBeLessThan(1e-4);
        tf.dispose([fused.value, ...fused.grads, want.value, ...want.grads]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, p, y]);
      });
    }

    it("refuses reduction 'none' (the op's loss is a scalar)", async () => {
      await useTfjsBackend(backend);
      const x = tf.tensor2d(emb, [B, D]),
        p = tf.tensor2d(prox, [C, D]),
        y = tf.tensor1d(ids, 'int32');
      expect(() => ops.proxyNCA(y, x, p, { reduction: 'none' } as never)).toThrow(/reduction 'none'/);
      tf.dispose([x, p, y]);
    });
  });
}
