// The float64 reference of the pairwise family (formulas E): the similarity matrix S built in full,
// the per-anchor formulas and gradients of docs/formulas.md written out pair by pair, then the chain through
// the L2 normalisation (formulas E.0). It is the oracle the native kernels are tested against, and
// the 'js' backend when the addon is missing (O(N^2) memory: fine for tests, slow for large N).
import { sigmoid, softplus } from './confusion';
import { lse, lseAbout } from './ranking';

export type PairLossName =
  'multi-similarity' | 'contrastive' | 'triplet-batch-hard' | 'circle' | 'supcon' | 'nt-xent' | 'orthogonal-projection';

export interface PairRefProblem {
  /** n x dim, row-major. */
  x: ArrayLike<number>;
  labels: ArrayLike<number>;
  dim: number;
  /** Cross-batch reference rows and labels (Multi-Similarity only). */
  ref?: ArrayLike<number>;
  refLabels?: ArrayLike<number>;
  normalize: boolean;
  /**
   * Given pairs or triplets (formulas E.8, pytorch-metric-learning's indices_tuple): the loss runs
   * over them instead of the pairs the labels define. Single set only.
   */
  given?: RefGiven;
}

/** Row indices of given pairs (a1, p positive; a2, n negative) or triplets, as the caller gave them. */
export interface RefGiven {
  pairs?: { a1: ArrayLike<number>; p: ArrayLike<number>; a2: ArrayLike<number>; n: ArrayLike<number> };
  triplets?: { anchor: ArrayLike<number>; positive: ArrayLike<number>; negative: ArrayLike<number> };
}

export interface PairRefParams {
  loss: PairLossName;
  alpha: number;
  beta: number;
  base: number;
  epsilon: number;
  semantics: 'paper' | 'pml';
  /** Multi-Similarity's mining (default true); false keeps every positive and negative pair. */
  mining?: boolean;
  posMargin: number;
  negMargin: number;
  margin: number;
  softMargin: boolean;
  m: number;
  gamma: number;
  temperature: number;
  baseTemperature: number;
  /** SupCon's mean over every anchor, 0 for one without a positive (default false: over those with one). */
  supConAllAnchors?: boolean;
  /**
   * 'none': per-anchor losses (rowLoss), every mean's count taken as 1, the loss and gradient
   * those of their sum. Default 'mean'.
   */
  reduction?: 'mean' | 'none';
}

export interface PairRefResult {
  loss: number;
  grad: Float64Array;
  refGrad?: Float64Array;
  /** Each query row's loss, with reduction 'none'. */
  rowLoss?: Float64Array;
}

/** F.normalize's floor. */
const MIN_NORM = 1e-12;

interface Rows {
  fn: number[][];
  norm: number[];
}

function rows(x: ArrayLike<number>, n: number, dim: number, normalize: boolean): Rows {
  const fn: number[][] = [],
    norm: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = Array.from({ length: dim }, (_, d) => x[i * dim + d]);
    const len = Math.sqrt(f.reduce((a, v) => a + v * v, 0));
    norm.push(len);
    const s = normalize ? 1 / Math.max(len, MIN_NORM) : 1;
    fn.push(f.map((v) => v * s));
  }
  return { fn, norm };
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k], 0);

/** The kernels' distance rule: pairs closer than 1e-3 of their norms are coincident (d = 0). */
export function pairDistance(a: number[], b: number[]): number {
  const qa = dot(a, a),
    qb = dot(b, b);
  const d2 = qa + qb - 2 * dot(a, b);
  return d2 > 1e-6 * (qa + qb) ? Math.sqrt(d2) : 0;
}

/** A pair's role: positive (same label, not the row with itself), negative, or neither. */
type Role = 'pos' | 'neg' | null;

/**
 * The loss and its gradient with respect to the raw rows. The loss functions below return
 * dL/dS (g, n x m) and, for the distance losses, dL/dd (h, n x m); both are chained here.
 */
