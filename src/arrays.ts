// Checking and converting the array arguments. Float32Array is the zero-copy path; other numeric
// arrays are converted (a copy: slower). Value checks (finite scores, labels in range) are done
// by the backend that reads the data anyway: in the native kernels' first pass, or by
// checkValues below for the JavaScript reference.
import { describe, rangeError, typeError } from './errors';
import { faultError } from './faults';
import { freshFloat32, outOfMemory } from './fresh';
import { checkDisjoint, checkNotInFlight } from './wire';

export type NumericArray = Float32Array | Float64Array | ArrayLike<number>;
export type BinaryLabels = Float32Array | Uint8Array | Int32Array | ArrayLike<number>;
export type ClassLabels = Int32Array | Uint8Array | ArrayLike<number>;
/** One class index per row: Int32Array is the zero-copy path, other integer arrays are converted. */
export type Targets = Int32Array | ArrayLike<number>;

function isNumericArrayLike(v: unknown): v is ArrayLike<number> {
  if (ArrayBuffer.isView(v))
    return !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
  return Array.isArray(v);
}

/**
 * A view whose ArrayBuffer was transferred or detached has lost its data (and reads as empty):
 * refused by name rather than taken for an empty array. Only an empty buffer can be detached, and
 * structuredClone of an empty one is cheap; Node 20 has no ArrayBuffer.prototype.detached.
 */
function checkAttached(fn: string, name: string, v: unknown): void {
  if (!ArrayBuffer.isView(v) || v.buffer.byteLength !== 0) return;
  try {
    structuredClone(v.buffer);
  } catch {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: ${name}'s ArrayBuffer is detached (transferred); pass live data`,
    );
  }
}

type NumberArrayType = Float32ArrayConstructor | Int32ArrayConstructor;

/**
 * A new zeroed array of `n` entries that the library itself needs (a converted copy, row losses):
 * V8's uncoded RangeError when the memory is not there becomes ERR_FUSEDLOSS_OUT_OF_MEMORY naming
 * what was being allocated.
 */
export function allocate<C extends NumberArrayType>(fn: string, what: string, type: C, n: number): InstanceType<C> {
  try {
    return new type(n) as InstanceType<C>;
  } catch (e) {
    throw outOfMemory(e, fn, what, n, type.BYTES_PER_ELEMENT);
  }
}

/** `v` as a Float32Array: itself when it is one, else a converted copy. */
export function toFloat32(fn: string, name: string, v: unknown): Float32Array {
  checkAttached(fn, name, v);
  if (v instanceof Float32Array) return v;
  if (isNumericArrayLike(v)) {
    const out = allocate(fn, `a Float32Array copy of ${name}`, Float32Array, v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number') {
        throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: ${name}[${i}] must be a number, got ${describe(x)}`);
      }
      out[i] = x;
    }
    return out;
  }
  throw typeError(
    'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
    `${fn}: ${name} must be a Float32Array (or another array of numbers, converted), got ${describe(v)}`,
  );
}

/** Binary labels: Float32Array, Uint8Array and Int32Array pass as they are; others become Float32Array. */
export function toBinaryLabels(fn: string, name: string, v: unknown): Float32Array | Uint8Array | Int32Array {
  checkAttached(fn, name, v);
  if (v instanceof Float32Array || v instanceof Uint8Array || v instanceof Int32Array) return v;
  return toFloat32(fn, name, v);
}

/** Class ids: Int32Array and Uint8Array pass; other arrays of integers become an Int32Array. */
export function toClassLabels(fn: string, name: string, v: unknown): Int32Array | Uint8Array {
  checkAttached(fn, name, v);
  if (v instanceof Uint8Array) return v;
  return toInt32(
    fn,
    name,
    v,
    'an integer class id',
    'an Int32Array of class ids (or Uint8Array, or an array of integers)',
  );
}

/**
 * `v` as an Int32Array: itself when it is one, else a converted copy of an array of integers.
 * `item` and `whole` describe what an entry and the array must be, for messages.
 */
export function toInt32(
  fn: string,
  name: string,
  v: unknown,
  item = 'an integer',
  whole = 'an Int32Array (or an array of integers)',
): Int32Array {
  checkAttached(fn, name, v);
  if (v instanceof Int32Array) return v;
  if (isNumericArrayLike(v)) {
    const out = allocate(fn, `an Int32Array copy of ${name}`, Int32Array, v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number' || !Number.isInteger(x)) {
        throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: ${name}[${i}] must be ${item}, got ${describe(x)}`);
      }
      out[i] = x;
    }
    return out;
  }
  throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: ${name} must be ${whole}, got ${describe(v)}`);
}

/**
 * Class-index targets as the Int32Array the native kernels read: itself, or a converted copy of
 * another array of integers (a Uint8Array included).
 */
export function toTargets(fn: string, name: string, v: unknown): Int32Array {
  const y = toClassLabels(fn, name, v);
  return y instanceof Int32Array ? y : Int32Array.from(y);
}

/**
 * The width of `rows` rows in `length` values: `given` (options.`option`), or else the length
 * over the rows, which must divide it.
 */
export function rowWidth(
  fn: string,
  name: string,
  length: number,
  rows: number,
  given: number | undefined,
  option: string,
): number {
  if (given !== undefined) return given;
  if (rows === 0 || length % rows !== 0 || length === 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: ${name} has length ${length}, which is not a positive multiple of the ${rows} targets; pass options.${option}`,
    );
  }
  return length / rows;
}

