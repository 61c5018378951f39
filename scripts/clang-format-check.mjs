// Fails when a C++ or CUDA source differs from what clang-format (the npm package's binary,
// pinned by package-lock) would write. `node scripts/clang-format-check.mjs --fix` rewrites them.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const binary = path.join(
  path.dirname(require.resolve('clang-format/package.json')),
  'bin',
  'linux_x64',
  'clang-format',
);
const files = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard', 'binding', 'cuda', 'test/native'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => /\.(h|inc|cc|cu|cuh)$/.test(f));
const fix = process.argv.includes('--fix');
let bad = 0;
for (const f of files) {
  const formatted = execFileSync(binary, ['--style=file', f], { encoding: 'utf8' });
  if (formatted !== readFileSync(f, 'utf8')) {
    if (fix) writeFileSync(f, formatted);
    else console.error(`clang-format: ${f} is not formatted (run node scripts/clang-format-check.mjs --fix)`);
    bad++;
  }
}
if (bad && !fix) process.exit(1);
console.log(`clang-format: ${files.length} files checked${fix ? `, ${bad} rewritten` : ''}`);
