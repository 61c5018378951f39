// `npm run lint`: the TypeScript and C++ sides of the wire agree. Every enum id in src/wire-enums.ts
// equals the value of the C++ enumerator it names, every C++ enumerator has a TypeScript value,
// every shared constant has the same value on both sides, and every enum_field() bound in
// binding/napi is its enum's last enumerator; every option bound of src/wire-bounds.ts equals its
// binding/napi/bounds.h twin, and napi field calls use those names, never literals. Prints each
// disagreement and exits 1.
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const read = (f) => readFileSync(path.join(root, f), 'utf8');
const ls = (dir, ext) =>
  readdirSync(path.join(root, dir))
    .filter((f) => f.endsWith(ext))
    .map((f) => `${dir}/${f}`);

const headers = [...ls('binding/include/fusedloss', '.h'), 'binding/napi/args.h'];
const napi = ls('binding/napi', '.cc');
const cpp = headers.map((f) => [f, read(f).replace(/\/\/.*$/gm, '')]);

// C++ enums: name -> ordered [enumerator, value] (Count_ markers left out).
const enums = new Map();
for (const [, text] of cpp) {
  for (const m of text.matchAll(/enum class (\w+)\s*:\s*\w+\s*\{([^}]*)\}/g)) {
    let next = 0;
    const list = [];
    for (const item of m[2]
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [name, value] = item.split('=').map((s) => s.trim());
      const v = value === undefined ? next : Number(value);
      next = v + 1;
      if (name !== 'Count_') list.push([name, v]);
    }
    enums.set(m[1], list);
  }
}

const errors = [];
const ts = read('src/wire-enums.ts');
const block = (name) =>
  ts.slice(ts.indexOf(`export const ${name} = {`), ts.indexOf('\n}', ts.indexOf(`export const ${name} = {`)));

// src/wire-enums.ts, one entry a line: `  Enum: {` then `    'value': ['Enumerator', id],`.
let current = null;
const used = new Map();
for (const line of block('WIRE_ENUMS').split('\n')) {
  const open = /^ {2}(\w+): \{$/.exec(line);
  if (open) {
    current = open[1];
    if (!enums.has(current)) errors.push(`src/wire-enums.ts: ${current} is not a C++ enum in ${headers.join(', ')}`);
    used.set(current, new Set());
    continue;
  }
  const entry = /^ {4}'?([\w-]+)'?: \['(\w+)', (\d+)\],$/.exec(line);
  if (!entry || !enums.has(current)) continue;
  const [, value, enumerator, id] = entry;
  const found = enums.get(current).find(([n]) => n === enumerator);
  used.get(current).add(enumerator);
  if (!found) errors.push(`src/wire-enums.ts: ${current}.${value} names ${enumerator}, which ${current} does not have`);
  else if (found[1] !== Number(id))
    errors.push(`src/wire-enums.ts: ${current}.${value} sends ${id}, but C++ ${current}::${enumerator} = ${found[1]}`);
}
for (const [name, seen] of used) {
  for (const [enumerator] of enums.get(name) ?? []) {
    if (!seen.has(enumerator)) errors.push(`src/wire-enums.ts: C++ ${name}::${enumerator} has no TypeScript value`);
  }
}

// Shared constants: `  kName: value,` against `constexpr <type> kName = value;`.
for (const m of block('WIRE_CONSTANTS').matchAll(/^ {2}(\w+): ([^,]+),$/gm)) {
  const [, name, value] = m;
  const twin = cpp.map(([f, t]) => [f, new RegExp(`constexpr \\w+ ${name} = ([^;]+);`).exec(t)]).find(([, r]) => r);
  if (!twin) errors.push(`src/wire-enums.ts: constant ${name} has no constexpr twin in ${headers.join(', ')}`);
  else if (Number(twin[1][1]) !== Number(value))
    errors.push(`src/wire-enums.ts: ${name} = ${value}, but ${twin[0]} has ${name} = ${twin[1][1]}`);
}

// enum_field(o, "key", Enum::Last): Last must be the enum's last enumerator.
for (const f of [...napi, 'binding/napi/args.cc']) {
  for (const m of read(f).matchAll(/enum_field\(\w+, "(\w+)", (\w+)::(\w+)\)/g)) {
    const [, key, name, last] = m;
    const list = enums.get(name);
    const want = list?.[list.length - 1]?.[0];
    if (want !== last)
      errors.push(`${f}: enum_field "${key}" is bounded by ${name}::${last}, but ${name}'s last enumerator is ${want}`);
  }
}

// Option bounds: `  kName: ['number' | 'int', lo, hi],` in src/wire-bounds.ts against
// `constexpr Range|IntRange kName{lo, hi};` in binding/napi/bounds.h, and no literal bound in a
// number_field()/int_field() call of binding/napi (each must name one of those constexprs).
const numeric = (expr) => {
  const s = expr
    .replace(/\bINT32_MAX\b/g, '2147483647')
    .replace(/\bINT32_MIN\b/g, '(-2147483648)')
    .replace(/\bFLT_MAX\b/g, '3.4028234663852886e38');
  if (!/^[-+*<>()\d.e\s]+$/.test(s)) return NaN;
  return Function(`return (${s});`)();
};
const tsBounds = new Map();
const boundsTs = read('src/wire-bounds.ts');
for (const m of boundsTs.matchAll(/^ {2}(k\w+): \['(number|int)', ([^,]+), ([^\]]+)\],$/gm))
  tsBounds.set(m[1], [m[2], numeric(m[3]), numeric(m[4])]);
