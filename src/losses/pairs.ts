// The pairwise similarity-weighting family (formulas E): options, defaults, checks and dispatch to
// the native CPU kernels (binding/cpu/pairs.cc, tiled: no N x N matrix), the CUDA kernels
// (cuda/pairs.cu, tiled the same way; 'cuda-sim' runs them in the simulator) or the float64
// reference (src/reference/pairs.ts, which builds S in full).
import { WIRE_CONSTANTS, wireId } from '../wire-enums';
import { bounded } from '../wire-bounds';
import type { PairWire } from '../wire-params';
import {
  allocate,
  gradBuffer,
  requireLength,
  toClassLabels,
  toFloat32,
  toInt32,
  type ClassLabels,
  type NumericArray,
} from '../arrays';
import { describe, rangeError, typeError } from '../errors';
import { faultError, firstNonFinite, type FaultContext } from '../faults';
import { deviceCode, nativeCall, resolveBackend, type Backend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import { referencePairs, type PairLossName, type PairRefParams, type RefGiven } from '../reference/pairs';
import { asyncTwin, callOf, andThen, native, type LossResult, type RowLossResult } from './dispatch';
import type { ClassLossResult } from './spherical';

/** Options every pairwise loss takes. */
export interface PairOptions {
  /** Embedding width D, an integer >= 1 (default embeddings.length / labels.length). Rows are N x D, row-major. */
  dim?: number;
  /**
   * L2-normalise each row first (default true): S is then the cosine similarity and the gradient
   * flows through the normalisation (rows divided by max(||f||, 1e-12), as F.normalize). false:
   * S is the plain dot product of the rows as given, and every row's L2 norm must be at most 1e4
   * (a RangeError names the first that is not): larger rows would overflow S in float32.
   */
  normalize?: boolean;
  /** Gradient buffer to fill (length = embeddings.length, not overlapping them). Default: a new array. */
  out?: Float32Array;
  /**
   * Where to compute (default 'auto'): 'cpu' the native threaded kernels, 'cuda' the GPU,
   * 'cuda-sim' the CUDA kernels run by the simulator (testing only, slow), 'js' the float64
   * reference (builds the N x N similarity matrix: small batches only). 'auto' is CUDA when a
   * device exists and N M D (rows, reference rows, dim) is at least CUDA_AUTO_MIN_WORK (2^22),
   * else the CPU when the addon loaded, else 'js'. FUSEDLOSS_BACKEND, when set, replaces 'auto'.
   */
  backend?: Backend;
}

/** The arithmetic of the CUDA backend for the losses built on similarity tiles (all but orthogonalProjection). */
export interface PairPrecisionOptions {
  /**
   * How the 'cuda' backend forms the similarities S and the gradient products G F and G^T F
   * (default 'fp32'; docs/metric-learning.md, "Precision on the GPU", has measured errors):
   * 'fp32' at FP32 accuracy (on sm_80 and newer on the tensor cores, each operand split into two
   * TF32 parts, three products: 3xTF32); 'tf32' one TF32 product (10-bit mantissas: S off by
   * about 1e-4 at D = 128); 'bf16' one BF16 product (7-bit mantissas: S off by about 1e-3). The
   * two take one product where 'fp32' takes three: faster, less exact. Devices before sm_80
   * compute in FP32 whatever this says. The 'cpu', 'wasm' and 'js' backends always compute in FP32
   * or wider and take the option without effect, so one options object serves 'auto' at every
   * batch size. Given pairs (`pairs`, `triplets`) take each pair's S as a float64 dot product in
   * any precision.
   */
  precision?: PairPrecision;
}

/** The values of {@link PairPrecisionOptions.precision}. */
export type PairPrecision = 'fp32' | 'tf32' | 'bf16';

/** Options of the losses that are a sum of per-anchor terms (all but orthogonalProjection). */
export interface PerAnchorOptions extends PairOptions, PairPrecisionOptions {
  /**
   * 'mean' (default): the loss's own average (each loss says over what). 'none': `loss` is a
   * Float32Array with one loss per query row (anchor), 0 for an anchor that has no term, for a
   * reducer of your own (as pytorch-metric-learning's reducers take "element" losses); `grad` is
   * then the gradient of their sum. An anchor's loss is its term with every mean's count taken as
   * 1: contrastive sums the anchor's pair terms, ntXent its positive pairs' terms.
   */
  reduction?: 'mean' | 'none';
}

/** Row indices into the batch: an Int32Array, or an array of integers. */
export type IndexArray = Int32Array | readonly number[];

/**
 * Given pairs (pytorch-metric-learning's `indices_tuple` of four): the positive pairs
 * (a1[k], p[k]) and the negative pairs (a2[k], n[k]), rows of the batch. a1 and p have one length,
 * a2 and n another (either may be 0).
 */
export interface GivenPairs {
  a1: IndexArray;
  p: IndexArray;
  a2: IndexArray;
  n: IndexArray;
}

/** Given triplets (pytorch-metric-learning's `indices_tuple` of three): (anchor[k], positive[k], negative[k]). */
export interface GivenTriplets {
  anchor: IndexArray;
  positive: IndexArray;
  negative: IndexArray;
}

/**
 * Your own miner's pairs or triplets (formulas E.8; docs/metric-learning.md "Given pairs and
 * triplets"): the loss then runs over them alone, in place of the pairs the labels define (the
 * labels are not consulted for pairs: a "positive" of two labels is taken as your choice). Pass
 * one of the two; default: neither, every pair the labels define. Not with `reference`.
 */
export interface TupleOptions {
  /**
   * Given pairs. The triplet loss forms a triplet of each positive pair with each negative pair
   * of the same anchor (as pytorch-metric-learning's convert_to_triplets). Default: none.
   */
  pairs?: GivenPairs;
  /** Given triplets; the pair losses take each as the pairs (a, p) and (a, n). Default: none. */
  triplets?: GivenTriplets;
}

/** A pair loss's result: per-anchor losses with reduction 'none' (see {@link PerAnchorOptions}). */
export type PairLossResult<O> = ClassLossResult<O>;

export interface MultiSimilarityOptions extends PerAnchorOptions, TupleOptions {
  /** Positive scale alpha >= 1e-6 (default 2). */
  alpha?: number;
  /** Negative scale beta >= 1e-6 (default 50). */
  beta?: number;
  /** The similarity margin lambda (default 0.5). */
  base?: number;
  /** Mining margin epsilon >= 0 (default 0.1). */
  epsilon?: number;
  /**
   * 'pml' (default): pytorch-metric-learning's convention, the self pair dropped by index, each
   * non-empty half of an anchor counted. 'paper': the authors' code (MalongTech/research-ms-loss),
   * positives are same-label pairs with S < 1 - 1e-5 (which also drops exact duplicates), and an
   * anchor lacking mined positives or negatives is skipped (the authors' code raises when an
   * anchor has no positive at all; here it is skipped). Both divide by the batch size N.
   */
  semantics?: 'paper' | 'pml';
  /**
   * Mine pairs against the anchor's hardest opposite pair (default true, formulas E.1). false:
   * every positive and every negative pair counts, as pytorch-metric-learning's
   * MultiSimilarityLoss without a miner; an anchor with no positive then still counts its
   * negative half (mined, it mines no negative and adds 0).
   */
  mining?: boolean;
  /**
   * Cross-batch form: reference rows (M x D, e.g. a memory of past batches) the queries are
   * compared with, instead of with each other; the result then holds `referenceGrad` too. No pair
   * is dropped by index here: a query row that is also in the reference meets itself as a
   * positive with S = 1 under 'pml' ('paper' drops it by its S < 1 - 1e-5 rule). Default: none;
   * the rows of the batch are compared with each other.
   */
  reference?: NumericArray;
  /** One label per reference row. Default: none; required with `reference`, refused without it. */
  referenceLabels?: ClassLabels;
  /** Buffer for the reference gradient (length = reference.length). Default: a new array. */
  referenceOut?: Float32Array;
}

export interface ContrastiveOptions extends PerAnchorOptions, TupleOptions {
  /** Positive pairs cost relu(d - posMargin), posMargin >= 0 (default 0). */
  posMargin?: number;
  /** Negative pairs cost relu(negMargin - d), negMargin >= 0 (default 1). */
  negMargin?: number;
}

export interface TripletBatchHardOptions extends PerAnchorOptions, TupleOptions {
  /** Hinge margin m >= 0 (default 0.05, pytorch-metric-learning): [m + d+ - d-]_+. */
  margin?: number;
  /** Use softplus(d+ - d-) instead of the hinge (default false; Hermans et al.'s soft margin). */
  softMargin?: boolean;
}

export interface CircleLossOptions extends PerAnchorOptions, TupleOptions {
  /** Relaxation margin m >= 0 (default 0.4, pytorch-metric-learning; the paper uses 0.25 for faces). */
  m?: number;
  /** Scale gamma >= 0 (default 80, pytorch-metric-learning; the paper uses 256 for faces). */
  gamma?: number;
}

export interface SupConOptions extends PerAnchorOptions {
  /** Temperature tau >= 1e-6 (default 0.07, HobbitLong/SupContrast). */
  temperature?: number;
  /** Base temperature tau_b >= 1e-6: the loss is scaled by tau / tau_b (default 0.07). */
  baseTemperature?: number;
  /**
   * The anchors the mean runs over: 'with-positive' (default) those with a positive, as
   * pytorch-metric-learning's SupConLoss; 'all' every anchor, counting 0 for one without a
   * positive, as the authors' code (HobbitLong/SupContrast). Equal when every class has two rows.
   */
  meanOver?: 'with-positive' | 'all';
}

export interface NtXentOptions extends PerAnchorOptions {
  /** Temperature tau >= 1e-6 (default 0.07, pytorch-metric-learning). */
  temperature?: number;
}

export interface OrthogonalProjectionOptions extends PairOptions {
  /** Weight gamma >= 0 of the mean negative similarity (default 0.5, kahnchana/opl README). */
  gamma?: number;
}

/** The cross-batch result: the gradient of the queries and of the reference rows. */
export interface CrossBatchResult extends LossResult {
  referenceGrad: Float32Array;
}

export const PAIR_DEFAULTS = {
  normalize: true,
  alpha: 2,
  beta: 50,
  base: 0.5,
  epsilon: 0.1,
  semantics: 'pml' as const,
  mining: true,
  meanOver: 'with-positive' as const,
  posMargin: 0,
  negMargin: 1,
  margin: 0.05,
  softMargin: false,
  m: 0.4,
  gamma: 80,
  temperature: 0.07,
  baseTemperature: 0.07,
  oplGamma: 0.5,
  precision: 'fp32' as PairPrecision,
};

const positive = bounded('kPositive');
const nonNegative = bounded('kNonNegative');
const pairSchema: Record<string, OptionSpec> = {
  dim: bounded('kDimension'),
  normalize: { kind: 'boolean' },
  out: { kind: 'any' },
  backend: backendSpec,
};
const anchorSchema: Record<string, OptionSpec> = {
  ...pairSchema,
  reduction: { kind: 'enum', values: ['mean', 'none'] },
  precision: { kind: 'enum', values: ['fp32', 'tf32', 'bf16'] },
};
// Given pairs or triplets (TupleOptions), checked by givenTuples.
const tupleSchema: Record<string, OptionSpec> = { pairs: { kind: 'any' }, triplets: { kind: 'any' } };
const SCHEMAS: Record<PairLossName, Record<string, OptionSpec>> = {
  'multi-similarity': {
    ...anchorSchema,
    ...tupleSchema,
    alpha: positive,
    beta: positive,
    base: bounded('kSigned'),
    epsilon: nonNegative,
    semantics: { kind: 'enum', values: ['paper', 'pml'] },
    mining: { kind: 'boolean' },
    reference: { kind: 'any' },
    referenceLabels: { kind: 'any' },
    referenceOut: { kind: 'any' },
  },
  contrastive: { ...anchorSchema, ...tupleSchema, posMargin: nonNegative, negMargin: nonNegative },
  'triplet-batch-hard': { ...anchorSchema, ...tupleSchema, margin: nonNegative, softMargin: { kind: 'boolean' } },
  circle: { ...anchorSchema, ...tupleSchema, m: nonNegative, gamma: nonNegative },
  supcon: {
    ...anchorSchema,
    temperature: positive,
    baseTemperature: positive,
    meanOver: { kind: 'enum', values: ['with-positive', 'all'] },
  },
  'nt-xent': { ...anchorSchema, temperature: positive },
  'orthogonal-projection': { ...pairSchema, gamma: nonNegative },
};

/** Each public function's options, for the registry (src/registry.ts). */
export const PAIR_OPTIONS = {
  multiSimilarity: SCHEMAS['multi-similarity'],
  contrastive: SCHEMAS.contrastive,
  tripletBatchHard: SCHEMAS['triplet-batch-hard'],
  circleLoss: SCHEMAS.circle,
  supCon: SCHEMAS.supcon,
  ntXent: SCHEMAS['nt-xent'],
  orthogonalProjection: SCHEMAS['orthogonal-projection'],
};

/** Rows and their labels, checked: dim from the options or from the lengths. */
function rowsArg(fn: string, name: string, labelsName: string, x: unknown, labels: unknown, dim?: number) {
  const e = toFloat32(fn, name, x);
  const y = toInt32(fn, labelsName, toClassLabels(fn, labelsName, labels));
  if (dim === undefined) {
    if (y.length === 0 || e.length % y.length !== 0 || e.length === 0) {
      throw rangeError(
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        `${fn}: ${name} has length ${e.length}, which is not a positive multiple of the ${y.length} labels; pass options.dim`,
      );
    }
    dim = e.length / y.length;
  }
  requireLength(fn, name, e.length, y.length * dim, `${y.length} labels x dim ${dim}`);
  return { e, y, dim };
}

/** The public names of the arguments a kernel fault can be in (src/faults.ts). */
const FAULTS: FaultContext = { names: { scores: 'embeddings' } };

/** The check the native kernel makes as it normalises the rows, for the reference. */
function checkFinite(fn: string, fault: 'score-not-finite' | 'reference-not-finite', v: Float32Array): void {
  const k = firstNonFinite(v);
  if (k >= 0) throw faultError(fn, fault, k, v[k], FAULTS);
}

/** With normalize false a row's L2 norm must be at most this (pairs_math.h, kMaxRawNorm). */
const MAX_RAW_NORM = WIRE_CONSTANTS.kMaxRawNorm;

/** Unnormalised rows beyond MAX_RAW_NORM are refused, as the native kernels refuse them. */
function checkRawNorms(
  fn: string,
  fault: 'row-norm-too-large' | 'reference-row-norm-too-large',
  v: Float32Array,
  dim: number,
): void {
  for (let r = 0; r * dim < v.length; r++) {
    let norm2 = 0;
    for (let d = 0; d < dim; d++) norm2 += v[r * dim + d] * v[r * dim + d];
    if (!(norm2 <= MAX_RAW_NORM * MAX_RAW_NORM)) throw faultError(fn, fault, r, Math.sqrt(norm2), FAULTS);
  }
}

/** Labels of the two-view layout: rows i and i + N/2 share label i mod N/2. */
function twoViewLabels(fn: string, x: unknown, dim: number | undefined): Int32Array {
  const e = toFloat32(fn, 'embeddings', x);
  if (dim === undefined) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: without labels, options.dim is required`);
  }
  const n = e.length / dim;
  if (!Number.isInteger(n) || n % 2 !== 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: embeddings has length ${e.length}, expected an even number of rows of dim ${dim} (two views: rows i and i + N/2 are positives)`,
    );
  }
  return Int32Array.from({ length: n }, (_, i) => i % (n / 2));
}

