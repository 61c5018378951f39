// `npm run bench`: one representative case per family (a couple of minutes) on every backend, next
// to the tfjs composition a user would otherwise write, plus the machine's limits measured in the
// same run (memory bandwidth, FMA peak and the kernels' exp rate, at the level they run at). `npm run bench -- --full`: every case at every size (20
// minutes or more, several GB). `npm run bench -- softmax z-loss` runs every case whose loss name
// or family contains one of the words (case-insensitive); the probes always run. Prints a table
// that fits 120 columns and writes bench/results/latest.json (every figure) and latest.svg (the
// speed-up over tfjs wasm, one panel per family).
//
// Adding a case: push a `Case` onto ALL_CASES: a name, a family, a size, the bytes a native call
// moves (for memory-bound losses) and a map backend -> setup (fused() and tfjs() make the usual
// ones); `quick: true` puts it in the default run.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  anyLoss,
  backends,
  circleLoss,
  contrastive,
  lambdaLoss,
  linearCrossEntropy,
  proxyAnchor,
  listMLE,
  listNet,
  multiSimilarity,
  ndcg,
  ntXent,
  orthogonalProjection,
  rankList,
  setThreads,
  softmaxCrossEntropy,
  supCon,
  tripletBatchHard,
  zLoss,
  type LossResult,
} from '../src';
import { nativeAddon, type Backend } from '../src/native';
import { anyLossF1Binary, anyLossF1Macro, liveTensors, useTfjsBackend, type TfjsRunner } from './tfjs-anyloss';
import {
  circleLossTfjs,
  contrastiveTfjs,
  ntXentTfjs,
  orthogonalProjectionTfjs,
  supConTfjs,
  tripletBatchHardTfjs,
} from './tfjs-gpw';
import { multiSimilarityTfjs } from './tfjs-pairs';
import { ndcgTfjs } from './tfjs-metrics';
import { listMLETfjs, rankListTfjs } from './tfjs-ranking';
import { softmaxCrossEntropyTfjs, zLossTfjs } from './tfjs-spherical';
import { linearCrossEntropyTfjs } from './tfjs-linear';
import { spawnSync } from 'node:child_process';
import { mulberry32 } from '../src/random';
import { speedupChartSvg, TFJS_WASM } from './chart';
import { SingleBar } from 'cli-progress';
import { normals, permutation, timeCalls, type Timing } from './timing';
import { headCases, headReport, type HeadRow } from './spherical-head';

const THREADS = os.availableParallelism();
const BASELINE = `fusedloss cpu ${THREADS}T`;

/** A prepared backend: `step` is what is timed; `result` gives loss and gradient once, for the agreement check. */
interface Runner {
  step(): unknown;
  result(): { loss: number; grad: Float32Array };
  dispose?(): void;
}

/** Memory traffic of one native call, for memory-bound losses: what the kernel moves, and the compulsory minimum. */
interface Bytes {
  actual: number;
  actualNote: string;
  minimum: number;
  minimumNote: string;
}

interface BackendEntry {
  reps: number;
  warmup?: number;
  warmupMs?: number;
  /** A native CPU row: report GB/s. */
  native?: boolean;
  /** Overrides the case's byte count (another label type, say). */
  bytes?: Bytes;
  /** A row of the WebAssembly build: skipped where it is not built. */
  wasm?: boolean;
  /** Another loss than the fused rows' (the head's dense step): not checked against the baseline. */
  unchecked?: boolean;
  setup(): Runner | Promise<Runner>;
}

interface Case {
  loss: string;
  /** The chart's panel, and a word the filter also matches: 'pairs' selects every pair loss. */
  family: 'confusion' | 'softmax and spherical' | 'ranking' | 'pairs' | 'head';
  /** In the default (quick) run; `--full` runs every case. */
  quick?: boolean;
  size: string;
  bytes?: Bytes;
  /** Floating-point work of one call, for compute-bound losses (reported against the FMA probe). */
  flops?: number;
  /**
   * Exponentials and logarithms one native call evaluates (each costs about one exp_nonpos): a
   * streaming loss's limit is the larger of its compulsory memory time and these at the exp probe's rate.
   */
  exps?: number;
  backends: Record<string, BackendEntry>;
}

type FusedBackend = Exclude<Backend, 'auto' | 'cuda-sim'>;
/** `out` undefined: the default call, which allocates its gradient. */
type FusedCall = (backend: FusedBackend, out?: Float32Array) => number;

/**
 * One fusedloss row: `call` fills `out` (reused, so no allocation is timed) and returns the loss;
 * with `fresh`, `call` gets no `out` (the default call: a new gradient every call, as a training
 * loop that keeps none makes it).
 */
function fusedEntry(
  call: FusedCall,
  length: number,
  backend: FusedBackend,
  threads: number,
  reps: number,
  bytes?: Bytes,
  fresh = false,
): BackendEntry {
  return {
    reps,
    warmup: backend === 'js' ? 1 : 3,
    warmupMs: backend === 'js' ? 0 : 500,
    native: backend === 'cpu',
    wasm: backend === 'wasm',
    bytes,
    setup: () => {
      setThreads(threads);
      const out = fresh ? undefined : new Float32Array(length);
      return {
        step: () => call(backend, out),
        result: () => {
          const grad = new Float32Array(length);
          return { loss: call(backend, grad), grad };
        },
      };
    },
  };
}

