// Code blocks of README.md and docs/*.md, as the doc tests run them. A block is run unless its
// fence says a shell language or the line above it is `<!-- no-run -->`. In a run block, a comment
// `// → VALUE` on a line quotes what that line prints (console.log); `≈` in a comment is refused,
// so no quoted value goes unchecked.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** The markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  code: string;
  /** Why the block is not run, or null when it is. */
  skip: string | null;
  /** Quoted output by 1-based line within `code`. */
  expected: Map<number, string>;
}

const SHELL = new Set(['sh', 'bash', 'shell', 'console', 'text', '']);
const NO_RUN = '<!-- no-run -->';

export function markdownFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export function extractBlocks(root: string, file: string): DocBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 1}: code block never closed`);
    const lang = open[1];
    const body = lines.slice(i + 1, end);
    const marked = i > 0 && lines[i - 1].trim() === NO_RUN;
    const skip = SHELL.has(lang) ? `${lang || 'plain'} block, not a program` : marked ? 'marked no-run' : null;
    const expected = new Map<number, string>();
    body.forEach((l, k) => {
      const comment = l.indexOf('//') >= 0 ? l.slice(l.indexOf('//')) : '';
      const arrow = comment.indexOf('→');
      if (arrow >= 0) expected.set(k + 1, comment.slice(arrow + 1).trim());
      else if (skip === null && comment.includes('≈')) {
        throw new Error(`${file}:${i + 2 + k}: a value quoted with ≈ is not checked; print it and quote it with →`);
      }
    });
    blocks.push({ file, line: i + 1, lang, code: body.join('\n') + '\n', skip, expected });
    i = end;
  }
  return blocks;
}

const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/gi;

/**
 * Whether a printed line matches its quoted value: the text between numbers must be equal (up to
 * runs of spaces), and each number must round to the quoted one at the quoted precision.
 */
export function matchesQuote(printed: string, quoted: string): boolean {
  const squash = (s: string) => s.replace(NUMBER, '#').replace(/\s+/g, ' ').trim();
  if (squash(printed) !== squash(quoted)) return false;
  const got = printed.match(NUMBER) ?? [];
  const want = quoted.match(NUMBER) ?? [];
  return want.every((w, k) => {
    const mantissa = w.toLowerCase().split('e');
    const decimals = (mantissa[0].split('.')[1] ?? '').length;
    const exponent = Number(mantissa[1] ?? 0);
    const tol = 0.5 * 10 ** (exponent - decimals) * (1 + 1e-9);
    return Math.abs(Number(got[k]) - Number(w)) <= tol;
  });
}
