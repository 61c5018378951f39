// The margin heads of linearCrossEntropy (formulas J.2: ArcFace, CosFace, sub-center ArcFace): the
// float64 reference against finite differences and hand-derived values; every native backend
// (cpu, cuda-sim or cuda, wasm when built) against the reference at odd sizes with ignored rows,
// row and class weights, smoothing and every reduction; and the refused combinations.
import { describe, expect, it } from 'vitest';
import {
  backends,
  getThreads,
  linearCrossEntropy,
  linearCrossEntropyAsync,
  setThreads,
  type Backend,
  type MarginOptions,
} from '../src';
import { referenceMarginCrossEntropy, type LinearRefParams, type MarginRefParams } from '../src/reference/linear';
import {
  expectError,
  finiteDifferences,
  gpuBackends,
  gradError,
  randomClassLabels,
  randomScores,
  randomWeights,
  relError,
} from './helpers';
import { inputs, type LinearCase, type LinearOut } from './linear.fixtures';

const refMargin = (m: MarginOptions): MarginRefParams => ({
  kind: m.kind,
  scale: m.s ?? 64,
  margin: m.m ?? (m.kind === 'arcface' ? 0.5 : 0.35),
  subCenters: m.subCenters ?? 1,
  easyMargin: m.easyMargin ?? false,
});

/** `got` against the float64 margin reference, with the tolerances of the plain head's suites. */
function expectMarginReference(c: LinearCase, x: ReturnType<typeof inputs>, got: LinearOut): void {
  const o = c.options;
  const p: Omit<LinearRefParams, 'softcap'> = {
    ignoreIndex: o.ignoreIndex ?? -100,
    labelSmoothing: o.labelSmoothing ?? 0,
    lseSquareScale: o.lseSquareScale ?? 0,
    reduction: o.reduction ?? 'mean',
  };
  const f32 = (v: unknown) => (v === undefined ? undefined : Float32Array.from(v as ArrayLike<number>));
  const ref = referenceMarginCrossEntropy(
    { ...x, dim: c.D, weights: f32(o.weights), classWeights: f32(o.classWeights) },
    p,
    refMargin(o.margin!),
  );
  if (p.reduction === 'none') expect(gradError(got.loss as Float32Array, ref.rowLoss), 'row losses').toBeLessThan(1e-5);
  else {
    const loss = got.loss as number;
    const err = Math.abs(ref.loss) > 1e-6 ? relError(loss, ref.loss) : Math.abs(loss - ref.loss);
    expect(err, `loss ${loss} vs ${ref.loss}`).toBeLessThan(1e-5);
  }
  expect(gradError(got.gradHidden, ref.gradHidden), 'gradHidden').toBeLessThan(1e-4);
  expect(gradError(got.gradWeight, ref.gradWeight), 'gradWeight').toBeLessThan(1e-4);
  expect(got.gradBias).toBeUndefined();
  if (o.returnLse) expect(gradError(got.lse!, ref.lse), 'lse').toBeLessThan(1e-5);
}

const MARGIN_SETS: Record<string, (B: number, C: number) => LinearCase['options']> = {
  arcface: (B, C) => ({
    margin: { kind: 'arcface' },
    weights: randomWeights(B, 11),
    classWeights: randomWeights(C, 12),
    ignoreIndex: -1,
  }),
  cosface: (_B, C) => ({
    margin: { kind: 'cosface', s: 30 },
    labelSmoothing: 0.1,
    classWeights: randomWeights(C, 13),
    reduction: 'sum',
  }),
  easy: (B) => ({
    margin: { kind: 'arcface', s: 16, m: 0.3, easyMargin: true },
    weights: randomWeights(B, 14),
    ignoreIndex: -1,
    reduction: 'none',
    lseSquareScale: 1e-3,
    returnLse: true,
  }),
  wide: () => ({ margin: { kind: 'arcface', s: 8, m: 1.4 }, labelSmoothing: 0.05, ignoreIndex: -1 }),
};

const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 33, 1],
  [1, 7, 33],
  [33, 7, 1031],
  [1031, 7, 33],
  [7, 1031, 33],
  [33, 33, 1031],
];

