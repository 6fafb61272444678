/**
 * The real node's sandbox on this machine: its processes cannot reach the machine's network,
 * and when its parent dies without cleaning up (SIGKILL) the watchdog leaves no process (not
 * even one that left its process group, as containerd's shims do), no cgroup, no veth and no
 * directory behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { hierarchies } from '../../src/local/cgroups.ts';
import { NodeSandbox } from '../../src/local/node-sandbox.ts';
import { isAlive, Reaper } from '../../src/local/process.ts';
import { startParent } from '../support/parent-process.ts';

const src = (file: string): string => JSON.stringify(new URL(`../../src/local/${file}`, import.meta.url).href);

const parentScript = `
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ManagedProcess, Reaper } from ${src('process.ts')};
import { NodeSandbox } from ${src('node-sandbox.ts')};
const dir = mkdtempSync(join(tmpdir(), 'clusterdns-sandbox-test-'));
const reaper = Reaper.start(join(dir, 'reaper.json'), [dir]);
const sandbox = await NodeSandbox.create({ logFile: join(dir, 'sandbox.log'), reaper, serviceCidr: '10.96.0.0/12' });
const child = ManagedProcess.start(sandbox.wrap({ name: 'sleeper', command: 'sleep', args: ['600'], logFile: join(dir, 'sleeper.log') }), reaper);
// A daemon that leaves its parent's process group and session, as a containerd shim does.
const escaped = ManagedProcess.start(sandbox.wrap({ name: 'escaped', command: 'setsid', args: ['-f', 'sleep', '601'], logFile: join(dir, 'escaped.log') }));
await new Promise((resolve) => setTimeout(resolve, 500));
console.log(JSON.stringify({ dir, pid: child.pid, cgroup: sandbox.cgroups.path, link: sandbox.hostLink, pids: sandbox.cgroups.pids() }));
setInterval(() => {}, 1000);
`;

const linkExists = (name: string): boolean => execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).includes(` ${name}@`);

describe('real node sandbox', () => {
  test('nothing inside reaches an address outside the node: only loopback and the /30 of its veth are routed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'clusterdns-sandbox-test-'));
    const reaper = Reaper.start(join(dir, 'reaper.json'), [dir]);
    const sandbox = await NodeSandbox.create({ logFile: join(dir, 'sandbox.log'), reaper, serviceCidr: '10.96.0.0/12' });
    try {
      const routes = (await sandbox.inside(['ip', '-4', 'route', 'show', 'table', 'all'])).trim().split('\n').filter((r) => !r.startsWith('local ') && !r.startsWith('broadcast '));
      const veth = `${sandbox.addresses.host.replace(/\.\d+$/, '')}.${Number(sandbox.addresses.host.split('.')[3]) - 1}/30`;
      assert.deepEqual(routes.map((r) => r.split(' ').slice(0, 3).join(' ')).sort(), ['10.96.0.0/12 dev services0', `${veth} dev ${sandbox.nodeLink}`]);
      // A public address fails at once, before any packet leaves: there is no route.
      await assert.rejects(sandbox.inside(['ip', 'route', 'get', '192.0.2.1']), /unreachable/i);
      const links = (await sandbox.inside(['ip', '-br', 'link'])).trim().split('\n').map((l) => l.split(/[\s@]/)[0]);
      assert.deepEqual(links.sort(), [sandbox.nodeLink, 'lo', 'services0'].sort(), 'lo, the veth and the Service range\'s empty bridge');
      // This machine reaches the node's end through the veth, and only through it.
      assert.match(execFileSync('ip', ['route', 'get', sandbox.addresses.node], { encoding: 'utf8' }), new RegExp(` dev ${sandbox.hostLink} `));
    } finally {
      await sandbox.destroy();
      rmSync(dir, { recursive: true, force: true });
      reaper.dismiss();
    }
  });

  test('a killed parent leaves no process, cgroup, veth or directory behind', async () => {
    const { parent, facts } = await startParent(parentScript);
    const { dir, pid, cgroup, link, pids } = facts as { dir: string; pid: number; cgroup: string; link: string; pids: number[] };
    assert.ok(pids.length >= 3, `the holder, the sleeper and the escaped daemon are in the node's cgroup (${pids.join(', ')})`);
    assert.ok(linkExists(link));

    parent.kill('SIGKILL');
    const cgroupDirs = (): string[] => hierarchies().map((root) => join(root, cgroup)).filter((d) => existsSync(d));
    for (let i = 0; i < 150 && (pids.some(isAlive) || existsSync(dir) || cgroupDirs().length > 0 || linkExists(link)); i++) await sleep(100);
    assert.deepEqual(pids.filter(isAlive), [], 'every process of the node was killed');
    assert.equal(isAlive(pid), false);
    assert.deepEqual(cgroupDirs(), [], 'the cgroups were removed');
    assert.equal(linkExists(link), false, 'the veth was removed');
    assert.equal(existsSync(dir), false, 'the directory was removed');
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), false, 'no mount is left');
  });
});
