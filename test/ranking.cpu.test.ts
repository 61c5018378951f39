// The native CPU kernels of the ranking family against the float64 reference: padded and ragged
// lists, ties, lists of length 1, 2 and 5000, large scores, ListMLE's lists side by side in vector
// lanes, the async twins, and bitwise-identical results across thread counts.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, listMLE, listMLEAsync, plackettLuceDistill, rankListAsync, setThreads } from '../src';
import { bitwiseEqual, randomScores, expectAgree } from './helpers';
import { LAYOUTS, listBatch, rankingCases } from './ranking.cases';
import { NATIVE } from './native-backend';
import { mulberry32 } from '../src/random';

describe('cpu vs reference', () => {
  for (const [layout, { batch, listSize }] of Object.entries(LAYOUTS)) {
    const shape = listSize ? { listSize } : { offsets: batch.offsets };
    for (const c of rankingCases(64)) {
      it(`${c.name}, ${layout}`, () => {
        const a = c.run(batch.scores, batch.relevance, { ...shape, backend: NATIVE });
        const b = c.run(batch.scores, batch.relevance, { ...shape, backend: 'js' });
        expectAgree(a, b);
        batch.relevance.forEach((r, i) => r === -1 && expect(a.grad[i]).toBe(0));
      });
    }
  }
  it('plackettLuceDistill, 300 rows of 10 classes and 3 rows of 1000', () => {
    for (const [rows, C] of [
      [300, 10],
      [3, 1000],
    ]) {
      const s = randomScores(rows * C, 5, 2),
        t = randomScores(rows * C, 6, 3);
      const y = Int32Array.from({ length: rows }, (_, i) => (i * 7) % C);
      for (const tau of [0.5, 4]) {
        expectAgree(
          plackettLuceDistill(s, t, y, { tau, backend: NATIVE }),
          plackettLuceDistill(s, t, y, { tau, backend: 'js' }),
        );
      }
    }
  });
});

describe('lists of 5000', () => {
  const batch = listBatch([5000, 4999], 7, { grades: 50, padding: 0.05 });
  // One or two variants per loss: the references are O(n^2) per list in plain JavaScript.
  const names = [
    'rankList lse',
    'rankList exact',
    'rankList anchor',
    'rankList lse skip 2 margin 0.5',
    'listMLE',
    'listMLE weights topK 3',
    'listNet',
    'rankNet',
    'lambdaLoss ndcgLoss2PP',
  ];
  for (const c of rankingCases(5000).filter((k) => names.includes(k.name))) {
    // 3 minutes: the float64 reference of rankList exact took 67 s with two test files at once
    // on the loaded 2-core machine.
    it(c.name, { timeout: 180_000 }, () => {
      const shape = { offsets: batch.offsets };
      expectAgree(
        c.run(batch.scores, batch.relevance, { ...shape, backend: NATIVE }),
        c.run(batch.scores, batch.relevance, { ...shape, backend: 'js' }),
      );
    });
  }
});

/**
 * Lists of the given kinds laid end to end, each scored normal-ish (times `scale`): 'ranks' a
 * permutation of 0..n-1, 'repeat' the same with rank 10 given twice (position 89 of 100 taken
 * twice, so the ranks' bit set must reject it), 'graded' 0-3 with 10% padding.
 */
function kindBatch(kinds: Array<[number, 'ranks' | 'repeat' | 'graded', number?]>, seed: number) {
  const rand = mulberry32(seed);
  const offsets = [0];
  const scores: number[] = [];
  const relevance: number[] = [];
  for (const [n, kind, scale = 1] of kinds) {
    const ranks = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [ranks[i], ranks[j]] = [ranks[j], ranks[i]];
    }
    for (let i = 0; i < n; i++) {
      const pad = kind === 'graded' && rand() < 0.1;
      relevance.push(
        pad ? -1 : kind === 'graded' ? Math.floor(rand() * 4) : kind === 'repeat' && ranks[i] === 11 ? 10 : ranks[i],
      );
      scores.push(pad ? NaN : (rand() + rand() + rand() - 1.5) * 2 * scale);
    }
    offsets.push(scores.length);
  }
  return {
    scores: Float32Array.from(scores),
    relevance: Float32Array.from(relevance),
    offsets: Int32Array.from(offsets),
  };
}

