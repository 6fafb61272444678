/**
 * The zod schema of ClusterDNS judges the shared examples as the CRD does
 * (test/integration/operator-crd.test.ts puts the same examples to the real apiserver and
 * checks the installed CRD against this schema field by field).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import { exampleObject, examples } from '../../support/clusterdns-examples.ts';

describe('the ClusterDNS zod schema', () => {
  for (const [index, example] of examples.entries()) {
    const verdict = example.refusedAt === undefined ? 'accepts' : `refuses, naming ${example.refusedAt},`;
    test(`${verdict} ${example.title}`, () => {
      const result = parseClusterDNS(exampleObject(example, `example-${index}`));
      if (example.refusedAt === undefined) {
        assert.ok(result.ok, result.ok ? '' : result.error);
      } else {
        assert.ok(!result.ok, 'refused');
        assert.ok(result.error.includes(example.refusedAt), `"${result.error}" names ${example.refusedAt}`);
      }
    });
  }

  test('fills in the documented defaults', () => {
    const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'd' }, spec: { version: '1' } });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value.spec, {
      version: '1', replicas: 2, clusterDomain: 'cluster.local', ttl: 30, pods: 'insecure',
      upstream: { nameservers: [], cacheSeconds: 30 }, stubDomains: {}, injection: { percent: 100 },
      baseline: { service: { namespace: 'kube-system', name: 'kube-dns' } }, routing: 'Instance', drain: 'Wait',
    });
  });
});
