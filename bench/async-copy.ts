// What the async calls' private copies (src/wire.ts) cost at the bench's softmax size, 4096 x 1000:
// the copies alone (the logits and targets in, the gradient back), next to the sync call, which
// makes none, and the async call, which makes them. `node --import tsx bench/async-copy.ts`
import { softmaxCrossEntropy, softmaxCrossEntropyAsync } from '../src';

const rows = 4096,
  classes = 1000,
  reps = 30;
const x = Float32Array.from({ length: rows * classes }, (_, i) => Math.sin(i));
const t = Int32Array.from({ length: rows }, (_, i) => i % classes);
const out = new Float32Array(rows * classes);

async function ms(f: () => unknown): Promise<number> {
  await f();
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await f();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times.sort((a, b) => a - b)[reps >> 1];
}

void (async () => {
  const copies = await ms(() => {
    const xc = x.slice(),
      tc = t.slice(),
      oc = new Float32Array(out.length);
    out.set(oc);
    return xc.length + tc.length;
  });
  const sync = await ms(() => softmaxCrossEntropy(x, t, { classes, out }));
  const async = await ms(() => softmaxCrossEntropyAsync(x, t, { classes, out }));
  console.log(
    `softmax CE ${rows}x${classes}, median of ${reps}: copies ${copies.toFixed(2)} ms, sync call ${sync.toFixed(2)} ms, async call ${async.toFixed(2)} ms`,
  );
})();
