/**
 * The local control plane behaves like a real cluster: versions, scheduling onto KWOK nodes,
 * EndpointSlices, clusterIP allocation and garbage collection.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeApiError } from '../../src/kube/client.ts';
import { readVersions } from '../../src/local/repo.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectlOk } from '../support/cluster.ts';

interface PodList {
  items: Array<{
    metadata: { name: string; ownerReferences?: Array<{ kind: string }> };
    spec: { nodeName?: string };
    status: { phase?: string; podIP?: string; conditions?: Array<{ type: string; status: string }> };
  }>;
}

interface EndpointSliceList {
  items: Array<{ endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }> }>;
}

const labels = { app: 'web' };

function deployment(name: string, replicas: number): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'registry.example/web:1', ports: [{ containerPort: 80 }] }] } },
    },
  };
}

function service(name: string, clusterIP?: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 80 }], ...(clusterIP ? { clusterIP } : {}) },
  };
}

describe('the local control plane', () => {
  test('reports the real Kubernetes version on /version and in kubectl', async () => {
    const expected = readVersions().kubernetes;
    const version = JSON.parse((await controlPlane().api('GET', '/version')).body) as { gitVersion: string };
    assert.equal(version.gitVersion, expected);
    const kubectl = JSON.parse(await kubectlOk(['version', '--output=json'])) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.deepEqual([kubectl.clientVersion.gitVersion, kubectl.serverVersion.gitVersion], [expected, expected]);
  });

  test('has two Ready KWOK nodes', async () => {
    const nodes = JSON.parse(await kubectlOk(['get', 'nodes', '-o', 'json'])) as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), ['kwok-node-0', 'kwok-node-1']);
    await kubectlOk(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=30s']);
  });

  test('runs a Deployment on KWOK nodes, publishes its pods in an EndpointSlice and collects them after deletion', async () => {
    const client = kubeClient();
    const ns = await createNamespace('cp-deploy');
    await client.request('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, { body: deployment('web', 2) });
    await client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('web') });

    const pods = await eventually(async () => {
      const list = await client.request<PodList>('GET', `/api/v1/namespaces/${ns}/pods`);
      assert.equal(list.items.length, 2);
      for (const pod of list.items) {
        assert.match(pod.spec.nodeName ?? '', /^kwok-node-\d$/, `${pod.metadata.name} is scheduled on a KWOK node`);
        assert.equal(pod.status.phase, 'Running');
        assert.ok(pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'), `${pod.metadata.name} is Ready`);
        assert.match(pod.status.podIP ?? '', /^10\.244\.\d+\.\d+$/);
      }
      return list.items;
    }, { timeoutMs: 60_000, what: 'two Running and Ready pods' });
    const podIPs = pods.map((p) => p.status.podIP).sort();

    await eventually(async () => {
      const slices = await client.request<EndpointSliceList>('GET', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        query: { labelSelector: 'kubernetes.io/service-name=web' },
      });
      const ready = slices.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses);
      assert.deepEqual(ready.sort(), podIPs);
    }, { timeoutMs: 30_000, what: 'EndpointSlice lists the pod IPs' });

    await client.request('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
    await eventually(async () => {
      const replicaSets = await client.request<{ items: unknown[] }>('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`);
      const remaining = await client.request<PodList>('GET', `/api/v1/namespaces/${ns}/pods`);
      assert.deepEqual([replicaSets.items.length, remaining.items.length], [0, 0], 'ReplicaSet and pods are garbage-collected');
    }, { timeoutMs: 60_000, what: 'garbage collection' });
  });

  test('gives a Service the clusterIP it asks for and refuses a second Service the same IP', async () => {
    const client = kubeClient();
    const ns = await createNamespace('cp-ip');
    const first = await client.request<{ spec: { clusterIP: string } }>('POST', `/api/v1/namespaces/${ns}/services`, { body: service('first', '10.96.0.20') });
    assert.equal(first.spec.clusterIP, '10.96.0.20');
    await assert.rejects(
      client.request('POST', `/api/v1/namespaces/${ns}/services`, { body: service('second', '10.96.0.20') }),
      (error: unknown) => {
        assert.ok(error instanceof KubeApiError);
        assert.equal(error.status, 422);
        assert.match(error.message, /spec\.clusterIPs?.*10\.96\.0\.20.*already allocated/);
        return true;
      },
    );
    await client.request('DELETE', `/api/v1/namespaces/${ns}/services/first`);
  });
});
