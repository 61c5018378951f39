// Peak resident memory of linearCrossEntropy on the CPU at B = 4096, D = 256, C = 65536 (issue 21:
// growth under 300 MiB beyond the inputs and outputs; the dense logits alone would take 1 GiB):
// `npx tsx bench/linear-rss.ts [B] [D] [C]`. Prints the RSS before the call (inputs and gradient
// buffers allocated and touched), the peak after, and the growth; exits 1 past 300 MiB.
import * as fs from 'node:fs';
import { linearCrossEntropy } from '../src';
import { mulberry32 } from '../src/random';
import { normals } from './timing';

const [B, D, C] = [4096, 256, 65536].map((v, i) => Number(process.argv[2 + i] ?? v));
const rand = mulberry32(7);
const hidden = normals(B * D, rand);
const weight = normals(C * D, rand).map((v) => v / 16);
const targets = Int32Array.from({ length: B }, () => Math.floor(rand() * C));
const out = { gradHidden: new Float32Array(B * D).fill(0), gradWeight: new Float32Array(C * D).fill(0) };
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

// The process's peak RSS. On Linux it is reset to the current RSS once the inputs exist (writing 5 to
// /proc/self/clear_refs), so the temporaries that made them do not hide the call's own peak (without
// the reset this printed a growth of 0); elsewhere it is the peak since the process started.
const linux = (() => {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
})();
function peakBytes(): number {
  const hwm = linux ? /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8')) : null;
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}
const before = linux ? process.memoryUsage().rss : peakBytes();
const t0 = performance.now();
const { loss } = linearCrossEntropy(hidden, weight, targets, { dim: D, out, backend: 'cpu' });
const ms = performance.now() - t0;
const peak = peakBytes();
const growth = peak - before;
console.log(
  JSON.stringify({
    B,
    D,
    C,
    loss,
    seconds: ms / 1000,
    rssBeforeMiB: +mib(before),
    rssPeakMiB: +mib(peak),
    growthMiB: +mib(growth),
  }),
);
if (growth > 300 * 2 ** 20) {
  console.error(`peak RSS grew by ${mib(growth)} MiB, over 300 MiB`);
  process.exitCode = 1;
}