const CASES: LinearCase[] = SIZES.flatMap(([B, D, C], k) => {
  const names = Object.keys(MARGIN_SETS);
  return [0, 1].map((j) => {
    const set = names[(2 * k + j) % names.length];
    return { name: `B ${B}, D ${D}, C ${C}, ${set}`, B, D, C, options: MARGIN_SETS[set](B, C) };
  });
});

function check(c: LinearCase, backend: Backend) {
  const x = inputs(c);
  expectMarginReference(c, x, linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, dim: c.D, backend }));
}

describe('margin heads: the float64 reference', () => {
  const B = 5,
    D = 3,
    C = 4;
  const hidden = Float64Array.from(randomScores(B * D, 1));
  const targets = randomClassLabels(B, C, 4);
  targets[2] = -1;
  const p: Omit<LinearRefParams, 'softcap'> = {
    ignoreIndex: -1,
    labelSmoothing: 0.1,
    lseSquareScale: 0.01,
    reduction: 'mean',
  };
  const heads: [string, MarginRefParams][] = [
    ['arcface', { kind: 'arcface', scale: 4, margin: 0.5, subCenters: 1, easyMargin: false }],
    ['arcface past the threshold', { kind: 'arcface', scale: 3, margin: 1.5, subCenters: 1, easyMargin: false }],
    ['arcface easy margin', { kind: 'arcface', scale: 4, margin: 0.5, subCenters: 1, easyMargin: true }],
    ['cosface', { kind: 'cosface', scale: 5, margin: 0.35, subCenters: 1, easyMargin: false }],
    ['sub-center arcface, k 3', { kind: 'arcface', scale: 4, margin: 0.5, subCenters: 3, easyMargin: false }],
  ];
  for (const [name, mp] of heads) {
    it(`matches finite differences: ${name}`, () => {
      const weight = Float64Array.from(randomScores(C * mp.subCenters * D, 2));
      const pb = { hidden, weight, targets, dim: D, weights: randomWeights(B, 5), classWeights: randomWeights(C, 6) };
      const r = referenceMarginCrossEntropy(pb, p, mp);
      const f = (q: { hidden: ArrayLike<number>; weight: ArrayLike<number> }) =>
        referenceMarginCrossEntropy({ ...pb, ...q }, p, mp).loss;
      const fh = finiteDifferences((v) => f({ ...pb, hidden: v }), hidden, 1e-6);
      const fw = finiteDifferences((v) => f({ ...pb, weight: v }), weight, 1e-6);
      expect(gradError(r.gradHidden, fh)).toBeLessThan(1e-6);
      expect(gradError(r.gradWeight, fw)).toBeLessThan(1e-6);
      expect(r.gradHidden.some((v) => v !== 0)).toBe(true);
    });
  }

  it('hand-derived values on one row', () => {
    // hidden [3, 4] (unit [0.6, 0.8]) against classes [1, 0] and [0, 2] (unit axes): cos 0.6 and
    // 0.8; target 0. Two-class cross-entropy = log(1 + exp(s (cos_1 - psi))).
    const pb = { hidden: [3, 4], weight: [1, 0, 0, 2], targets: [0], dim: 2 };
    const q = { ignoreIndex: -100, labelSmoothing: 0, lseSquareScale: 0, reduction: 'mean' as const };
    const loss = (mp: Partial<MarginRefParams>) =>
      referenceMarginCrossEntropy(pb, q, {
        kind: 'arcface',
        scale: 2,
        margin: 0.5,
        subCenters: 1,
        easyMargin: false,
        ...mp,
      }).loss;
    const arc = 0.6 * Math.cos(0.5) - 0.8 * Math.sin(0.5); // cos(theta + m), theta = acos 0.6
    expect(loss({})).toBeCloseTo(Math.log1p(Math.exp(2 * (0.8 - arc))), 12);
    expect(loss({ kind: 'cosface', margin: 0.35 })).toBeCloseTo(Math.log1p(Math.exp(2 * (0.8 - 0.25))), 12);
    // hidden [-3, 4]: cos -0.6, theta 2.214 > pi - 1.5: past insightface's threshold, psi = cos - m sin m.
    const past = referenceMarginCrossEntropy({ ...pb, hidden: [-3, 4] }, q, {
      kind: 'arcface',
      scale: 2,
      margin: 1.5,
      subCenters: 1,
      easyMargin: false,
    });
    expect(past.loss).toBeCloseTo(Math.log1p(Math.exp(2 * (0.8 - (-0.6 - 1.5 * Math.sin(1.5))))), 12);
    // Sub-centres: class 0 as [1, 0] and [0.6, 0.8] (cos 0.6 and 1), class 1 as [0, 2] and [-1, 0].
    const sub = referenceMarginCrossEntropy({ ...pb, weight: [1, 0, 0.6, 0.8, 0, 2, -1, 0] }, q, {
      kind: 'cosface',
      scale: 2,
      margin: 0.35,
      subCenters: 2,
      easyMargin: false,
    });
    expect(sub.loss).toBeCloseTo(Math.log1p(Math.exp(2 * (0.8 - 0.65))), 12);
    expect(sub.gradWeight.slice(0, 2)).toEqual(new Float64Array(2)); // not the argmax: no gradient
  });

  it('the js backend takes C k weight rows with sub-centres', () => {
    const x = { hidden: randomScores(14, 1), weight: randomScores(3 * 2 * 7, 2), targets: new Int32Array([0, 1]) };
    const o = { margin: { kind: 'arcface' as const, subCenters: 3 }, dim: 7 };
    const r = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...o, backend: 'js' });
    expect(r.gradWeight.length).toBe(42);
  });
});