const CUDA = backends().cuda;
if (!CUDA.available) console.log(`fusedloss cuda rows skipped: ${CUDA.reason}`);
// A clone has no wasm build until `npm run build:wasm` (which needs Emscripten).
const WASM = backends().wasm;
if (!WASM.available) console.log(`fusedloss wasm rows skipped: ${WASM.reason}; npm run build:wasm builds it`);

/**
 * The fusedloss rows of every case, in one place (a new backend is one line here): native CPU on 1
 * and on all threads, the GPU when a device exists (host arrays in, gradient back on the host:
 * copies included), and the float64 reference.
 */
const FUSED_ROWS: { name: string; backend: FusedBackend; threads: number; fresh?: boolean }[] = [
  { name: 'fusedloss cpu 1T', backend: 'cpu', threads: 1 },
  { name: BASELINE, backend: 'cpu', threads: THREADS },
  // The default call (no `out`: a fresh gradient each call) beside the reused-`out` one; its "/ cpu"
  // column is the default call's time over the `out` call's.
  { name: `${BASELINE} fresh`, backend: 'cpu', threads: THREADS, fresh: true },
  ...(CUDA.available ? [{ name: 'fusedloss cuda', backend: 'cuda' as const, threads: THREADS }] : []),
  { name: 'fusedloss wasm', backend: 'wasm', threads: 1 },
  { name: 'fusedloss js (f64)', backend: 'js', threads: THREADS },
];

/** SphericalHead's rows: the fused rows of a backend it has, less the default-call one. */
const HEAD_ROWS = FUSED_ROWS.filter(
  (r): r is HeadRow => r.backend !== 'cuda' && !r.fresh && (r.backend !== 'wasm' || WASM.available),
);

/** The fusedloss rows of a case; `reps.js` 0 leaves the reference out (too slow at that size). */
function fused(call: FusedCall, length: number, reps: { cpu: number; js: number }): Record<string, BackendEntry> {
  const rows = FUSED_ROWS.filter((r) => r.backend !== 'js' || reps.js > 0);
  return Object.fromEntries(
    rows.map((r) => [
      r.name,
      fusedEntry(call, length, r.backend, r.threads, r.backend === 'js' ? reps.js : reps.cpu, undefined, r.fresh),
    ]),
  );
}

