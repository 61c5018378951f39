// From tensor shapes to a fused call: which options yPred's shape implies, what yTrue must hold,
// and the shape of the loss output.
import { rangeError } from '../errors';
import type { FusedLoss } from './table';

export interface CallLayout {
  /** The caller's options with classes / listSize / dim filled in from yPred's shape. */
  options: Record<string, unknown>;
  /** yTrue holds class ids (made Int32Array) rather than label values (Float32Array). */
  classIds: boolean;
  /** [] for a scalar loss, [rows] for one loss per row (reduction 'none'). */
  lossShape: number[];
}

const last = (shape: number[]): number => (shape.length === 0 ? 1 : shape[shape.length - 1]);
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export function callLayout(
  op: string,
  loss: FusedLoss,
  predShape: number[],
  options: Record<string, unknown> = {},
): CallLayout {
  const o: Record<string, unknown> = { ...options };
  const fill = (key: string, value: number): void => {
    if (o[key] === undefined && o.offsets === undefined) o[key] = value;
  };
  let classIds = false;
  let rows = 1;
  switch (loss.layout) {
    case 'confusion':
      if (predShape.length >= 2 && last(predShape) > 1) {
        fill('classes', last(predShape));
        classIds = true;
      }
      break;
    case 'elementwise':
      break;
    case 'classes':
    case 'distill':
      if (predShape.length < 2) {
        throw rangeError(
          'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
          `${op}: yPred must have shape [rows, classes], got [${predShape.join(', ')}]`,
        );
      }
      if (loss.layout === 'classes') fill('classes', last(predShape)); // PLD reads it from the lengths
      rows = size(predShape) / last(predShape);
      classIds = true;
      break;
    case 'lists':
      if (predShape.length >= 2) fill('listSize', last(predShape));
      break;
    case 'embeddings':
      if (predShape.length >= 2) fill('dim', last(predShape));
      rows = predShape.length >= 2 ? size(predShape) / last(predShape) : 1; // one loss per anchor
      classIds = true;
      break;
  }
  const perRow = loss.perRow && o.reduction === 'none';
  return { options: o, classIds, lossShape: perRow ? [rows] : [] };
}

/**
 * Class ids as the fused functions take them. Float32 tensors holding ids (tfjs-layers casts
 * labels to float32) are converted after checking each is an integer: truncating 1.5 to 1 would
 * be a silent wrong answer.
 */
export function classIds(op: string, values: Float32Array | Int32Array | Uint8Array): Int32Array {
  if (values instanceof Int32Array) return values;
  const ids = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v)) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${op}: yTrue[${i}] = ${v} is not a class id (an integer); pass int32 class ids or one-hot rows`,
      );
    }
    ids[i] = v;
  }
  return ids;
}
