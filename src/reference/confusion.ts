// The float64 reference of the soft-confusion-matrix family (formulas A, B) and binary cross-entropy:
// plain loops that follow the formulas of docs/formulas.md line by line. It is the oracle the native kernels
// are tested against, and the 'js' backend when the addon is missing.

export interface Counts {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}

/** A metric's value and its two derivatives g_pos = dM/dTP - dM/dFN, g_neg = dM/dFP - dM/dTN. */
export interface MetricValue {
  value: number;
  gPos: number;
  gNeg: number;
}

export interface RefProblem {
  /** rows x classes, row-major. */
  scores: ArrayLike<number>;
  /** Binary: y in [0, 1]; multi-class: class ids. */
  labels: ArrayLike<number>;
  weights?: ArrayLike<number>;
  /** 1 for binary. */
  classes: number;
  /** Scores are probabilities (else logits: sigmoid for binary, softmax for multi-class). */
  probabilities: boolean;
}

export function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/** sigma(t) (1 - sigma(t)) as e / (1 + e)^2, e = exp(-|t|): no 1 - sigma(t) to cancel. */
export function sigmoidSlope(t: number): number {
  const e = Math.exp(-Math.abs(t));
  return e / (1 + e) ** 2;
}

export function softplus(t: number): number {
  return Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
}

/**
 * The built-in metrics of formulas A.3 with eps in the denominators as the official AnyLoss code
 * has it; G-mean's derivative M / 2TP divides by max(TP, eps) (likewise TN), and MCC clamps Q
 * at eps (formulas A.5), differentiating as if the clamp were not there.
 */
export function referenceMetric(name: string, c: Counts, beta: number, eps: number): MetricValue {
  const n1 = c.tp + c.fn,
    n0 = c.fp + c.tn,
    n = n1 + n0,
    s = c.tp + c.fp;
  switch (name) {
    case 'accuracy':
      return { value: (c.tp + c.tn) / (n + eps), gPos: 1 / (n + eps), gNeg: -1 / (n + eps) };
    case 'precision': {
      const d = s + eps;
      return { value: c.tp / d, gPos: (c.fp + eps) / d ** 2, gNeg: -c.tp / d ** 2 };
    }
    case 'recall':
      return { value: c.tp / (n1 + eps), gPos: 1 / (n1 + eps), gNeg: 0 };
    case 'specificity':
      return { value: c.tn / (n0 + eps), gPos: 0, gNeg: -1 / (n0 + eps) };
    case 'f1':
    case 'fbeta': {
      const b2 = name === 'f1' ? 1 : beta * beta;
      const d = b2 * n1 + s + eps;
      return {
        value: ((1 + b2) * c.tp) / d,
        gPos: ((1 + b2) * (b2 * n1 + c.fp + eps)) / d ** 2,
        gNeg: (-(1 + b2) * c.tp) / d ** 2,
      };
    }
    case 'balanced-accuracy': {
      const d = 2 * n1 * n0 + eps;
      return { value: (n0 * c.tp + n1 * c.tn) / d, gPos: n0 / d, gNeg: -n1 / d };
    }
    case 'gmean-squared': {
      const d = n1 * n0 + eps;
      return { value: (c.tp * c.tn) / d, gPos: c.tn / d, gNeg: -c.tp / d };
    }
    case 'gmean': {
      const m = Math.sqrt((c.tp * c.tn) / (n1 * n0 + eps));
      return { value: m, gPos: m / (2 * Math.max(c.tp, eps)), gNeg: -m / (2 * Math.max(c.tn, eps)) };
    }
    case 'mcc': {
      const q = Math.sqrt(n1 * n0 * s * (n - s));
      if (q > eps) {
        const m = (n * c.tp - n1 * s) / q;
        const k = (n - 2 * s) / (2 * s * (n - s));
        return { value: m, gPos: n0 / q - m * k, gNeg: -n1 / q - m * k };
      }
      return { value: (n * c.tp - n1 * s) / eps, gPos: n0 / eps, gNeg: -n1 / eps };
    }
    case 'jaccard': {
      const d = n1 + c.fp + eps;
      return { value: c.tp / d, gPos: 1 / d, gNeg: -c.tp / d ** 2 };
    }
    default:
      throw new Error(`referenceMetric: unknown metric ${name}`);
  }
}

