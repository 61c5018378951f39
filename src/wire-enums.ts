// What crosses to the native layer as numbers: each option value's enum id, and the constants the
// two sides share. Each id is written next to the C++ enumerator it stands for (the enums of
// binding/include/fusedloss and binding/napi/args.h) and looked up by name, never by a list's
// order; `npm run lint` runs scripts/check-wire.mjs, which fails when an id differs from the C++
// enumerator's value, when an enumerator has no value here, or when a constant differs.
// Keep one entry a line, `'value': ['Enumerator', id],`: the check reads this file as text.

export const WIRE_ENUMS = {
  Metric: {
    accuracy: ['Accuracy', 0],
    precision: ['Precision', 1],
    recall: ['Recall', 2],
    specificity: ['Specificity', 3],
    f1: ['F1', 4],
    fbeta: ['FBeta', 5],
    'balanced-accuracy': ['BalancedAccuracy', 6],
    gmean: ['GMean', 7],
    'gmean-squared': ['GMeanSquared', 8],
    mcc: ['MCC', 9],
    jaccard: ['Jaccard', 10],
  },
  Input: {
    logits: ['Logits', 0],
    probabilities: ['Probabilities', 1],
  },
  Average: {
    macro: ['Macro', 0],
    micro: ['Micro', 1],
  },
  PairLoss: {
    'multi-similarity': ['MultiSimilarity', 0],
    contrastive: ['Contrastive', 1],
    'triplet-batch-hard': ['TripletBatchHard', 2],
    circle: ['Circle', 3],
    supcon: ['SupCon', 4],
    'nt-xent': ['NtXent', 5],
    'orthogonal-projection': ['OrthogonalProjection', 6],
  },
  PairPrecision: {
    fp32: ['Fp32', 0],
    tf32: ['Tf32', 1],
    bf16: ['Bf16', 2],
  },
  MsSemantics: {
    paper: ['Paper', 0],
    pml: ['Pml', 1],
  },
  Ties: {
    index: ['Index', 0],
    shuffle: ['Shuffle', 1],
  },
  RankListForm: {
    lse: ['Lse', 0],
    exact: ['Exact', 1],
    anchor: ['Anchor', 2],
  },
  ListNetTarget: {
    softmax: ['Softmax', 0],
    normalize: ['Normalize', 1],
  },
  PairWeighting: {
    none: ['None', 0],
    'label-diff': ['LabelDiff', 1],
    'label-diff-squared': ['LabelDiffSquared', 2],
  },
  LambdaScheme: {
    none: ['None', 0],
    lambdaRank: ['LambdaRank', 1],
    ndcgLoss1: ['NdcgLoss1', 2],
    ndcgLoss2: ['NdcgLoss2', 3],
    ndcgLoss2PP: ['NdcgLoss2PP', 4],
  },
  Reduction: {
    mean: ['Mean', 0],
    sum: ['Sum', 1],
    none: ['None', 2],
  },
  SphericalKind: {
    'z-loss': ['ZLoss', 0],
    mse: ['SquaredError', 1],
    'log-spherical-softmax': ['LogSphericalSoftmax', 2],
    'log-taylor-softmax': ['LogTaylorSoftmax', 3],
  },
  // GCE and MAE are the comp-sum form with a fixed tau.
  SoftmaxForm: {
    ce: ['CrossEntropy', 0],
    'comp-sum': ['CompSum', 1],
    gce: ['CompSum', 1],
    mae: ['CompSum', 1],
    focal: ['Focal', 2],
    'ldr-kl': ['LdrKl', 3],
  },
  RankMetric: {
    ndcg: ['Ndcg', 0],
    mrr: ['Mrr', 1],
    map: ['Map', 2],
    recall: ['Recall', 3],
    precision: ['Precision', 4],
  },
  MetricGain: {
    exp2: ['Exp2', 0],
    linear: ['Linear', 1],
  },
  MetricDiscount: {
    log2: ['Log2', 0],
    reciprocal: ['Reciprocal', 1],
  },
  EmptyTarget: {
    neg: ['Neg', 0],
    pos: ['Pos', 1],
    skip: ['Skip', 2],
  },
  ApDenominator: {
    relevant: ['Relevant', 0],
    retrieved: ['Retrieved', 1],
  },
  // A kernel's fault, reported as data and written as a message by src/faults.ts.
  Fault: {
    none: ['None', 0],
    'score-not-finite': ['ScoreNotFinite', 1],
    'probability-out-of-range': ['ProbabilityOutOfRange', 2],
    'label-out-of-range': ['LabelOutOfRange', 3],
    'weight-invalid': ['WeightInvalid', 4],
    'relevance-invalid': ['RelevanceInvalid', 5],
    'teacher-not-finite': ['TeacherNotFinite', 6],
    cuda: ['Cuda', 7],
    'class-weight-invalid': ['ClassWeightInvalid', 8],
    'reference-not-finite': ['ReferenceNotFinite', 9],
    'row-norm-too-large': ['RowNormTooLarge', 10],
    'reference-row-norm-too-large': ['ReferenceRowNormTooLarge', 11],
    'logit-not-finite': ['LogitNotFinite', 12],
    'zloss-spread-too-small': ['ZLossSpreadTooSmall', 13],
  },
  Device: {
    cpu: ['Cpu', 0],
    cuda: ['Cuda', 1],
    'cuda-sim': ['Sim', 2],
  },
  // linearCrossEntropy's options.margin.kind (linear_ce.h).
  MarginKind: {
    none: ['None', 0],
    arcface: ['ArcFace', 1],
    cosface: ['CosFace', 2],
  },
} as const satisfies Record<string, Record<string, readonly [string, number]>>;

/** Constants both sides use, by their C++ names. */
export const WIRE_CONSTANTS = {
  // An unnormalised embedding row's largest L2 norm (pairs_math.h).
  kMaxRawNorm: 1e4,
} as const;

type Enums = typeof WIRE_ENUMS;

/** The ids of the C++ enum `E` (of its values `V`, all by default), as literal types: `WireId<'Input'>` is 0 | 1. */
export type WireId<E extends keyof Enums, V extends keyof Enums[E] = keyof Enums[E]> = {
  [K in V]: Enums[E][K] extends readonly [string, infer I extends number] ? I : never;
}[V];

/** The id of `value` in the C++ enum `e`. */
export function wireId<E extends keyof Enums, V extends keyof Enums[E]>(e: E, value: V): WireId<E, V> {
  return (WIRE_ENUMS[e][value] as readonly [string, number])[1] as WireId<E, V>;
}