/** The tfjs composition on tfjs's 'cpu' and 'wasm' backends (`warmup` 0 for calls of many seconds). */
function tfjs(make: () => TfjsRunner, reps: { cpu: number; wasm: number }, warmup = 1): Record<string, BackendEntry> {
  const entry = (backend: 'cpu' | 'wasm', n: number): BackendEntry => ({
    reps: n,
    warmup,
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
  return { 'tfjs cpu': entry('cpu', reps.cpu), [TFJS_WASM]: entry('wasm', reps.wasm) };
}

// ---- the cases ----

const rand = mulberry32(20240601);

const N = 1_000_000;
const binX = normals(N, rand);
const binY = Float32Array.from({ length: N }, () => (rand() < 0.1 ? 1 : 0));
const binYu8 = Uint8Array.from(binY);

const ROWS = 65536;
const C = 10;
const mcX = normals(ROWS * C, rand);
const mcY = Int32Array.from({ length: ROWS }, () => Math.floor(rand() * C));

/** B x C logits and B targets of a softmax / spherical case. */
function classCase(rows: number, classes: number) {
  const x = normals(rows * classes, rand);
  const t = Int32Array.from({ length: rows }, () => Math.floor(rand() * classes));
  const bytes: Bytes = {
    actual: rows * (8 * classes + 4),
    actualNote:
      '8 B/el: each row is read from memory once (its later sweeps hit cache) and its gradient written once, plus an int32 target per row',
    minimum: rows * (8 * classes + 4),
    minimumNote: 'the same: read logits and targets once, write grad once',
  };
  return { x, t, rows, classes, bytes };
}

const CLASS_SIZES = [
  [4096, 1000],
  [256, 50000],
] as const;

/** softmaxCrossEntropy and zLoss at the sizes, next to their tfjs compositions. */
function classCases(): Case[] {
  return CLASS_SIZES.flatMap(([rows, classes]) => {
    const c = classCase(rows, classes);
    const n = rows * classes;
    const size = `${rows}x${classes}`;
    return [
      {
        loss: 'softmax cross-entropy',
        family: 'softmax and spherical',
        quick: rows === 4096,
        size,
        bytes: c.bytes,
        exps: n, // e^{x - max} once per logit (the row's log is negligible)
        backends: {
          ...fused((backend, out) => softmaxCrossEntropy(c.x, c.t, { backend, out }).loss, n, { cpu: 30, js: 2 }),
          ...tfjs(() => softmaxCrossEntropyTfjs(c.x, c.t, classes), { cpu: 3, wasm: 5 }),
        },
      },
      {
        loss: 'Z-loss',
        family: 'softmax and spherical',
        size,
        bytes: c.bytes,
        backends: {
          ...fused((backend, out) => zLoss(c.x, c.t, { backend, out }).loss, n, { cpu: 30, js: 2 }),
          ...tfjs(() => zLossTfjs(c.x, c.t, classes), { cpu: 3, wasm: 5 }),
        },
      },
    ];
  });
}

/**
 * Lists of n items and normal scores, with distinct relevance (a random permutation per list, full
 * ranks) or, given `grades`, relevance graded 0 to grades - 1 (ties); the tfjs baselines take each
 * list's items in relevance order (ties by index), precomputed as a user would.
 */
function rankingInput(lists: number, n: number, grades = 0) {
  const scores = normals(lists * n, rand);
  const relevance = new Float32Array(lists * n);
  const order = new Int32Array(lists * n);
  for (let l = 0; l < lists; l++) {
    const perm = permutation(n, rand);
    const r = grades > 0 ? perm.map(() => Math.floor(rand() * grades)) : perm;
    r.forEach((v, i) => (relevance[l * n + i] = v));
    const sorted = perm.map((_, i) => i).sort((i, j) => r[j] - r[i] || i - j);
    order.set(sorted, l * n);
  }
  return { lists, n, scores, relevance, order };
}

type RankingInput = ReturnType<typeof rankingInput>;
type ListReps = { cpu: number; js: number; tfjs: number };
type ListLoss = (
  scores: Float32Array,
  relevance: Float32Array,
  o: { listSize: number; backend: FusedBackend; out?: Float32Array },
) => { loss: number };

/** One listwise loss on lists `d`: native, reference and its tfjs composition. */
function listCase(
  loss: string,
  size: string,
  d: RankingInput,
  reps: ListReps,
  call: ListLoss,
  composition: typeof listMLETfjs,
  expsPerItem: number,
): Case {
  const items = d.lists * d.n;
  return {
    loss,
    family: 'ranking',
    size,
    exps: expsPerItem * items,
    bytes: {
      actual: 12 * items,
      actualNote: '12 B/item: read scores and relevance, write grad (the sort and scans stay in cache)',
      minimum: 12 * items,
      minimumNote: '12 B/item',
    },
    backends: {
      ...fused((backend, out) => call(d.scores, d.relevance, { listSize: d.n, backend, out }).loss, items, reps),
      ...tfjs(() => composition(d.scores, d.order, d.lists, d.n), { cpu: reps.tfjs, wasm: reps.tfjs }),
    },
  };
}

/** ListMLE and RankList (lse) at lists x n: native, reference and the tfjs compositions. */
function rankingCases(lists: number, n: number, reps: ListReps, quick = false): Case[] {
  const d = rankingInput(lists, n);
  const size = `${lists} lists x ${n}`;
  return [
    // Narrow lists (scores within 40 of each other): ListMLE takes an exp and a log a term,
    // RankList an exp (binding/cpu/ranking_sweeps.cc).
    { ...listCase('ListMLE', size, d, reps, listMLE, listMLETfjs, 2), quick },
    listCase('RankList lse', size, d, reps, rankList, rankListTfjs, 1),
  ];
}

/**
 * ListMLE on graded relevance (0 to 4), which takes the CPU's counting sort (full ranks are placed
 * without one). RankList's tfjs composition assumes distinct relevance, so it is not here.
 */
function gradedListMLECase(lists: number, n: number, reps: ListReps): Case {
  const d = rankingInput(lists, n, 5);
  return listCase('ListMLE', `${lists} lists x ${n}, graded 0-4`, d, reps, listMLE, listMLETfjs, 2);
}

/** N rows of `dim` normals and labels of 64 classes. */
function pairInput(n: number, dim: number) {
  return { x: normals(n * dim, rand), y: Int32Array.from({ length: n }, () => Math.floor(rand() * 64)) };
}

/**
 * Multi-Similarity at N x D with 64 classes: the fused rows, and the tfjs composition (1 to 2
 * calls at N = 4096: seconds each). Compute-bound: one N x N x D product forward and two
 * backward, 6 N^2 D flops.
 */
function pairCases(): Case[] {
  return [1024, 4096].flatMap((n) =>
    [128, 512].map((dim): Case => {
      const { x, y } = pairInput(n, dim);
      const call: FusedCall = (backend, out) => multiSimilarity(x, y, { dim, backend, out }).loss;
      const big = n >= 4096;
      return {
        loss: 'Multi-Similarity',
        family: 'pairs',
        quick: n === 1024 && dim === 128,
        size: `N=${n} D=${dim}`,
        flops: 6 * n * n * dim,
        backends: {
          // The reference takes seconds a call at N = 1024 (it builds S in full): not at N = 4096.
          ...fused(call, n * dim, { cpu: big ? 5 : 20, js: big ? 0 : 1 }),
          ...tfjs(() => multiSimilarityTfjs(x, y, dim), big ? { cpu: 1, wasm: 1 } : { cpu: 3, wasm: 2 }, big ? 0 : 1),
        },
      };
    }),
  );
}

type PairCall = (
  x: Float32Array,
  y: Int32Array,
  o: { dim: number; backend: FusedBackend; out?: Float32Array },
) => LossResult;

/**
 * The other losses of the family at N = 1024, D = 128 (64 classes), next to their tfjs
 * compositions (bench/tfjs-gpw.ts; one timed call on tfjs 'cpu', which takes 10 to 30 s here).
 * No reference rows (Multi-Similarity's stand for them). Flops as Multi-Similarity's, 6 N^2 D,
 * where G is dense; batch-hard triplet's G has two entries per row (2 N^2 D: the forward
 * product), and OPL needs no N x N product at all (class sums: no flop rate).
 */
function gpwCases(): Case[] {
  const [n, dim] = [1024, 128];
  const losses: [string, PairCall, (x: Float32Array, y: Int32Array, dim: number) => TfjsRunner, number?][] = [
    ['contrastive', (x, y, o) => contrastive(x, y, o), (x, y, d) => contrastiveTfjs(x, y, d), 6],
    ['triplet batch-hard', (x, y, o) => tripletBatchHard(x, y, o), (x, y, d) => tripletBatchHardTfjs(x, y, d), 2],
    ['circle', (x, y, o) => circleLoss(x, y, o), (x, y, d) => circleLossTfjs(x, y, d), 6],
    ['SupCon', (x, y, o) => supCon(x, y, o), (x, y, d) => supConTfjs(x, y, d), 6],
    ['NT-Xent', (x, y, o) => ntXent(x, y, o), (x, y, d) => ntXentTfjs(x, y, d), 6],
    [
      'orthogonal projection',
      (x, y, o) => orthogonalProjection(x, y, o),
      (x, y, d) => orthogonalProjectionTfjs(x, y, d),
    ],
  ];
  return losses.map(([loss, call, baseline, flopsPerN2D]): Case => {
    const { x, y } = pairInput(n, dim);
    return {
      loss,
      family: 'pairs',
      size: `N=${n} D=${dim}`,
      flops: flopsPerN2D ? flopsPerN2D * n * n * dim : undefined,
      backends: {
        ...fused((backend, out) => call(x, y, { dim, backend, out }).loss, n * dim, { cpu: 20, js: 0 }),
        ...tfjs(() => baseline(x, y, dim), { cpu: 1, wasm: 2 }),
      },
    };
  });
}

/**
 * The fused linear cross-entropy at B = 4096, D = 256, C = 32768 (issue 21): compute-bound, 6 B C D
 * flops counted (the logits forward, dH and dW backward; the kernel does 8, recomputing the logits
 * once). The tfjs composition (dense layer + softmax cross-entropy, tf.valueAndGrads) does not fit
 * tfjs wasm's memory at that size (the logits, the one-hot targets and their gradients, 512 MiB
 * each: "memory access out of bounds"), so it is compared at B = 1024 in a second case; tfjs cpu
 * would take minutes a call. The gradient compared is [dH, dW].
 */
function linearCases(): Case[] {
  const [D, C] = [256, 32768];
  const weight = normals(C * D, rand).map((v) => v / 16);
  return [4096, 1024].map((B): Case => {
    const hidden = normals(B * D, rand);
    const targets = Int32Array.from({ length: B }, () => Math.floor(rand() * C));
    const call: FusedCall = (backend, out) =>
      linearCrossEntropy(hidden, weight, targets, {
        dim: D,
        backend,
        out: out && { gradHidden: out.subarray(0, B * D), gradWeight: out.subarray(B * D) },
      }).loss;
    // Seconds a call: the agreement call warms up, no extra warm-up calls.
    const rows = Object.entries(fused(call, (B + C) * D, { cpu: 2, js: 0 }))
      .filter(([k]) => B === 4096 || k === BASELINE)
      .map(([k, e]) => [k, { ...e, warmup: 0, warmupMs: 0 }]);
    const wasm = tfjs(() => linearCrossEntropyTfjs(hidden, weight, targets, D), { cpu: 0, wasm: 1 }, 0)[TFJS_WASM];
    return {
      loss: 'linear cross-entropy',
      family: 'head',
      quick: true,
      size: `B=${B} D=${D} C=${C}`,
      flops: 6 * B * C * D,
      backends: { ...Object.fromEntries(rows), ...(B === 1024 ? { [TFJS_WASM]: wasm } : {}) },
    };
  });
}

/**
 * ProxyAnchor at B = 1024 embeddings, D = 256, C = 8192 proxies (issue 22): compute-bound, 8 B C D
 * flops counted (the cosines twice, once per side, and the two gradient products); the B x C
 * cosines are never formed. The gradient compared is [dEmbeddings, dProxies].
 */
function proxyCases(): Case[] {
  const [B, D, C] = [1024, 256, 8192];
  const embeddings = normals(B * D, rand),
    proxies = normals(C * D, rand);
  const labels = Int32Array.from({ length: B }, () => Math.floor(rand() * C));
  const call: FusedCall = (backend, out) =>
    proxyAnchor(embeddings, proxies, labels, {
      dim: D,
      backend,
      out: out && { gradEmbeddings: out.subarray(0, B * D), gradProxies: out.subarray(B * D) },
    }).loss;
  return [
    {
      loss: 'proxy anchor',
      family: 'pairs',
      size: `B=${B} D=${D} C=${C}`,
      flops: 8 * B * C * D,
      backends: fused(call, (B + C) * D, { cpu: 5, js: 0 }),
    },
  ];
}

/** A list loss at the metrics cases' size, returning its loss (and the metrics when asked). */
type MetricsLoss = (
  scores: Float32Array,
  relevance: Float32Array,
  o: { listSize: number; backend: FusedBackend; out?: Float32Array; metrics?: string[] },
) => { loss: number };

/**
 * Ranking metrics at TorchMetrics users' size (8000 queries x 40 items, graded 0-4), in the default
 * run: NDCG@10 beside its tfjs composition, and each list loss alone beside the same loss returning
 * NDCG@10 and MRR from the same call (the metrics' cost over the loss: the second row's "/ cpu"
 * column; on one thread the fourth row's time over the third's; the check column says the loss and
 * gradient did not change).
 */
function metricCases(lists: number, n: number): Case[] {
  const d = rankingInput(lists, n, 5);
  const items = lists * n;
  const size = `${lists} lists x ${n}, graded 0-4`;
  const metricsRow = `${BASELINE}, + metrics ndcg@10 mrr`;
  // [name, loss, calls timed]: LambdaLoss's pair loop takes about 0.6 s a call.
  const losses: Array<[string, MetricsLoss, number]> = [
    ['ListMLE', listMLE, 60],
    ['ListNet', listNet, 60],
    ['LambdaLoss', lambdaLoss, 8],
    ['RankList', rankList, 60],
  ];
  // On all threads and on one: the loss alone, then with the metrics.
  const withMetrics = ([name, loss, reps]: [string, MetricsLoss, number]): Case => {
    const alone: FusedCall = (backend, out) => loss(d.scores, d.relevance, { listSize: n, backend, out }).loss;
    const both: FusedCall = (backend, out) =>
      loss(d.scores, d.relevance, { listSize: n, backend, out, metrics: ['ndcg@10', 'mrr'] }).loss;
    return {
      loss: `${name} + metrics`,
      family: 'ranking',
      quick: true,
      size,
      backends: {
        [BASELINE]: fusedEntry(alone, items, 'cpu', THREADS, reps),
        [metricsRow]: fusedEntry(both, items, 'cpu', THREADS, reps),
        'fusedloss cpu 1T': fusedEntry(alone, items, 'cpu', 1, reps),
        'fusedloss cpu 1T, + metrics ndcg@10 mrr': fusedEntry(both, items, 'cpu', 1, reps),
        // Where no addon loads, against the float64 reference (issue 19's 20x).
        'fusedloss wasm, + metrics ndcg@10 mrr': fusedEntry(both, items, 'wasm', 1, Math.ceil(reps / 4)),
        'fusedloss js (f64), + metrics ndcg@10 mrr': fusedEntry(both, items, 'js', THREADS, 1),
      },
    };
  };
  return [
    {
      loss: 'NDCG@10',
      family: 'ranking',
      quick: true,
      size,
      backends: {
        ...fused((backend) => ndcg(d.scores, d.relevance, { listSize: n, k: 10, backend }).value, 0, {
          cpu: 40,
          js: 2,
        }),
        ...tfjs(() => ndcgTfjs(d.scores, d.relevance, lists, n, 10), { cpu: 10, wasm: 10 }),
      },
    },
    ...losses.map(withMetrics),
  ];
}

/**
 * Peak RSS growth of linearCrossEntropy at B = 4096, D = 256, C = 65536 (dense logits: 1 GiB), in a
 * fresh process (bench/linear-rss.ts), so the process's peak is the call's.
 */
function linearRss(): { growthMiB: number; seconds: number } | null {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'linear-rss.ts')], {
    encoding: 'utf8',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) {
    console.warn(`  linear-rss failed: ${r.stderr.slice(0, 400)}`);
    return null;
  }
  return JSON.parse(line) as { growthMiB: number; seconds: number };
}

