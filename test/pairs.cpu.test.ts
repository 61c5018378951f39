// The native CPU kernels of the pairwise family against the float64 reference: every loss, both
// normalisations, the label patterns that empty a half (all labels equal, every label unique),
// duplicated embeddings, widths that are not a multiple of the SIMD width, N from 1 to 4099 (past
// several 96-row tiles, with a ragged last tile; even and odd tile counts); the cross-batch form;
// and bitwise identical results across thread counts.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, multiSimilarity, multiSimilarityAsync, setThreads, supConAsync } from '../src';
import { bitwiseEqual, randomClassLabels, randomScores, expectAgree } from './helpers';
import { PAIR_LOSSES } from './pairs.fixtures';
import { NATIVE } from './native-backend';

function both(call: (typeof PAIR_LOSSES)[number][1], x: Float32Array, y: Int32Array, o: object) {
  expectAgree(call(x, y, { ...o, backend: NATIVE }), call(x, y, { ...o, backend: 'js' }));
}

const LABELS: [string, (n: number) => Int32Array][] = [
  ['5 classes', (n) => randomClassLabels(n, 5, 11 + n)],
  ['all labels equal', (n) => new Int32Array(n).fill(3)],
  ['every label unique', (n) => Int32Array.from({ length: n }, (_, i) => 1000 - i)],
];

describe('pairwise losses cpu vs reference', () => {
  for (const [name, call] of PAIR_LOSSES) {
    describe(name, () => {
      for (const [N, D] of [
        [1, 3],
        [2, 5],
        [3, 7],
        [40, 19],
        [101, 33],
        // 4 tiles of 96 rows: one set's gradient sweep pairs its tiles in rounds, an even count
        // taking a round of diagonal tiles and then 3 rounds of 2 pairs (11 tiles, below, are odd).
        [300, 17],
      ] as const) {
        for (const [labelName, labels] of LABELS) {
          it(`N = ${N}, D = ${D}, ${labelName}`, () => {
            const x = randomScores(N * D, 7 * N + D);
            both(call, x, labels(N), { dim: D });
            // Dot-product similarities: rows kept small so gamma = 80 and 1 / tau stay in float range.
            both(call, randomScores(N * D, 8 * N + D, 0.15), labels(N), { dim: D, normalize: false });
          });
        }
      }
      it('duplicated embeddings (rows repeated within and across classes)', () => {
        const N = 48,
          D = 10;
        const x = randomScores(N * D, 21);
        for (let i = 0; i < N; i += 4) x.copyWithin((i + 1) * D, i * D, (i + 1) * D); // row i + 1 = row i
        x.copyWithin(5 * D, 2 * D, 3 * D);
        both(call, x, randomClassLabels(N, 4, 22), { dim: D });
      });
      it('N = 1000, D = 24', () => {
        both(call, randomScores(1000 * 24, 31), randomClassLabels(1000, 20, 32), { dim: 24 });
      }, 60_000);
      // CI only (CI set): its float64 reference takes most of this file's time. N = 1000 already
      // crosses the edges it checks: 11 tiles of 96 rows with a ragged last one (40 rows), 4 row
      // chunks of 256 (the last ragged) and 5 panel chunks of 16 panels.
      it.runIf(!!process.env.CI)(
        'N = 4099, D = 6 (64 classes)',
        () => {
          both(call, randomScores(4099 * 6, 41), randomClassLabels(4099, 64, 42), { dim: 6 });
        },
        120_000,
      );
    });
  }
});

describe('single-set Multi-Similarity weights', () => {
  // The single-set weights share one exponential per pair while the rows' LSEs lie within 40 of
  // each other (pair_ms.h); beta = 400 spreads the negative LSEs (0 to about 200) past that, so
  // these take the general path, two exponentials a pair.
  for (const semantics of ['pml', 'paper'] as const) {
    it(`beta = 400 (${semantics}): LSEs spread past the shared exponential`, () => {
      const [n, D] = [150, 5];
      const x = randomScores(n * D, 61),
        y = randomClassLabels(n, 6, 62);
      const o = { dim: D, semantics, beta: 400 };
      expectAgree(multiSimilarity(x, y, { ...o, backend: NATIVE }), multiSimilarity(x, y, { ...o, backend: 'js' }));
    });
  }
});