/** Sub-center cases: weight has C k rows; ignored rows, row and class weights. */
const SUB_CASES: (LinearCase & { k: number })[] = [
  [1, 1, 1, 2],
  [7, 33, 1, 3],
  [1, 7, 33, 2],
  [33, 7, 33, 3],
  [7, 1, 33, 2],
  [33, 33, 7, 3],
  [33, 7, 101, 2], // 48 classes a tile at k 2: three class tiles
  [7, 7, 5, 64], // one class a tile
  [7, 33, 7, 1], // k 1 through the sub-centre option
  [7, 7, 1031, 3], // 21 classes a 64-row CUDA tile, 32 a 96-row CPU tile: many class tiles
].map(([B, D, C, k], i) => ({
  name: `B ${B}, D ${D}, C ${C}, k ${k}`,
  B,
  D,
  C,
  k,
  options:
    i % 2 === 0
      ? {
          margin: { kind: 'arcface', s: 8, subCenters: k },
          weights: randomWeights(B, 21),
          classWeights: randomWeights(C, 22),
          ignoreIndex: -1,
          labelSmoothing: 0.1,
        }
      : {
          margin: { kind: 'cosface', s: 16, subCenters: k },
          weights: randomWeights(B, 23),
          ignoreIndex: -1,
          reduction: 'none',
          returnLse: true,
        },
}));

function subInputs(c: LinearCase & { k: number }) {
  const x = inputs(c);
  return { ...x, weight: Float32Array.from(randomScores(c.C * c.k * c.D, 5, 1 / Math.sqrt(c.D))) };
}

function checkSub(c: LinearCase & { k: number }, backend: Backend) {
  const x = subInputs(c);
  expectMarginReference(c, x, linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, dim: c.D, backend }));
}

function checkTies(backend: Backend) {
  // Every class's sub-centres 0 and 1 equal: the first takes the class's gradient, the second none.
  const c = SUB_CASES[3],
    x = subInputs(c),
    { D, k } = c;
  for (let j = 0; j < c.C * k; j += k) x.weight.copyWithin((j + 1) * D, j * D, (j + 1) * D);
  const r = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, dim: D, backend });
  expectMarginReference(c, x, r);
  for (let j = 0; j < c.C * k; j += k) {
    expect(r.gradWeight.subarray((j + 1) * D, (j + 2) * D).every((v) => v === 0)).toBe(true);
    expect(r.gradWeight.subarray(j * D, (j + 1) * D).some((v) => v !== 0)).toBe(true);
  }
}

