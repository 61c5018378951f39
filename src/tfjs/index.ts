// fusedloss/tfjs: every fused loss as a TensorFlow.js op (`ops`), as a tfjs-layers loss
// (`losses`), and as kernels registered by name (`registerFusedKernels`). Needs
// @tensorflow/tfjs-core 4 (installed with @tensorflow/tfjs); in place on the 'cpu' and 'wasm'
// backends, with copies on the others.
//
// Saving and loading: a model compiled with one of these losses saves its topology and weights
// as usual (`model.save`); the loss is a function, which tfjs does not serialise, so after
// `tf.loadLayersModel(...)` compile again with the same line as before, e.g.
// `model.compile({ optimizer: 'adam', loss: losses.anyLoss({ metric: 'f1' }) })`.
export * as ops from './ops';
export * as losses from './layers';
export { registerFusedKernels } from './kernels';
export type { FusedAttrs } from './kernels';
export type { CallLayout } from './layout';
export type { OpOptions, LinearOpOptions, ProxyAnchorOpOptions, ProxyNCAOpOptions } from './ops';
export type { LayersLoss } from './layers';
export { fusedDense } from './linear-layer';
export type {
  FusedDenseConfig,
  FusedDenseLayer,
  FusedDenseMembers,
  FusedDenseWeight,
  TfLayersNamespace,
} from './linear-layer';
