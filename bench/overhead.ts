// Per-call overhead: 1e5 anyLoss calls on 4 elements, sync and async (awaited one at a time), as
// the median of 5 rounds. `node --import tsx bench/overhead.ts [root]` times the fusedloss checkout
// at `root` (default this one), so that two checkouts can be run back to back.
import * as path from 'node:path';

const root = path.resolve(process.argv[2] ?? path.join(__dirname, '..'));
const CALLS = 100_000;

void (async () => {
  const fl = (await import(path.join(root, 'src'))) as typeof import('../src');
  const x = new Float32Array([2.1, -0.3, 0.7, -1.8]);
  const y = new Float32Array([1, 0, 1, 1]);
  const rounds = async (f: () => unknown, awaited: boolean) => {
    const us: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = process.hrtime.bigint();
      if (awaited) for (let i = 0; i < CALLS; i++) await f();
      else for (let i = 0; i < CALLS; i++) f();
      us.push(Number(process.hrtime.bigint() - t0) / 1e3 / CALLS);
    }
    return us.sort((a, b) => a - b)[2];
  };
  const sync = await rounds(() => fl.anyLoss(x, y), false);
  const async = await rounds(() => fl.anyLossAsync(x, y), true);
  console.log(
    `${root}: anyLoss on 4 elements, median of 5 x ${CALLS} calls: sync ${sync.toFixed(2)} us, async ${async.toFixed(2)} us`,
  );
})();
