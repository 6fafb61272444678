/**
 * renderCorefile: one row per spec field (the lines it changes), one per CoreDNS dialect, the
 * loopback form local mode runs, and the defaults, which are kubeadm's Corefile.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolverConfigFor } from '../../../src/api/resolver-config.ts';
import type { ResolverConfig } from '../../../src/api/resolver-config.ts';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import { renderCorefile } from '../../../src/coredns/corefile.ts';
import { dialectOf } from '../../../src/coredns/releases.ts';

function config(spec: Record<string, unknown> = {}, overrides: Partial<ResolverConfig> = {}): ResolverConfig {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'c' }, spec: { engine: 'coredns', version: '1.15.0', ...spec } });
  if (!parsed.ok) throw new Error(parsed.error);
  return resolverConfigFor(parsed.value.spec, overrides);
}

const lines = (corefile: string): string[] => corefile.split('\n').map((l) => l.trim()).filter(Boolean);

/** kubeadm v1.37's CoreDNSConfigMap for the domain cluster.local (manifests.go), its indentation aside. */
const KUBEADM = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}`;

describe('renderCorefile', () => {
  test('with the defaults is kubeadm\'s Corefile (on the port it is given)', () => {
    assert.deepEqual(lines(renderCorefile(config({}, { port: 53 }), dialectOf('1.15.0'))), lines(KUBEADM));
  });

  test('indents as CoreDNS\'s own examples do and ends with a newline', () => {
    const text = renderCorefile(config(), dialectOf('1.15.0'));
    assert.match(text, /^\.:1053 \{\n {4}errors\n {4}health \{\n {8}lameduck 5s\n {4}\}\n/);
    assert.ok(text.endsWith('}\n'));
  });

  /** Each spec field, and the Corefile lines it makes (in the main block unless the row says so). */
  const fieldRows: Array<[string, Record<string, unknown>, readonly string[], readonly string[]]> = [
    ['clusterDomain names the kubernetes zone and the cache exclusions', { clusterDomain: 'k8s.example' },
      ['kubernetes k8s.example in-addr.arpa ip6.arpa {', 'disable success k8s.example', 'disable denial k8s.example'], ['kubernetes cluster.local in-addr.arpa ip6.arpa {']],
    ['ttl is the kubernetes plugin\'s ttl', { ttl: 5 }, ['ttl 5'], ['ttl 30']],
    ['ttl 0 is allowed as CoreDNS allows it', { ttl: 0 }, ['ttl 0'], ['ttl 30']],
    ['pods disabled', { pods: 'disabled' }, ['pods disabled'], ['pods insecure']],
    ['pods verified', { pods: 'verified' }, ['pods verified'], ['pods insecure']],
    ['upstream.nameservers replace /etc/resolv.conf, in order, IPv6 as it is', { upstream: { nameservers: ['1.1.1.1', '2001:4860:4860::8888'] } },
      ['forward . 1.1.1.1 2001:4860:4860::8888 {'], ['forward . /etc/resolv.conf {']],
    ['upstream.cacheSeconds is the cache\'s TTL', { upstream: { cacheSeconds: 300 } }, ['cache 300 {'], ['cache 30 {']],
    ['upstream.cacheSeconds 0 turns the cache off', { upstream: { cacheSeconds: 0 } }, [], ['cache 30 {', 'disable success cluster.local', 'disable denial cluster.local']],
  ];
  for (const [title, spec, present, absent] of fieldRows) {
    test(title, () => {
      const rendered = lines(renderCorefile(config(spec), dialectOf('1.15.0')));
      for (const line of present) assert.ok(rendered.includes(line), `has "${line}"`);
      for (const line of absent) assert.ok(!rendered.includes(line), `has no "${line}"`);
    });
  }

  test('stubDomains: a server block per zone, sorted, forwarding to its nameservers with the cache and metrics', () => {
    const text = renderCorefile(config({ stubDomains: { 'corp.example': ['10.0.0.53', '10.0.0.54'], 'acme.test': ['fd00::53'] } }), dialectOf('1.15.0'));
    const blocks = text.split(/\n(?=[^\s}])/);
    assert.equal(blocks.length, 3);
    assert.equal(blocks[1], 'acme.test:1053 {\n    errors\n    prometheus :9153\n    cache 30\n    loop\n    forward . fd00::53\n}');
    assert.equal(blocks[2], 'corp.example:1053 {\n    errors\n    prometheus :9153\n    cache 30\n    loop\n    forward . 10.0.0.53 10.0.0.54\n}\n');
  });

  test('stubDomains without a cache when cacheSeconds is 0', () => {
    const text = renderCorefile(config({ stubDomains: { 'corp.example': ['10.0.0.53'] }, upstream: { cacheSeconds: 0 } }), dialectOf('1.15.0'));
    assert.doesNotMatch(text, /cache/);
  });

  /** Per CoreDNS release: the dialect of the Corefile. */
  const versionRows: Array<[string, boolean]> = [
    ['1.8.4', false], ['1.8.7', false], ['1.9.0', false], ['1.9.3', false], ['1.9.4', true], ['1.10.1', true], ['1.11.1', true], ['1.14.6', true], ['1.15.0', true],
  ];
  for (const [version, cacheDisable] of versionRows) {
    test(`CoreDNS ${version}: ${cacheDisable ? 'the cache leaves the cluster zone out' : 'the cache has no disable option (before 1.9.4), so it covers the cluster zone too'}`, () => {
      const text = renderCorefile(config(), dialectOf(version));
      assert.equal(/disable success cluster\.local/.test(text), cacheDisable);
      assert.equal(lines(text).includes('cache 30'), !cacheDisable);
    });
  }

  test('local mode\'s form: bound to loopback, every port its own, the kubeconfig in the kubernetes plugin', () => {
    const local = config({ stubDomains: { 'corp.example': ['10.0.0.53'] } }, {
      listenAddress: '127.0.0.1', port: 40001, healthPort: 40002, readyPort: 40003, metricsPort: 40004, upstream: { nameservers: ['127.0.0.1:5300'], cacheSeconds: 30, timeoutSeconds: 2, maxConcurrent: 1000 },
    });
    const rendered = lines(renderCorefile(local, dialectOf('1.15.0'), { kubeconfig: '/tmp/kc' }));
    for (const line of ['.:40001 {', 'bind 127.0.0.1', 'health 127.0.0.1:40002 {', 'ready 127.0.0.1:40003', 'prometheus 127.0.0.1:40004', 'kubeconfig /tmp/kc',
      'forward . 127.0.0.1:5300 {', 'corp.example:40001 {', 'forward . 10.0.0.53']) {
      assert.ok(rendered.includes(line), `has "${line}"`);
    }
    assert.equal(rendered.filter((l) => l === 'bind 127.0.0.1').length, 2, 'every block binds loopback');
  });

  test('an IPv6 listen address is bracketed where a port follows it', () => {
    const rendered = lines(renderCorefile(config({}, { listenAddress: '::1' }), dialectOf('1.15.0')));
    assert.ok(rendered.includes('bind ::1'));
    assert.ok(rendered.includes('prometheus [::1]:9153'));
    assert.ok(rendered.includes('health [::1]:8080 {'));
  });

  test('a spec cannot write Corefile syntax: zones, domains and servers that would end a line or a block are refused first', () => {
    const hostile: Array<Record<string, unknown>> = [
      { clusterDomain: 'cluster.local }\n. {\n    whoami' },
      { stubDomains: { 'corp.example {': ['10.0.0.53'] } },
      { stubDomains: { 'corp.example': ['10.0.0.53 }'] } },
      { upstream: { nameservers: ['1.1.1.1\n    log'] } },
      { upstream: { nameservers: ['/etc/hosts'] } },
    ];
    for (const spec of hostile) assert.throws(() => config(spec), /spec\./, JSON.stringify(spec));
  });

  test('the lameduck and max_concurrent follow the resolver\'s settings', () => {
    const rendered = lines(renderCorefile(config({}, { lameduckSeconds: 1.5, upstream: { nameservers: [], cacheSeconds: 30, timeoutSeconds: 2, maxConcurrent: 50 } }), dialectOf('1.15.0')));
    assert.ok(rendered.includes('lameduck 1.5s'));
    assert.ok(rendered.includes('max_concurrent 50'));
  });
});
