/**
 * The zod schema of ClusterDNS judges the shared examples as the CRD does
 * (test/integration/operator-crd.test.ts puts the same examples to the real apiserver and
 * checks the installed CRD against this schema field by field).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_REPLICAS, parseClusterDNS, replicasPolicy } from '../../../src/api/clusterdns.ts';
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
      engine: 'clusterdns', version: '1', clusterDomain: 'cluster.local', ttl: 30, pods: 'insecure',
      upstream: { nameservers: [], cacheSeconds: 30 }, stubDomains: {}, injection: { percent: 100 },
      baseline: { service: { namespace: 'kube-system', name: 'kube-dns' } }, routing: 'Instance', drain: 'Wait',
    });
  });

  test('leaves spec.replicas unset, so that the CRD\'s rule can tell it from spec.autoscaling; 2 replicas are decided later', () => {
    const parse = (spec: Record<string, unknown>) => {
      const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'd' }, spec: { version: '1', ...spec } });
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
      return parsed.value.spec;
    };
    assert.equal(parse({}).replicas, undefined);
    assert.deepEqual(replicasPolicy(parse({})), { kind: 'fixed', replicas: DEFAULT_REPLICAS });
    assert.deepEqual(replicasPolicy(parse({ replicas: 0 })), { kind: 'fixed', replicas: 0 });
    const autoscaled = parse({ autoscaling: { nodesPerReplica: 16 } });
    assert.deepEqual(autoscaled.autoscaling, { nodesPerReplica: 16, min: 1, max: 100, preventSinglePointFailure: true, includeUnschedulableNodes: true });
    assert.deepEqual(replicasPolicy(autoscaled), { kind: 'autoscaled', params: autoscaled.autoscaling });
  });
});
