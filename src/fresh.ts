// Gradients the library allocates for the default call (no options.out). Their memory is not
// zeroed: every backend writes each entry of a gradient (test/default-path.test.ts checks that
// each does), so zeroing would only add a pass over memory, and a large one (0.5 ms for the 16 MB
// of softmax cross-entropy at 4096 x 1000, a quarter of the call).
import { rangeError } from './errors';

/** Node's Buffer, where there is one (not in a browser). */
const NodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(bytes: number): Uint8Array } }).Buffer;

/**
 * A new Float32Array of `n` entries that the caller overwrites in full before anyone reads it.
 * Under Node its memory is not zeroed (Buffer.allocUnsafeSlow: an ArrayBuffer of its own, exactly
 * n floats, from no pool); past Buffer's size limit (4 GiB in Node 20; a typed array may have
 * more), and outside Node, it is. Either way the array owns its whole ArrayBuffer. No memory:
 * ERR_FUSEDLOSS_OUT_OF_MEMORY naming `what`.
 */
export function freshFloat32(fn: string, what: string, n: number): Float32Array {
  try {
    const memory = unzeroed(4 * n);
    return memory ? new Float32Array(memory, 0, n) : new Float32Array(n);
  } catch (e) {
    throw outOfMemory(e, fn, what, n, 4);
  }
}

/**
 * `bytes` of unzeroed memory from Node, or undefined where Buffer cannot have that many (its size
 * check's ERR_OUT_OF_RANGE; the limit is read from the error, not from `buffer.constants`, which
 * is not on the Buffer global: reading it there gave 0 and zeroed every gradient) or outside Node.
 * A failed allocation (V8's RangeError, no code) is thrown.
 */
function unzeroed(bytes: number): ArrayBuffer | undefined {
  if (!NodeBuffer) return undefined;
  try {
    return NodeBuffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_OUT_OF_RANGE') return undefined;
    throw e;
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
