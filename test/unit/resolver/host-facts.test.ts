/** What the resolver makes of the machine's facts: threads, cores, upstreams, its own addresses. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { availableParallelism } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { validateResolverConfig } from '../../../src/resolver/config-file.ts';
import { coresGiven, defaultUpstreams, localAddresses } from '../../../src/resolver/host-facts.ts';
import type { HostFacts } from '../../../src/resolver/host-facts.ts';
import { threadCount } from '../../../src/resolver/resolver.ts';

const address = (family: 'IPv4' | 'IPv6', text: string, internal = false): NetworkInterfaceInfo => (family === 'IPv4'
  ? { family, address: text, internal, netmask: '255.255.255.0', mac: '00:00:00:00:00:00', cidr: null }
  : { family, address: text, internal, netmask: 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', cidr: null, scopeid: 0 });

const INTERFACES: HostFacts['interfaces'] = {
  lo: [address('IPv4', '127.0.0.1', true), address('IPv6', '::1', true)],
  eth0: [address('IPv4', '10.244.0.53'), address('IPv6', 'fd00::53'), address('IPv6', 'fe80::1')],
};

describe('the facts of the machine', () => {
  test('runs one serving thread per core given (at most 4), or as many as configured', () => {
    assert.equal(threadCount('auto', 2), 2);
    assert.equal(threadCount('auto', 1), 1);
    assert.equal(threadCount('auto', 64), 4);
    assert.equal(threadCount(8, 2), 8);
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
