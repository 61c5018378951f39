#!/usr/bin/env node
// Checks that every citation of docs/formulas.md names a section that exists. A citation is
// `formulas E.1` (also lists and ranges: `formulas C, D.1 to D.3`, `formulas sections A and B`,
// `formulas "Conventions"`); a section exists when a heading of docs/formulas.md starts with that
// label. The old form `spec E.1` pointed at a document outside the repository: it is an error
// ("cite docs/formulas.md"), unless --allow-spec is given, which checks its labels like the new
// form's (for use until every comment has been rewritten). Exits 1 and lists file:line otherwise.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const allowSpec = process.argv.includes('--allow-spec');

const ROOTS = ['src', 'binding', 'cuda', 'test', 'bench', 'demo', 'docs', 'README.md'];
const SKIP_DIRS = new Set(['node_modules', 'build', 'dist', 'api', 'results']);
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|cc|cpp|c|h|hpp|cu|cuh|inl|md)$/;

// A label: a section letter with an optional number (E, E.1), or a quoted heading name.
const LABEL = String.raw`(?:[A-Z](?:\.[0-9]+)?(?!\w|\.[0-9])|"[A-Z][\w ]*")`;
const CITATION = new RegExp(
  String.raw`\b(formulas|Formulas|spec|Spec)(?: sections?)? (${LABEL}(?:(?:,| and| or| to|, and| /) ${LABEL})*)`,
  'g',
);
const LABEL_ALONE = new RegExp(LABEL, 'g');
const WRAPPED = /\b(formulas|spec)( sections?)?$/i;
const CONTINUATION = /^\s*(\/\/|\*|#)?\s*/;

/** The labels of docs/formulas.md: each heading's first word, a trailing '.' or ':' dropped. */
function headingLabels() {
  const labels = new Set();
  let fenced = false; // a '#' line inside a code block is not a heading
  for (const line of readFileSync(join(root, 'docs', 'formulas.md'), 'utf8').split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(\S+)/.exec(line);
    if (m) labels.add(m[1].replace(/[.:]$/, ''));
  }
  return labels;
}

function* files(path) {
  const entries = readdirSync(path, { withFileTypes: true });
  for (const e of entries) {
    const p = join(path, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) yield* files(p);
    } else if (TEXT.test(e.name)) {
      yield p;
    }
  }
}

function* sources() {
  for (const r of ROOTS) {
    const p = join(root, r);
    if (TEXT.test(r)) yield p;
    else yield* files(p);
  }
}

const labels = headingLabels();
const problems = [];
let citations = 0;
for (const file of sources()) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    // A citation wrapped after its keyword continues on the next line, past any comment marker.
    const own = line.trimEnd();
    const text = WRAPPED.test(own) ? `${own} ${(lines[i + 1] ?? '').replace(CONTINUATION, '')}` : own;
    for (const m of text.matchAll(CITATION)) {
      if (m.index >= own.length) continue; // starts on the next line: counted there
      citations++;
      const where = `${relative(root, file)}:${i + 1}`;
      const old = /^spec$/i.test(m[1]);
      if (old && !allowSpec) problems.push(`${where}: "${m[0]}": cite docs/formulas.md ("formulas ...")`);
      for (const [label] of m[2].matchAll(LABEL_ALONE)) {
        const name = label.replace(/"/g, '');
        if (!labels.has(name)) problems.push(`${where}: "${m[0]}": docs/formulas.md has no heading ${label}`);
      }
    }
  });
}

if (problems.length > 0) {
  console.error(`check-citations: ${problems.length} problem(s) in ${citations} citation(s):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`check-citations: ${citations} citation(s), all found in docs/formulas.md`);
