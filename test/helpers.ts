// Shared test helpers: seeded data, finite differences, the agreement measures DESIGN.md
// sets between backends (loss relative, gradient relative to its largest entry), and the shape of
// a documented error.

import { expect } from 'vitest';
import { backends, type Backend } from '../src';
import { mulberry32 as rng } from '../src/random';

/** Normal-ish values (sum of uniforms) times scale. */
export function randomScores(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() + r() + r() - 1.5) * 2 * scale);
}

export function randomProbabilities(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 0.05 + 0.9 * r());
}

export function randomBinaryLabels(n: number, seed: number, positive = 0.3): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() < positive ? 1 : 0));
}

export function randomClassLabels(n: number, classes: number, seed: number): Int32Array {
  const r = rng(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}

export function randomWeights(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => 0.25 + 1.5 * r());
}

/** Central finite differences of f at x (float64), step h. */
export function finiteDifferences(f: (x: Float64Array) => number, x: ArrayLike<number>, h: number): Float64Array {
  const xs = Float64Array.from(x);
  const g = new Float64Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    const v = xs[i];
    xs[i] = v + h;
    const up = f(xs);
    xs[i] = v - h;
    const down = f(xs);
    xs[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** max |a - b| / max |b| (0 when b is all zero and a equals it). */
export function gradError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0,
    scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function relError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);
}

/**
 * The one tolerance table of every suite (DESIGN.md "Numerics"): a loss within `loss` relative to
 * the wanted one, or within `lossAbs` absolute where the wanted loss is that close to 0 (relative
 * error means nothing at 0); a gradient within `grad` of the wanted gradient's largest entry.
 */
export const TOL = { loss: 1e-5, lossAbs: 1e-6, grad: 1e-4 } as const;

// float32's smallest normal: a difference below it is one float32 cannot hold, and counts as 0.
const FLT_MIN = 1.1754943508222875e-38;

/** A result as the suites compare them: a loss (or one per row) and a gradient. */
export interface Comparable {
  loss: number | ArrayLike<number>;
  grad: ArrayLike<number>;
}

/**
 * How far `got` is from `want`, in TOL's units: each error passes below its TOL entry. Per-row
 * losses are measured like a gradient (against the largest row). The numerics sweep keeps its own
 * measure (numerics.truth.ts): against a float64 truth at scales down to 1e-30 an absolute floor
 * would pass every tiny loss.
 */
export function agreement(got: Comparable, want: Comparable): { lossErr: number; gradErr: number } {
  const spread = (a: ArrayLike<number>, b: ArrayLike<number>, floor: number) => {
    let diff = a.length === b.length ? 0 : Infinity,
      scale = 0;
    for (let i = 0; i < b.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    // Against an all-zero truth (and no floor) the difference itself is the error, as gradError.
    const e = diff <= FLT_MIN ? 0 : diff / (Math.max(scale, floor) || 1);
    return Number.isNaN(e) ? Infinity : e;
  };
  const lossFloor = TOL.lossAbs / TOL.loss;
  const lossErr =
    typeof got.loss === 'number' || typeof want.loss === 'number'
      ? spread([Number(got.loss)], [Number(want.loss)], lossFloor)
      : spread(got.loss, want.loss, lossFloor);
  return { lossErr, gradErr: spread(got.grad, want.grad, 0) };
}

/** `got` agrees with `want` by TOL (`what` names the case in a failure). */
export function expectAgree(got: Comparable, want: Comparable, what = ''): void {
  const { lossErr, gradErr } = agreement(got, want);
  const show = (v: number | ArrayLike<number>) => (typeof v === 'number' ? v : `[${Array.from(v).slice(0, 4)}...]`);
  expect(lossErr, `${what} loss ${show(got.loss)} vs ${show(want.loss)}`).toBeLessThan(TOL.loss);
  expect(gradErr, `${what} grad ${show(got.grad)} vs ${show(want.grad)}`).toBeLessThan(TOL.grad);
}

export function bitwiseEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return ua.every((v, i) => v === ub[i]);
}

type Ctor = typeof TypeError | typeof RangeError | typeof Error;

/** f throws an instance of `type` whose code is `code` and whose message matches every fragment. */
export function expectError(f: () => unknown, type: Ctor, code: string, ...fragments: (string | RegExp)[]) {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(type);
  const e = caught as Error & { code?: string };
  expect(e.code).toBe(code);
  for (const f of fragments) expect(e.message).toMatch(f);
}

/** The GPU backends every CUDA test runs on, each with why it is skipped on this machine (or false). */
export function gpuBackends(): { backend: Backend; skip: string | false }[] {
  const report = backends();
  return [
    { backend: 'cuda-sim', skip: report['cuda-sim'].available ? false : report['cuda-sim'].reason! },
    { backend: 'cuda', skip: report.cuda.available ? false : `no CUDA device: ${report.cuda.reason}` },
  ];
}
