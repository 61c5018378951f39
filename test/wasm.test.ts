// What the 'wasm' backend adds beyond the parity files (run on it with FUSEDLOSS_TEST_BACKEND=wasm):
// its report, the staging of arrays into wasm memory (views into larger buffers, arrays sharing a
// buffer), async calls. SphericalHead on it: test/spherical-head.wasm.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fl from '../src';
import { bitwiseEqual, expectError, randomBinaryLabels, randomScores } from './helpers';

// `npm run build:wasm` needs Emscripten: CI always has it, a clone may not.
const ready = fl.backends().wasm.available || !!process.env.CI;

describe.skipIf(!ready)("the 'wasm' backend", () => {
  const x = randomScores(3000, 11, 2);
  const y = randomBinaryLabels(3000, 12);
  // In beforeAll: vitest runs a skipped suite's body too, where a clone has no wasm build.
  let plain: fl.LossResult;
  beforeAll(() => {
    plain = fl.anyLoss(x, y, { metric: 'mcc', backend: 'wasm' });
  });

  it('is reported available, and agrees with the reference', () => {
    expect(fl.backends().wasm).toEqual({ available: true });
    const ref = fl.anyLoss(x, y, { metric: 'mcc', backend: 'js' });
    expect(Math.abs(plain.loss - ref.loss)).toBeLessThan(1e-5 * Math.abs(ref.loss));
  });

  it('reads views into larger buffers and writes only its gradient', () => {
    const buffer = new ArrayBuffer(4 * 9000);
    const xs = new Float32Array(buffer, 4 * 1001, 3000); // an odd offset: not 8-byte aligned
    const out = new Float32Array(buffer, 4 * 5003, 3000);
    xs.set(x);
    const before = new Float32Array(buffer).slice();
    const r = fl.anyLoss(xs, y, { metric: 'mcc', backend: 'wasm', out });
    expect(r.grad).toBe(out);
    expect(r.loss).toBe(plain.loss);
    expect(bitwiseEqual(out, plain.grad)).toBe(true);
    // Everything outside `out` is as it was.
    const after = new Float32Array(buffer);
    const untouched = (i: number) => i < 5003 || i >= 8003;
    expect(after.every((v, i) => !untouched(i) || Object.is(v, before[i]))).toBe(true);
  });

  it('still sees an out that shares memory with the scores', () => {
    const buffer = new Float32Array(4000);
    buffer.set(x);
    expectError(
      () => fl.anyLoss(buffer.subarray(0, 3000), y, { backend: 'wasm', out: buffer.subarray(1000, 4000) }),
      TypeError,
      'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
      'options.out',
    );
  });

  it('returns a Promise from the async twins, with the sync result', async () => {
    const p = fl.anyLossAsync(x, y, { metric: 'mcc', backend: 'wasm' });
    expect(p).toBeInstanceOf(Promise);
    const r = await p;
    expect(r.loss).toBe(plain.loss);
    expect(bitwiseEqual(r.grad, plain.grad)).toBe(true);
  });

  it('returns arrays the binding creates (soft counts) with their contents', () => {
    const wasm = fl.softConfusion(x, y, { backend: 'wasm' });
    const js = fl.softConfusion(x, y, { backend: 'js' });
    expect(Math.abs(wasm.tp[0] - js.tp[0])).toBeLessThan(1e-3);
    expect(wasm.tp[0]).toBeGreaterThan(1);
  });
});
