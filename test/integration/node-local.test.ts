/**
 * `clusterdns local --node real` on a machine that cannot run the node names what is missing
 * and stops before anything starts; `clusterdns local exec` without a running node says so.
 * (The node itself is exercised by the other node-* tests, through the same code.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('clusterdns local --node real', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'clusterdns-node-local-'));
  chmodSync(stateDir, 0o777);
  after(() => { rmSync(stateDir, { recursive: true, force: true }); });

  test('as a user who is not root, it names root as missing and exits 1 without starting anything', () => {
    // setpriv drops to nobody; the check runs before the lock, the image build or any process.
    const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MAIN, 'local', '--node', 'real', '--state-dir', stateDir],
      { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /a real node cannot run on this machine; it needs:\n {2}- root: /);
    assert.deepEqual(readdirSync(stateDir), [], 'no lock and no state were written');
  });

  test('an unknown --node is a usage error', () => {
    const run = spawnSync(process.execPath, [MAIN, 'local', '--node', 'virtual', '--state-dir', stateDir], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--node must be kwok or real, not "virtual"/);
  });

  test('local exec without a running node says how to start one, and exits 1', () => {
    const run = spawnSync(process.execPath, [MAIN, 'local', 'exec', '--state-dir', stateDir, '--', 'true'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /no real node is running \(start one with: clusterdns local --node real\)/);
    assert.equal(existsSync(join(stateDir, 'local.json')), false);
  });
});
