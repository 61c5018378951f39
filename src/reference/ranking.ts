// The float64 reference of the ranking family (formulas C, D): plain loops over the items and pairs
// of each list, written from the formulas and gradients of docs/formulas.md without the kernels' scans. It is
// the oracle the native kernels are tested against, and the 'js' backend when the addon is missing.
import { sigmoid, softplus } from './confusion';

/** Lists laid end to end; items with relevance -1 are padding. */
export interface RefLists {
  scores: ArrayLike<number>;
  relevance: ArrayLike<number>;
  /** lists + 1 entries: list l is [offsets[l], offsets[l + 1]). */
  offsets: ArrayLike<number>;
}

export interface RefResult {
  loss: number;
  grad: Float64Array;
}

export const PADDING = -1;

/** LambdaLoss's largest relevance: the gains 2^r - 1 stay finite in float32. */
export const LAMBDA_MAX_RELEVANCE = 64;

/** log(sum exp(v)), -Infinity for none. */
export function lse(v: ArrayLike<number>): number {
  return lseAbout(v, 0);
}

/**
 * log(sum exp(v_i - c)) = (m - c) + log(sum exp(v_i - m)), m = max v. Taken about a c near the
 * values (a score, the max), it keeps the log of the count that m + log(sum) absorbs at |v| >= 1e17.
 */
export function lseAbout(v: ArrayLike<number>, c: number): number {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) m = Math.max(m, v[i]);
  if (m === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += Math.exp(v[i] - m);
  return m - c + Math.log(sum);
}

/** lowbias32 (C. Wellons), the same bijection of uint32 as ranking_math.h. */
function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** Where an item goes among equal relevance: its index, or a seeded permutation (ranking_math.h). */
export function tieOrder(item: number, list: number, seed: number, shuffle: boolean): number {
  return shuffle ? mix32((item ^ mix32((seed ^ mix32((list + 0x9e3779b9) >>> 0)) >>> 0)) >>> 0) : item;
}

/** The valid items of each list, as indices into the flat arrays. */
function listsOf(pb: RefLists): number[][] {
  const out: number[][] = [];
  for (let l = 0; l + 1 < pb.offsets.length; l++) {
    const items: number[] = [];
    for (let i = pb.offsets[l]; i < pb.offsets[l + 1]; i++) if (pb.relevance[i] !== PADDING) items.push(i);
    out.push(items);
  }
  return out;
}

/** Items by relevance, descending, ties by tieOrder of the index within the list. */
function byRelevance(pb: RefLists, l: number, items: number[], seed = 0, shuffle = false): number[] {
  const b = pb.offsets[l];
  const tie = (i: number) => tieOrder(i - b, l, seed, shuffle);
  return [...items].sort((i, j) => pb.relevance[j] - pb.relevance[i] || tie(i) - tie(j));
}

/** Sum of per-list losses over lists, divided by the number of lists (0 for none). */
export function meanOverLists(
  pb: RefLists,
  perList: (items: number[], l: number, grad: Float64Array) => number,
): RefResult {
  const grad = new Float64Array(pb.scores.length);
  const lists = listsOf(pb);
  let loss = 0;
  lists.forEach((items, l) => (loss += items.length ? perList(items, l, grad) : 0));
  const n = lists.length;
  if (n > 0) grad.forEach((g, i) => (grad[i] = g / n));
  return { loss: n > 0 ? loss / n : 0, grad };
}

export interface RefListMLE {
  /** a_k per position (default 1). */
  weights?: ArrayLike<number>;
  /** Positions k >= topK get weight 0 (0: none). */
  topK: number;
  shuffle: boolean;
  seed: number;
}

/**
 * Position-weighted Plackett-Luce NLL of one order pi (formulas D.2):
 * L = sum_k a_k (LSE_{m >= k} s_pi(m) - s_pi(k)), dL/ds_pi(m) = sum_{k <= m} a_k softmax_{>= k}(s)_m - a_m.
 */
function plackettLuce(scores: ArrayLike<number>, pi: number[], a: (k: number) => number, grad: Float64Array): number {
  let loss = 0;
  for (let k = 0; k < pi.length; k++) {
    if (a(k) === 0) continue;
    const sk = scores[pi[k]];
    const logZ = lseAbout(
      Float64Array.from({ length: pi.length - k }, (_, m) => scores[pi[k + m]]),
      sk,
    );
    loss += a(k) * logZ;
    for (let m = k; m < pi.length; m++) grad[pi[m]] += a(k) * Math.exp(scores[pi[m]] - sk - logZ);
    grad[pi[k]] -= a(k);
  }
  return loss;
}

