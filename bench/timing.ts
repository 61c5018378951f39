// Timing and seeded data for the benchmarks: the median of repeated calls after a warm-up.
import { performance } from 'node:perf_hooks';

export interface Timing {
  medianMs: number;
  minMs: number;
  /** Timed calls (the warm-up excluded). */
  reps: number;
}

export interface TimeOptions {
  /** Timed calls wanted. */
  reps: number;
  /** Untimed calls first (default 1). */
  warmup?: number;
  /** Keep warming up until this much time has passed too (default 0): lets the JIT, the thread
   * pool and the loader's own start-up work settle before fast calls are timed. */
  warmupMs?: number;
  /** Stop early once this much time has gone on timed calls and at least 3 were made (default 10 s). */
  budgetMs?: number;
}

/** Times `fn` call by call and returns the median and the minimum, in milliseconds. */
export function timeCalls(
  fn: () => unknown,
  { reps, warmup = 1, warmupMs = 0, budgetMs = 10_000 }: TimeOptions,
): Timing {
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupMs; i++) fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < reps && (times.length < 3 || performance.now() - start < budgetMs)) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const m = times.length >> 1;
  const medianMs = times.length % 2 ? times[m] : (times[m - 1] + times[m]) / 2;
  return { medianMs, minMs: times[0], reps: times.length };
}

/** n standard normal draws (Box-Muller) as float32. */
export function normals(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand())),
      t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}
