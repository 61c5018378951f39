// The proxy losses (formulas M): options, defaults, checks and dispatch to the native kernels
// (binding/cpu/proxy_anchor.cc, cuda/proxy_anchor.cu: class tiles, the B x C cosines are never
// formed) or the float64 reference (src/reference/proxy.ts, which forms them: small problems only).
import { requireLength, rowWidth, toFloat32, toTargets, type NumericArray, type Targets } from '../arrays';
import { rangeError } from '../errors';
import { faultError, firstNonFinite, type FaultContext } from '../faults';
import { deviceCode, nativeCall, resolveBackend, type Backend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import { referenceProxyAnchor } from '../reference/proxy';
import { checkDisjoint } from '../wire';
import { wireId } from '../wire-enums';
import type { ProxyAnchorWire } from '../wire-params';
import { asyncTwin, callOf, andThen, native } from './dispatch';
import { outBuffer, outObject } from './out-buffers';

/** Buffers for the gradients, each of the layout of what it is the gradient of. */
export interface ProxyLossOut {
  /** B x D, the layout of `embeddings`. Default: a new array. */
  gradEmbeddings?: Float32Array;
  /** C x D, the layout of `proxies`. Default: a new array. */
  gradProxies?: Float32Array;
}

/** Options of {@link proxyAnchor}. */
export interface ProxyAnchorOptions {
  /**
   * The embedding width D, an integer >= 1 (default embeddings.length / labels.length). Then
   * B = embeddings.length / D rows (one per label) and C = proxies.length / D classes.
   */
  dim?: number;
  /** The scale alpha, in (0, 1000] (default 32, as the paper and pytorch-metric-learning). */
  alpha?: number;
  /** The margin delta, in [-1, 1] (default 0.1, as the paper and pytorch-metric-learning). */
  margin?: number;
  /**
   * 'mean' (default): the positive term divided by the number of proxies with a positive in the
   * batch and the negative term by C, as the paper and pytorch-metric-learning; 'sum': neither
   * divided.
   */
  reduction?: 'mean' | 'sum';
  /** Buffers to fill with the gradients (not overlapping any input or each other). Default: new arrays. */
  out?: ProxyLossOut;
  /**
   * Where to compute (default 'auto'): 'cpu' the native threaded kernel, 'cuda' the GPU,
   * 'cuda-sim' the CUDA kernels run by the simulator (testing only, slow), 'wasm' the CPU kernel's
   * WebAssembly build, 'js' the float64 reference (forms the B x C cosines: small problems only).
   * 'auto' is CUDA when a device exists and B C D is at least CUDA_AUTO_MIN_WORK (2^22), else the
   * CPU when the addon loaded, else 'wasm', else 'js'. FUSEDLOSS_BACKEND, when set, replaces 'auto'.
   */
  backend?: Backend;
}

/** The result of {@link proxyAnchor}. */
export interface ProxyLossResult {
  loss: number;
  /** d loss / d embeddings, B x D. */
  gradEmbeddings: Float32Array;
  /** d loss / d proxies, C x D. */
  gradProxies: Float32Array;
}

export const PROXY_ANCHOR_DEFAULTS = { alpha: 32, margin: 0.1, reduction: 'mean' as 'mean' | 'sum' };

/** The options schema, for the registry (src/registry.ts). */
export const PROXY_ANCHOR_OPTIONS: Record<string, OptionSpec> = {
  dim: { kind: 'number', integer: true, min: 1, max: 1 << 24 },
  alpha: { kind: 'number', min: 0, max: 1000, minExclusive: true },
  margin: { kind: 'number', min: -1, max: 1 },
  reduction: { kind: 'enum', values: ['mean', 'sum'] },
  out: { kind: 'any' },
  backend: backendSpec,
};

const OUT_KEYS = ['gradEmbeddings', 'gradProxies'] as const;

/** The arrays of a proxy loss call, shaped and checked, with the gradient buffers. */
export interface ProxyCall {
  embeddings: Float32Array;
  proxies: Float32Array;
  labels: Int32Array;
  dim: number;
  classes: number;
  gradEmbeddings: Float32Array;
  gradProxies: Float32Array;
}

/** The arrays of a proxy loss call (src/losses/proxy-nca.ts too), shaped and checked. */
export function prepare(fn: string, xIn: unknown, pIn: unknown, yIn: unknown, o: Record<string, unknown>): ProxyCall {
  const embeddings = toFloat32(fn, 'embeddings', xIn);
  const proxies = toFloat32(fn, 'proxies', pIn);
  const labels = toTargets(fn, 'labels', yIn);
  const B = labels.length;
  const dim = rowWidth(fn, 'embeddings', embeddings.length, B, o.dim as number | undefined, 'dim');
  requireLength(fn, 'embeddings', embeddings.length, B * dim, `${B} labels x dim ${dim}`);
  if (proxies.length === 0 || proxies.length % dim !== 0) {
    throw rangeError(
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      `${fn}: proxies has length ${proxies.length}, expected a positive multiple of dim ${dim} (C x D, one proxy per class)`,
    );
  }
  const classes = proxies.length / dim;
  const out = outObject(fn, o.out, OUT_KEYS);
  const buffer = (key: (typeof OUT_KEYS)[number], length: number, what: string) =>
    outBuffer(fn, out, key, length, what);
  return {
    embeddings,
    proxies,
    labels,
    dim,
    classes,
    gradEmbeddings: buffer('gradEmbeddings', embeddings.length, 'the gradient of embeddings (B x D)'),
    gradProxies: buffer('gradProxies', proxies.length, 'the gradient of proxies (C x D)'),
  };
}

/**
 * The checks the native kernels make first (proxy_input_fault), with their messages, for the
 * reference (both proxy losses' 'js' backend).
 */
export function checkForReference(fn: string, a: ProxyCall): void {
  checkDisjoint(fn, [
    ['embeddings', a.embeddings, false],
    ['proxies', a.proxies, false],
    ['labels', a.labels, false],
    ['options.out.gradEmbeddings', a.gradEmbeddings, true],
    ['options.out.gradProxies', a.gradProxies, true],
  ]);
  const faults = proxyFaults(a.classes);
  const e = firstNonFinite(a.embeddings);
  if (e >= 0) throw faultError(fn, 'score-not-finite', e, a.embeddings[e], faults);
  const p = firstNonFinite(a.proxies);
  if (p >= 0) throw faultError(fn, 'reference-not-finite', p, a.proxies[p], faults);
  a.labels.forEach((y, i) => {
    if (!(y >= 0 && y < a.classes)) throw faultError(fn, 'label-out-of-range', i, y, faults);
  });
}

/** The public names of the arguments a kernel fault can be in, and the label rules (src/faults.ts). */
export function proxyFaults(classes: number): FaultContext {
  return { names: { scores: 'embeddings', reference: 'proxies' }, labels: { classes, binary: false } };
}

function runProxyAnchor(
  fn: string,
  xIn: unknown,
  pIn: unknown,
  yIn: unknown,
  options: unknown,
  async: boolean,
): ProxyLossResult | Promise<ProxyLossResult> {
  const o = readOptions(fn, options, PROXY_ANCHOR_OPTIONS);
  const a = prepare(fn, xIn, pIn, yIn, o);
  const p = {
    alpha: opt(o, 'alpha', PROXY_ANCHOR_DEFAULTS.alpha),
    margin: opt(o, 'margin', PROXY_ANCHOR_DEFAULTS.margin),
    reduction: opt(o, 'reduction', PROXY_ANCHOR_DEFAULTS.reduction),
  };
  const B = a.labels.length;
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: B * a.classes * a.dim });
  const result = (loss: number): ProxyLossResult => ({
    loss,
    gradEmbeddings: a.gradEmbeddings,
    gradProxies: a.gradProxies,
  });
  if (backend === 'js') {
    checkForReference(fn, a);
    const r = referenceProxyAnchor(a, p);
    a.gradEmbeddings.set(r.gradEmbeddings);
    a.gradProxies.set(r.gradProxies);
    return result(r.loss);
  }
  const params: ProxyAnchorWire = {
    dim: a.dim,
    alpha: p.alpha,
    margin: p.margin,
    reduction: wireId('Reduction', p.reduction),
    device: deviceCode(backend),
  };
  return andThen(
    nativeCall(
      fn,
      () =>
        native(backend).proxyAnchor(a.embeddings, a.proxies, a.labels, a.gradEmbeddings, a.gradProxies, params, async),
      proxyFaults(a.classes),
    ),
    result,
  );
}