export function referencePairs(pb: PairRefProblem, p: PairRefParams): PairRefResult {
  const n = pb.labels.length;
  const cross = pb.ref !== undefined;
  const q = rows(pb.x, n, pb.dim, pb.normalize);
  const refLabels = cross ? pb.refLabels! : pb.labels;
  const m = refLabels.length;
  const r = cross ? rows(pb.ref!, m, pb.dim, pb.normalize) : q;
  const S = q.fn.map((a) => r.fn.map((b) => dot(a, b)));
  const role = (i: number, j: number): Role =>
    pb.labels[i] === refLabels[j] ? (!cross && i === j ? null : 'pos') : 'neg';
  const g = S.map((row) => row.map(() => 0));
  const h = S.map((row) => row.map(() => 0));
  const distance = p.loss === 'contrastive' || p.loss === 'triplet-batch-hard';
  const D = distance ? S.map((_, i) => r.fn.map((b) => pairDistance(q.fn[i], b))) : [];
  const perAnchor = p.reduction === 'none';
  const rowLoss = new Float64Array(n);
  const count = (k: number) => (perAnchor ? 1 : k);
  const sets = pb.given ? givenSets(pb.given, n) : undefined;
  const isPos = sets ? (i: number, j: number) => sets.pos[i][j] : (i: number, j: number) => role(i, j) === 'pos';
  const isNeg = sets ? (i: number, j: number) => sets.neg[i][j] : (i: number, j: number) => role(i, j) === 'neg';
  const input: LossInput = { S, D, g, h, role, isPos, isNeg, given: pb.given, n, m, p, rowLoss, count };
  const loss = n === 0 || m === 0 ? 0 : LOSSES[p.loss](input);
  const dq = q.fn.map((a) => a.map(() => 0));
  const dr = r.fn.map((a) => a.map(() => 0));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      for (let d = 0; d < pb.dim; d++) {
        dq[i][d] += g[i][j] * r.fn[j][d];
        dr[j][d] += g[i][j] * q.fn[i][d];
        if (h[i][j] !== 0 && D[i][j] > 0) {
          const c = (h[i][j] * (q.fn[i][d] - r.fn[j][d])) / D[i][j];
          dq[i][d] += c;
          dr[j][d] -= c;
        }
      }
    }
  if (!cross) dq.forEach((row, i) => row.forEach((_, d) => (row[d] += dr[i][d])));
  const grad = normalisationBackward(q, dq, pb.normalize);
  const res: PairRefResult = cross
    ? { loss, grad, refGrad: normalisationBackward(r, dr, pb.normalize) }
    : { loss, grad };
  return perAnchor ? { ...res, rowLoss } : res;
}

/** dL/df_i = (g_i - (g_i . fn_i) fn_i) / ||f_i|| (formulas "Conventions"); x / 1e-12 below the floor. */
function normalisationBackward(rs: Rows, dfn: number[][], normalize: boolean): Float64Array {
  const dim = dfn[0]?.length ?? 0;
  const out = new Float64Array(dfn.length * dim);
  dfn.forEach((gi, i) => {
    const fn = rs.fn[i];
    const project = normalize && rs.norm[i] >= MIN_NORM;
    const gf = project ? dot(gi, fn) : 0;
    const s = normalize ? 1 / Math.max(rs.norm[i], MIN_NORM) : 1;
    gi.forEach((v, d) => (out[i * dim + d] = (v - gf * fn[d]) * s));
  });
  return out;
}

interface LossInput {
  S: number[][];
  D: number[][];
  /** dL/dS and dL/dd, filled by the loss. */
  g: number[][];
  h: number[][];
  role: (i: number, j: number) => Role;
  /** Whether (i, j) is a positive / negative pair: by the labels, or in the given set (formulas E.8). */
  isPos: (i: number, j: number) => boolean;
  isNeg: (i: number, j: number) => boolean;
  /** The given pairs or triplets, if any. */
  given?: RefGiven;
  n: number;
  m: number;
  p: PairRefParams;
  /** Each anchor's loss term, filled by the loss. */
  rowLoss: Float64Array;
  /** The count a mean divides by: k, or 1 with per-anchor losses (whose loss is their sum). */
  count: (k: number) => number;
}

const range = (k: number) => Array.from({ length: k }, (_, i) => i);

/** softmax over the logits v restricted to the listed indices, with LSE `l`. */
const weightOf = (v: number, l: number) => Math.exp(v - l);

/**
 * softmax(v), each term e^{(v_k - max) - log sum e^{v - max}}: circle's logits reach 5e17, where
 * max + log(sum) absorbs the log of a count (ties) and e^{v - LSE} would miss it.
 */
