// The array arguments of each native entry point (binding/napi), and the guard every call to the
// addon goes through: outputs must not share memory with any other argument; a buffer an async
// call in flight will write is refused to every other call until that call settles; and an async
// call works on private copies, so that nothing the caller does meanwhile (transferring a buffer
// to a Worker, which may free it) can leave the native work reading or writing freed memory.
//
// Copying, not pinning or refusing: N-API (Node 20) cannot keep an ArrayBuffer from being
// transferred, and refusing transferable buffers would refuse every ArrayBuffer. The copies cost
// one memcpy of each input and of each output back; measured in bench/async-copy.ts.
import { typeError } from './errors';
import type { NativeAddon } from './native';

/** An array argument: its position, its name in the public API, and whether the call writes it. */
interface Slot {
  at: number;
  name: string;
  /** 'out': written only (its copy starts zeroed); 'inout': read, then written. */
  writes?: 'out' | 'inout';
}

const OUT: Slot = { at: 3, name: 'options.out', writes: 'out' };
const confusion = (scores: string): Slot[] => [
  { at: 0, name: scores },
  { at: 1, name: 'labels' },
  { at: 2, name: 'options.weights' },
  OUT,
];
const listInputs: Slot[] = [
  { at: 0, name: 'scores' },
  { at: 1, name: 'relevance' },
  { at: 2, name: 'options.offsets' },
];
const METRICS_OUT = { name: 'the per-list metrics', writes: 'out' } as const;
// The list losses: the per-list metrics (options.metrics) after params, the async flag last.
const list: Slot[] = [...listInputs, OUT, { at: 5, ...METRICS_OUT }];

// The proxy losses: embeddings, proxies and labels, and a gradient for each of the first two.
const proxies: Slot[] = [
  { at: 0, name: 'embeddings' },
  { at: 1, name: 'proxies' },
  { at: 2, name: 'labels' },
  { at: 3, name: 'options.out.gradEmbeddings', writes: 'out' },
  { at: 4, name: 'options.out.gradProxies', writes: 'out' },
];

/** The addon's functions that take arrays: every one must be guarded, so each needs its slots below. */
type ArrayEntry = Exclude<
  keyof NativeAddon,
  'backends' | 'setThreads' | 'getThreads' | 'cpuIsa' | 'triadBandwidth' | 'fmaPeak' | 'expRate' | 'simLaunches'
>;

/**
 * The array slots of every native loss entry point, in the order binding/napi takes them. An entry
 * point of NativeAddon missing here is a compile error (pairwiseHinge and approxNDCG once were, and
 * ran unguarded: no aliasing or in-flight check, no private copies when async).
 */
export const WIRE_ARRAYS = {
  confusionCounts: confusion('scores'),
  confusionBackward: [
    ...confusion('scores').slice(0, 3),
    { ...OUT, writes: 'inout' }, // holds what confusionCounts stashed
    { at: 4, name: 'dpos' },
    { at: 5, name: 'dneg' },
  ],
  anyLoss: confusion('scores'),
  overlapLoss: confusion('scores'),
  binaryCrossEntropy: confusion('logits'),
  sigmoidFocal: confusion('logits'),
  sphericalLoss: [
    { at: 0, name: 'logits' },
    { at: 1, name: 'targets' },
    { at: 2, name: 'options.out', writes: 'out' },
    { at: 3, name: 'the row losses', writes: 'out' },
  ],
  softmaxLoss: [
    { at: 0, name: 'logits' },
    { at: 1, name: 'targets' },
    { at: 2, name: 'options.weights' },
    { at: 3, name: 'options.classWeights' },
    { at: 4, name: 'options.out', writes: 'out' },
    { at: 5, name: 'the row losses', writes: 'out' },
    { at: 6, name: 'the row log-sum-exps', writes: 'out' },
  ],
  listMLE: list,
  rankingMetrics: [...listInputs, { at: 3, ...METRICS_OUT }],
  rankList: list,
  listNet: list,
  rankNet: list,
  pairwiseHinge: list,
  approxNDCG: list,
  lambdaLoss: list,
  neuralNDCG: list,
  pairLoss: [
    { at: 0, name: 'embeddings' },
    { at: 1, name: 'labels' },
    { at: 2, name: 'options.reference' },
    { at: 3, name: 'options.referenceLabels' },
    { at: 4, name: 'options.out', writes: 'out' },
    { at: 5, name: 'options.referenceOut', writes: 'out' },
  ],
  linearCrossEntropy: [
    { at: 0, name: 'hidden' },
    { at: 1, name: 'weight' },
    { at: 2, name: 'targets' },
    { at: 3, name: 'options.bias' },
    { at: 4, name: 'options.weights' },
    { at: 5, name: 'options.classWeights' },
    { at: 6, name: 'options.out.gradHidden', writes: 'out' },
    { at: 7, name: 'options.out.gradWeight', writes: 'out' },
    { at: 8, name: 'options.out.gradBias', writes: 'out' },
    { at: 9, name: 'the row losses', writes: 'out' },
    { at: 10, name: 'the row LSEs', writes: 'out' },
  ],
  proxyAnchor: proxies,
  proxyNCA: [...proxies, { at: 5, name: 'the row losses', writes: 'out' }],
  plackettLuceDistill: [
    { at: 0, name: 'studentLogits' },
    { at: 1, name: 'teacherLogits' },
    { at: 2, name: 'labels' },
    { at: 3, name: 'options.out', writes: 'out' },
  ],
} satisfies Record<ArrayEntry, Slot[]>;

