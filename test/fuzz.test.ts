// Fuzzing the public API with fast-check (fixed seed; set FUSEDLOSS_FUZZ_SEED to vary it, and
// the seed is printed with any failure). Every generated call must either return finite results
// of the documented shape, or throw a TypeError or RangeError whose code starts with
// ERR_FUSEDLOSS_ (an unavailable backend: a plain Error with ERR_FUSEDLOSS_BACKEND_UNAVAILABLE).
// Non-finite inputs (NaN, +-Infinity) are rejected, by the documented policy; huge finite values,
// -0 and denormals must give finite results. Most calls are shaped plausibly (so they reach the
// kernels) with values, labels and options drawn from the edges; the rest get hostile arguments.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as fl from '../src';
import { mulberry32 } from '../src/random';
import { backendSpec, type OptionSpec } from '../src/options';
import { LOSS_LIST, type Layout, type LossEntry } from '../src/registry';
import { expectAgree, type Comparable } from './helpers';

const SEED = Number(process.env.FUSEDLOSS_FUZZ_SEED ?? 20261122);
let calls = 0;

// ---- values ----

const SPECIAL = [NaN, Infinity, -Infinity, -0, 1e-40, -1e-42, 1e30, -1e30, 0];
const HUGE = [1e30, -1e30, 1e-40, -0];

/**
 * An array described by a few numbers and filled deterministically: cheap for a million entries
 * and readable in a failure report. `special` is the share of entries from the edges: the
 * non-finite ones only when `nonFinite`.
 */
interface Fill {
  n: number;
  seed: number;
  scale: number;
  special: number;
  nonFinite: boolean;
}

function fill({ n, seed, scale, special, nonFinite }: Fill): Float32Array {
  const r = mulberry32(seed);
  const edges = nonFinite ? SPECIAL : HUGE;
  const out = new Float32Array(n); // a plain loop: Float32Array.from with a callback is slow
  for (let i = 0; i < n; i++) out[i] = r() < special ? edges[Math.floor(r() * edges.length)] : (r() - 0.5) * 2 * scale;
  return out;
}

const fillArb = (n: fc.Arbitrary<number>): fc.Arbitrary<Fill> =>
  fc.record({
    n,
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    scale: fc.constantFrom(1, 10, 1e4),
    special: fc.constantFrom(0, 0, 0.01, 0.3),
    nonFinite: fc.constantFrom(false, false, false, true),
  });

/** Lengths: mostly the small and the prime, now and then large, rarely up to `max`. */
const small = fc.oneof(fc.constantFrom(0, 1, 2, 3, 5, 7, 13, 31), fc.integer({ min: 0, max: 64 }));
const count = (max: number) =>
  fc.oneof(
    { weight: 200, arbitrary: small },
    { weight: 10, arbitrary: fc.integer({ min: 65, max: Math.min(max, 4099) }) },
    { weight: 1, arbitrary: fc.integer({ min: Math.min(max, 4099), max }) },
  );

const HOSTILE: unknown[] = [
  null,
  undefined,
  'abc',
  42,
  -1,
  0.5,
  true,
  {},
  [],
  [1, 2, 3],
  new Float64Array(3),
  new Int8Array(3),
  new Uint8Array(4),
  new Int32Array(2),
  new Float32Array(0),
  Symbol('s'),
  10n,
  () => 1,
  new ArrayBuffer(8),
];
const hostile = fc.constantFrom(...HOSTILE);

// ---- options ----

// Each option's values come from the registry's schema: an enum's values and one it lacks, a
// boolean, arrays for the array options, and numbers from the edges for the rest.
const FLOAT_ARRAYS = new Set(['weights', 'classWeights', 'out', 'referenceOut', 'bias', 'reference']);
/** Options the schema types as 'any' whose plausible values are not arrays. */
const PLAUSIBLE_ANY: Record<string, unknown[]> = {
  metric: [...fl.METRICS, 'nope'],
  // Given pairs / triplets (formulas E.8): rows 0 and 1 (in range from N = 2), none, one past any batch.
  pairs: [
    { a1: [0, 0], p: [1, 0], a2: [1, 0], n: [0, 1] },
    { a1: [], p: [], a2: [], n: [] },
    { a1: [0], p: [70000], a2: [], n: [] },
  ],
  triplets: [
    { anchor: [0, 1, 1], positive: [1, 0, 0], negative: [1, 1, 0] },
    { anchor: [], positive: [], negative: [] },
  ],
  margin: [
    { kind: 'arcface' },
    { kind: 'cosface', s: 30, m: 0.2 },
    { kind: 'arcface', subCenters: 2 },
    { kind: 'x' },
    {},
  ],
};

