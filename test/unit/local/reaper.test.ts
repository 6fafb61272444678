/**
 * A parent that dies without cleaning up (SIGKILL) still leaves no process and no directory:
 * the watchdog stops what the reaper file lists.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a killed parent leaves neither its child processes nor its temp directory behind', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'clusterdns-reaper-parent-'));
  const script = join(scratch, 'parent.ts');
  writeFileSync(script, parentScript);
  const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: parent.stdout }), 'line')) as [string];
  const { dir, pid } = JSON.parse(line) as { dir: string; pid: number };
  assert.ok(alive(pid), 'the child runs while the parent lives');
  assert.ok(existsSync(dir));

  parent.kill('SIGKILL');
  for (let i = 0; i < 100 && (alive(pid) || existsSync(dir)); i++) await sleep(100);
  assert.equal(alive(pid), false, 'the child was stopped');
  assert.equal(existsSync(dir), false, 'the directory was removed');
  rmSync(scratch, { recursive: true, force: true });
});