export function referenceListMLE(pb: RefLists, o: RefListMLE): RefResult {
  const a = (k: number) => (o.topK > 0 && k >= o.topK ? 0 : o.weights ? o.weights[k] : 1);
  return meanOverLists(pb, (items, l, grad) =>
    plackettLuce(pb.scores, byRelevance(pb, l, items, o.seed, o.shuffle), a, grad),
  );
}

export interface RefDistill {
  student: ArrayLike<number>;
  teacher: ArrayLike<number>;
  labels: ArrayLike<number>;
  classes: number;
}

/** PLD (formulas D.3): pi* = (y, the rest by teacher logit descending), a_k = softmax(t / tau)_{pi*_k}. */
export function referencePlackettLuceDistill(pb: RefDistill, tau: number): RefResult {
  const rows = pb.labels.length,
    c = pb.classes;
  const grad = new Float64Array(pb.student.length);
  let loss = 0;
  for (let row = 0; row < rows; row++) {
    const b = row * c,
      y = b + pb.labels[row];
    const rest = Array.from({ length: c }, (_, k) => b + k).filter((i) => i !== y);
    rest.sort((i, j) => pb.teacher[j] - pb.teacher[i] || i - j);
    const pi = [y, ...rest];
    const tq = pi.map((i) => pb.teacher[i] / tau);
    const top = Math.max(...tq);
    const logq = lseAbout(tq, top);
    loss += plackettLuce(pb.student, pi, (k) => Math.exp(tq[k] - top - logq), grad);
  }
  if (rows > 0) grad.forEach((g, i) => (grad[i] = g / rows));
  return { loss: rows > 0 ? loss / rows : 0, grad };
}

export interface RefRankList {
  form: 'lse' | 'exact' | 'anchor';
  /** Pairs at most `skip` positions apart; 0: all. */
  skip: number;
  margin: number;
}

/** RankList's pair rule in float32, as the kernels compare: a strict difference of at least the margin. */
function constrained(ri: number, rj: number, margin: number): boolean {
  const d = Math.fround(ri - rj);
  return d > 0 && d >= Math.fround(margin);
}

/** RankList (formulas C, a reconstruction): the three forms of C.2 with the gradients of C.3. */
export function referenceRankList(pb: RefLists, o: RefRankList): RefResult {
  const s = pb.scores;
  return meanOverLists(pb, (items, l, grad) => {
    const v = byRelevance(pb, l, items);
    // C(i): positions j > i within the skip window whose relevance is constrained below i.
    const C = v.map((i, p) => {
      const below: number[] = [];
      for (let q = p + 1; q < v.length && (o.skip === 0 || q - p <= o.skip); q++) {
        if (constrained(pb.relevance[i], pb.relevance[v[q]], o.margin)) below.push(v[q]);
      }
      return below;
    });
    let loss = 0;
    if (o.form === 'exact') {
      v.forEach((i, p) =>
        C[p].forEach((j) => {
          loss += softplus(s[j] - s[i]);
          grad[i] -= sigmoid(s[j] - s[i]);
          grad[j] += sigmoid(s[j] - s[i]);
        }),
      );
    } else if (o.form === 'anchor') {
      v.forEach((i, p) => {
        if (C[p].length === 0) return;
        const logZ = lse([0, ...C[p].map((j) => s[j] - s[i])]);
        loss += logZ;
        C[p].forEach((j) => {
          const e = Math.exp(s[j] - s[i] - logZ);
          grad[j] += e;
          grad[i] -= e;
        });
      });
    } else {
      const diffs: number[] = [];
      v.forEach((i, p) => C[p].forEach((j) => diffs.push(s[j] - s[i])));
      if (diffs.length === 0) return 0;
      const lambda = lse(diffs);
      loss = softplus(lambda);
      v.forEach((i, p) =>
        C[p].forEach((j) => {
          const e = sigmoid(lambda) * Math.exp(s[j] - s[i] - lambda);
          grad[j] += e;
          grad[i] -= e;
        }),
      );
    }
    return loss;
  });
}

