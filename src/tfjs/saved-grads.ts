// The ops whose fused kernel takes several differentiable inputs (linearCrossEntropy, proxyAnchor):
// the forward returns [loss, ...one gradient per input] and saves the gradients, so the backward
// pass is only dy times them. On 'cpu' the inputs are read where the backend keeps them and the
// outputs adopted; other backends read back and upload (copies).
import {
  engine,
  getBackend,
  getGradient,
  getKernel,
  mul,
  registerGradient,
  registerKernel,
  type DataType,
  type KernelBackend,
  type NamedTensorInfoMap,
  Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { rangeError, typeError } from '../errors';

export type Values = Float32Array | Int32Array | Uint8Array;

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo;
}

/** How a forward reads its inputs and hands back its float32 outputs on the active backend. */
export interface KernelIo {
  read(t: TensorInfo): Values;
  out(shape: number[], values: Float32Array): TensorInfo;
}

function kernelIo(backend: KernelBackend): KernelIo {
  const cpu = getBackend() === 'cpu' ? (backend as unknown as CpuBackend) : null;
  return {
    read: (t) => (cpu ? cpu.data.get(t.dataId).values : backend.readSync(t.dataId)) as Values,
    out: (shape, values) =>
      cpu
        ? cpu.makeTensorInfo(shape, 'float32', values)
        : { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' },
  };
}

/**
 * Registers `kernel` (for the active backend) and its gradient, once. `forward` returns the loss
 * and then the gradient of each input named in `differentiable`, in that order.
 */
export function registerSavedGradientKernel<A>(
  kernel: string,
  differentiable: readonly string[],
  forward: (io: KernelIo, inputs: Record<string, TensorInfo>, attrs: A) => TensorInfo[],
): void {
  const backendName = getBackend();
  if (!getKernel(kernel, backendName)) {
    const kernelFunc = (args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: object }) =>
      forward(kernelIo(args.backend), args.inputs as Record<string, TensorInfo>, args.attrs as A);
    registerKernel({ kernelName: kernel, backendName, kernelFunc: kernelFunc as never });
  }
  if (getGradient(kernel)) return;
  registerGradient({
    kernelName: kernel,
    outputsToSave: [false, ...differentiable.map(() => true)],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const d = (dy as Tensor[])[0];
      return Object.fromEntries(differentiable.map((name, i) => [name, () => mul(d, saved[i])]));
    },
  });
}

/** `t` is a tf.Tensor (float32 when `float`, of rank `rank` unless it is -1), or the op's error. */
export function checkTensor(op: string, name: string, t: unknown, rank: number, float: boolean): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${op}: ${name} must be a tf.Tensor`);
  if (float && t.dtype !== 'float32')
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${op}: ${name} must be a float32 tensor, got ${t.dtype}`);
  if (rank >= 0 && t.rank !== rank)
    throw rangeError(
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      `${op}: ${name} must have rank ${rank}, got shape [${t.shape.join(', ')}]`,
    );
}

/** Runs `kernel` and returns its loss; the gradients go (under a tape the engine keeps its own copies). */
export function runForLoss(kernel: string, inputs: Record<string, Tensor>, attrs: object): Tensor {
  const [loss, ...grads] = engine().runKernel(kernel, inputs, attrs as never) as Tensor[];
  for (const g of grads) g.dispose();
  return loss;
}
