// Shared cases of the pairwise family's tests: every loss (Multi-Similarity in both semantics,
// the triplet hinge and soft margin) as a call on a chosen backend.
import {
  circleLoss,
  contrastive,
  multiSimilarity,
  ntXent,
  orthogonalProjection,
  supCon,
  tripletBatchHard,
  type LossResult,
  type PairOptions,
  type PairPrecisionOptions,
} from '../src';
import type { PairRefParams } from '../src/reference/pairs';

// precision: every loss but orthogonalProjection takes it.
type Call = (x: Float32Array | Float64Array, y: Int32Array, o: PairOptions & PairPrecisionOptions) => LossResult;

export const PAIR_LOSSES: [string, Call][] = [
  ['multiSimilarity pml', (x, y, o) => multiSimilarity(x, y, o)],
  ['multiSimilarity paper', (x, y, o) => multiSimilarity(x, y, { ...o, semantics: 'paper' })],
  ['contrastive', (x, y, o) => contrastive(x, y, { ...o, negMargin: 1.2 })],
  ['tripletBatchHard', (x, y, o) => tripletBatchHard(x, y, { ...o, margin: 0.3 })],
  ['tripletBatchHard soft', (x, y, o) => tripletBatchHard(x, y, { ...o, softMargin: true })],
  ['circleLoss', (x, y, o) => circleLoss(x, y, o)],
  ['supCon', (x, y, o) => supCon(x, y, o)],
  ['ntXent', (x, y, o) => ntXent(x, y, o)],
  ['orthogonalProjection', (x, y, o) => orthogonalProjection(x, y, o)],
];

/** A per-anchor loss called with reduction 'none'. */
export type PerAnchorCall = (
  x: Float32Array,
  y: Int32Array,
  o: PairOptions,
) => { loss: Float32Array; grad: Float32Array };

/** The losses with per-anchor terms: reference parameters, and the public call with reduction 'none'. */
export const PER_ANCHOR: [string, Partial<PairRefParams>, PerAnchorCall][] = [
  [
    'multi-similarity pml',
    { loss: 'multi-similarity' },
    (x, y, o) => multiSimilarity(x, y, { ...o, reduction: 'none' }),
  ],
  [
    'multi-similarity paper',
    { loss: 'multi-similarity', semantics: 'paper' },
    (x, y, o) => multiSimilarity(x, y, { ...o, semantics: 'paper', reduction: 'none' }),
  ],
  [
    'contrastive',
    { loss: 'contrastive', negMargin: 1.2 },
    (x, y, o) => contrastive(x, y, { ...o, negMargin: 1.2, reduction: 'none' }),
  ],
  [
    'triplet hinge',
    { loss: 'triplet-batch-hard', margin: 0.3 },
    (x, y, o) => tripletBatchHard(x, y, { ...o, margin: 0.3, reduction: 'none' }),
  ],
  [
    'triplet soft margin',
    { loss: 'triplet-batch-hard', softMargin: true },
    (x, y, o) => tripletBatchHard(x, y, { ...o, softMargin: true, reduction: 'none' }),
  ],
  [
    'circle',
    { loss: 'circle', m: 0.25, gamma: 8 },
    (x, y, o) => circleLoss(x, y, { ...o, m: 0.25, gamma: 8, reduction: 'none' }),
  ],
  [
    'supcon',
    { loss: 'supcon', temperature: 0.5, baseTemperature: 0.7 },
    (x, y, o) => supCon(x, y, { ...o, temperature: 0.5, baseTemperature: 0.7, reduction: 'none' }),
  ],
  [
    'nt-xent',
    { loss: 'nt-xent', temperature: 0.5 },
    (x, y, o) => ntXent(x, y, { ...o, temperature: 0.5, reduction: 'none' }),
  ],
];