/** ListNet (formulas D.1): L = LSE(s / T) - sum_i t_i s_i / T, t = softmax(r) or r / sum(r). */
export function referenceListNet(pb: RefLists, target: 'softmax' | 'normalize', temperature: number): RefResult {
  return meanOverLists(pb, (items, _l, grad) => {
    const x = items.map((i) => pb.scores[i] / temperature);
    const r = items.map((i) => pb.relevance[i]);
    const rsum = r.reduce((a, b) => a + b, 0);
    if (target === 'normalize' && rsum === 0) return 0;
    const lr = lse(r);
    const t = r.map((v) => (target === 'softmax' ? Math.exp(v - lr) : v / rsum));
    // About the largest score: LSE(x) - sum t x = LSE(x - c) - sum t (x - c), as sum t = 1.
    const c = Math.max(...x);
    const lx = lseAbout(x, c);
    items.forEach((i, k) => (grad[i] += (Math.exp(x[k] - c - lx) - t[k]) / temperature));
    return lx - x.reduce((a, xk, k) => a + t[k] * (xk - c), 0);
  });
}

/**
 * The pairwise losses' flow: term(i, j) = [loss, c] over every pair of a list with r_i > r_j
 * (d loss / d s_i = -c, d loss / d s_j = c), summed over the batch and divided by its pairs, or
 * (perItem) by its items.
 */
function batchPairs(pb: RefLists, term: (i: number, j: number) => [number, number], perItem = false): RefResult {
  const grad = new Float64Array(pb.scores.length);
  const r = pb.relevance;
  let loss = 0,
    pairs = 0;
  for (const items of listsOf(pb)) {
    for (const i of items) {
      for (const j of items) {
        if (!(r[i] > r[j])) continue;
        const [l, c] = term(i, j);
        loss += l;
        grad[i] -= c;
        grad[j] += c;
        pairs++;
      }
    }
  }
  const count = perItem ? pb.scores.length : pairs;
  if (count > 0) grad.forEach((g, i) => (grad[i] = g / count));
  return { loss: count > 0 ? loss / count : 0, grad };
}

/** RankNet (formulas D.5): mean over all pairs r_i > r_j of the batch of w softplus(-sigma (s_i - s_j)). */
export function referenceRankNet(
  pb: RefLists,
  sigma: number,
  weighting: 'none' | 'label-diff' | 'label-diff-squared',
): RefResult {
  const s = pb.scores,
    r = pb.relevance;
  return batchPairs(pb, (i, j) => {
    const w = weighting === 'label-diff' ? r[i] - r[j] : weighting === 'label-diff-squared' ? r[i] ** 2 - r[j] ** 2 : 1;
    return [w * softplus(-sigma * (s[i] - s[j])), w * sigma * sigmoid(-sigma * (s[i] - s[j]))];
  });
}

/**
 * Pairwise hinge (formulas D.6): max(0, margin - (s_i - s_j)) over the pairs of each list with
 * r_i > r_j, summed over the batch and divided by its items (perItem) or its pairs.
 */
export function referencePairwiseHinge(pb: RefLists, margin: number, perItem: boolean): RefResult {
  const s = pb.scores;
  return batchPairs(
    pb,
    (i, j) => {
      const d = s[i] - s[j];
      return d < margin ? [margin - d, 1] : [0, 0];
    },
    perItem,
  );
}

/**
 * ApproxNDCG (formulas D.7): per list -sum_i G_i / log2(1 + pi_i) / IDCG with gains 2^r - 1 and
 * smooth ranks pi_i = 1 + sum_{j != i} sigmoid((s_j - s_i) / T); lists without a positive gain
 * contribute 0. Mean over lists. The gradient by the chain rule through each pi_i.
 */
