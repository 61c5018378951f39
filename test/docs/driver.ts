// Runs doc blocks one after another in this one process (tfjs loads once), recording what each
// console.log call printed by block file and line, and each block's error. Usage:
// tsx driver.ts <result.json> <block files...>
import { writeFileSync } from 'node:fs';
import { format } from 'node:util';
import { pathToFileURL } from 'node:url';

interface Result {
  prints: { line: number; text: string }[];
  error: string | null;
}
const [out, ...files] = process.argv.slice(2);
const results: Record<string, Result> = Object.fromEntries(files.map((f) => [f, { prints: [], error: null }]));

/** The block file and line a call came from, read off the stack (source-mapped by tsx). */
function origin(stack: string): { file: string; line: number } | null {
  for (const f of files) {
    const at = stack.indexOf(f + ':');
    if (at >= 0) return { file: f, line: Number(/^:(\d+)/.exec(stack.slice(at + f.length))![1]) };
  }
  return null;
}

const log = console.log.bind(console);
console.log = (...args: unknown[]) => {
  const text = format(...args);
  const where = origin(new Error().stack ?? '');
  if (where) results[where.file].prints.push({ line: where.line, text });
  log(text);
};
const failed = (err: unknown) => {
  const stack = err instanceof Error ? (err.stack ?? String(err)) : String(err);
  const where = origin(stack);
  const r = where ? results[where.file] : null;
  if (r && r.error === null) r.error = stack;
  else log('doc driver: error outside a block:', stack);
};
process.on('unhandledRejection', failed);

async function main() {
  for (const f of files) {
    try {
      await import(pathToFileURL(f).href);
    } catch (err) {
      results[f].error ??= err instanceof Error ? (err.stack ?? String(err)) : String(err);
    }
  }
  // Async work a block started (a ...Async call) settles before the results are written.
  process.on('beforeExit', () => {
    writeFileSync(out, JSON.stringify(results));
    process.exit(0);
  });
}
void main();
