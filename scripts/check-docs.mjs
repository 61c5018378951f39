#!/usr/bin/env node
// Checks the API reference for what issue 9 promises: every exported function (the ...Async twins
// excepted) has an @example, and every optional property of an exported interface whose name ends
// in Options states its default (the word "default", in any case); and that docs/api, the
// Markdown reference committed for readers of the repository, is what `npm run docs` writes from
// the sources now. It runs TypeDoc with the project's typedoc.json, writing the JSON model, the
// HTML and the Markdown into a temporary folder (docs/api is left alone), with warnings treated as
// errors; exits 1 and lists what is missing or stale.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const typedoc = join(root, 'node_modules', '.bin', 'typedoc');
const dir = mkdtempSync(join(tmpdir(), 'fusedloss-docs-'));

// TypeDoc's ReflectionKind values (typedoc/models/kind.ts).
const KIND = { Module: 2, Namespace: 4, Variable: 32, Function: 64, Interface: 256, Property: 1024 };

/** Every reflection under the project: one module per entry point ('fusedloss', 'fusedloss/tfjs'). */
function* reflections(node) {
  for (const child of node.children ?? []) {
    if (child.kind === KIND.Module || child.kind === KIND.Namespace) yield* reflections(child);
    else yield child;
  }
}

/** The plain text of a comment: its summary and every block tag's content. */
function commentText(comment) {
  if (!comment) return '';
  const parts = [...(comment.summary ?? [])];
  for (const tag of comment.blockTags ?? []) parts.push(...tag.content);
  return parts.map((p) => p.text).join('');
}

const hasExample = (comment) => (comment?.blockTags ?? []).some((t) => t.tag === '@example');

let project;
let stale = [];

/** Files of the fresh Markdown reference that docs/api lacks or holds differently, and extra ones. */
function staleFiles(fresh, committed) {
  const list = (d) => (existsSync(d) ? readdirSync(d, { recursive: true }).filter((f) => f.endsWith('.md')) : []);
  const want = list(fresh);
  const have = new Set(list(committed));
  const out = want.filter(
    (f) => !have.has(f) || readFileSync(join(fresh, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'),
  );
  return [...out, ...[...have].filter((f) => !want.includes(f))].map((f) => relative(root, join(committed, f)));
}
try {
  try {
    execFileSync(
      typedoc,
      [
        ...['--json', join(dir, 'api.json'), '--html', join(dir, 'html'), '--markdown', join(dir, 'md')],
        ...['--treatWarningsAsErrors', '--logLevel', 'Warn'],
      ],
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
    );
  } catch {
    console.error('check-docs: typedoc failed (warnings count as errors here); see its messages above');
    process.exit(1);
  }
  project = JSON.parse(readFileSync(join(dir, 'api.json'), 'utf8'));
  stale = staleFiles(join(dir, 'md'), join(root, 'docs', 'api'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const missing = [];
let functions = 0;
let options = 0;
for (const child of reflections(project)) {
  if (child.kind === KIND.Function && !child.name.endsWith('Async')) {
    functions++;
    const ok = hasExample(child.comment) || (child.signatures ?? []).some((s) => hasExample(s.comment));
    if (!ok) missing.push(`function ${child.name}: no @example`);
  }
  if (child.kind === KIND.Interface && child.name.endsWith('Options')) {
    for (const prop of child.children ?? []) {
      if (prop.kind !== KIND.Property || !prop.flags?.isOptional) continue;
      options++;
      if (!/default/i.test(commentText(prop.comment))) {
        missing.push(`${child.name}.${prop.name}: the comment does not state its default`);
      }
    }
  }
}

for (const f of stale) missing.push(`${f} is not what \`npm run docs\` writes now: run it and commit docs/api`);
if (functions === 0) missing.push('no exported function found: has the JSON layout of TypeDoc changed?');
if (missing.length > 0) {
  console.error(`check-docs: ${missing.length} gap(s) in the API reference:`);
  for (const m of missing) console.error(`  - ${m}`);
  process.exit(1);
}
console.log(
  `check-docs: ${functions} functions have an @example; ${options} optional properties of *Options interfaces state their default`,
);
