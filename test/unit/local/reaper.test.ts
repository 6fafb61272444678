/**
 * A parent that dies without cleaning up (SIGKILL) still leaves no process and no directory:
 * the watchdog stops what the reaper file lists.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../../../src/local/process.ts';
import { startParent } from '../../support/parent-process.ts';

const parentScript = `
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ManagedProcess, Reaper } from ${JSON.stringify(new URL('../../../src/local/process.ts', import.meta.url).href)};
const dir = mkdtempSync(join(tmpdir(), 'clusterdns-reaper-test-'));
const reaper = Reaper.start(join(dir, 'reaper.json'), [dir]);
const child = ManagedProcess.start({ name: 'sleeper', command: 'sleep', args: ['600'], logFile: join(dir, 'sleeper.log') }, reaper);
console.log(JSON.stringify({ dir, pid: child.pid }));
setInterval(() => {}, 1000);
`;

test('a killed parent leaves neither its child processes nor its temp directory behind', async () => {
  const { parent, facts } = await startParent(parentScript);
  const { dir, pid } = facts as { dir: string; pid: number };
  assert.ok(isAlive(pid), 'the child runs while the parent lives');
  assert.ok(existsSync(dir));

  parent.kill('SIGKILL');
  for (let i = 0; i < 100 && (isAlive(pid) || existsSync(dir)); i++) await sleep(100);
  assert.equal(isAlive(pid), false, 'the child was stopped');
  assert.equal(existsSync(dir), false, 'the directory was removed');
});
