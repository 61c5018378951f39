// fusedloss/tfjs ops on tfjs's 'cpu' and 'wasm' backends: the value and tf.grad of every op equal
// the fused function called directly (1e-6); the value and gradient of every op (with several
// option sets) equal tfjs autodiff through the loss composed from tfjs ops in bench/
// (1e-4); per-row losses scale each row by its dy; and no tensor leaks.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ops, registerFusedKernels } from '../src/tfjs';
import {
  anyLossF1Binary,
  anyLossF1Macro,
  anyLossTfjs,
  diceLossTfjs,
  oneHot,
  runner,
  tverskyLossTfjs,
  useTfjsBackend,
  type TfjsRunner,
} from '../bench/tfjs-anyloss';
import {
  circleLossTfjs,
  contrastiveTfjs,
  ntXentTfjs,
  orthogonalProjectionTfjs,
  supConTfjs,
  tripletBatchHardTfjs,
} from '../bench/tfjs-gpw';
import { multiSimilarityTfjs } from '../bench/tfjs-pairs';
import {
  lambdaLossTfjs,
  listMLETfjs,
  listNetTfjs,
  plackettLuceDistillTfjs,
  rankListTfjs,
  rankNetTfjs,
  pairwiseHingeTfjs,
  approxNDCGTfjs,
  neuralNDCGTfjs,
  type LambdaTfjsOptions,
} from '../bench/tfjs-ranking';
import { sigmoidFocalTfjs, softmaxCrossEntropyTfjs, sphericalLossTfjs, zLossTfjs } from '../bench/tfjs-spherical';
import { gradError, randomBinaryLabels, randomClassLabels, randomScores, relError } from './helpers';
import { TFJS_CASES, type TfjsCase } from './tfjs.cases';

function tensors(c: TfjsCase) {
  const yPred = tf.tensor(c.pred, c.predShape, 'float32');
  const yTrue = c.truth && tf.tensor(c.truth, c.truthShape, c.truth instanceof Int32Array ? 'int32' : 'float32');
  const teacher = c.teacher && tf.tensor(c.teacher, c.predShape, 'float32');
  return { yPred, yTrue, teacher };
}

function callOp(c: TfjsCase, yTrue: tf.Tensor | null, yPred: tf.Tensor, teacher?: tf.Tensor): tf.Tensor {
  if (c.loss === 'plackettLuceDistill') return ops.plackettLuceDistill(yTrue!, yPred, teacher!, c.options);
  if (c.loss === 'ntXent') return ops.ntXent(yTrue, yPred, c.options);
  return (ops[c.loss] as (t: tf.Tensor, p: tf.Tensor, o: object) => tf.Tensor)(yTrue!, yPred, c.options);
}

const lossArray = (l: number | Float32Array): Float32Array => (typeof l === 'number' ? Float32Array.of(l) : l);

/** A loss composed from tfjs ops in bench/ (differentiated by tfjs itself) and the op it must agree with. */
interface Composed {
  /** Starts with the op's name (the coverage check reads it). */
  name: string;
  composition: () => TfjsRunner;
  yPred: () => tf.Tensor;
  yTrue: () => tf.Tensor;
  op: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;
}

type Op = Composed['op'];
const tensorOf = (v: Float32Array | Int32Array, shape: number[]) => () =>
  tf.tensor(v, shape, v instanceof Int32Array ? 'int32' : 'float32');

const COMPOSED: Composed[] = [];
/** Adds the losses of one (yPred, yTrue) pair: [name, composition, op] each. */
function compose(
  pred: [Float32Array, number[]],
  truth: [Float32Array | Int32Array, number[]],
  losses: Array<[string, () => TfjsRunner, Op]>,
): void {
  for (const [name, composition, op] of losses) {
    COMPOSED.push({ name, composition, op, yPred: tensorOf(...pred), yTrue: tensorOf(...truth) });
  }
}

