// The ranking family's losses as one table for the tests: each case runs a loss through the
// public API (any backend) and through the reference directly (float64 scores, for finite
// differences), with the options it names. Plus seeded list batches.
import {
  lambdaLoss,
  listMLE,
  listNet,
  rankList,
  rankNet,
  type LambdaLossOptions,
  type ListMLEOptions,
  type ListNetOptions,
  type RankListOptions,
  type RankNetOptions,
} from '../src';
import {
  referenceLambdaLoss,
  referenceListMLE,
  referenceListNet,
  referenceRankList,
  referenceRankNet,
  type RefLists,
  type RefResult,
} from '../src/reference/ranking';
import { mulberry32 } from '../src/random';

type Options = RankListOptions & ListMLEOptions & ListNetOptions & RankNetOptions & LambdaLossOptions;

export interface RankingCase {
  name: string;
  /** The public function with this case's options merged into the caller's. */
  run(scores: Float32Array, relevance: Float32Array, extra: Options): { loss: number; grad: Float32Array };
  /** The reference on float64 scores. */
  reference(pb: RefLists): RefResult;
}

const W = [1, 0.8, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];

/** Every loss with a spread of its options. `longest` sizes ListMLE's weights. */
export function rankingCases(longest = 8): RankingCase[] {
  const weights = Float32Array.from({ length: longest }, (_, k) => W[k % W.length] / (1 + Math.floor(k / 8)));
  const cases: RankingCase[] = [];
  const add = <O>(
    name: string,
    fn: (s: Float32Array, r: Float32Array, o: O) => { loss: number; grad: Float32Array },
    options: O,
    reference: (pb: RefLists) => RefResult,
  ) =>
    cases.push({
      name,
      run: (s, r, extra) => fn(s, r, { ...options, ...extra } as O),
      reference,
    });
  for (const form of ['lse', 'exact', 'anchor'] as const) {
    add(`rankList ${form}`, rankList, { form }, (pb) => referenceRankList(pb, { form, skip: 0, margin: 0 }));
    add(`rankList ${form} skip 2 margin 0.5`, rankList, { form, skip: 2, margin: 0.5 }, (pb) =>
      referenceRankList(pb, { form, skip: 2, margin: 0.5 }),
    );
    add(`rankList ${form} margin 1.5`, rankList, { form, margin: 1.5 }, (pb) =>
      referenceRankList(pb, { form, skip: 0, margin: 1.5 }),
    );
  }
  add('listMLE', listMLE, {}, (pb) => referenceListMLE(pb, { topK: 0, shuffle: false, seed: 0 }));
  add('listMLE shuffle seed 7', listMLE, { ties: 'shuffle' as const, seed: 7 }, (pb) =>
    referenceListMLE(pb, { topK: 0, shuffle: true, seed: 7 }),
  );
  add('listMLE weights topK 3', listMLE, { weights, topK: 3 }, (pb) =>
    referenceListMLE(pb, { weights, topK: 3, shuffle: false, seed: 0 }),
  );
  add('listNet', listNet, {}, (pb) => referenceListNet(pb, 'softmax', 1));
  add('listNet normalize T 2', listNet, { target: 'normalize' as const, temperature: 2 }, (pb) =>
    referenceListNet(pb, 'normalize', 2),
  );
  add('rankNet', rankNet, {}, (pb) => referenceRankNet(pb, 1, 'none'));
  add('rankNet sigma 2 label-diff-squared', rankNet, { sigma: 2, weighting: 'label-diff-squared' as const }, (pb) =>
    referenceRankNet(pb, 2, 'label-diff-squared'),
  );
  for (const scheme of ['none', 'lambdaRank', 'ndcgLoss1', 'ndcgLoss2', 'ndcgLoss2PP'] as const) {
    add(`lambdaLoss ${scheme}`, lambdaLoss, { scheme }, (pb) =>
      referenceLambdaLoss(pb, { scheme, k: 0, sigma: 1, mu: 10, reduction: 'sum', normalize: true }),
    );
  }
  add(
    'lambdaLoss lambdaRank k 3 mean sigma 2',
    lambdaLoss,
    { scheme: 'lambdaRank' as const, k: 3, reduction: 'mean' as const, sigma: 2 },
    (pb) =>
      referenceLambdaLoss(pb, { scheme: 'lambdaRank', k: 3, sigma: 2, mu: 10, reduction: 'mean', normalize: true }),
  );
  add(
    'lambdaLoss LiPO (lambdaRank, normalize false)',
    lambdaLoss,
    { scheme: 'lambdaRank' as const, normalize: false },
    (pb) =>
      referenceLambdaLoss(pb, { scheme: 'lambdaRank', k: 0, sigma: 1, mu: 10, reduction: 'sum', normalize: false }),
  );
  return cases;
}

