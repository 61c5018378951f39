// The proxy losses as TensorFlow.js ops with gradients for the embeddings and the proxies
// (formulas M): one kernel per loss (`FusedProxyAnchor`, `FusedProxyNCA`), whose forward returns
// the loss and both gradients and saves the gradients, so the backward pass is only dy times them.
// The B x C cosines never exist, in tfjs or in the kernel. On 'cpu' the inputs are read where the
// backend keeps them and the outputs adopted; other backends read back and upload (copies).
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';
import { proxyAnchor as fusedAnchor, type ProxyAnchorOptions, type ProxyLossResult } from '../losses/proxy';
import { proxyNCA as fusedNca, type ProxyNCAOptions } from '../losses/proxy-nca';
import { asOpError } from './kernels';
import { classIds } from './layout';
import { checkTensor, registerSavedGradientKernel, runForLoss, type KernelIo } from './saved-grads';

/** The options of the op: the core function's, less the buffers and `dim` (from the embeddings' shape). */
export type ProxyAnchorOpOptions = Omit<ProxyAnchorOptions, 'out' | 'dim'>;

/** The options of the op: the core function's, less the buffers, `dim`, and reduction 'none' (the op's loss is a scalar). */
export type ProxyNCAOpOptions = Omit<ProxyNCAOptions, 'out' | 'dim' | 'reduction'> & { reduction?: 'mean' | 'sum' };

type Fused<O> = (embeddings: Float32Array, proxies: Float32Array, labels: Int32Array, options: O) => ProxyLossResult;

/** The op `op` (kernel `kernel`) of the fused proxy loss `fused`. */
function proxyOp<O extends object>(kernel: string, op: string, fused: Fused<O & { dim: number }>) {
  const forward = (io: KernelIo, inputs: Record<string, TensorInfo>, attrs: { options: O }): TensorInfo[] => {
    const { embeddings, proxies, yTrue } = inputs;
    let r;
    try {
      r = fused(io.read(embeddings) as Float32Array, io.read(proxies) as Float32Array, classIds(op, io.read(yTrue)), {
        ...attrs.options,
        dim: proxies.shape[1],
      });
    } catch (err) {
      throw asOpError(op, err);
    }
    return [
      io.out([], Float32Array.of(r.loss)),
      io.out(embeddings.shape, r.gradEmbeddings),
      io.out(proxies.shape, r.gradProxies),
    ];
  };
  return (yTrue: Tensor, embeddings: Tensor, proxies: Tensor, options?: O): Tensor => {
    checkTensor(op, 'yTrue', yTrue, -1, false);
    checkTensor(op, 'embeddings', embeddings, 2, true);
    checkTensor(op, 'proxies', proxies, 2, true);
    if (options && ('out' in options || 'dim' in options))
      throw typeError(
        'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
        `${op}: options.out and dim are not options of the op: tfjs owns the gradients, and dim comes from the shapes`,
      );
    if (options && 'reduction' in options && options.reduction === 'none')
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${op}: options.reduction 'none' is not an option of the op: its loss is a scalar`,
      );
    if (embeddings.shape[1] !== proxies.shape[1] || yTrue.size !== embeddings.shape[0])
      throw rangeError(
        'ERR_FUSEDLOSS_LENGTH_MISMATCH',
        `${op}: embeddings [${embeddings.shape.join(', ')}] and proxies [${proxies.shape.join(', ')}] must have the same width D, and yTrue [${yTrue.shape.join(', ')}] one class id per embedding`,
      );
    registerSavedGradientKernel(kernel, ['embeddings', 'proxies'], forward);
    return runForLoss(kernel, { yTrue, embeddings, proxies }, { options: options ?? {} });
  };
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
export const proxyAnchor: (
  yTrue: Tensor,
  embeddings: Tensor,
  proxies: Tensor,
  options?: ProxyAnchorOpOptions,
) => Tensor = proxyOp('FusedProxyAnchor', 'ops.proxyAnchor', fusedAnchor);

/**
 * ProxyNCA++ (Teh et al. 2020) computed by the fused kernels, as a tfjs op with gradients for the
 * `embeddings` [B, D] and the `proxies` [C, D] (a tf.variable, one proxy per class); `yTrue` B
 * class ids. Returns the scalar loss ('mean' or 'sum'). Works under tf.grad, tf.variableGrads and
 * optimizer.minimize.
 *
 * @example
 * ```ts
 * const proxies = tf.variable(tf.randomNormal([C, D]));
 * optimizer.minimize(
 *   () => ops.proxyNCA(ids, encoder.apply(x) as tf.Tensor, proxies, { softmaxScale: 9 }) as tf.Scalar,
 * );
 * ```
 */
export const proxyNCA: (yTrue: Tensor, embeddings: Tensor, proxies: Tensor, options?: ProxyNCAOpOptions) => Tensor =
  proxyOp('FusedProxyNCA', 'ops.proxyNCA', fusedNca as Fused<ProxyNCAOpOptions & { dim: number }>);
