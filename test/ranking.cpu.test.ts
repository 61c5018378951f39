// The native CPU kernels of the ranking family against the float64 reference: padded and ragged
// lists, ties, lists of length 1, 2 and 5000, large scores, the async twins, and bitwise-identical
// results across thread counts.
import { afterAll, describe, expect, it } from 'vitest';
import { getThreads, listMLE, listMLEAsync, plackettLuceDistill, rankListAsync, setThreads } from '../src';
import { bitwiseEqual, randomScores, expectAgree } from './helpers';
import { LAYOUTS, listBatch, rankingCases } from './ranking.cases';
import { NATIVE } from './native-backend';

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