export interface Batch {
  scores: Float32Array;
  relevance: Float32Array;
  offsets: Int32Array;
}

/**
 * Lists of the given lengths laid end to end: scores normal-ish times `scale`, relevance graded
 * in [0, grades) (ties when grades is small), a share of padded items (relevance -1, score NaN:
 * never read).
 */
export function listBatch(
  lengths: number[],
  seed: number,
  opts: { grades?: number; padding?: number; scale?: number } = {},
): Batch {
  const { grades = 4, padding = 0, scale = 1 } = opts;
  const r = mulberry32(seed);
  const n = lengths.reduce((a, b) => a + b, 0);
  const offsets = Int32Array.from({ length: lengths.length + 1 }, (_, l) =>
    lengths.slice(0, l).reduce((a, b) => a + b, 0),
  );
  const relevance = Float32Array.from({ length: n }, () => (r() < padding ? -1 : Math.floor(r() * grades)));
  const scores = Float32Array.from(relevance, (v) => (v === -1 ? NaN : (r() + r() + r() - 1.5) * 2 * scale));
  return { scores, relevance, offsets };
}

/** List layouts every backend is held to the reference on. */
export const LAYOUTS: Record<string, { batch: Batch; listSize?: number }> = {
  'padded, 40 lists of 16 (listSize)': { batch: listBatch(Array(40).fill(16), 1, { padding: 0.2 }), listSize: 16 },
  'ragged with ties and empty lists (offsets)': {
    batch: listBatch([9, 0, 1, 2, 31, 3, 0, 17, 64, 5], 2, { grades: 3, padding: 0.1 }),
  },
  'lists of 1 and 2': { batch: listBatch([1, 2, 1, 2, 2, 1], 3, { grades: 2 }) },
  'scores up to +-1e4': { batch: listBatch([12, 7, 20], 4, { grades: 5, scale: 3000 }) },
  // Distinct grades: every item is constrained above the next (RankList's CPU shortcut).
  'distinct grades, 6 lists of 20 (listSize)': {
    batch: withRelevance(listBatch(Array(6).fill(20), 9), (_, i) => (i * 7) % 20),
    listSize: 20,
  },
  // Full ranks 0..n-1 take the CPU's placement without counting; a repeated rank or a padded item
  // in a list whose largest grade is n - 1 must fall back to the counting sort.
  'ranks 0..7: a permutation, a repeated rank, a padded item, in order (listSize)': {
    batch: withRelevance(
      listBatch(Array(4).fill(8), 10, { grades: 1 }),
      (_, i) => [3, 7, 0, 5, 1, 6, 2, 4, 7, 0, 3, 3, 1, 6, 2, 5, 7, 6, -1, 0, 1, 2, 3, 5, 0, 1, 2, 3, 4, 5, 6, 7][i],
    ),
    listSize: 8,
  },
  // Lists spanning 27 to 52: either side of 40, where the CPU's one-shift sweeps give way.
  'scores spanning about 40 (listSize)': {
    batch: listBatch(Array(8).fill(16), 6, { grades: 5, scale: 12 }),
    listSize: 16,
  },
  // Graded relevance takes the CPU's counting sort; these take the comparison sort.
  'fractional relevance with ties, and grades past the counting sort (offsets)': {
    // The last list (items 56, 57) is graded 60 to 63: past 2 x 2 + 32, within lambdaLoss's 64.
    batch: withRelevance(listBatch([9, 30, 17, 2], 5, { grades: 4, padding: 0.1 }), (r, i) =>
      i < 56 ? r * 0.37 : r + 60,
    ),
  },
};

/** The batch with each valid relevance r at item i replaced by f(r, i). */
function withRelevance(b: Batch, f: (r: number, i: number) => number): Batch {
  return { ...b, relevance: b.relevance.map((r, i) => (r === -1 ? -1 : f(r, i))) };
}

/** The odd sizes the newer list losses are held to the reference at: items per list x lists. */
export const ODD_SIZES: Array<[number, number]> = [1, 7, 33].flatMap((n) =>
  [1, 31, 1031].map((l): [number, number] => [n, l]),
);

/** `lists` lists of `size` items, 15% padding, graded 0-2, scores rounded to halves (ties). */
export function oddBatch(size: number, lists: number, seed: number): Batch {
  const b = listBatch(Array(lists).fill(size), seed, { grades: 3, padding: 0.15 });
  return { ...b, scores: b.scores.map((v) => Math.round(v * 2) / 2) };
}