/** The index arrays of a given tuple, checked: integers, rows of the batch, matching lengths. */
function tupleArrays<K extends string>(fn: string, option: string, v: unknown, keys: readonly K[], rows: number) {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${fn}: options.${option} must be an object { ${keys.join(', ')} } of index arrays, got ${describe(v)}`,
    );
  }
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !(keys as readonly string[]).includes(k));
  if (extra !== undefined) {
    throw typeError(
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      `${fn}: options.${option}.${extra} is unknown; options.${option} holds ${keys.join(', ')}`,
    );
  }
  const out = {} as Record<K, Int32Array>;
  for (const k of keys) {
    const name = `options.${option}.${k}`;
    const a = toInt32(fn, name, o[k], 'a row index', 'an Int32Array of row indices (or an array of integers)');
    const bad = a.findIndex((x) => x < 0 || x >= rows);
    if (bad >= 0) {
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${fn}: ${name}[${bad}] = ${a[bad]} is out of range; indices must be rows of the batch of ${rows}, in [0, ${rows})`,
      );
    }
    out[k] = a;
  }
  return out;
}

function sameLength(fn: string, option: string, a: [string, Int32Array], b: [string, Int32Array]): void {
  requireLength(fn, `options.${option}.${b[0]}`, b[1].length, a[1].length, `the length of options.${option}.${a[0]}`);
}

