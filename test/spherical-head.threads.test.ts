// SphericalHead on the native CPU: the same bits with 1, 2 and 8 threads. The sizes are past one
// chunk of every threaded product (dense.cc row_chunk), of the symmetric m x m products' triangle
// (mul_nt_symmetric) and of the class sweeps, and not multiples of the register tile; the run
// includes weight decay and stabilisations.
import { afterAll, describe, expect, it } from 'vitest';
import { SphericalHead, backends, getThreads, setThreads } from '../src';
import { batches } from './spherical-head.fixtures';

const C = 2500,
  D = 190,
  M = 70,
  STEPS = 9;

function run(threads: number): { losses: number[]; grads: Float32Array[]; weights: Float32Array } {
  setThreads(threads);
  const head = new SphericalHead({ classes: C, dim: D, seed: 3, stabilizeEvery: 4, backend: 'cpu' });
  const losses: number[] = [];
  const grads: Float32Array[] = [];
  for (const b of batches(STEPS, M, D, C, 5)) {
    const r = head.step(b.hidden, b.targets, { lr: 2, weightDecay: 0.01 });
    losses.push(r.loss);
    grads.push(r.gradHidden);
  }
  return { losses, grads, weights: head.weights() };
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe.skipIf(!backends().cpu.available)('SphericalHead cpu: the same bits on 1, 2 and 8 threads', () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));
  it(`C = ${C}, d = ${D}, m = ${M}, ${STEPS} steps`, () => {
    const [one, ...others] = [1, 2, 8].map(run);
    for (const r of others) {
      expect(r.losses).toEqual(one.losses);
      r.grads.forEach((g, i) => expect(bits(g)).toEqual(bits(one.grads[i])));
      expect(bits(r.weights)).toEqual(bits(one.weights));
    }
  });
});
