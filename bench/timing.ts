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
  return { medianMs: median(times), minMs: Math.min(...times), reps: times.length };
}

/** The median of `v` (the mean of the middle two for an even count). */
/** The largest |a[i] - b[i]| over the largest |a[i]|: how far build B's gradient is from A's. */
export function relativeGap(a: Float32Array, b: Float32Array): number {
  let gap = 0,
    scale = 0;
  for (let i = 0; i < a.length; i++) {
    gap = Math.max(gap, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return gap / scale;
}

export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A uniform random permutation of 0 .. n - 1 (Fisher-Yates). */
export function permutation(n: number, rand: () => number): number[] {
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  return perm;
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
