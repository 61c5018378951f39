// ProxyAnchor as a TensorFlow.js op with gradients for the embeddings and the proxies (formulas
// M.1): one kernel, `FusedProxyAnchor`, whose forward returns the loss and both gradients and saves
// the gradients, so the backward pass is only dy times them. The B x C cosines never exist, in tfjs
// or in the kernel. On 'cpu' the inputs are read where the backend keeps them and the outputs
// adopted; other backends read back and upload (copies).
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
import { proxyAnchor as fused, type ProxyAnchorOptions } from '../losses/proxy';
import { asOpError } from './kernels';
import { classIds } from './layout';

const KERNEL = 'FusedProxyAnchor';
const OP = 'ops.proxyAnchor';

/** The options of the op: the core function's, less the buffers and `dim` (from the embeddings' shape). */
export type ProxyAnchorOpOptions = Omit<ProxyAnchorOptions, 'out' | 'dim'>;

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array): TensorInfo;
}

function forward(args: { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: object }): TensorInfo[] {
  const { embeddings, proxies, yTrue } = args.inputs as Record<'embeddings' | 'proxies' | 'yTrue', TensorInfo>;
  const options = (args.attrs as { options: ProxyAnchorOpOptions }).options;
  const cpu = getBackend() === 'cpu' ? (args.backend as unknown as CpuBackend) : null;
  const read = (t: TensorInfo) =>
    (cpu ? cpu.data.get(t.dataId).values : args.backend.readSync(t.dataId)) as Float32Array | Int32Array | Uint8Array;
  let r;
  try {
    r = fused(read(embeddings) as Float32Array, read(proxies) as Float32Array, classIds(OP, read(yTrue)), {
      ...options,
      dim: proxies.shape[1],
    });
  } catch (err) {
    throw asOpError(OP, err);
  }
  const out = (shape: number[], values: Float32Array): TensorInfo =>
    cpu
      ? cpu.makeTensorInfo(shape, 'float32', values)
      : { dataId: args.backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
  return [out([], Float32Array.of(r.loss)), out(embeddings.shape, r.gradEmbeddings), out(proxies.shape, r.gradProxies)];
}

/** Registers the kernel (for the active backend) and its gradient, once. */
function register(): void {
  const backendName = getBackend();
  if (!getKernel(KERNEL, backendName))
    registerKernel({ kernelName: KERNEL, backendName, kernelFunc: forward as never });
  if (getGradient(KERNEL)) return;
  registerGradient({
    kernelName: KERNEL,
    outputsToSave: [false, true, true],
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
      const d = (dy as Tensor[])[0];
      return { embeddings: () => mul(d, saved[0]), proxies: () => mul(d, saved[1]) };
    },
  });
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
  for (const [name, t, rank] of [
    ['yTrue', yTrue, -1],
    ['embeddings', embeddings, 2],
    ['proxies', proxies, 2],
  ] as const) {
    if (!(t instanceof Tensor)) throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${OP}: ${name} must be a tf.Tensor`);
    if (rank < 0) continue;
    if (t.dtype !== 'float32')
      throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `${OP}: ${name} must be a float32 tensor, got ${t.dtype}`);
    if (t.rank !== rank)
      throw rangeError(
        'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
        `${OP}: ${name} must have rank 2, got shape [${t.shape.join(', ')}]`,
      );
  }
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
  register();
  const [loss, ...grads] = engine().runKernel(KERNEL, { yTrue, embeddings, proxies }, {
    options: options ?? {},
  } as never) as Tensor[];
  for (const g of grads) g.dispose(); // under a tape the engine keeps its own copies for the backward pass
  return loss;
}
