// Peak resident memory of the pairwise CPU kernels at N = 32768, D = 256 (issue 5: under 1 GiB;
// the materialised S would take 4 GiB): `npx tsx bench/pairs-rss.ts [N] [D]`. Prints the RSS
// before the call (inputs and gradient allocated), the peak after, and the difference.
import { multiSimilarity, supCon } from '../src';
import { mulberry32 } from '../src/random';
import { normals } from './timing';

const n = Number(process.argv[2] ?? 32768),
  dim = Number(process.argv[3] ?? 256);
const rand = mulberry32(5);
const x = normals(n * dim, rand);
const y = Int32Array.from({ length: n }, () => Math.floor(rand() * 64));
const out = new Float32Array(n * dim);
out.fill(0); // touch the pages, so they count before the call
const mib = (kib: number) => (kib / 1024).toFixed(0);
const before = process.resourceUsage().maxRSS;
const t0 = performance.now();
const loss = multiSimilarity(x, y, { dim, out }).loss;
const ms = performance.now() - t0;
supCon(x, y, { dim, out });
const peak = process.resourceUsage().maxRSS;
console.log(`N = ${n}, D = ${dim}: inputs ${mib((n * dim * 4) / 1024)} MiB, gradient the same`);
console.log(`multiSimilarity loss ${loss.toFixed(6)} in ${(ms / 1000).toFixed(1)} s (then supCon)`);
console.log(`peak RSS before the calls ${mib(before)} MiB, after ${mib(peak)} MiB (+${mib(peak - before)} MiB)`);
if (peak > 1024 * 1024) {
  console.error('peak RSS is over 1 GiB');
  process.exitCode = 1;
}
