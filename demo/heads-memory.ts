// Child process of demo/heads.ts: trains one contender (argv: fused | tfjs, the features file, the
// seed, the tfjs backend) for one epoch and sends its peak RSS less its RSS when training
// started, in MiB. A process of its own each, so that neither sees the other's peak.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { useTfjsBackend } from '../bench/tfjs-anyloss';
import { batches, contenders, FEATURES } from './heads';

async function main(): Promise<void> {
  const [which, file, seedArg, backend] = process.argv.slice(2);
  const seed = Number(seedArg);
  await useTfjsBackend(backend as 'cpu' | 'wasm');
  const x = new Float32Array(new Uint8Array(readFileSync(file)).buffer);
  const y = new Int32Array(new Uint8Array(readFileSync(`${file}.y`)).buffer);
  const c = contenders(seed);
  const step = which === 'fused' ? c.fused.step : c.tfjs.step;
  const rows = (r: Int32Array) => {
    const out = new Float32Array(r.length * FEATURES);
    r.forEach((i, k) => out.set(x.subarray(i * FEATURES, (i + 1) * FEATURES), k * FEATURES));
    return out;
  };
  // The process's peak RSS (maxRSS, KiB) after training, less its RSS when training starts.
  const before = process.memoryUsage().rss;
  for (const r of batches(y.length, seed, 1))
    await step(
      rows(r),
      Int32Array.from(r, (i) => y[i]),
    );
  const peakMiB = (process.resourceUsage().maxRSS * 1024 - before) / 2 ** 20;
  tf.disposeVariables();
  process.send!({ peakMiB });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