const ALL_CASES: Case[] = [
  {
    loss: 'AnyLoss-F1 binary',
    family: 'confusion',
    quick: true,
    size: 'n=1e6',
    bytes: {
      actual: 24 * N,
      actualNote:
        '24 B/el: pass 1 reads scores + labels (f32) and writes a stash to grad, pass 2 reads labels + stash and writes grad',
      minimum: 12 * N,
      minimumNote: '12 B/el: read scores and labels once, write grad once',
    },
    exps: 2 * N, // sigmoid(score), then sigmoid of the amplified score
    backends: {
      ...fused((backend, out) => anyLoss(binX, binY, { backend, out }).loss, N, { cpu: 60, js: 5 }),
      [`${BASELINE}, u8 labels`]: fusedEntry(
        (backend, out) => anyLoss(binX, binYu8, { backend, out }).loss,
        N,
        'cpu',
        THREADS,
        30,
        {
          actual: 18 * N,
          actualNote: '18 B/el: as above with 1-byte labels',
          minimum: 9 * N,
          minimumNote: '9 B/el',
        },
      ),
      ...tfjs(() => anyLossF1Binary(binX, binY), { cpu: 5, wasm: 10 }),
    },
  },
  {
    loss: 'AnyLoss-F1 macro',
    family: 'confusion',
    size: `${ROWS}x${C}`,
    bytes: {
      actual: ROWS * (16 * C + 8),
      actualNote: `${(16 * C + 8) / C} B/el: pass 1 reads scores + int32 label and writes softmax to grad, pass 2 reads label + stash and writes grad`,
      minimum: ROWS * (8 * C + 4),
      minimumNote: `${(8 * C + 4) / C} B/el: read scores and labels once, write grad once`,
    },
    exps: 2 * ROWS * C, // the softmax, then the amplified sigmoid
    backends: {
      ...fused((backend, out) => anyLoss(mcX, mcY, { classes: C, backend, out }).loss, ROWS * C, { cpu: 60, js: 5 }),
      ...tfjs(() => anyLossF1Macro(mcX, mcY, C), { cpu: 5, wasm: 10 }),
    },
  },
  ...classCases(),
  ...rankingCases(4096, 64, { cpu: 40, js: 2, tfjs: 10 }, true),
  ...rankingCases(256, 1024, { cpu: 40, js: 1, tfjs: 10 }),
  gradedListMLECase(4096, 64, { cpu: 40, js: 2, tfjs: 10 }),
  ...metricCases(8000, 40),
  ...pairCases(),
  ...gpwCases(),
  ...headCases(HEAD_ROWS, THREADS, setThreads).map((c, i): Case => ({ ...c, family: 'head', quick: i === 1 })),
  ...linearCases(),
  ...proxyCases(),
];

