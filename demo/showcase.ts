// The fusedloss showcase: four tfjs-layers models trained on real data with fused losses, each
// against its usual baseline loss, then the time of one loss step with fusedloss and with the
// same loss composed from tfjs ops, then a LinearHead against a tfjs dense head on frozen features
// (demo/heads.ts). Prints the tables and writes demo/results/curves.svg.
//
// Run: npm run demo   (or, after `npm run build`: npx tsx demo/showcase.ts [--backend cpu|wasm] [--seed N])
// The seed fixes the data splits, the initial weights and the batch order: one seed prints the
// same scores on every run (the times move).
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { backends } from '../src';
import { useTfjsBackend } from '../bench/tfjs-anyloss';
import { binaryTask } from './binary';
import type { TaskResult } from './common';
import { curvesSvg } from './curves-chart';
import { embeddingTask } from './embedding';
import { headsDemo } from './heads';
import { multiClassTask } from './multiclass';
import { rankingTask } from './ranking';

function table(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf('--backend');
  const backend = (flag > 0 ? process.argv[flag + 1] : 'wasm') as 'cpu' | 'wasm';
  const seedFlag = process.argv.indexOf('--seed');
  const seed = seedFlag > 0 ? Number(process.argv[seedFlag + 1]) : 2024;
  await useTfjsBackend(backend);
  const b = backends();
  console.log(
    `fusedloss showcase: tfjs '${backend}' backend; fusedloss CPU ${b.cpu.available ? `(${b.cpu.threads} threads)` : 'unavailable'}; seed ${seed}\n`,
  );

  const t0 = performance.now();
  const results: TaskResult[] = [];
  for (const task of [binaryTask, multiClassTask, embeddingTask, rankingTask]) {
    const r = await task(seed);
    results.push(r);
    console.log(`${r.task}  [${r.data}]`);
    const keys = Object.keys(r.contenders[0].scores);
    console.log(
      table(
        ['loss', ...keys, 'train s'],
        r.contenders.map((c) => [c.loss, ...keys.map((k) => c.scores[k].toFixed(3)), c.trainS.toFixed(1)]),
      ) + '\n',
    );
  }

  console.log(`Time of one loss step (forward + backward, median), tfjs '${backend}' backend:`);
  console.log(
    table(
      ['loss step', 'fusedloss ms', 'tfjs ops ms', 'speed-up'],
      results.map(({ timing: t }) => [
        t.what,
        t.fusedMs.toFixed(3),
        t.tfjsMs.toFixed(3),
        `${(t.tfjsMs / t.fusedMs).toFixed(1)}x`,
      ]),
    ),
  );
  console.log();
  await headsDemo(seed, backend);
  const dir = path.join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'curves.svg'), await curvesSvg(results));
  console.log(
    `\nTraining curves: demo/results/curves.svg. Total ${((performance.now() - t0) / 1000).toFixed(0)} s; live tensors ${tf.memory().numTensors}.`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
