/* global fetch -- a browser page */
// Runs in headless Chromium (test/browser.test.ts), bundled by esbuild: one loss per family through the browser entry,
// 'fusedloss/wasm', as a bundler resolves it, and posts the results back to the test's server.
import { anyLoss, backends, initWasm, listMLEAsync, multiSimilarity, softmaxCrossEntropy } from 'fusedloss/wasm';
import { ops } from 'fusedloss/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

const plain = (r) => ({ loss: r.loss, grad: Array.from(r.grad) });

async function main() {
  const before = backends().wasm;
  await initWasm('/fusedloss.wasm');
  const i = await (await fetch('/inputs.json')).json();
  const f32 = (a) => Float32Array.from(a);
  const i32 = (a) => Int32Array.from(a);
  return {
    before,
    backends: backends(),
    anyLoss: plain(anyLoss(f32(i.x), f32(i.y), { metric: 'mcc' })),
    softmaxCrossEntropy: plain(softmaxCrossEntropy(f32(i.logits), i32(i.targets), { classes: i.classes })),
    listMLE: plain(await listMLEAsync(f32(i.s), f32(i.rel), { listSize: i.listSize })),
    multiSimilarity: plain(multiSimilarity(f32(i.e), i32(i.ey), { dim: i.dim })),
    explicitWasm: plain(anyLoss(f32(i.x), f32(i.y), { metric: 'mcc', backend: 'wasm' })),
    tfjsCpu: await tfjsOp(i),
  };
}

/** A fusedloss/tfjs op on tfjs's 'cpu' backend: softmax cross-entropy's value and gradient. */
async function tfjsOp(i) {
  await tf.setBackend('cpu');
  const logits = tf.tensor2d(i.logits, [i.targets.length, i.classes]);
  const targets = tf.tensor1d(i.targets, 'int32');
  const { value, grad } = tf.valueAndGrad((p) => ops.softmaxCrossEntropy(targets, p))(logits);
  return { backend: tf.getBackend(), loss: value.dataSync()[0], grad: Array.from(grad.dataSync()) };
}

main().then(
  (r) => fetch('/result', { method: 'POST', body: JSON.stringify(r) }),
  (e) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(e.stack ?? e) }) }),
);
