// Loads the native addon (a local build in build/Release first, then the prebuild for this
// platform, through node-gyp-build) and reports which backends exist and why not.
import * as path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { backendError, rangeError, typeError, describe } from './errors';

/** Per-class soft counts [tp, fn, fp, tn, tp, ...] as the addon returns them. */
type CountsArray = Float64Array;
type Labels = Float32Array | Uint8Array | Int32Array;
type MaybeAsync<T> = T | Promise<T>;

/** A loss entry point: fills `out` with the gradient and returns the loss (a Promise when async). */
type LossCall = (
  scores: Float32Array,
  labels: Labels,
  weights: Float32Array | null,
  out: Float32Array,
  params: object,
  async: boolean,
) => MaybeAsync<number>;

/** The addon's functions. Arguments are checked again natively; see binding/napi. */
export interface NativeAddon {
  backends(): {
    threads: number;
    cuda: {
      compiled: boolean;
      available: boolean;
      reason: string;
      runtimeVersion: number;
      driverVersion: number;
      devices: CudaDevice[];
    };
  };
  setThreads(n: number): void;
  getThreads(): number;
  triadBandwidth(n: number, reps: number): number;
  confusionCounts(
    scores: Float32Array,
    labels: Labels,
    weights: Float32Array | null,
    stash: Float32Array | null,
    params: object,
    async: boolean,
  ): MaybeAsync<CountsArray>;
  confusionBackward(
    scores: Float32Array,
    labels: Labels,
    weights: Float32Array | null,
    out: Float32Array,
    dpos: Float64Array,
    dneg: Float64Array,
    params: object,
    async: boolean,
  ): MaybeAsync<void>;
  anyLoss: LossCall;
  overlapLoss: LossCall;
  binaryCrossEntropy: LossCall;
  sigmoidFocal: LossCall;
  /** rowLoss is read only with reduction 'none' (params.reduction 2). */
  sphericalLoss(
    logits: Float32Array,
    targets: Int32Array,
    out: Float32Array,
    rowLoss: Float32Array | null,
    params: object,
    async: boolean,
  ): MaybeAsync<number>;
  softmaxLoss(
    logits: Float32Array,
    targets: Int32Array,
    weights: Float32Array | null,
    classWeights: Float32Array | null,
    out: Float32Array,
    rowLoss: Float32Array | null,
    params: object,
    async: boolean,
  ): MaybeAsync<number>;
}

export interface CudaDevice {
  index: number;
  name: string;
  /** For example '9.0'. */
  computeCapability: string;
  /** Bytes. */
  totalMemory: number;
  multiprocessors: number;
}

export interface BackendReport {
  /** The float64 TypeScript reference: always there, single-threaded. */
  js: { available: true };
  /** The native multithreaded CPU kernels. */
  cpu: { available: boolean; threads?: number; reason?: string };
  /**
   * The CUDA kernels. `compiled` says whether this build of the addon contains them; `reason`
   * says why they cannot run (no device, no driver, ...), in the CUDA runtime's own words.
   */
  cuda: {
    available: boolean;
    compiled: boolean;
    reason?: string;
    runtimeVersion?: number;
    driverVersion?: number;
    devices: CudaDevice[];
  };
}

/** The package root: dist/.. when compiled, src/.. when run from source. */
const root = path.resolve(__dirname, '..');

let addon: NativeAddon | null = null;
let loadError = '';
try {
  addon = nodeGypBuild(root) as NativeAddon;
} catch (e) {
  loadError = (e as Error).message.split('\n')[0];
  process.emitWarning(
    `fusedloss: the native addon could not be loaded (${loadError}); every loss falls back to the ` +
      `slower JavaScript reference. Build it from source with 'npm run build' (needs CMake and a C++ compiler).`,
    { code: 'FUSEDLOSS_NO_NATIVE' },
  );
}

export function nativeAddon(): NativeAddon | null {
  return addon;
}

let cudaReport: BackendReport['cuda'] | undefined;

/** What exists on this machine, and why not when something does not. */
export function backends(): BackendReport {
  if (!addon) {
    return {
      js: { available: true },
      cpu: { available: false, reason: `the native addon could not be loaded: ${loadError}` },
      cuda: { available: false, compiled: false, reason: 'the native addon could not be loaded', devices: [] },
    };
  }
  const b = addon.backends();
  cudaReport ??= {
    available: b.cuda.available,
    compiled: b.cuda.compiled,
    ...(b.cuda.available ? {} : { reason: b.cuda.reason }),
    runtimeVersion: b.cuda.runtimeVersion,
    driverVersion: b.cuda.driverVersion,
    devices: b.cuda.devices,
  };
  return { js: { available: true }, cpu: { available: true, threads: b.threads }, cuda: cudaReport };
}

/**
 * Sets the number of CPU threads the native kernels use (the calling thread included); the
 * initial value is FUSEDLOSS_THREADS when set, else the number of hardware threads. Results do
 * not depend on it: chunking and the order of reductions are fixed. Without the addon there is
 * no thread pool and this does nothing.
 */
export function setThreads(n: number): void {
  if (typeof n !== 'number')
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `setThreads: n must be a number, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `setThreads: n must be an integer in [1, 1024], got ${n}`);
  }
  addon?.setThreads(n);
}

/** The number of CPU threads the native kernels use (1 without the addon). */
export function getThreads(): number {
  return addon ? addon.getThreads() : 1;
}

export type Backend = 'auto' | 'cpu' | 'cuda' | 'js';
export type ResolvedBackend = 'cpu' | 'js';

/**
 * The backend a call runs on. 'auto' is the native CPU when the addon loaded, else the
 * reference. CUDA kernels arrive family by family: a loss without one refuses 'cuda' and says why.
 */
export function resolveBackend(fn: string, requested: Backend): ResolvedBackend {
  switch (requested) {
    case 'js':
      return 'js';
    case 'cpu':
      if (!addon)
        throw backendError(`${fn}: backend 'cpu' is unavailable: the native addon could not be loaded (${loadError})`);
      return 'cpu';
    case 'cuda': {
      const cuda = backends().cuda;
      throw backendError(
        cuda.available
          ? `${fn}: backend 'cuda' has no kernel for this loss in this version; use 'cpu' or 'auto'`
          : `${fn}: backend 'cuda' is unavailable: ${cuda.reason}`,
      );
    }
    default:
      return addon ? 'cpu' : 'js';
  }
}

/** Prefixes native error messages with the public function's name, as the TypeScript checks do. */
export function nativeCall<T>(fn: string, call: () => T): T {
  try {
    const r = call();
    if (r instanceof Promise) return r.catch((e: unknown) => Promise.reject(prefix(fn, e))) as T;
    return r;
  } catch (e) {
    throw prefix(fn, e);
  }
}

function prefix(fn: string, e: unknown): unknown {
  if (e instanceof Error && !e.message.startsWith(`${fn}:`)) e.message = `${fn}: ${e.message}`;
  return e;
}
