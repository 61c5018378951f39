// fusedloss: fused forward+backward loss functions for Node.js, native (C++ threads, CUDA) with a
// float64 TypeScript reference behind every one.
export { backends, setThreads, getThreads, CUDA_AUTO_MIN_WORK } from './native';
export type { Backend, BackendReport, CpuIsa, CudaDevice } from './native';
export type { FusedLossError, FusedLossErrorCode } from './errors';
export type { NumericArray, BinaryLabels, ClassLabels, Targets } from './arrays';
export {
  anyLoss,
  anyLossAsync,
  softConfusion,
  softConfusionAsync,
  diceLoss,
  diceLossAsync,
  tverskyLoss,
  tverskyLossAsync,
  binaryCrossEntropy,
  binaryCrossEntropyAsync,
  sigmoidFocal,
  sigmoidFocalAsync,
} from './losses/confusion';
export type {
  LossResult,
  ProblemOptions,
  AnyLossOptions,
  SoftConfusionOptions,
  SoftCounts,
  DiceOptions,
  TverskyOptions,
  BinaryCrossEntropyOptions,
  SigmoidFocalOptions,
  Counts,
  CustomMetric,
  MetricName,
} from './losses/confusion';
export { METRICS } from './losses/metric';
export {
  zLoss,
  zLossAsync,
  sphericalLoss,
  sphericalLossAsync,
  softmaxCrossEntropy,
  softmaxCrossEntropyAsync,
} from './losses/spherical';
export type {
  ClassLossOptions,
  ClassLossResult,
  ZLossOptions,
  SphericalLossOptions,
  SoftmaxCrossEntropyOptions,
  SoftmaxResult,
  SoftmaxForm,
  Reduction,
  RowLossResult,
} from './losses/spherical';
export { linearCrossEntropy, linearCrossEntropyAsync, LINEAR_DEFAULTS } from './losses/linear';
export type {
  LinearCrossEntropyOptions,
  LinearCrossEntropyResult,
  LinearCrossEntropyResultFor,
  LinearCrossEntropyOut,
  MarginOptions,
} from './losses/linear';
export { SphericalHead, SPHERICAL_HEAD_DEFAULTS } from './spherical-head';
export { LinearHead } from './linear-head';
export type {
  LinearHeadOptions,
  LinearHeadLoss,
  LinearHeadStepOptions,
  LinearHeadStepResult,
  LinearHeadJSON,
} from './linear-head';
export { OPTIMIZER_DEFAULTS } from './optimizer';
export type { OptimizerKind, OptimizerConfig } from './optimizer';
export type { SphericalHeadOptions, HeadStepOptions, HeadStepResult, HeadStats, HeadLossKind } from './spherical-head';
export {
  rankList,
  rankListAsync,
  listMLE,
  listMLEAsync,
  plackettLuceDistill,
  plackettLuceDistillAsync,
  listNet,
  listNetAsync,
  rankNet,
  rankNetAsync,
  pairwiseHinge,
  pairwiseHingeAsync,
  approxNDCG,
  approxNDCGAsync,
  lambdaLoss,
  lambdaLossAsync,
  RANKING_DEFAULTS,
} from './losses/ranking';
export type {
  ListOptions,
  RankListOptions,
  ListMLEOptions,
  PlackettLuceDistillOptions,
  ListNetOptions,
  RankNetOptions,
  PairwiseHingeOptions,
  ApproxNDCGOptions,
  LambdaLossOptions,
  ListLossResult,
} from './losses/ranking';
export type { LambdaSchemeName } from './reference/ranking';
export { neuralNDCG, neuralNDCGAsync, NEURAL_NDCG_DEFAULTS } from './losses/neural-ndcg';
export type { NeuralNDCGOptions } from './losses/neural-ndcg';
export {
  ndcg,
  ndcgAsync,
  mrr,
  mrrAsync,
  meanAveragePrecision,
  meanAveragePrecisionAsync,
  recallAtK,
  recallAtKAsync,
  precisionAtK,
  precisionAtKAsync,
} from './losses/metrics';
export type {
  RankingMetricOptions,
  NdcgOptions,
  MapOptions,
  PrecisionOptions,
  RankingMetricResult,
} from './losses/metrics';
export {
  multiSimilarity,
  multiSimilarityAsync,
  contrastive,
  contrastiveAsync,
  tripletBatchHard,
  tripletBatchHardAsync,
  circleLoss,
  circleLossAsync,
  supCon,
  supConAsync,
  ntXent,
  ntXentAsync,
  orthogonalProjection,
  orthogonalProjectionAsync,
  PAIR_DEFAULTS,
} from './losses/pairs';
export type {
  PairOptions,
  MultiSimilarityOptions,
  ContrastiveOptions,
  TripletBatchHardOptions,
  CircleLossOptions,
  SupConOptions,
  NtXentOptions,
  OrthogonalProjectionOptions,
  CrossBatchResult,
  WithReference,
  PerAnchorOptions,
  PairPrecisionOptions,
  PairPrecision,
  PairLossResult,
  TupleOptions,
  GivenPairs,
  GivenTriplets,
  IndexArray,
} from './losses/pairs';
export { proxyAnchor, proxyAnchorAsync, PROXY_ANCHOR_DEFAULTS } from './losses/proxy';
export type { ProxyAnchorOptions, ProxyLossResult, ProxyLossOut } from './losses/proxy';
export { proxyNCA, proxyNCAAsync, PROXY_NCA_DEFAULTS } from './losses/proxy-nca';
export type { ProxyNCAOptions, ProxyNCARowResult } from './losses/proxy-nca';