describe('cross-batch Multi-Similarity', () => {
  for (const semantics of ['pml', 'paper'] as const) {
    it(`queries against a reference set (${semantics}): both gradients`, () => {
      const [n, m, D] = [70, 130, 17];
      const x = randomScores(n * D, 51),
        r = randomScores(m * D, 52);
      const o = {
        dim: D,
        semantics,
        reference: r,
        referenceLabels: randomClassLabels(m, 6, 53),
      };
      const y = randomClassLabels(n, 6, 54);
      const cpu = multiSimilarity(x, y, { ...o, backend: NATIVE });
      const js = multiSimilarity(x, y, { ...o, backend: 'js' });
      expectAgree(cpu, js);
      expectAgree({ loss: cpu.loss, grad: cpu.referenceGrad }, { loss: js.loss, grad: js.referenceGrad });
      expect(cpu.referenceGrad.some((g) => g !== 0)).toBe(true);
    });
  }
  it('a reference set too large for the kept strip of S (90000 rows): S computed twice, same result', () => {
    const [n, m, D] = [8, 90000, 4];
    const x = randomScores(n * D, 57),
      r = randomScores(m * D, 58);
    const o = { dim: D, reference: r, referenceLabels: randomClassLabels(m, 50, 59) };
    const y = randomClassLabels(n, 50, 60);
    const cpu = multiSimilarity(x, y, { ...o, backend: NATIVE });
    const js = multiSimilarity(x, y, { ...o, backend: 'js' });
    expectAgree(cpu, js);
    expectAgree({ loss: cpu.loss, grad: cpu.referenceGrad }, { loss: js.loss, grad: js.referenceGrad });
  });
  it('a reference equal to the queries differs from the single-set form only by the self pair', () => {
    const [n, D] = [60, 9];
    const x = randomScores(n * D, 55),
      y = randomClassLabels(n, 4, 56);
    const single = multiSimilarity(x, y, { semantics: 'paper', backend: NATIVE });
    // 'paper' drops the self pair by its similarity (S = 1), so the two forms see the same pairs;
    // the single-set gradient is the sum of the query and reference gradients.
    const cross = multiSimilarity(x, y, {
      semantics: 'paper',
      reference: x.slice(),
      referenceLabels: y,
      backend: NATIVE,
    });
    expect(cross.loss).toBeCloseTo(single.loss, 6);
    const sum = cross.grad.map((g, i) => g + cross.referenceGrad[i]);
    expectAgree({ loss: cross.loss, grad: sum }, single);
  });
});

describe('determinism', () => {
  const threads = getThreads();
  afterAll(() => setThreads(threads));
  for (const [name, call] of PAIR_LOSSES) {
    it(`${name}: bitwise identical for 1, 2 and 8 threads`, () => {
      // 11 and 17 tiles: the symmetric weight sweep's tasks take 1 tile a side below 16 tiles, 2 from
      // there on.
      for (const N of [1000, 1600]) {
        const D = 20;
        const x = randomScores(N * D, 61),
          y = randomClassLabels(N, 30, 62);
        const runs = [1, 2, 8].map((t) => {
          setThreads(t);
          return call(x, y, { dim: D, backend: NATIVE });
        });
        for (const r of runs.slice(1)) {
          expect(r.loss).toBe(runs[0].loss);
          expect(bitwiseEqual(r.grad, runs[0].grad)).toBe(true);
        }
      }
    }, 30_000);
  }
});

describe('async twins', () => {
  it('resolve to the synchronous results', async () => {
    const x = randomScores(200 * 8, 71),
      y = randomClassLabels(200, 7, 72);
    const a = await multiSimilarityAsync(x, y, { dim: 8, backend: NATIVE });
    const b = multiSimilarity(x, y, { dim: 8, backend: NATIVE });
    expect(a.loss).toBe(b.loss);
    expect(bitwiseEqual(a.grad, b.grad)).toBe(true);
    const c = await supConAsync(x, y, { dim: 8, backend: 'js' });
    expect(c.loss).toBeGreaterThan(0);
  });
});
