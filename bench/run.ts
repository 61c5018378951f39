// `npm run bench`: every loss at its standard size on every backend, next to the tfjs
// composition a user would otherwise write, plus the machine's memory bandwidth measured in the
// same run. Prints a table and writes bench/results/latest.json.
//
// Adding a case: push a `Case` onto CASES: a name, a size, the bytes a native call moves (for
// memory-bound losses) and a map backend -> setup (fused() and tfjs() make the usual ones).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { anyLoss, setThreads } from '../src';
import { nativeAddon } from '../src/native';
import { anyLossF1Binary, anyLossF1Macro, liveTensors, useTfjsBackend, type TfjsRunner } from './tfjs-anyloss';
import { mulberry32, normals, timeCalls, type Timing } from './timing';

const THREADS = os.availableParallelism();
const BASELINE = `fusedloss cpu, ${THREADS} threads`;

/** A prepared backend: `step` is what is timed; `result` gives loss and gradient once, for the agreement check. */
interface Runner {
  step(): unknown;
  result(): { loss: number; grad: Float32Array };
  dispose?(): void;
}

interface BackendEntry {
  reps: number;
  warmup?: number;
  /** A native CPU row: report GB/s. */
  native?: boolean;
  setup(): Runner | Promise<Runner>;
}

interface Case {
  loss: string;
  size: string;
  /** Memory traffic of one native call, for memory-bound losses. */
  bytes?: { actual: number; actualNote: string; minimum: number; minimumNote: string };
  backends: Record<string, BackendEntry>;
}

/** The three fusedloss rows: native CPU on 1 and on all threads, and the float64 reference. */
function fused(call: (backend: 'cpu' | 'js', out: Float32Array) => number, length: number, reps: { cpu: number; js: number }) {
  const setup = (backend: 'cpu' | 'js', threads: number) => (): Runner => {
    setThreads(threads);
    const out = new Float32Array(length); // reused: no allocation in the timed calls
    return {
      step: () => call(backend, out),
      result: () => {
        const grad = new Float32Array(length);
        return { loss: call(backend, grad), grad };
      },
    };
  };
  return {
    'fusedloss cpu, 1 thread': { reps: reps.cpu, warmup: 3, native: true, setup: setup('cpu', 1) },
    [BASELINE]: { reps: reps.cpu, warmup: 3, native: true, setup: setup('cpu', THREADS) },
    'fusedloss js (float64 reference)': { reps: reps.js, setup: setup('js', THREADS) },
  } satisfies Record<string, BackendEntry>;
}

/** The tfjs composition on tfjs's 'cpu' and 'wasm' backends. */
function tfjs(make: () => TfjsRunner, reps: { cpu: number; wasm: number }) {
  const entry = (backend: 'cpu' | 'wasm', n: number): BackendEntry => ({
    reps: n,
    setup: async () => {
      await useTfjsBackend(backend);
      const before = liveTensors();
      const r = make();
      return {
        ...r,
        dispose() {
          r.dispose();
          const leaked = liveTensors() - before;
          if (leaked) console.warn(`tfjs ${backend}: ${leaked} tensors leaked`);
        },
      };
    },
  });
  return { 'tfjs cpu (valueAndGrad)': entry('cpu', reps.cpu), 'tfjs wasm (valueAndGrad)': entry('wasm', reps.wasm) };
}

// ---- the cases ----

const rand = mulberry32(20240601);

const N = 1_000_000;
const binX = normals(N, rand);
const binY = Float32Array.from({ length: N }, () => (rand() < 0.1 ? 1 : 0));

const ROWS = 65536, C = 10;
const mcX = normals(ROWS * C, rand);
const mcY = Int32Array.from({ length: ROWS }, () => Math.floor(rand() * C));

const CASES: Case[] = [
  {
    loss: 'AnyLoss-F1 binary',
    size: 'n=1e6',
    bytes: {
      actual: 24 * N,
      actualNote: '24 B/el: pass 1 reads scores + labels (f32) and writes a stash to grad, pass 2 reads labels + stash and writes grad',
      minimum: 12 * N,
      minimumNote: '12 B/el: read scores and labels once, write grad once',
    },
    backends: {
      ...fused((backend, out) => anyLoss(binX, binY, { backend, out }).loss, N, { cpu: 60, js: 5 }),
      ...tfjs(() => anyLossF1Binary(binX, binY), { cpu: 5, wasm: 10 }),
    },
  },
  {
    loss: 'AnyLoss-F1 macro',
    size: `${ROWS}x${C}`,
    bytes: {
      actual: ROWS * (16 * C + 8),
      actualNote: `${(16 * C + 8) / C} B/el: pass 1 reads scores + int32 label and writes softmax to grad, pass 2 reads label + stash and writes grad`,
      minimum: ROWS * (8 * C + 4),
      minimumNote: `${(8 * C + 4) / C} B/el: read scores and labels once, write grad once`,
    },
    backends: {
      ...fused((backend, out) => anyLoss(mcX, mcY, { classes: C, backend, out }).loss, ROWS * C, { cpu: 60, js: 5 }),
      ...tfjs(() => anyLossF1Macro(mcX, mcY, C), { cpu: 5, wasm: 10 }),
    },
  },
];

// ---- measuring ----

interface Row extends Timing {
  loss: string;
  size: string;
  backend: string;
  ratio?: number;
  /** GB/s counting the kernel's actual traffic, and counting the compulsory minimum. */
  gbps?: number;
  gbpsMinimum?: number;
  check?: { lossRelDiff: number; gradMaxDiffRel: number; ok: boolean };
}

