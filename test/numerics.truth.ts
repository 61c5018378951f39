// A float64 truth for the numerics tests, written apart from src/reference: each loss is written
// once as a function of forward-mode dual numbers (value, derivative), and its gradient is that
// function run once per input with that input's derivative seeded to 1. So no gradient formula is
// written by hand here, and none is shared with the code under test. Sizes stay small (n passes).
// Stable forms throughout (softplus, log-sum-exp with the max subtracted), all in double.

/** A dual number: a value and its derivative along the seeded input. */
export class D {
  constructor(
    readonly v: number,
    readonly d = 0,
  ) {}
  add(o: D | number): D {
    return typeof o === 'number' ? new D(this.v + o, this.d) : new D(this.v + o.v, this.d + o.d);
  }
  sub(o: D | number): D {
    return typeof o === 'number' ? new D(this.v - o, this.d) : new D(this.v - o.v, this.d - o.d);
  }
  mul(o: D | number): D {
    return typeof o === 'number' ? new D(this.v * o, this.d * o) : new D(this.v * o.v, this.d * o.v + this.v * o.d);
  }
  div(o: D | number): D {
    if (typeof o === 'number') return new D(this.v / o, this.d / o);
    return new D(this.v / o.v, (this.d - (this.v / o.v) * o.d) / o.v);
  }
  neg(): D {
    return new D(-this.v, -this.d);
  }
}

export const C = (v: number): D => new D(v);
export const exp = (x: D): D => {
  const e = Math.exp(x.v);
  return new D(e, x.d === 0 ? 0 : e * x.d);
};
export const log = (x: D): D => new D(Math.log(x.v), x.d / x.v);
export const sqrt = (x: D): D => {
  const r = Math.sqrt(x.v);
  return new D(r, x.d === 0 ? 0 : x.d / (2 * r));
};
export const pow = (x: D, p: number): D => (p === 0 ? C(1) : new D(x.v ** p, x.d === 0 ? 0 : p * x.v ** (p - 1) * x.d));
export const sum = (xs: D[]): D => xs.reduce((a, b) => a.add(b), C(0));

/** sigma(t), its derivative sigma(1 - sigma) from e = exp(-|t|) (no cancellation). */
export function sigmoid(t: D): D {
  const e = Math.exp(-Math.abs(t.v));
  const s = t.v >= 0 ? 1 / (1 + e) : e / (1 + e);
  return new D(s, t.d === 0 ? 0 : ((e / (1 + e)) * t.d) / (1 + e));
}

/** softplus(t) = max(t, 0) + log1p(e^-|t|); derivative sigma(t). */
export function softplus(t: D): D {
  const v = Math.max(t.v, 0) + Math.log1p(Math.exp(-Math.abs(t.v)));
  return new D(v, t.d === 0 ? 0 : sigmoid(C(t.v)).v * t.d);
}

/** log sum exp with the largest value taken out (its derivative is the softmax). */
export function lse(xs: D[]): D {
  const m = Math.max(...xs.map((x) => x.v));
  if (m === -Infinity) return C(-Infinity);
  return log(sum(xs.map((x) => exp(x.sub(m))))).add(m);
}

/** A loss of n inputs written on dual numbers: its value and gradient. */
export function truth(
  n: number,
  f: (x: (i: number) => D) => D,
  values: ArrayLike<number>,
): { loss: number; grad: Float64Array } {
  const loss = f((i) => C(values[i])).v;
  const grad = new Float64Array(n);
  for (let k = 0; k < n; ++k) grad[k] = f((i) => new D(values[i], i === k ? 1 : 0)).d;
  return { loss, grad };
}

type X = (i: number) => D;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const mean = (xs: D[]): D => (xs.length ? sum(xs).div(xs.length) : C(0));

/** Binary cross-entropy with logits, mean: y softplus(-x) + (1 - y) softplus(x). */
export const bceTruth = (y: ArrayLike<number>) => (x: X) =>
  mean(
    range(y.length).map((i) =>
      softplus(x(i).neg())
        .mul(y[i])
        .add(softplus(x(i)).mul(1 - y[i])),
    ),
  );

