// NeuralNDCG (formulas D.8): options, defaults and dispatch through the list losses' shared flow
// (runList in ./ranking) to the native kernels (binding/cpu/neural_ndcg.cc, cuda/neural_ndcg.cu)
// or the float64 reference (src/reference/neural-ndcg.ts).
import type { NumericArray } from '../arrays';
import type { OptionSpec } from '../options';
import { opt } from '../options';
import { referenceNeuralNDCG } from '../reference/neural-ndcg';
import { LAMBDA_MAX_RELEVANCE } from '../reference/ranking';
import { wireId } from '../wire-enums';
import { bounded } from '../wire-bounds';
import { asyncTwin, callOf } from './dispatch';
import { count, listSchema, positive, runList, type ListLossResult, type ListOptions, type Result } from './ranking';

export interface NeuralNDCGOptions extends ListOptions {
  /** NeuralSort's temperature tau in [1e-6, 1e6] (default 1, allRank's): lower is closer to the hard sort. */
  temperature?: number;
  /** NDCG cutoff: the relaxed DCG and the ideal DCG over the top k ranks (integer >= 1; default: the whole list). */
  k?: number;
  /** Gain of relevance r: 'exp2' 2^r - 1 (default; allRank's powered_relevancies, relevance at most 64) or 'linear' r. */
  gain?: 'exp2' | 'linear';
  /** Sinkhorn iterations at most, an integer in [0, 1000] (default 50, allRank's); 0 uses NeuralSort's matrix as is. */
  maxIter?: number;
  /** Sinkhorn stops once every row and column sum is within tol of 1, tol in [0, 1] (default 1e-6, allRank's); 0: always maxIter. */
  tol?: number;
}

export const NEURAL_NDCG_DEFAULTS = {
  temperature: 1,
  gain: 'exp2' as const,
  maxIter: 50,
  tol: 1e-6,
};

/** neuralNDCG's options, for the registry (src/registry.ts). */
export const NEURAL_NDCG_OPTIONS = {
  ...listSchema,
  temperature: positive,
  k: count,
  gain: { kind: 'enum', values: ['exp2', 'linear'] },
  maxIter: bounded('kSinkhornIter'),
  tol: bounded('kUnit'),
} satisfies Record<string, OptionSpec>;

function neuralNDCGImpl(scores: unknown, relevance: unknown, options: unknown, fn: string, async: boolean): Result {
  return runList(fn, 'neuralNDCG', scores, relevance, options, NEURAL_NDCG_OPTIONS, async, (o) => {
    const r = {
      temperature: opt(o, 'temperature', NEURAL_NDCG_DEFAULTS.temperature),
      k: opt(o, 'k', 0),
      gain: opt<'exp2' | 'linear'>(o, 'gain', NEURAL_NDCG_DEFAULTS.gain),
      maxIter: opt(o, 'maxIter', NEURAL_NDCG_DEFAULTS.maxIter),
      tol: opt(o, 'tol', NEURAL_NDCG_DEFAULTS.tol),
    };
    return {
      params: (w) => ({ ...w, ...r, gain: wireId('MetricGain', r.gain) }),
      reference: (pb) => referenceNeuralNDCG(pb, r),
      top: r.gain === 'exp2' ? LAMBDA_MAX_RELEVANCE : undefined,
    };
  });
}

/**
 * NeuralNDCG (Pobrotyn and Białobrzeski 2021; allRank's neuralNDCG, deterministic variant;
 * formulas D.8): per list -NDCG@k with the sort by score replaced by NeuralSort's relaxed
 * permutation matrix (Grover et al. 2019) made doubly stochastic by Sinkhorn scaling; lists whose
 * ideal DCG is 0 contribute 0. Mean over lists. The gradient is exact through every Sinkhorn
 * iteration. O(maxIter x n^2) time and 2 n^2 doubles of memory per list.
 *
 * @example
 * ```ts
 * import { neuralNDCG } from 'fusedloss';
 *
 * const scores = new Float32Array([0.3, 1.2, -0.5, 0.1, 2.0, 0.4, 0.9, 0]);
 * const relevance = new Float32Array([2, 3, 0, 1, 1, 2, 0, -1]); // -1: padding
 * const { loss, grad } = neuralNDCG(scores, relevance, { listSize: 4 });
 * neuralNDCG(scores, relevance, { listSize: 4, k: 2, temperature: 0.1 }).loss; // NDCG@2, a sharper sort
 * ```
 */
export function neuralNDCG(scores: NumericArray, relevance: NumericArray, options?: NeuralNDCGOptions): ListLossResult {
  const [fn, async] = callOf('neuralNDCG');
  return neuralNDCGImpl(scores, relevance, options, fn, async) as ListLossResult;
}

/**
 * The Promise twin of {@link neuralNDCG}: the native backend runs off the main thread ('js'
 * computes before resolving).
 *
 * @function
 */
export const neuralNDCGAsync = asyncTwin('neuralNDCGAsync', neuralNDCG);
