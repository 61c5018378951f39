// One message per value fault on every backend: the native kernels report a fault as data (fault
// id, index, value) and src/faults.ts writes it; the JavaScript reference finds the same fault in
// its own checks and writes it there too. Each case is one fault of the C++ enum fl::Fault, in a
// loss whose arguments have their own public names.
import { describe, expect, it } from 'vitest';
import {
  anyLoss,
  backends,
  binaryCrossEntropy,
  contrastive,
  linearCrossEntropy,
  listMLE,
  multiSimilarity,
  plackettLuceDistill,
  softmaxCrossEntropy,
  zLoss,
  type Backend,
} from '../src';
import type { FaultName } from '../src/faults';

const f32 = (...v: number[]) => new Float32Array(v);
const i32 = (...v: number[]) => new Int32Array(v);

// [fault, call on a backend, the fragment the message must hold]
const CASES: [FaultName, (backend: Backend) => unknown, string][] = [
  ['score-not-finite', (backend) => anyLoss(f32(0.5, NaN), f32(1, 0), { backend }), 'scores[1] = NaN is not finite'],
  [
    'probability-out-of-range',
    (backend) => anyLoss(f32(0.5, 1.5), f32(1, 0), { input: 'probabilities', backend }),
    'scores[1] = 1.5 is outside [0, 1]',
  ],
  [
    'label-out-of-range',
    (backend) => softmaxCrossEntropy(f32(1, 2, 3, 4), i32(1, 2), { backend }),
    'targets[1] = 2 is out of range; class ids must be in [0, 2) for 2 classes, or equal options.ignoreIndex (-100)',
  ],
  [
    'weight-invalid',
    (backend) => binaryCrossEntropy(f32(1, 2), f32(1, 0), { weights: f32(1, -1), backend }),
    'options.weights[1] = -1 is invalid',
  ],
  [
    'relevance-invalid',
    (backend) => listMLE(f32(1, 2, 3), f32(1, -2, 0), { backend }),
    'relevance[1] = -2 is out of range',
  ],
  [
    'teacher-not-finite',
    (backend) => plackettLuceDistill(f32(1, 2), f32(1, Infinity), i32(0), { backend }),
    'teacherLogits[1] = Infinity is not finite',
  ],
  [
    'class-weight-invalid',
    (backend) => softmaxCrossEntropy(f32(1, 2, 3, 4), i32(1, 0), { classWeights: f32(1, NaN), backend }),
    'options.classWeights[1] = NaN is invalid',
  ],
  [
    'reference-not-finite',
    (backend) => linearCrossEntropy(f32(1, 2), f32(1, 0, NaN, 1), i32(1), { backend }),
    'weight[2] = NaN is not finite',
  ],
  [
    'row-norm-too-large',
    (backend) => contrastive(f32(1, 0, 3e4, 0), i32(0, 0), { normalize: false, backend }),
    'embeddings row 1 has L2 norm 30000',
  ],
  [
    'reference-row-norm-too-large',
    (backend) =>
      multiSimilarity(f32(1, 0, 0, 1), i32(0, 1), {
        normalize: false,
        reference: f32(0, 2e4),
        referenceLabels: i32(1),
        backend,
      }),
    'options.reference row 0 has L2 norm 20000',
  ],
  [
    'logit-not-finite',
    (backend) => linearCrossEntropy(f32(3e19, 3e19), f32(3e19, 3e19, 0, 0), i32(0), { backend }),
    'the logits of row 0 of hidden overflow float32',
  ],
  [
    'zloss-spread-too-small',
    (backend) => zLoss(f32(-7 * 2 ** -149, 0, 7 * 2 ** -149), i32(0), { backend }),
    'row 0 of logits has std 8.01e-45, too small for Z-loss',
  ],
];

const available = (['js', 'cpu', 'cuda-sim', 'wasm'] as const).filter((b) => b === 'js' || backends()[b].available);

/** What a call threw: its class, code and message; or what it returned. */
function thrown(f: () => unknown): string {
  try {
    return `returned ${JSON.stringify(f())}`;
  } catch (e) {
    return `${(e as Error).constructor.name} ${(e as { code?: string }).code}: ${(e as Error).message}`;
  }
}

describe('value faults: the same error on every backend', () => {
  it('every fault of fl::Fault but None and Cuda has a case', () => {
    expect(CASES.map(([fault]) => fault).sort()).toEqual(
      [
        'score-not-finite',
        'probability-out-of-range',
        'label-out-of-range',
        'weight-invalid',
        'relevance-invalid',
        'teacher-not-finite',
        'class-weight-invalid',
        'reference-not-finite',
        'row-norm-too-large',
        'reference-row-norm-too-large',
        'logit-not-finite',
        'zloss-spread-too-small',
      ].sort(),
    );
  });
  for (const [fault, call, fragment] of CASES) {
    it(`${fault}, on ${available.join(', ')}`, () => {
      const seen = available.map((b) => thrown(() => call(b)));
      expect(seen[0]).toMatch(/^RangeError ERR_FUSEDLOSS_(INVALID_ARG_VALUE|NON_FINITE): /);
      expect(seen[0]).toContain(fragment);
      for (let k = 1; k < seen.length; k++) expect(`${available[k]}: ${seen[k]}`).toBe(`${available[k]}: ${seen[0]}`);
    });
  }
});
