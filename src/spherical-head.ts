// SphericalHead: a trainable output layer over C classes whose step does not grow with C (formulas
// F.4, F.5; Vincent, de Brebisson, Bouthillier 2015). The state is an object of the addon
// (binding/cpu/spherical_head.cc), native or its WebAssembly build (there in wasm memory, each call
// copying its arrays in and out: src/wasm.ts); backend 'js' runs the dense float64 reference
// instead (src/reference/spherical-head.ts), O(C d) per example.
import { requireLength, toFloat32, toTargets, type NumericArray, type Targets } from './arrays';
import { describe, rangeError, typeError } from './errors';
import { addonFor, nativeCall, resolveBackend, type Backend } from './native';
import { backendSpec, opt, readOptions, type OptionSpec } from './options';
import { bounded } from './wire-bounds';
import { checkedHidden, checkK, gaussian, required, toOut, topKOfScores } from './head-common';
import {
  DenseHead,
  decayTooLargeMessage,
  gradientOverflowMessage,
  illConditionedMessage,
  spreadTooSmallMessage,
  type HeadLossKind,
} from './reference/spherical-head';

export type { HeadLossKind } from './reference/spherical-head';

export interface SphericalHeadOptions {
  /** Number of classes C, an integer in [2, 2^30]. */
  classes: number;
  /** Width d of the hidden vectors, an integer in [1, 16384]. */
  dim: number;
  /**
   * 'z' (default): Z-loss softplus(a (b - z_c)) / a of the target's z-score among the C outputs
   * (de Brebisson and Vincent 2016); 'mse': squared error to the one-hot, ||W h - e_c||^2.
   */
  loss?: HeadLossKind;
  /** Z-loss sharpness a in [1e-6, 1e6] (default 1, the authors' released example). */
  a?: number;
  /** Z-loss offset b in [-1e6, 1e6] (default 0). */
  b?: number;
  /** Standard deviation of the initial weights, N(0, init^2) each, in [0, 1e6] (default 1 / sqrt(dim)). */
  init?: number;
  /** Seed of the initial weights, an integer in [0, 2^31 - 1] (default 0). Backend 'js' draws other weights from it. */
  seed?: number;
  /**
   * Every this many steps (default 10, the authors' Theano op; 0: never) U^-T is re-inverted and
   * each singular value of U outside [0.5, 2] is reset to 1 (O(C d) each, formulas F.5); past d / 3
   * resets U is folded into the class rows instead (O(C d^2)).
   */
  stabilizeEvery?: number;
  /**
   * 'auto' (default): 'cpu' when the native addon loaded, else 'wasm' when its WebAssembly build
   * loads, else 'js'; 'cpu' the native state; 'wasm' the same C++ on the WebAssembly build (one
   * thread, its state in wasm memory, freed when the head is garbage-collected); 'js' the dense
   * float64 reference (O(C d) per example: for tests).
   */
  backend?: Backend;
}

export interface HeadStepOptions {
  /**
   * Learning rate lr > 0, at most 1e6. A step is refused (RangeError, nothing updated) when
   * I - 2 lr H diag(dL/dq) H^T has an eigenvalue outside [1/8, 8]: the factored update would make
   * U near singular.
   */
  lr: number;
  /** Weight decay >= 0 (default 0): W <- (1 - lr weightDecay) (W - lr dL/dW); 1 - lr weightDecay must be >= 1/8. */
  weightDecay?: number;
  /** Buffer for gradHidden (length hidden.length). Default: a new array. */
  out?: Float32Array;
}

export interface HeadStepResult {
  /** Mean loss over the rows, before the update. */
  loss: number;
  /** d loss / d hidden, rows x dim. */
  gradHidden: Float32Array;
}

/** Steps taken and the formulas F.5 work done so far (the 'js' backend does none of the latter). */
export interface HeadStats {
  steps: number;
  /** Scheduled stabilisations run. */
  stabilizations: number;
  /** Singular values of U reset to 1. */
  resets: number;
  /** Times U was folded into the class rows (renormalize() included). */
  unfactorizations: number;
}

interface HeadNative {
  step(hidden: Float32Array, targets: Int32Array, options: object, gradHidden: Float32Array): number;
  scores(hidden: Float32Array, out: Float32Array): void;
  topK(hidden: Float32Array, k: number, classes: Int32Array, values: Float32Array): void;
  weights(out: Float32Array): void;
  renormalize(): void;
  stats(): HeadStats;
}
type HeadNativeCtor = new (params: object, weights: Float32Array | null) => HeadNative;

export const SPHERICAL_HEAD_DEFAULTS = { loss: 'z' as HeadLossKind, a: 1, b: 0, seed: 0, stabilizeEvery: 10 };

