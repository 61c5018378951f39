// The list layout of the ranking family: scores and relevance laid end to end, cut every
// `listSize` items or at `offsets`, checked here with the native layer's messages; and the value
// checks the native kernels make as they read each list, for the JavaScript reference.
import { requireLength, toFloat32, toInt32 } from '../arrays';
import { rangeError } from '../errors';
import { faultError, type FaultContext } from '../faults';
import { opt } from '../options';
import { PADDING } from '../reference/ranking';

/** A checked batch of lists. */
export interface ListBatch {
  scores: Float32Array;
  relevance: Float32Array;
  /** The offsets when given (what the addon takes), else null: lists cut every `listSize` items. */
  offsets: Int32Array | null;
  listSize: number;
}

/**
 * lists + 1 offsets, built from listSize when not given: only the reference needs them (building
 * 4097 of them cost a tenth of a millisecond a call, a tenth of the native kernel's time).
 */
export function listOffsets(b: ListBatch): Int32Array {
  if (b.offsets) return b.offsets;
  const offsets = new Int32Array(b.scores.length / b.listSize + 1);
  for (let l = 1; l < offsets.length; l++) offsets[l] = l * b.listSize;
  return offsets;
}

export function listBatch(fn: string, scores: unknown, relevance: unknown, o: Record<string, unknown>): ListBatch {
  const s = toFloat32(fn, 'scores', scores);
  const r = toFloat32(fn, 'relevance', relevance);
  requireLength(fn, 'relevance', r.length, s.length, 'one relevance per score');
  const n = s.length;
  if (o.listSize !== undefined && o.offsets !== undefined) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: give options.listSize or options.offsets, not both`);
  }
  if (o.offsets !== undefined) {
    const offsets = toInt32(fn, 'options.offsets', o.offsets);
    if (offsets.length === 0) {
      throw rangeError('ERR_FUSEDLOSS_LENGTH_MISMATCH', `${fn}: options.offsets has length 0, expected lists + 1 >= 1`);
    }
    offsets.forEach((v, l) => {
      const ok = (l === 0 ? v === 0 : v >= offsets[l - 1]) && (l + 1 < offsets.length || v === n);
      if (!ok) {
        throw rangeError(
          'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
          `${fn}: options.offsets[${l}] = ${v} is invalid; offsets must rise from 0 to the number of items (${n})`,
        );
      }
    });
    return { scores: s, relevance: r, offsets, listSize: 0 };
  }
  // Without either, the whole array is one list.
  const size = opt(o, 'listSize', Math.max(n, 1));
  if (n % size !== 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: scores has length ${n}, not a multiple of options.listSize = ${size}`,
    );
  }
  return { scores: s, relevance: r, offsets: null, listSize: size };
}

/** Ordered pairs of items within lists, the sum of n^2: the work of a pairwise list loss. */
export function pairCount(b: ListBatch): number {
  if (!b.offsets) return b.scores.length * b.listSize;
  let pairs = 0;
  for (let l = 0; l + 1 < b.offsets.length; l++) pairs += (b.offsets[l + 1] - b.offsets[l]) ** 2;
  return pairs;
}

/** The longest list's length (padding included). */
export function longestList(b: ListBatch): number {
  if (!b.offsets) return b.scores.length > 0 ? b.listSize : 0;
  let m = 0;
  for (let l = 0; l + 1 < b.offsets.length; l++) m = Math.max(m, b.offsets[l + 1] - b.offsets[l]);
  return m;
}

/** The public names of the arguments a kernel fault can be in (src/faults.ts). */
export const LIST_FAULTS: FaultContext = { names: { labels: 'relevance', weights: 'options.weights' } };

/**
 * The kernels' value checks, item by item: relevance -1 (padding) or finite in [0, top], then
 * the score of every item that is not padding.
 */
export function checkListValues(fn: string, b: ListBatch, top = Number.MAX_VALUE): void {
  for (let i = 0; i < b.scores.length; i++) {
    const r = b.relevance[i];
    if (!((r >= 0 && r <= top) || r === PADDING)) throw faultError(fn, 'relevance-invalid', i, r, LIST_FAULTS);
    if (r !== PADDING && !Number.isFinite(b.scores[i]))
      throw faultError(fn, 'score-not-finite', i, b.scores[i], LIST_FAULTS);
  }
}
