// The params object each native entry point reads: one interface per family, with exactly the
// fields its `*_field(params, "...")` calls in binding/napi read, so that a field misspelled or
// left out is a compile error here instead of the addon's TypeError at run time. Enum fields hold
// the C++ enumerators' ids (src/wire-enums.ts); bounds stay where the options are read.
import type { WireId } from './wire-enums';
import type { OverlapForm } from './reference/confusion';
import type { PairRefParams } from './reference/pairs';

/** Where the call runs (binding/napi/args.cc, device_field). */
interface OnDevice {
  device: WireId<'Device'>;
}

// ---- the confusion family (binding/napi/confusion.cc) ----

/** Every confusion entry but the element-wise losses: problem_args with classes and input. */
export interface ConfusionWire extends OnDevice {
  classes: number;
  input: WireId<'Input'>;
}

/** confusionCounts and confusionBackward: the soft counts of the amplified predictions. */
export interface CountsWire extends ConfusionWire {
  amplifier: number;
}

export interface AnyLossWire extends CountsWire {
  metric: WireId<'Metric'>;
  beta: number;
  eps: number;
  average: WireId<'Average'>;
}

/** overlapLoss: Dice and Tversky as one ratio of soft counts (formulas B.1). */
export interface OverlapWire extends ConfusionWire, OverlapForm {}

/** binaryCrossEntropy and sigmoidFocal: binary, one logit per row (no classes or input read). */
export interface ElementwiseWire extends OnDevice {
  sum: boolean;
}

/** The element-wise entry points by name, each with its own params. */
export interface ElementwiseParams {
  binaryCrossEntropy: ElementwiseWire & { posWeight: number };
  sigmoidFocal: ElementwiseWire & { gamma: number; alpha: number };
}

// ---- the spherical family (binding/napi/spherical.cc) ----

/** problem_args: rows of `classes` logits and the reduction (rowLoss is read with 'none'). */
export interface ClassWire extends OnDevice {
  classes: number;
  reduction: WireId<'Reduction'>;
}

export interface SphericalWire extends ClassWire {
  kind: WireId<'SphericalKind'>;
  a: number;
  b: number;
  eps: number;
}

export interface SoftmaxWire extends ClassWire {
  form: WireId<'SoftmaxForm'>;
  temperature: number;
  smoothing: number;
  tau: number;
  scale: number;
  gamma: number;
  alpha: number;
  lambda: number;
  margin: number;
  softcap: number;
  lseSquare: number;
  ignoreIndex: number;
}

/** The fused linear cross-entropy (binding/napi/linear_ce.cc). */
export interface LinearWire extends OnDevice {
  dim: number;
  reduction: WireId<'Reduction'>;
  ignoreIndex: number;
  smoothing: number;
  lseSquareScale: number;
  softcap: number;
  /** Sub-center ArcFace's k; the addon reads 1 when it is absent. */
  subCenters?: number;
}

// ---- the ranking family (binding/napi/ranking.cc) ----

/** metric_params: the (metric, k) pairs and their conventions. */
export interface MetricSpecsWire {
  /** (RankMetric id, k) pairs, packed. */
  specs: Int32Array;
  gain: WireId<'MetricGain'>;
  discount: WireId<'MetricDiscount'>;
  empty: WireId<'EmptyTarget'>;
  ap: WireId<'ApDenominator'>;
  adaptiveK: boolean;
}

/** What every list entry reads: list_layout's listSize (read when offsets is null) and the device. */
export interface ListLayoutWire extends OnDevice {
  listSize: number;
}

/** list_args: a list loss, and the ranking metrics of the same lists when it is asked for them. */
export interface ListWire extends ListLayoutWire {
  metrics?: MetricSpecsWire;
}

/** rankingMetrics: the metrics alone. */
export interface RankingMetricsWire extends ListLayoutWire, MetricSpecsWire {}

/** The list losses by entry point, each with its own params. */
export interface ListParams {
  listMLE: ListWire & {
    /** Per-position weights; null or undefined for none. */
    weights: Float32Array | null | undefined;
    topK: number;
    ties: WireId<'Ties'>;
    seed: number;
  };
  rankList: ListWire & { form: WireId<'RankListForm'>; skip: number; margin: number };
  listNet: ListWire & { target: WireId<'ListNetTarget'>; temperature: number };
  rankNet: ListWire & { sigma: number; weighting: WireId<'PairWeighting'> };
  pairwiseHinge: ListWire & { margin: number; perItem: boolean };
  approxNDCG: ListWire & { temperature: number };
  neuralNDCG: ListWire & { temperature: number; k: number; gain: WireId<'MetricGain'>; maxIter: number; tol: number };
  lambdaLoss: ListWire & {
    scheme: WireId<'LambdaScheme'>;
    k: number;
    sigma: number;
    mu: number;
    mean: boolean;
    normalize: boolean;
  };
}

export interface DistillWire extends OnDevice {
  tau: number;
}

// ---- the pairwise family (binding/napi/pairs.cc) and the proxies (binding/napi/proxy.cc) ----

/** pairLoss: pair_params, the rows' layout and the counts of the given pairs (0 without them). */
export interface PairWire
  extends OnDevice, Omit<PairRefParams, 'loss' | 'semantics' | 'mining' | 'supConAllAnchors' | 'reduction'> {
  loss: WireId<'PairLoss'>;
  dim: number;
  normalize: boolean;
  semantics: WireId<'MsSemantics'>;
  mining: boolean;
  supConAllAnchors: boolean;
  precision: WireId<'PairPrecision'>;
  givenPositives: number;
  givenNegatives: number;
}

export interface ProxyAnchorWire extends OnDevice {
  dim: number;
  alpha: number;
  margin: number;
  /** The addon refuses 'none'. */
  reduction: WireId<'Reduction', 'mean' | 'sum'>;
}

/** proxyNCA (binding/napi/linear_ce.cc): rowLoss is required with reduction 'none'. */
export interface ProxyNcaWire extends OnDevice {
  dim: number;
  softmaxScale: number;
  reduction: WireId<'Reduction'>;
}
