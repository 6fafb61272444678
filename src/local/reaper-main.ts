/**
 * Watchdog: `node reaper-main.ts <parent pid> <reaper file>`. Waits until the parent is gone,
 * then stops every process group listed in the reaper file and removes its directories. A
 * parent that cleans up after itself leaves an empty list, and the watchdog just exits.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { readReaperState, signalGroup } from './process.ts';

const [parentArg, file] = process.argv.slice(2);
const parent = Number(parentArg);
if (!Number.isInteger(parent) || !file) process.exit(2);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

while (alive(parent)) await sleep(250);

let state;
try {
  state = readReaperState(file);
} catch {
  process.exit(0); // the parent removed its directory: nothing left to clean
}
for (const pid of state.pids) signalGroup(pid, 'SIGTERM');
await sleep(3000);
for (const pid of state.pids) signalGroup(pid, 'SIGKILL');
for (const dir of state.dirs) rmSync(dir, { recursive: true, force: true });
