// The boundary's own bookkeeping: the typed params of src/wire-params.ts (checked by tsc, which
// `npm run lint` runs: each @ts-expect-error below fails the build when its line stops being an
// error) and the guard of src/wire.ts, which must cover every array-taking function the addon exports.
import { describe, expect, it } from 'vitest';
import { nativeAddon } from '../src/native';
import { WIRE_ARRAYS } from '../src/wire';
import type { AnyLossWire, ListParams, ProxyAnchorWire } from '../src/wire-params';

describe('the typed wire', () => {
  it('takes exactly the fields an entry point reads, with enum ids the C++ enum has', () => {
    const ok: AnyLossWire = {
      classes: 1,
      input: 0,
      amplifier: 73,
      metric: 4,
      beta: 1,
      eps: 1e-5,
      average: 0,
      device: 0,
    };
    // @ts-expect-error a misspelled field
    const misspelled: AnyLossWire = { ...ok, amplifer: 73 };
    // @ts-expect-error a field left out (average)
    const missing: AnyLossWire = { classes: 1, input: 0, amplifier: 73, metric: 4, beta: 1, eps: 1e-5, device: 0 };
    // @ts-expect-error RankListForm has ids 0 to 2
    const badId: ListParams['rankList'] = { listSize: 3, form: 3, skip: 0, margin: 0, device: 0 };
    // @ts-expect-error the addon refuses reduction 'none' (id 2) for proxyAnchor
    const none: ProxyAnchorWire = { dim: 2, alpha: 32, margin: 0.1, reduction: 2, device: 0 };
    expect([ok, misspelled, missing, badId, none]).toHaveLength(5);
  });
});

// The addon's functions that take no arrays (simLaunches: builds with the simulator), and the
// SphericalHead's own (src/spherical-head.ts).
const UNGUARDED = [
  'backends',
  'setThreads',
  'getThreads',
  'cpuIsa',
  'triadBandwidth',
  'fmaPeak',
  'expRate',
  'simLaunches',
];
const HEAD = ['SphericalHeadNative', 'denseSoftmaxStep'];

describe.skipIf(!nativeAddon())('the guard of src/wire.ts', () => {
  it('covers every loss entry point the addon exports', () => {
    const exported = Object.entries(nativeAddon()!)
      .filter(([name, f]) => typeof f === 'function' && !UNGUARDED.includes(name) && !HEAD.includes(name))
      .map(([name]) => name);
    expect(exported.sort()).toEqual(Object.keys(WIRE_ARRAYS).sort());
  });
});
