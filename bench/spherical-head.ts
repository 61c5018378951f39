// SphericalHead's bench case: one training step at d = 256, m = 128 for C = 10^3 to 10^6, the
// factored head (O(m d^2), flat in C) natively on 1 and all threads and on the wasm build, and the
// 'js' head (the dense float64 reference, to C = 10^4), against the same step done densely
// (O(m C d)): logits H W^T by a class-blocked product, the fused native softmax cross-entropy
// kernel, then one pass over W for dL/dH and the SGD update (binding/cpu/dense_head.cc).
// `npm run bench -- head` (the case name avoids "softmax", so `npm run bench -- softmax` does not
// run this slow case).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SphericalHead } from '../src';
import { nativeAddon } from '../src/native';
import { mulberry32 } from '../src/random';
import { logLogChartSvg } from './chart';
import { normals } from './timing';

export const HEAD_LOSS = 'SphericalHead step vs dense step';
export const DENSE_ROW = 'dense step cpu';
const DIM = 256,
  M = 128,
  LR = 0.05;
export const HEAD_CLASSES = [1e3, 1e4, 1e5, 1e6];
// The 'js' head is the dense float64 reference, O(m C d) a step: over a second from C = 10^4 up.
const JS_MAX_CLASSES = 1e4;
const sizeOf = (classes: number) => `C=${classes.toExponential(0)} d=${DIM} m=${M}`;

/** A fusedloss row of bench/run.ts (FUSED_ROWS): the head on this backend and thread count. */
export interface HeadRow {
  name: string;
  backend: 'cpu' | 'wasm' | 'js';
  threads: number;
}

interface StepRunner {
  step(): unknown;
  result(): { loss: number; grad: Float32Array };
  dispose(): void;
}

type DenseStep = (...a: (Float32Array | Int32Array | number)[]) => number;

/**
 * The head on `row`'s backend, from the seed's weights on every backend: 'cpu' and 'wasm' draw the
 * same W from a seed, and the 'js' head takes the cpu head's (it would draw others).
 */
function headOn(row: HeadRow, classes: number): SphericalHead {
  const options = { classes, dim: DIM, seed: 1 };
  if (row.backend !== 'js') return new SphericalHead({ ...options, backend: row.backend });
  const W = new SphericalHead({ ...options, backend: 'cpu' }).weights();
  return SphericalHead.fromWeights(W, { dim: DIM, backend: 'js' });
}

/**
 * One Case per C (the shape bench/run.ts takes): the head on each of `rows` (the 'js' one up to
 * C = 10^4) and the dense step, each with its own state. The dense step is another loss (softmax
 * cross-entropy): run.ts does not check it against the head.
 */
export function headCases(rows: HeadRow[], threads: number, setThreads: (n: number) => void) {
  return HEAD_CLASSES.map((classes) => {
    const rand = mulberry32(classes);
    const hidden = normals(M * DIM, rand);
    const targets = Int32Array.from({ length: M }, () => Math.floor(rand() * classes));
    const dense = classes * M * DIM;
    const heads = rows.filter((r) => r.backend !== 'js' || classes <= JS_MAX_CLASSES);
    return {
      loss: HEAD_LOSS,
      size: sizeOf(classes),
      backends: {
        ...Object.fromEntries(
          heads.map((row) => [
            row.name,
            {
              reps: row.backend === 'js' ? 3 : 30,
              warmup: row.backend === 'js' ? 0 : 2,
              setup(): StepRunner {
                setThreads(row.threads);
                let head: SphericalHead | null = headOn(row, classes);
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
          ]),
        ),
        [DENSE_ROW]: {
          reps: dense >= 1e10 ? 3 : 10,
          warmup: dense >= 1e10 ? 0 : 1,
          unchecked: true,
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

/**
 * The head's table (step time per C on each row, the dense step's, and the wasm head against the
 * 'js' one and the cpu ones) and its log-log chart, when its rows were run.
 */
export function headReport(rows: TimedRow[], heads: HeadRow[], dir: string): void {
  const mine = rows.filter((r) => r.loss === HEAD_LOSS);
  if (!mine.length) return;
  const at = (backend: string, c: number) => mine.find((r) => r.backend === backend && r.size === sizeOf(c));
  const names = [...heads.map((h) => h.name), DENSE_ROW];
  const wasm = heads.find((h) => h.backend === 'wasm')?.name;
  const against = heads.filter((h) => h.backend !== 'wasm').map((h) => h.name);
  const ms = (v: number) => v.toFixed(v < 100 ? 1 : 0);
  const times = (v: number) => (v >= 1 ? `${v.toFixed(v < 10 ? 1 : 0)}x faster` : `${(1 / v).toFixed(1)}x slower`);
  console.log(`\n${HEAD_LOSS}: one training step, d = ${DIM}, m = ${M} (median ms)`);
  console.log(`  ${['classes', ...names, ...(wasm ? against.map((n) => `wasm vs ${n}`) : [])].join(' | ')}`);
  for (const c of HEAD_CLASSES) {
    const cells = names.map((n) => at(n, c));
    if (cells.every((r) => !r)) continue;
    const w = wasm ? at(wasm, c) : undefined;
    const ratios = wasm
      ? against.map((n) => {
          const r = at(n, c);
          return r && w ? times(r.medianMs / w.medianMs) : '-';
        })
      : [];
    console.log(`  ${[c.toExponential(0), ...cells.map((r) => (r ? ms(r.medianMs) : '-')), ...ratios].join(' | ')}`);
  }
  const series = names
    .map((name) => ({
      name,
      points: HEAD_CLASSES.flatMap((c) => {
        const r = at(name, c);
        return r ? [{ x: c, y: r.medianMs }] : [];
      }),
    }))
    .filter((x) => x.points.length >= 2);
  if (!series.length) {
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
