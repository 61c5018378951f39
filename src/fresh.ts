// Gradients the library allocates for the default call (no options.out). Their memory is not
// zeroed: every backend writes each entry of a gradient (test/default-path.test.ts checks that
// each does), so zeroing would only add a pass over memory, and a large one (0.5 ms for the 16 MB
// of softmax cross-entropy at 4096 x 1000, a quarter of the call).
import { rangeError } from './errors';

/** Node's Buffer, where there is one (not in a browser). */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;
/** The most bytes a Buffer may have (4 GiB in Node 20); a typed array may have more. */
const MAX_BUFFER = (NodeBuffer as { constants?: { MAX_LENGTH?: number } } | undefined)?.constants?.MAX_LENGTH ?? 0;

/**
 * A new Float32Array of `n` entries that the caller overwrites in full before anyone reads it.
 * Under Node its memory is not zeroed (Buffer.allocUnsafeSlow: an ArrayBuffer of its own, exactly
 * n floats, from no pool), up to Buffer's size limit; elsewhere it is. Either way the array owns its whole ArrayBuffer. No
 * memory: ERR_FUSEDLOSS_OUT_OF_MEMORY naming `what`.
 */
export function freshFloat32(fn: string, what: string, n: number): Float32Array {
  try {
    // Past the Buffer limit, a zeroed array (its pages are mapped on first write anyway).
    return NodeBuffer && 4 * n <= MAX_BUFFER
      ? new Float32Array(NodeBuffer.allocUnsafeSlow(4 * n).buffer, 0, n)
      : new Float32Array(n);
  } catch (e) {
    throw outOfMemory(e, fn, what, n, 4);
  }
}

/** V8's uncoded RangeError `e` of an allocation as ERR_FUSEDLOSS_OUT_OF_MEMORY; other errors as they are. */
export function outOfMemory(e: unknown, fn: string, what: string, n: number, bytesEach: number): unknown {
  if (!(e instanceof RangeError)) return e;
  return rangeError(
    'ERR_FUSEDLOSS_OUT_OF_MEMORY',
    `${fn}: out of memory: ${what} (${n} x ${bytesEach} bytes) could not be allocated; use smaller batches or pass a buffer of your own`,
  );
}