function softmaxOf(v: number[]): number[] {
  const top = Math.max(...v);
  const l = lseAbout(v, top);
  return v.map((x) => Math.exp(x - top - l));
}

const LOSSES: Record<PairLossName, (x: LossInput) => number> = {
  /** Formulas E.1. */
  'multi-similarity': ({ S, g, role, isPos, isNeg, given, n, m, p, rowLoss, count }) => {
    const b = count(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const cols = range(m);
      // 'paper' takes the self pair and drops it by S; given pairs are taken as given.
      const candidate = (j: number) => (p.semantics === 'paper' && !given ? role(i, j) !== 'neg' : isPos(i, j));
      const P = cols.filter((j) => candidate(j) && (p.semantics === 'pml' || S[i][j] < 1 - 1e-5));
      const N = cols.filter((j) => isNeg(i, j));
      const minP = Math.min(...P.map((j) => S[i][j]));
      const maxN = Math.max(...N.map((j) => S[i][j]));
      const mine = p.mining ?? true;
      const Pm = mine ? P.filter((j) => S[i][j] - p.epsilon < maxN) : P;
      const Nm = mine ? N.filter((j) => S[i][j] + p.epsilon > minP) : N;
      if (p.semantics === 'paper' && (Pm.length === 0 || Nm.length === 0)) continue;
      const pl = Pm.map((j) => -p.alpha * (S[i][j] - p.base));
      const nl = Nm.map((j) => p.beta * (S[i][j] - p.base));
      const lp = lse([0, ...pl]),
        ln = lse([0, ...nl]);
      rowLoss[i] = lp / p.alpha + ln / p.beta;
      total += rowLoss[i];
      Pm.forEach((j, k) => (g[i][j] += -weightOf(pl[k], lp) / b));
      Nm.forEach((j, k) => (g[i][j] += weightOf(nl[k], ln) / b));
    }
    return total / b;
  },

  /** Formulas E.2, pytorch-metric-learning's form. */
  contrastive: (x) => {
    if (x.given) return givenContrastive(x);
    const { D, h, role, n, m, p, rowLoss, count } = x;
    const active = (i: number, j: number) =>
      role(i, j) === 'pos' ? D[i][j] > p.posMargin : role(i, j) === 'neg' && D[i][j] < p.negMargin;
    let nPos = 0,
      nNeg = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        if (active(i, j) && role(i, j) === 'pos') nPos++;
        if (active(i, j) && role(i, j) === 'neg') nNeg++;
      }
    nPos = count(nPos);
    nNeg = count(nNeg);
    let total = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        if (!active(i, j)) continue;
        const term = role(i, j) === 'pos' ? (D[i][j] - p.posMargin) / nPos : (p.negMargin - D[i][j]) / nNeg;
        rowLoss[i] += term;
        total += term;
        h[i][j] = role(i, j) === 'pos' ? 1 / nPos : -1 / nNeg;
      }
    return total;
  },

  /** Formulas E.3: hardest positive (largest d, first on ties) and hardest negative per anchor. */
  'triplet-batch-hard': (x) => {
    if (x.given) return givenTriplets(x);
    const { D, h, role, n, m, p, rowLoss, count } = x;
    const terms: { i: number; jp: number; jn: number; loss: number; slope: number }[] = [];
    for (let i = 0; i < n; i++) {
      let jp = -1,
        jn = -1;
      for (let j = 0; j < m; j++) {
        if (role(i, j) === 'pos' && (jp < 0 || D[i][j] > D[i][jp])) jp = j;
        if (role(i, j) === 'neg' && (jn < 0 || D[i][j] < D[i][jn])) jn = j;
      }
      if (jp < 0 || jn < 0) continue;
      const gap = D[i][jp] - D[i][jn];
      if (p.softMargin) terms.push({ i, jp, jn, loss: softplus(gap), slope: sigmoid(gap) });
      else if (gap + p.margin > 0) terms.push({ i, jp, jn, loss: gap + p.margin, slope: 1 });
    }
    const b = count(terms.length);
    for (const t of terms) {
      rowLoss[t.i] = t.loss;
      h[t.i][t.jp] += t.slope / b;
      h[t.i][t.jn] -= t.slope / b;
    }
    return terms.length ? terms.reduce((a, t) => a + t.loss, 0) / b : 0;
  },

  /** Formulas E.4: a_p, a_n held constant in the gradient. */
  circle: ({ S, g, isPos, isNeg, n, m, p, rowLoss, count }) => {
    const rowsUsed: { i: number; P: number[]; N: number[]; lp: number[]; ln: number[] }[] = [];
    for (let i = 0; i < n; i++) {
      const P = range(m).filter((j) => isPos(i, j));
      const N = range(m).filter((j) => isNeg(i, j));
      if (!P.length || !N.length) continue;
      const lp = P.map((j) => -p.gamma * Math.max(1 + p.m - S[i][j], 0) * (S[i][j] - (1 - p.m)));
      const ln = N.map((j) => p.gamma * Math.max(S[i][j] + p.m, 0) * (S[i][j] - p.m));
      rowsUsed.push({ i, P, N, lp, ln });
    }
    const b = count(rowsUsed.length);
    let total = 0;
    for (const { i, P, N, lp, ln } of rowsUsed) {
      const Lp = lse(lp),
        Ln = lse(ln),
        z = Lp + Ln;
      rowLoss[i] = softplus(z);
      total += rowLoss[i];
      const c = sigmoid(z) / b;
      const wp = softmaxOf(lp),
        wn = softmaxOf(ln);
      // += : a pair given both as a positive and as a negative is in both halves.
      P.forEach((j, k) => (g[i][j] += -c * p.gamma * Math.max(1 + p.m - S[i][j], 0) * wp[k]));
      N.forEach((j, k) => (g[i][j] += c * p.gamma * Math.max(S[i][j] + p.m, 0) * wn[k]));
    }
    return rowsUsed.length ? total / b : 0;
  },

  /** Formulas E.5 (Khosla et al.): mean over anchors that have a positive. */
  supcon: ({ S, g, role, n, m, p, rowLoss, count }) => {
    const t = p.temperature;
    const anchors = range(n).filter((i) => range(m).some((j) => role(i, j) === 'pos'));
    const b = count(p.supConAllAnchors ? n : anchors.length);
    let total = 0;
    for (const i of anchors) {
      const others = range(m).filter((j) => role(i, j) !== null);
      const P = others.filter((j) => role(i, j) === 'pos');
      const l = lse(others.map((j) => S[i][j] / t));
      rowLoss[i] = -(t / p.baseTemperature) * (P.reduce((a, j) => a + S[i][j] / t - l, 0) / P.length);
      total += rowLoss[i];
      for (const j of others) {
        const target = role(i, j) === 'pos' ? 1 / P.length : 0;
        g[i][j] = (Math.exp(S[i][j] / t - l) - target) / (p.baseTemperature * b);
      }
    }
    return anchors.length ? total / b : 0;
  },

  /** Formulas E.5, pytorch-metric-learning: one term per positive pair, its denominator that positive and the anchor's negatives. */
  'nt-xent': ({ S, g, role, n, m, p, rowLoss, count }) => {
    const t = p.temperature;
    let pairs = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) if (role(i, j) === 'pos') pairs++;
    pairs = pairs && count(pairs);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const N = range(m).filter((k) => role(i, k) === 'neg');
      // No pair at all, or no negative (every pair's denominator is its own numerator): loss 0.
      if (!pairs || !N.length) continue;
      // Each pair's denominator e^{S_ap/t} + Z_a with Z_a = e^{lN} over the anchor's negatives.
      const lN = lse(N.map((k) => S[i][k] / t));
      let inverse = 0; // sum over the anchor's pairs of 1 / denominator, scaled by e^{-lN}
      for (let j = 0; j < m; j++) {
        if (role(i, j) !== 'pos') continue;
        const l = lse([S[i][j] / t, lN]);
        rowLoss[i] += l - S[i][j] / t;
        total += l - S[i][j] / t;
        g[i][j] += (Math.exp(S[i][j] / t - l) - 1) / (t * pairs);
        inverse += Math.exp(lN - l);
      }
      for (const k of N) g[i][k] += (Math.exp(S[i][k] / t - lN) * inverse) / (t * pairs);
    }
    return pairs ? total / pairs : 0;
  },

  /** Formulas E.6 (kahnchana/opl), pair by pair over ordered pairs i != j, without the paper's |d_bar|. */
  'orthogonal-projection': ({ S, g, role, n, m, p }) => {
    let sPos = 0,
      nPos = 0,
      sNeg = 0,
      nNeg = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        if (role(i, j) === 'pos') {
          sPos += S[i][j];
          nPos++;
        }
        if (role(i, j) === 'neg') {
          sNeg += S[i][j];
          nNeg++;
        }
      }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        if (role(i, j) === 'pos') g[i][j] = -1 / (nPos + 1e-6);
        if (role(i, j) === 'neg') g[i][j] = p.gamma / (nNeg + 1e-6);
      }
    return 1 - sPos / (nPos + 1e-6) + (p.gamma * sNeg) / (nNeg + 1e-6);
  },
};

