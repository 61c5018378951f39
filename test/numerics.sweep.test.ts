// Issue 18's sweep: losses across scales (1e-30 to 3e38) and input shapes (confident-correct,
// confident-wrong, ties, constant rows, one class) on the cpu and cuda-sim backends, each held to
// a float64 truth computed apart from src/reference (numerics.truth.ts, dual numbers). Agreement,
// not finiteness: loss within 1e-5 relative, gradient within 1e-4 of its largest entry.
// NUMERICS_TABLE=1 prints, per loss and backend, the scales over which every shape agrees.
import { afterAll, describe, expect, it } from 'vitest';
import {
  anyLoss,
  binaryCrossEntropy,
  circleLoss,
  contrastive,
  diceLoss,
  lambdaLoss,
  listMLE,
  listNet,
  multiSimilarity,
  ntXent,
  orthogonalProjection,
  rankList,
  rankNet,
  sigmoidFocal,
  softmaxCrossEntropy,
  sphericalLoss,
  supCon,
  tripletBatchHard,
  tverskyLoss,
  zLoss,
} from '../src';
import {
  anyLossTruth,
  bceTruth,
  circleTruth,
  contrastiveTruth,
  focalTruth,
  listMLETruth,
  listNetTruth,
  multiSimilarityTruth,
  ntXentTruth,
  oplTruth,
  overlapTruth,
  rankListTruth,
  rankNetTruth,
  softmaxFormTruth,
  softmaxTruth,
  sphericalTruth,
  supConTruth,
  tripletTruth,
  truth,
  truthErrors,
  zLossTruth,
  type Truth,
} from './numerics.truth';

const FLT_MAX = 3.4028234663852886e38;

// 20: where a confident logit's softplus(x) - x used to cancel (binary cross-entropy); 1e11: the
// last scale at which ListMLE's and RankList's (CUDA) log-partitions, one double each, still held
// tied scores (they are now kept as (max, sum) pairs).
const SCALES = [1e-30, 1e-6, 1, 20, 1e4, 1e11, 1e15, 1e30, 3e38];
const SHAPES = ['correct', 'wrong', 'ties', 'constant', 'one class'] as const;
type Shape = (typeof SHAPES)[number];
type Backend = 'cpu' | 'cuda-sim';
type Result = { loss: number; grad: ArrayLike<number> };
/**
 * A case: the inputs (base values in [-1, 1], to be scaled), the call, its truth, and the size of
 * the terms its gradient entries are differences of at a given scale (truthErrors' unit; 0: none).
 */
type Case = {
  x: number[];
  call: (x: Float32Array, backend: Backend) => Result;
  truth: (x: Float32Array) => Truth;
  unit?: (scale: number) => number;
  lossUnit?: number;
};

// Base scores, spread and distinct, largest first; every |value| <= 1 so that 3e38 stays finite.
const SPREAD = [0.9, 0.55, 0.2, -0.35, -0.8];
const shaped = (shape: Shape, xs: number[]) =>
  shape === 'ties' ? xs.map((v, i) => (i < 2 ? xs[0] : v)) : shape === 'constant' ? xs.map(() => 0.5) : xs;

function elementwise(kind: 'bce' | 'focal' | 'any' | 'dice' | 'tversky', shape: Shape): Case {
  const x = shaped(shape, SPREAD);
  const y = Float32Array.from(x, (v) => (shape === 'one class' ? 1 : v > 0 === (shape !== 'wrong') ? 1 : 0));
  const c = (call: Case['call'], t: Parameters<typeof truth>[1]): Case => ({ x, call, truth: (v) => truth(5, t, v) });
  if (kind === 'bce') return c((v, backend) => binaryCrossEntropy(v, y, { backend }), bceTruth(y));
  if (kind === 'focal') return c((v, backend) => sigmoidFocal(v, y, { backend }), focalTruth(y, 2, 0.25));
  if (kind === 'any') return c((v, backend) => anyLoss(v, y, { backend }), anyLossTruth(y, 73, 1, 1e-5));
  if (kind === 'dice') return c((v, backend) => diceLoss(v, y, { backend }), overlapTruth(y, 'dice', 1));
  return c((v, backend) => tverskyLoss(v, y, { backend }), overlapTruth(y, 'tversky', 1));
}

type RowKind =
  | 'z'
  | 'softmax'
  | Parameters<typeof softmaxFormTruth>[2]
  | { kind: 'mse' | 'log-spherical-softmax' | 'log-taylor-softmax' };