export function requireLength(fn: string, name: string, got: number, want: number, why: string): void {
  if (got !== want) {
    throw rangeError('ERR_FUSEDLOSS_LENGTH_MISMATCH', `${fn}: ${name} has length ${got}, expected ${want} (${why})`);
  }
}

/**
 * The gradient buffer: options.out (or the option `name`) when given (checked), else a new
 * Float32Array (not zeroed: every backend writes each entry of the gradient).
 */
export function gradBuffer(
  fn: string,
  out: unknown,
  length: number,
  scores: Float32Array,
  name = 'options.out',
  scoresName = 'scores',
): Float32Array {
  if (out === undefined) return freshFloat32(fn, 'the gradient', length);
  if (!(out instanceof Float32Array)) {
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: ${name} must be a Float32Array, got ${describe(out)}`);
  }
  requireLength(fn, name, out.length, length, 'the gradient has the layout of the scores');
  // The 'js' backend's check; native calls check every argument pair (src/wire.ts).
  checkDisjoint(fn, [
    [name, out, true],
    [scoresName, scores, false],
  ]);
  checkNotInFlight(fn, name, out);
  return out;
}

/** What checkValues accepts. */
export interface ValueRules {
  classes: number;
  /** Labels are binary, in [0, 1]; else class ids in [0, classes). */
  binary: boolean;
  /** Scores are probabilities, in [0, 1]; else finite logits. */
  probabilities?: boolean;
  /** A class id that marks a row as ignored, allowed besides [0, classes). */
  ignoreIndex?: number;
}

/**
 * The value checks the native kernels make in their first pass, for the JavaScript reference:
 * finite scores (in [0, 1] for probabilities), labels in [0, 1] (binary) or [0, classes), and
 * finite non-negative weights, row by row. Messages match the native ones.
 */
export function checkValues(
  fn: string,
  names: { scores: string; labels: string; weights: string },
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  rules: ValueRules,
): void {
  const { classes, binary, probabilities = false, ignoreIndex } = rules;
  const rows = labels.length;
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < classes; k++) {
      const j = i * classes + k;
      const v = scores[j];
      if (!Number.isFinite(v)) throw faultError(fn, 'score-not-finite', j, v, { names });
      if (probabilities && !(v >= 0 && v <= 1)) throw faultError(fn, 'probability-out-of-range', j, v, { names });
    }
    const y = labels[i];
    const ok = binary ? y >= 0 && y <= 1 : (y >= 0 && y < classes) || y === ignoreIndex;
    if (!ok) throw faultError(fn, 'label-out-of-range', i, y, { names, labels: rules });
    if (weights) checkWeight(fn, names.weights, weights, i);
  }
}

/** weights[i] finite and >= 0, as the kernels check it. */
export function checkWeight(fn: string, name: string, weights: ArrayLike<number>, i: number): void {
  if (!(weights[i] >= 0 && Number.isFinite(weights[i])))
    throw faultError(fn, 'weight-invalid', i, weights[i], { names: { weights: name } });
}
