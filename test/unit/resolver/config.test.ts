/** The config file: defaults, and refusals that name the field. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, isJson, parseJsonConfig, validateResolverConfig } from '../../../src/resolver/config.ts';
import { coresGiven, threadCount } from '../../../src/resolver/resolver.ts';
import { availableParallelism } from 'node:os';

describe('the resolver config', () => {
  test('fills in CoreDNS-like defaults', () => {
    const config = validateResolverConfig({}, 'r.json');
    assert.deepEqual(
      [config.listenAddress, config.port, config.healthPort, config.readyPort, config.metricsPort, config.clusterDomain, config.ttl, config.pods, config.lameduckSeconds],
      ['0.0.0.0', 1053, 8080, 8181, 9153, 'cluster.local', 30, 'insecure', 5],
    );
    assert.deepEqual(config.upstream, { nameservers: [], cacheSeconds: 30, timeoutSeconds: 2, maxConcurrent: 1000 });
    assert.deepEqual(config.tcp, { idleTimeoutSeconds: 10, maxConnections: 1000 });
    assert.equal(config.threads, 'auto');
  });

  for (const [what, raw, pattern] of [
    ['a port out of range', { port: 70000 }, /r\.json: port: /],
    ['a cluster domain with capitals', { clusterDomain: 'Cluster.Local' }, /clusterDomain: must be a DNS-1123 subdomain/],
    ['a stub domain server that is no address', { stubDomains: { 'corp.example': ['ns.corp.example'] } }, /stubDomains\.corp\.example\.0: /],
    ['zero threads', { threads: 0 }, /threads: /],
  ] as const) {
    test(`refuses ${what}, naming the field`, () => {
      assert.throws(() => validateResolverConfig(raw, 'r.json'), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    });
  }

  test('tells JSON from YAML and names the file of bad JSON', () => {
    assert.equal(isJson('  {"port": 1}'), true);
    assert.equal(isJson('port: 1'), false);
    assert.throws(() => parseJsonConfig('{', 'r.json'), /r\.json: not valid JSON/);
  });

  test('runs one serving thread per core given (at most 4), or as many as configured', () => {
    assert.equal(threadCount('auto', 2), 2);
    assert.equal(threadCount('auto', 1), 1);
    assert.equal(threadCount('auto', 64), 4);
    assert.equal(threadCount(8, 2), 8);
  });

  test('counts the cores of a CPU quota as given, never more than the affinity allows', () => {
    assert.equal(coresGiven('150000 100000\n'), Math.min(2, availableParallelism()));
    assert.equal(coresGiven('50000 100000\n'), 1);
    assert.equal(coresGiven('max 100000\n'), availableParallelism());
    assert.equal(coresGiven(undefined), availableParallelism());
  });
});