function classRows(kind: RowKind, shape: Shape): Case {
  const classes = shape === 'one class' ? 1 : 5;
  const rows = [SPREAD, SPREAD.map((v) => -v)].map((r) => shaped(shape, r).slice(0, classes));
  const pick = (r: number[]) => r.indexOf(shape === 'wrong' ? Math.min(...r) : Math.max(...r));
  const t = Int32Array.from(rows, pick);
  const x = rows.flat();
  const o = { classes } as const;
  const c = (call: Case['call'], f: Parameters<typeof truth>[1]): Case => ({
    x,
    call,
    truth: (v) => truth(x.length, f, v),
  });
  if (kind === 'z') return c((v, backend) => zLoss(v, t, { ...o, backend }), zLossTruth(t, classes));
  if (kind === 'softmax')
    return c((v, backend) => softmaxCrossEntropy(v, t, { ...o, backend }), softmaxTruth(t, classes));
  if ('kind' in kind) {
    const call: Case['call'] = (v, backend) => sphericalLoss(v, t, { ...o, ...kind, backend });
    const made = c(call, sphericalTruth(t, classes, kind.kind));
    // The log forms' gradient terms are about dL/dA, at most 2 / |o| (one class: they cancel to 0)
    return kind.kind === 'mse' ? made : { ...made, unit: (scale) => 1 / Math.max(scale, 1) };
  }
  // Every form's gradient is c (p - e_y): terms of size 1 (c <= 2 here). LDR-KL's loss, which
  // crosses 0, is a difference of terms of about log K + margin.
  const call: Case['call'] = (v, backend) => softmaxCrossEntropy(v, t, { ...o, ...kind, backend });
  const lossUnit = kind.form === 'ldr-kl' ? Math.log(classes) + kind.margin : 0;
  return { ...c(call, softmaxFormTruth(t, classes, kind)), unit: () => 1, lossUnit };
}

type ListTruth = (r: Float32Array) => Parameters<typeof truth>[1];
function list(
  loss: (s: Float32Array, r: Float32Array, o: { backend: Backend }) => Result,
  t: ListTruth,
  shape: Shape,
): Case {
  const r = Float32Array.from(SPREAD, (_, i) => (shape === 'one class' ? 1 : 4 - i));
  const x = shaped(shape, shape === 'wrong' ? [...SPREAD].reverse() : SPREAD);
  return { x, call: (v, backend) => loss(v, r, { backend }), truth: (v) => truth(5, t(r), v), unit: () => 1 };
}

/** LambdaLoss's default scheme: RankNet's pair term in log2 units, summed over the pairs. */
const lambdaTruth: ListTruth = (r) => {
  const pairs = Array.from(r).reduce((a, ri) => a + Array.from(r).filter((rj) => ri > rj).length, 0);
  const rn = rankNetTruth(r);
  return (s) => rn(s).mul(pairs * Math.LOG2E);
};

// Six rows of width 2 (unit directions), labels 0, 0, 0, 1, 1, 1; normalize: true (any scale).
const DIRS = [
  [1, 0],
  [0.96, 0.28],
  [0.8, 0.6],
  [-0.6, 0.8],
  [-0.8, 0.6],
  [-1, 0],
];
type PairKind = 'circle' | 'supcon' | 'ms' | 'contrastive' | 'triplet' | 'ntxent' | 'opl';
function pairs(kind: PairKind, shape: Shape): Case {
  const labels = Int32Array.from(DIRS, (_, i) => (shape === 'one class' ? 0 : i < 3 ? 0 : 1));
  let rows = shape === 'wrong' ? DIRS.map((_, i) => DIRS[(i * 4) % 6]) : DIRS;
  if (shape === 'ties') rows = rows.map((r, i) => (i === 1 ? rows[0] : r));
  if (shape === 'constant') rows = rows.map(() => [0.6, 0.8]);
  const x = rows.flat();
  const n = x.length;
  // Gradient terms: the largest weight (gamma (1 + m)^2, 1 / tau, beta) over the row norm (unit
  // rows times the scale; F.normalize's floor 1e-12 below it).
  const unit = (w: number) => (scale: number) => w / Math.max(scale, 1e-12);
  if (kind === 'circle')
    return {
      x,
      unit: unit(80 * 1.4 * 1.4),
      call: (v, backend) => circleLoss(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, circleTruth(labels, 2, 0.4, 80, false), v),
    };
  if (kind === 'supcon')
    return {
      x,
      unit: unit(1 / 0.07),
      call: (v, backend) => supCon(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, supConTruth(labels, 2, 0.07, 0.07, false), v),
    };
  if (kind === 'ms')
    return {
      x,
      unit: unit(50),
      call: (v, backend) => multiSimilarity(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, multiSimilarityTruth(labels, 2, 2, 50, 0.5, 0.1, false), v),
    };
  if (kind === 'contrastive')
    return {
      x,
      unit: unit(1),
      call: (v, backend) => contrastive(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, contrastiveTruth(labels, 2, 0, 1), v),
    };
  if (kind === 'triplet')
    return {
      x,
      unit: unit(1),
      call: (v, backend) => tripletBatchHard(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, tripletTruth(labels, 2, 0.05), v),
    };
  if (kind === 'ntxent')
    return {
      x,
      unit: unit(1 / 0.07),
      call: (v, backend) => ntXent(v, labels, { dim: 2, backend }),
      truth: (v) => truth(n, ntXentTruth(labels, 2, 0.07, false), v),
    };
  return {
    x,
    unit: unit(1),
    call: (v, backend) => orthogonalProjection(v, labels, { dim: 2, backend }),
    truth: (v) => truth(n, oplTruth(labels, 2, 0.5, false), v),
  };
}