/**
 * options.pairs / options.triplets checked (formulas E.8), for the reference as given and packed
 * for the native kernels: a1 | p | a2 | n in one Int32Array with the two pair counts; the triplet
 * loss's triplets zipped (a1 = a2 = anchor), from given pairs by anchor.
 */
function givenTuples(fn: string, loss: PairLossName, o: Record<string, unknown>, rows: number, cross: boolean) {
  if (o.pairs === undefined && o.triplets === undefined) return undefined;
  if (o.pairs !== undefined && o.triplets !== undefined) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: pass options.pairs or options.triplets, not both`);
  }
  if (cross) {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.pairs and triplets do not go with options.reference`,
    );
  }
  let ref: RefGiven, a1: Int32Array, p: Int32Array, a2: Int32Array, n: Int32Array;
  if (o.pairs !== undefined) {
    const t = tupleArrays(fn, 'pairs', o.pairs, ['a1', 'p', 'a2', 'n'] as const, rows);
    sameLength(fn, 'pairs', ['a1', t.a1], ['p', t.p]);
    sameLength(fn, 'pairs', ['a2', t.a2], ['n', t.n]);
    ref = { pairs: t };
    ({ a1, p, a2, n } = loss === 'triplet-batch-hard' ? tripletsOfPairs(fn, t) : t);
  } else {
    const t = tupleArrays(fn, 'triplets', o.triplets, ['anchor', 'positive', 'negative'] as const, rows);
    sameLength(fn, 'triplets', ['anchor', t.anchor], ['positive', t.positive]);
    sameLength(fn, 'triplets', ['anchor', t.anchor], ['negative', t.negative]);
    ref = { triplets: t };
    ({ anchor: a1, positive: p, anchor: a2, negative: n } = t);
  }
  const packed = allocate(fn, 'the given pairs', Int32Array, 2 * (a1.length + a2.length));
  packed.set(a1);
  packed.set(p, a1.length);
  packed.set(a2, 2 * a1.length);
  packed.set(n, 2 * a1.length + a2.length);
  return { ref, packed, positives: a1.length, negatives: a2.length };
}

