// Real English text shipped by npm packages already installed as devDependencies: the
// documentation comments of @types/node and of TypeScript's own lib/*.d.ts (the DOM and
// ECMAScript declarations, whose comments come from MDN), split into word streams, one per comment. Code blocks, tags, links and inline
// code are dropped; the rest is lower-cased and cut into words.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Every .d.ts file under a folder. */
function declarationFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return declarationFiles(p);
    return e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The words of one doc comment's prose. */
function proseWords(comment: string): string[] {
  const words: string[] = [];
  let inCode = false;
  for (const raw of comment.split('\n')) {
    const line = raw.replace(/^\s*\*\s?/, '');
    if (line.trimStart().startsWith('```')) {
      inCode = !inCode;
      continue;
    }
    // Tags, and the MDN link line every DOM comment ends with.
    if (inCode || line.trimStart().startsWith('@') || line.includes('[MDN Reference]')) continue;
    const prose = line
      .replace(/\{@link\s+([^}|\s]+)[^}]*\}/g, '$1')
      .replace(/`[^`]*`/g, ' ')
      .replace(/https?:\/\/\S+/g, ' ')
      .toLowerCase();
    words.push(...(prose.match(/[a-z]+(?:'[a-z]+)?/g) ?? []));
  }
  return words;
}

/** The prose of every doc comment with at least `minWords` words, in file order. */
export function docStreams(minWords = 5): string[][] {
  const roots = [
    path.dirname(require.resolve('@types/node/package.json')),
    path.join(path.dirname(require.resolve('typescript/package.json')), 'lib'),
  ];
  const streams: string[][] = [];
  for (const file of roots.flatMap((r) => declarationFiles(r).sort())) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
      const words = proseWords(m[1]);
      if (words.length >= minWords) streams.push(words);
    }
  }
  return streams;
}