const LOSSES: [string, (shape: Shape) => Case][] = [
  ['binaryCrossEntropy', (s) => elementwise('bce', s)],
  ['sigmoidFocal', (s) => elementwise('focal', s)],
  ['anyLoss', (s) => elementwise('any', s)],
  ['diceLoss', (s) => elementwise('dice', s)],
  ['tverskyLoss', (s) => elementwise('tversky', s)],
  ['zLoss', (s) => classRows('z', s)],
  ['softmaxCrossEntropy', (s) => classRows('softmax', s)],
  ['softmaxCrossEntropy smoothed', (s) => classRows({ form: 'ce', labelSmoothing: 0.1 }, s)],
  ['softmaxCrossEntropy mae', (s) => classRows({ form: 'mae' }, s)],
  ['softmaxCrossEntropy focal', (s) => classRows({ form: 'focal', gamma: 2 }, s)],
  ['softmaxCrossEntropy ldr-kl', (s) => classRows({ form: 'ldr-kl', lambda: 1, margin: 0.1 }, s)],
  ['sphericalLoss mse', (s) => classRows({ kind: 'mse' }, s)],
  ['sphericalLoss log-spherical', (s) => classRows({ kind: 'log-spherical-softmax' }, s)],
  ['sphericalLoss log-taylor', (s) => classRows({ kind: 'log-taylor-softmax' }, s)],
  ['listNet', (s) => list(listNet, listNetTruth, s)],
  ['listMLE', (s) => list(listMLE, listMLETruth, s)],
  ['rankNet', (s) => list(rankNet, rankNetTruth, s)],
  ['rankList', (s) => list(rankList, rankListTruth, s)],
  ['lambdaLoss', (s) => list(lambdaLoss, lambdaTruth, s)],
  ['circleLoss', (s) => pairs('circle', s)],
  ['supCon', (s) => pairs('supcon', s)],
  ['multiSimilarity', (s) => pairs('ms', s)],
  ['contrastive', (s) => pairs('contrastive', s)],
  ['tripletBatchHard', (s) => pairs('triplet', s)],
  ['ntXent', (s) => pairs('ntxent', s)],
  ['orthogonalProjection', (s) => pairs('opl', s)],
];

/** Per loss and backend, the scales at which every shape agreed. */
const agreed = new Map<string, Set<number>>();

describe.each(['cpu', 'cuda-sim'] as const)('%s against the float64 truth', (backend) => {
  it.each(LOSSES)('%s over every scale and shape', (name, make) => {
    const misses: string[] = [];
    const ok = new Set<number>();
    for (const scale of SCALES) {
      let all = true;
      for (const shape of SHAPES) {
        const c = make(shape);
        const x = Float32Array.from(c.x, (v) => v * scale);
        let err: { lossErr: number; gradErr: number };
        const want = c.truth(x);
        try {
          err = truthErrors(c.call(x, backend), want, c.unit?.(scale), c.lossUnit);
        } catch (e) {
          // A loss past float32's range is refused, as README "Errors" states: a coded RangeError.
          const refused = e instanceof RangeError && /^ERR_FUSEDLOSS_/.test((e as { code?: string }).code ?? '');
          err =
            refused && !(Math.abs(want.loss) <= FLT_MAX)
              ? { lossErr: 0, gradErr: 0 }
              : { lossErr: Infinity, gradErr: Infinity };
          if (err.lossErr) misses.push(`${shape} at ${scale}: ${(e as Error).message}`);
        }
        if (!(err.lossErr < 1e-5 && err.gradErr < 1e-4)) {
          all = false;
          misses.push(`${shape} at ${scale}: loss error ${err.lossErr}, gradient error ${err.gradErr}`);
        }
      }
      if (all) ok.add(scale);
    }
    agreed.set(`${name} ${backend}`, ok);
    expect(misses).toEqual([]);
  });
});

afterAll(() => {
  if (!process.env.NUMERICS_TABLE) return;
  const fmt = (s: Set<number>) => SCALES.map((v) => (s.has(v) ? v.toExponential(0) : '-')).join(' ');
  for (const [key, set] of agreed) console.log(`| ${key} | ${fmt(set)} |`);
});