/** Sigmoid focal loss, mean (Lin et al.; torchvision's form): a_t (1 - p_t)^gamma ce. */
export const focalTruth = (y: ArrayLike<number>, gamma: number, alpha: number) => (x: X) =>
  mean(
    range(y.length).map((i) => {
      const ce = softplus(x(i).neg())
        .mul(y[i])
        .add(softplus(x(i)).mul(1 - y[i]));
      const miss = sigmoid(x(i).neg())
        .mul(y[i])
        .add(sigmoid(x(i)).mul(1 - y[i]));
      return pow(miss, gamma)
        .mul(ce)
        .mul(alpha * y[i] + (1 - alpha) * (1 - y[i]));
    }),
  );

/** Z-loss (de Brebisson, Vincent 2016), a = 1, b = 0, mean over rows: softplus(-z_t). */
export const zLossTruth = (t: ArrayLike<number>, classes: number) => (x: X) =>
  mean(
    range(t.length).map((r) => {
      const row = range(classes).map((k) => x(r * classes + k));
      const mu = mean(row);
      const sigma = sqrt(mean(row.map((o) => pow(o.sub(mu), 2))));
      return sigma.v === 0 ? softplus(C(0)) : softplus(row[t[r]].sub(mu).div(sigma).neg());
    }),
  );

/** log softmax(xs)_k = (x_k - m) - log sum e^{x - m}: nothing absorbed at |x| = 1e30. */
export function logSoftmax(xs: D[], k: number): D {
  const m = Math.max(...xs.map((x) => x.v));
  return xs[k].sub(m).sub(log(sum(xs.map((x) => exp(x.sub(m))))));
}

const rowOf = (x: X, r: number, classes: number) => range(classes).map((k) => x(r * classes + k));

/** Softmax cross-entropy, mean over rows: -log softmax(row)_t. */
export const softmaxTruth = (t: ArrayLike<number>, classes: number) => (x: X) =>
  mean(range(t.length).map((r) => logSoftmax(rowOf(x, r, classes), t[r]).neg()));

/** Generalised cross-entropy (Zhang, Sabuncu 2018), mean over rows: (1 - p_t^q) / q. */
export const gceTruth = (t: ArrayLike<number>, classes: number, q: number) => (x: X) =>
  mean(
    range(t.length).map((r) =>
      exp(logSoftmax(rowOf(x, r, classes), t[r]).mul(q))
        .neg()
        .add(1)
        .div(q),
    ),
  );

/** PLD (formulas D.3): pi = (label, the rest by teacher descending), a = softmax(teacher / tau) along pi. */
export const pldTruth =
  (teacher: ArrayLike<number>, labels: ArrayLike<number>, classes: number, tau: number) => (s: X) =>
    mean(
      range(labels.length).map((r) => {
        const b = r * classes;
        const rest = range(classes).filter((k) => k !== labels[r]);
        rest.sort((i, j) => teacher[b + j] - teacher[b + i] || i - j);
        const pi = [labels[r], ...rest].map((k) => b + k);
        const tq = pi.map((i) => C(teacher[i] / tau));
        return sum(pi.map((p, k) => lse(pi.slice(k).map((q) => s(q).sub(s(p)))).mul(exp(logSoftmax(tq, k)).v)));
      }),
    );

/** Item order by relevance, descending, ties by index. */
const byRelevance = (r: ArrayLike<number>) => range(r.length).sort((a, b) => r[b] - r[a] || a - b);

/**
 * ListNet, one list, softmax target: LSE(s) - sum t_i s_i, written as LSE(s - c) - sum t_i (s_i - c)
 * (sum t_i = 1) so that large scores do not cancel; a difference of two floats is exact in double.
 */
export const listNetTruth = (r: ArrayLike<number>) => (s: X) => {
  const m = Math.max(...Array.from(r));
  const e = range(r.length).map((i) => Math.exp(r[i] - m));
  const z = e.reduce((a, b) => a + b, 0);
  const c = s(0).v;
  const x = range(r.length).map((i) => s(i).sub(c));
  return lse(x).sub(sum(x.map((xi, i) => xi.mul(e[i] / z))));
};

/** ListMLE, one list: sum_k LSE_{m >= k} s_pi(m) - s_pi(k), each term LSE_{m >= k}(s_pi(m) - s_pi(k)). */
export const listMLETruth = (r: ArrayLike<number>) => (s: X) => {
  const pi = byRelevance(r);
  return sum(pi.map((p, k) => lse(pi.slice(k).map((q) => s(q).sub(s(p))))));
};

/** The pairs (i, j) with r_i > r_j. */
const preferred = (r: ArrayLike<number>) =>
  range(r.length).flatMap((i) =>
    range(r.length)
      .filter((j) => r[i] > r[j])
      .map((j) => [i, j] as const),
  );