function optionValue(spec: OptionSpec | undefined, key: string, n: number): fc.Arbitrary<unknown> {
  let plausible: fc.Arbitrary<unknown>;
  if (spec?.kind === 'enum') plausible = fc.constantFrom(...spec.values, 'x');
  else if (spec?.kind === 'boolean') plausible = fc.boolean();
  else if (FLOAT_ARRAYS.has(key))
    plausible = fc.constantFrom(n, n + 1, 0).map((len) => new Float32Array(len).fill(0.5));
  else if (key === 'referenceLabels') plausible = fc.constantFrom(n, 1, 0).map((len) => new Int32Array(len));
  else if (PLAUSIBLE_ANY[key]) plausible = fc.constantFrom(...PLAUSIBLE_ANY[key]);
  else
    plausible = fc.oneof(
      fc.double({ min: -2, max: 100, noNaN: true }),
      fc.integer({ min: -2, max: 200 }),
      fc.constantFrom(...SPECIAL),
    );
  return fc.oneof({ weight: 8, arbitrary: plausible }, { weight: 1, arbitrary: hostile });
}

/**
 * A random subset of the function's option keys (now and then an unknown one) over `fixed`;
 * `n` sizes the array options, `total` is the call's element count.
 */
function options(
  schema: Record<string, OptionSpec>,
  keys: string[],
  n: number,
  fixed: Record<string, unknown> = {},
  total = n,
) {
  const entries = keys.map((k) =>
    fc.option(optionValue(schema[k], k, n), { nil: undefined, freq: 2 }).map((v) => [k, v] as const),
  );
  const oneIn = (k: number) => fc.integer({ min: 0, max: k - 1 }).map((v) => v === 0);
  return fc.tuple(fc.tuple(...entries), oneIn(10), oneIn(20)).map(([kv, unknown, notAnObject]) => {
    if (notAnObject) return 'not an options object' as unknown as Record<string, unknown>;
    const o: Record<string, unknown> = { ...fixed };
    for (const [k, v] of kv) if (v !== undefined) o[k] = v;
    if (unknown) o.bogusOption = 1;
    // The JavaScript reference and the simulator are slow (O(n^2) pairs, a fiber per thread).
    if ((o.backend === 'js' || o.backend === 'cuda-sim') && total > 512) o.backend = 'cpu';
    return o;
  });
}

// ---- the check ----

/**
 * Every number of the result is finite; `skipped` lists the keys whose entries may be NaN (a ranking
 * metric's perList with emptyTargetAction 'skip' marks each skipped list so, as documented).
 */
function finiteResult(r: unknown, skipped: string[] = []): void {
  const check = (v: unknown, where: string) => {
    if (typeof v === 'number') expect(Number.isFinite(v), `${where} = ${v}`).toBe(true);
    else if (v instanceof Float32Array || v instanceof Float64Array) {
      const nanOk = skipped.includes(where);
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i]) && !(nanOk && Number.isNaN(v[i]))) expect.fail(`${where}[${i}] = ${v[i]}`);
    }
  };
  expect(typeof r).toBe('object');
  for (const [k, v] of Object.entries(r as object)) {
    if (v && typeof v === 'object' && !ArrayBuffer.isView(v))
      for (const [k2, v2] of Object.entries(v)) check(v2, `${k}.${k2}`);
    else check(v, k);
  }
}

function apiError(e: unknown): void {
  const err = e as Error & { code?: unknown };
  const ok =
    ((err instanceof TypeError || err instanceof RangeError) && String(err.code).startsWith('ERR_FUSEDLOSS_')) ||
    (err instanceof Error && err.code === 'ERR_FUSEDLOSS_BACKEND_UNAVAILABLE');
  if (!ok) throw new Error(`not an API error: ${err?.constructor?.name} ${String(err?.code)}: ${err?.message}`);
  expect(err.message.length).toBeGreaterThan(10);
}

