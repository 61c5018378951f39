// Two builds of the addon in one process, timed interleaved on the streaming cases of the
// roofline (AnyLoss F1 binary n = 1e6 with float and uint8 labels, softmax cross-entropy and
// Z-loss at 4096 x 1000 and 256 x 50000, ListMLE 4096 x 64), the pair loops (LambdaLoss and
// RankNet) and the list losses alone and with ranking metrics (8000 lists of 40 graded 0-4, the
// metrics bench's size: a build's metrics cost is its '+ metrics' row over the row above), at 1
// and 2 threads: `node --import tsx bench/ab.ts A.node B.node [anyloss|softmax|zloss|listmle|
// lambdaloss|ranknet|metrics ...]` (a word picks every case whose name contains it: "4096x1000", "u8").
// Multi-Similarity's compute-bound cases (N 1024 and 4096 by D 128 and 512, 6 N^2 D flops at the
// FMA probe's rate) run only when named: `... multisim` (all four), `multisim-4096` (both D),
// `multisim-1024x128` (one).
// Each round times a block of calls of A and of B (the order alternating by round); the figure
// of a side is the median over rounds of its block medians, next to its share of the case's
// limit (bench/run.ts caseLimit: compulsory bytes at the triad, exps at the exp probe, flops at
// the FMA probe, all measured with A). One build against itself (A.node A.node) shows the harness's noise.
import * as path from 'node:path';
import { mulberry32 } from '../src/random';
import { median, normals, permutation, relativeGap } from './timing';

const [fileA, fileB, ...words] = process.argv.slice(2).map((a, i) => (i < 2 ? path.resolve(a) : a));
if (!fileA || !fileB) throw new Error('usage: bench/ab.ts A.node B.node [case ...]');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 15);
const BLOCK = Number(process.env.AB_BLOCK ?? 9);

type Addon = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- .node files load by require
const A = require(fileA) as Addon;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const B = require(fileB) as Addon;
if (A === B) throw new Error('A and B must be different files (copy one to compare it with itself)');
// src loads A (FUSEDLOSS_ADDON, the same cached exports): each entry point is routed to `side`,
// setThreads to both.
let side: Addon = A;
for (const [name, fa] of Object.entries(A)) {
  const fb = B[name];
  if (typeof fa !== 'function' || typeof fb !== 'function') continue;
  const call = fa as (...a: unknown[]) => unknown;
  const callB = fb as (...a: unknown[]) => unknown;
  A[name] =
    name === 'setThreads'
      ? (...a: unknown[]) => (call(...a), callB(...a))
      : (...a: unknown[]) => (side === A ? call(...a) : callB(...a));
}
process.env.FUSEDLOSS_ADDON = fileA;

interface Case {
  name: string;
  bytes: number;
  exps: number;
  flops?: number;
  /** Only when a word names it (long cases). */
  named?: boolean;
  call(out: Float32Array): number;
  length: number;
}