export function referenceApproxNDCG(pb: RefLists, temperature: number): RefResult {
  const grad = new Float64Array(pb.scores.length);
  const s = pb.scores,
    r = pb.relevance;
  const lists = listsOf(pb);
  let loss = 0;
  for (const items of lists) {
    const gains = items.map((i) => 2 ** r[i] - 1);
    const idcg = [...gains].sort((a, b) => b - a).reduce((sum, g, q) => sum + g / Math.log2(2 + q), 0);
    if (!(idcg > 0)) continue;
    const pi = items.map((i) =>
      items.reduce((acc, j) => (j === i ? acc : acc + sigmoid((s[j] - s[i]) / temperature)), 1),
    );
    items.forEach((_, a) => (loss -= gains[a] / Math.log2(1 + pi[a]) / idcg));
    items.forEach((i, a) => {
      // dL/dpi_a, then dpi_a/ds_j = sigmoid'(x) / T and dpi_a/ds_i = -sigmoid'(x) / T, x = (s_j - s_i) / T.
      const w = (gains[a] * Math.LN2) / (idcg * (1 + pi[a]) * Math.log1p(pi[a]) ** 2);
      for (const j of items) {
        if (j === i) continue;
        const g = sigmoid((s[j] - s[i]) / temperature);
        const d = (w * g * (1 - g)) / temperature;
        grad[j] += d;
        grad[i] -= d;
      }
    });
  }
  const n = lists.length;
  if (n > 0) grad.forEach((g, i) => (grad[i] = g / n));
  return { loss: n > 0 ? loss / n : 0, grad };
}

export type LambdaSchemeName = 'none' | 'lambdaRank' | 'ndcgLoss1' | 'ndcgLoss2' | 'ndcgLoss2PP';

export interface RefLambda {
  scheme: LambdaSchemeName;
  /** NDCG cutoff; 0: the whole list. */
  k: number;
  sigma: number;
  mu: number;
  reduction: 'sum' | 'mean';
  normalize: boolean;
}

/**
 * LambdaLoss as allRank computes it (formulas D.4), per list, then the mean over lists:
 * -sum_pairs w_ij log2 sigmoid(sigma (s_i - s_j)) with the weights of the scheme, ranks from the
 * scores (ties by index), gains (2^r - 1) / maxDCG and discounts log2(1 + rank).
 */
export function referenceLambdaLoss(pb: RefLists, o: RefLambda): RefResult {
  const s = pb.scores,
    rel = pb.relevance;
  return meanOverLists(pb, (items, _l, grad) => {
    const v = [...items].sort((i, j) => s[j] - s[i] || i - j);
    const n = v.length,
      k = o.k > 0 ? Math.min(o.k, n) : n;
    const D = (p: number) => Math.log2(2 + p);
    const ideal = v.map((i) => rel[i]).sort((a, b) => b - a);
    let maxDcg = 1;
    if (o.normalize) {
      maxDcg = 0;
      for (let p = 0; p < k; p++) maxDcg += (2 ** ideal[p] - 1) / D(p);
      maxDcg = Math.max(maxDcg, 1e-10);
    }
    const G = v.map((i) => (2 ** rel[i] - 1) / maxDcg);
    const delta = (m: number) => Math.abs(1 / Math.log2(1 + m) - 1 / Math.log2(2 + m));
    const weight = (p: number, q: number) => {
      const lambdaRank = Math.abs(1 / D(p) - 1 / D(q)) * Math.abs(G[p] - G[q]);
      const ndcg2 = p === q ? 0 : delta(Math.abs(p - q)) * Math.abs(G[p] - G[q]);
      switch (o.scheme) {
        case 'lambdaRank':
          return lambdaRank;
        case 'ndcgLoss1':
          return G[p] / D(p);
        case 'ndcgLoss2':
          return ndcg2;
        case 'ndcgLoss2PP':
          return o.mu * ndcg2 + lambdaRank;
        default:
          return 1;
      }
    };
    let loss = 0,
      pairs = 0;
    const g = new Float64Array(n);
    for (let p = 0; p < k; p++) {
      for (let q = 0; q < k; q++) {
        // allRank takes every pair for ndcgLoss1, the diagonal included; else r_i > r_j.
        if (o.scheme !== 'ndcgLoss1' && !(rel[v[p]] > rel[v[q]])) continue;
        const w = weight(p, q) / Math.LN2,
          d = s[v[p]] - s[v[q]];
        loss += w * softplus(-o.sigma * d);
        const c = w * o.sigma * sigmoid(-o.sigma * d);
        g[p] -= c;
        g[q] += c;
        pairs++;
      }
    }
    const scale = o.reduction === 'mean' && pairs > 0 ? 1 / pairs : 1;
    v.forEach((i, p) => (grad[i] += g[p] * scale));
    return loss * scale;
  });
}
