// SphericalHead's bench case: one training step at d = 256, m = 128 for C = 10^3 to 10^6, the
// factored head (O(m d^2), flat in C) against the same step done densely (O(m C d)): logits
// H W^T by a class-blocked product, the fused native softmax cross-entropy kernel, then one pass
// over W for dL/dH and the SGD update (binding/cpu/dense_head.cc). `npm run bench -- head`
// (the case name avoids "softmax", so `npm run bench -- softmax` does not run this slow case).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SphericalHead } from '../src';
import { nativeAddon } from '../src/native';
import { mulberry32 } from '../src/random';
import { logLogChartSvg } from './chart';
import { normals } from './timing';

export const HEAD_LOSS = 'SphericalHead step vs dense step';
export const HEAD_ROW = 'SphericalHead cpu';
export const DENSE_ROW = 'dense step cpu';
const DIM = 256,
  M = 128,
  LR = 0.05;
export const HEAD_CLASSES = [1e3, 1e4, 1e5, 1e6];
const sizeOf = (classes: number) => `C=${classes.toExponential(0)} d=${DIM} m=${M}`;

interface StepRunner {
  step(): unknown;
  result(): { loss: number; grad: Float32Array };
  dispose(): void;
}

type DenseStep = (...a: (Float32Array | Int32Array | number)[]) => number;

/** One Case per C (the shape bench/run.ts takes): the head and the dense step, each with its own data. */
export function headCases(threads: number, setThreads: (n: number) => void) {
  return HEAD_CLASSES.map((classes) => {
    const rand = mulberry32(classes);
    const hidden = normals(M * DIM, rand);
    const targets = Int32Array.from({ length: M }, () => Math.floor(rand() * classes));
    const dense = classes * M * DIM;
    return {
      loss: HEAD_LOSS,
      size: sizeOf(classes),
      backends: {
        [HEAD_ROW]: {
          reps: 30,
          warmup: 2,
          setup(): StepRunner {
            setThreads(threads);
            let head: SphericalHead | null = new SphericalHead({ classes, dim: DIM, seed: 1 });
            const out = new Float32Array(M * DIM);
            return {
              step: () => head!.step(hidden, targets, { lr: LR, out }),
              result: () => {
                const r = head!.step(hidden, targets, { lr: LR });
                return { loss: r.loss, grad: r.gradHidden };
              },
              dispose: () => (head = null),
            };
          },
        },
        [DENSE_ROW]: {
          reps: dense >= 1e10 ? 3 : 10,
          warmup: dense >= 1e10 ? 0 : 1,
          setup(): StepRunner {
            setThreads(threads);
            const step = (nativeAddon() as unknown as { denseSoftmaxStep: DenseStep }).denseSoftmaxStep;
            let W: Float32Array | null = normals(classes * DIM, rand);
            W.forEach((v, i) => (W![i] = v / 16));
            let logits: Float32Array | null = new Float32Array(M * classes);
            let grad: Float32Array | null = new Float32Array(M * classes);
            const gradHidden = new Float32Array(M * DIM);
            const call = () => step(hidden, targets, W!, LR, logits!, grad!, gradHidden);
            return {
              step: call,
              result: () => ({ loss: call(), grad: gradHidden.slice() }),
              dispose: () => (W = logits = grad = null),
            };
          },
        },
      },
    };
  });
}

interface TimedRow {
  loss: string;
  size: string;
  backend: string;
  medianMs: number;
}

/** The head's table (step time per C, speed-up) and its log-log chart, when its rows were run. */
export function headReport(rows: TimedRow[], dir: string): void {
  const mine = rows.filter((r) => r.loss === HEAD_LOSS);
  if (!mine.length) return;
  const at = (backend: string, c: number) => mine.find((r) => r.backend === backend && r.size === sizeOf(c));
  console.log(`\n${HEAD_LOSS}: one training step, d = ${DIM}, m = ${M} (median ms)`);
  console.log('  classes    head ms   dense ms   dense / head');
  const points = HEAD_CLASSES.map((c) => ({ c, head: at(HEAD_ROW, c), dense: at(DENSE_ROW, c) }));
  for (const { c, head, dense } of points) {
    if (!head || !dense) continue;
    console.log(
      `  ${c.toExponential(0).padEnd(8)} ${head.medianMs.toFixed(2).padStart(9)} ${dense.medianMs.toFixed(1).padStart(10)} ${(dense.medianMs / head.medianMs).toFixed(1).padStart(13)}x`,
    );
  }
  const series = [HEAD_ROW, DENSE_ROW].map((name) => ({
    name,
    points: points.flatMap(({ c, head, dense }) => {
      const r = name === HEAD_ROW ? head : dense;
      return r ? [{ x: c, y: r.medianMs }] : [];
    }),
  }));
  if (series.some((x) => x.points.length < 2)) {
    console.log('  no chart from one size (the quick run); `npm run bench -- head` runs them all');
    return;
  }
  const file = path.join(dir, 'spherical-head.svg');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    file,
    logLogChartSvg(series, `Training step time vs classes (d = ${DIM}, m = ${M})`, 'classes C', 'ms per step'),
  );
  console.log(`  chart: ${path.relative(process.cwd(), file)}`);
}
