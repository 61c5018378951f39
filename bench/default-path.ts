// The default call (no options.out: a fresh gradient every call) against the call with a reused
// `out`, as a training loop makes them: many calls in a row, each result dropped before the next.
// Prints the median and p90 of each, and where the default call's extra time goes: V8's garbage
// collections (count and time, from perf_hooks) and the process's page faults (getrusage).
//
// Run: npx tsx bench/default-path.ts [words...]   (cases whose name has a word; `valueandgrad` for
// tfjs training steps). FUSEDLOSS_BENCH_CALLS (default 200) calls a path; FUSEDLOSS_THREADS the CPU
// threads; FUSEDLOSS_MALLOC_TUNING=0 measures without the malloc tuning.
import * as os from 'node:os';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { anyLoss, listMLE, multiSimilarity, setThreads, softmaxCrossEntropy, zLoss } from '../src';
import { ops } from '../src/tfjs';
import { mulberry32 } from '../src/random';
import { normals } from './timing';

const CALLS = Number(process.env.FUSEDLOSS_BENCH_CALLS ?? 200);
const rand = mulberry32(7);

/** `out`: the call with a reused gradient buffer; `fresh`: the call that gets a new one. */
interface Case {
  name: string;
  out(): unknown;
  fresh(): unknown;
}

/** A core loss, called with a reused `out` and without. */
function core(name: string, length: number, call: (out?: Float32Array) => { grad: Float32Array }): Case {
  const out = new Float32Array(length);
  return { name, out: () => call(out), fresh: () => call().grad };
}

/**
 * The tfjs op on tfjs's 'cpu' backend, whose kernel hands tfjs a new gradient every call, against
 * the core loss with a reused `out`: the op's forward (the fused kernel) and, separately, a whole
 * training step's gradient (tf.valueAndGrad: the backward's dy * grad is tfjs's own multiply).
 */
function tfjsCases(rows: number, classes: number, x: Float32Array, t: Int32Array): Case[] {
  const out = new Float32Array(x.length);
  const yPred = tf.tensor2d(x, [rows, classes]);
  const yTrue = tf.tensor1d(t, 'int32');
  const valueAndGrad = tf.valueAndGrad((p: tf.Tensor) => ops.softmaxCrossEntropy(yTrue, p) as tf.Scalar);
  const native = () => softmaxCrossEntropy(x, t, { backend: 'cpu', out });
  const size = `${rows}x${classes}`;
  return [
    {
      name: `tfjs op softmaxCE ${size}`,
      out: native,
      fresh: () => tf.tidy(() => ops.softmaxCrossEntropy(yTrue, yPred).dataSync()),
    },
    {
      name: `tfjs valueAndGrad softmaxCE ${size}`,
      out: native,
      fresh: () => tf.tidy(() => valueAndGrad(yPred).grad.dataSync()),
    },
  ];
}

function classInput(rows: number, classes: number) {
  const x = normals(rows * classes, rand);
  const t = Int32Array.from({ length: rows }, () => Math.floor(rand() * classes));
  return { x, t, size: `${rows}x${classes}` };
}

async function cases(): Promise<Case[]> {
  const n = 1_000_000;
  const bx = normals(n, rand);
  const by = Float32Array.from({ length: n }, () => (rand() < 0.1 ? 1 : 0));
  const lx = normals(4096 * 64, rand);
  const ly = Float32Array.from({ length: 4096 * 64 }, (_, i) => i % 64);
  const wx = normals(256 * 1024, rand);
  const wy = Float32Array.from({ length: 256 * 1024 }, (_, i) => i % 1024);
  const px = normals(1024 * 128, rand);
  const py = Int32Array.from({ length: 1024 }, () => Math.floor(rand() * 64));
  const small = classInput(4096, 1000);
  const large = classInput(256, 50000);
  await tf.setBackend('cpu');
  return [
    core('anyLoss n=1e6', n, (out) => anyLoss(bx, by, { backend: 'cpu', out })),
    ...[small, large].flatMap(({ x, t, size }) => [
      core(`softmaxCE ${size}`, x.length, (out) => softmaxCrossEntropy(x, t, { backend: 'cpu', out })),
      core(`zLoss ${size}`, x.length, (out) => zLoss(x, t, { backend: 'cpu', out })),
    ]),
    core('listMLE 4096x64', lx.length, (out) => listMLE(lx, ly, { listSize: 64, backend: 'cpu', out })),
    core('listMLE 256x1024', wx.length, (out) => listMLE(wx, wy, { listSize: 1024, backend: 'cpu', out })),
    core('multiSimilarity N=1024 D=128', px.length, (out) =>
      multiSimilarity(px, py, { dim: 128, backend: 'cpu', out }),
    ),
    ...tfjsCases(4096, 1000, small.x, small.t),
    ...tfjsCases(256, 50000, large.x, large.t),
  ];
}

