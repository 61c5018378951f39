// The fused linear cross-entropy as a TensorFlow.js op with gradients for the features, the weight
// and the bias (formulas J.1): one kernel, `FusedLinearCrossEntropy`, whose forward returns the
// loss and the three gradients and saves the gradients, so the backward pass is only dy times
// them. The B x C logits never exist, in tfjs or in the kernel. On 'cpu' the inputs are read where
// the backend keeps them and the outputs adopted; other backends read back and upload (copies).
import type { Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';
import { linearCrossEntropy as fused, type LinearCrossEntropyOptions } from '../losses/linear';
import { asOpError } from './kernels';
import { classIds } from './layout';
import { checkTensor, registerSavedGradientKernel, runForLoss, type KernelIo } from './saved-grads';

const KERNEL = 'FusedLinearCrossEntropy';
const OP = 'ops.linearCrossEntropy';

/** The options of the op: the core function's, less the buffers, `dim` (from hidden's shape) and 'none'. */
export type LinearOpOptions = Omit<LinearCrossEntropyOptions, 'out' | 'dim' | 'bias' | 'reduction' | 'returnLse'> & {
  /** 'mean' (default) or 'sum': the op's loss is a scalar. */
  reduction?: 'mean' | 'sum';
};

function forward(io: KernelIo, inputs: Record<string, TensorInfo>, attrs: { options: LinearOpOptions }): TensorInfo[] {
  const { hidden, weight, yTrue, bias } = inputs;
  const C = weight.shape[0],
    D = weight.shape[1];
  let r;
  try {
    r = fused(io.read(hidden) as Float32Array, io.read(weight) as Float32Array, classIds(OP, io.read(yTrue)), {
      ...attrs.options,
      dim: D,
      ...(bias ? { bias: io.read(bias) as Float32Array } : {}),
    });
  } catch (err) {
    throw asOpError(OP, err);
  }
  return [
    io.out([], Float32Array.of(r.loss)),
    io.out(hidden.shape, r.gradHidden),
    io.out(weight.shape, r.gradWeight),
    io.out([C], r.gradBias ?? new Float32Array(C)),
  ];
}

/**
 * Softmax cross-entropy of the logits `hidden weight^T + bias`, computed by the fused kernel without
 * forming them, as a tfjs op with gradients for `hidden`, `weight` and `bias`: `yTrue` B class ids,
 * `hidden` [B, D], `weight` [C, D] (one row per class, as a torch Linear layer; a tfjs dense
 * kernel is its transpose), `bias` [C] or null. Returns the scalar loss. Works under tf.grad,
 * tf.variableGrads and optimizer.minimize.
 *
 * @example
 * ```ts
 * const w = tf.variable(tf.randomNormal([C, D], 0, 0.05));
 * optimizer.minimize(() => ops.linearCrossEntropy(ids, encoder.apply(x) as tf.Tensor, w, null, { labelSmoothing: 0.1 }) as tf.Scalar);
 * ```
 */
export function linearCrossEntropy(
  yTrue: Tensor,
  hidden: Tensor,
  weight: Tensor,
  bias?: Tensor | null,
  options?: LinearOpOptions,
): Tensor {
  checkTensor(OP, 'yTrue', yTrue, -1, false);
  checkTensor(OP, 'hidden', hidden, 2, true);
  checkTensor(OP, 'weight', weight, 2, true);
  if (bias != null) checkTensor(OP, 'bias', bias, 1, true);
  if (options && ('out' in options || 'dim' in options || 'bias' in options || 'returnLse' in options))
    throw typeError(
      'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
      `${OP}: options.out, dim, bias and returnLse are not options of the op: tfjs owns the gradients, dim comes from hidden's shape, and bias is an argument`,
    );
  if (options?.reduction !== undefined && options.reduction !== 'mean' && options.reduction !== 'sum')
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${OP}: options.reduction must be 'mean' or 'sum', got '${String(options.reduction)}'`,
    );
  if (hidden.shape[1] !== weight.shape[1])
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${OP}: hidden [${hidden.shape.join(', ')}] and weight [${weight.shape.join(', ')}] must have the same width D`,
    );
  if (yTrue.size !== hidden.shape[0])
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${OP}: yTrue must hold one class id per row of hidden (${hidden.shape[0]}), got shape [${yTrue.shape.join(', ')}]`,
    );
  if (bias != null && bias.size !== weight.shape[0])
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${OP}: bias must have one entry per class (${weight.shape[0]}), got ${bias.size}`,
    );
  registerSavedGradientKernel(KERNEL, ['hidden', 'weight', 'bias'], forward);
  return runForLoss(KERNEL, { yTrue, hidden, weight, ...(bias != null ? { bias } : {}) }, { options: options ?? {} });
}
