// Two WebAssembly builds in one process, timed interleaved as bench/ab.ts times two native builds:
// `node --import tsx bench/ab-wasm.ts DIR_A DIR_B [case ...]`, each DIR holding a build's
// fusedloss.js and fusedloss.wasm (prebuilds/wasm32 after `npm run build:wasm`, or a copy). The
// cases are the pairwise ranking losses at bench/run.ts's metrics size (8000 lists x 40, graded 0-4).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../src/random';
import { addonFor } from '../src/native';
import { instantiateWasm, type WasmFactory } from '../src/wasm';
import { guardAddon } from '../src/wire';
import { median, normals, relativeGap } from './timing';

const [dirA, dirB, ...words] = process.argv.slice(2).map((a, i) => (i < 2 ? path.resolve(a) : a));
if (!dirA || !dirB) throw new Error('usage: bench/ab-wasm.ts DIR_A DIR_B [case ...]');
const ROUNDS = Number(process.env.AB_ROUNDS ?? 11);
const BLOCK = Number(process.env.AB_BLOCK ?? 5);

type Addon = Record<string, unknown>;
function load(dir: string): Addon {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- Emscripten's CommonJS loader
  const factory = require(path.join(dir, 'fusedloss.js')) as WasmFactory;
  const module = new WebAssembly.Module(readFileSync(path.join(dir, 'fusedloss.wasm')));
  return guardAddon(instantiateWasm(module, factory) as unknown as Addon);
}

void (async () => {
  const fl = await import('../src');
  const A = load(dirA),
    B = load(dirB);
  // The wasm addon src calls: each entry point routed to `side`.
  const routed = addonFor('wasm') as unknown as Addon;
  let side = A;
  for (const name of Object.keys(A))
    if (typeof A[name] === 'function')
      routed[name] = (...a: unknown[]) => (side[name] as (...a: unknown[]) => unknown)(...a);

  const rand = mulberry32(20240601);
  const lists = 8000,
    n = 40;
  const scores = normals(lists * n, rand);
  const relevance = Float32Array.from({ length: lists * n }, () => Math.floor(rand() * 5));
  const o = { listSize: n, backend: 'wasm' as const };
  const cases: Array<{ name: string; call(out: Float32Array): number }> = [
    { name: 'lambdaLoss none', call: (out) => fl.lambdaLoss(scores, relevance, { ...o, out }).loss },
    {
      name: 'lambdaLoss ndcgLoss2PP',
      call: (out) => fl.lambdaLoss(scores, relevance, { ...o, out, scheme: 'ndcgLoss2PP' }).loss,
    },
    {
      name: 'lambdaLoss ndcgLoss1',
      call: (out) => fl.lambdaLoss(scores, relevance, { ...o, out, scheme: 'ndcgLoss1' }).loss,
    },
    { name: 'rankNet', call: (out) => fl.rankNet(scores, relevance, { ...o, out }).loss },
    {
      name: 'lambdaLoss + metrics',
      call: (out) => fl.lambdaLoss(scores, relevance, { ...o, out, metrics: ['ndcg@10', 'mrr'] }).loss,
    },
  ];
  const chosen = words.length ? cases.filter((c) => words.some((w) => c.name.toLowerCase().includes(w))) : cases;
  console.log(`A ${dirA}\nB ${dirB}\n${ROUNDS} rounds x ${BLOCK} calls a side`);
  for (const c of chosen) {
    const outA = new Float32Array(lists * n),
      outB = new Float32Array(lists * n);
    side = A;
    const la = c.call(outA);
    side = B;
    const lb = c.call(outB);
    // Warm-up: V8 runs a wasm function in its baseline tier (Liftoff) until it is hot.
    for (const [sd, out] of [
      [A, outA],
      [B, outB],
    ] as const) {
      side = sd;
      for (const t0 = performance.now(); performance.now() - t0 < 1000;) c.call(out);
    }
    const times = { A: [] as number[], B: [] as number[] };
    for (let r = 0; r < ROUNDS; r++)
      for (const s of r % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
        side = s === 'A' ? A : B;
        const out = s === 'A' ? outA : outB;
        const block: number[] = [];
        for (let i = 0; i < BLOCK; i++) {
          const t0 = performance.now();
          c.call(out);
          block.push(performance.now() - t0);
        }
        times[s].push(median(block));
      }
    const ratios = times.A.map((a, i) => times.B[i] / a);
    console.log(
      `${c.name.padEnd(24)} A ${median(times.A).toFixed(2)} ms  B ${median(times.B).toFixed(2)} ms  ` +
        `B/A ${median(ratios).toFixed(3)} (rounds ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})` +
        `  min A ${Math.min(...times.A).toFixed(2)} B ${Math.min(...times.B).toFixed(2)}\n` +
        `${''.padEnd(24)} loss A ${la} B ${lb}; grad max |A-B| ${relativeGap(outA, outB).toExponential(2)} of max |A|`,
    );
  }
})();