function outcome(call: () => unknown, skipped: string[] = []): unknown {
  calls++;
  let r: unknown;
  try {
    r = call();
  } catch (e) {
    apiError(e);
    return undefined;
  }
  finiteResult(r, skipped);
  return r;
}

// Issue 18: inside the README's Numerics contract (|inputs| up to the bound named here) a finite
// result must also be right. Small native calls are held to the float64 reference by TOL.
const CONTRACT: Record<string, number> = {
  binaryCrossEntropy: 3e38,
  sigmoidFocal: 3e38,
  zLoss: 3e38,
  listNet: 3e38,
  rankNet: 3e38,
  lambdaLoss: 3e38,
  rankList: 1e11,
  listMLE: 1e11,
};

function agreesWithReference(f: (...args: never[]) => unknown, args: unknown[], r: unknown): void {
  const bound = CONTRACT[f.name];
  const o = args.find((a) => a !== null && typeof a === 'object' && !ArrayBuffer.isView(a)) as
    Record<string, unknown> | undefined;
  if (bound === undefined || !r || !o || (o.backend !== 'cpu' && o.backend !== 'cuda-sim')) return;
  const arrays = args.filter((a) => a instanceof Float32Array) as Float32Array[];
  if (arrays.some((a) => a.length > 512 || a.some((v) => !(Math.abs(v) <= bound)))) return;
  const got = r as Comparable;
  // Z-loss over 2 classes is constant (z = +-1): its true gradient is 0, and both sides return noise.
  if (f.name === 'zLoss' && o.classes === 2) return;
  const again = f as (...args: unknown[]) => unknown;
  const ref = again(...args.map((a) => (a === o ? { ...o, backend: 'js', out: undefined } : a))) as Comparable;
  expectAgree(got, ref, f.name);
}

/** One argument replaced by a hostile value, now and then. */
function maybeHostile<T extends unknown[]>(args: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(args, fc.integer({ min: 0, max: 40 }), hostile).map(([a, which, h]) => {
    if (which >= a.length) return a;
    const copy = [...a] as T;
    copy[which] = h;
    return copy;
  });
}