/** RankNet, one list: mean over preferred pairs of softplus(-(s_i - s_j)). */
export const rankNetTruth = (r: ArrayLike<number>) => (s: X) =>
  mean(preferred(r).map(([i, j]) => softplus(s(j).sub(s(i)))));

/** RankList's default 'lse' form, one list, margin 0: softplus(LSE over preferred pairs of s_j - s_i). */
export const rankListTruth = (r: ArrayLike<number>) => (s: X) => {
  const pairs = preferred(r);
  return pairs.length ? softplus(lse(pairs.map(([i, j]) => s(j).sub(s(i))))) : C(0);
};

/** The similarity matrix of the rows, L2-normalised first (as F.normalize) unless `plain`. */
function sims(x: X, labels: ArrayLike<number>, dim: number, plain = true): D[][] {
  const n = labels.length;
  const rows = plain ? range(n).map((i) => range(dim).map((k) => x(i * dim + k))) : normalisedRows(x, n, dim);
  return range(n).map((i) => range(n).map((j) => sum(range(dim).map((k) => rows[i][k].mul(rows[j][k])))));
}
const role = (labels: ArrayLike<number>, i: number, j: number) =>
  i === j ? null : labels[i] === labels[j] ? 'pos' : 'neg';

/** Circle loss (formulas E.4), normalize: false, a_p and a_n held constant; mean over rows with both roles. */
export const circleTruth =
  (labels: ArrayLike<number>, dim: number, m: number, gamma: number, plain = true) =>
  (x: X) => {
    const S = sims(x, labels, dim, plain);
    const rows: D[] = [];
    for (const i of range(labels.length)) {
      const P = range(labels.length).filter((j) => role(labels, i, j) === 'pos');
      const N = range(labels.length).filter((j) => role(labels, i, j) === 'neg');
      if (!P.length || !N.length) continue;
      const lp = P.map((j) => S[i][j].sub(1 - m).mul(-gamma * Math.max(1 + m - S[i][j].v, 0)));
      const ln = N.map((j) => S[i][j].sub(m).mul(gamma * Math.max(S[i][j].v + m, 0)));
      rows.push(softplus(lse(lp).add(lse(ln))));
    }
    return mean(rows);
  };

/** Supervised contrastive (Khosla et al.), normalize: false: mean over anchors with a positive. */
export const supConTruth =
  (labels: ArrayLike<number>, dim: number, tau: number, tauB: number, plain = true) =>
  (x: X) => {
    const S = sims(x, labels, dim, plain);
    const rows: D[] = [];
    for (const i of range(labels.length)) {
      const others = range(labels.length).filter((j) => j !== i);
      const P = others.filter((j) => role(labels, i, j) === 'pos');
      if (!P.length) continue;
      const l = lse(others.map((j) => S[i][j].div(tau)));
      rows.push(mean(P.map((j) => S[i][j].div(tau).sub(l))).mul(-tau / tauB));
    }
    return mean(rows);
  };

/** Multi-Similarity, pytorch-metric-learning's semantics, normalize: false; mining on values. */
export const multiSimilarityTruth =
  (labels: ArrayLike<number>, dim: number, alpha: number, beta: number, base: number, eps: number, plain = true) =>
  (x: X) => {
    const S = sims(x, labels, dim, plain);
    const n = labels.length;
    const rows = range(n).map((i) => {
      const P = range(n).filter((j) => role(labels, i, j) === 'pos');
      const N = range(n).filter((j) => role(labels, i, j) === 'neg');
      const minP = Math.min(...P.map((j) => S[i][j].v));
      const maxN = Math.max(...N.map((j) => S[i][j].v));
      const pl = P.filter((j) => S[i][j].v - eps < maxN).map((j) => S[i][j].sub(base).mul(-alpha));
      const nl = N.filter((j) => S[i][j].v + eps > minP).map((j) => S[i][j].sub(base).mul(beta));
      return lse([C(0), ...pl])
        .div(alpha)
        .add(lse([C(0), ...nl]).div(beta));
    });
    return sum(rows).div(n);
  };

// The agreement DESIGN.md sets: loss within 1e-5 relative, gradient within 1e-4 of its largest
// entry. Differences below float's smallest normal (1.2e-38), which float32 cannot hold, count as 0.
// `unit` (optional) is the size of the terms a gradient entry is a difference of (softmax minus
// target: 1); where the true gradient cancels to far below it (a constant row: exactly 0), float32
// can only return rounding noise of about 1e-7 unit, so the error is taken over max(largest, 1e-3 unit).
const FLT_MIN = 1.1754943508222875e-38;