{
  const s = randomScores(64, 21, 2);
  const y = randomBinaryLabels(64, 22, 0.4);
  compose(
    [s, [64]],
    [y, [64]],
    [
      ['anyLoss f1 (binary)', () => anyLossF1Binary(s, y), (y, p) => ops.anyLoss(y, p, { metric: 'f1' })],
      ['diceLoss (binary)', () => diceLossTfjs(s, y), (y, p) => ops.diceLoss(y, p)],
      [
        'tverskyLoss per-example (binary)',
        () => tverskyLossTfjs(s, y, { alpha: 0.7, beta: 0.3, mode: 'per-example' }),
        (y, p) => ops.tverskyLoss(y, p, { alpha: 0.7, beta: 0.3, mode: 'per-example' }),
      ],
      ['sigmoidFocal', () => sigmoidFocalTfjs(s, y), (y, p) => ops.sigmoidFocal(y, p)],
      [
        'sigmoidFocal gamma 1.5, alpha 0.6',
        () => sigmoidFocalTfjs(s, y, 1.5, 0.6),
        (y, p) => ops.sigmoidFocal(y, p, { gamma: 1.5, alpha: 0.6 }),
      ],
    ],
  );
  // Scores near 0 so that the softmax puts p near 1/2 for some cells, where AnyLoss's yhat has a gradient.
  const rows = 40,
    C = 4;
  const m = randomScores(rows * C, 33, 0.5);
  const my = randomClassLabels(rows, C, 34);
  const dice = { alpha: 0.3, squareDenominator: true };
  compose(
    [m, [rows, C]],
    [my, [rows]],
    [
      ['anyLoss macro f1', () => anyLossF1Macro(m, my, C), (y, p) => ops.anyLoss(y, p)],
      [
        'anyLoss macro mcc',
        () => anyLossTfjs(m, my, { classes: C, metric: 'mcc' }),
        (y, p) => ops.anyLoss(y, p, { metric: 'mcc', average: 'macro' }),
      ],
      [
        'anyLoss micro jaccard',
        () => anyLossTfjs(m, my, { classes: C, metric: 'jaccard', average: 'micro', amplifier: 10 }),
        (y, p) => ops.anyLoss(y, p, { metric: 'jaccard', average: 'micro', amplifier: 10 }),
      ],
      [
        'diceLoss multi-class self-adjusting, squared',
        () => diceLossTfjs(m, my, { classes: C, ...dice }),
        (y, p) => ops.diceLoss(y, p, dice),
      ],
      [
        'diceLoss multi-class per-example',
        () => diceLossTfjs(m, my, { classes: C, mode: 'per-example', smooth: 0.5 }),
        (y, p) => ops.diceLoss(y, p, { mode: 'per-example', smooth: 0.5 }),
      ],
      [
        'tverskyLoss multi-class',
        () => tverskyLossTfjs(m, my, { classes: C, alpha: 0.3, beta: 0.7 }),
        (y, p) => ops.tverskyLoss(y, p, { alpha: 0.3, beta: 0.7 }),
      ],
    ],
  );
  // linearCrossEntropy: d/d hidden against tfjs autodiff of matMul + bias + softmax cross-entropy
  // (d/d weight and d/d bias: test/tfjs.linear.test.ts).
  const hidden = randomScores(32 * 5, 25, 1),
    weight = randomScores(12 * 5, 26, 1),
    bias = randomScores(12, 27, 1),
    ht = randomClassLabels(32, 12, 28);
  compose(
    [hidden, [32, 5]],
    [ht, [32]],
    [
      [
        'linearCrossEntropy',
        () => {
          const [w, b, y] = [tf.tensor2d(weight, [12, 5]), tf.tensor1d(bias), oneHot(ht, 12)];
          const x = tf.tensor2d(hidden, [32, 5]);
          return runner(
            x,
            [w, b, y],
            (h) => tf.losses.softmaxCrossEntropy(y, h.matMul(w, false, true).add(b)) as tf.Scalar,
          );
        },
        (y, p) => tf.tidy(() => ops.linearCrossEntropy(y, p, tf.tensor2d(weight, [12, 5]), tf.tensor1d(bias))),
      ],
    ],
  );
  const logits = randomScores(32 * 12, 23, 3);
  const t = randomClassLabels(32, 12, 24);
  compose(
    [logits, [32, 12]],
    [t, [32]],
    [
      ['softmaxCrossEntropy', () => softmaxCrossEntropyTfjs(logits, t, 12), (y, p) => ops.softmaxCrossEntropy(y, p)],
      ['zLoss', () => zLossTfjs(logits, t, 12), (y, p) => ops.zLoss(y, p)],
      ...(['mse', 'log-spherical-softmax', 'log-taylor-softmax'] as const).map(
        (kind): [string, () => TfjsRunner, Op] => [
          `sphericalLoss ${kind}`,
          () => sphericalLossTfjs(logits, t, 12, kind),
          (y, p) => ops.sphericalLoss(y, p, { kind }),
        ],
      ),
      [
        'sphericalLoss log-spherical-softmax eps 0.1',
        () => sphericalLossTfjs(logits, t, 12, 'log-spherical-softmax', 0.1),
        (y, p) => ops.sphericalLoss(y, p, { kind: 'log-spherical-softmax', eps: 0.1 }),
      ],
    ],
  );
  const student = randomScores(10 * 7, 35, 2);
  const teacher = randomScores(10 * 7, 36, 2);
  const studentY = randomClassLabels(10, 7, 37);
  compose(
    [student, [10, 7]],
    [studentY, [10]],
    [
      ...[4, 1].map((tau): [string, () => TfjsRunner, Op] => [
        `plackettLuceDistill tau ${tau}`,
        () => plackettLuceDistillTfjs(student, teacher, studentY, 7, tau),
        (y, p) => ops.plackettLuceDistill(y, p, tf.tensor2d(teacher, [10, 7]), { tau }),
      ]),
    ],
  );
  const emb = randomScores(40 * 6, 25);
  const ey = randomClassLabels(40, 5, 26);
  compose(
    [emb, [40, 6]],
    [ey, [40]],
    [['multiSimilarity', () => multiSimilarityTfjs(emb, ey, 6), ops.multiSimilarity]],
  );
  const pairEmb = randomScores(48 * 5, 29);
  const pairY = randomClassLabels(48, 6, 30);
  const gpw: Array<[string, (x: Float32Array, y: Int32Array, d: number) => TfjsRunner, Op]> = [
    ['contrastive', contrastiveTfjs, ops.contrastive],
    ['tripletBatchHard', tripletBatchHardTfjs, ops.tripletBatchHard],
    ['circleLoss', circleLossTfjs, ops.circleLoss],
    ['supCon', supConTfjs, ops.supCon],
    ['ntXent', ntXentTfjs, ops.ntXent],
    ['orthogonalProjection', orthogonalProjectionTfjs, ops.orthogonalProjection],
  ];
  compose(
    [pairEmb, [48, 5]],
    [pairY, [48]],
    gpw.map(([name, composition, op]) => [name, () => composition(pairEmb, pairY, 5), op]),
  );
  const bce = randomScores(6 * 7, 31, 2);
  const bceY = randomBinaryLabels(6 * 7, 32);
  compose(
    [bce, [6, 7]],
    [bceY, [6, 7]],
    [
      [
        'binaryCrossEntropy',
        () => {
          const y = tf.tensor2d(bceY, [6, 7]);
          return runner(tf.tensor2d(bce, [6, 7]), [y], (xs) => tf.losses.sigmoidCrossEntropy(y, xs) as tf.Scalar);
        },
        ops.binaryCrossEntropy,
      ],
    ],
  );
  // Distinct relevance in every list, so the relevance order the composition takes is unique.
  const lists = 5,
    n = 9;
  const scores = randomScores(lists * n, 27, 2);
  const rel = new Float32Array(lists * n);
  const order = new Int32Array(lists * n);
  const pick = randomClassLabels(lists * n, 1 << 20, 28);
  for (let l = 0; l < lists; l++) {
    const items = Array.from({ length: n }, (_, i) => i).sort((a, b) => pick[l * n + a] - pick[l * n + b]);
    items.forEach((item, rank) => {
      rel[l * n + item] = n - rank;
      order[l * n + rank] = item;
    });
  }
  compose(
    [scores, [lists, n]],
    [rel, [lists, n]],
    [
      ['listMLE', () => listMLETfjs(scores, order, lists, n), ops.listMLE],
      ['rankList', () => rankListTfjs(scores, order, lists, n), ops.rankList],
    ],
  );
  // Graded relevance 0 to 3 with ties, as the pairwise losses and NDCG weights usually see it.
  const graded = Float32Array.from(randomClassLabels(lists * n, 4, 38));
  const lambda: LambdaTfjsOptions[] = [
    {},
    { scheme: 'lambdaRank' },
    { scheme: 'ndcgLoss2' },
    { scheme: 'ndcgLoss2PP', mu: 5 },
    { scheme: 'ndcgLoss1' },
    { scheme: 'lambdaRank', k: 5, reduction: 'mean', sigma: 2 },
    { scheme: 'lambdaRank', normalize: false },
  ];
  compose(
    [scores, [lists, n]],
    [graded, [lists, n]],
    [
      ['listNet', () => listNetTfjs(scores, graded, lists, n), ops.listNet],
      [
        'listNet temperature 2',
        () => listNetTfjs(scores, graded, lists, n, 2),
        (y, p) => ops.listNet(y, p, { temperature: 2 }),
      ],
      ['rankNet', () => rankNetTfjs(scores, graded, lists, n), ops.rankNet],
      [
        'rankNet label-diff-squared, sigma 2',
        () => rankNetTfjs(scores, graded, lists, n, { sigma: 2, weighting: 'label-diff-squared' }),
        (y, p) => ops.rankNet(y, p, { sigma: 2, weighting: 'label-diff-squared' }),
      ],
      ['pairwiseHinge', () => pairwiseHingeTfjs(scores, graded, lists, n), ops.pairwiseHinge],
      [
        'pairwiseHinge margin 0.5, over pairs',
        () => pairwiseHingeTfjs(scores, graded, lists, n, { margin: 0.5, normalizeBy: 'pairs' }),
        (y, p) => ops.pairwiseHinge(y, p, { margin: 0.5, normalizeBy: 'pairs' }),
      ],
      ['approxNDCG', () => approxNDCGTfjs(scores, graded, lists, n), ops.approxNDCG],
      [
        'approxNDCG temperature 1',
        () => approxNDCGTfjs(scores, graded, lists, n, 1),
        (y, p) => ops.approxNDCG(y, p, { temperature: 1 }),
      ],
      // tol 0: Sinkhorn runs every one of its maxIter steps, as the composition does.
      ['neuralNDCG', () => neuralNDCGTfjs(scores, graded, lists, n), (y, p) => ops.neuralNDCG(y, p, { tol: 0 })],
      [
        'neuralNDCG temperature 0.3, 10 steps',
        () => neuralNDCGTfjs(scores, graded, lists, n, 0.3, 10),
        (y, p) => ops.neuralNDCG(y, p, { temperature: 0.3, maxIter: 10, tol: 0 }),
      ],
      ...lambda.map((o): [string, () => TfjsRunner, Op] => [
        `lambdaLoss ${JSON.stringify(o)}`,
        () => lambdaLossTfjs(scores, graded, lists, n, o),
        (y, p) => ops.lambdaLoss(y, p, o),
      ]),
    ],
  );
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`tfjs '${backend}' backend`, () => {
    beforeAll(() => useTfjsBackend(backend));
    it('runs on that backend', () => expect(tf.getBackend()).toBe(backend));

    for (const c of TFJS_CASES) {
      it(`${c.name}: value and tf.grad equal the fused call`, () => {
        const direct = c.direct();
        const { yPred, yTrue, teacher } = tensors(c);
        const before = tf.memory().numTensors;
        const [value, grad] = tf.tidy(() => {
          const v = callOp(c, yTrue, yPred, teacher);
          // A per-row loss is summed with weights 1..rows, so dy differs from row to row.
          const weights = v.rank === 0 ? tf.scalar(1) : tf.range(1, v.size + 1);
          const g = tf.grad((p: tf.Tensor) => callOp(c, yTrue, p, teacher).mul(weights).sum())(yPred);
          return [v, g];
        });
        const want = lossArray(direct.loss);
        const got = value.dataSync() as Float32Array;
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(relError(v, want[i])).toBeLessThan(1e-6));
        const rows = want.length;
        const per = direct.grad.length / rows;
        const wantGrad = direct.grad.map((g, k) => (rows === 1 ? g : g * (Math.floor(k / per) + 1)));
        expect(gradError(grad.dataSync() as Float32Array, wantGrad)).toBeLessThan(1e-6);
        tf.dispose([value, grad]);
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([yPred, yTrue ?? [], teacher ?? []]);
      });
    }

    for (const k of COMPOSED) {
      it(`${k.name}: tf.grad equals tfjs autodiff of the composed loss`, () => {
        const r = k.composition();
        const want = r.result();
        r.dispose();
        const x = k.yPred();
        const y = k.yTrue();
        const { value, grad } = tf.tidy(() => tf.valueAndGrad((p: tf.Tensor) => k.op(y, p) as tf.Scalar)(x));
        expect(relError(value.dataSync()[0], want.loss)).toBeLessThan(1e-4);
        expect(gradError(grad.dataSync() as Float32Array, want.grad)).toBeLessThan(1e-4);
        tf.dispose([x, y, value, grad]);
      });
    }
  });
}

