// ProxyNCA++ (formulas M.2) on the fused linear cross-entropy's kernels (binding/cpu/linear_ce.cc,
// cuda/linear_ce.cu, the wasm build): -scale |x^ - p^|^2 is 2 scale x^.p^ - scale |p^|^2 -
// scale |x^|^2, and the last term is the same for every class of a row, so it cancels in the
// softmax: the loss is the cross-entropy of the logits 2 scale x^.p^ + b_c, b_c = scale (1 -
// |p^_c|^2), 0 unless a proxy lies below the normalisation's floor. The addon's proxyNCA
// (proxy_nca_linear, binding/cpu/linear_ce_margin.cc) runs the O((B + C) D) passes around the
// kernel on its threads (off the main thread for the async twin), as the margin heads'. The 'js'
// backend is the float64 reference (src/reference/proxy.ts), which forms the B x C squared
// distances.
import type { NumericArray, Targets } from '../arrays';
import { allocate } from '../arrays';
import { deviceCode, nativeCall, resolveBackend, type Backend } from '../native';
import { backendSpec, opt, readOptions, type OptionSpec } from '../options';
import { referenceProxyNCA } from '../reference/proxy';
import { wireId } from '../wire-enums';
import type { ProxyNcaWire } from '../wire-params';
import { andThen, native } from './dispatch';
import { checkForReference, prepare, proxyFaults, type ProxyLossOut, type ProxyLossResult } from './proxy';

/** Options of {@link proxyNCA}. */
export interface ProxyNCAOptions {
  /**
   * The embedding width D, an integer >= 1 (default embeddings.length / labels.length). Then
   * B = embeddings.length / D rows (one per label) and C = proxies.length / D classes.
   */
  dim?: number;
  /**
   * The softmax scale, in (0, 1000] (default 1, pytorch-metric-learning's `softmax_scale`): the
   * logits are -softmaxScale |x^ - p^|^2. The paper's temperature T is 1 / softmaxScale (its
   * T = 1/9 is softmaxScale 9).
   */
  softmaxScale?: number;
  /** 'mean' (default): the rows' average; 'sum'; 'none': one loss per row, and the gradients of their sum. */
  reduction?: 'mean' | 'sum' | 'none';
  /** Buffers to fill with the gradients (not overlapping any input or each other). Default: new arrays. */
  out?: ProxyLossOut;
  /**
   * Where to compute (default 'auto'): 'cpu', 'cuda', 'cuda-sim', 'wasm' run the fused linear
   * cross-entropy's kernels on the normalised rows; 'js' the float64 reference (forms the B x C
   * distances: small problems only). 'auto' chooses as proxyAnchor's does.
   */
  backend?: Backend;
}

/** The result of {@link proxyNCA} with reduction 'none': one loss per row. */
export interface ProxyNCARowResult extends Omit<ProxyLossResult, 'loss'> {
  /** Each row's loss, B entries (the gradients are those of their sum). */
  loss: Float32Array;
}

export const PROXY_NCA_DEFAULTS = { softmaxScale: 1, reduction: 'mean' as 'mean' | 'sum' | 'none' };

/** The options schema, for the registry (src/registry.ts). */
export const PROXY_NCA_OPTIONS: Record<string, OptionSpec> = {
  dim: { kind: 'number', integer: true, min: 1, max: 1 << 24 },
  softmaxScale: { kind: 'number', min: 0, max: 1000, minExclusive: true },
  reduction: { kind: 'enum', values: ['mean', 'sum', 'none'] },
  out: { kind: 'any' },
  backend: backendSpec,
};

type AnyResult = ProxyLossResult | ProxyNCARowResult;

