// Every code block of README.md and docs/*.md runs as a user would paste it: written to a folder
// outside the repository whose node_modules links to this package (so `require('fusedloss')` and
// `fusedloss/tfjs` resolve through package.json's exports to dist/, the built package) and to
// tfjs, run by tsx, all blocks in one process. A line commented `// → VALUE` must print VALUE.
// Needs dist/ (npm run build).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractBlocks, markdownFiles, matchesQuote, type DocBlock } from './docs/blocks';

const root = resolve(__dirname, '..');
// Blocks on the 'wasm' backend need prebuilds/wasm32 (npm run build:wasm, Emscripten): CI always
// builds it, a clone may not.
const wasmBuilt = existsSync(join(root, 'prebuilds', 'wasm32', 'fusedloss.wasm')) || !!process.env.CI;
const blocks = markdownFiles(root)
  .flatMap((f) => extractBlocks(root, f))
  .map((b) =>
    b.skip === null && !wasmBuilt && /backend: 'wasm'/.test(b.code)
      ? { ...b, skip: 'needs the wasm build (npm run build:wasm)' }
      : b,
  );
const runnable = blocks.filter((b) => b.skip === null);

/** File name of a block: its source and line, and an extension that tells tsx its module kind. */
function blockFile(b: DocBlock): string {
  const ts = b.lang === 'ts' || b.lang === 'typescript';
  const ext = /\brequire\(/.test(b.code) ? (ts ? 'cts' : 'cjs') : ts ? 'mts' : 'mjs';
  return `${basename(b.file, '.md')}-${b.line}.${ext}`;
}

let dir = '';
let results: Record<string, { prints: { line: number; text: string }[]; error: string | null }> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fusedloss-doc-blocks-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(root, join(dir, 'node_modules', 'fusedloss'), 'dir');
  symlinkSync(join(root, 'node_modules', '@tensorflow'), join(dir, 'node_modules', '@tensorflow'), 'dir');
  const files = runnable.map((b) => {
    const f = join(dir, blockFile(b));
    writeFileSync(f, b.code);
    return f;
  });
  const out = join(dir, 'results.json');
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  await promisify(execFile)(tsx, [join(__dirname, 'docs', 'driver.ts'), out, ...files], {
    cwd: dir,
    timeout: 240_000,
    maxBuffer: 1 << 26,
  });
  const byPath = JSON.parse(readFileSync(out, 'utf8'));
  results = Object.fromEntries(runnable.map((b, k) => [blockFile(b), byPath[files[k]]]));
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('doc blocks', () => {
  for (const b of blocks) {
    const name = `${b.file}:${b.line} (${b.lang || 'plain'})`;
    if (b.skip !== null) {
      it.skip(`${name}: ${b.skip}`, () => {});
      continue;
    }
    it(name, () => {
      const r = results[blockFile(b)];
      expect(r, 'the driver reported nothing for this block').toBeDefined();
      expect(r.error, 'the block threw').toBeNull();
      for (const [line, quoted] of b.expected) {
        const printed = r.prints.filter((p) => p.line === line).map((p) => p.text);
        const where = `${b.file}:${b.line + line}`;
        expect(printed.length, `${where} quotes "${quoted}" but printed nothing`).toBeGreaterThan(0);
        for (const text of printed) {
          expect(matchesQuote(text, quoted), `${where} printed "${text}", the doc says "${quoted}"`).toBe(true);
        }
      }
    });
  }
});