describe('autodiff agreement', () => {
  it('composes every op', () => {
    // The proxy losses' two differentiable inputs are held to tfjs autodiff in test/proxy.tfjs.test.ts.
    const covered = new Set([...COMPOSED.map((k) => k.name.split(' ')[0]), 'proxyAnchor', 'proxyNCA']);
    expect(Object.keys(ops).filter((name) => !covered.has(name))).toEqual([]);
  });
});

describe('registerFusedKernels', () => {
  afterAll(() => useTfjsBackend('cpu'));
  it('is idempotent and makes every loss a kernel runKernel can call, returning [loss, grad]', async () => {
    await useTfjsBackend('cpu');
    registerFusedKernels();
    registerFusedKernels();
    const c = TFJS_CASES.find((k) => k.loss === 'zLoss')!;
    const { yPred, yTrue } = tensors(c);
    const out = tf.engine().runKernel('FusedLossZLoss', { yPred, yTrue: yTrue! }, {
      op: 'zLoss',
      layout: { options: { classes: 10 }, classIds: true, lossShape: [] },
    } as never) as tf.Tensor[];
    const direct = c.direct();
    expect(out).toHaveLength(2);
    expect(relError(out[0].dataSync()[0], direct.loss as number)).toBeLessThan(1e-6);
    expect(gradError(out[1].dataSync() as Float32Array, direct.grad)).toBe(0);
    tf.dispose([...out, yPred, yTrue!]);
  });
});

