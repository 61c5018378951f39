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
} from '../src';

type Call = (x: Float32Array | Float64Array, y: Int32Array, o: PairOptions) => LossResult;

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