const LOSS_TOL = 1e-4, GRAD_TOL = 1e-4;

function compare(a: { loss: number; grad: Float32Array }, ref: { loss: number; grad: Float32Array }): Row['check'] {
  let maxRef = 0, maxDiff = 0;
  for (let i = 0; i < ref.grad.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref.grad[i]));
    maxDiff = Math.max(maxDiff, Math.abs(a.grad[i] - ref.grad[i]));
  }
  const lossRelDiff = Math.abs(a.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30);
  const gradMaxDiffRel = maxDiff / Math.max(maxRef, 1e-30);
  return { lossRelDiff, gradMaxDiffRel, ok: lossRelDiff <= LOSS_TOL && gradMaxDiffRel <= GRAD_TOL };
}

async function runCase(c: Case): Promise<Row[]> {
  const rows: Row[] = [];
  const results = new Map<string, { loss: number; grad: Float32Array }>();
  for (const [backend, entry] of Object.entries(c.backends)) {
    process.stdout.write(`  ${c.loss} ${c.size} ${backend} ... `);
    const runner = await entry.setup();
    results.set(backend, runner.result());
    const t = timeCalls(() => runner.step(), { reps: entry.reps, warmup: entry.warmup });
    runner.dispose?.();
    console.log(`${t.medianMs.toFixed(2)} ms`);
    const row: Row = { loss: c.loss, size: c.size, backend, ...t };
    if (entry.native && c.bytes) {
      row.gbps = c.bytes.actual / (t.medianMs * 1e6);
      row.gbpsMinimum = c.bytes.minimum / (t.medianMs * 1e6);
    }
    rows.push(row);
  }
  setThreads(THREADS);
  const base = rows.find((r) => r.backend === BASELINE);
  const ref = results.get(BASELINE);
  for (const r of rows) {
    if (base) r.ratio = r.medianMs / base.medianMs;
    if (ref && r.backend !== BASELINE) r.check = compare(results.get(r.backend)!, ref);
  }
  return rows;
}

// ---- report ----

function table(header: string[], body: string[][]): string {
  const w = header.map((h, j) => Math.max(h.length, ...body.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((s, j) => (j < 3 ? s.padEnd(w[j]) : s.padStart(w[j]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

const fmt = (v: number | undefined, digits: number) => (v === undefined ? '' : v.toFixed(digits));

async function main(): Promise<void> {
  const addon = nativeAddon();
  if (!addon) throw new Error('the native addon did not load: run `npm run build` first');
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: THREADS,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
  };
  console.log(`fusedloss bench: ${machine.cpu}, ${machine.cores} threads, ${machine.memoryGiB} GiB, Node ${machine.node}\n`);

  // STREAM triad a = b + 3 c over 3 arrays of 2^25 doubles (768 MiB; 2^24 on small machines), best of 5.
  setThreads(THREADS);
  const triadN = os.totalmem() >= 8 * 2 ** 30 ? 2 ** 25 : 2 ** 24;
  const triadGBs = addon.triadBandwidth(triadN, 5);
  console.log(`  memory bandwidth (STREAM triad, 3 x 2^${Math.log2(triadN)} doubles, ${THREADS} threads): ${triadGBs.toFixed(1)} GB/s`);

  const rows: Row[] = [];
  for (const c of CASES) rows.push(...(await runCase(c)));

  console.log('\n' + table(
    ['loss', 'size', 'backend', 'median ms', 'min ms', 'reps', `x vs ${THREADS}T`, 'GB/s', 'GB/s min', '% triad'],
    rows.map((r) => [
      r.loss, r.size, r.backend, fmt(r.medianMs, 2), fmt(r.minMs, 2), String(r.reps),
      r.ratio === undefined ? '' : `${r.ratio.toFixed(r.ratio < 10 ? 2 : 0)}x`,
      fmt(r.gbps, 1), fmt(r.gbpsMinimum, 1), r.gbps === undefined ? '' : `${((100 * r.gbps) / triadGBs).toFixed(0)}%`,
    ]),
  ));

  console.log(`\nAgreement with ${BASELINE} (loss: relative difference; grad: max |diff| / max |grad|; tolerance ${LOSS_TOL}):`);
  for (const r of rows.filter((x) => x.check)) {
    const k = r.check!;
    console.log(`  ${`${r.loss} ${r.size} ${r.backend}`.padEnd(62)} loss ${k.lossRelDiff.toExponential(1)}  grad ${k.gradMaxDiffRel.toExponential(1)}  ${k.ok ? 'ok' : 'MISMATCH'}`);
  }

  console.log(`\nMachine limit: memory bandwidth, ${triadGBs.toFixed(1)} GB/s (STREAM triad, 24 B/element, same run).`);
  console.log('AnyLoss is memory-bound (a few flops per byte moved), so the memory-bandwidth limit applies: GB/s');
  console.log('counts the two-pass kernel\'s actual traffic, "GB/s min" the compulsory minimum, "% triad" GB/s / triad.');
  for (const c of CASES.filter((x) => x.bytes)) {
    console.log(`  ${c.loss} ${c.size}: GB/s = ${c.bytes!.actualNote}; GB/s min = ${c.bytes!.minimumNote}.`);
  }

  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  const report = {
    machine,
    triad: { GBps: triadGBs, doubles: triadN, threads: THREADS },
    limit: 'memory bandwidth (AnyLoss is memory-bound)',
    cases: CASES.map((c) => ({ loss: c.loss, size: c.size, bytes: c.bytes })),
    rows,
  };
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
