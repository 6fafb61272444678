/**
 * Pods and ClusterDNS instances on the real node: run a pod to completion and read its log,
 * find an instance's resolver pods, read their metrics through the apiserver's proxy (pod
 * IPs exist only inside the node), and kill a container's process as a crash would.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CLUSTERDNS_PATH, DEFAULT_NAMESPACE } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { waitFor } from '../../src/local/net.ts';
import { waitForAnswers } from '../../src/local/real-mode.ts';
import { parsePrometheus, sumOf } from './prometheus.ts';
import type { NodeUnderTest } from './real-node.ts';

export interface PodStatus {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { dnsPolicy?: string; dnsConfig?: { nameservers?: string[]; searches?: string[] }; containers: Array<{ name: string; image: string }> };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ name: string; ready: boolean; restartCount: number; containerID?: string; image?: string; state?: Record<string, unknown> }>;
  };
}

export async function getPod(h: NodeUnderTest, namespace: string, name: string): Promise<PodStatus> {
  return h.client.request<PodStatus>('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
}

export async function createPod(h: NodeUnderTest, namespace: string, manifest: object): Promise<PodStatus> {
  return h.client.request<PodStatus>('POST', `/api/v1/namespaces/${namespace}/pods`, { body: manifest });
}

export function isReady(pod: PodStatus): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates a pod and waits until it has Succeeded or Failed; returns its phase and log. */
export async function runToCompletion(h: NodeUnderTest, namespace: string, manifest: object, timeoutMs = 120_000): Promise<{ phase: string; log: string; pod: PodStatus }> {
  const created = await createPod(h, namespace, manifest);
  const name = created.metadata.name;
  let pod = created;
  await waitFor(`pod ${namespace}/${name} to finish`, async () => {
    pod = await getPod(h, namespace, name);
    return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  }, timeoutMs);
  return { phase: pod.status?.phase ?? '', log: await podLog(h, namespace, name), pod };
}

export async function waitForPodReady(h: NodeUnderTest, namespace: string, name: string, timeoutMs = 120_000): Promise<PodStatus> {
  let pod: PodStatus | undefined;
  await waitFor(`pod ${namespace}/${name} Ready`, async () => isReady(pod = await getPod(h, namespace, name)), timeoutMs);
  if (!pod) throw new Error('unreachable');
  return pod;
}

export function podLog(h: NodeUnderTest, namespace: string, name: string): Promise<string> {
  return h.kubectl.run(['-n', namespace, 'logs', name]);
}

/** A pod that runs `script` with sh in the tools image (nslookup, dig), once. */
export function toolsPod(name: string, script: string, spec: Record<string, unknown> = {}, labels: Record<string, string> = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'tools', image: 'localhost/clusterdns-test-tools:1', imagePullPolicy: 'Never', command: ['sh', '-c', script] }],
      ...spec,
    },
  };
}

/**
 * Applies a ClusterDNS, waits for Available=True, for its own pods to serve its clusterIP (a
 * new instance starts on its baseline, kube-dns) and for answers there from inside the node.
 */
export async function applyInstance(h: NodeUnderTest, name: string, spec: Record<string, unknown>): Promise<void> {
  await h.kubectl.apply({ objects: [{ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec }] });
  await h.kubectl.run(['wait', '--for=condition=Available', '--timeout=180s', `clusterdns/${name}`]);
  await h.kubectl.run(['wait', '--for=jsonpath={.status.serving}=Instance', '--timeout=60s', `clusterdns/${name}`]);
  if (typeof spec['clusterIP'] === 'string') await waitForAnswers(h.node, spec['clusterIP'], 'kubernetes.default.svc.cluster.local');
}

export async function deleteInstance(h: NodeUnderTest, name: string): Promise<void> {
  await h.client.request('DELETE', `${CLUSTERDNS_PATH}/${name}`).catch((error: unknown) => {
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
  });
}

/** The instance's resolver pods that are not being deleted. */
export async function resolverPods(h: NodeUnderTest, instance: string): Promise<PodStatus[]> {
  const list = await h.client.request<{ items: PodStatus[] }>('GET', `/api/v1/namespaces/${DEFAULT_NAMESPACE}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${instance}`)}`);
  return list.items.filter((pod) => !pod.metadata.deletionTimestamp);
}

/** A pod's `coredns_dns_requests_total`, read through the apiserver's proxy to the pod's :9153. */
export async function dnsRequests(h: NodeUnderTest, pod: PodStatus): Promise<number> {
  const text = await h.kubectl.run(['get', '--raw', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}:9153/proxy/metrics`]);
  return sumOf(parsePrometheus(text), 'coredns_dns_requests_total');
}

/** The sum over the instance's resolver pods. */
export async function instanceRequests(h: NodeUnderTest, instance: string): Promise<number> {
  let total = 0;
  for (const pod of await resolverPods(h, instance)) total += await dnsRequests(h, pod);
  return total;
}

/** The host pid of a pod's container, from containerd (`ctr tasks ls`). */
export async function containerPid(h: NodeUnderTest, pod: PodStatus, container: string): Promise<number> {
  const id = pod.status?.containerStatuses?.find((c) => c.name === container)?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`pod ${pod.metadata.name} has no running ${container} container`);
  const tasks = await h.node.ctr(['tasks', 'ls']);
  const line = tasks.split('\n').find((l) => l.startsWith(id));
  const pid = Number(line?.trim().split(/\s+/)[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no task for container ${id}:\n${tasks}`);
  return pid;
}

/** Polls until `check` passes, with a short pause; returns when it did. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  const began = Date.now();
  await waitFor(what, check, timeoutMs);
  await sleep(0);
  return Date.now() - began;
}
