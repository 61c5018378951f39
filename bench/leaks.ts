// Leak check: calls every loss, sync and async, CALLS times each on small inputs, and reports the
// growth of the process's resident memory (RSS) and of V8's external memory (ArrayBuffers) after
// a warm-up. Fails (exit 1) when RSS grows by 5 MB or more, or external memory by 1 MB or more.
//
// Run: npm run leaks   (node --expose-gc; CALLS=100000 by default, FUSEDLOSS_LEAK_CALLS to change)
import * as fl from '../src';
import { mulberry32 } from '../src/random';

const CALLS = Number(process.env.FUSEDLOSS_LEAK_CALLS ?? 100_000);
const WARMUP = Math.min(10_000, CALLS);
const BATCH = 64; // async calls in flight at once

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run leaks does)');

const r = mulberry32(1);
const rand = (n: number, scale = 2) => Float32Array.from({ length: n }, () => (r() - 0.5) * scale);
const ints = (n: number, k: number) => Int32Array.from({ length: n }, () => Math.floor(r() * k));
const x = rand(64);
const y = Float32Array.from(ints(64, 2));
const logits = rand(8 * 8);
const ids = ints(8, 8);
const rel = Float32Array.from(ints(64, 4));
const emb = rand(16 * 4);
const ey = ints(16, 3);

// Each loss as a sync call and its Async twin, on fresh output each time (as a user would).
type Pair = [string, () => unknown, () => Promise<unknown>];
const L = { listSize: 8 };
const P = { dim: 4 };
const C = { classes: 8 };
const LOSSES: Pair[] = [
  ['anyLoss', () => fl.anyLoss(x, y), () => fl.anyLossAsync(x, y)],
  ['softConfusion', () => fl.softConfusion(x, y), () => fl.softConfusionAsync(x, y)],
  ['diceLoss', () => fl.diceLoss(x, y), () => fl.diceLossAsync(x, y)],
  ['tverskyLoss', () => fl.tverskyLoss(x, y), () => fl.tverskyLossAsync(x, y)],
  ['binaryCrossEntropy', () => fl.binaryCrossEntropy(x, y), () => fl.binaryCrossEntropyAsync(x, y)],
  ['sigmoidFocal', () => fl.sigmoidFocal(x, y), () => fl.sigmoidFocalAsync(x, y)],
  ['zLoss', () => fl.zLoss(logits, ids, C), () => fl.zLossAsync(logits, ids, C)],
  [
    'sphericalLoss',
    () => fl.sphericalLoss(logits, ids, { ...C, kind: 'mse' }),
    () => fl.sphericalLossAsync(logits, ids, { ...C, kind: 'mse' }),
  ],
  [
    'softmaxCrossEntropy',
    () => fl.softmaxCrossEntropy(logits, ids, { ...C, reduction: 'none' }),
    () => fl.softmaxCrossEntropyAsync(logits, ids, { ...C, reduction: 'none' }),
  ],
  ['rankList', () => fl.rankList(x, rel, L), () => fl.rankListAsync(x, rel, L)],
  ['listMLE', () => fl.listMLE(x, rel, L), () => fl.listMLEAsync(x, rel, L)],
  ['listNet', () => fl.listNet(x, rel, L), () => fl.listNetAsync(x, rel, L)],
  ['rankNet', () => fl.rankNet(x, rel, L), () => fl.rankNetAsync(x, rel, L)],
  ['lambdaLoss', () => fl.lambdaLoss(x, rel, L), () => fl.lambdaLossAsync(x, rel, L)],
  [
    'plackettLuceDistill',
    () => fl.plackettLuceDistill(logits, logits, ids),
    () => fl.plackettLuceDistillAsync(logits, logits, ids),
  ],
  ['multiSimilarity', () => fl.multiSimilarity(emb, ey, P), () => fl.multiSimilarityAsync(emb, ey, P)],
  ['contrastive', () => fl.contrastive(emb, ey, P), () => fl.contrastiveAsync(emb, ey, P)],
  ['tripletBatchHard', () => fl.tripletBatchHard(emb, ey, P), () => fl.tripletBatchHardAsync(emb, ey, P)],
  ['circleLoss', () => fl.circleLoss(emb, ey, P), () => fl.circleLossAsync(emb, ey, P)],
  ['supCon', () => fl.supCon(emb, ey, P), () => fl.supConAsync(emb, ey, P)],
  ['ntXent', () => fl.ntXent(emb, null, P), () => fl.ntXentAsync(emb, null, P)],
  ['orthogonalProjection', () => fl.orthogonalProjection(emb, ey, P), () => fl.orthogonalProjectionAsync(emb, ey, P)],
];

async function calls(n: number): Promise<void> {
  for (const [, sync, async] of LOSSES) {
    for (let i = 0; i < n; i++) sync();
    for (let i = 0; i < n; i += BATCH) await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, async));
  }
}

function settle(): { rss: number; external: number } {
  for (let i = 0; i < 4; i++) gc!();
  const m = process.memoryUsage();
  return { rss: m.rss, external: m.external + m.arrayBuffers };
}

async function main(): Promise<void> {
  const t0 = Date.now();
  await calls(WARMUP);
  const before = settle();
  await calls(CALLS);
  const after = settle();
  const mb = (b: number) => (b / 2 ** 20).toFixed(2);
  const rss = after.rss - before.rss;
  const external = after.external - before.external;
  const total = CALLS * LOSSES.length * 2;
  console.log(
    `leaks: ${total} calls (${LOSSES.length} losses x ${CALLS} x sync and async) in ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
      `RSS ${mb(before.rss)} -> ${mb(after.rss)} MiB (${rss >= 0 ? '+' : ''}${mb(rss)}), ` +
      `external + ArrayBuffers ${mb(before.external)} -> ${mb(after.external)} MiB (${external >= 0 ? '+' : ''}${mb(external)})`,
  );
  if (rss >= 5 * 2 ** 20 || external >= 2 ** 20) {
    console.error('leaks: FAIL (limits: RSS +5 MB, external +1 MB)');
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
