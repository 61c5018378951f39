// What the trainable heads (SphericalHead, LinearHead) share: their argument checks, the seeded
// initial weights, and the top-k of dense scores.
import { requireLength, toFloat32, type NumericArray } from './arrays';
import { describe, rangeError, typeError } from './errors';
import { mulberry32 } from './random';

export function required(fn: string, o: Record<string, unknown>, key: string): void {
  if (o[key] === undefined)
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: options.${key} is required, got undefined`);
}

/** N(0, std^2) draws from a seed (Box-Muller on mulberry32). */
export function gaussian(n: number, std: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = std * Math.sqrt(-2 * Math.log(1 - rand())),
      t = 2 * Math.PI * rand();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** hidden as rows x dim float32, checked: length, finite entries. */
export function checkedHidden(fn: string, hidden: NumericArray, dim: number): { h: Float32Array; rows: number } {
  const h = toFloat32(fn, 'hidden', hidden);
  if (h.length % dim !== 0)
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: hidden has length ${h.length}, not a multiple of dim = ${dim}`,
    );
  const bad = h.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw rangeError(
      'ERR_FUSEDLOSS_NON_FINITE',
      `${fn}: hidden[${bad}] = ${h[bad]} is not finite; hidden must hold finite numbers`,
    );
  return { h, rows: h.length / dim };
}

/** A caller's gradient buffer: a Float32Array of `length`. */
export function toOut(fn: string, out: unknown, length: number): Float32Array {
  if (!(out instanceof Float32Array))
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.out must be a Float32Array, got ${describe(out)}`,
    );
  requireLength(fn, 'options.out', out.length, length, 'the layout of hidden');
  return out;
}

/** k checked: an integer in [1, classes]. */
export function checkK(fn: string, k: unknown, classes: number): number {
  if (typeof k !== 'number')
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: k must be a number, got ${describe(k)}`);
  if (!Number.isInteger(k) || k < 1 || k > classes)
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: k must be an integer in [1, ${classes}], got ${k}`);
  return k;
}

/** The k best of each row of rows x classes scores, best first (ties: the lower class first). */
export function topKOfScores(
  all: Float32Array,
  classes: number,
  k: number,
): { classes: Int32Array; scores: Float32Array } {
  const rows = all.length / classes;
  const ids = new Int32Array(rows * k),
    scores = new Float32Array(rows * k);
  for (let j = 0; j < rows; j++) {
    const row = all.subarray(j * classes, (j + 1) * classes);
    const order = Array.from(row.keys()).sort((x, y) => row[y] - row[x] || x - y);
    for (let r = 0; r < k; r++) {
      ids[j * k + r] = order[r];
      scores[j * k + r] = row[order[r]];
    }
  }
  return { classes: ids, scores };
}
