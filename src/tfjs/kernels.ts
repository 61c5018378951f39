// The fused losses as tfjs kernels, registered by name. Each kernel's forward returns
// [loss, grad] and the gradient saves `grad`, so the backward pass is only dy * grad. On 'cpu' and
// 'wasm' inputs are read where the backend keeps them (no copies), and outputs are written in
// place: on 'cpu' the backend adopts our arrays; on 'wasm' every output is allocated on the heap
// first, and only then are heap views taken (an allocation can grow the heap and detach earlier
// views), used at once and never kept. Other backends (webgl, webgpu, ...) get a kernel that
// reads the inputs back to the CPU and uploads the outputs: correct, but it pays the copies.
import {
  getGradient,
  getKernel,
  mul,
  registerGradient,
  registerKernel,
  reshape,
  type DataType,
  type KernelBackend,
  type NamedTensorInfoMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { freshFloat32 } from '../fresh';
import type { LossResult, RowLossResult } from '../losses/dispatch';
import { classIds, type CallLayout } from './layout';
import { FUSED_LOSSES, type FusedLoss } from './table';

/** The backends whose tensors the fused kernels read and write in place. */
export const IN_PLACE_BACKENDS = ['cpu', 'wasm'] as const;

type Values = Float32Array | Int32Array | Uint8Array;
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Values): TensorInfo;
}
interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Values;
}

/** The inputs every fused kernel takes. */
interface FusedInputs {
  yPred: TensorInfo;
  yTrue?: TensorInfo;
  teacher?: TensorInfo;
}
type KernelArgs = { inputs: NamedTensorInfoMap; backend: KernelBackend; attrs?: object };
type KernelBody = (inputs: FusedInputs, backend: KernelBackend, attrs: FusedAttrs) => TensorInfo[];
const kernel =
  (body: KernelBody) =>
  ({ inputs, backend, attrs }: KernelArgs): TensorInfo[] =>
    body(inputs as unknown as FusedInputs, backend, attrs as FusedAttrs);