/** Each positive pair with each negative pair of its anchor, positive-major (convert_to_triplets). */
function tripletsOfPairs(fn: string, t: Record<'a1' | 'p' | 'a2' | 'n', Int32Array>) {
  const negatives = new Map<number, number[]>();
  t.a2.forEach((a, j) => negatives.set(a, [...(negatives.get(a) ?? []), j]));
  let count = 0;
  for (const a of t.a1) count += negatives.get(a)?.length ?? 0;
  const a1 = allocate(fn, 'the triplets of the given pairs', Int32Array, count);
  const p = allocate(fn, 'the triplets of the given pairs', Int32Array, count);
  const n = allocate(fn, 'the triplets of the given pairs', Int32Array, count);
  let k = 0;
  t.a1.forEach((a, i) => {
    for (const j of negatives.get(a) ?? []) {
      a1[k] = a;
      p[k] = t.p[i];
      n[k++] = t.n[j];
    }
  });
  return { a1, p, a2: a1, n };
}

type Result = LossResult | RowLossResult | CrossBatchResult;

/**
 * The work 'auto' weighs (CUDA_AUTO_MIN_WORK): N M D multiply-adds for a loss built on the
 * similarity product, 0 for OPL, whose class-sum form is O(N D), a streaming loss.
 */
export function pairWork(loss: PairLossName, rows: number, refRows: number, dim: number): number {
  return loss === 'orthogonal-projection' ? 0 : rows * refRows * dim;
}

