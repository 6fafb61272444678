/**
 * `spec.injection.percent` over 200 real pods of 175 workloads: 25 ReplicaSets of 2 pods
 * (created by the ReplicaSet controller through the webhook) and 150 single pods.
 *
 * The sample is a hash of the instance, the namespace and the workload, so the namespace
 * and instance names here are fixed (and unique to this file): the test is deterministic,
 * and it checks the webhook against the pure sampling function pod by pod as well as the
 * overall share.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inSample, workloadKey } from '../../src/webhook/sampling.ts';
import { eventually, kubeClient } from '../support/cluster.ts';
import { createClusterDNS, deleteClusterDNS, installClusterDnsCrd } from '../support/clusterdns.ts';
import { deleteNamespace, injectedInto, listPods, podManifest } from '../support/pods.ts';
import type { StoredPod } from '../support/pods.ts';
import { startWebhook } from '../support/webhook.ts';
import type { RunningWebhook } from '../support/webhook.ts';

const NAMESPACE = 'wh-percent-sample';
const INSTANCE = 'wh-percent';
const PERCENT = 30;
const REPLICA_SETS = 25;
const SINGLE_PODS = 150;
const TOTAL = REPLICA_SETS * 2 + SINGLE_PODS;

describe('percent sampling over 200 pods', () => {
  let webhook: RunningWebhook;
  let pods: StoredPod[] = [];

  before(async () => {
    await installClusterDnsCrd();
    await createClusterDNS(INSTANCE, { version: '0.1.0', injection: { podSelector: { matchLabels: { tier: 'sampled' } }, percent: PERCENT } },
      { clusterIP: '10.96.0.44', version: '0.1.0' });
    const client = kubeClient();
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } } });
    await eventually(() => client.request('GET', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/default`), { timeoutMs: 30_000 });
    webhook = await startWebhook();

    for (let i = 0; i < REPLICA_SETS; i++) {
      const labels = { rs: `rs-${i}`, tier: 'sampled' };
      await client.request('POST', `/apis/apps/v1/namespaces/${NAMESPACE}/replicasets`, {
        body: {
          apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `rs-${i}` },
          spec: { replicas: 2, selector: { matchLabels: { rs: `rs-${i}` } }, template: { metadata: { labels }, spec: (podManifest() as { spec: unknown }).spec } },
        },
      });
    }
    const singles = Array.from({ length: SINGLE_PODS }, (_, i) => {
      const manifest = podManifest({ labels: { tier: 'sampled' } });
      (manifest['metadata'] as Record<string, unknown>)['generateName'] = `solo-${i}-`;
      return manifest;
    });
    for (let i = 0; i < singles.length; i += 10) {
      await Promise.all(singles.slice(i, i + 10).map((body) => client.request('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, { body })));
    }
    pods = await eventually(async () => {
      const all = await listPods(NAMESPACE);
      assert.equal(all.length, TOTAL);
      return all;
    }, { timeoutMs: 120_000, what: `${TOTAL} pods` });
  });

  after(async () => {
    await webhook.remove();
    await deleteClusterDNS(INSTANCE);
    await deleteNamespace(NAMESPACE);
  });

  test(`the injected share is within 5 points of ${PERCENT}%`, () => {
    const injected = pods.filter((p) => injectedInto(p) === `${INSTANCE}@0.1.0`).length;
    const share = (injected / pods.length) * 100;
    assert.ok(Math.abs(share - PERCENT) <= 5, `${injected} of ${pods.length} pods = ${share.toFixed(1)}%`);
  });

  test('each ReplicaSet is all-or-nothing', () => {
    const byOwner = new Map<string, Set<boolean>>();
    for (const pod of pods) {
      const owner = pod.metadata.ownerReferences?.[0]?.name;
      if (owner) byOwner.set(owner, (byOwner.get(owner) ?? new Set()).add(injectedInto(pod) !== undefined));
    }
    assert.equal(byOwner.size, REPLICA_SETS);
    const mixed = [...byOwner].filter(([, answers]) => answers.size > 1).map(([owner]) => owner);
    assert.deepEqual(mixed, []);
    assert.ok([...byOwner.values()].some((a) => a.has(true)) && [...byOwner.values()].some((a) => a.has(false)), 'some ReplicaSets in, some out');
  });

  test('every pod got exactly the answer of the sampling function', () => {
    const wrong = pods.filter((pod) => {
      const key = workloadKey({
        namespace: NAMESPACE,
        name: pod.metadata.name,
        generateName: (pod.metadata as { generateName?: string }).generateName ?? '',
        ownerReferences: pod.metadata.ownerReferences ?? [],
        labels: pod.metadata.labels ?? {},
      });
      return inSample(INSTANCE, key, PERCENT) !== (injectedInto(pod) !== undefined);
    });
    assert.deepEqual(wrong.map((p) => p.metadata.name), []);
  });

  test('injected pods point at the instance; the others keep ClusterFirst', () => {
    for (const pod of pods) {
      if (injectedInto(pod)) assert.deepEqual(pod.spec.dnsConfig?.nameservers, ['10.96.0.44']);
      else assert.equal(pod.spec.dnsPolicy, 'ClusterFirst');
    }
  });
});
