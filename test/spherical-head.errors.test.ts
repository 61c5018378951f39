// Every documented error of SphericalHead: a TypeError or RangeError with an ERR_FUSEDLOSS_ code
// naming the argument, from the TypeScript checks and again from the native class called
// directly; and the refusal of a learning rate that would make the factored update
// ill-conditioned (formulas F.5), which leaves the head untouched, on both backends. The native
// class is the addon's, or its WebAssembly build's with FUSEDLOSS_TEST_BACKEND=wasm.
import { describe, expect, it } from 'vitest';
import { SphericalHead, backends } from '../src';
import { addonFor } from '../src/native';
import { expectError } from './helpers';
import { NATIVE } from './native-backend';

const INVALID = 'ERR_FUSEDLOSS_INVALID_ARG_VALUE';
const TYPE = 'ERR_FUSEDLOSS_INVALID_ARG_TYPE';
const noNative = !backends()[NATIVE].available;
const head = () => new SphericalHead({ classes: 10, dim: 4, backend: noNative ? 'js' : NATIVE });
const h = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i));

describe('constructor and fromWeights', () => {
  it('missing, mistyped, out of range and unknown options', () => {
    expectError(() => new SphericalHead({ dim: 4 } as never), TypeError, TYPE, 'options.classes', 'required');
    expectError(() => new SphericalHead({ classes: 10 } as never), TypeError, TYPE, 'options.dim');
    expectError(() => new SphericalHead({ classes: 1, dim: 4 }), RangeError, INVALID, 'options.classes', '>= 2');
    expectError(() => new SphericalHead({ classes: 10, dim: 2.5 }), RangeError, INVALID, 'options.dim', 'integer');
    expectError(() => new SphericalHead({ classes: 10, dim: 4, loss: 'ce' as never }), RangeError, INVALID, "'z'");
    expectError(() => new SphericalHead({ classes: 10, dim: 4, a: 0 }), RangeError, INVALID, 'options.a');
    // The native bound (src/wire-bounds.ts kPositive) on every backend, 'js' included.
    expectError(
      () => new SphericalHead({ classes: 10, dim: 4, a: 1e-7, backend: 'js' }),
      RangeError,
      INVALID,
      'options.a',
    );
    expectError(() => new SphericalHead({ classes: 10, dim: 4, stabilizeEvery: -1 }), RangeError, INVALID);
    expectError(
      () => new SphericalHead({ classes: 10, dim: 4, lr: 1 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      "'lr'",
    );
    expectError(() => new SphericalHead(null as never), TypeError, TYPE, 'classes');
  });
  it("backend 'cuda' is refused: no CUDA kernels yet", () => {
    expect(() => new SphericalHead({ classes: 10, dim: 4, backend: 'cuda' })).toThrow(/unavailable/);
  });
  it('fromWeights: length not classes x dim, non-finite weights, options the weights fix', () => {
    expectError(
      () => SphericalHead.fromWeights(new Float32Array(9), { dim: 4 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'weights has length 9',
    );
    expectError(
      () => SphericalHead.fromWeights(new Float32Array(4), { dim: 4 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'classes >= 2',
    );
    expectError(
      () => SphericalHead.fromWeights([0, 1, NaN, 2], { dim: 2 }),
      RangeError,
      'ERR_FUSEDLOSS_NON_FINITE',
      'weights[2]',
    );
    expectError(
      () => SphericalHead.fromWeights(new Float32Array(8), { dim: 4, seed: 1 } as never),
      TypeError,
      'ERR_FUSEDLOSS_UNKNOWN_OPTION',
      'options.seed',
    );
    expectError(() => SphericalHead.fromWeights('w' as never, { dim: 4 }), TypeError, TYPE, 'weights');
  });
});

describe('step, scores, topK', () => {
  it('hidden and targets of the wrong shape or value', () => {
    const hd = head();
    expectError(
      () => hd.step(new Float32Array(7), [0], { lr: 0.1 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'SphericalHead.step',
      'hidden has length 7',
    );
    expectError(
      () => hd.step(h, [0], { lr: 0.1 }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'targets has length 1',
    );
    expectError(() => hd.step(h, [0, 10], { lr: 0.1 }), RangeError, INVALID, 'targets[1] = 10');
    expectError(() => hd.step(h, [0, 1.5], { lr: 0.1 }), TypeError, TYPE, 'targets[1]');
    expectError(
      () => hd.step([0, 0, 0, Infinity], [0], { lr: 0.1 }),
      RangeError,
      'ERR_FUSEDLOSS_NON_FINITE',
      'hidden[3]',
    );
    expectError(() => hd.scores([NaN, 0, 0, 0]), RangeError, 'ERR_FUSEDLOSS_NON_FINITE', 'SphericalHead.scores');
  });
  it('step options: lr required and > 0, weightDecay >= 0, out the right buffer', () => {
    const hd = head();
    expectError(() => hd.step(h, [0, 1], undefined as never), TypeError, TYPE, 'lr');
    expectError(() => hd.step(h, [0, 1], {} as never), TypeError, TYPE, 'options.lr', 'required');
    expectError(() => hd.step(h, [0, 1], { lr: 0 }), RangeError, INVALID, 'options.lr', '> 0');
    expectError(() => hd.step(h, [0, 1], { lr: 0.1, weightDecay: -1 }), RangeError, INVALID, 'options.weightDecay');
    expectError(
      () => hd.step(h, [0, 1], { lr: 0.1, out: new Float32Array(3) }),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'options.out',
    );
    const out = new Float32Array(8);
    expect(hd.step(h, [0, 1], { lr: 0.1, out }).gradHidden).toBe(out);
  });
  it('topK: k an integer in [1, classes]', () => {
    const hd = head();
    expectError(() => hd.topK(h, 0), RangeError, INVALID, 'k must be an integer in [1, 10]');
    expectError(() => hd.topK(h, 11), RangeError, INVALID, 'got 11');
    expectError(() => hd.topK(h, '2' as never), TypeError, TYPE, 'k');
  });
});

describe('ill-conditioned steps are refused and change nothing', () => {
  // Squared error: P = I - (2 lr / m) H H^T; with these rows lr = 2 gives eigenvalues near -3.
  const rows = Float32Array.from({ length: 4 * 4 }, (_, i) => Math.cos(i * 0.9));
  const targets = [0, 1, 2, 3];
  const W = Float32Array.from({ length: 10 * 4 }, (_, i) => Math.sin(i));
  for (const backend of [NATIVE, 'js'] as const) {
    it.skipIf(backend === NATIVE && noNative)(`${backend}: lr too large, and weight decay too large`, () => {
      const hd = SphericalHead.fromWeights(W, { dim: 4, loss: 'mse', backend });
      expectError(
        () => hd.step(rows, targets, { lr: 2 }),
        RangeError,
        INVALID,
        'SphericalHead.step: options.lr = 2 is too large',
        'eigenvalue outside [0.125, 8]',
        'Nothing was updated',
      );
      expectError(
        () => hd.step(rows, targets, { lr: 0.5, weightDecay: 1.875 }),
        RangeError,
        INVALID,
        '1 - lr * weightDecay = 0.0625 is below 0.125',
      );
      expect(hd.weights()).toEqual(W);
      expect(hd.stats.steps).toBe(0);
      expect(hd.step(rows, targets, { lr: 0.05 }).loss).toBeGreaterThan(0);
      expect(hd.stats.steps).toBe(1);
    });
  }
  it.skipIf(noNative)('Z-loss: a huge lr on a batch whose dL/dq is negative grows U past the upper bound', () => {
    const hd = SphericalHead.fromWeights(W, { dim: 4, backend: NATIVE });
    expect(() => hd.step(rows, targets, { lr: 1e5 })).toThrow(/too large/);
  });
});

describe.skipIf(noNative)(
  `${NATIVE}: the native test (on min(m, d) x min(m, d)) refuses exactly what the dense one (d x d) refuses`,
  () => {
    const W = Float32Array.from({ length: 12 * 4 }, (_, i) => Math.sin(0.9 * i) + 0.2);
    // m = 3 < d = 4, and m = 6 > d = 4 (R is then d x m); squared error and Z-loss.
    const cases = [3, 6].flatMap((m) =>
      (['mse', 'z'] as const).map((loss) => ({
        m,
        loss,
        rows: Float32Array.from({ length: m * 4 }, (_, i) => Math.cos(1.3 * i + m)),
        targets: Array.from({ length: m }, (_, j) => (5 * j) % 12),
      })),
    );
    for (const c of cases) {
      it(`${c.loss}, m = ${c.m}`, () => {
        const outcomes = [0.01, 0.1, 0.3, 0.5, 0.7, 1, 1.5, 2, 5, 20, 100, 1e3, 1e4, 1e5].map((lr) => {
          const refused = (backend: typeof NATIVE | 'js') => {
            try {
              SphericalHead.fromWeights(W, { dim: 4, loss: c.loss, backend }).step(c.rows, c.targets, { lr });
              return false;
            } catch {
              return true;
            }
          };
          return [refused(NATIVE), refused('js')];
        });
        for (const [cpu, js] of outcomes) expect(cpu).toBe(js);
        expect(outcomes.some(([cpu]) => cpu)).toBe(true);
        expect(outcomes.some(([cpu]) => !cpu)).toBe(true);
      });
    }
  },
);

describe.skipIf(noNative)(`${NATIVE}: the native class checks its arguments again`, () => {
  type NativeClass = new (...a: unknown[]) => Record<string, (...a: unknown[]) => unknown>;
  // Looked up in the tests: vitest runs a skipped suite's body too, where a clone may have no wasm build.
  const nativeClass = () => (addonFor(NATIVE) as unknown as { SphericalHeadNative: NativeClass }).SphericalHeadNative;
  const params = { classes: 10, dim: 4, loss: 0, a: 1, b: 0, stabilizeEvery: 10, initStd: 0.5, seed: 0 };
  it('constructor params and weights', () => {
    const Native = nativeClass();
    expectError(() => new Native(null, null), TypeError, TYPE, 'params');
    expectError(() => new Native({ ...params, loss: 2 }, null), RangeError, INVALID, 'options.loss');
    expectError(() => new Native({ ...params, dim: 'x' }, null), TypeError, TYPE, 'options.dim');
    expectError(
      () => new Native(params, new Float32Array(3)),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'weights has length 3',
    );
  });
  it('step, scores, topK, weights', () => {
    const n = new (nativeClass())(params, null);
    const g = new Float32Array(8);
    expectError(
      () => n.step(new Float64Array(8), new Int32Array(2), { lr: 0.1, weightDecay: 0 }, g),
      TypeError,
      TYPE,
      'hidden',
    );
    expectError(
      () => n.step(h, new Int32Array(3), { lr: 0.1, weightDecay: 0 }, g),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'targets',
    );
    expectError(
      () => n.step(h, new Int32Array([0, -1]), { lr: 0.1, weightDecay: 0 }, g),
      RangeError,
      INVALID,
      'targets[1] = -1',
    );
    expectError(() => n.step(h, new Int32Array(2), { lr: -1, weightDecay: 0 }, g), RangeError, INVALID, 'options.lr');
    expectError(
      () => n.step(h, new Int32Array(2), { lr: 0.1, weightDecay: 0 }, new Float32Array(2)),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'gradHidden',
    );
    expectError(
      () =>
        n.step(new Float32Array([NaN, 0, 0, 0]), new Int32Array(1), { lr: 0.1, weightDecay: 0 }, new Float32Array(4)),
      RangeError,
      'ERR_FUSEDLOSS_NON_FINITE',
      'hidden[0]',
    );
    expectError(() => n.scores(h, new Float32Array(5)), RangeError, 'ERR_FUSEDLOSS_LENGTH_MISMATCH', 'out');
    expectError(() => n.topK(h, 11, new Int32Array(22), new Float32Array(22)), RangeError, INVALID, 'k must be');
    expectError(
      () => n.topK(h, 2, new Int32Array(3), new Float32Array(4)),
      RangeError,
      'ERR_FUSEDLOSS_LENGTH_MISMATCH',
      'classesOut',
    );
    expectError(() => n.weights(new Float32Array(39)), RangeError, 'ERR_FUSEDLOSS_LENGTH_MISMATCH', 'classes x dim');
  });
});