// ---- given pairs and triplets (formulas E.8), as pytorch-metric-learning takes an indices_tuple ----

/** The given pairs as lists, triplets (a, p, n) read as the pairs (a, p) and (a, n) (its convert_to_pairs). */
function givenPairLists(t: RefGiven) {
  if (t.pairs)
    return {
      a1: Array.from(t.pairs.a1),
      p: Array.from(t.pairs.p),
      a2: Array.from(t.pairs.a2),
      n: Array.from(t.pairs.n),
    };
  const tr = t.triplets!;
  return {
    a1: Array.from(tr.anchor),
    p: Array.from(tr.positive),
    a2: Array.from(tr.anchor),
    n: Array.from(tr.negative),
  };
}

/** The positive and negative masks of the given pairs (repeats collapse), for the losses over sets of pairs. */
function givenSets(t: RefGiven, n: number) {
  const { a1, p, a2, n: ng } = givenPairLists(t);
  const pos = range(n).map(() => new Array<boolean>(n).fill(false));
  const neg = range(n).map(() => new Array<boolean>(n).fill(false));
  a1.forEach((a, k) => (pos[a][p[k]] = true));
  a2.forEach((a, k) => (neg[a][ng[k]] = true));
  return { pos, neg };
}

/** Contrastive over the given pairs, each repeat a term: each half the mean over its non-zero terms. */
function givenContrastive({ D, h, given, p, rowLoss, count }: LossInput): number {
  const { a1, p: pp, a2, n: nn } = givenPairLists(given!);
  const pos = a1.map((a, k) => ({ a, j: pp[k], t: Math.max(D[a][pp[k]] - p.posMargin, 0), slope: 1 }));
  const neg = a2.map((a, k) => ({ a, j: nn[k], t: Math.max(p.negMargin - D[a][nn[k]], 0), slope: -1 }));
  let total = 0;
  for (const half of [pos, neg]) {
    const live = half.filter((x) => x.t > 0);
    const c = count(live.length);
    for (const x of live) {
      rowLoss[x.a] += x.t / c;
      total += x.t / c;
      h[x.a][x.j] += x.slope / c;
    }
  }
  return total;
}