void (async () => {
  const fl = await import('../src');
  const probe = A as unknown as {
    triadBandwidth(n: number, reps: number): number;
    fmaPeak(iters: number, reps: number): { gflops: number; isa: string };
    expRate(iters: number, reps: number): { gexps: number; isa: string };
  };
  const rand = mulberry32(20240601);
  const cases: Case[] = [];
  {
    const n = 1_000_000;
    const x = normals(n, rand);
    const y = Float32Array.from({ length: n }, () => (rand() < 0.1 ? 1 : 0));
    const call = (out: Float32Array) => fl.anyLoss(x, y, { backend: 'cpu', out }).loss;
    cases.push({ name: 'anyloss F1 n=1e6', bytes: 12 * n, exps: 2 * n, call, length: n });
    const y8 = Uint8Array.from(y);
    const call8 = (out: Float32Array) => fl.anyLoss(x, y8, { backend: 'cpu', out }).loss;
    cases.push({ name: 'anyloss F1 u8 n=1e6', bytes: 9 * n, exps: 2 * n, call: call8, length: n });
  }
  for (const [rows, c] of [
    [4096, 1000],
    [256, 50000],
  ]) {
    const x = normals(rows * c, rand);
    const t = Int32Array.from({ length: rows }, () => Math.floor(rand() * c));
    const size = `${rows}x${c}`;
    const bytes = rows * (8 * c + 4);
    const softmax = (out: Float32Array) => fl.softmaxCrossEntropy(x, t, { backend: 'cpu', out }).loss;
    const z = (out: Float32Array) => fl.zLoss(x, t, { backend: 'cpu', out }).loss;
    cases.push({ name: `softmax CE ${size}`, bytes, exps: rows * c, call: softmax, length: rows * c });
    cases.push({ name: `zloss ${size}`, bytes, exps: 0, call: z, length: rows * c });
  }
  {
    const lists = 4096,
      n = 64;
    const s = normals(lists * n, rand);
    const r = new Float32Array(lists * n);
    for (let l = 0; l < lists; l++) r.set(permutation(n, rand), l * n);
    const call = (out: Float32Array) => fl.listMLE(s, r, { listSize: n, backend: 'cpu', out }).loss;
    cases.push({ name: 'listMLE 4096x64', bytes: 12 * lists * n, exps: 2 * lists * n, call, length: lists * n });
  }
  {
    // The metrics bench's lists (bench/run.ts metricCases): each list loss alone, then with NDCG@10
    // and MRR from the same call; and the pair loops (binding/cpu/ranking_pairs.cc), one exp per
    // unordered pair.
    const lists = 8000,
      n = 40;
    const s = normals(lists * n, rand);
    const r = Float32Array.from({ length: lists * n }, () => Math.floor(rand() * 5));
    type Loss = (s: Float32Array, r: Float32Array, o: object) => { loss: number };
    const losses: Array<[string, Loss]> = [
      ['listMLE', fl.listMLE],
      ['rankList', fl.rankList],
      ['listNet', fl.listNet],
    ];
    for (const [name, loss] of losses)
      for (const metrics of [undefined, ['ndcg@10', 'mrr']]) {
        const call = (out: Float32Array) => loss(s, r, { listSize: n, backend: 'cpu', out, metrics }).loss;
        const label = `metrics: ${name}${metrics ? ' +' : ''}`;
        cases.push({ name: label, bytes: 12 * lists * n, exps: 0, call, length: lists * n });
      }
    const o = { listSize: n, backend: 'cpu' as const };
    const exps = (lists * n * (n - 1)) / 2;
    cases.push(
      {
        name: 'lambdaLoss 8000x40',
        bytes: 12 * lists * n,
        exps,
        call: (out) => fl.lambdaLoss(s, r, { ...o, out }).loss,
        length: lists * n,
      },
      {
        name: 'rankNet 8000x40',
        bytes: 12 * lists * n,
        exps,
        call: (out) => fl.rankNet(s, r, { ...o, out }).loss,
        length: lists * n,
      },
    );
  }
  for (const n of [1024, 4096])
    for (const dim of [128, 512]) {
      // As bench/run.ts pairCases: N rows of normals, 64 classes.
      const x = normals(n * dim, rand);
      const y = Int32Array.from({ length: n }, () => Math.floor(rand() * 64));
      const call = (out: Float32Array) => fl.multiSimilarity(x, y, { dim, backend: 'cpu', out }).loss;
      const name = `multisim-${n}x${dim}`;
      cases.push({ name, bytes: 0, exps: 0, flops: 6 * n * n * dim, named: true, call, length: n * dim });
    }
  const chosen = words.length
    ? cases.filter((c) => words.some((w) => c.name.toLowerCase().includes(w)))
    : cases.filter((c) => !c.named);

  const threads = [1, 2];
  const limits = new Map<number, { triad: number; gexps: number; gflops: number; isa: string }>();
  for (const t of threads) {
    fl.setThreads(t);
    const exp = probe.expRate(2000, 100);
    // As bench/run.ts: best of 100 runs of about 2 ms.
    const gflops = probe.fmaPeak(5e5, 100).gflops;
    limits.set(t, { triad: probe.triadBandwidth(2 ** 24, 5), gexps: exp.gexps, gflops, isa: exp.isa });
  }
  console.log(`A ${fileA}\nB ${fileB}\n${ROUNDS} rounds x ${BLOCK} calls a side; isa ${limits.get(1)?.isa}`);
  for (const t of threads) {
    const l = limits.get(t)!;
    console.log(
      `  ${t}T: triad ${l.triad.toFixed(1)} GB/s, exp ${l.gexps.toFixed(2)} G/s, FMA ${l.gflops.toFixed(1)} GFLOP/s`,
    );
  }
  for (const c of chosen) {
    const outA = new Float32Array(c.length),
      outB = new Float32Array(c.length);
    side = A;
    const la = c.call(outA);
    side = B;
    const lb = c.call(outB);
    for (const t of threads) {
      fl.setThreads(t);
      const times = { A: [] as number[], B: [] as number[] };
      // CPU time a call (user + system, every thread of the process): on a busy machine the wall
      // time mostly measures the other jobs; at 1 thread this one does not.
      const cpu = { A: [] as number[], B: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        const order: Array<'A' | 'B'> = r % 2 ? ['B', 'A'] : ['A', 'B'];
        for (const s of order) {
          side = s === 'A' ? A : B;
          const out = s === 'A' ? outA : outB;
          c.call(out);
          const block: number[] = [];
          const u0 = process.cpuUsage();
          for (let i = 0; i < BLOCK; i++) {
            const t0 = performance.now();
            c.call(out);
            block.push(performance.now() - t0);
          }
          const u = process.cpuUsage(u0);
          cpu[s].push((u.user + u.system) / 1e3 / BLOCK);
          times[s].push(median(block));
        }
      }
      const l = limits.get(t)!;
      const limit = Math.max(c.bytes / (l.triad * 1e6), c.exps / (l.gexps * 1e6), (c.flops ?? 0) / (l.gflops * 1e6));
      const ma = median(times.A),
        mb = median(times.B);
      const ratios = times.A.map((a, i) => times.B[i] / a);
      const fmt = (ms: number) => `${ms.toFixed(3)} ms ${((100 * limit) / ms).toFixed(0).padStart(3)}%`;
      const cpuRatio = median(cpu.A.map((a, i) => cpu.B[i] / a));
      console.log(
        `${c.name.padEnd(22)} ${t}T  A ${fmt(ma)}  B ${fmt(mb)}  B/A ${median(ratios).toFixed(3)}` +
          ` (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})  limit ${limit.toFixed(3)} ms\n` +
          `${''.padEnd(25)} min A ${Math.min(...times.A).toFixed(3)} B ${Math.min(...times.B).toFixed(3)} ms;` +
          ` cpu/call A ${median(cpu.A).toFixed(3)} B ${median(cpu.B).toFixed(3)} ms, B/A ${cpuRatio.toFixed(3)}`,
      );
    }
    console.log(`  loss A ${la} B ${lb}; grad max |A-B| ${relativeGap(outA, outB).toExponential(2)} of max |A|`);
  }
})();
