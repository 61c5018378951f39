// The default call (no options.out) allocates its gradient without zeroing it and, on glibc, from
// memory the addon keeps in malloc's heap (binding/napi/malloc_tuning.cc): fast, but only right if
// every backend writes every entry of the gradient, and only safe if each call's buffer is its
// own. This file checks both, and that the tuning is in effect: fresh gradients stop costing a
// page fault per page (before it, softmax cross-entropy at 64 x 160000 took 10000 a call).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as fl from '../src';
import { freshFloat32 } from '../src/fresh';
import { gradientKeys, hasGradient, LOSS_LIST, type LossEntry } from '../src/registry';
import { bitwiseEqual } from './helpers';

type Result = { loss: number | Float32Array } & Record<string, Float32Array>;
const LOSSES = LOSS_LIST.filter(hasGradient);
const report = fl.backends();
const BACKENDS = (['cpu', 'js', 'cuda-sim', 'wasm'] as const).filter((b) => report[b].available);

function call(e: LossEntry, size: 'small' | 'large', extra: object): Result {
  const args = e.sample(size);
  const options = args.pop() as object;
  return (e.sync as (...a: unknown[]) => Result)(...args, { ...options, ...extra });
}

describe('Every backend writes every entry of the gradient', () => {
  // An entry a backend skipped would keep what `out` held: NaN in one call, 0 in the other.
  for (const backend of BACKENDS) {
    for (const e of LOSSES) {
      const size = backend === 'cpu' ? 'large' : 'small';
      it(`${e.name} on ${backend} (${size} sample)`, () => {
        // The two-input layouts have two gradients (and an out buffer for each); the others one.
        const keys = gradientKeys(e);
        const grads = (r: Result) => keys.map((k) => r[k]);
        const lengths = grads(call(e, size, { backend })).map((g) => g.length);
        const out = (v: number) => {
          const bufs = lengths.map((n) => new Float32Array(n).fill(v));
          return keys.length > 1 ? Object.fromEntries(keys.map((k, i) => [k, bufs[i]])) : bufs[0];
        };
        const nan = grads(call(e, size, { backend, out: out(NaN) }));
        const zero = grads(call(e, size, { backend, out: out(0) }));
        const fresh = grads(call(e, size, { backend }));
        zero.forEach((z, i) => {
          expect(bitwiseEqual(nan[i], z)).toBe(true);
          expect(bitwiseEqual(fresh[i], z)).toBe(true);
        });
      });
    }
  }
});

describe('Gradients of default calls', () => {
  const x = Float32Array.from({ length: 1 << 20 }, (_, i) => Math.sin(i));
  const t = Int32Array.from({ length: 1 << 10 }, (_, i) => (i * 7) % 1024);
  const ce = () => fl.softmaxCrossEntropy(x, t, { backend: 'cpu' }).grad;

  it('each own a whole ArrayBuffer that no other gradient shares', () => {
    const a = ce();
    const b = ce();
    for (const g of [a, b]) {
      expect(g.byteOffset).toBe(0);
      expect(g.buffer.byteLength).toBe(4 * x.length);
    }
    expect(a.buffer).not.toBe(b.buffer);
    const before = b.slice();
    a.fill(7);
    expect(bitwiseEqual(b, before)).toBe(true);
  });

  it('stay as they were while later calls allocate and drop hundreds of MB of gradients', () => {
    const held = [
      ce(),
      fl.anyLoss(
        x,
        x.map((v) => +(v > 0)),
        { backend: 'cpu' },
      ).grad,
    ];
    const copies = held.map((g) => g.slice());
    // 4 MiB a call: V8 collects the dropped ones (and malloc hands their memory out again) many times.
    for (let i = 0; i < 100; i++) ce();
    held.forEach((g, i) => expect(bitwiseEqual(g, copies[i])).toBe(true));
  });

  it('below that limit take unzeroed memory: the whole ArrayBuffer of a Buffer.allocUnsafeSlow', () => {
    // Before the fix the limit was read as 0 (Buffer.constants does not exist) and every gradient
    // was a zeroed typed array: a memset of the whole gradient in each default call.
    const spy = vi.spyOn(Buffer, 'allocUnsafeSlow');
    try {
      const g = freshFloat32('f', 'the gradient', 1000);
      expect(spy).toHaveBeenCalledWith(4000);
      expect(g.buffer).toBe((spy.mock.results[0].value as Buffer).buffer);
      expect(g.buffer.byteLength).toBe(4000);
    } finally {
      spy.mockRestore();
    }
  });

  it("past Node's 4 GiB Buffer limit are still made (zeroed: a typed array may be larger than a Buffer)", () => {
    // Not written: calloc maps the pages lazily, so this costs address space, not memory.
    const g = freshFloat32('f', 'the gradient', 2 ** 30 + 16);
    expect(g.length).toBe(2 ** 30 + 16);
    expect(g.buffer.byteLength).toBe(4 * (2 ** 30 + 16));
  });

  it('of async calls in flight together are distinct, and each equals the sync result', async () => {
    const want = ce();
    const got = await Promise.all(Array.from({ length: 8 }, () => fl.softmaxCrossEntropyAsync(x, t)));
    expect(new Set(got.map((r) => r.grad.buffer)).size).toBe(8);
    for (const r of got) expect(bitwiseEqual(r.grad, want)).toBe(true);
  });
});

describe('The malloc tuning', () => {
  const glibc = process.platform === 'linux' && !!process.report?.getReport && glibcVersion();
  function glibcVersion(): string | undefined {
    return (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  }
  const addon = path.resolve(__dirname, '../build/Release/fusedloss.node');
  const tuned = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).backends(false).mallocTuned)`], {
      env: { ...process.env, FUSEDLOSS_MALLOC_TUNING: '', GLIBC_TUNABLES: '', ...env },
      encoding: 'utf8',
    }).stdout.trim();

  it.skipIf(!glibc)('is on under glibc, and off with FUSEDLOSS_MALLOC_TUNING=0 or the user’s own thresholds', () => {
    expect(report.cpu.mallocTuned).toBe(true);
    expect(tuned({})).toBe('true');
    expect(tuned({ FUSEDLOSS_MALLOC_TUNING: '0' })).toBe('false');
    expect(tuned({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1000000' })).toBe('false');
  });

  it.skipIf(!glibc)('spares default calls the page faults of fresh memory, at sizes past 32 MiB too', () => {
    // 41 MB gradients: past glibc's largest automatic mmap threshold, so each one was a fresh mmap.
    const [rows, classes] = [64, 160_000];
    const logits = Float32Array.from({ length: rows * classes }, (_, i) => Math.sin(i));
    const targets = Int32Array.from({ length: rows }, (_, i) => (i * 9973) % classes);
    const pages = (4 * logits.length) / 4096;
    let keep: Float32Array | undefined;
    for (let i = 0; i < 4; i++) keep = fl.softmaxCrossEntropy(logits, targets, { backend: 'cpu' }).grad;
    const f0 = process.resourceUsage().minorPageFault;
    const calls = 12;
    for (let i = 0; i < calls; i++) keep = fl.softmaxCrossEntropy(logits, targets, { backend: 'cpu' }).grad;
    const perCall = (process.resourceUsage().minorPageFault - f0) / calls;
    expect(keep?.length).toBe(logits.length);
    // Untuned: about `pages` faults a call. Tuned: a few hundred at most (the heap's growth until
    // V8's collections keep pace).
    expect(perCall).toBeLessThan(pages / 4);
  });
});