export interface Truth {
  loss: number;
  grad: ArrayLike<number>;
}

/**
 * How far a result is from the truth: loss relative error, gradient error over its largest entry.
 * `lossUnit` (optional), as `unit` for the loss: the size of the terms a loss that crosses 0 is a
 * difference of (LDR-KL's LSE(u) - u_y - log K).
 */
export function truthErrors(
  got: { loss: number | Float32Array; grad: ArrayLike<number> },
  want: Truth,
  unit = 0,
  lossUnit = 0,
) {
  const loss = Number(got.loss);
  const lossDiff = Math.abs(loss - want.loss);
  const lossErr = lossDiff <= FLT_MIN ? 0 : lossDiff / Math.max(Math.abs(want.loss), 1e-3 * lossUnit);
  let diff = 0,
    scale = 0;
  for (let i = 0; i < want.grad.length; i++) {
    diff = Math.max(diff, Math.abs(got.grad[i] - want.grad[i]));
    scale = Math.max(scale, Math.abs(want.grad[i]));
  }
  const gradErr = diff <= FLT_MIN ? 0 : diff / Math.max(scale, 1e-3 * unit);
  return { lossErr: Number.isNaN(lossErr) ? Infinity : lossErr, gradErr: Number.isNaN(gradErr) ? Infinity : gradErr };
}

/**
 * Rows L2-normalised as F.normalize (floor 1e-12), the norm taken about the largest entry, so that
 * squares of 3e38 or 1e-30 stay in double's range.
 */
function normalisedRows(x: X, n: number, dim: number): D[][] {
  return range(n).map((i) => {
    const f = range(dim).map((k) => x(i * dim + k));
    const big = Math.max(...f.map((v) => Math.abs(v.v)), 1e-300);
    const norm = sqrt(sum(f.map((v) => pow(v.div(big), 2)))).mul(big);
    return f.map((v) => v.div(norm.v > 1e-12 ? norm : C(1e-12)));
  });
}

/**
 * Distances between normalised rows, sqrt of the summed squared differences; pairs within
 * d^2 <= 1e-6 (q_i + q_j) are coincident by the documented convention (formulas E.0): d = 0, held
 * constant (no gradient).
 */
function distances(x: X, n: number, dim: number, plain = false): D[][] {
  const f = plain ? range(n).map((i) => range(dim).map((k) => x(i * dim + k))) : normalisedRows(x, n, dim);
  const q = f.map((r) => sum(r.map((v) => v.mul(v))).v);
  return range(n).map((i) =>
    range(n).map((j) => {
      const d2 = sum(range(dim).map((k) => pow(f[i][k].sub(f[j][k]), 2)));
      return d2.v <= 1e-6 * (q[i] + q[j]) ? C(0) : sqrt(d2);
    }),
  );
}

const relu = (t: D): D => (t.v > 0 ? t : C(0));

/** Contrastive (formulas E.2), PML's form: each half the mean over its ordered pairs with a non-zero term. */
export const contrastiveTruth =
  (labels: ArrayLike<number>, dim: number, posMargin: number, negMargin: number, plain = false) =>
  (x: X) => {
    const d = distances(x, labels.length, dim, plain);
    const pos: D[] = [],
      neg: D[] = [];
    for (const i of range(labels.length))
      for (const j of range(labels.length)) {
        const r = role(labels, i, j);
        if (r === 'pos') pos.push(relu(d[i][j].sub(posMargin)));
        if (r === 'neg') neg.push(relu(d[i][j].neg().add(negMargin)));
      }
    const half = (ts: D[]) => mean(ts.filter((t) => t.v > 0));
    return half(pos).add(half(neg));
  };

/** Batch-hard triplet (formulas E.3), hinge: mean over anchors with a positive loss. */
export const tripletTruth =
  (labels: ArrayLike<number>, dim: number, margin: number, plain = false) =>
  (x: X) => {
    const d = distances(x, labels.length, dim, plain);
    const terms: D[] = [];
    for (const a of range(labels.length)) {
      const P = range(labels.length).filter((j) => role(labels, a, j) === 'pos');
      const N = range(labels.length).filter((j) => role(labels, a, j) === 'neg');
      if (!P.length || !N.length) continue;
      // the first index on ties
      const p = P.reduce((b, j) => (d[a][j].v > d[a][b].v ? j : b));
      const q = N.reduce((b, j) => (d[a][j].v < d[a][b].v ? j : b));
      const l = d[a][p].sub(d[a][q]).add(margin);
      if (l.v > 0) terms.push(l);
    }
    return mean(terms);
  };

