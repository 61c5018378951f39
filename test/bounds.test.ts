// Checks once: TypeScript validates every option and writes every message; the native layer keeps
// its own bounds only as a guard (binding/napi number_field / int_field). So every value the
// registry's schema accepts must pass the native guard too: here each numeric option of each loss
// is called at its schema's extremes on every native backend, and the call must succeed with a
// finite loss. A schema wider than its native twin fails here with the native layer's message.
import { describe, expect, it } from 'vitest';
import type { ResolvedBackend } from '../src/native';
import { LOSS_LIST, type LossEntry } from '../src/registry';
import { gpuBackends } from './helpers';

// Options the layout fills in from the arrays' shapes (their bounds are the arrays').
const SHAPE_OPTIONS = new Set(['classes', 'dim', 'listSize']);
// The extremes a bound allows; an unbounded side is probed at +-1e6 (far past any native guard).
function extremes(spec: { min?: number; max?: number; minExclusive?: boolean; integer?: boolean }): number[] {
  const lo =
    spec.min === undefined ? -1e6 : spec.minExclusive ? spec.min + Math.max(1e-6, Math.abs(spec.min) * 1e-6) : spec.min;
  const hi = spec.max === undefined ? 1e6 : spec.max;
  return spec.integer ? [Math.ceil(lo), Math.floor(hi)] : [lo, hi];
}

function probes(e: LossEntry): [string, number][] {
  return Object.entries(e.options).flatMap(([key, spec]) =>
    spec.kind === 'number' && !SHAPE_OPTIONS.has(key) ? extremes(spec).map((v) => [key, v] as [string, number]) : [],
  );
}

const backends = [{ backend: 'cpu' as const, skip: false as const }, ...gpuBackends()];

describe.each(backends)('option bounds on $backend', ({ backend, skip }) => {
  it.skipIf(skip)('every value a schema accepts passes the native guard', () => {
    let calls = 0;
    for (const e of LOSS_LIST) {
      if (!e.backends.includes(backend as ResolvedBackend)) continue;
      for (const [key, value] of probes(e)) {
        const args = e.sample('small');
        const options = args.pop() as object;
        const run = e.sync as (...a: unknown[]) => { loss?: unknown };
        const call = (b: string) => {
          try {
            return run(...args, { ...options, [key]: value, backend: b });
          } catch (err) {
            return err as Error;
          }
        };
        // The reference backend is TypeScript alone: where it refuses a value (an option that
        // clashes with another), the native backend must refuse it with the same message.
        const js = call('js');
        const result = call(backend);
        const what = `${e.name} options.${key} = ${value}`;
        if (js instanceof Error) {
          expect(result instanceof Error ? result.message : 'no error', what).toBe(js.message);
          continue;
        }
        if (result instanceof Error)
          throw new Error(`${what}: the schema accepts it, ${backend} refuses: ${result.message}`);
        calls++;
        if (typeof result.loss === 'number') expect(Number.isFinite(result.loss), what).toBe(true);
      }
    }
    expect(calls).toBeGreaterThan(40);
  });
});
