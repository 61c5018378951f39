// fusedloss: fused forward+backward loss functions for Node.js, native (C++ threads, CUDA) with a
// float64 TypeScript reference behind every one.
export { backends, setThreads, getThreads, CUDA_AUTO_MIN_ELEMENTS } from './native';
export type { Backend, BackendReport, CudaDevice } from './native';
export type { FusedLossError, FusedLossErrorCode } from './errors';
export type { NumericArray, BinaryLabels, ClassLabels } from './arrays';
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
  Counts,
  CustomMetric,
  MetricName,
} from './losses/confusion';
export { METRICS } from './losses/metric';