function run(
  fn: string,
  xIn: unknown,
  pIn: unknown,
  yIn: unknown,
  options: unknown,
  async: boolean,
): AnyResult | Promise<AnyResult> {
  const o = readOptions(fn, options, PROXY_NCA_OPTIONS);
  const a = prepare(fn, xIn, pIn, yIn, o);
  const scale = opt(o, 'softmaxScale', PROXY_NCA_DEFAULTS.softmaxScale);
  const reduction = opt(o, 'reduction', PROXY_NCA_DEFAULTS.reduction);
  const B = a.labels.length;
  const backend = resolveBackend(fn, opt(o, 'backend', 'auto'), { cuda: true, pairWork: B * a.classes * a.dim });
  const rowLoss = reduction === 'none' ? allocate(fn, 'the row losses', Float32Array, B) : null;
  const result = (loss: number): AnyResult => {
    const grads = { gradEmbeddings: a.gradEmbeddings, gradProxies: a.gradProxies };
    return rowLoss ? { loss: rowLoss, ...grads } : { loss, ...grads };
  };
  if (backend === 'js') {
    checkForReference(fn, a);
    const r = referenceProxyNCA(a, { scale, reduction });
    a.gradEmbeddings.set(r.gradEmbeddings);
    a.gradProxies.set(r.gradProxies);
    rowLoss?.set(r.rowLoss);
    return result(r.loss);
  }
  const params: ProxyNcaWire = {
    dim: a.dim,
    softmaxScale: scale,
    reduction: wireId('Reduction', reduction),
    device: deviceCode(backend),
  };
  return andThen(
    nativeCall(
      fn,
      () =>
        native(backend).proxyNCA(
          a.embeddings,
          a.proxies,
          a.labels,
          a.gradEmbeddings,
          a.gradProxies,
          rowLoss,
          params,
          async,
        ),
      proxyFaults(a.classes),
    ),
    result,
  );
}

/**
 * ProxyNCA++ (Teh, DeVries and Taylor, ECCV 2020; formulas M.2) and its gradients with respect to
 * the embeddings and the proxies, without forming the B x C distances: each row's loss is
 * -log softmax_c(-softmaxScale |x^_i - p^_c|^2) at its label, x^ and p^ the L2-normalised
 * embedding and proxies (the gradients flow through the normalisation), the positive proxy in the
 * denominator as in the ++ paper and pytorch-metric-learning's `ProxyNCALoss`. `embeddings` is
 * B x D, `proxies` C x D (one learnable proxy per class), both row-major; `labels` B class ids in
 * [0, C). The ++ paper's other parts (proxy learning rate, global max pooling, the temperature
 * schedule) are the caller's training loop.
 *
 * @example
 * ```ts
 * import { proxyNCA } from 'fusedloss';
 *
 * // 3 embeddings of dim 2, 2 classes; the paper's temperature T = 1/9.
 * const embeddings = new Float32Array([1, 0, 0.8, 0.6, 0, 1]);
 * const proxies = new Float32Array([1, 0, 0, 1]);
 * const { loss, gradEmbeddings, gradProxies } = proxyNCA(embeddings, proxies, [0, 0, 1], { softmaxScale: 9 });
 * ```
 */
export function proxyNCA(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options: ProxyNCAOptions & { reduction: 'none' },
): ProxyNCARowResult;
export function proxyNCA(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions & { reduction?: 'mean' | 'sum' },
): ProxyLossResult;
export function proxyNCA(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions,
): ProxyLossResult | ProxyNCARowResult;
export function proxyNCA(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions,
): ProxyLossResult | ProxyNCARowResult {
  return run('proxyNCA', embeddings, proxies, labels, options, false) as AnyResult;
}

/**
 * The Promise twin of {@link proxyNCA}: the native backend runs off the main thread ('js'
 * computes before resolving).
 */
export function proxyNCAAsync(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options: ProxyNCAOptions & { reduction: 'none' },
): Promise<ProxyNCARowResult>;
export function proxyNCAAsync(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions & { reduction?: 'mean' | 'sum' },
): Promise<ProxyLossResult>;
export function proxyNCAAsync(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions,
): Promise<ProxyLossResult | ProxyNCARowResult>;
export async function proxyNCAAsync(
  embeddings: NumericArray,
  proxies: NumericArray,
  labels: Targets,
  options?: ProxyNCAOptions,
): Promise<ProxyLossResult | ProxyNCARowResult> {
  return run('proxyNCAAsync', embeddings, proxies, labels, options, true);
}
