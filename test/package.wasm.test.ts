// The npm tarball on a platform without a prebuild: packed, installed with install scripts
// disabled, its linux-x64 prebuild deleted. backends() must report the WebAssembly build, and
// 'auto' must run it. Needs dist/ and prebuilds/wasm32 (`npm run build:ts`, `npm run build:wasm`).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsumer, pack } from './pack';

const root = path.resolve(__dirname, '..');
const node = process.execPath;
// CI builds the wasm; a clone without Emscripten skips.
const ready = existsSync(path.join(root, 'prebuilds', 'wasm32', 'fusedloss.wasm')) || !!process.env.CI;

let work = '';
let consumer = '';
let tarball = '';
let files: string[] = [];

beforeAll(() => {
  if (!ready) return;
  work = mkdtempSync(path.join(tmpdir(), 'fusedloss-wasm-pack-'));
  ({ tarball, files } = pack(work));
  consumer = installConsumer(work, [tarball]);
  // As on a platform the prebuilds do not cover.
  rmSync(path.join(consumer, 'node_modules', 'fusedloss', 'prebuilds', `${process.platform}-${process.arch}`), {
    recursive: true,
    force: true,
  });
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!ready)('the packed tarball without a native prebuild', () => {
  it('ships the WebAssembly build and stays under 15 MB', () => {
    expect(files).toContain('prebuilds/wasm32/fusedloss.wasm');
    expect(files).toContain('prebuilds/wasm32/fusedloss.js');
    expect(files).toContain('dist/browser.js');
    expect(statSync(tarball).size).toBeLessThan(15 * 2 ** 20);
  });

  it("reports 'wasm' available, and 'auto' gives the wasm result", () => {
    const child = spawnSync(
      node,
      [
        '-e',
        `const f = require('fusedloss');
         const x = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 0.37) * 3);
         const y = Float32Array.from({ length: 2000 }, (_, i) => (i % 3 === 0 ? 1 : 0));
         const run = (backend) => f.anyLoss(x, y, { metric: 'mcc', backend });
         const [auto, wasm, js] = [run('auto'), run('wasm'), run('js')];
         const same = auto.loss === wasm.loss && auto.grad.every((g, i) => Object.is(g, wasm.grad[i]));
         const differs = auto.grad.some((g, i) => g !== js.grad[i]);
         f.anyLossAsync(x, y, { metric: 'mcc' }).then((a) => console.log(JSON.stringify({
           backends: f.backends(), same, differs, async: a.loss === wasm.loss,
           gap: Math.abs(auto.loss - js.loss) / Math.abs(js.loss),
           path: require.resolve('fusedloss'),
         })));`,
      ],
      { cwd: consumer, encoding: 'utf8', env: { PATH: path.dirname(node) } },
    );
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr.match(/FUSEDLOSS_NO_NATIVE/g)).toHaveLength(1);
    const r = JSON.parse(child.stdout) as {
      backends: { cpu: { available: boolean }; wasm: { available: boolean } };
      same: boolean;
      differs: boolean;
      async: boolean;
      gap: number;
      path: string;
    };
    expect(r.path.startsWith(realpathSync(consumer))).toBe(true);
    expect(r.backends.cpu.available).toBe(false);
    expect(r.backends.wasm).toEqual({ available: true });
    // The same bits as the wasm backend, and not the float64 reference's (which differ a little).
    expect(r.same).toBe(true);
    expect(r.differs).toBe(true);
    expect(r.async).toBe(true);
    expect(r.gap).toBeLessThan(1e-5);
  });

  it("resolves the browser entry 'fusedloss/wasm' (Node loads it too)", () => {
    const out = execFileSync(
      node,
      [
        '--input-type=module',
        '-e',
        `import { initWasm, anyLoss } from 'fusedloss/wasm'; console.log(typeof initWasm, typeof anyLoss);`,
      ],
      { cwd: consumer, encoding: 'utf8', stdio: 'pipe' },
    );
    expect(out.trim()).toBe('function function');
  });
});
