// What every loss family's façade shares: the result type and the plumbing of the sync and
// async twins around the native calls.
import { nativeAddon } from '../native';

/** A loss value and its gradient with respect to the scores (same length and layout). */
export interface LossResult {
  loss: number;
  grad: Float32Array;
}

/** The addon; only called after resolveBackend returned a native backend, so it is there. */
export function native() {
  return nativeAddon()!;
}

/** Applies f to a value or to a promise's result, so one flow serves the sync and async twins
 * (not named `then`: a module exporting `then` is a thenable to dynamic import). */
export function andThen<T, U>(v: T | Promise<T>, f: (t: T) => U | Promise<U>): U | Promise<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** The reference's float64 gradient copied into the caller's buffer. */
export function withGrad(out: Float32Array, loss: number, grad: ArrayLike<number>): LossResult {
  out.set(grad);
  return { loss, grad: out };
}
