// Shared cases of the fused linear cross-entropy tests: odd sizes (B, D, C from 1, 7, 33, 1031,
// 4099, combined so the float64 reference stays quick), every option, and the comparison of a
// backend's result with the reference's.
import { expect } from 'vitest';
import type { Backend, LinearCrossEntropyOptions } from '../src';
import { linearCrossEntropy } from '../src';
import { referenceLinearCrossEntropy, type LinearRefParams } from '../src/reference/linear';
import { gradError, randomClassLabels, randomScores, randomWeights, relError } from './helpers';

export interface LinearCase {
  name: string;
  B: number;
  D: number;
  C: number;
  options: LinearCrossEntropyOptions;
  /** Scale of hidden's entries (weight's are 1/sqrt(D)-scaled normals). */
  scale?: number;
}

/** The option sets each size runs with; targets get ~10% ignored rows where ignoreIndex is set. */
export const OPTION_SETS: Record<string, (B: number, C: number) => LinearCrossEntropyOptions> = {
  plain: () => ({}),
  bias: (_B, C) => ({ bias: randomScores(C, 91) }),
  smoothing: (_B, C) => ({ labelSmoothing: 0.1, classWeights: randomWeights(C, 92) }),
  weighted: (B, C) => ({ weights: randomWeights(B, 93), classWeights: randomWeights(C, 94), ignoreIndex: -1 }),
  capped: (_B, C) => ({ softcap: 3, lseSquareScale: 1e-2, bias: randomScores(C, 95), returnLse: true }),
  sum: (B, C) => ({ reduction: 'sum', weights: randomWeights(B, 96), labelSmoothing: 0.2, bias: randomScores(C, 97) }),
  every: (B, C) => ({
    bias: randomScores(C, 98),
    labelSmoothing: 0.05,
    classWeights: randomWeights(C, 99),
    weights: randomWeights(B, 100),
    ignoreIndex: -1,
    reduction: 'none',
    lseSquareScale: 1e-3,
    softcap: 4,
    returnLse: true,
  }),
};

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 33, 1],
  [1, 7, 33],
  [33, 7, 4099],
  [1031, 7, 33],
  [4099, 1, 7],
  [7, 1031, 33],
  [33, 33, 1031],
  [97, 20, 200],
];

/** Every size with three of the option sets (rotating), and the largest-but-cheap size with all of them. */
export const CASES: LinearCase[] = [
  ...SIZES.flatMap(([B, D, C], k) => {
    const names = Object.keys(OPTION_SETS);
    return [0, 1, 2].map((j) => {
      const set = names[(3 * k + j) % names.length];
      return { name: `B ${B}, D ${D}, C ${C}, ${set}`, B, D, C, options: OPTION_SETS[set](B, C) };
    });
  }),
  ...Object.entries(OPTION_SETS).map(([set, make]) => ({
    name: `B 97, D 20, C 200, ${set}`,
    B: 97,
    D: 20,
    C: 200,
    options: make(97, 200),
  })),
];

export interface LinearInputs {
  hidden: Float32Array;
  weight: Float32Array;
  targets: Int32Array;
}

export function inputs(c: LinearCase, seed = 1): LinearInputs {
  const hidden = randomScores(c.B * c.D, seed, c.scale ?? 1);
  const weight = randomScores(c.C * c.D, seed + 1, 1 / Math.sqrt(c.D));
  const targets = randomClassLabels(c.B, c.C, seed + 2);
  if (c.options.ignoreIndex !== undefined) for (let i = 0; i < c.B; i += 10) targets[i] = c.options.ignoreIndex;
  return { hidden, weight, targets };
}

type Arr = ArrayLike<number>;
/** What the comparison reads of a backend's result. */
export interface LinearOut {
  loss: number | Float32Array;
  gradHidden: Float32Array;
  gradWeight: Float32Array;
  gradBias?: Float32Array;
  lse?: Float32Array;
}

/**
 * `got` against the float64 reference on the same inputs: loss within 1e-5 relative (1e-6
 * absolute near 0), each gradient within 1e-4 of its largest entry, row losses and LSEs within
 * 1e-5 of their largest.
 */
export function expectReference(c: LinearCase, x: LinearInputs, got: LinearOut): void {
  const o = c.options;
  const p: LinearRefParams = {
    ignoreIndex: o.ignoreIndex ?? -100,
    labelSmoothing: o.labelSmoothing ?? 0,
    lseSquareScale: o.lseSquareScale ?? 0,
    softcap: o.softcap ?? 0,
    reduction: o.reduction ?? 'mean',
  };
  const f32 = (v: unknown) => (v === undefined ? undefined : Float32Array.from(v as Arr));
  const ref = referenceLinearCrossEntropy(
    {
      ...x,
      dim: c.D,
      bias: f32(o.bias),
      weights: f32(o.weights),
      classWeights: f32(o.classWeights),
    },
    p,
  );
  if (p.reduction === 'none') {
    expect(gradError(got.loss as Float32Array, ref.rowLoss), 'row losses').toBeLessThan(1e-5);
  } else {
    const loss = got.loss as number;
    const err = Math.abs(ref.loss) > 1e-6 ? relError(loss, ref.loss) : Math.abs(loss - ref.loss);
    expect(err, `loss ${loss} vs ${ref.loss}`).toBeLessThan(1e-5);
  }
  expect(gradError(got.gradHidden, ref.gradHidden), 'gradHidden').toBeLessThan(1e-4);
  expect(gradError(got.gradWeight, ref.gradWeight), 'gradWeight').toBeLessThan(1e-4);
  if (o.bias) expect(gradError(got.gradBias!, ref.gradBias), 'gradBias').toBeLessThan(1e-4);
  else expect(got.gradBias).toBeUndefined();
  if (o.returnLse) expect(gradError(got.lse!, ref.lse), 'lse').toBeLessThan(1e-5);
  else expect(got.lse).toBeUndefined();
}

/** Runs case c on `backend` and holds it to the reference. */
export function checkCase(c: LinearCase, backend: Backend): void {
  const x = inputs(c);
  const got = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, dim: c.D, backend });
  expectReference(c, x, got);
}

/**
 * Logits of exactly +-80 (D = 1: hidden +-8 times weight +-10), with no soft cap, a cap of 30 and
 * one of 5: the cases each backend is held to the reference on.
 */
export function saturated(): { cases: LinearCase[]; x: LinearInputs } {
  const B = 33,
    C = 7;
  const x = {
    hidden: Float32Array.from({ length: B }, (_, i) => (i % 2 ? 8 : -8)),
    weight: Float32Array.from({ length: C }, (_, c) => (c % 3 ? 10 : -10)),
    targets: randomClassLabels(B, C, 3),
  };
  const cases = [undefined, 30, 5].map((softcap): LinearCase => ({
    name: '80',
    B,
    D: 1,
    C,
    options: { softcap, returnLse: true, lseSquareScale: 1e-4 },
  }));
  return { cases, x };
}