describe.skipIf(!backends().cpu.available)('sub-center ArcFace on the CPU', () => {
  for (const c of SUB_CASES) it(c.name, () => checkSub(c, 'cpu'));
  it('ties go to the first sub-centre, as the reference', () => checkTies('cpu'));
  it('gives the same bits on 1, 2 and 3 threads', () => {
    const c = { ...SUB_CASES[6], B: 200 },
      x = subInputs(c);
    const o = { ...c.options, weights: randomWeights(c.B, 24), dim: c.D, backend: 'cpu' as const };
    const before = getThreads();
    try {
      const runs = [1, 2, 3].map((n) => {
        setThreads(n);
        return linearCrossEntropy(x.hidden, x.weight, x.targets, o);
      });
      expect(runs[1]).toEqual(runs[0]);
      expect(runs[2]).toEqual(runs[0]);
    } finally {
      setThreads(before);
    }
  });
  it("'auto' runs it", () => {
    const c = SUB_CASES[3],
      x = subInputs(c);
    const o = { ...c.options, dim: c.D };
    expect(linearCrossEntropy(x.hidden, x.weight, x.targets, o)).toEqual(
      linearCrossEntropy(x.hidden, x.weight, x.targets, { ...o, backend: 'cpu' }),
    );
  });
});

describe.skipIf(!backends().cpu.available)('margin heads on the CPU', () => {
  for (const c of CASES) it(c.name, () => check(c, 'cpu'));

  it('every row ignored: loss 0, zero gradients', () => {
    const c: LinearCase = { name: '', B: 33, D: 7, C: 33, options: { margin: { kind: 'arcface' }, ignoreIndex: -1 } };
    const x = inputs(c);
    x.targets.fill(-1);
    const r = linearCrossEntropy(x.hidden, x.weight, x.targets, { ...c.options, backend: 'cpu' });
    expect(r.loss).toBe(0);
    expect(r.gradHidden.every((v) => v === 0) && r.gradWeight.every((v) => v === 0)).toBe(true);
  });

  it('the async twin gives the same bits', async () => {
    const c = CASES[CASES.length - 1];
    const x = inputs(c);
    const o = { ...c.options, dim: c.D, backend: 'cpu' as const };
    expect(await linearCrossEntropyAsync(x.hidden, x.weight, x.targets, o)).toEqual(
      linearCrossEntropy(x.hidden, x.weight, x.targets, o),
    );
  });

  it('is invariant to the rows’ norms (it normalises them)', () => {
    const c = CASES.find((k) => k.B === 33 && k.D === 33)!;
    const x = inputs(c);
    const o = { ...c.options, dim: c.D, backend: 'cpu' as const };
    const a = linearCrossEntropy(x.hidden, x.weight, x.targets, o);
    const b = linearCrossEntropy(
      x.hidden.map((v) => v * 7),
      x.weight.map((v) => v / 3),
      x.targets,
      o,
    );
    expect(relError(b.loss as number, a.loss as number)).toBeLessThan(1e-5);
  });
});

for (const { backend, skip } of gpuBackends()) {
  describe.skipIf(skip)(`margin heads on ${backend}${skip ? ` (${skip})` : ''}`, () => {
    // The simulator runs a fiber per thread: the cases up to 33 x 7 x 1031.
    for (const c of CASES.filter((k) => backend === 'cuda' || k.B * k.C * Math.max(k.D, 16) <= 600_000))
      it(c.name, () => check(c, backend));
    for (const c of SUB_CASES) it(`sub-center: ${c.name}`, () => checkSub(c, backend));
    it('sub-center: ties go to the first sub-centre, as the reference', () => checkTies(backend));
  });
}

const wasm = backends().wasm;
describe.skipIf(!wasm.available)(`margin heads on wasm${wasm.available ? '' : ` (skipped: ${wasm.reason})`}`, () => {
  for (const c of CASES.filter((k) => k.B * k.C * k.D <= 2_000_000)) it(c.name, () => check(c, 'wasm'));
});

