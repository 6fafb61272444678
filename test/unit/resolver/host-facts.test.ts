/** What the resolver makes of the machine's facts: threads, cores, upstreams, its own addresses. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { availableParallelism } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { validateResolverConfig } from '../../../src/resolver/config-file.ts';
import { anonymousBytes, coresGiven, defaultUpstreams, localAddresses, memoryLimitFiles } from '../../../src/resolver/host-facts.ts';
import type { HostFacts } from '../../../src/resolver/host-facts.ts';
import { listPageSize } from '../../../src/resolver/cluster/watch.ts';
import { autoThreads, memoryLimit, mostThreads, PER_THREAD_BYTES } from '../../../src/resolver/serve/thread-budget.ts';

const address = (family: 'IPv4' | 'IPv6', text: string, internal = false): NetworkInterfaceInfo => (family === 'IPv4'
  ? { family, address: text, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }
  : { family, address: text, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 });

const INTERFACES: HostFacts['interfaces'] = {
  lo: [address('IPv4', '127.0.0.1', true), address('IPv6', '::1', true)],
  eth0: [address('IPv4', '10.244.0.53'), address('IPv6', 'fd00::53'), address('IPv6', 'fe80::1')],
};

describe('the facts of the machine', () => {
  test('runs one serving thread per core given (at most 4), or as many as configured', () => {
    assert.equal(mostThreads('auto', 2), 2);
    assert.equal(mostThreads('auto', 1), 1);
    assert.equal(mostThreads('auto', 64), 4);
    assert.equal(mostThreads(8, 2), 8);
  });

  test('with threads: auto, runs only as many threads as the memory limit holds beside the synced index', () => {
    const MIB = 2 ** 20;
    const rows: Array<[string, { most: number; limitBytes: number | undefined; heldBytes: number; reservedBytes: number }, number]> = [
      ['no limit: one per core', { most: 4, limitBytes: undefined, heldBytes: 900 * MIB, reservedBytes: 24 * MIB }, 4],
      ['a small cluster in the default 170 MiB', { most: 2, limitBytes: 170 * MIB, heldBytes: 60 * MIB, reservedBytes: 24 * MIB }, 2],
      ['a large cluster in the default 170 MiB: the main thread alone', { most: 4, limitBytes: 170 * MIB, heldBytes: 110 * MIB, reservedBytes: 24 * MIB }, 1],
      ['a limit already exceeded: still the main thread', { most: 4, limitBytes: 170 * MIB, heldBytes: 400 * MIB, reservedBytes: 24 * MIB }, 1],
      ['room for two more of four', { most: 4, limitBytes: 180 * MIB, heldBytes: 40 * MIB, reservedBytes: 24 * MIB }, 3],
      ['one core: one thread whatever the limit', { most: 1, limitBytes: 4096 * MIB, heldBytes: 40 * MIB, reservedBytes: 24 * MIB }, 1],
    ];
    for (const [what, budget, threads] of rows) {
      const choice = autoThreads(budget);
      assert.equal(choice.threads, threads, what);
      assert.equal(choice.reason === undefined, threads === budget.most, `${what}: a reason exactly when fewer than the most`);
    }
    assert.match(autoThreads(rows[2]?.[1] ?? assert.fail()).reason ?? '', /memory limit of 170 MiB holds 1 .*holds 110 MiB.*about 32 MiB/);
    // The arithmetic itself: 85 % of the limit, less what is held and reserved, in whole threads of PER_THREAD_BYTES.
    assert.equal(PER_THREAD_BYTES, 32 * MIB);
    assert.equal(autoThreads({ most: 8, limitBytes: 300 * MIB, heldBytes: 100 * MIB, reservedBytes: 50 * MIB }).threads, 1 + Math.floor((255 - 150) / 32));
  });

  test('lists in pages of 5,000 without a memory limit, smaller within one (a page is held whole while it is shrunk)', () => {
    const MIB = 2 ** 20;
    assert.equal(listPageSize(undefined), 5000);
    assert.equal(listPageSize(170 * MIB), 500, 'the default limit: client-go\'s 500');
    assert.equal(listPageSize(1024 * MIB), 2048);
    assert.equal(listPageSize(64 * 1024 * MIB), 5000);
    assert.equal(listPageSize(16 * MIB), 500, 'never below 500');
  });

  test('finds the memory limit of its own cgroup: at the root in a pod, deeper elsewhere', () => {
    assert.deepEqual(memoryLimitFiles('0::/\n'), { v2: '/sys/fs/cgroup/memory.max', v1: '/sys/fs/cgroup/memory/memory.limit_in_bytes' });
    assert.equal(memoryLimitFiles('0::/system.slice/dns.scope\n').v2, '/sys/fs/cgroup/system.slice/dns.scope/memory.max');
    assert.equal(memoryLimitFiles('12:cpu,cpuacct:/a\n7:memory:/kubepods/pod1/c1\n').v1, '/sys/fs/cgroup/memory/kubepods/pod1/c1/memory.limit_in_bytes');
    assert.equal(memoryLimitFiles(undefined).v2, '/sys/fs/cgroup/memory.max');
  });

  test('counts the anonymous memory of the process, not the file pages RSS includes', () => {
    assert.equal(anonymousBytes('VmRSS:\t  180000 kB\nRssAnon:\t  120000 kB\nRssFile:\t   60000 kB\n'), 120_000 * 1024);
    assert.equal(anonymousBytes('VmRSS: 1 kB\n'), undefined);
  });

  test('reads the memory limit of cgroup v2 or v1, and no limit as none', () => {
    assert.equal(memoryLimit('178257920\n', undefined), 178_257_920);
    assert.equal(memoryLimit('max\n', '178257920'), undefined, 'v2 decides when it is there');
    assert.equal(memoryLimit(undefined, '178257920\n'), 178_257_920);
    assert.equal(memoryLimit(undefined, '9223372036854771712\n'), undefined, 'v1 writes "unlimited" as a huge number');
    assert.equal(memoryLimit(undefined, undefined), undefined);
    assert.equal(memoryLimit('garbage', undefined), undefined);
  });

  test('counts the cores of a CPU quota as given, never more than the affinity allows', () => {
    assert.equal(coresGiven('150000 100000\n', availableParallelism()), Math.min(2, availableParallelism()));
    assert.equal(coresGiven('50000 100000\n', availableParallelism()), 1);
    assert.equal(coresGiven('max 100000\n', availableParallelism()), availableParallelism());
    assert.equal(coresGiven(undefined, availableParallelism()), availableParallelism());
    assert.equal(coresGiven('400000 100000\n', 2), 2);
  });

  test('forwards to the configured nameservers, else to those of resolv.conf, else nowhere', () => {
    const resolvConf = 'search example\nnameserver 192.0.2.1\nnameserver fe80::1%eth0\n';
    assert.deepEqual(defaultUpstreams(validateResolverConfig({ upstream: { nameservers: ['198.51.100.1:5353'] } }, 'r.json'), resolvConf),
      [{ host: '198.51.100.1', port: 5353, family: 4 }]);
    assert.deepEqual(defaultUpstreams(validateResolverConfig({}, 'r.json'), resolvConf),
      [{ host: '192.0.2.1', port: 53, family: 4 }, { host: 'fe80::1', port: 53, family: 6 }]);
    assert.deepEqual(defaultUpstreams(validateResolverConfig({}, 'r.json'), undefined), []);
  });

  test('names its own addresses: the listen address, or every external one of the interfaces for a wildcard', () => {
    assert.deepEqual(localAddresses('10.244.0.53', INTERFACES), ['10.244.0.53']);
    assert.deepEqual(localAddresses('127.0.0.1', INTERFACES), []);
    assert.deepEqual(localAddresses('0.0.0.0', INTERFACES), ['10.244.0.53']);
    assert.deepEqual(localAddresses('::', INTERFACES), ['10.244.0.53', 'fd00::53']);
  });
});
