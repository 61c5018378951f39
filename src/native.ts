// Loads the native addon (a local build in build/Release first, then the prebuild for this
// platform, through node-gyp-build) or its WebAssembly build, and reports which backends exist
// and why not.
import { backendError, rangeError, typeError, describe } from './errors';
import { env, loadNativeAddon, loadWasmAddon, warn } from './host';
import { guardAddon } from './wire';
import { wireId, type WireId } from './wire-enums';
import { faultError, nativeFault, type FaultContext } from './faults';
import type {
  AnyLossWire,
  CountsWire,
  DistillWire,
  ElementwiseParams,
  LinearWire,
  ListParams,
  OverlapWire,
  PairWire,
  ProxyAnchorWire,
  ProxyNcaWire,
  RankingMetricsWire,
  SoftmaxWire,
  SphericalWire,
} from './wire-params';

/** Per-class soft counts [tp, fn, fp, tn, tp, ...] as the addon returns them. */
type CountsArray = Float64Array;
type Labels = Float32Array | Uint8Array | Int32Array;
type MaybeAsync<T> = T | Promise<T>;

/**
 * A confusion-family loss entry point: fills `out` with the gradient and returns the loss (a Promise
 * when async). P: the params it reads (src/wire-params.ts).
 */
type LossCall<P> = (
  scores: Float32Array,
  labels: Labels,
  weights: Float32Array | null,
  out: Float32Array,
  params: P,
  async: boolean,
) => MaybeAsync<number>;

/**
 * A list loss entry point (binding/napi/ranking.cc): lists cut at offsets, or every params.listSize
 * items. With params.metrics, the ranking metrics of the same lists into `metricsOut` (lists x metrics).
 */
type ListCall<P> = (
  scores: Float32Array,
  relevance: Float32Array,
  offsets: Int32Array | null,
  out: Float32Array,
  params: P,
  metricsOut: Float64Array | null,
  async: boolean,
) => MaybeAsync<number>;

/** The element-wise losses, by entry point: indexed by a generic name, the type stays one call. */
export type ElementwiseEntries = { [K in keyof ElementwiseParams]: LossCall<ElementwiseParams[K]> };
/** The list losses, by entry point (see ElementwiseEntries). */
export type ListEntries = { [K in keyof ListParams]: ListCall<ListParams[K]> };

