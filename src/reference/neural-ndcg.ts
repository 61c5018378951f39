// The float64 reference of NeuralNDCG (formulas D.8), written from the definitions as allRank
// states them: NeuralSort's matrix P0 materialised, Sinkhorn's normalisations applied to the
// matrix itself, and the reverse pass taken matrix by matrix through every half-step (each
// step's matrix rebuilt from P0 and its stored scale vectors, so memory stays O(m^2 + steps m)).
// The kernels' vector-only reverse pass (neural_ndcg_math.h) is tested against it.
import { meanOverLists, type RefLists, type RefResult } from './ranking';
import { gainOf } from './ranking_metrics';

export interface RefNeuralNDCG {
  temperature: number;
  /** NDCG cutoff; 0: the whole list. */
  k: number;
  gain: 'exp2' | 'linear';
  maxIter: number;
  tol: number;
}

/** allRank's DEFAULT_EPS: Sinkhorn's floor on a sum, and the ideal DCG's addend. */
export const NEURAL_NDCG_EPS = 1e-10;
/** NeuralSort's entries below this are 0 (neural_ndcg.h: a column's Sinkhorn scale stays finite). */
export const NEURAL_NDCG_FLOOR = 1e-200;

/** One Sinkhorn half-step: the matrix after it is diag(u) P0 diag(v); `sums` what it divided by. */
interface HalfStep {
  columns: boolean;
  u: Float64Array;
  v: Float64Array;
  sums: Float64Array;
}

const sign = (d: number) => (d > 0 ? 1 : d < 0 ? -1 : 0);

/**
 * NeuralNDCG, deterministic (formulas D.8): per list -sum_{i < k} (P G)_i / log2(2 + i) / (IDCG + eps)
 * with P NeuralSort's relaxed sort of the scores made doubly stochastic by Sinkhorn scaling; lists
 * whose ideal DCG is 0 contribute 0. Mean over lists.
 */
export function referenceNeuralNDCG(pb: RefLists, o: RefNeuralNDCG): RefResult {
  return meanOverLists(pb, (items, _l, grad) => {
    const m = items.length;
    const s = items.map((i) => pb.scores[i]);
    const G = items.map((i) => gainOf(o, pb.relevance[i]));
    const K = o.k > 0 ? Math.min(o.k, m) : m;
    const idcg = [...G]
      .sort((a, b) => b - a)
      .slice(0, K)
      .reduce((acc, g, q) => acc + g / Math.log2(2 + q), 0);
    if (!(idcg > 0)) return 0;
    // P0[i][j] = softmax_j(((m - 1 - 2i) s_j - sum_l |s_j - s_l|) / T).
    const spread = s.map((sj) => s.reduce((acc, sl) => acc + Math.abs(sj - sl), 0));
    const P0 = Array.from({ length: m }, (_, i) => {
      const z = s.map((sj, j) => ((m - 1 - 2 * i) * sj - spread[j]) / o.temperature);
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, b) => a + b, 0);
      return e.map((v) => (v / sum < NEURAL_NDCG_FLOOR ? 0 : v / sum));
    });
    // Sinkhorn on the matrix: columns, then rows; the scale vectors are kept for the reverse pass.
    const X = P0.map((row) => [...row]);
    const u = new Float64Array(m).fill(1);
    const v = new Float64Array(m).fill(1);
    const steps: HalfStep[] = [];
    const colSums = () => Float64Array.from({ length: m }, (_, j) => X.reduce((acc, row) => acc + row[j], 0));
    const rowSums = () => Float64Array.from(X, (row) => row.reduce((a, b) => a + b, 0));
    for (let t = 1; t <= o.maxIter; t++) {
      const c = colSums();
      X.forEach((row) => row.forEach((x, j) => (row[j] = x / Math.max(c[j], NEURAL_NDCG_EPS))));
      c.forEach((cj, j) => cj > 0 && (v[j] /= Math.max(cj, NEURAL_NDCG_EPS)));
      steps.push({ columns: true, u: u.slice(), v: v.slice(), sums: c });
      const r = rowSums();
      X.forEach((row, i) => row.forEach((x, j) => (row[j] = x / Math.max(r[i], NEURAL_NDCG_EPS))));
      r.forEach((ri, i) => ri > 0 && (u[i] /= Math.max(ri, NEURAL_NDCG_EPS)));
      steps.push({ columns: false, u: u.slice(), v: v.slice(), sums: r });
      const off = Math.max(...[...rowSums(), ...colSums()].map((x) => Math.abs(x - 1)));
      if (off < o.tol) break;
    }
    // The relaxed DCG and dL/dP.
    const scale = -1 / (idcg + NEURAL_NDCG_EPS);
    let loss = 0;
    const d: number[][] = X.map((row, i) => {
      const w = i < K ? scale / Math.log2(2 + i) : 0;
      loss += w * row.reduce((acc, x, j) => acc + x * G[j], 0);
      return G.map((g) => w * g);
    });
    // Back through the half-steps: after = before / sums (per column or row), sums floored at eps.
    for (let h = steps.length - 1; h >= 0; h--) {
      const st = steps[h];
      const after = (i: number, j: number) => st.u[i] * P0[i][j] * st.v[j];
      const dot = new Float64Array(m);
      for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) dot[st.columns ? j : i] += d[i][j] * after(i, j);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) {
          const q = st.columns ? j : i;
          if (st.sums[q] === 0) continue; // a zero column (or row) was left as it was
          const through = st.sums[q] >= NEURAL_NDCG_EPS ? dot[q] : 0;
          d[i][j] = (d[i][j] - through) / Math.max(st.sums[q], NEURAL_NDCG_EPS);
        }
    }
    // Softmax rows, then Z_ij = (c_i s_j - A_j) / T with A_j = sum_l |s_j - s_l|: through A_j,
    // dL/dA_j = -sum_i dL/dZ_ij / T, and dA_j/ds_j = sum_l sign(s_j - s_l), dA_j/ds_l = -sign(s_j - s_l).
    const ds = new Float64Array(m);
    const dA = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      const mean = P0[i].reduce((acc, p, j) => acc + p * d[i][j], 0);
      for (let j = 0; j < m; j++) {
        const dz = (P0[i][j] * (d[i][j] - mean)) / o.temperature;
        ds[j] += (m - 1 - 2 * i) * dz;
        dA[j] -= dz;
      }
    }
    for (let j = 0; j < m; j++)
      for (let l = 0; l < m; l++) {
        ds[j] += dA[j] * sign(s[j] - s[l]);
        ds[l] -= dA[j] * sign(s[j] - s[l]);
      }
    items.forEach((it, j) => (grad[it] += ds[j]));
    return loss;
  });
}