const ARGS = process.argv.slice(2).map((w) => w.toLowerCase());
const FULL = ARGS.includes('--full');
const WORDS = ARGS.filter((w) => w !== '--full');
const CASES = WORDS.length
  ? ALL_CASES.filter((c) => WORDS.some((w) => `${c.loss} ${c.family}`.toLowerCase().includes(w)))
  : ALL_CASES.filter((c) => FULL || c.quick);

// ---- measuring ----

interface Row extends Timing {
  loss: string;
  size: string;
  backend: string;
  ratio?: number;
  /** Bytes one call moves (native rows). */
  bytes?: { actual: number; minimum: number };
  /** GB/s counting the kernel's actual traffic, and counting the compulsory minimum. */
  gbps?: number;
  gbpsMinimum?: number;
  /** GFLOP/s of a compute-bound loss (native rows). */
  gflops?: number;
  /**
   * Native rows: the case's limit (the larger of compulsory bytes at the triad and exps at the exp
   * probe's rate for a streaming loss; flops at the FMA probe for a pair loss), what sets it, and
   * the limit as a fraction of the median and of the fastest call.
   */
  limit?: { ms: number; by: 'memory' | 'exp' | 'FMA'; ofMedian: number; ofMin: number };
  check?: { lossRelDiff: number; gradMaxDiffRel: number; ok: boolean };
}

