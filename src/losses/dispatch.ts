// What every family's dispatch shares: the result types, the native addon once a backend was
// resolved to it, one flow for the sync and async twins, and the factory of the twins.
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

// The twin whose call of its sync function is under way (see asyncTwin), until callOf reads it.
let twinCalling: string | null = null;

/**
 * The name a public loss's errors carry and whether its native work runs async: `name` and false
 * when it is called directly, its twin's name and true when its twin called it. Every public sync
 * loss calls it first, before anything can call another loss.
 */
export function callOf(name: string): [fn: string, async: boolean] {
  const twin = twinCalling;
  twinCalling = null;
  return twin === null ? [name, false] : [twin, true];
}

/**
 * The Promise twin `name` of the public sync loss `sync`, with its signature (generics included):
 * the same call, whose native work runs off the main thread ('js' computes before resolving), and
 * whose errors, the argument checks' included, reject instead of throwing. So a loss needs no
 * hand-written twin: `export const fooAsync = asyncTwin('fooAsync', foo)`, with `foo` starting
 * with `const [fn, async] = callOf('foo')` and passing both on.
 */
export function asyncTwin<A extends unknown[], R>(name: string, sync: (...args: A) => R): (...args: A) => Promise<R> {
  const twin = async (...args: A): Promise<R> => {
    twinCalling = name;
    try {
      // Called through its twin, `sync` returns its flow's Promise, which this one adopts.
      return sync(...args);
    } finally {
      twinCalling = null;
    }
  };
  return Object.defineProperty(twin, 'name', { value: name });
}

/** Copies the reference's float64 gradient into the caller's buffer. */
export function withGrad(out: Float32Array, loss: number, grad: ArrayLike<number>): LossResult {
  out.set(grad);
  return { loss, grad: out };
}
