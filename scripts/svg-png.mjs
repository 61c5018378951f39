#!/usr/bin/env node
// Renders SVG files to PNG beside them with headless Chromium (Debian's `chromium` package), so a
// chart can be looked at as a picture: node scripts/svg-png.mjs bench/results/latest.svg ...
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) {
  const head = readFileSync(file, 'utf8').slice(0, 2000);
  const size = (name) => Math.ceil(Number(new RegExp(`<svg[^>]*\\s${name}="([\\d.]+)`).exec(head)?.[1] ?? 800));
  const png = file.replace(/\.svg$/, '') + '.png';
  execFileSync(
    process.env.CHROMIUM ?? 'chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      `--window-size=${size('width')},${size('height')}`,
      `--screenshot=${resolve(png)}`,
      pathToFileURL(resolve(file)).href,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  console.log(png);
}
