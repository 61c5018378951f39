// Shared data of the SphericalHead tests: seeded minibatches and the measures of agreement between
// the factored head and the dense float64 reference.
import { mulberry32 } from '../src/random';
import { SphericalHead } from '../src';
import { DenseHead, type HeadLossKind } from '../src/reference/spherical-head';
import { gradError, relError } from './helpers';

export interface Batch {
  hidden: Float32Array;
  targets: Int32Array;
}

/** `steps` minibatches of m rows: hidden uniform in [-1, 1], targets uniform over the classes. */
export function batches(steps: number, m: number, dim: number, classes: number, seed: number): Batch[] {
  const r = mulberry32(seed);
  return Array.from({ length: steps }, () => ({
    hidden: Float32Array.from({ length: m * dim }, () => 2 * r() - 1),
    targets: Int32Array.from({ length: m }, () => Math.floor(r() * classes)),
  }));
}

export interface Trajectory {
  /** Worst relative loss difference over the steps. */
  loss: number;
  /** Worst max |diff| / max |ref| of dL/dH over the steps. */
  gradHidden: number;
  /** max |diff| / max |W| of the final weights. */
  weights: number;
  head: SphericalHead;
}

export interface TrajectoryCase {
  loss: HeadLossKind;
  lr: number;
  weightDecay: number;
  stabilizeEvery: number;
  /** Call renormalize() after this many steps. */
  renormalizeAt?: number;
}

/** Trains a head on `backend` and the dense reference from the same W on the same batches, and compares. */
export function followReference(
  c: TrajectoryCase,
  data: Batch[],
  classes: number,
  dim: number,
  backend: 'cpu' | 'wasm',
): Trajectory {
  const head = new SphericalHead({
    classes,
    dim,
    loss: c.loss,
    stabilizeEvery: c.stabilizeEvery,
    seed: 3,
    backend,
  });
  const ref = new DenseHead({ classes, dim, loss: c.loss, a: 1, b: 0 }, head.weights());
  const worst = { loss: 0, gradHidden: 0 };
  data.forEach(({ hidden, targets }, i) => {
    const got = head.step(hidden, targets, { lr: c.lr, weightDecay: c.weightDecay });
    const want = ref.step(hidden, targets, c.lr, c.weightDecay);
    if ('kind' in want) throw new Error(`the reference refused step ${i}: ${want.kind}`);
    worst.loss = Math.max(worst.loss, relError(got.loss, want.loss));
    worst.gradHidden = Math.max(worst.gradHidden, gradError(got.gradHidden, want.gradHidden));
    if (i + 1 === c.renormalizeAt) head.renormalize();
  });
  return { ...worst, weights: gradError(head.weights(), ref.W), head };
}
