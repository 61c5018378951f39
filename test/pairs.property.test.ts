// Properties over random batches (fast-check, fixed seed): what formulas E states or implies for every
// pairwise loss. Normalised losses are unchanged by positive row scaling (and the gradient of a
// scaled row shrinks by the scale); the gradient through the normalisation is orthogonal to its
// row (formulas E.0); losses depend on labels only through equality, and on row order not at all;
// and the two Multi-Similarity conventions coincide on distinct embeddings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { multiSimilarity } from '../src';
import { agreement, bitwiseEqual, gradError, relError, expectAgree, TOL } from './helpers';
import { PAIR_LOSSES } from './pairs.fixtures';

const SEED = 20261123;

/** n x dim rows in [-1, 1] (distinct directions almost surely), labels from `classes` ids, positive row scales in [0.1, 10]. */
const batch = fc
  .record({
    n: fc.integer({ min: 2, max: 40 }),
    dim: fc.integer({ min: 2, max: 24 }), // one dimension normalises every row to +-1: all ties
    classes: fc.integer({ min: 1, max: 6 }),
    seed: fc.nat(),
  })
  .map((p) => {
    let s = p.seed;
    const next = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const x = Float32Array.from({ length: p.n * p.dim }, () => next() * 2 - 1);
    const y = Int32Array.from({ length: p.n }, () => Math.floor(next() * p.classes));
    const scale = Float32Array.from({ length: p.n }, () => 0.1 * 100 ** next());
    const perm = Array.from({ length: p.n }, (_, i) => i).sort(() => next() - 0.5);
    return { ...p, x, y, scale, perm };
  });

const runs = { seed: SEED, numRuns: 40 };

describe('pairwise family properties', () => {
  for (const [name, call] of PAIR_LOSSES) {
    describe(name, () => {
      it('positive row scaling leaves the normalised loss unchanged and divides the row gradient by the scale', () => {
        fc.assert(
          fc.property(batch, ({ x, y, dim, scale }) => {
            const scaled = x.map((v, k) => v * scale[Math.floor(k / dim)]);
            const a = call(x, y, { dim, backend: 'js' });
            const b = call(scaled, y, { dim, backend: 'js' });
            // The scaled rows are rounded to float32 again: directions move by ~1e-7.
            expect(relError(b.loss, a.loss)).toBeLessThan(1e-6);
            const rescaled = b.grad.map((g, k) => g * scale[Math.floor(k / dim)]);
            expect(gradError(rescaled, a.grad)).toBeLessThan(1e-5);
          }),
          runs,
        );
      });
      it('each row gradient is orthogonal to its row', () => {
        fc.assert(
          fc.property(batch, ({ x, y, dim, n }) => {
            const g = call(x, y, { dim, backend: 'cpu' }).grad;
            const largest = g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            for (let i = 0; i < n; i++) {
              let dot = 0,
                xx = 0;
              for (let d = 0; d < dim; d++) {
                dot += g[i * dim + d] * x[i * dim + d];
                xx += x[i * dim + d] ** 2;
              }
              // float32 projection: the residual is relative to the gradient before projection,
              // bounded here by the batch's largest entry (DESIGN's tolerance scale).
              expect(Math.abs(dot)).toBeLessThanOrEqual(1e-5 * largest * Math.sqrt(dim * xx));
            }
          }),
          runs,
        );
      });
      it('renaming the classes changes nothing (bitwise on the CPU, except class-sum order)', () => {
        fc.assert(
          fc.property(batch, ({ x, y, dim }) => {
            const renamed = y.map((v) => 7 - 3 * v);
            const a = call(x, y, { dim, backend: 'cpu' });
            const b = call(x, renamed, { dim, backend: 'cpu' });
            if (name === 'orthogonalProjection') expectAgree(b, a);
            else expect(b.loss === a.loss && bitwiseEqual(b.grad, a.grad)).toBe(true);
          }),
          runs,
        );
      });
      it('permuting the rows permutes the gradient and keeps the loss', () => {
        fc.assert(
          fc.property(batch, ({ x, y, dim, perm }) => {
            const px = new Float32Array(x.length);
            perm.forEach((from, to) => px.set(x.subarray(from * dim, (from + 1) * dim), to * dim));
            const py = Int32Array.from(perm, (from) => y[from]);
            const a = call(x, y, { dim, backend: 'js' });
            const b = call(px, py, { dim, backend: 'js' });
            const back = new Float32Array(x.length);
            perm.forEach((from, to) => back.set(b.grad.subarray(to * dim, (to + 1) * dim), from * dim));
            // Tighter than TOL: a permutation only reorders the same sums.
            const err = agreement({ loss: b.loss, grad: back }, a);
            expect(err.lossErr).toBeLessThan(TOL.loss);
            expect(err.gradErr).toBeLessThan(1e-6);
          }),
          runs,
        );
      });
    });
  }
  it("Multi-Similarity 'paper' and 'pml' agree on distinct embeddings", () => {
    fc.assert(
      fc.property(batch, ({ x, y, dim }) => {
        const a = multiSimilarity(x, y, { dim, semantics: 'paper', backend: 'js' });
        const b = multiSimilarity(x, y, { dim, semantics: 'pml', backend: 'js' });
        expect(relError(a.loss, b.loss)).toBeLessThan(1e-12);
      }),
      { ...runs, numRuns: 100 },
    );
  });
});