/** The addon's functions. Arguments are checked again natively; see binding/napi. */
export interface NativeAddon extends ElementwiseEntries, ListEntries {
  /** probeCuda false: report CUDA without asking the runtime (FUSEDLOSS_BACKEND=cpu or js). */
  backends(probeCuda: boolean): {
    threads: number;
    /** Whether this build contains the simulated CUDA kernels (the 'cuda-sim' backend). */
    sim: boolean;
    /** Whether the addon raised glibc's mmap and trim thresholds (binding/napi/malloc_tuning.cc). */
    mallocTuned: boolean;
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
  /** The instruction-set level of the CPU kernels; envInvalid: FUSEDLOSS_ISA when it named no level, else ''. */
  cpuIsa(): { isa: CpuIsa; envInvalid: string };
  triadBandwidth(n: number, reps: number): number;
  /** Register-only FMA throughput on every pool thread, at the widest vector width (wide.h). */
  fmaPeak(iters: number, reps: number): { gflops: number; isa: string };
  /** The kernels' float exp over an L1-resident block on every pool thread: billions a second (exp_probe.cc). */
  expRate(iters: number, reps: number): { gexps: number; isa: string };
  /** Builds with the simulator ('cuda-sim'): its kernel launches on this thread so far (tests). */
  simLaunches?(): number;
  confusionCounts(
    scores: Float32Array,
    labels: Labels,
    weights: Float32Array | null,
    stash: Float32Array | null,
    params: CountsWire,
    async: boolean,
  ): MaybeAsync<CountsArray>;
  confusionBackward(
    scores: Float32Array,
    labels: Labels,
    weights: Float32Array | null,
    out: Float32Array,
    dpos: Float64Array,
    dneg: Float64Array,
    params: CountsWire,
    async: boolean,
  ): MaybeAsync<void>;
  anyLoss: LossCall<AnyLossWire>;
  overlapLoss: LossCall<OverlapWire>;
  /** rowLoss is read only with reduction 'none' (params.reduction 2). */
  sphericalLoss(
    logits: Float32Array,
    targets: Int32Array,
    out: Float32Array,
    rowLoss: Float32Array | null,
    params: SphericalWire,
    async: boolean,
  ): MaybeAsync<number>;
  softmaxLoss(
    logits: Float32Array,
    targets: Int32Array,
    weights: Float32Array | null,
    classWeights: Float32Array | null,
    out: Float32Array,
    rowLoss: Float32Array | null,
    lse: Float32Array | null,
    params: SoftmaxWire,
    async: boolean,
  ): MaybeAsync<number>;
  /** Ranking metrics per list into perList (lists x metrics; params.specs the (metric, k) pairs). */
  rankingMetrics(
    scores: Float32Array,
    relevance: Float32Array,
    offsets: Int32Array | null,
    perList: Float64Array,
    params: RankingMetricsWire,
    async: boolean,
  ): MaybeAsync<undefined>;
  /** The pairwise family (binding/napi/pairs.cc); reference rows and their gradient only cross-batch. */
  pairLoss(
    embeddings: Float32Array,
    labels: Int32Array,
    reference: Float32Array | null,
    referenceLabels: Int32Array | null,
    out: Float32Array,
    referenceOut: Float32Array | null,
    rowLoss: Float32Array | null,
    /** Given pairs (formulas E.8): a1 | p | a2 | n packed, the counts in params. */
    given: Int32Array | null,
    params: PairWire,
    async: boolean,
  ): MaybeAsync<number>;
  /** The fused linear cross-entropy (binding/napi/linear_ce.cc); rowLoss is required with reduction 'none'. */
  linearCrossEntropy(
    hidden: Float32Array,
    weight: Float32Array,
    targets: Int32Array,
    bias: Float32Array | null,
    weights: Float32Array | null,
    classWeights: Float32Array | null,
    gradHidden: Float32Array,
    gradWeight: Float32Array,
    gradBias: Float32Array | null,
    rowLoss: Float32Array | null,
    lse: Float32Array | null,
    params: LinearWire,
    async: boolean,
  ): MaybeAsync<number>;
  /** ProxyAnchor (binding/napi/proxy.cc). */
  proxyAnchor(
    embeddings: Float32Array,
    proxies: Float32Array,
    labels: Int32Array,
    gradEmbeddings: Float32Array,
    gradProxies: Float32Array,
    params: ProxyAnchorWire,
    async: boolean,
  ): MaybeAsync<number>;
  /** ProxyNCA++ on the fused linear cross-entropy (binding/napi/linear_ce.cc); rowLoss is required with reduction 'none'. */
  proxyNCA(
    embeddings: Float32Array,
    proxies: Float32Array,
    labels: Int32Array,
    gradEmbeddings: Float32Array,
    gradProxies: Float32Array,
    rowLoss: Float32Array | null,
    params: ProxyNcaWire,
    async: boolean,
  ): MaybeAsync<number>;
  plackettLuceDistill(
    student: Float32Array,
    teacher: Float32Array,
    labels: Int32Array,
    out: Float32Array,
    params: DistillWire,
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
  cpu: {
    available: boolean;
    threads?: number;
    isa?: CpuIsa;
    reason?: string;
    /**
     * Whether the addon keeps freed gradients in malloc's heap for the next call (glibc only;
     * `FUSEDLOSS_MALLOC_TUNING=0` turns it off): see the README's "Memory" section.
     */
    mallocTuned?: boolean;
  };
  /**
   * The CUDA kernels run on the CPU by the execution-model simulator (cuda/sim): slow, for
   * testing the CUDA code without a GPU. Builds from a clone include it; release prebuilds do not.
   */
  'cuda-sim': { available: boolean; reason?: string };
  /** The same CPU kernels compiled to WebAssembly (single-threaded, SIMD): 'auto' where `cpu` is not. */
  wasm: { available: boolean; reason?: string };
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

/**
 * The instruction-set level the native CPU kernels run at: the widest the CPU has on x86-64
 * (`baseline` SSE2, `avx2` x86-64-v3 with FMA, `avx512` x86-64-v4), capped by the environment
 * variable `FUSEDLOSS_ISA=baseline|avx2|avx512` (read once, when the addon loads; a level above
 * the CPU's runs at the CPU's; any other value warns and is ignored). `neon` on arm64, where there
 * is one level.
 */
export type CpuIsa = 'baseline' | 'avx2' | 'avx512' | 'neon' | 'simd128';

/** What to do when no binary fits; node-gyp-build's message already names the platform tuple. */
const BUILD_ADVICE =
  'prebuilt binaries ship for linux-x64 and linux-arm64 (glibc 2.28+); elsewhere, build from a clone of the fusedloss ' +
  "repository with 'npm install && npm run build' (needs CMake >= 3.18 and a C++17 compiler; nvcc adds CUDA)";

let addon: NativeAddon | null = null;
let loadError = '';
try {
  addon = guardAddon(loadNativeAddon());
} catch (e) {
  loadError = `${(e as Error).message.split('\n')[0]}; ${BUILD_ADVICE}`;
  warn(
    `fusedloss: the native addon could not be loaded (${loadError}). Every loss falls back to its ` +
      `WebAssembly build ('wasm' backend, single-threaded), or where that does not load either to the ` +
      `JavaScript reference ('js').`,
    'FUSEDLOSS_NO_NATIVE',
  );
}
// FUSEDLOSS_ISA was read as the addon loaded (binding/cpu/isa.cc); a value naming no level is ignored.
const isaEnvInvalid = addon?.cpuIsa().envInvalid;
if (isaEnvInvalid)
  warn(
    `fusedloss: FUSEDLOSS_ISA=${JSON.stringify(isaEnvInvalid)} is not one of baseline, avx2, avx512; the CPU ` +
      `kernels run at ${addon!.cpuIsa().isa}, the widest level this CPU has`,
    'FUSEDLOSS_BAD_ENV',
  );

export function nativeAddon(): NativeAddon | null {
  return addon;
}

// The WebAssembly build, loaded when first asked for (in a browser: once initWasm() has run).
let wasm: NativeAddon | null = null;
let wasmError = '';
function wasmAddon(): NativeAddon | null {
  try {
    wasm ??= guardAddon(loadWasmAddon());
  } catch (e) {
    wasmError = `the WebAssembly build could not be loaded: ${(e as Error).message.split('\n')[0]}`;
  }
  return wasm;
}

/** The addon a native backend runs on: the WebAssembly build for 'wasm', else the native addon. */
export function addonFor(b: ResolvedBackend): NativeAddon {
  return (b === 'wasm' ? wasmAddon() : addon)!;
}

/**
 * Where a loss runs: 'cpu' the native threaded kernels, 'cuda' the GPU, 'cuda-sim' the CUDA
 * kernels run on the CPU by the simulator (builds from a clone; testing only, slow), 'wasm' the
 * CPU kernels' WebAssembly build (one thread; where no native addon loads), 'js' the
 * float64 TypeScript reference, 'auto' the choice described at each loss's `backend` option.
 */
export type Backend = 'auto' | 'cpu' | 'cuda' | 'cuda-sim' | 'wasm' | 'js';
const BACKENDS: readonly Backend[] = ['auto', 'cpu', 'cuda', 'cuda-sim', 'wasm', 'js'];
export type ResolvedBackend = Exclude<Backend, 'auto'>;

/**
 * FUSEDLOSS_BACKEND, when set, is what 'auto' means for every call: 'cpu', 'wasm' and 'js' never touch
 * CUDA (the runtime is not even asked for devices); 'cuda' and 'cuda-sim' run every loss that has
 * CUDA kernels there, whatever its size, and the others on the CPU.
 */
const envBackend: Backend = (() => {
  const v = env('FUSEDLOSS_BACKEND');
  if (v === undefined || v === '') return 'auto';
  if ((BACKENDS as readonly string[]).includes(v)) return v as Backend;
  warn(
    `fusedloss: FUSEDLOSS_BACKEND=${JSON.stringify(v)} is not one of ${BACKENDS.join(', ')}; using 'auto'`,
    'FUSEDLOSS_BAD_ENV',
  );
  return 'auto';
})();

const probeCuda = envBackend !== 'cpu' && envBackend !== 'wasm' && envBackend !== 'js';

let envWarned = false;
function warnEnvUnavailable(reason: string): void {
  if (envWarned) return;
  envWarned = true;
  warn(
    `fusedloss: FUSEDLOSS_BACKEND=${envBackend} but that backend is unavailable (${reason}); losses run on the CPU`,
    'FUSEDLOSS_BACKEND_UNAVAILABLE',
  );
}

let cudaReport: BackendReport['cuda'] | undefined;

/**
 * What exists on this machine, and why not when something does not: the `js` reference always;
 * `cpu` when the native addon loaded (with its thread count); `cuda-sim` in builds from a clone;
 * `cuda` when the addon was built with CUDA and a device and driver are there (else `reason`, in
 * the CUDA runtime's words). The CUDA part is asked once and cached.
 *
 * @example
 * ```ts
 * import { backends } from 'fusedloss';
 *
 * const b = backends();
 * b.js.available; // true, always
 * if (b.cpu.available) console.log(`native CPU kernels, ${b.cpu.threads} threads`);
 * else console.log(`reference only: ${b.cpu.reason}`);
 * if (b.cuda.available) console.log(b.cuda.devices.map((d) => `${d.name} (sm ${d.computeCapability})`));
 * else console.log(`no CUDA: ${b.cuda.reason}`);
 * // without a driver: 'no NVIDIA driver: libcuda could not be loaded (cudaErrorInsufficientDriver: ...)'
 * ```
 */
export function backends(): BackendReport {
  const wasmReport = wasmAddon() ? { available: true } : { available: false, reason: wasmError };
  if (!addon) {
    const why = `the native addon could not be loaded: ${loadError}`;
    return {
      js: { available: true },
      cpu: { available: false, reason: why },
      'cuda-sim': { available: false, reason: why },
      cuda: { available: false, compiled: false, reason: why, devices: [] },
      wasm: wasmReport,
    };
  }
  const b = addon.backends(probeCuda);
  cudaReport ??= {
    available: b.cuda.available,
    compiled: b.cuda.compiled,
    ...(b.cuda.available ? {} : { reason: cudaReason(b.cuda) }),
    runtimeVersion: b.cuda.runtimeVersion,
    driverVersion: b.cuda.driverVersion,
    devices: b.cuda.devices,
  };
  return {
    js: { available: true },
    cpu: { available: true, threads: b.threads, isa: addon.cpuIsa().isa, mallocTuned: b.mallocTuned },
    'cuda-sim': b.sim
      ? { available: true }
      : { available: false, reason: 'this build of the addon has no simulator (release builds leave it out)' },
    cuda: cudaReport,
    wasm: wasmReport,
  };
}

/** A CUDA version number as the runtime gives it (12040) in the usual form (12.4). */
const cudaVersion = (v: number) => `${Math.floor(v / 1000)}.${(v % 1000) / 10}`;

/**
 * The runtime's reason, with its one ambiguous case told apart: cudaErrorInsufficientDriver comes
 * both when there is no NVIDIA driver at all (the driver version then reads 0) and when the
 * driver is older than the runtime this build links.
 */
export function cudaReason(c: { reason: string; runtimeVersion: number; driverVersion: number }): string {
  if (!c.reason.startsWith('cudaErrorInsufficientDriver')) return c.reason;
  if (c.driverVersion === 0) return `no NVIDIA driver: libcuda could not be loaded (${c.reason})`;
  return (
    `the NVIDIA driver supports CUDA ${cudaVersion(c.driverVersion)}, older than the CUDA ` +
    `${cudaVersion(c.runtimeVersion)} runtime of this build: update the driver (${c.reason})`
  );
}

/**
 * Sets the number of CPU threads the native kernels use (the calling thread included); the
 * initial value is FUSEDLOSS_THREADS when set, else the number of hardware threads. Results do
 * not depend on it: chunking and the order of reductions are fixed. Without the addon there is
 * no thread pool and this does nothing. `n` must be an integer in [1, 1024] (a RangeError
 * otherwise).
 *
 * @example
 * ```ts
 * import { setThreads, getThreads } from 'fusedloss';
 *
 * setThreads(2); // e.g. leave the other cores to the rest of the training loop
 * getThreads(); // 2 (1 when the native addon could not be loaded)
 * ```
 */
export function setThreads(n: number): void {
  if (typeof n !== 'number')
    throw typeError('ERR_FUSEDLOSS_INVALID_ARG_TYPE', `setThreads: n must be a number, got ${describe(n)}`);
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw rangeError('ERR_FUSEDLOSS_INVALID_ARG_VALUE', `setThreads: n must be an integer in [1, 1024], got ${n}`);
  }
  addon?.setThreads(n);
}

/**
 * The number of CPU threads the native kernels use (1 without the addon): FUSEDLOSS_THREADS or
 * the number of hardware threads until {@link setThreads} changes it.
 *
 * @example
 * ```ts
 * import { getThreads } from 'fusedloss';
 *
 * console.log(`fusedloss uses ${getThreads()} CPU threads`);
 * ```
 */
export function getThreads(): number {
  return addon ? addon.getThreads() : 1;
}

/**
 * Under 'auto', a pairwise loss runs on the GPU from this much pairwise work up (multiply-adds of
 * the similarity product, N M D, for the metric-learning losses; pairs, the sum of n^2 over lists,
 * for RankNet and LambdaLoss), and a streaming loss never does. The addon takes host arrays, so a
 * GPU call copies its inputs in and its gradient out: on an H100 machine (bench/cuda_bench.cu) that
 * moved about 25 GB/s and cost at least 0.2 ms a call. A streaming loss does a few flops per
 * byte, and the threaded CPU kernels finish it in less time than the copies take (softmax CE at
 * 4096 x 1000: 0.5 ms on 16 CPU threads, 1.3 ms as a GPU call). A pairwise loss's work grows faster
 * than its data and pays for the copies once there is enough of it (Multi-Similarity at N = 1024,
 * D = 128: 0.43 ms as a GPU call, 7.2 ms on 16 CPU threads). The one place to change the rule.
 */
export const CUDA_AUTO_MIN_WORK = 1 << 22;

/** What a loss offers beyond the CPU, and how much pairwise work this call is. */
export interface Dispatch {
  /** The loss has CUDA kernels (and so runs on 'cuda' and 'cuda-sim'). */
  cuda: boolean;
  /** Pairwise work of the call, as CUDA_AUTO_MIN_WORK counts it; 0 for a streaming loss. */
  pairWork: number;
}

/** Whether 'auto' sends a call to the GPU when a device exists (see CUDA_AUTO_MIN_WORK). */
export function autoPicksCuda(d: Dispatch): boolean {
  return d.cuda && d.pairWork >= CUDA_AUTO_MIN_WORK;
}

/**
 * The backend a call runs on. 'auto' (or FUSEDLOSS_BACKEND, when set) picks CUDA for a loss with
 * CUDA kernels when a device exists and the call has at least CUDA_AUTO_MIN_WORK pairwise work,
 * else the native CPU when the addon loaded, else the WebAssembly build, else the reference. An explicit backend that cannot
 * run is refused with the reason.
 */
export function resolveBackend(fn: string, requested: Backend, d: Dispatch): ResolvedBackend {
  const unavailable = (b: string, why: string) => backendError(`${fn}: backend '${b}' is unavailable: ${why}`);
  switch (requested) {
    case 'js':
      return 'js';
    case 'cpu':
      if (!addon) throw unavailable('cpu', `the native addon could not be loaded (${loadError})`);
      return 'cpu';
    case 'wasm':
      if (!wasmAddon()) throw unavailable('wasm', wasmError);
      return 'wasm';
    case 'cuda':
    case 'cuda-sim': {
      const report = backends()[requested];
      if (!report.available) throw unavailable(requested, report.reason ?? 'unknown reason');
      if (!d.cuda) throw unavailable(requested, `${fn} has no CUDA kernel in this version; use 'cpu' or 'auto'`);
      return requested;
    }
    default: {
      if (envBackend !== 'auto') {
        if (envBackend === 'js') return 'js';
        if (envBackend === 'wasm' || !addon) return wasmAddon() ? 'wasm' : 'js';
        if (envBackend === 'cpu' || !d.cuda) return 'cpu';
        const gpu = backends()[envBackend];
        if (gpu.available) return envBackend;
        warnEnvUnavailable(gpu.reason ?? 'unknown reason');
        return 'cpu';
      }
      if (!addon) return wasmAddon() ? 'wasm' : 'js';
      if (autoPicksCuda(d) && backends().cuda.available) return 'cuda';
      return 'cpu';
    }
  }
}

/** The device code the addon's params take for a native backend (the wasm build runs the CPU kernels). */
export function deviceCode(b: ResolvedBackend): WireId<'Device'> {
  return wireId('Device', b === 'js' || b === 'wasm' ? 'cpu' : b);
}

/**
 * Runs a native call, turning a kernel's fault (reported as data) into the message the reference
 * backend gives (src/faults.ts, with the argument names and label rules of `ctx`), and prefixing
 * any other native error with the public function's name, as the TypeScript checks do.
 */
export function nativeCall<T>(fn: string, call: () => T, ctx?: FaultContext): T {
  try {
    const r = call();
    if (r instanceof Promise) return r.catch((e: unknown) => Promise.reject(explain(fn, e, ctx))) as T;
    return r;
  } catch (e) {
    throw explain(fn, e, ctx);
  }
}

function explain(fn: string, e: unknown, ctx?: FaultContext): unknown {
  const f = nativeFault(e);
  if (f) return faultError(fn, f.fault, f.index, f.value, ctx);
  if (e instanceof Error && !e.message.startsWith(`${fn}:`)) e.message = `${fn}: ${e.message}`;
  return e;
}
