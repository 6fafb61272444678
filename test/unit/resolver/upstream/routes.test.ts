/** Which servers a name goes to: stub domains (longest zone first), else the upstream servers. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpstreamRoutes, parseServer, resolvConfServers } from '../../../../src/resolver/upstream/routes.ts';

describe('upstream servers', () => {
  test('are written as IP, IP:port, [IPv6]:port or a bare IPv6 address', () => {
    assert.deepEqual(parseServer('10.0.0.10'), { host: '10.0.0.10', port: 53, family: 4 });
    assert.deepEqual(parseServer('10.0.0.10:5353'), { host: '10.0.0.10', port: 5353, family: 4 });
    assert.deepEqual(parseServer('[fd00:0::53]:5353'), { host: 'fd00::53', port: 5353, family: 6 });
    assert.deepEqual(parseServer('fd00::53'), { host: 'fd00::53', port: 53, family: 6 });
    assert.throws(() => parseServer('dns.example'), /not an IP address/);
    assert.throws(() => parseServer('10.0.0.1:99999'), /invalid port/);
  });

  test('default to the nameservers of resolv.conf', () => {
    const text = '# comment\nsearch example\nnameserver 10.0.0.2\nnameserver fe80::1%eth0\nnameserver bogus\noptions ndots:5\n';
    assert.deepEqual(resolvConfServers(text).map((s) => s.host), ['10.0.0.2', 'fe80::1']);
  });

  test('are chosen by the longest matching stub domain', () => {
    const routes = new UpstreamRoutes([parseServer('10.0.0.2')], { 'corp.example': ['10.1.0.1'], 'dev.corp.example': ['10.2.0.1:5353'] });
    assert.equal(routes.routeFor('a.dev.corp.example').servers[0]?.host, '10.2.0.1');
    assert.equal(routes.routeFor('corp.example').servers[0]?.host, '10.1.0.1');
    assert.equal(routes.routeFor('notcorp.example').zone, '');
    assert.equal(routes.routeFor('example.com').servers[0]?.host, '10.0.0.2');
  });
});
