// FUSEDLOSS_ISA (binding/cpu/isa.cc): the CPU kernels' instruction-set level is the widest the CPU
// has, each lower level can be asked for, backends() reports it, and a value naming no level is
// ignored with a warning. CI runs the CPU parity files and the determinism test at every level
// (.ci/run); this file checks that the cap takes effect. Each case is a new process: the level is
// read once, when the addon loads.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const ADDON = path.join(root, 'build/Release/fusedloss.node');
const LEVELS = ['baseline', 'avx2', 'avx512'] as const;

function run(args: string[], isa: string | undefined) {
  const env = { ...process.env };
  delete env.FUSEDLOSS_ISA;
  delete env.FUSEDLOSS_ADDON;
  if (isa !== undefined) env.FUSEDLOSS_ISA = isa;
  const r = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r;
}

/** The addon's level, and the level its FMA probe says it measured, in a process with FUSEDLOSS_ISA = isa. */
function addonIsa(isa: string | undefined): { isa: string; envInvalid: string; probe: string } {
  const script = `const a = require(${JSON.stringify(ADDON)});
    console.log(JSON.stringify({ ...a.cpuIsa(), probe: a.fmaPeak(100, 1).isa }));`;
  return JSON.parse(run(['-e', script], isa).stdout);
}

/** The widest level, from the kernel's CPU flags (x86-64-v4 and v3 as GCC and the psABI define them). */
function cpuinfoWidest(): string {
  const flags = new Set(
    (readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '').trim().split(/\s+/),
  );
  const has = (names: string) => names.split(' ').every((f) => flags.has(f));
  if (has('avx512f avx512bw avx512cd avx512dq avx512vl avx2 fma bmi2 movbe')) return 'avx512';
  if (has('avx2 fma bmi1 bmi2 f16c lzcnt movbe xsave')) return 'avx2';
  return 'baseline';
}

const x86 = process.arch === 'x64' && process.platform === 'linux';
const PROBE: Record<string, RegExp> = { baseline: /baseline/, avx2: /AVX2/, avx512: /AVX-512/ };

describe.skipIf(!x86)('FUSEDLOSS_ISA', () => {
  const widest = cpuinfoWidest();

  it('unset: the widest level the CPU has', () => {
    const got = addonIsa(undefined);
    expect(got.isa).toBe(widest);
    expect(got.envInvalid).toBe('');
    expect(got.probe).toMatch(PROBE[widest]);
  });

  it('caps the level: each level up to the CPU’s runs as asked, a higher one at the CPU’s', () => {
    const top = LEVELS.indexOf(widest as (typeof LEVELS)[number]);
    for (const [i, level] of LEVELS.entries()) {
      const got = addonIsa(level);
      const expected = i <= top ? level : widest;
      expect(got.isa).toBe(expected);
      expect(got.probe).toMatch(PROBE[expected]);
    }
  });

  it('reports the level in backends().cpu, and warns about a value naming no level', () => {
    const script = `const f = require('./src'); console.log(f.backends().cpu.isa);`;
    const low = run(['--import', 'tsx', '-e', script], 'baseline');
    expect(low.stdout.trim()).toBe('baseline');
    expect(low.stderr).not.toMatch(/FUSEDLOSS_ISA/);
    const bad = run(['--import', 'tsx', '-e', script], 'avx9');
    expect(bad.stdout.trim()).toBe(widest);
    expect(bad.stderr).toMatch(/FUSEDLOSS_ISA="avx9" is not one of baseline, avx2, avx512/);
  });
});
