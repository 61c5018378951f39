// Per-call overhead: what a call costs beyond its arithmetic, timed on 4-element calls of one loss
// per family on the native CPU backend, sync, with a fresh gradient (no `out`) and with `out`
// reused, and anyLossAsync awaited one call at a time; each figure the median of 15 rounds of
// `calls` calls. `node --import tsx bench/overhead.ts [root] [calls]` times the fusedloss checkout
// at `root` (default this one), so that two checkouts can be run back to back on one machine.
import * as path from 'node:path';

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const CALLS = Number(process.argv[3] ?? 20_000);
const ROUNDS = 15;

/** Median microseconds a call, over ROUNDS rounds of CALLS calls (each awaited when `awaited`). */
async function perCall(f: () => unknown, awaited: boolean): Promise<number> {
  const us: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    if (awaited) for (let i = 0; i < CALLS; i++) await f();
    else for (let i = 0; i < CALLS; i++) f();
    us.push(Number(process.hrtime.bigint() - t0) / 1e3 / CALLS);
  }
  return us.sort((a, b) => a - b)[ROUNDS >> 1];
}

void (async () => {
  const fl = (await import(path.join(root, 'src'))) as typeof import('../src');
  const x = new Float32Array([2.1, -0.3, 0.7, -1.8]);
  const cpu = { backend: 'cpu' } as const;
  // One loss per family of the registry, each on 4 scores (2 x 2 where there are rows).
  const cases: Array<[string, (out?: Float32Array) => unknown]> = [
    ['anyLoss (confusion)', (out) => fl.anyLoss(x, new Float32Array([1, 0, 1, 1]), { ...cpu, out })],
    [
      'softmaxCrossEntropy (spherical)',
      (out) => fl.softmaxCrossEntropy(x, new Int32Array([0, 1]), { ...cpu, classes: 2, out }),
    ],
    ['listMLE (ranking)', (out) => fl.listMLE(x, new Float32Array([3, 0, 1, 2]), { ...cpu, listSize: 4, out })],
    ['contrastive (pairs)', (out) => fl.contrastive(x, new Int32Array([0, 1]), { ...cpu, dim: 2, out })],
  ];
  const rows: string[] = [];
  for (const [name, call] of cases) {
    const out = new Float32Array(4);
    const fresh = await perCall(() => call(), false);
    const reused = await perCall(() => call(out), false);
    rows.push(`${name.padEnd(34)} ${fresh.toFixed(2).padStart(8)} ${reused.toFixed(2).padStart(8)}`);
  }
  const y = new Float32Array([1, 0, 1, 1]);
  const async = await perCall(() => fl.anyLossAsync(x, y, cpu), true);
  rows.push(`${'anyLossAsync, awaited (confusion)'.padEnd(34)} ${async.toFixed(2).padStart(8)}`);
  console.log(`${root}: us a call, median of ${ROUNDS} rounds x ${CALLS} calls`);
  console.log(`${'4 elements, backend cpu'.padEnd(34)} ${'fresh'.padStart(8)} ${'out'.padStart(8)}`);
  for (const r of rows) console.log(r);
})();
