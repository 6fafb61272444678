/**
 * Watchdog: `node reaper-main.ts <parent pid> <reaper file>`. Waits until the parent is gone,
 * then stops every process group listed in the reaper file, kills whatever is left in its
 * cgroup trees and removes them, deletes its network interfaces and removes its directories.
 * A parent that cleans up after itself leaves an empty list, and the watchdog just exits.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CgroupTree } from './cgroups.ts';
import { isAlive, readReaperState, signalGroup } from './process.ts';

const [parentArg, file] = process.argv.slice(2);
const parent = Number(parentArg);
if (!Number.isInteger(parent) || !file) process.exit(2);

while (isAlive(parent)) await sleep(250);

let state;
try {
  state = readReaperState(file);
} catch {
  process.exit(0); // the parent removed its directory: nothing left to clean
}
for (const pid of state.pids) signalGroup(pid, 'SIGTERM');
if (state.pids.length > 0) await sleep(3000);
for (const pid of state.pids) signalGroup(pid, 'SIGKILL');
for (const path of state.cgroups) {
  // Its network and mount namespaces end with the last of these processes.
  await new CgroupTree(path).destroy().catch((error: unknown) => { process.stderr.write(`${String(error)}\n`); });
}
for (const link of state.links) spawnSync('ip', ['link', 'delete', link], { stdio: 'ignore' });
for (const dir of state.dirs) {
  try {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
  } catch (error) {
    process.stderr.write(`${String(error)}\n`);
  }
}
