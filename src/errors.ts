// Every error fusedloss throws on bad input is a TypeError or RangeError whose `code` starts
// with ERR_FUSEDLOSS_ and whose message names the argument, what was expected and what came.
// A backend that cannot run gives ERR_FUSEDLOSS_BACKEND_UNAVAILABLE; a failure inside the CUDA
// runtime gives ERR_FUSEDLOSS_CUDA with the runtime's own message (both plain Errors); memory that
// cannot be allocated, a kernel's working memory or a buffer the library makes, gives a RangeError
// (as V8's own) with ERR_FUSEDLOSS_OUT_OF_MEMORY. A buffer that an async call still in flight will
// write, handed to another call, gives a TypeError with ERR_FUSEDLOSS_BUFFER_IN_USE.

export type FusedLossErrorCode =
  | 'ERR_FUSEDLOSS_INVALID_ARG_TYPE'
  | 'ERR_FUSEDLOSS_INVALID_ARG_VALUE'
  | 'ERR_FUSEDLOSS_LENGTH_MISMATCH'
  | 'ERR_FUSEDLOSS_UNKNOWN_OPTION'
  | 'ERR_FUSEDLOSS_NON_FINITE'
  | 'ERR_FUSEDLOSS_INVALID_RETURN_VALUE'
  | 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE'
  | 'ERR_FUSEDLOSS_CUDA'
  | 'ERR_FUSEDLOSS_OUT_OF_MEMORY'
  | 'ERR_FUSEDLOSS_BUFFER_IN_USE';

export type FusedLossError = (TypeError | RangeError | Error) & { code: FusedLossErrorCode };

function withCode<E extends Error>(e: E, code: FusedLossErrorCode): E & { code: FusedLossErrorCode } {
  return Object.assign(e, { code });
}

export function typeError(code: FusedLossErrorCode, message: string): TypeError & { code: FusedLossErrorCode } {
  return withCode(new TypeError(message), code);
}

export function rangeError(code: FusedLossErrorCode, message: string): RangeError & { code: FusedLossErrorCode } {
  return withCode(new RangeError(message), code);
}

export function backendError(message: string): Error & { code: FusedLossErrorCode } {
  return withCode(new Error(message), 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE');
}

/** A short description of a value for error messages: its type, and the value when small. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return `an Array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `an object (${Object.prototype.toString.call(v).slice(8, -1)})`;
}