/** Row i's class probabilities (softmax of the logits, or the scores as given). */
function rowProbabilities(pb: RefProblem, i: number): number[] {
  const c = pb.classes;
  const x = Array.from({ length: c }, (_, k) => pb.scores[i * c + k]);
  if (pb.probabilities) return x;
  if (c === 1) return [sigmoid(x[0])];
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Is row i a positive of class k (binary: the label itself, possibly soft). */
function target(pb: RefProblem, i: number, k: number): number {
  return pb.classes === 1 ? pb.labels[i] : pb.labels[i] === k ? 1 : 0;
}

const weight = (pb: RefProblem, i: number): number => (pb.weights ? pb.weights[i] : 1);

/** yhat = sigmoid(L (p - 1/2)) (formulas A.2). */
const amplify = (p: number, amplifier: number): number => sigmoid(amplifier * (p - 0.5));

/** Per-class weighted soft counts (formulas A.2, A.6). */
export function referenceCounts(pb: RefProblem, amplifier: number): Counts[] {
  const rows = pb.labels.length;
  const tp = new Array<number>(pb.classes).fill(0);
  const s = new Array<number>(pb.classes).fill(0);
  const n1 = new Array<number>(pb.classes).fill(0);
  let n = 0;
  for (let i = 0; i < rows; i++) {
    const p = rowProbabilities(pb, i),
      w = weight(pb, i);
    n += w;
    for (let k = 0; k < pb.classes; k++) {
      const yhat = amplify(p[k], amplifier),
        y = target(pb, i, k);
      tp[k] += w * y * yhat;
      s[k] += w * yhat;
      n1[k] += w * y;
    }
  }
  return tp.map((t, k) => ({ tp: t, fn: n1[k] - t, fp: s[k] - t, tn: n - n1[k] - s[k] + t }));
}

/**
 * AnyLoss's scalar step (formulas A.3, A.6): from per-class counts to the loss 1 - M (macro: 1 - the
 * mean of the per-class metrics; micro: one metric of the summed counts) and, per class, d loss /
 * d yhat for a cell whose label is positive (dpos) or negative (dneg).
 */
export function anyLossConstants(
  counts: Counts[],
  average: 'macro' | 'micro',
  metric: (c: Counts) => MetricValue,
): { loss: number; dpos: Float64Array; dneg: Float64Array } {
  const C = counts.length;
  const dpos = new Float64Array(C),
    dneg = new Float64Array(C);
  if (average === 'micro') {
    const sum = counts.reduce((a, c) => ({ tp: a.tp + c.tp, fn: a.fn + c.fn, fp: a.fp + c.fp, tn: a.tn + c.tn }));
    const m = metric(sum);
    dpos.fill(-m.gPos);
    dneg.fill(-m.gNeg);
    return { loss: 1 - m.value, dpos, dneg };
  }
  let total = 0;
  counts.forEach((c, k) => {
    const m = metric(c);
    total += m.value;
    dpos[k] = -m.gPos / C;
    dneg[k] = -m.gNeg / C;
  });
  return { loss: 1 - total / C, dpos, dneg };
}

/**
 * AnyLoss (formulas A.2 to A.6): loss = 1 - M (macro: 1 - mean_k M_k; micro: M of the summed
 * counts) and its gradient with respect to the scores.
 */
export function referenceAnyLoss(
  pb: RefProblem,
  amplifier: number,
  average: 'macro' | 'micro',
  metric: (c: Counts) => MetricValue,
): { loss: number; grad: Float64Array } {
  const C = pb.classes,
    rows = pb.labels.length;
  const { loss, dpos, dneg } = anyLossConstants(referenceCounts(pb, amplifier), average, metric);
  const grad = new Float64Array(rows * C);
  for (let i = 0; i < rows; i++) {
    const p = rowProbabilities(pb, i),
      w = weight(pb, i);
    // u_k = d loss / d p_k = w (y dpos + (1 - y) dneg) L yhat (1 - yhat)   (formulas A.4)
    const u = p.map((pk, k) => {
      const y = target(pb, i, k);
      return w * (y * dpos[k] + (1 - y) * dneg[k]) * amplifier * sigmoidSlope(amplifier * (pk - 0.5));
    });
    for (let k = 0; k < C; k++) grad[i * C + k] = chainToScores(pb, p, u, k);
  }
  return { loss, grad };
}

/** d loss / d score_k from u = d loss / d p: sigmoid, softmax or identity. */
function chainToScores(pb: RefProblem, p: number[], u: number[], k: number): number {
  if (pb.probabilities) return u[k];
  if (pb.classes === 1) return u[0] * p[0] * (1 - p[0]);
  const dot = p.reduce((a, pj, j) => a + pj * u[j], 0);
  return p[k] * (u[k] - dot);
}

/** The overlap form shared by Dice and Tversky (see binding/include/fusedloss/confusion.h). */
export interface OverlapForm {
  numI: number;
  denI: number;
  denP: number;
  denY: number;
  smooth: number;
  exponent: 1 | 2;
  /** Self-adjusting exponent alpha: pt = p (1 - p)^alpha. */
  adjust: number;
  perExample: boolean;
}

/** Dice / Tversky (formulas B.1, B.3), batch-global or per example, binary or one-vs-rest. */
export function referenceOverlap(pb: RefProblem, f: OverlapForm): { loss: number; grad: Float64Array } {
  const C = pb.classes,
    rows = pb.labels.length,
    e = f.exponent,
    a = f.adjust;
  const pt = (p: number): number => p * (1 - p) ** a;
  const score = (I: number, P: number, Y: number): number =>
    (f.numI * I + f.smooth) / (f.denI * I + f.denP * P + f.denY * Y + f.smooth);
  // d score / d pt for a cell with label y, given the sums the score was computed from
  const dScore = (I: number, P: number, Y: number, ptv: number, y: number): number => {
    const num = f.numI * I + f.smooth,
      den = f.denI * I + f.denP * P + f.denY * Y + f.smooth;
    return (f.numI * y * den - num * (f.denI * y + f.denP * e * ptv ** (e - 1))) / den ** 2;
  };
  const probs = Array.from({ length: rows }, (_, i) => rowProbabilities(pb, i));
  const I = new Array<number>(C).fill(0),
    P = new Array<number>(C).fill(0),
    Y = new Array<number>(C).fill(0);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < C; k++) {
      const t = pt(probs[i][k]),
        y = target(pb, i, k),
        w = weight(pb, i);
      if (f.perExample) loss += w * (1 - score(t * y, t ** e, y ** e));
      I[k] += w * t * y;
      P[k] += w * t ** e;
      Y[k] += w * y ** e;
    }
  }
  const scale = f.perExample ? 1 / (rows * C) : 1 / C;
  if (f.perExample) loss = rows > 0 ? loss * scale : 0;
  else loss = I.reduce((acc, _, k) => acc + 1 - score(I[k], P[k], Y[k]), 0) * scale;

  const grad = new Float64Array(rows * C);
  for (let i = 0; i < rows; i++) {
    const p = probs[i],
      w = weight(pb, i);
    // u_k = d loss / d p_k through pt_k = p_k (1 - p_k)^a, d pt / d p = (1-p)^(a-1) (1 - (1+a) p)
    const u = p.map((pk, k) => {
      const t = pt(pk),
        y = target(pb, i, k);
      const G = f.perExample ? dScore(t * y, t ** e, y ** e, t, y) : dScore(I[k], P[k], Y[k], t, y);
      // probabilities given as 1 would make (1 - p)^(a - 1) infinite: floored as the kernels do
      const q = pb.probabilities ? Math.max(1 - pk, 1e-7) : 1 - pk;
      const dpt = a === 0 ? 1 : q ** (a - 1) * (1 - (1 + a) * pk);
      return -scale * w * G * dpt;
    });
    for (let k = 0; k < C; k++) grad[i * C + k] = chainToScores(pb, p, u, k);
  }
  return { loss, grad };
}