/**
 * The triplet loss over given triplets, or the triplets of given pairs sharing an anchor (each
 * positive pair with each negative pair of its anchor, as pytorch-metric-learning's
 * convert_to_triplets): [margin + d_ap - d_an]_+ (or softplus), mean over the non-zero ones.
 */
function givenTriplets({ D, h, given, p, rowLoss, count }: LossInput): number {
  const list: [number, number, number][] = [];
  if (given!.triplets) {
    const t = given!.triplets;
    for (let k = 0; k < t.anchor.length; k++) list.push([t.anchor[k], t.positive[k], t.negative[k]]);
  } else {
    const { a1, p: pp, a2, n: nn } = givenPairLists(given!);
    a1.forEach((a, i) => a2.forEach((b, j) => a === b && list.push([a, pp[i], nn[j]])));
  }
  const terms = list
    .map(([a, pp, nn]) => {
      const gap = D[a][pp] - D[a][nn];
      return p.softMargin
        ? { a, pp, nn, loss: softplus(gap), slope: sigmoid(gap) }
        : { a, pp, nn, loss: Math.max(gap + p.margin, 0), slope: gap + p.margin > 0 ? 1 : 0 };
    })
    .filter((t) => p.softMargin || t.loss > 0);
  const b = count(terms.length);
  for (const t of terms) {
    rowLoss[t.a] += t.loss / b;
    h[t.a][t.pp] += t.slope / b;
    h[t.a][t.nn] -= t.slope / b;
  }
  return terms.reduce((s, t) => s + t.loss, 0) / (terms.length ? b : 1);
}