const LOSS_TOL = 1e-4;
const GRAD_TOL = 1e-4; // of the largest gradient magnitude, as DESIGN.md asks of backends

function compare(a: { loss: number; grad: Float32Array }, ref: { loss: number; grad: Float32Array }): Row['check'] {
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.grad.length; i++) {
    maxRef = Math.max(maxRef, Math.abs(ref.grad[i]));
    maxDiff = Math.max(maxDiff, Math.abs(a.grad[i] - ref.grad[i]));
  }
  const lossRelDiff = Math.abs(a.loss - ref.loss) / Math.max(Math.abs(ref.loss), 1e-30);
  const gradMaxDiffRel = maxDiff / Math.max(maxRef, 1e-30);
  return { lossRelDiff, gradMaxDiffRel, ok: lossRelDiff <= LOSS_TOL && gradMaxDiffRel <= GRAD_TOL };
}

/**
 * The progress bar's estimate of a row, in ms: from the last run's median where latest.json has
 * the row (its calls and warm-up, plus a second of setup), else a guess of 5 s.
 */
function expectedMs(last: Row[], c: Case, backend: string, e: BackendEntry): number {
  const r = last.find((x) => x.loss === c.loss && x.size === c.size && x.backend === backend);
  if (!r) return 5000;
  return r.medianMs * (r.reps + (e.warmup ?? 1) + 1) + (e.warmupMs ?? 0) + 1000;
}

/** The machine's limits, measured once per run. */
interface Limits {
  triadGBs: number;
  fmaGflops: number;
  gexps: number;
}

/** The time a native call of `c` cannot beat on this machine, and what sets it. */
function caseLimit(
  c: Case,
  bytes: Bytes | undefined,
  lim: Limits,
): { ms: number; by: 'memory' | 'exp' | 'FMA' } | undefined {
  if (c.flops) return { ms: c.flops / (lim.fmaGflops * 1e6), by: 'FMA' };
  if (!bytes) return undefined;
  const memory = bytes.minimum / (lim.triadGBs * 1e6);
  const exp = (c.exps ?? 0) / (lim.gexps * 1e6);
  return exp > memory ? { ms: exp, by: 'exp' } : { ms: memory, by: 'memory' };
}