/**
 * An element-wise binary loss: the weighted terms cell(x, y) = [term, d term / dx], mean (or sum)
 * over rows.
 */
function elementwise(
  pb: RefProblem,
  reduction: 'mean' | 'sum',
  cell: (x: number, y: number) => [number, number],
): { loss: number; grad: Float64Array } {
  const rows = pb.labels.length,
    scale = reduction === 'sum' || rows === 0 ? 1 : 1 / rows;
  const grad = new Float64Array(rows);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const w = weight(pb, i);
    const [term, dterm] = cell(pb.scores[i], pb.labels[i]);
    loss += w * term;
    grad[i] = scale * w * dterm;
  }
  return { loss: loss * scale, grad };
}

/**
 * Binary cross-entropy with logits (PyTorch's BCEWithLogits): w (pw y softplus(-x) +
 * (1 - y) softplus(x)), mean (or sum) over rows.
 */
export function referenceBce(
  pb: RefProblem,
  posWeight: number,
  reduction: 'mean' | 'sum',
): { loss: number; grad: Float64Array } {
  return elementwise(pb, reduction, (x, y) => [
    posWeight * y * softplus(-x) + (1 - y) * softplus(x),
    sigmoid(x) * (posWeight * y + 1 - y) - posWeight * y,
  ]);
}

/**
 * Sigmoid focal loss (formulas G; torchvision's sigmoid_focal_loss, which also takes soft labels):
 * w a_t (1 - p_t)^gamma BCE(x, y) with p_t = p y + (1 - p)(1 - y), a_t = alpha y + (1 - alpha)(1 - y),
 * mean (or sum) over rows.
 */
export function referenceSigmoidFocal(
  pb: RefProblem,
  gamma: number,
  alpha: number,
  reduction: 'mean' | 'sum',
): { loss: number; grad: Float64Array } {
  return elementwise(pb, reduction, (x, y) => {
    const p = sigmoid(x),
      q = sigmoid(-x);
    const ce = y * softplus(-x) + (1 - y) * softplus(x);
    const miss = y * q + (1 - y) * p; // 1 - p_t
    const at = alpha * y + (1 - alpha) * (1 - y);
    // d/dx: (p - y) (1 - p_t)^g + ce g (1 - p_t)^(g-1) d(1 - p_t)/dx, d(1 - p_t)/dx = (1 - 2y) p q
    const dmiss = miss > 0 ? gamma * miss ** (gamma - 1) * (1 - 2 * y) * p * q : 0;
    return [at * miss ** gamma * ce, at * ((p - y) * miss ** gamma + ce * dmiss)];
  });
}
