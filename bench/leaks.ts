// Leak check: calls every loss, sync and async, CALLS times each on small inputs, and reports the
// growth of the process's resident memory (RSS) and of V8's external memory (ArrayBuffers) after
// a warm-up. Fails (exit 1) when RSS grows by 5 MB or more, or external memory by 1 MB or more.
//
// Run: npm run leaks   (node --expose-gc; CALLS=100000 by default, FUSEDLOSS_LEAK_CALLS to change)
import { LOSS_LIST } from '../src/registry';

const CALLS = Number(process.env.FUSEDLOSS_LEAK_CALLS ?? 100_000);
const WARMUP = Math.min(10_000, CALLS);
const BATCH = 64; // async calls in flight at once

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run leaks does)');

// Each loss of the registry as a sync call and its Async twin on its small sample, on fresh output
// each time (as a user would).
type Pair = [string, () => unknown, () => Promise<unknown>];
const LOSSES: Pair[] = LOSS_LIST.map((e) => {
  const args = e.sample('small');
  return [
    e.name,
    () => (e.sync as (...a: unknown[]) => unknown)(...args),
    () => (e.async as (...a: unknown[]) => Promise<unknown>)(...args),
  ];
});

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
