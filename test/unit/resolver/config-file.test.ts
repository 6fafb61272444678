/** The config file: defaults, and refusals that name the field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, isJson, parseJsonConfig, validateResolverConfig } from '../../../src/resolver/config-file.ts';

describe('the resolver config', () => {
  test('fills in CoreDNS-like defaults', () => {
    const config = validateResolverConfig({}, 'r.json');
    assert.deepEqual(
      [config.listenAddress, config.port, config.healthPort, config.readyPort, config.metricsPort, config.clusterDomain, config.ttl, config.pods, config.lameduckSeconds],
      ['0.0.0.0', 1053, 8080, 8181, 9153, 'cluster.local', 30, 'insecure', 5],
    );
    assert.deepEqual(config.upstream, { nameservers: [], cacheSeconds: 30, timeoutSeconds: 2, maxConcurrent: 1000, cacheMiB: 16 });
    assert.deepEqual(config.tcp, { idleTimeoutSeconds: 10, readTimeoutSeconds: 5, writeTimeoutSeconds: 5, maxConnections: 1000, bufferMiB: 8 });
    assert.equal(config.threads, 'auto');
  });

  for (const [what, raw, pattern] of [
    ['a port out of range', { port: 70000 }, /r\.json: port: /],
    ['a cluster domain with capitals', { clusterDomain: 'Cluster.Local' }, /clusterDomain: must be a DNS-1123 subdomain/],
    ['a stub domain server that is no address', { stubDomains: { 'corp.example': ['ns.corp.example'] } }, /stubDomains\.corp\.example\.0: /],
    ['zero threads', { threads: 0 }, /threads: /],
    ['a shadow baseline that is no address', { shadow: { baseline: 'kube-dns.kube-system' } }, /shadow\.baseline: /],
    ['a shadow sample of 0 %', { shadow: { baseline: '10.96.0.10', sample: 0 } }, /shadow\.sample: /],
  ] as const) {
    test(`refuses ${what}, naming the field`, () => {
      assert.throws(() => validateResolverConfig(raw, 'r.json'), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    });
  }

  test('shadows nothing unless asked; a shadow section gets its defaults', () => {
    assert.equal(validateResolverConfig({}, 'r.json').shadow, undefined);
    assert.deepEqual(validateResolverConfig({ shadow: { baseline: '10.96.0.10' } }, 'r.json').shadow, { baseline: '10.96.0.10', baselineEngine: 'clusterdns', sample: 1, maxInFlight: 100, timeoutSeconds: 2 });
  });

  test('tells JSON from YAML and names the file of bad JSON', () => {
    assert.equal(isJson('  {"port": 1}'), true);
    assert.equal(isJson('port: 1'), false);
    assert.throws(() => parseJsonConfig('{', 'r.json'), /r\.json: not valid JSON/);
  });
});