function runPairs(
  loss: PairLossName,
  fn: string,
  embeddings: unknown,
  labels: unknown,
  options: unknown,
  async: boolean,
): Result | Promise<Result> {
  const o = readOptions(fn, options, SCHEMAS[loss]);
  const dimOpt = o.dim as number | undefined;
  const y = labels === null || labels === undefined ? twoViewLabels(fn, embeddings, dimOpt) : labels;
  const { e, y: yi, dim } = rowsArg(fn, 'embeddings', 'labels', embeddings, y, dimOpt);
  const cross = o.reference !== undefined;
  if (!cross && (o.referenceLabels !== undefined || o.referenceOut !== undefined)) {
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${fn}: options.referenceLabels and referenceOut need options.reference`,
    );
  }
  const ref = cross
    ? rowsArg(
        fn,
        'options.reference',
        'options.referenceLabels',
        o.reference,
        o.referenceLabels ?? missingLabels(fn),
        dim,
      )
    : undefined;
  const given = givenTuples(fn, loss, o, yi.length, cross);
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), {
    cuda: true,
    pairWork: pairWork(loss, yi.length, ref ? ref.y.length : yi.length, dim),
  });
  const out = gradBuffer(fn, o.out, e.length, e, 'options.out', 'embeddings');
  const refOut = ref
    ? gradBuffer(fn, o.referenceOut, ref.e.length, ref.e, 'options.referenceOut', 'options.reference')
    : undefined;
  const mining = opt(o, 'mining', PAIR_DEFAULTS.mining);
  const supConAllAnchors = opt<string>(o, 'meanOver', PAIR_DEFAULTS.meanOver) === 'all';
  const p: PairRefParams = {
    loss,
    alpha: opt(o, 'alpha', PAIR_DEFAULTS.alpha),
    beta: opt(o, 'beta', PAIR_DEFAULTS.beta),
    base: opt(o, 'base', PAIR_DEFAULTS.base),
    epsilon: opt(o, 'epsilon', PAIR_DEFAULTS.epsilon),
    semantics: opt(o, 'semantics', PAIR_DEFAULTS.semantics),
    posMargin: opt(o, 'posMargin', PAIR_DEFAULTS.posMargin),
    negMargin: opt(o, 'negMargin', PAIR_DEFAULTS.negMargin),
    margin: opt(o, 'margin', PAIR_DEFAULTS.margin),
    softMargin: opt(o, 'softMargin', PAIR_DEFAULTS.softMargin),
    m: opt(o, 'm', PAIR_DEFAULTS.m),
    gamma: opt(o, 'gamma', loss === 'orthogonal-projection' ? PAIR_DEFAULTS.oplGamma : PAIR_DEFAULTS.gamma),
    temperature: opt(o, 'temperature', PAIR_DEFAULTS.temperature),
    baseTemperature: opt(o, 'baseTemperature', PAIR_DEFAULTS.baseTemperature),
    reduction: opt(o, 'reduction', 'mean'),
    mining,
    supConAllAnchors,
  };
  const normalize = opt(o, 'normalize', PAIR_DEFAULTS.normalize);
  const rowLoss = p.reduction === 'none' ? allocate(fn, 'the per-anchor losses', Float32Array, yi.length) : null;
  const result = (l: number) => {
    const r = { loss: rowLoss ?? l, grad: out };
    return (refOut ? { ...r, referenceGrad: refOut } : r) as Result;
  };
  if (backend === 'js') {
    checkFinite(fn, 'score-not-finite', e);
    if (ref) checkFinite(fn, 'reference-not-finite', ref.e);
    if (!normalize) {
      checkRawNorms(fn, 'row-norm-too-large', e, dim);
      if (ref) checkRawNorms(fn, 'reference-row-norm-too-large', ref.e, dim);
    }
    const problem = { x: e, labels: yi, dim, ref: ref?.e, refLabels: ref?.y, normalize, given: given?.ref };
    const r = referencePairs(problem, p);
    out.set(r.grad);
    if (refOut) refOut.set(r.refGrad!);
    if (rowLoss) rowLoss.set(r.rowLoss!);
    return result(r.loss);
  }
  const params: PairWire = {
    ...p,
    mining,
    supConAllAnchors,
    loss: wireId('PairLoss', loss),
    semantics: wireId('MsSemantics', p.semantics),
    precision: wireId('PairPrecision', opt<PairPrecision>(o, 'precision', PAIR_DEFAULTS.precision)),
    dim,
    normalize,
    givenPositives: given?.positives ?? 0,
    givenNegatives: given?.negatives ?? 0,
    device: deviceCode(backend),
  };
  return andThen(
    nativeCall(
      fn,
      () =>
        native(backend).pairLoss(
          e,
          yi,
          ref?.e ?? null,
          ref?.y ?? null,
          out,
          refOut ?? null,
          rowLoss,
          given?.packed ?? null,
          params,
          async,
        ),
      FAULTS,
    ),
    result,
  );
}

function missingLabels(fn: string): never {
  throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `${fn}: options.reference needs options.referenceLabels`);
}

/**
 * multiSimilarity's result: {@link PairLossResult}, with `referenceGrad` (as {@link CrossBatchResult})
 * when the options hold `reference`.
 */
export type WithReference<O> = O extends { reference: NumericArray }
  ? PairLossResult<O> & { referenceGrad: Float32Array }
  : PairLossResult<O>;

/**
 * Multi-Similarity loss (Wang et al., CVPR 2019; formulas E.1): per anchor, hard pairs mined against
 * the hardest opposite pair (epsilon), then (1/alpha) log(1 + sum_P e^{-alpha (S - base)}) +
 * (1/beta) log(1 + sum_N e^{beta (S - base)}); mean over the N anchors. With
 * `reference`/`referenceLabels` the queries are compared with a reference set (cross-batch memory)
 * and the result also holds `referenceGrad`.
 *
 * @example
 * ```ts
 * import { multiSimilarity } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = multiSimilarity(embeddings, labels, { dim: 2 }); // loss ≈ 0.4527
 * // Every pair, unmined (pytorch-metric-learning without a miner):
 * multiSimilarity(embeddings, labels, { dim: 2, mining: false }).loss; // ≈ 0.5096
 * // Cross-batch memory: the batch against 3 reference rows; gradients for both.
 * const memory = new Float32Array([0.9, 0.1, 0.1, 0.9, -0.8, 0.3]);
 * const r = multiSimilarity(embeddings, labels, { dim: 2, reference: memory, referenceLabels: [0, 1, 2] });
 * r.loss; // ≈ 0.2080; r.grad: Float32Array(12), r.referenceGrad: Float32Array(6)
 * ```
 */
export function multiSimilarity<O extends MultiSimilarityOptions = MultiSimilarityOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: O,
): WithReference<O> {
  const [fn, async] = callOf('multiSimilarity');
  return runPairs('multi-similarity', fn, embeddings, labels, options, async) as WithReference<O>;
}

/**
 * The Promise twin of {@link multiSimilarity}: the native backend runs off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const multiSimilarityAsync = asyncTwin('multiSimilarityAsync', multiSimilarity);

/**
 * Contrastive loss as pytorch-metric-learning (formulas E.2): on distances d = ||fn_i - fn_j||,
 * relu(d - posMargin) over positive pairs and relu(negMargin - d) over negative pairs, each half
 * the mean over its non-zero terms, summed. Pairs closer than 1e-3 count as coincident (d = 0).
 *
 * @example
 * ```ts
 * import { contrastive } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = contrastive(embeddings, labels); // dim = 12 / 6 = 2: loss ≈ 1.1860
 * contrastive(embeddings, labels, { negMargin: 0.5 }).loss; // ≈ 0.9191
 * ```
 */
export function contrastive<O extends ContrastiveOptions = ContrastiveOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: O,
): PairLossResult<O> {
  const [fn, async] = callOf('contrastive');
  return runPairs('contrastive', fn, embeddings, labels, options, async) as PairLossResult<O>;
}

/**
 * The Promise twin of {@link contrastive}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const contrastiveAsync = asyncTwin('contrastiveAsync', contrastive);

/**
 * Batch-hard triplet loss (Hermans, Beyer, Leibe 2017; formulas E.3): per anchor the farthest positive
 * and the nearest negative (first on ties), [margin + d+ - d-]_+ (or softplus(d+ - d-)); mean over
 * anchors with a positive loss.
 *
 * @example
 * ```ts
 * import { tripletBatchHard } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = tripletBatchHard(embeddings, labels, { dim: 2 }); // margin 0.05: loss ≈ 0.4868
 * tripletBatchHard(embeddings, labels, { dim: 2, softMargin: true }).loss; // ≈ 0.7192
 * ```
 */
export function tripletBatchHard<O extends TripletBatchHardOptions = TripletBatchHardOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: O,
): PairLossResult<O> {
  const [fn, async] = callOf('tripletBatchHard');
  return runPairs('triplet-batch-hard', fn, embeddings, labels, options, async) as PairLossResult<O>;
}

/**
 * The Promise twin of {@link tripletBatchHard}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const tripletBatchHardAsync = asyncTwin('tripletBatchHardAsync', tripletBatchHard);

/**
 * Circle loss, pair-label form (Sun et al., CVPR 2020; formulas E.4): softplus(LSE_n(gamma a_n (s_n - m))
 * + LSE_p(-gamma a_p (s_p - 1 + m))) per anchor; mean over anchors with positives and negatives.
 *
 * @example
 * ```ts
 * import { circleLoss } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = circleLoss(embeddings, labels, { dim: 2 }); // m 0.4, gamma 80: loss ≈ 33.11
 * circleLoss(embeddings, labels, { dim: 2, m: 0.25, gamma: 256 }).loss; // the paper's face setting: ≈ 139.2
 * ```
 */
export function circleLoss<O extends CircleLossOptions = CircleLossOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: O,
): PairLossResult<O> {
  const [fn, async] = callOf('circleLoss');
  return runPairs('circle', fn, embeddings, labels, options, async) as PairLossResult<O>;
}

/**
 * The Promise twin of {@link circleLoss}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const circleLossAsync = asyncTwin('circleLossAsync', circleLoss);

/**
 * Supervised contrastive loss (Khosla et al. 2020; formulas E.5): -(tau/tau_b) mean over positives p
 * of log softmax_{a != i}(S_i. / tau)_p per anchor; mean over anchors that have a positive.
 *
 * @example
 * ```ts
 * import { supCon } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = supCon(embeddings, labels, { dim: 2 }); // tau 0.07: loss ≈ 2.7193
 * supCon(embeddings, labels, { dim: 2, temperature: 0.1, baseTemperature: 0.1 }).loss; // ≈ 1.9780
 * // Rows 4 and 5 alone in their classes: the authors' mean over all 6 anchors counts them as 0.
 * supCon(embeddings, [0, 0, 1, 1, 2, 3], { dim: 2, meanOver: 'all' }).loss; // ≈ 2.7193 (4.0790 over the 4 with a positive)
 * // One loss per anchor, and the gradient of their sum:
 * supCon(embeddings, labels, { dim: 2, reduction: 'none' }).loss; // Float32Array(6) [≈ 2.913, ≈ 5.245, ...]
 * ```
 */
export function supCon<O extends SupConOptions = SupConOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: O,
): PairLossResult<O> {
  const [fn, async] = callOf('supCon');
  return runPairs('supcon', fn, embeddings, labels, options, async) as PairLossResult<O>;
}

/**
 * The Promise twin of {@link supCon}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const supConAsync = asyncTwin('supConAsync', supCon);

/**
 * NT-Xent / InfoNCE as pytorch-metric-learning (formulas E.5): per positive pair (a, p),
 * -log(e^{S_ap/tau} / (e^{S_ap/tau} + sum over a's negatives e^{S_an/tau})); mean over positive
 * pairs. `labels` null: two views, rows i and i + N/2 are the positives (options.dim required).
 *
 * @example
 * ```ts
 * import { ntXent } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = ntXent(embeddings, labels, { dim: 2 }); // loss ≈ 2.7193
 * // Two views of 3 examples: rows i and i + 3 are the positive pairs.
 * ntXent(embeddings, null, { dim: 2 }).loss; // ≈ 19.76
 * ```
 */
export function ntXent<O extends NtXentOptions = NtXentOptions & { reduction?: 'mean' }>(
  embeddings: NumericArray,
  labels: ClassLabels | null,
  options?: O,
): PairLossResult<O> {
  const [fn, async] = callOf('ntXent');
  return runPairs('nt-xent', fn, embeddings, labels, options, async) as PairLossResult<O>;
}

/**
 * The Promise twin of {@link ntXent}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const ntXentAsync = asyncTwin('ntXentAsync', ntXent);

/**
 * Orthogonal Projection Loss (Ranasinghe et al., ICCV 2021; formulas E.6, as kahnchana/opl): (1 -
 * mean same-class S) + gamma mean different-class S over ordered pairs i != j, from class sums in
 * O(N D).
 *
 * @example
 * ```ts
 * import { orthogonalProjection } from 'fusedloss';
 *
 * // 6 embeddings of dim 2 (row-major), 3 classes of 2 rows.
 * const embeddings = new Float32Array([1, 0, 0.6, 0.8, 0.8, 0.6, 0, 1, -1, 0.1, -0.9, -0.2]);
 * const labels = new Int32Array([0, 0, 1, 1, 2, 2]);
 * const { loss, grad } = orthogonalProjection(embeddings, labels, { dim: 2 }); // gamma 0.5: loss ≈ 0.1812
 * orthogonalProjection(embeddings, labels, { dim: 2, gamma: 1 }).loss; // ≈ 0.0790
 * ```
 */
export function orthogonalProjection(
  embeddings: NumericArray,
  labels: ClassLabels,
  options?: OrthogonalProjectionOptions,
): LossResult {
  const [fn, async] = callOf('orthogonalProjection');
  return runPairs('orthogonal-projection', fn, embeddings, labels, options, async) as LossResult;
}

/**
 * The Promise twin of {@link orthogonalProjection}: the native backend runs off the main thread ('js' computes
 * before resolving).
 *
 * @function
 */
export const orthogonalProjectionAsync = asyncTwin('orthogonalProjectionAsync', orthogonalProjection);