let gcCount = 0;
let gcMs = 0;
/** Full (mark-compact) collections; the rest are scavenges and incremental steps. */
let majors = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
    if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  }
}).observe({ entryTypes: ['gc'] });

/** Lets the GC observer's entries arrive (they are delivered on the event loop). */
const tick = () => new Promise((r) => setImmediate(r));

interface Stats {
  median: number;
  p90: number;
  /** Page faults a call, on average. */
  faults: number;
}

function stats(times: number[], faults: number): Stats {
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), p90: at(0.9), faults: faults / times.length };
}

/**
 * The two paths called alternately (so that the load of a shared machine falls on both alike):
 * each path's median and p90, the median of the per-pair ratios default / out, and the GCs of
 * the whole run.
 */
async function measure(c: Case) {
  let keep: unknown;
  const paths = [c.out, () => (keep = c.fresh())];
  // Warm-up, long enough for malloc's heap to grow to what V8's collection cadence needs (until
  // then fresh gradients fault in new pages): 10 calls a path, and at least 2 s.
  const warm = performance.now();
  for (let i = 0; i < 10 || performance.now() - warm < 2000; i++) paths.forEach((p) => p());
  await tick();
  const [g0, gm0, mj0] = [gcCount, gcMs, majors];
  const times: number[][] = [[], []];
  const faults = [0, 0];
  for (let i = 0; i < CALLS; i++) {
    paths.forEach((p, j) => {
      const f0 = process.resourceUsage().minorPageFault;
      const t0 = performance.now();
      p();
      times[j].push(performance.now() - t0);
      faults[j] += process.resourceUsage().minorPageFault - f0;
    });
  }
  void keep;
  await tick();
  const ratios = times[1].map((t, i) => t / times[0][i]).sort((a, b) => a - b);
  return {
    out: stats(times[0], faults[0]),
    fresh: stats(times[1], faults[1]),
    ratio: ratios[ratios.length >> 1],
    gcs: gcCount - g0,
    majors: majors - mj0,
    gcMsPerCall: (gcMs - gm0) / CALLS / 2,
  };
}

async function main(): Promise<void> {
  setThreads(Number(process.env.FUSEDLOSS_THREADS ?? os.availableParallelism()));
  const words = process.argv.slice(2).map((w) => w.toLowerCase());
  // The whole training step (valueAndGrad) takes seconds a call on a busy machine: only when asked.
  const chosen = (await cases()).filter((c) =>
    words.length ? words.some((w) => c.name.toLowerCase().includes(w)) : !c.name.includes('valueAndGrad'),
  );
  console.log(
    `${os.cpus()[0]?.model}, ${os.availableParallelism()} threads, Node ${process.version}, ${CALLS} calls a path`,
  );
  const f = (v: number) => v.toFixed(2).padStart(7);
  console.log(
    'case                           out: median    p90  default: median    p90  ratio (paired)  GCs (full)  GC ms/call  faults/call',
  );
  for (const c of chosen) {
    const m = await measure(c);
    console.log(
      `${c.name.padEnd(30)} ${f(m.out.median)} ${f(m.out.p90)}     ${f(m.fresh.median)} ${f(m.fresh.p90)}` +
        `  ${(m.fresh.median / m.out.median).toFixed(2).padStart(5)} (${m.ratio.toFixed(2)})` +
        `  ${String(m.gcs).padStart(4)} (${String(m.majors).padStart(3)}) ${f(m.gcMsPerCall)}  ${m.out.faults.toFixed(0)} / ${m.fresh.faults.toFixed(0)}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