const schema: Record<string, OptionSpec> = {
  classes: bounded('kHeadClasses'),
  dim: bounded('kHeadDim'),
  loss: { kind: 'enum', values: ['z', 'mse'] },
  a: bounded('kPositive'),
  b: bounded('kSigned'),
  init: bounded('kNonNegative'),
  seed: bounded('kNonNegativeInt'),
  stabilizeEvery: bounded('kNonNegativeInt'),
  backend: backendSpec,
};
const stepSchema: Record<string, OptionSpec> = {
  lr: { kind: 'number', min: 0, minExclusive: true, max: 1e6 },
  weightDecay: bounded('kNonNegative'),
  out: { kind: 'any' },
};

interface HeadState {
  classes: number;
  dim: number;
  loss: HeadLossKind;
  backend: 'cpu' | 'wasm' | 'js';
  native?: HeadNative;
  dense?: DenseHead;
}

/** Checks the options and builds the state: W from `weights` when given, else a seeded Gaussian draw. */
function createState(fn: string, options: unknown, weights: Float32Array | undefined): HeadState {
  const o = readOptions(fn, options, schema);
  required(fn, o, 'classes');
  required(fn, o, 'dim');
  const classes = o.classes as number,
    dim = o.dim as number;
  const loss = opt(o, 'loss', SPHERICAL_HEAD_DEFAULTS.loss);
  const requested = opt<Backend>(o, 'backend', 'auto');
  // No CUDA kernels: 'cuda' is refused, and 'auto' picks 'cpu', 'wasm' or 'js'.
  const backend = resolveBackend(fn, requested, { cuda: false, pairWork: 0 }) as HeadState['backend'];
  const a = opt(o, 'a', SPHERICAL_HEAD_DEFAULTS.a),
    b = opt(o, 'b', SPHERICAL_HEAD_DEFAULTS.b);
  const init = opt(o, 'init', 1 / Math.sqrt(dim)),
    seed = opt(o, 'seed', SPHERICAL_HEAD_DEFAULTS.seed);
  const state: HeadState = { classes, dim, loss, backend };
  if (backend === 'js') {
    state.dense = new DenseHead({ classes, dim, loss, a, b }, weights ?? gaussian(classes * dim, init, seed));
    return state;
  }
  const Ctor = (addonFor(backend) as unknown as { SphericalHeadNative: HeadNativeCtor }).SphericalHeadNative;
  const params = {
    classes,
    dim,
    loss: loss === 'z' ? 0 : 1,
    a,
    b,
    stabilizeEvery: opt(o, 'stabilizeEvery', SPHERICAL_HEAD_DEFAULTS.stabilizeEvery),
    initStd: init,
    seed,
  };
  state.native = nativeCall(fn, () => new Ctor(params, weights ?? null));
  return state;
}

/**
 * A linear output layer o = W h (W: classes x dim) trained with SGD on Z-loss or squared error,
 * kept in the factored form W = V U + 1 omega^T of formulas F.4 so that `step` costs
 * O(m dim^2 + m^2 dim + m^3) for m rows whatever the number of classes (plus the scheduled
 * stabilisation: O(dim^3), and O(classes dim) per singular value reset). Only `scores`, `topK`,
 * `weights`, `renormalize` and `fromWeights` read all C rows.
 *
 * Precision (cpu, wasm): the class rows V are float32; U, U^-T, W^T W, W^T 1 and omega are float64.
 *
 * @example
 * const head = new SphericalHead({ classes: 100_000, dim: 256 });
 * const { loss, gradHidden } = head.step(hidden, targets, { lr: 0.1 }); // hidden: m x 256
 */
export class SphericalHead {
  readonly classes!: number;
  readonly dim!: number;
  readonly loss!: HeadLossKind;
  /**
   * Where the state lives: 'cpu' the factored native head, 'wasm' the same on the WebAssembly
   * build, 'js' the dense float64 reference.
   */
  readonly backend!: 'cpu' | 'wasm' | 'js';
  private readonly native?: HeadNative;
  private readonly dense?: DenseHead;

  constructor(options: SphericalHeadOptions) {
    Object.assign(this, createState('SphericalHead', options, undefined));
  }

