/**
 * The operator as config/default installs it, on a real node: its Deployment's two replicas
 * become ready with their RBAC, exactly one leads (the Lease and each pod's
 * leader_election_master_status agree), every replica's webhook is reached through the
 * webhook Service by the apiserver, and deleting the leading pod hands the lead to another
 * replica, which goes on reconciling, while pods go on being injected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLUSTERDNS_PATH, DEFAULT_NAMESPACE, WEBHOOK_CONFIGURATION } from '../../src/api/names.ts';
import { LEASE_NAME } from '../../src/controller/leader-election.ts';
import { OPERATOR_DEPLOYMENT } from '../../src/local/real-mode.ts';
import { applyInstance, createPod, deleteInstance, getPod, isReady, until } from '../support/node-pods.ts';
import type { PodStatus } from '../support/node-pods.ts';
import { parsePrometheus, sumOf } from '../support/prometheus.ts';
import { nodeNamespace, realNode } from '../support/real-node.ts';
import type { NodeUnderTest } from '../support/real-node.ts';

const INSTANCE = 'operator-dns';
const CLUSTER_IP = '10.96.0.23';

describe('real node: the operator Deployment from config/default', () => {
  let h: NodeUnderTest;

  const operatorPods = async (): Promise<PodStatus[]> => {
    const list = await h.client.request<{ items: PodStatus[] }>('GET', `/api/v1/namespaces/${DEFAULT_NAMESPACE}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/name=${OPERATOR_DEPLOYMENT}`)}`);
    return list.items.filter((p) => !p.metadata.deletionTimestamp);
  };
  const leaseHolder = async (): Promise<string> => {
    const lease = await h.client.request<{ spec?: { holderIdentity?: string } }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${DEFAULT_NAMESPACE}/leases/${LEASE_NAME}`);
    // The identity is <hostname>_<uuid>, and a pod's hostname is its name.
    return (lease.spec?.holderIdentity ?? '').split('_')[0] ?? '';
  };
  const leading = async (pod: PodStatus): Promise<number> => {
    const text = await h.kubectl.run(['get', '--raw', `/api/v1/namespaces/${DEFAULT_NAMESPACE}/pods/${pod.metadata.name}:8080/proxy/metrics`]);
    return sumOf(parsePrometheus(text), 'leader_election_master_status');
  };
  const injectedPod = async (namespace: string, name: string): Promise<PodStatus> => {
    await createPod(h, namespace, {
      apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { 'clusterdns.io/instance': INSTANCE } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'sleep', image: h.images.tools.name, imagePullPolicy: 'Never', command: ['true'] }] },
    });
    return getPod(h, namespace, name);
  };

  before(async () => {
    h = await realNode();
    await applyInstance(h, INSTANCE, { version: h.images.current.name.split(':').pop(), clusterIP: CLUSTER_IP, replicas: 1 });
  });

  after(async () => { await deleteInstance(h, INSTANCE); });

  test('both replicas are ready and exactly one of them leads', async () => {
    const deployment = await h.client.request<{ status?: { readyReplicas?: number } }>('GET', `/apis/apps/v1/namespaces/${DEFAULT_NAMESPACE}/deployments/${OPERATOR_DEPLOYMENT}`);
    assert.equal(deployment.status?.readyReplicas, 2);
    const pods = await operatorPods();
    assert.equal(pods.filter(isReady).length, 2);
    const holder = await leaseHolder();
    assert.ok(pods.some((p) => p.metadata.name === holder), `the Lease is held by an operator pod (${holder})`);
    const statuses = await Promise.all(pods.map(leading));
    assert.deepEqual(statuses.sort(), [0, 1], 'one replica reports leading, the other not');
  });

  test('the apiserver reaches the webhook through its Service: a labelled pod is injected', async () => {
    const config = await h.client.request<{ webhooks: Array<{ clientConfig: { caBundle?: string; service?: { name: string } } }> }>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_CONFIGURATION}`);
    assert.ok(config.webhooks.every((w) => w.clientConfig.caBundle && w.clientConfig.service), 'the webhook is called by Service with the operator\'s CA');
    const namespace = await nodeNamespace(h, 'webhook');
    const pod = await injectedPod(namespace, 'first');
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [CLUSTER_IP]);
  });

  test('deleting the leading pod hands the lead to another replica, which reconciles; injection goes on', async () => {
    const holder = await leaseHolder();
    const began = Date.now();
    await h.client.request('DELETE', `/api/v1/namespaces/${DEFAULT_NAMESPACE}/pods/${holder}`);
    await until('a new leader', async () => {
      const next = await leaseHolder();
      return next !== '' && next !== holder && (await operatorPods()).some((p) => p.metadata.name === next && isReady(p));
    }, 120_000);
    process.stderr.write(`# real node: the lead passed from ${holder} to ${await leaseHolder()} in ${((Date.now() - began) / 1000).toFixed(1)}s\n`);

    // The new leader reconciles: a change of the instance reaches its Deployment and status.
    await h.client.request('PATCH', `${CLUSTERDNS_PATH}/${INSTANCE}`, { body: { spec: { replicas: 2 } }, contentType: 'application/merge-patch+json' });
    await until('the instance scaled to 2 by the new leader', async () => {
      const cr = await h.client.request<{ status?: { readyReplicas?: number } }>('GET', `${CLUSTERDNS_PATH}/${INSTANCE}`);
      return cr.status?.readyReplicas === 2;
    }, 180_000);
    const namespace = await nodeNamespace(h, 'webhook-after');
    const pod = await injectedPod(namespace, 'after');
    assert.deepEqual(pod.spec.dnsConfig?.nameservers, [CLUSTER_IP], 'pods are still injected');
    await until('the Deployment back at 2 ready replicas', async () => (await operatorPods()).filter(isReady).length === 2, 180_000);
  });
});
