/**
 * The resolver compiled as the image ships it (JavaScript from tsconfig.build.json, not
 * type-stripped TypeScript): the memory tests measure what a Deployment runs. Type stripping
 * costs each thread about 15 MiB of RSS that the image never pays. Built once per test
 * process, into a temporary directory removed when the process exits.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let built: string | undefined;

/** The path of the compiled `clusterdns` entry point (dist/src/cli/main.js of a fresh build). */
export function compiledMain(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-build-'));
  process.once('exit', () => { rmSync(dir, { recursive: true, force: true }); });
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir], { stdio: 'pipe' });
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  built = join(dir, 'src/cli/main.js');
  return built;
}
