// Real lists for the ranking task, from the `vega-datasets` package's movies table (3201 films
// with budgets, grosses, votes and ratings). A list is one (genre, release year) group, cut into
// pieces of at most LIST items; an item's relevance is its IMDB rating graded 0..4 (< 5, 5-6,
// 6-7, 7-8, >= 8); its features are standardised log budget, log grosses, log IMDB votes, running
// time, Rotten Tomatoes rating (0 and a missing flag when absent) and the MPAA rating one-hot.
// Padding items have relevance -1 and zero features.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { mulberry32 } from '../src/random';
import { shuffle } from './mnist-data';

export const LIST = 32;
export const FEATURES = 11;

interface Movie {
  [field: string]: string | number | null;
}

export interface Lists {
  lists: number;
  /** [lists, LIST, FEATURES] */
  x: Float32Array;
  /** [lists, LIST], -1 for padding */
  relevance: Float32Array;
}

// The package exports only its JavaScript entry; the data files sit beside it.
const MOVIES = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'movies.json');

const num = (m: Movie, k: string): number | null => (typeof m[k] === 'number' ? (m[k] as number) : null);
const MPAA = ['G', 'PG', 'PG-13', 'R'];

function features(m: Movie): number[] {
  const log = (k: string) => Math.log1p(Math.max(num(m, k) ?? 0, 0));
  const rt = num(m, 'Rotten Tomatoes Rating');
  return [
    log('Production Budget'),
    log('US Gross'),
    log('Worldwide Gross'),
    log('IMDB Votes'),
    num(m, 'Running Time min') ?? 0,
    rt === null ? 0 : rt / 100,
    rt === null ? 1 : 0,
    ...MPAA.map((r) => (m['MPAA Rating'] === r ? 1 : 0)),
  ];
}

const grade = (rating: number): number => Math.min(4, Math.max(0, Math.floor(rating) - 4));

/** The movie lists, split at random (seeded) into train and test by list. */
export function movieLists(seed: number, testFraction = 0.25): { train: Lists; test: Lists } {
  const groups = new Map<string, Movie[]>();
  for (const m of JSON.parse(readFileSync(MOVIES, 'utf8')) as Movie[]) {
    if (num(m, 'IMDB Rating') === null || !m['Major Genre'] || !m['Release Date']) continue;
    const key = `${m['Major Genre']}|${new Date(m['Release Date'] as string).getFullYear()}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const rand = mulberry32(seed);
  const pieces: Movie[][] = [];
  for (const g of groups.values()) {
    if (g.length < 5) continue; // too short to rank
    for (let i = 0; i < g.length; i += LIST) pieces.push(g.slice(i, i + LIST));
  }
  const order = Int32Array.from(pieces.keys());
  shuffle(order, rand);
  const nTest = Math.round(pieces.length * testFraction);
  const all = pieces.flat().map(features);
  const mean = Array.from({ length: FEATURES }, (_, f) => all.reduce((a, r) => a + r[f], 0) / all.length);
  const std = mean.map((mu, f) => Math.sqrt(all.reduce((a, r) => a + (r[f] - mu) ** 2, 0) / all.length) || 1);
  const pack = (ids: number[]): Lists => {
    const x = new Float32Array(ids.length * LIST * FEATURES);
    const relevance = new Float32Array(ids.length * LIST).fill(-1);
    ids.forEach((p, l) =>
      pieces[p].forEach((m, i) => {
        features(m).forEach((v, f) => (x[(l * LIST + i) * FEATURES + f] = (v - mean[f]) / std[f]));
        relevance[l * LIST + i] = grade(num(m, 'IMDB Rating')!);
      }),
    );
    return { lists: ids.length, x, relevance };
  };
  return { test: pack([...order.subarray(0, nTest)]), train: pack([...order.subarray(nTest)]) };
}

/** Mean NDCG@k over lists (gain 2^rel - 1, log2 discount); lists with no gain are skipped. */
export function ndcgAt(k: number, scores: ArrayLike<number>, d: Lists): number {
  let sum = 0,
    counted = 0;
  for (let l = 0; l < d.lists; l++) {
    const items = Array.from({ length: LIST }, (_, i) => l * LIST + i).filter((i) => d.relevance[i] >= 0);
    const dcg = (order: number[]) =>
      order.slice(0, k).reduce((a, i, r) => a + (2 ** d.relevance[i] - 1) / Math.log2(r + 2), 0);
    const ideal = dcg([...items].sort((a, b) => d.relevance[b] - d.relevance[a]));
    if (ideal === 0) continue;
    sum += dcg([...items].sort((a, b) => scores[b] - scores[a])) / ideal;
    counted++;
  }
  return sum / counted;
}