const RUNS = Number(process.env.FUSEDLOSS_FUZZ_RUNS ?? 5300);
/** A failing call in a few words: typed arrays by type, length and range, options in full. */
function summary(args: unknown[]): string {
  return args
    .map((a) => {
      if (a instanceof Float32Array || a instanceof Int32Array) {
        const finite = [...a].filter(Number.isFinite);
        const odd = a.length - finite.length;
        const range = finite.length ? `${Math.min(...finite)}..${Math.max(...finite)}` : '-';
        return `${a.constructor.name}(${a.length}) ${range}${odd ? `, ${odd} non-finite` : ''}`;
      }
      try {
        return JSON.stringify(a, (_, v) =>
          ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Float32Array).length})` : v,
        );
      } catch {
        return String(a);
      }
    })
    .join(' | ');
}

function run<T extends unknown[]>(arb: fc.Arbitrary<T>, f: (...args: T) => unknown, runs = RUNS): void {
  const out = fc.check(
    fc.property(maybeHostile(arb), (args) =>
      agreesWithReference(
        f,
        args,
        outcome(
          () => f(...args),
          args.some((a) => (a as { emptyTargetAction?: unknown } | null)?.emptyTargetAction === 'skip')
            ? ['perList']
            : [],
        ),
      ),
    ),
    { seed: SEED, numRuns: runs },
  );
  if (out.failed) {
    const why = (out.errorInstance as Error | undefined)?.message ?? String(out.errorInstance);
    throw new Error(
      `seed ${SEED}, path ${out.counterexamplePath}: ${why}\n  call: ${summary((out.counterexample?.[0] as unknown[]) ?? [])}`,
    );
  }
}

// ---- the API, family by family ----

type Schema = Record<string, OptionSpec>;
const unique = (k: string, i: number, all: string[]) => all.indexOf(k) === i;
const call = (f: unknown) => f as (...args: unknown[]) => unknown;

const binaryLabels = (n: number, seed: number) => {
  const r = mulberry32(seed);
  const odd = [0.3, -1, 2, NaN];
  return Float32Array.from({ length: n }, () => (r() < 0.05 ? odd[Math.floor(r() * odd.length)] : r() < 0.4 ? 1 : 0));
};
const classIds = (n: number, classes: number, seed: number) => {
  const r = mulberry32(seed);
  return Int32Array.from({ length: n }, () =>
    r() < 0.02 ? [-1, classes, 1 << 30][Math.floor(r() * 3)] : Math.floor(r() * classes),
  );
};

describe(`fuzz (fast-check seed ${SEED}, ${RUNS} runs per function)`, () => {
  afterAll(() => {
    console.log(`fuzz: ${calls} generated calls, seed ${SEED}`);
  });

  // Each layout's arrays, shaped plausibly (so the calls reach the kernels); `keys` are the loss's
  // option names. The element counts stay where the reference and the O(n^2) losses are quick.
  type Args = fc.Arbitrary<unknown[]>;
  const seed = fc.integer({ min: 0, max: 2 ** 31 - 1 });
  const binaryArgs = (schema: Schema, keys: string[]): Args =>
    fc
      .tuple(fillArb(count(1_000_000)), seed)
      .chain(([x, s]) => fc.tuple(fc.constant(fill(x)), fc.constant(binaryLabels(x.n, s)), options(schema, keys, x.n)));
  const classArgs = (schema: Schema, keys: string[], rows: fc.Arbitrary<number>, classes: fc.Arbitrary<number>): Args =>
    fc
      .tuple(rows, classes, seed)
      .chain(([b, c, s]) =>
        fc.tuple(
          fillArb(fc.constant(b * c)).map(fill),
          fc.constant(classIds(b, c, s)),
          options(schema, keys, b * c, { classes: c }),
        ),
      );
  const listArgs = (schema: Schema, keys: string[], longest: number): Args =>
    fc.tuple(count(2000), count(longest), seed, fc.boolean()).chain(([n, size, s, ragged]) => {
      const listSize = Math.max(1, Math.min(size, Math.floor(1_000_000 / Math.max(n, 1))));
      const items = n * listSize;
      const r = mulberry32(s);
      const relevance = Float32Array.from({ length: items }, () =>
        r() < 0.02 ? [0.5, NaN, -2][Math.floor(r() * 3)] : Math.floor(r() * 6) - 1,
      );
      const cut = ragged
        ? {
            offsets: Int32Array.from({ length: n + 1 }, (_, l) =>
              l === n ? items : Math.floor((l * items) / Math.max(n, 1)),
            ),
          }
        : { listSize };
      return fc.tuple(
        fillArb(fc.constant(items)).map(fill),
        fc.constant(relevance),
        options(schema, keys, listSize, cut, items),
      );
    });
  // Features [B, D], a weight (or proxies) [C, D] and B class ids; the classes set by the second
  // array's length.
  const twoSetArgs = (e: LossEntry, keys: string[]): Args =>
    fc
      .tuple(
        count(500),
        fc.integer({ min: 1, max: 64 }),
        count(300).map((c) => Math.max(c, 1)),
        seed,
      )
      .chain(([b, dim, classes, s]) =>
        fc.tuple(
          fillArb(fc.constant(b * dim)).map(fill),
          fillArb(fc.constant(classes * dim)).map(fill),
          fc.constant(classIds(b, classes, s)),
          options(e.options, keys, b, { dim }, b * classes * dim),
        ),
      );
  const ARGS: Record<Layout, (e: LossEntry, keys: string[]) => Args> = {
    confusion: (e, keys) => binaryArgs(e.options, keys),
    counts: (e, keys) => binaryArgs(e.options, keys),
    elementwise: (e, keys) => binaryArgs(e.options, keys),
    classes: (e, keys) =>
      classArgs(
        e.options,
        keys,
        count(3000),
        count(300).map((c) => Math.max(c, 1)),
      ),
    // Sorting losses are O(n log n) a list; the pairwise ones O(n^2).
    lists: (e, keys) => listArgs(e.options, keys, SORTING_LISTS.has(e.name) ? 100_000 : 2000),
    'list-metric': (e, keys) => listArgs(e.options, keys, 100_000),
    distill: (e, keys) =>
      fc
        .tuple(
          count(2000),
          count(200).map((c) => Math.max(c, 1)),
          seed,
        )
        .chain(([b, classes, s]) =>
          fc.tuple(
            fillArb(fc.constant(b * classes)).map(fill),
            fillArb(fc.constant(b * classes)).map(fill),
            fc.constant(classIds(b, classes, s)),
            options(e.options, keys, b * classes),
          ),
        ),
    // N stays under 1500: the pair losses are O(N^2 D) by nature. ntXent's labels may be null.
    embeddings: (e, keys) =>
      fc
        .tuple(count(1500), count(300), seed)
        .chain(([n, dim, s]) =>
          fc.tuple(
            fillArb(fc.constant(n * dim)).map(fill),
            fc.constant(e.name === 'ntXent' && s % 2 === 0 ? null : classIds(n, 1 + (s % 8), s)),
            options(e.options, keys, n * dim, { dim }),
          ),
        ),
    linear: twoSetArgs,
    proxies: twoSetArgs,
  };
  const SORTING_LISTS = new Set(['listMLE', 'listNet']);
  // Options the arrays' shapes set (a layout fills them in).
  const SHAPE_OPTIONS = new Set(['classes', 'dim', 'listSize', 'offsets']);

  for (const e of LOSS_LIST) {
    const keys = Object.keys(e.options).filter((k) => !SHAPE_OPTIONS.has(k));
    const runs = e.layout === 'embeddings' ? RUNS / 2 : RUNS;
    it(`${e.name} (${e.layout})`, () => run(ARGS[e.layout](e, keys), call(e.sync), runs));
    if (e.layout === 'confusion' || e.layout === 'counts') {
      it(`${e.name}: multi-class`, () =>
        run(
          classArgs(
            e.options,
            [...keys, 'average'].filter(unique),
            fc.integer({ min: 0, max: 300 }),
            fc.integer({ min: 1, max: 40 }),
          ),
          call(e.sync),
          RUNS / 2,
        ));
    }
  }

  // SphericalHead is a class, not a registry loss: its constructor's options, as it documents them.
  const number: OptionSpec = { kind: 'number' };
  const HEAD_OPTIONS: Schema = {
    loss: { kind: 'enum', values: ['z', 'mse'] },
    a: number,
    b: number,
    init: number,
    seed: number,
    stabilizeEvery: number,
    backend: backendSpec,
  };
  it('SphericalHead: construction, step, scores and topK', () => {
    const arb = fc
      .tuple(
        fc.oneof(fc.integer({ min: 1, max: 400 }), hostile),
        fc.oneof(fc.integer({ min: 1, max: 24 }), hostile),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      )
      .chain(([classes, dim, m, s]) => {
        const d = Number.isInteger(dim) && (dim as number) > 0 ? (dim as number) : 4;
        const c = Number.isInteger(classes) && (classes as number) > 0 ? (classes as number) : 10;
        return fc.tuple(
          fc.constant(classes),
          fc.constant(dim),
          options(HEAD_OPTIONS, Object.keys(HEAD_OPTIONS), m),
          fillArb(fc.constant(m * d)).map(fill),
          fc.constant(classIds(m, c, s)),
          options({}, ['lr', 'weightDecay'], m),
          fc.oneof(fc.integer({ min: 0, max: c + 1 }), hostile),
        );
      });
    run(
      arb,
      (classes, dim, ctor, hidden, targets, stepOptions, k) => {
        // Hostile options objects go in as they came; plausible ones get the drawn sizes.
        const o = ctor !== null && typeof ctor === 'object' ? { ...ctor, classes, dim } : ctor;
        const head = new fl.SphericalHead(o as never);
        const r = head.step(hidden, targets, stepOptions as never);
        return { ...r, scores: head.scores(hidden), top: head.topK(hidden, k as number).scores };
      },
      RUNS / 2,
    );
  });

  it('setThreads takes integers in [1, 1024] and nothing else', () => {
    const initial = fl.getThreads();
    // Few runs: every accepted value starts or stops pool threads.
    run(
      fc.tuple(fc.oneof(fc.integer({ min: -5, max: 2000 }), fc.double(), hostile)),
      (n) => {
        fl.setThreads(n as number);
        return {};
      },
      200,
    );
    fl.setThreads(initial);
  });

  // With FUSEDLOSS_FUZZ_RUNS set (the sanitizer job runs fewer), the count is what was asked.
  it.skipIf(process.env.FUSEDLOSS_FUZZ_RUNS !== undefined)(`made at least 100,000 calls`, () => {
    expect(calls).toBeGreaterThanOrEqual(100_000);
  });
});
