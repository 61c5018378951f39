/* global fetch -- a browser page */
// Runs in headless Chromium (test/browser.test.ts), bundled by esbuild: one loss per family through the browser entry,
// 'fusedloss/wasm', as a bundler resolves it, then one fusedloss/tfjs op per family (value and gradient) on tfjs's
// 'cpu' and 'wasm' backends, and posts the results back to the test's server.
import { anyLoss, backends, initWasm, listMLEAsync, multiSimilarity, softmaxCrossEntropy } from 'fusedloss/wasm';
import { ops } from 'fusedloss/tfjs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

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
    tfjs: { cpu: await tfjsOps('cpu', i), wasm: await tfjsOps('wasm', i) },
  };
}

/**
 * One fusedloss/tfjs op per family on a tfjs backend: each op's value and tf.valueAndGrad gradient.
 * tfjs-backend-wasm fetches its own .wasm binaries (the test's server has them under /tfjs/).
 */
async function tfjsOps(backend, i) {
  if (backend === 'wasm') setWasmPaths('/tfjs/');
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend '${backend}' did not initialise`);
  const rows = (a, width) => tf.tensor2d(a, [a.length / width, width]);
  const run = (pred, truth, op) => {
    const { value, grad } = tf.valueAndGrad((p) => op(truth, p))(pred);
    return { loss: value.dataSync()[0], grad: Array.from(grad.dataSync()) };
  };
  return {
    backend: tf.getBackend(),
    anyLoss: run(tf.tensor1d(i.x), tf.tensor1d(i.y), (y, p) => ops.anyLoss(y, p, { metric: 'mcc' })),
    softmaxCrossEntropy: run(rows(i.logits, i.classes), tf.tensor1d(i.targets, 'int32'), ops.softmaxCrossEntropy),
    listMLE: run(rows(i.s, i.listSize), rows(i.rel, i.listSize), ops.listMLE),
    multiSimilarity: run(rows(i.e, i.dim), tf.tensor1d(i.ey, 'int32'), ops.multiSimilarity),
  };
}

main().then(
  (r) => fetch('/result', { method: 'POST', body: JSON.stringify(r) }),
  (e) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String(e.stack ?? e) }) }),
);
