/**
 * Drain before delete with real packets: deleting an instance (drain: Wait) while a pod it
 * injected queries its clusterIP moves the clusterIP to kube-dns, and the pod's lookups keep
 * working all through the drain, until the pod itself is deleted; then the ClusterDNS and
 * every child of it are gone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLUSTERDNS_PATH, DEFAULT_NAMESPACE } from '../../src/api/names.ts';
import { windowOf } from '../support/dns-load.ts';
import { applyInstance, deleteInstance, until } from '../support/node-pods.ts';
import { BASELINE_TTL, figures, hold, INSTANCE_TTL, InjectedLoad, SETTLE_MS, servingOf, waitServing } from '../support/node-routing.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'routing-drain';
const CLUSTER_IP = '10.96.0.33';

describe('real node: delete with drain: Wait while an injected pod queries', () => {
  let h: NodeUnderTest;
  let namespace: string;

  before(async () => {
    h = await realNode();
    await applyInstance(h, INSTANCE, { version: h.images.current.name.split(':').pop(), clusterIP: CLUSTER_IP, replicas: 2, ttl: INSTANCE_TTL });
    namespace = await nodeNamespace(h, 'routing-drain');
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('the pod\'s lookups work through the drain until it is deleted; then the instance\'s objects are gone', async () => {
    const load = await InjectedLoad.start(h, namespace, INSTANCE, CLUSTER_IP);
    const log = load.follow();
    await hold(2000);

    const deleted = Date.now();
    await h.client.request('DELETE', `${CLUSTERDNS_PATH}/${INSTANCE}`);
    const draining = await waitServing(h, INSTANCE, 'Baseline', 'Draining');
    const first = await load.firstAnswer(BASELINE_TTL, deleted);
    await hold(6000);
    const status = await servingOf(h, INSTANCE);
    assert.ok(status?.deleting, 'the ClusterDNS waits for its injected pod');
    const service = await h.client.request<{ spec: { clusterIP: string } }>('GET', `/api/v1/namespaces/${DEFAULT_NAMESPACE}/services/${INSTANCE}`);
    assert.equal(service.spec.clusterIP, CLUSTER_IP, 'its Service keeps the clusterIP');

    const podDeleted = Date.now();
    await h.client.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${load.name}`);
    const text = await log.ended;
    const drain = windowOf(text, deleted, podDeleted + 5000);
    const onBaseline = windowOf(text, first.at + SETTLE_MS, podDeleted + 5000);
    const goneMs = await until('the ClusterDNS gone', async () => (await servingOf(h, INSTANCE)) === undefined, 60_000);
    const childrenMs = await until('its children gone', async () => {
      const ns = DEFAULT_NAMESPACE;
      const byInstance = `app.kubernetes.io/instance=${INSTANCE}`;
      const lists: Array<[string, string]> = [
        [`/api/v1/namespaces/${ns}/services`, byInstance], [`/apis/apps/v1/namespaces/${ns}/deployments`, byInstance],
        [`/api/v1/namespaces/${ns}/configmaps`, byInstance], [`/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets`, byInstance],
        [`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, `kubernetes.io/service-name=${INSTANCE}`],
        [`/api/v1/namespaces/${ns}/pods`, byInstance],
      ];
      for (const [path, labelSelector] of lists) {
        const list = await h.client.request<{ items: unknown[] }>('GET', path, { query: { labelSelector } });
        if (list.items.length > 0) return false;
      }
      return true;
    }, 60_000);
    figures('delete with drain: Wait, from the delete until the pod was deleted', drain, {
      'delete → serving Baseline (Draining)': draining - deleted, 'delete → first baseline answer': first.at - deleted,
      'pod deleted → ClusterDNS gone': goneMs, 'pod deleted → children gone': goneMs + childrenMs,
    });

    assert.equal(drain.failed, 0, `no lookup failed through the drain: ${JSON.stringify(drain)}`);
    assert.ok(drain.lookups > 500, `the pod kept querying until it was deleted (${drain.lookups} lookups)`);
    assert.ok((drain.ttls[String(INSTANCE_TTL)] ?? 0) > 0 && (drain.ttls[String(BASELINE_TTL)] ?? 0) > 0, 'answered by the instance, then by kube-dns');
    assert.deepEqual(Object.keys(onBaseline.ttls), [String(BASELINE_TTL)], 'once the switch had settled, only kube-dns answered');
  });
});
