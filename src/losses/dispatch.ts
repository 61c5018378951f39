// What every family's dispatch shares: the result types, the native addon once a backend was
// resolved to it, and one flow for the sync and async twins.
import { addonFor, type NativeAddon, type ResolvedBackend } from '../native';

/** A loss value and its gradient with respect to the scores (same length and layout). */
export interface LossResult {
  loss: number;
  grad: Float32Array;
}

/**
 * With `reduction: 'none'`: one loss per row, and the gradient of their sum (row i holds
 * d loss_i / d row i).
 */
export interface RowLossResult {
  loss: Float32Array;
  grad: Float32Array;
}

/** The addon of backend `b`, which resolveBackend returned (so it is there): its WebAssembly build for 'wasm'. */
export function native(b: ResolvedBackend): NativeAddon {
  return addonFor(b);
}

/**
 * Applies f to a value or to a promise's result, so one flow serves the sync and async twins.
 * (Not named `then`: a module exporting `then` is a thenable, which dynamic import resolves.)
 */
export function andThen<T, U>(v: T | Promise<T>, f: (t: T) => U | Promise<U>): U | Promise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Copies the reference's float64 gradient into the caller's buffer. */
export function withGrad(out: Float32Array, loss: number, grad: ArrayLike<number>): LossResult {
  out.set(grad);
  return { loss, grad: out };
}