describe.skipIf(!wasm.available)(
  `sub-center ArcFace on wasm${wasm.available ? '' : ` (skipped: ${wasm.reason})`}`,
  () => {
    for (const c of SUB_CASES) it(c.name, () => checkSub(c, 'wasm'));
    it('ties go to the first sub-centre, as the reference', () => checkTies('wasm'));
  },
);

describe('margin heads: refused options', () => {
  const h = randomScores(6, 1),
    w = randomScores(9, 2),
    t = new Int32Array([0, 2]);
  const call = (o: Record<string, unknown>) => () => linearCrossEntropy(h, w, t, { dim: 3, backend: 'js', ...o });
  const E = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE';
  it('names what is wrong', () => {
    expectError(call({ margin: { kind: 'arcface' }, bias: [0, 0, 0] }), RangeError, E, 'bias', 'margin');
    expectError(call({ margin: { kind: 'cosface' }, softcap: 30 }), RangeError, E, 'softcap', 'margin');
    expectError(call({ margin: { s: 30 } }), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'margin.kind');
    expectError(call({ margin: { kind: 'sphereface' } }), RangeError, E, 'margin.kind');
    expectError(call({ margin: { kind: 'arcface', m: 1.7 } }), RangeError, E, 'margin.m', 'pi/2');
    expectError(call({ margin: { kind: 'arcface', s: 0 } }), RangeError, E, 'margin.s');
    expectError(call({ margin: { kind: 'cosface', easyMargin: true } }), RangeError, E, 'easyMargin');
    expectError(call({ margin: { kind: 'arcface', subCenters: 1.5 } }), RangeError, E, 'subCenters');
    expectError(call({ margin: { kind: 'arcface', scale: 3 } }), TypeError, 'ERR_FUSEDLOSS_UNKNOWN_OPTION', 'scale');
    expectError(call({ margin: 'arcface' }), TypeError, 'ERR_FUSEDLOSS_INVALID_ARG_TYPE', 'options.margin');
    expectError(
      call({ margin: { kind: 'arcface', subCenters: 2 } }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'subCenters 2',
    );
    const zero = Float32Array.from(h),
      zeroW = Float32Array.from(w);
    zero.fill(0, 3, 6);
    zeroW.fill(0, 6, 9);
    const native = gpuBackends()
      .filter((b) => !b.skip)
      .map((b) => b.backend);
    for (const backend of ['js', ...(backends().cpu.available ? ['cpu'] : []), ...native] as Backend[]) {
      const o = { dim: 3, backend, margin: { kind: 'arcface' as const } };
      expectError(() => linearCrossEntropy(zero, w, t, o), RangeError, E, 'row 1 of hidden', 'norm 0');
      expectError(() => linearCrossEntropy(h, zeroW, t, o), RangeError, E, 'row 2 of weight', 'norm 0');
    }
  });
});

describe('margin heads through the tfjs op', () => {
  it('ops.linearCrossEntropy with options.margin has the reference’s loss and gradients', async () => {
    const tf = await import('@tensorflow/tfjs');
    const { ops } = await import('../src/tfjs');
    await tf.setBackend('cpu');
    const c: LinearCase = { name: '', B: 7, D: 5, C: 33, options: { margin: { kind: 'cosface', s: 16 } } };
    const x = inputs(c);
    const h = tf.tensor2d(x.hidden, [c.B, c.D]),
      w = tf.tensor2d(x.weight, [c.C, c.D]),
      ids = tf.tensor1d(x.targets, 'int32');
    const f = (a: import('@tensorflow/tfjs').Tensor, b: import('@tensorflow/tfjs').Tensor) =>
      ops.linearCrossEntropy(ids, a, b, null, { margin: { kind: 'cosface', s: 16 } });
    const [gh, gw] = tf.grads(f)([h, w]);
    expectMarginReference(c, x, {
      loss: f(h, w).dataSync()[0],
      gradHidden: gh.dataSync() as Float32Array,
      gradWeight: gw.dataSync() as Float32Array,
    });
    tf.dispose([h, w, ids, gh, gw]);
  });
});
