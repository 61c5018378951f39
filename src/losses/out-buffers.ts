// options.out as an object of named gradient buffers, for the losses with a gradient per input
// (linearCrossEntropy, proxyAnchor): the object and its keys checked, each buffer checked or made.
import { allocate, requireLength } from '../arrays';
import { describe, typeError } from '../errors';
import { checkNotInFlight } from '../wire';

/** options.out (default {}) as a record whose keys are all among `keys`, else a coded TypeError. */
export function outObject(fn: string, out: unknown, keys: readonly string[]): Record<string, unknown> {
  const o = out ?? {};
  if (typeof o !== 'object' || o === null || ArrayBuffer.isView(o) || Array.isArray(o)) {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.out must be an object { ${keys.map((k) => `${k}?`).join(', ')} }, got ${describe(o)}`,
    );
  }
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) {
      throw typeError(
        'ERR_FUSEDLOSS_UNKNOWN_OPTION',
        `${fn}: unknown buffer options.out.${key}; known: ${keys.join(', ')}`,
      );
    }
  }
  return o as Record<string, unknown>;
}

/** An output buffer: out[key] when given (checked), else a new array. */
export function outBuffer(
  fn: string,
  out: Record<string, unknown>,
  key: string,
  length: number,
  what: string,
): Float32Array {
  const v = out[key];
  const name = `options.out.${key}`;
  if (v === undefined) return allocate(fn, what, Float32Array, length);
  if (!(v instanceof Float32Array)) {
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${fn}: ${name} must be a Float32Array, got ${describe(v)}`);
  }
  requireLength(fn, name, v.length, length, what);
  checkNotInFlight(fn, name, v);
  return v;
}