  /** A head whose W is `weights` (classes x dim, row-major; classes = weights.length / dim). */
  static fromWeights(
    weights: NumericArray,
    options: Omit<SphericalHeadOptions, 'init' | 'seed' | 'classes'>,
  ): SphericalHead {
    const fn = 'SphericalHead.fromWeights';
    const w = toFloat32(fn, 'weights', weights);
    const o = readOptions(fn, options, { ...schema, classes: { kind: 'any' }, init: { kind: 'any' } });
    for (const key of ['classes', 'init', 'seed'])
      if (o[key] !== undefined)
        throw typeError('ERR_FUSEDLOSS_UNKNOWN_OPTION', `${fn}: options.${key} does not apply: the weights fix W`);
    required(fn, o, 'dim');
    const dim = o.dim as number;
    if (w.length % dim !== 0 || w.length / dim < 2)
      throw rangeError(
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        `${fn}: weights has length ${w.length}, expected classes x dim with classes >= 2 and dim = ${dim}`,
      );
    const bad = w.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw rangeError('ERR_FUSEDLOSS_NON_FINITE', `${fn}: weights[${bad}] = ${w[bad]} is not finite`);
    const head = Object.create(SphericalHead.prototype) as SphericalHead;
    return Object.assign(head, createState(fn, { ...o, classes: w.length / dim }, w));
  }

  /**
   * One SGD step on the mean loss over the rows of `hidden` (rows x dim) with one target class per
   * row: returns the loss and d loss / d hidden computed before the update, then updates W.
   */
  step(hidden: NumericArray, targets: Targets, options: HeadStepOptions): HeadStepResult {
    const fn = 'SphericalHead.step';
    const { h, rows } = checkedHidden(fn, hidden, this.dim);
    const t = toTargets(fn, 'targets', targets);
    requireLength(fn, 'targets', t.length, rows, 'one target per row of hidden');
    const bad = t.findIndex((c) => c < 0 || c >= this.classes);
    if (bad >= 0)
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: targets[${bad}] = ${t[bad]} is out of range; class ids must be in [0, classes)`,
      );
    if (options === undefined)
      throw typeError(
        'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
        `${fn}: options must be an object with lr, got ${describe(options)}`,
      );
    const o = readOptions(fn, options, stepSchema);
    required(fn, o, 'lr');
    const lr = o.lr as number,
      weightDecay = opt(o, 'weightDecay', 0);
    const out = o.out === undefined ? new Float32Array(h.length) : toOut(fn, o.out, h.length);
    if (this.native) {
      const loss = nativeCall(fn, () => this.native!.step(h, t, { lr, weightDecay }, out));
      return { loss, gradHidden: out };
    }
    const r = this.dense!.step(h, t, lr, weightDecay);
    if ('kind' in r)
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: ${
          r.kind === 'decay'
            ? decayTooLargeMessage(r.shrink)
            : r.kind === 'spread'
              ? spreadTooSmallMessage(r.row)
              : r.kind === 'overflow'
                ? gradientOverflowMessage(r.row)
                : illConditionedMessage(r.lr)
        }`,
      );
    out.set(r.gradHidden);
    return { loss: r.loss, gradHidden: out };
  }

  /** All outputs o = W h, rows x classes (O(rows classes dim): for evaluation). */
  scores(hidden: NumericArray): Float32Array {
    const fn = 'SphericalHead.scores';
    const { h, rows } = checkedHidden(fn, hidden, this.dim);
    if (this.dense) return Float32Array.from(this.dense.scores(h));
    const out = new Float32Array(rows * this.classes);
    nativeCall(fn, () => this.native!.scores(h, out));
    return out;
  }

  /** The k best classes of each row, best first (ties: the lower class first): rows x k each. */
  topK(hidden: NumericArray, k: number): { classes: Int32Array; scores: Float32Array } {
    const fn = 'SphericalHead.topK';
    const { h, rows } = checkedHidden(fn, hidden, this.dim);
    checkK(fn, k, this.classes);
    const classes = new Int32Array(rows * k),
      scores = new Float32Array(rows * k);
    if (this.native) {
      nativeCall(fn, () => this.native!.topK(h, k, classes, scores));
      return { classes, scores };
    }
    return topKOfScores(this.scores(h), this.classes, k);
  }

  /** A copy of the explicit W, classes x dim (O(classes dim^2) on 'cpu' and 'wasm': U is multiplied in). */
  weights(): Float32Array {
    if (this.dense) return Float32Array.from(this.dense.W);
    const out = new Float32Array(this.classes * this.dim);
    nativeCall('SphericalHead.weights', () => this.native!.weights(out));
    return out;
  }

  /**
   * Folds U and omega into the class rows and recomputes W^T W and W^T 1 from them, dropping the
   * drift of the incremental updates: O(classes dim^2). Nothing to do on 'js'.
   */
  renormalize(): void {
    if (this.native) nativeCall('SphericalHead.renormalize', () => this.native!.renormalize());
  }

  /** The stabilisation work done so far. */
  get stats(): HeadStats {
    return this.native
      ? this.native.stats()
      : { steps: this.dense!.steps, stabilizations: 0, resets: 0, unfactorizations: 0 };
  }
}