/** NT-Xent (formulas E.5), PML's form, normalize: false unless `plain` is false: softplus(LSE_n S_an / tau - S_ap / tau) per positive pair, mean over them. */
export const ntXentTruth =
  (labels: ArrayLike<number>, dim: number, tau: number, plain = true) =>
  (x: X) => {
    const S = sims(x, labels, dim, plain);
    const terms: D[] = [];
    for (const a of range(labels.length)) {
      const N = range(labels.length).filter((j) => role(labels, a, j) === 'neg');
      for (const p of range(labels.length).filter((j) => role(labels, a, j) === 'pos'))
        terms.push(N.length ? softplus(lse(N.map((n) => S[a][n].div(tau))).sub(S[a][p].div(tau))) : C(0));
    }
    return mean(terms);
  };

/** Orthogonal projection loss (formulas E.6), normalize: false unless `plain` is false: 1 - mean positive S + gamma mean negative S (ordered pairs). */
export const oplTruth =
  (labels: ArrayLike<number>, dim: number, gamma: number, plain = true) =>
  (x: X) => {
    const S = sims(x, labels, dim, plain);
    const pos: D[] = [],
      neg: D[] = [];
    for (const i of range(labels.length))
      for (const j of range(labels.length)) {
        const r = role(labels, i, j);
        if (r === 'pos') pos.push(S[i][j]);
        if (r === 'neg') neg.push(S[i][j]);
      }
    return sum(pos)
      .div(pos.length + 1e-6)
      .neg()
      .add(1)
      .add(
        sum(neg)
          .mul(gamma)
          .div(neg.length + 1e-6),
      );
  };

/** 1 - e^l for l <= 0, from expm1 (no cancellation as l -> 0). */
const oneMinusExp = (l: D): D => new D(-Math.expm1(l.v), -Math.exp(l.v) * l.d);

/** AnyLoss (formulas A.2, A.3), binary F-beta from logits, amplifier L, epsilon e: 1 - M. */
export const anyLossTruth = (y: ArrayLike<number>, amp: number, beta: number, e: number) => (x: X) => {
  const yhat = range(y.length).map((i) => sigmoid(sigmoid(x(i)).sub(0.5).mul(amp)));
  const n1 = Array.from(y).reduce((a, b) => a + b, 0);
  const s = sum(yhat);
  const tp = sum(yhat.map((v, i) => v.mul(y[i])));
  return tp
    .mul(1 + beta * beta)
    .div(s.add(beta * beta * n1 + e))
    .neg()
    .add(1);
};

/** The built-in AnyLoss metrics but MCC (formulas A.3) of the soft counts, with their epsilon e. */
const METRIC_OF: Record<string, (c: { tp: D; fn: D; fp: D; tn: D }, e: number) => D> = {
  accuracy: (c, e) => c.tp.add(c.tn).div(c.tp.add(c.fn).add(c.fp).add(c.tn).add(e)),
  precision: (c, e) => c.tp.div(c.tp.add(c.fp).add(e)),
  recall: (c, e) => c.tp.div(c.tp.add(c.fn).add(e)),
  specificity: (c, e) => c.tn.div(c.tn.add(c.fp).add(e)),
  f1: (c, e) => c.tp.mul(2).div(c.tp.mul(2).add(c.fn).add(c.fp).add(e)),
  'balanced-accuracy': (c, e) => {
    const [n1, n0] = [c.tp.add(c.fn), c.fp.add(c.tn)];
    return n0.mul(c.tp).add(n1.mul(c.tn)).div(n1.mul(n0).mul(2).add(e));
  },
  'gmean-squared': (c, e) => c.tp.mul(c.tn).div(c.tp.add(c.fn).mul(c.fp.add(c.tn)).add(e)),
  gmean: (c, e) => sqrt(c.tp.mul(c.tn).div(c.tp.add(c.fn).mul(c.fp.add(c.tn)).add(e))),
  jaccard: (c, e) => c.tp.div(c.tp.add(c.fn).add(c.fp).add(e)),
};
export const ANY_METRICS = Object.keys(METRIC_OF);