async function runCase(c: Case, progress: Progress, lim: Limits): Promise<Row[]> {
  const rows: Row[] = [];
  const results = new Map<string, { loss: number; grad: Float32Array }>();
  for (const [backend, entry] of Object.entries(c.backends)) {
    if (entry.wasm && !WASM.available) continue;
    const expected = expectedMs(progress.last, c, backend, entry);
    progress.bar.update({ step: `${c.loss} ${c.size}, ${backend}` });
    await redraw();
    const runner = await entry.setup();
    results.set(backend, runner.result());
    const t = timeCalls(() => runner.step(), { reps: entry.reps, warmup: entry.warmup, warmupMs: entry.warmupMs });
    runner.dispose?.();
    progress.bar.increment(expected);
    const row: Row = { loss: c.loss, size: c.size, backend, ...t };
    const bytes = entry.bytes ?? c.bytes;
    if (entry.native && bytes) {
      row.bytes = { actual: bytes.actual, minimum: bytes.minimum };
      row.gbps = bytes.actual / (t.medianMs * 1e6);
      row.gbpsMinimum = bytes.minimum / (t.medianMs * 1e6);
    }
    if (entry.native && c.flops) row.gflops = c.flops / (t.medianMs * 1e6);
    const limit = entry.native ? caseLimit(c, bytes, lim) : undefined;
    if (limit) row.limit = { ...limit, ofMedian: limit.ms / t.medianMs, ofMin: limit.ms / t.minMs };
    rows.push(row);
  }
  setThreads(THREADS);
  const base = rows.find((r) => r.backend === BASELINE);
  const ref = results.get(BASELINE);
  for (const r of rows) {
    if (base) r.ratio = r.medianMs / base.medianMs;
    if (ref && r.backend !== BASELINE && !c.backends[r.backend].unchecked)
      r.check = compare(results.get(r.backend)!, ref);
  }
  return rows;
}

/** Lets the bar's timer draw (the timed calls are synchronous and would hold it off). */
const redraw = () => new Promise((resolve) => setTimeout(resolve, 0));

interface Progress {
  bar: SingleBar;
  /** The rows of the last run (bench/results/latest.json), for the estimates. */
  last: Row[];
}

// ---- report ----

