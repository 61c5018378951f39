// The npm tarball as a consumer gets it, for the package tests: packed with install scripts off,
// and installed into an empty consumer folder.
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');
// npm is itself a node script: run it with the node binary, so PATH can hold nothing else.
export const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());

/** Packs the repository into `dir`: the tarball's path and the files it holds. */
export function pack(dir: string): { tarball: string; files: string[] } {
  const [packed] = JSON.parse(
    execFileSync(process.execPath, [npmCli, 'pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: root,
      encoding: 'utf8',
    }),
  ) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(dir, packed.filename), files: packed.files.map((f) => f.path) };
}

/** An empty package at `dir`/consumer with `specs` (the tarball first) installed, scripts off. */
export function installConsumer(dir: string, specs: string[], env?: NodeJS.ProcessEnv): string {
  const consumer = path.join(dir, 'consumer');
  mkdirSync(consumer);
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  const install = ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', ...specs];
  execFileSync(process.execPath, [npmCli, ...install], { cwd: consumer, env, stdio: 'pipe' });
  return consumer;
}