const cppBounds = new Map();
const boundsH = read('binding/napi/bounds.h').replace(/\/\/.*$/gm, '');
for (const m of boundsH.matchAll(/constexpr (Range|IntRange) (k\w+)\{([^,]+), ([^}]+)\};/g))
  cppBounds.set(m[2], [m[1] === 'IntRange' ? 'int' : 'number', numeric(m[3]), numeric(m[4])]);
for (const [name, [kind, lo, hi]] of tsBounds) {
  const twin = cppBounds.get(name);
  if (!twin) errors.push(`src/wire-bounds.ts: bound ${name} has no constexpr twin in binding/napi/bounds.h`);
  else if (twin[0] !== kind || twin[1] !== lo || twin[2] !== hi || Number.isNaN(lo + hi))
    errors.push(
      `src/wire-bounds.ts: ${name} is ${kind} [${lo}, ${hi}], but binding/napi/bounds.h has ${twin[0]} [${twin[1]}, ${twin[2]}]`,
    );
}
for (const name of cppBounds.keys()) {
  if (!tsBounds.has(name)) errors.push(`binding/napi/bounds.h: bound ${name} has no twin in src/wire-bounds.ts`);
}
for (const f of napi.filter((f) => f !== 'binding/napi/args.cc')) {
  const text = read(f);
  for (const call of text.matchAll(/\b(number_field|int_field)\(/g)) {
    const m = /^(\w+)\(\w+, "(\w+)", ([^;\n]*?)\)[;)\s]/.exec(text.slice(call.index));
    const [, fn, key, bound] = m ?? [null, call[1], '?', text.slice(call.index).split('\n')[0]];
    const want = fn === 'int_field' ? 'int' : 'number';
    if (cppBounds.get(bound)?.[0] !== want)
      errors.push(`${f}: ${fn} "${key}" is bounded by '${bound}', not a named ${want} bound of binding/napi/bounds.h`);
  }
}

if (errors.length) {
  for (const e of errors) console.error(`check-wire: ${e}`);
  process.exit(1);
}
console.log(
  `check-wire: ${used.size} enums, ${[...block('WIRE_CONSTANTS').matchAll(/^ {2}\w+:/gm)].length} constants and ${tsBounds.size} bounds agree with C++`,
);