/** Columns left-aligned up to `left`, the rest right-aligned; each at most `max[j]` wide (cut with …). */
function table(header: string[], body: string[][], left: number, max: number[]): string {
  const cut = (s: string, j: number) => (s.length > max[j] ? s.slice(0, max[j] - 1) + '…' : s);
  const cells = [header, ...body].map((r) => r.map(cut));
  const w = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((s, j) => (j < left ? s.padEnd(w[j]) : s.padStart(w[j]))).join('  ');
  return [line(cells[0]), w.map((n) => '-'.repeat(n)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** The console table: one line per case and backend, at most 120 columns; the rest is in the JSON. */
function consoleTable(rows: Row[]): string {
  const wasm = (r: Row) => rows.find((x) => x.loss === r.loss && x.size === r.size && x.backend === TFJS_WASM);
  const times = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)}x`;
  const pct = (r: Row) => (r.limit ? ` ${(100 * r.limit.ofMedian).toFixed(0)}% ${r.limit.by.toLowerCase()}` : '');
  const rate = (r: Row) =>
    r.gbps !== undefined
      ? `${r.gbps.toFixed(1)} GB/s${pct(r)}`
      : r.gflops !== undefined
        ? `${r.gflops.toFixed(0)} GFLOP/s${pct(r)}`
        : '';
  let last = '';
  const body = rows.map((r) => {
    const name = `${r.loss} ${r.size}`;
    const w = wasm(r);
    const cells = [
      name === last ? '' : name,
      r.backend,
      fmt(r.medianMs, r.medianMs < 10 ? 2 : 0),
      r.ratio === undefined ? '' : times(r.ratio),
      w && r !== w ? times(w.medianMs / r.medianMs) : '',
      rate(r),
      r.check ? (r.check.ok ? 'ok' : 'BAD') : '',
    ];
    last = name;
    return cells;
  });
  const header = ['case', 'backend', 'median ms', `/ cpu ${THREADS}T`, 'wasm/this', 'rate, % of limit', 'check'];
  return table(header, body, 2, [38, 22, 9, 10, 9, 24, 5]);
}

/** Share of CPU time spent busy across all CPUs over `ms` milliseconds (while this process sleeps). */
async function cpuBusy(ms: number): Promise<number> {
  const a = os.cpus();
  await new Promise((r) => setTimeout(r, ms));
  const b = os.cpus();
  let total = 0;
  let idle = 0;
  b.forEach((cpu, i) => {
    const t0 = a[i].times;
    const t1 = cpu.times;
    total += t1.user + t1.nice + t1.sys + t1.irq + t1.idle - (t0.user + t0.nice + t0.sys + t0.irq + t0.idle);
    idle += t1.idle - t0.idle;
  });
  return total > 0 ? 1 - idle / total : 0;
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
    /** The level the CPU kernels run at (FUSEDLOSS_ISA caps it). */
    isa: backends().cpu.isa,
    date: new Date().toISOString(),
    /** Share of the CPUs busy with other work just before measuring: it skews every row. */
    busyBefore: await cpuBusy(500),
  };
  console.log(
    `fusedloss bench: ${machine.cpu}, ${machine.cores} threads, ${machine.memoryGiB} GiB, Node ${machine.node}, ` +
      `CPU kernels at ${machine.isa}\n`,
  );
  if (machine.busyBefore > 0.1) {
    console.warn(
      `  warning: ${(100 * machine.busyBefore).toFixed(0)}% of the CPUs were busy with other work just before: the timings are skewed\n`,
    );
  }

  // STREAM triad a = b + 3 c over 3 arrays of 2^25 doubles (768 MiB; 2^24, 384 MiB, in the quick
  // run, which keeps under 2 GB, and on small machines), best of 5.
  setThreads(THREADS);
  const triadN = FULL && os.totalmem() >= 8 * 2 ** 30 ? 2 ** 25 : 2 ** 24;
  const triadGBs = addon.triadBandwidth(triadN, 5);
  console.log(
    `  memory bandwidth (STREAM triad, 3 x 2^${Math.log2(triadN)} doubles, ${THREADS} threads): ${triadGBs.toFixed(1)} GB/s`,
  );

  // FMA peak: register-only multiply-adds on every thread at the kernels' level. Best of 100 runs of
  // about 2 ms: on a shared machine a long run is always preempted somewhere (best of 5 runs of 40
  // ms read half the peak with seven other jobs running).
  const fma = addon.fmaPeak(5e5, 100);
  console.log(`  compute peak (register-only FMA, ${fma.isa}, ${THREADS} threads): ${fma.gflops.toFixed(1)} GFLOP/s`);
  // The kernels' own float exp over an L1-resident block on every thread, at their level, best of
  // 100 runs of about 2 ms, as the FMA peak.
  const exp = addon.expRate(2000, 100);
  console.log(`  exp rate (exp_nonpos, ${exp.isa}, ${THREADS} threads): ${exp.gexps.toFixed(2)} G/s`);
  const limits: Limits = { triadGBs, fmaGflops: fma.gflops, gexps: exp.gexps };

  const dir = path.join(__dirname, 'results');
  const file = path.join(dir, 'latest.json');
  const last: Row[] = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).rows : [];
  const progress: Progress = {
    bar: new SingleBar({
      format: '  {bar} {percentage}% | about {eta_formatted} left | {step}',
      barsize: 24,
      etaBuffer: 1000,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
      formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? String(Math.round(v / 1000)) : String(v)),
    }),
    last,
  };
  const total = CASES.reduce(
    (sum, c) => sum + Object.entries(c.backends).reduce((t, [b, e]) => t + expectedMs(last, c, b, e), 0),
    0,
  );
  console.log(
    `\n${CASES.length} cases${FULL || WORDS.length ? '' : ' (the quick set; --full runs all)'}` +
      (last.length ? '; the estimate comes from the last run' : '; first run: the estimate is a guess'),
  );
  progress.bar.start(total, 0, { step: '' });
  const rows: Row[] = [];
  for (const c of CASES) rows.push(...(await runCase(c, progress, limits)));
  progress.bar.update(total, { step: 'done' });
  progress.bar.stop();

  console.log('\n' + consoleTable(rows));
  console.log(
    `"/ cpu ${THREADS}T": time over ${BASELINE}'s; "wasm/this": how many times faster than tfjs wasm; rate: GB/s of` +
      " the\nkernel's traffic or GFLOP/s, then the case's limit as a share of the median: compulsory bytes at the triad\n" +
      '(memory) or exps at the exp rate (exp), whichever is longer, for a streaming loss; flops at the FMA peak for a\n' +
      'pair loss. Min times, the limit against them, bytes, reps: latest.json.',
  );

  const mismatches = rows.filter((r) => r.check && !r.check.ok).length;
  if (mismatches) {
    console.error(`  ${mismatches} row(s) disagree with ${BASELINE} beyond the tolerance`);
    process.exitCode = 1;
  }

  const rss = CASES.some((c) => c.loss === 'linear cross-entropy') ? linearRss() : null;
  if (rss) {
    console.log(
      `linear cross-entropy, B=4096 D=256 C=65536 (dense logits 1 GiB): peak RSS growth ${rss.growthMiB} MiB` +
        ` beyond inputs and outputs (limit 300 MiB), ${rss.seconds.toFixed(1)} s on the CPU`,
    );
  }

  console.log(
    `Limits in this run: memory bandwidth ${triadGBs.toFixed(1)} GB/s (STREAM triad), FMA peak ${fma.gflops.toFixed(1)} GFLOP/s` +
      ` (${fma.isa}), exp ${exp.gexps.toFixed(2)} G/s (${exp.isa}).\nWhat each case's bytes, exps and flops count: latest.json, "cases".`,
  );

  fs.mkdirSync(dir, { recursive: true });
  const report = {
    machine,
    triad: { GBps: triadGBs, doubles: triadN, threads: THREADS },
    fma: { GFLOPs: fma.gflops, isa: fma.isa, threads: THREADS },
    exp: { Gexps: exp.gexps, isa: exp.isa, threads: THREADS },
    limit:
      'streaming losses: the larger of the compulsory bytes at the triad and the exps at the exp rate; pair losses: flops at the FMA peak',
    cases: CASES.map((c) => ({ loss: c.loss, size: c.size, bytes: c.bytes, exps: c.exps, flops: c.flops })),
    linearCrossEntropyRss: rss,
    tolerance: { loss: LOSS_TOL, grad: GRAD_TOL },
    rows,
  };
  fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  const chart = path.join(dir, 'latest.svg');
  const title = `fused forward + backward against the same loss in tfjs ops on tfjs wasm: ${machine.cpu}, ${THREADS} threads, ${machine.date.slice(0, 10)}`;
  fs.writeFileSync(chart, await speedupChartSvg(rows, CASES, title));
  headReport(rows, HEAD_ROWS, dir);
  console.log(`\nwrote ${path.relative(process.cwd(), file)} and ${path.relative(process.cwd(), chart)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
