// ProxyAnchor as a TensorFlow.js op with gradients for the embeddings and the proxies (formulas
// M.1): one kernel, `FusedProxyAnchor`, whose forward returns the loss and both gradients and saves
// the gradients, so the backward pass is only dy times them. The B x C cosines never exist, in tfjs
// or in the kernel. On 'cpu' the inputs are read where the backend keeps them and the outputs
// adopted; other backends read back and upload (copies).
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';
import { proxyAnchor as fused, type ProxyAnchorOptions } from '../losses/proxy';
import { asOpError } from './kernels';
import { classIds } from './layout';
import { checkTensor, registerSavedGradientKernel, runForLoss, type KernelIo } from './saved-grads';

const KERNEL = 'FusedProxyAnchor';
const OP = 'ops.proxyAnchor';

/** The options of the op: the core function's, less the buffers and `dim` (from the embeddings' shape). */
export type ProxyAnchorOpOptions = Omit<ProxyAnchorOptions, 'out' | 'dim'>;

function forward(
  io: KernelIo,
  inputs: Record<string, TensorInfo>,
  attrs: { options: ProxyAnchorOpOptions },
): TensorInfo[] {
  const { embeddings, proxies, yTrue } = inputs;
  let r;
  try {
    r = fused(io.read(embeddings) as Float32Array, io.read(proxies) as Float32Array, classIds(OP, io.read(yTrue)), {
      ...attrs.options,
      dim: proxies.shape[1],
    });
  } catch (err) {
    throw asOpError(OP, err);
  }
  return [
    io.out([], Float32Array.of(r.loss)),
    io.out(embeddings.shape, r.gradEmbeddings),
    io.out(proxies.shape, r.gradProxies),
  ];
}

/**
 * ProxyAnchor (Kim et al. 2020) computed by the fused kernel, as a tfjs op with gradients for the
 * `embeddings` [B, D] and the `proxies` [C, D] (a tf.variable, one proxy per class); `yTrue` B
 * class ids. Returns the scalar loss. Works under tf.grad, tf.variableGrads and optimizer.minimize.
 *
 * @example
 * ```ts
 * const proxies = tf.variable(tf.randomNormal([C, D]));
 * optimizer.minimize(() => ops.proxyAnchor(ids, encoder.apply(x) as tf.Tensor, proxies) as tf.Scalar);
 * ```
 */
export function proxyAnchor(
  yTrue: Tensor,
  embeddings: Tensor,
  proxies: Tensor,
  options?: ProxyAnchorOpOptions,
): Tensor {
  checkTensor(OP, 'yTrue', yTrue, -1, false);
  checkTensor(OP, 'embeddings', embeddings, 2, true);
  checkTensor(OP, 'proxies', proxies, 2, true);
  if (options && ('out' in options || 'dim' in options))
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${OP}: options.out and dim are not options of the op: tfjs owns the gradients, and dim comes from the shapes`,
    );
  if (embeddings.shape[1] !== proxies.shape[1] || yTrue.size !== embeddings.shape[0])
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${OP}: embeddings [${embeddings.shape.join(', ')}] and proxies [${proxies.shape.join(', ')}] must have the same width D, and yTrue [${yTrue.shape.join(', ')}] one class id per embedding`,
    );
  registerSavedGradientKernel(KERNEL, ['embeddings', 'proxies'], forward);
  return runForLoss(KERNEL, { yTrue, embeddings, proxies }, { options: options ?? {} });
}