describe('listMLE: short lists swept side by side, 16 a window', () => {
  // Two windows: placed full ranks (up to 128, the longest the lanes take; 129 goes alone), a
  // list of 64 spanning ~120 (swept alone after the lanes), a rejected placement (before any other
  // list that is not full ranks, which ends the attempts in the chunk), an empty list, graded and
  // padded lists of every length.
  const kinds: Array<[number, 'ranks' | 'repeat' | 'graded', number?]> = [
    [128, 'ranks'],
    [3, 'ranks'],
    [64, 'ranks', 20],
    [129, 'ranks'],
    [0, 'graded'],
    [100, 'repeat'],
    ...Array.from({ length: 14 }, (_, i): [number, 'graded' | 'ranks'] => [
      1 + ((i * 13) % 40),
      i % 3 ? 'graded' : 'ranks',
    ]),
  ];
  const batch = kindBatch(kinds, 11);
  for (const c of rankingCases(129).filter((k) => k.name.startsWith('listMLE'))) {
    it(`${c.name}: against the reference`, () => {
      const shape = { offsets: batch.offsets };
      expectAgree(
        c.run(batch.scores, batch.relevance, { ...shape, backend: NATIVE }),
        c.run(batch.scores, batch.relevance, { ...shape, backend: 'js' }),
      );
    });
  }
  it('1, 2 and 8 threads give the same bits on full ranks, graded lists among them', () => {
    const b = kindBatch(
      Array.from({ length: 300 }, (_, l): [number, 'ranks' | 'graded'] => [64, l % 97 === 50 ? 'graded' : 'ranks']),
      12,
    );
    const initial = getThreads();
    const runs = [1, 2, 8].map((n) => {
      setThreads(n);
      return listMLE(b.scores, b.relevance, { listSize: 64, backend: NATIVE });
    });
    setThreads(initial);
    for (const r of runs.slice(1)) {
      expect(r.loss).toBe(runs[0].loss);
      expect(bitwiseEqual(r.grad, runs[0].grad)).toBe(true);
    }
  });
  it("a list's gradient does not depend on its lane or on the lists beside it", () => {
    // The same four lists (placed, gathered, graded, rejected placement) at lanes 0-3 beside long
    // lists, and at lanes 5-8 beside short ones: the window's depth and the lanes differ.
    const same: Array<[number, 'ranks' | 'repeat' | 'graded']> = [
      [64, 'ranks'],
      [40, 'graded'],
      [7, 'graded'],
      [100, 'repeat'],
    ];
    const a = kindBatch([...same, [128, 'ranks'], [90, 'graded'], [128, 'ranks'], [5, 'ranks'], [120, 'graded']], 5);
    const filler = kindBatch(Array(5).fill([4, 'ranks']), 6);
    const head = a.offsets[4]; // the shared lists' items
    const bScores = Float32Array.from([...filler.scores, ...a.scores.subarray(0, head)]);
    const bRelevance = Float32Array.from([...filler.relevance, ...a.relevance.subarray(0, head)]);
    const bOffsets = Int32Array.from([...filler.offsets, ...Array.from(a.offsets.subarray(1, 5), (o) => o + 20)]);
    const ga = listMLE(a.scores, a.relevance, { offsets: a.offsets, backend: NATIVE }).grad;
    const gb = listMLE(bScores, bRelevance, { offsets: bOffsets, backend: NATIVE }).grad;
    expect(bitwiseEqual(ga.subarray(0, head), gb.subarray(20))).toBe(true);
  });
});

describe('async twins and options.out', () => {
  it('give the sync result, in the buffer passed', async () => {
    const b = listBatch(Array(50).fill(20), 8, { padding: 0.1 });
    const out = new Float32Array(b.scores.length);
    const sync = listMLE(b.scores, b.relevance, { listSize: 20 });
    const r = await listMLEAsync(b.scores, b.relevance, { listSize: 20, out });
    expect(r.grad).toBe(out);
    expect(r.loss).toBe(sync.loss);
    expect(bitwiseEqual(r.grad, sync.grad)).toBe(true);
    const lse = await rankListAsync(b.scores, b.relevance, { listSize: 20, backend: 'js' });
    expect(lse.loss).toBeGreaterThan(0);
  });
  it('use the offsets as they were at the call, whatever JavaScript writes to them after', async () => {
    const b = listBatch(Array(4000).fill(50), 8, { padding: 0 }); // long enough to overlap the write
    const offsets = Int32Array.from({ length: 4001 }, (_, l) => l * 50);
    const sync = listMLE(b.scores, b.relevance, { offsets });
    const pending = listMLEAsync(b.scores, b.relevance, { offsets });
    offsets.fill(1 << 30); // out of bounds were they read now
    const r = await pending;
    expect(r.loss).toBe(sync.loss);
    expect(bitwiseEqual(r.grad, sync.grad)).toBe(true);
  });
});

describe('threads', () => {
  const initial = getThreads();
  afterAll(() => setThreads(initial));
  it('1, 2 and 8 threads give bitwise-identical results for every loss', () => {
    const b = listBatch(
      Array.from({ length: 3000 }, (_, l) => 1 + ((l * 37) % 90)),
      9,
      { padding: 0.1 },
    );
    const cases = rankingCases(90);
    const run = () => cases.map((c) => c.run(b.scores, b.relevance, { offsets: b.offsets, backend: NATIVE }));
    setThreads(1);
    const one = run();
    for (const n of [2, 8]) {
      setThreads(n);
      expect(getThreads()).toBe(n);
      run().forEach((r, i) => {
        expect(r.loss).toBe(one[i].loss);
        expect(bitwiseEqual(r.grad, one[i].grad)).toBe(true);
      });
    }
  });
});