/**
 * ProxyAnchor loss (Kim et al., CVPR 2020; formulas M.1) and its gradients with respect to the
 * embeddings and the proxies, without forming the B x C cosines: the native kernels recompute
 * class tiles of them and discard them. `embeddings` is B x D, `proxies` C x D (one learnable
 * proxy per class), both row-major and L2-normalised inside (the gradients flow through the
 * normalisation); `labels` B class ids in [0, C). With s_ic the cosine of embedding i and proxy c,
 * L = 1/|P+| sum_{c in P+} log(1 + sum_{i: y_i = c} e^{-alpha (s_ic - margin)})
 *   + 1/C sum_c log(1 + sum_{i: y_i != c} e^{alpha (s_ic + margin)}),
 * P+ the proxies with a positive in the batch: pytorch-metric-learning's ProxyAnchorLoss.
 *
 * @example
 * ```ts
 * import { proxyAnchor } from 'fusedloss';
 *
 * // 3 embeddings of dim 2, 2 classes.
 * const embeddings = new Float32Array([1, 0, 0.8, 0.6, 0, 1]);
 * const proxies = new Float32Array([1, 0, 0, 1]);
 * const { loss, gradEmbeddings, gradProxies } = proxyAnchor(embeddings, proxies, [0, 0, 1]);
 * ```
 */
export function proxyAnchor(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyAnchorOptions,
): ProxyLossResult {
  const [fn, async] = callOf('proxyAnchor');
  return runProxyAnchor(fn, embeddings, proxies, labels, options, async) as ProxyLossResult;
}

/**
 * The Promise twin of {@link proxyAnchor}: the native backend runs off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const proxyAnchorAsync = asyncTwin('proxyAnchorAsync', proxyAnchor);