/** AnyLoss, binary, with a built-in metric: 1 - M of the soft counts of yhat = sigmoid(amp (p - 1/2)). */
export const anyLossMetricTruth = (y: ArrayLike<number>, amp: number, metric: string, e: number) => (x: X) => {
  const yhat = range(y.length).map((i) => sigmoid(sigmoid(x(i)).sub(0.5).mul(amp)));
  const miss = range(y.length).map((i) => sigmoid(sigmoid(x(i)).sub(0.5).mul(-amp)));
  const part = (f: (i: number) => D) => sum(range(y.length).map(f));
  const c = {
    tp: part((i) => yhat[i].mul(y[i])),
    fn: part((i) => miss[i].mul(y[i])),
    fp: part((i) => yhat[i].mul(1 - y[i])),
    tn: part((i) => miss[i].mul(1 - y[i])),
  };
  return METRIC_OF[metric](c, e).neg().add(1);
};

/** Dice and Tversky (formulas B.1), binary, global, alpha 0, e = 1 (2: 'dice-squared'): 1 - (nI I + g) / (dI I + dP P + dY Y + g). */
export const overlapTruth =
  (y: ArrayLike<number>, form: 'dice' | 'dice-squared' | 'tversky', g: number, a = 0.5, b = 0.5) =>
  (x: X) => {
    const p = range(y.length).map((i) => sigmoid(x(i)));
    const I = sum(p.map((v, i) => v.mul(y[i])));
    const P = sum(p);
    const Y = Array.from(y).reduce((s, v) => s + v, 0);
    if (form === 'dice')
      return I.mul(2)
        .add(g)
        .div(P.add(Y + g))
        .neg()
        .add(1);
    if (form === 'dice-squared') {
      const P2 = sum(p.map((v) => v.mul(v)));
      const Y2 = Array.from(y).reduce((s, v) => s + v * v, 0);
      return I.mul(2)
        .add(g)
        .div(P2.add(Y2 + g))
        .neg()
        .add(1);
    }
    // TP = I, FP = P - I, FN = Y - I
    const den = I.add(P.sub(I).mul(a)).add(I.neg().add(Y).mul(b)).add(g);
    return I.add(g).div(den).neg().add(1);
  };

/** sphericalLoss (formulas F.3), mean over rows: L(A = o_c, q = sum o^2, s = sum o). */
export const sphericalTruth =
  (t: ArrayLike<number>, classes: number, kind: 'mse' | 'log-spherical-softmax' | 'log-taylor-softmax', eps = 1e-6) =>
  (x: X) =>
    mean(
      range(t.length).map((r) => {
        const row = rowOf(x, r, classes);
        const A = row[t[r]];
        const q = sum(row.map((o) => o.mul(o)));
        if (kind === 'mse') return q.sub(A.mul(2)).add(1);
        if (kind === 'log-spherical-softmax') return log(q.add(classes * eps)).sub(log(A.mul(A).add(eps)));
        const num = A.add(1).add(A.mul(A).mul(0.5));
        return log(sum(row).add(classes).add(q.mul(0.5))).sub(log(num));
      }),
    );

type SoftmaxForm =
  | { form: 'ce'; labelSmoothing: number }
  | { form: 'mae' }
  | { form: 'focal'; gamma: number }
  | { form: 'ldr-kl'; lambda: number; margin: number };

/** softmaxCrossEntropy's other forms (formulas G.2 to G.5), unit weights, T = 1, mean over rows. */
export const softmaxFormTruth = (t: ArrayLike<number>, classes: number, f: SoftmaxForm) => (x: X) =>
  mean(
    range(t.length).map((r) => {
      const row = rowOf(x, r, classes);
      const lp = logSoftmax(row, t[r]);
      if (f.form === 'ce') {
        const all = sum(range(classes).map((k) => logSoftmax(row, k)));
        return lp.mul(-(1 - f.labelSmoothing)).sub(all.mul(f.labelSmoothing / classes));
      }
      if (f.form === 'mae') return oneMinusExp(lp).mul(2);
      if (f.form === 'focal') return pow(oneMinusExp(lp), f.gamma).mul(lp.neg());
      // LSE(u) - u_y with u_k = (x_k + c [k != y]) / lambda, taken about x_y: a margin of 0.1 beside
      // logits of 1e15 would be absorbed (double's ulp there is 0.125)
      const u = row.map((o, k) =>
        o
          .sub(row[t[r]])
          .add(k === t[r] ? 0 : f.margin)
          .div(f.lambda),
      );
      return logSoftmax(u, t[r]).neg().sub(Math.log(classes)).mul(f.lambda);
    }),
  );
