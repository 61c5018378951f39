// What the spherical-family tests share: hard logits, the shapes, the
// softmax forms, and the parity suites that hold one backend against another.
import { describe, it } from 'vitest';
import {
  softmaxCrossEntropy,
  sphericalLoss,
  zLoss,
  type Backend,
  type ClassLossOptions,
  type SoftmaxCrossEntropyOptions,
} from '../src';
import { randomClassLabels, randomScores, expectAgree } from './helpers';

export type Result = { loss: number | Float32Array; grad: Float32Array };

/**
 * rows x C logits; with `hard`, row 0 alternates +-1e4, row 1 is constant, row 2 sits at 1e4 with a
 * spread of about 1e-2 (|mean| >> std), and row 3 puts +1e4 on one class and -1e4 elsewhere.
 */
export function logits(rows: number, C: number, seed: number, hard: boolean): Float32Array {
  const x = randomScores(rows * C, seed, 2);
  if (!hard) return x;
  const fill = (r: number, f: (k: number) => number) => {
    if (r < rows) for (let k = 0; k < C; k++) x[r * C + k] = f(k);
  };
  const noise = randomScores(C, seed + 1, 0.01);
  fill(0, (k) => (k % 2 ? 1e4 : -1e4));
  fill(1, () => 3.5);
  fill(2, (k) => 1e4 + noise[k]);
  fill(3, (k) => (k === C >> 1 ? 1e4 : -1e4));
  return x;
}

export const SHAPES = [
  [1, 1],
  [1, 2],
  [7, 2],
  [33, 13],
  [250, 1000],
  [3, 50000],
] as const;

export type Call = (x: Float32Array, t: Int32Array, o: ClassLossOptions) => Result;

/** Two backends held against each other: the first is tested, the second is the reference. */
export type Pair = readonly [Backend, Backend];
export const CPU_VS_JS: Pair = ['cpu', 'js'];

/**
 * One loss on two backends, on every shape, plain and hard logits, and every reduction. `flatAt`
 * names a class count where the loss is constant in the logits (gradient 0 up to rounding, where a
 * relative comparison means nothing): tested apart.
 */
export function parity(name: string, call: Call, options: object, [tested, reference]: Pair, flatAt?: number) {
  describe(name, () => {
    for (const [rows, C] of SHAPES.filter(([, c]) => c !== flatAt)) {
      for (const hard of [false, true]) {
        it(`${rows} x ${C}${hard ? ', hard rows' : ''}`, () => {
          const x = logits(rows, C, rows + C, hard);
          const t = randomClassLabels(rows, C, rows * 7 + C);
          for (const reduction of ['mean', 'sum', 'none'] as const) {
            const o = { ...options, reduction };
            expectAgree(call(x, t, { ...o, backend: tested }), call(x, t, { ...o, backend: reference }));
          }
        });
      }
    }
  });
}

export const SOFTMAX_FORMS: [string, SoftmaxCrossEntropyOptions][] = [
  ['ce', {}],
  ['ce, label smoothing 0.1, temperature 1.5', { labelSmoothing: 0.1, temperature: 1.5 }],
  ['comp-sum tau 0', { form: 'comp-sum', tau: 0 }],
  ['comp-sum tau 0.5', { form: 'comp-sum' }],
  ['comp-sum tau 1.7', { form: 'comp-sum', tau: 1.7 }],
  ['gce', { form: 'gce' }],
  ['mae', { form: 'mae' }],
  ['focal gamma 2 alpha 0.25', { form: 'focal', alpha: 0.25 }],
  ['focal gamma 0.5, temperature 0.5', { form: 'focal', gamma: 0.5, temperature: 0.5 }],
  ['ldr-kl', { form: 'ldr-kl' }],
  ['ldr-kl lambda 0.1 margin 0.5', { form: 'ldr-kl', lambda: 0.1, margin: 0.5 }],
  ['ce, softcap 5, z-loss 0.01', { softcap: 5, lseSquareScale: 0.01 }],
  [
    'ce, label smoothing 0.1, softcap 30, z-loss 1e-4, temperature 0.7',
    { labelSmoothing: 0.1, softcap: 30, lseSquareScale: 1e-4, temperature: 0.7 },
  ],
  ['focal, softcap 2', { form: 'focal', softcap: 2 }],
  ['ldr-kl, softcap 3', { form: 'ldr-kl', softcap: 3 }],
];

/** Every spherical loss and kind on two backends. */
export function sphericalParity(pair: Pair) {
  parity('zLoss, defaults', (x, t, o) => zLoss(x, t, o), {}, pair, 2);
  parity('zLoss, a 3, b 0.8', (x, t, o) => zLoss(x, t, o), { a: 3, b: 0.8 }, pair, 2);
  parity('sphericalLoss mse', (x, t, o) => sphericalLoss(x, t, { ...o, kind: 'mse' }), {}, pair);
  for (const kind of ['log-spherical-softmax', 'log-taylor-softmax'] as const) {
    parity(`sphericalLoss ${kind}`, (x, t, o) => sphericalLoss(x, t, { ...o, kind }), {}, pair, 1);
  }
  parity(
    'sphericalLoss log-spherical-softmax, eps 0.5',
    (x, t, o) => sphericalLoss(x, t, { ...o, kind: 'log-spherical-softmax' }),
    { eps: 0.5 },
    pair,
    1,
  );
}

/** The softmax call the parity suites use. */
export const softmax: Call = (x, t, o) => softmaxCrossEntropy(x, t, o);
