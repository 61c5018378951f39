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

type Op = (y: tf.Tensor, x: tf.Tensor, p: tf.Tensor) => tf.Tensor;

// Each op beside its composition, with its cases.
const CASES: [string, Op, Op][] = [
  ['ops.proxyAnchor defaults', (y, x, p) => ops.proxyAnchor(y, x, p), (_, x, p) => composed(x, p, {})],
  [
    'ops.proxyAnchor sum, alpha 9, margin -0.2',
    (y, x, p) => ops.proxyAnchor(y, x, p, { reduction: 'sum', alpha: 9, margin: -0.2 }),
    (_, x, p) => composed(x, p, { reduction: 'sum', alpha: 9, margin: -0.2 }),
  ],
  ['ops.proxyNCA defaults', (y, x, p) => ops.proxyNCA(y, x, p), (_, x, p) => composedNca(x, p, {})],
  [
    'ops.proxyNCA sum, softmaxScale 9',
    (y, x, p) => ops.proxyNCA(y, x, p, { reduction: 'sum', softmaxScale: 9 }),
    (_, x, p) => composedNca(x, p, { reduction: 'sum', softmaxScale: 9 }),
  ],
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`the proxy ops on '${backend}'`, () => {
    afterAll(() => useTfjsBackend('cpu'));

    for (const [name, op, want] of CASES) {
      it(`${name}: value and gradients for embeddings and proxies equal tfjs autodiff`, async () => {
        await useTfjsBackend(backend);
        const x = tf.tensor2d(emb, [B, D]),
          p = tf.tensor2d(prox, [C, D]),
          y = tf.tensor1d(ids, 'int32');
        const before = tf.memory().numTensors;
        const got = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => op(y, a, b))([x, p]);
        const ref = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) => want(y, a, b))([x, p]);
        expect(relError(got.value.dataSync()[0], ref.value.dataSync()[0])).toBeLessThan(1e-4);
        for (let k = 0; k < 2; k++)
          expect(gradError(got.grads[k].dataSync(), ref.grads[k].dataSync())).toBeLessThan(1e-4);
        tf.dispose([got.value, ...got.grads, ref.value, ...ref.grads]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([x, p, y]);
      });
    }

    it("ops.proxyNCA refuses reduction 'none' (the op's loss is a scalar)", async () => {
      await useTfjsBackend(backend);
      const x = tf.tensor2d(emb, [B, D]),
        p = tf.tensor2d(prox, [C, D]),
        y = tf.tensor1d(ids, 'int32');
      expect(() => ops.proxyNCA(y, x, p, { reduction: 'none' } as never)).toThrow(/reduction 'none'/);
      tf.dispose([x, p, y]);
    });
  });
}