/** The typed arrays the addon takes. */
type View = Float32Array | Float64Array | Int32Array | Uint8Array;

function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteLength > 0 &&
    b.byteLength > 0 &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/** Byte ranges of buffers that async calls in flight will write, by buffer. */
const inFlight = new WeakMap<ArrayBufferLike, ArrayBufferView[]>();
let inFlightCount = 0;

/** Refuses `v` when an async call in flight writes memory it shares. */
export function checkNotInFlight(fn: string, name: string, v: ArrayBufferView): void {
  if (inFlightCount === 0) return;
  for (const w of inFlight.get(v.buffer) ?? []) {
    if (overlaps(v, w)) {
      throw typeError(
        'ERR_FUSEDLOSS_BUFFER_IN_USE',
        `${fn}${fn ? ': ' : ''}${name} shares memory with the output of an async call still in flight; await that call before reusing its buffer`,
      );
    }
  }
}

/** The error for output `written` sharing memory with argument `other`. */
function aliasError(fn: string, written: string, other: string) {
  return typeError(
    'ERR_FUSEDLOSS_INVALID_ARG_VALUE',
    `${fn}${fn ? ': ' : ''}${written} must not share memory with ${other}: the call writes one while it reads or writes the other`,
  );
}

/** Refuses an output that shares memory with any other argument, naming both. */
export function checkDisjoint(
  fn: string,
  arrays: ReadonlyArray<readonly [string, ArrayBufferView, boolean, ...unknown[]]>,
): void {
  for (let i = 0; i < arrays.length; i++) {
    for (let j = i + 1; j < arrays.length; j++) {
      const a = arrays[i],
        b = arrays[j];
      // Two inputs may share memory.
      if ((a[2] || b[2]) && overlaps(a[1], b[1])) throw a[2] ? aliasError(fn, a[0], b[0]) : aliasError(fn, b[0], a[0]);
    }
  }
}

function track(outputs: ArrayBufferView[], add: boolean): void {
  for (const o of outputs) {
    const list = inFlight.get(o.buffer) ?? [];
    if (add) list.push(o);
    else list.splice(list.indexOf(o), 1);
    if (list.length) inFlight.set(o.buffer, list);
    else inFlight.delete(o.buffer);
  }
  inFlightCount += add ? outputs.length : -outputs.length;
}

/** A view whose ArrayBuffer was detached reads as length 0. */
function detached(v: View, length: number): boolean {
  return v.length !== length;
}

/** `entry` of the addon, guarded (see the top of this file). Errors are prefixed by nativeCall. */
function guard(entry: (...args: unknown[]) => unknown, slots: readonly Slot[]) {
  return (...args: unknown[]): unknown => {
    // Checked in place, without building lists: this runs on every call, however small.
    for (let i = 0; i < slots.length; i++) {
      const a = slots[i],
        v = args[a.at];
      if (!ArrayBuffer.isView(v)) continue;
      checkNotInFlight('', a.name, v);
      for (let j = i + 1; j < slots.length; j++) {
        const b = slots[j],
          u = args[b.at];
        if ((a.writes || b.writes) && ArrayBuffer.isView(u) && overlaps(v, u)) {
          throw a.writes ? aliasError('', a.name, b.name) : aliasError('', b.name, a.name);
        }
      }
    }
    if (args[args.length - 1] !== true) return entry(...args);
    // Async: private copies in, outputs copied back when the call settles.
    const present = slots
      .filter((s) => ArrayBuffer.isView(args[s.at]))
      .map((s) => [s.name, args[s.at] as View, s] as const);
    const copy = [...args];
    const outputs: Array<[View, View, string]> = [];
    for (const [name, v, s] of present) {
      copy[s.at] = s.writes === 'out' ? new (v.constructor as new (n: number) => View)(v.length) : v.slice();
      if (s.writes) outputs.push([v, copy[s.at] as View, name]);
    }
    const mine = outputs.map(([v]) => v);
    const p = entry(...copy) as Promise<unknown>;
    track(mine, true);
    const settle = () => track(mine, false);
    return p.then(
      (r) => {
        settle();
        for (const [v, c, name] of outputs) {
          if (detached(v, c.length)) {
            throw typeError(
              'ERR_FUSEDLOSS_INVALID_ARG_TYPE',
              `${name}'s ArrayBuffer was detached (transferred) during the call; its result is lost`,
            );
          }
          (v as Float32Array).set(c as Float32Array);
        }
        return r;
      },
      (e: unknown) => {
        settle();
        throw e;
      },
    );
  };
}

/** The addon with every loss entry point guarded. */
export function guardAddon<A extends object>(addon: A): A {
  const guarded: Record<string, unknown> = { ...(addon as Record<string, unknown>) };
  for (const [name, slots] of Object.entries(WIRE_ARRAYS)) {
    const entry = (addon as Record<string, unknown>)[name];
    if (typeof entry === 'function') guarded[name] = guard(entry as (...args: unknown[]) => unknown, slots);
  }
  return guarded as A;
}