describe('ops argument errors', () => {
  it('name the argument', () => {
    const p = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), tf.tensor1d([1, 2], 'int32'))).toThrow(
      /ops\.zLoss: yPred must be a float32 tensor, got int32/,
    );
    expect(() => ops.zLoss([0, 1] as never, p)).toThrow(/ops\.zLoss: yTrue must be a tf\.Tensor/);
    expect(() => ops.zLoss(tf.tensor1d([0.5, 1]), p)).toThrow(/yTrue\[0\] = 0\.5 is not a class id/);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), tf.tensor1d([1, 2]))).toThrow(/shape \[rows, classes\]/);
    expect(() => ops.zLoss(tf.tensor1d([0, 1], 'int32'), p, { out: new Float32Array(4) } as never)).toThrow(
      /options\.out is not supported/,
    );
    expect(() => ops.zLoss(tf.tensor1d([0, 5], 'int32'), p)).toThrow(RangeError);
  });
});

// Issue 23: the ops take (yTrue, yPred), the core functions (scores, labels); an op's errors name
// the op's arguments, and a one-hot yTrue given to an op that takes class ids says to pass ids.
describe('ops errors name yTrue and yPred', () => {
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  };

  it('a swapped binary call: the logits read as yTrue', () => {
    const logits = tf.tensor1d([2.1, -0.3, 0.7]);
    const labels = tf.tensor1d([1, 0, 1]);
    for (const f of [() => ops.binaryCrossEntropy(logits, labels), () => ops.anyLoss(logits, labels)]) {
      expect(f).toThrow(/^ops\.\w+: yTrue\[0\] = 2\.09\d* is out of range/);
      expect(code(f)).toBe('ERR_FUSEDLOSS_INVALID_ARG_VALUE');
    }
    expect(() =>
      ops.softmaxCrossEntropy(
        tf.tensor1d([2, 7], 'int32'),
        tf.tensor2d([
          [1, 2, 3],
          [0, 1, 0],
        ]),
      ),
    ).toThrow(/^ops\.softmaxCrossEntropy: yTrue\[1\] = 7 is out of range/);
    tf.dispose([logits, labels]);
  });

  it('a one-hot yTrue for class ids is refused, saying to pass class ids', () => {
    const logits = tf.tensor2d([
      [1, 2, 3],
      [0, 1, 0],
    ]);
    const oneHot = tf.oneHot(tf.tensor1d([2, 1], 'int32'), 3);
    for (const f of [
      () => ops.softmaxCrossEntropy(oneHot, logits),
      () => ops.zLoss(oneHot, logits),
      () => ops.anyLoss(oneHot, logits),
    ]) {
      expect(f).toThrow(RangeError);
      expect(f).toThrow(/yTrue has shape \[2, 3\], yPred \[2, 3\]; .*one class id per row.*pass class ids/);
      expect(code(f)).toBe('ERR_FUSEDLOSS_LENGTH_MISMATCH');
    }
    tf.dispose([logits, oneHot]);
  });

  it('sizes that do not fit name both shapes', () => {
    const scores = tf.tensor2d([[1, 0, 2]]);
    expect(() => ops.listMLE(tf.tensor2d([[1, 0]]), scores)).toThrow(
      /^ops\.listMLE: yTrue has shape \[1, 2\] and yPred \[1, 3\]; yTrue needs one label per element/,
    );
    const emb = tf.tensor2d([
      [1, 0, 1, 1],
      [0, 1, 1, 2],
    ]);
    expect(() => ops.multiSimilarity(tf.tensor1d([0, 0, 1, 1], 'int32'), emb)).toThrow(
      /^ops\.multiSimilarity: yTrue has shape \[4\], yPred \[2, 4\]; yTrue must hold one class id per row of yPred, shape \[2\]/,
    );
    tf.dispose([scores, emb]);
  });
});
