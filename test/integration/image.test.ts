/**
 * The image: its build steps, run as the Dockerfile runs them, give a CLI that works on
 * production dependencies only. (No Docker engine here; see test/support/dockerfile.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repositoryRoot } from '../../src/local/repo.ts';
import { runDockerfileBuild } from '../support/dockerfile.ts';
import type { Stage } from '../support/dockerfile.ts';

describe('the image build', () => {
  const root = repositoryRoot();
  const scratch = mkdtempSync(join(tmpdir(), 'clusterdns-image-'));
  // The Node.js 24 that npm scripts run on stands in for the base image's.
  const node = realpathSync(join(root, 'node_modules', '.bin', 'node'));
  const env = { ...process.env, PATH: `${dirname(node)}:${process.env['PATH'] ?? ''}`, npm_config_loglevel: 'error' };
  let image: Stage;

  const clusterdns = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(node, [join(image.dir, 'dist', 'src', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: { PATH: dirname(node), NODE_ENV: 'production' } });

  before(() => {
    const stages = runDockerfileBuild(readFileSync(join(root, 'Dockerfile'), 'utf8'), root, scratch, env);
    const last = stages.at(-1);
    assert.ok(last, 'the Dockerfile has stages');
    image = last;
  });

  after(() => { rmSync(scratch, { recursive: true, force: true }); });

  test('holds compiled JavaScript, package.json and node_modules, and no TypeScript sources', () => {
    assert.ok(existsSync(join(image.dir, 'dist', 'src', 'cli', 'main.js')));
    assert.ok(existsSync(join(image.dir, 'package.json')));
    assert.equal(existsSync(join(image.dir, 'src')), false);
    const ts = execFileSync('find', [join(image.dir, 'dist'), '-name', '*.ts'], { encoding: 'utf8' }).trim();
    assert.equal(ts, '', 'no .ts files in dist');
  });

  test('carries the runtime dependencies and none of the development ones', () => {
    for (const dependency of ['@kubernetes/client-node', 'dns-packet', 'pino', 'prom-client', 'zod']) {
      assert.ok(existsSync(join(image.dir, 'node_modules', dependency, 'package.json')), `${dependency} is in the image`);
    }
    for (const dependency of ['typescript', 'eslint', 'node', 'dockerlinter', 'typescript-eslint']) {
      assert.equal(existsSync(join(image.dir, 'node_modules', dependency)), false, `${dependency} is not in the image`);
    }
  });

  test('runs the clusterdns entry point and each command it ships', () => {
    const help = clusterdns('--help');
    assert.equal(help.status, 0, help.stderr);
    for (const command of ['operator', 'resolver', 'compare']) {
      assert.match(help.stdout, new RegExp(`^\\s+${command}\\s`, 'm'), `--help lists ${command}`);
      const commandHelp = clusterdns(command, '--help');
      assert.equal(commandHelp.status, 0, `${command} --help: ${commandHelp.stderr}`);
      assert.match(commandHelp.stdout, /usage: clusterdns/);
    }
  });

  test('its entry point is executable, as the image links it to /usr/local/bin/clusterdns', () => {
    const mode = execFileSync('stat', ['-c', '%a', join(image.dir, 'dist', 'src', 'cli', 'main.js')], { encoding: 'utf8' }).trim();
    assert.equal(mode, '755');
    assert.match(readFileSync(join(image.dir, 'dist', 'src', 'cli', 'main.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });
});
