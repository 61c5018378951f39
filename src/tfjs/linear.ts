// The fused linear cross-entropy as a TensorFlow.js op with gradients for the features, the weight
// and the bias (formulas J.1): one kernel, `FusedLinearCrossEntropy`, whose forward returns the
// loss and the three gradients and saves the gradients, so the backward pass is only dy times
// them. The B x C logits never exist, in tfjs or in the kernel. On 'cpu' the inputs are read where
// the backend keeps them and the outputs adopted; other backends read back and upload (copies).
import {
  engine,
  getBackend,
  getGradient,
  getKernel,
  mul,
  registerGradient,
  registerKernel,
  Tensor,
  type DataType,
  type KernelBackend,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';
import { linearCrossEntropy as fused, type LinearCrossEntropyOptions } from '../losses/linear';
import { asOpError } from './kernels';
import { classIds } from './layout';

const KERNEL = 'FusedLinearCrossEntropy';
const OP = 'ops.linearCrossEntropy';

/** The options of the op: the core function's, less the buffers, `dim` (from hidden's shape) and 'none'. */
export type LinearOpOptions = Omit<LinearCrossEntropyOptions, 'out' | 'dim' | 'bias' | 'reduction' | 'returnLse'> & {
  /** 'mean' (default) or 'sum': the op's loss is a scalar. */
  reduction?: 'mean' | 'sum';
};

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo;
}

type Values = Float32Array | Int32Array | Uint8Array;

function forward({
  inputs,
  backend,
  attrs,
}: {
  inputs: NamedTensorInfoMap;
  backend: KernelBackend;
  attrs?: object;
}): TensorInfo[] {
  const { hidden, weight, yTrue, bias } = inputs as {
    hidden: TensorInfo;
    weight: TensorInfo;
    yTrue: TensorInfo;
    bias?: TensorInfo;
  };
  const options = (attrs as { options: LinearOpOptions }).options;
  const cpu = getBackend() === 'cpu' ? (backend as unknown as CpuBackend) : null;
  const read = (t: TensorInfo): Values => (cpu ? cpu.data.get(t.dataId).values : backend.readSync(t.dataId)) as Values;
  const C = weight.shape[0],
    D = weight.shape[1];
  let r;
  try {
    r = fused(read(hidden) as Float32Array, read(weight) as Float32Array, classIds(OP, read(yTrue)), {
      ...options,
      dim: D,
      ...(bias ? { bias: read(bias) as Float32Array } : {}),
    });
  } catch (err) {
    throw asOpError(OP, err);
  }
  const gradBias = r.gradBias ?? new Float32Array(C);
  const out = (shape: number[], values: Float32Array): TensorInfo =>
    cpu
      ? cpu.makeTensorInfo(shape, 'float32', values)
      : { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
  return [
    out([], Float32Array.of(r.loss)),
    out(hidden.shape, r.gradHidden),
    out(weight.shape, r.gradWeight),
    out([C], gradBias),
  ];
}

/** Registers the kernel (for the active backend) and its gradient, once. */
function register(): void {
  const backendName = getBackend();
  if (!getKernel(KERNEL, backendName))
    registerKernel({ kernelName: KERNEL, backendName, kernelFunc: forward as never });
  if (getGradient(KERNEL)) return;
  registerGradient({
    kernelName: KERNEL,
    outputsToSave: [false, true, true, true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const d = (dy as Tensor[])[0];
      const [gH, gW, gB] = saved;
      return { hidden: () => mul(d, gH), weight: () => mul(d, gW), bias: () => mul(d, gB) };
    },
  });
}

function check(name: string, t: unknown, rank: number, float: boolean): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${OP}: ${name} must be a tf.Tensor`);
  if (float && t.dtype !== 'float32')
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${OP}: ${name} must be a float32 tensor, got ${t.dtype}`);
  if (rank >= 0 && t.rank !== rank)
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${OP}: ${name} must have rank ${rank}, got shape [${t.shape.join(', ')}]`,
    );
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
  check('yTrue', yTrue, -1, false);
  check('hidden', hidden, 2, true);
  check('weight', weight, 2, true);
  if (bias != null) check('bias', bias, 1, true);
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
  register();
  const inputs = { yTrue, hidden, weight, ...(bias != null ? { bias } : {}) };
  const [loss, ...grads] = engine().runKernel(KERNEL, inputs, { options: options ?? {} } as never) as Tensor[];
  for (const g of grads) g.dispose(); // under a tape the engine keeps its own copies for the backward pass
  return loss;
}