/** The attrs every fused kernel takes. */
export interface FusedAttrs {
  op: string;
  layout: CallLayout;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const lossValues = (r: LossResult | RowLossResult): Float32Array =>
  typeof r.loss === 'number' ? Float32Array.of(r.loss) : r.loss;

const labelValues = (v: Values): Float32Array => (v instanceof Float32Array ? v : Float32Array.from(v));

function call(
  loss: FusedLoss,
  attrs: FusedAttrs,
  read: (t: TensorInfo) => Values,
  inputs: FusedInputs,
  out: Float32Array,
): LossResult | RowLossResult {
  const pred = read(inputs.yPred) as Float32Array;
  const truthValues = inputs.yTrue ? read(inputs.yTrue) : null;
  const truth = truthValues && (attrs.layout.classIds ? classIds(attrs.op, truthValues) : labelValues(truthValues));
  const teacher = inputs.teacher ? (read(inputs.teacher) as Float32Array) : undefined;
  try {
    return loss.run(pred, truth as Float32Array | Int32Array | null, { ...attrs.layout.options, out }, teacher);
  } catch (err) {
    throw asOpError(attrs.op, err);
  }
}

// The core functions name their arguments (scores, labels), (logits, targets), ...; an op's
// caller passed yTrue and yPred.
const TRUTH = /^(labels|targets|relevance)\b/;
const PRED = /^(scores|logits|embeddings|studentLogits)\b/;

/** An error of the core call, its message saying `ops.name: yTrue[3] ...` instead of `name: labels[3] ...`. */
export function asOpError(op: string, err: unknown): unknown {
  const e = err as Error & { code?: string };
  const fn = op.replace(/^ops\./, '');
  if (!(e instanceof Error) || !e.code?.startsWith('ERR_FUSEDLOSS_') || !e.message.startsWith(`${fn}: `)) return err;
  const rest = e.message
    .slice(fn.length + 2)
    .replace(TRUTH, 'yTrue')
    .replace(PRED, 'yPred');
  const renamed = new (e.constructor as ErrorConstructor)(`${op}: ${rest}`);
  return Object.assign(renamed, { code: e.code });
}

function cpuKernel(loss: FusedLoss) {
  return kernel((inputs, backend, a) => {
    const cpu = backend as unknown as CpuBackend;
    const read = (t: TensorInfo): Values => cpu.data.get(t.dataId).values as Values;
    const grad = freshFloat32(a.op, 'the gradient', size(inputs.yPred.shape));
    const r = call(loss, a, read, inputs, grad);
    return [
      cpu.makeTensorInfo(a.layout.lossShape, 'float32', lossValues(r)),
      cpu.makeTensorInfo(inputs.yPred.shape, 'float32', grad),
    ];
  });
}

function wasmKernel(loss: FusedLoss) {
  return kernel((inputs, backend, a) => {
    const wasm = backend as unknown as WasmBackend;
    const lossOut = wasm.makeOutput(a.layout.lossShape, 'float32');
    const gradOut = wasm.makeOutput(inputs.yPred.shape, 'float32');
    const read = (t: TensorInfo): Values => wasm.typedArrayFromHeap(t);
    const r = call(loss, a, read, inputs, read(gradOut) as Float32Array);
    (read(lossOut) as Float32Array).set(lossValues(r));
    return [lossOut, gradOut];
  });
}

function copyingKernel(loss: FusedLoss) {
  return kernel((inputs, backend, a) => {
    const read = (t: TensorInfo): Values => backend.readSync(t.dataId) as Values;
    const grad = freshFloat32(a.op, 'the gradient', size(inputs.yPred.shape));
    const r = call(loss, a, read, inputs, grad);
    const upload = (shape: number[], values: Float32Array): TensorInfo => ({
      dataId: backend.write(values, shape, 'float32'),
      shape,
      dtype: 'float32',
    });
    return [upload(a.layout.lossShape, lossValues(r)), upload(inputs.yPred.shape, grad)];
  });
}

function kernelFor(backendName: string, loss: FusedLoss) {
  if (backendName === 'cpu') return cpuKernel(loss);
  if (backendName === 'wasm') return wasmKernel(loss);
  return copyingKernel(loss);
}

/**
 * Registers every fused loss as a tfjs kernel (named `FusedLoss<Name>`, e.g. `FusedLossAnyLoss`)
 * for the 'cpu' and 'wasm' backends and for each backend named in `others`, with its gradient.
 * Idempotent; the ops call it for the active backend themselves, so calling it is needed only to
 * use `tf.engine().runKernel` directly. A kernel's inputs are `{ yTrue, yPred }` (plus `teacher`
 * for plackettLuceDistill), its attrs `{ op, layout }` as the ops build them, and its outputs
 * `[loss, grad]`.
 *
 * @example
 * registerFusedKernels(['webgl']); // also give the copying kernels to a backend by name
 */
export function registerFusedKernels(others: readonly string[] = []): void {
  for (const loss of Object.values(FUSED_LOSSES) as FusedLoss[]) {
    for (const backendName of [...IN_PLACE_BACKENDS, ...others]) {
      if (getKernel(loss.kernel, backendName)) continue;
      registerKernel({ kernelName: loss.kernel, backendName, kernelFunc: kernelFor(backendName, loss) as never });
    }
    if (getGradient(loss.kernel)) continue;
    registerGradient({
      kernelName: loss.kernel,
      outputsToSave: [false, true],
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => {
        const dLoss = (dy as Tensor[])[0];
        const grad = saved[0];
        // A per-row loss [rows] scales its row of grad [rows, ...].
        const scale =
          dLoss.rank === 0 ? dLoss : reshape(dLoss, [...dLoss.shape, ...Array(grad.rank - dLoss.rank).fill(1)]);
        return { yPred: () => mul(scale, grad) };
      },
    });
  }
}
