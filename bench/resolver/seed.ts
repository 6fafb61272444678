/**
 * The resolver benchmark's cluster written straight into the control plane's etcd, in the
 * form kube-apiserver stores it (JSON, which it reads as it reads its own protobuf), so
 * that 50,000 Services take seconds to seed instead of most of an hour. kube-apiserver
 * then lists and watches these objects like any others; only creating them skips it.
 *
 * Why not POST them: each Service create makes kube-apiserver's clusterIP allocator
 * recount every allocated address (its metrics list all IPAddress objects, twice), so
 * creating N Services costs O(N^2) — measured at ~7 ms of apiserver CPU per object at 2,000
 * Services, and growing. Each Service gets its address (and the IPAddress object the
 * allocator keeps for it) written here too, from a block of the Service range that the
 * allocator's random choice for later Services skips on conflict, as for any taken address.
 * Namespaces are still created through the API (a few hundred, and their controller sees them).
 */
import { randomUUID } from 'node:crypto';
import { benchServices, IN_FLIGHT, keepAlivePoster, pooled, serviceObject, sliceObject } from './cluster-load.ts';
import type { BenchService, LoadShape } from './cluster-load.ts';
import type { KubeClient } from '../../src/kube/client.ts';
import { childPids, coresUsed } from './machine.ts';

/** etcd's default --max-txn-ops: puts per transaction. */
const PUTS_PER_TXN = 128;
/** The first address handed out here: 10.100.0.1 of the control plane's 10.96.0.0/12, clear of 10.96.0.1 (kubernetes). */
const FIRST_ADDRESS = (10 << 24) | (100 << 16) | 1;

interface Stored {
  readonly key: string;
  readonly value: object;
}

const dotted = (n: number): string => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');

function meta(service: BenchService, name: string, created: string, extra: object = {}): object {
  return { name, namespace: service.namespace, uid: randomUUID(), creationTimestamp: created, ...extra };
}

/**
 * The stored objects of one Service (pure apart from uids): the Service with the fields
 * kube-apiserver fills in on create, its IPAddress (unless headless) and its EndpointSlice.
 */
export function storedObjects(service: BenchService, index: number, created: string): Stored[] {
  const base = serviceObject(service) as { spec: { ports: Array<{ port: number }> } };
  const slice = sliceObject(service) as { metadata: { name: string; labels: object } };
  const address = service.headless ? 'None' : dotted(FIRST_ADDRESS + index);
  const objects: Stored[] = [
    {
      key: `/registry/services/specs/${service.namespace}/${service.name}`,
      value: {
        apiVersion: 'v1', kind: 'Service', metadata: meta(service, service.name, created),
        spec: {
          ports: base.spec.ports.map((p) => ({ ...p, targetPort: p.port })),
          clusterIP: address, clusterIPs: [address], type: 'ClusterIP', sessionAffinity: 'None',
          ...(service.headless ? { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' } : { ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack' }),
          internalTrafficPolicy: 'Cluster',
        },
        status: { loadBalancer: {} },
      },
    },
    {
      key: `/registry/endpointslices/${service.namespace}/${slice.metadata.name}`,
      value: { ...slice, metadata: meta(service, slice.metadata.name, created, { labels: slice.metadata.labels, generation: 1 }) },
    },
  ];
  if (!service.headless) {
    objects.push({
      key: `/registry/ipaddresses/${address}`,
      value: {
        apiVersion: 'networking.k8s.io/v1', kind: 'IPAddress',
        metadata: { name: address, uid: randomUUID(), creationTimestamp: created, labels: { 'ipaddress.kubernetes.io/ip-family': 'IPv4', 'ipaddress.kubernetes.io/managed-by': 'ipallocator.k8s.io' } },
        spec: { parentRef: { group: '', resource: 'services', namespace: service.namespace, name: service.name } },
      },
    });
  }
  return objects;
}

/** One etcd transaction of puts, over etcd's JSON gateway. */
async function put(etcdUrl: string, batch: readonly Stored[]): Promise<void> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const body = JSON.stringify({ success: batch.map((o) => ({ requestPut: { key: b64(o.key), value: b64(JSON.stringify(o.value)) } })) });
  const response = await fetch(`${etcdUrl}/v3/kv/txn`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  if (!response.ok) throw new Error(`etcd txn: ${response.status} ${(await response.text()).slice(0, 300)}`);
}

/** Seeds the shape's cluster; `progress` is told every 20,000 objects and at the end. */
export async function seedLoad(client: KubeClient, etcdUrl: string, shape: LoadShape, progress: (line: string) => void): Promise<BenchService[]> {
  const services = benchServices(shape);
  const { post, close } = await keepAlivePoster(client, IN_FLIGHT);
  try {
    await pooled([...new Set(services.map((s) => s.namespace))], IN_FLIGHT, (name) =>
      post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  } finally {
    close();
  }
  const created = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const objects = services.flatMap((service, i) => storedObjects(service, i, created));
  // Addresses first: kube-apiserver's repair loop reports (and re-creates) the address of a
  // Service it sees before that address's IPAddress, and waits 60 s before it removes an
  // IPAddress whose Service it has not seen yet.
  const addresses = objects.filter((o) => o.key.startsWith('/registry/ipaddresses/'));
  const rest = objects.filter((o) => !o.key.startsWith('/registry/ipaddresses/'));
  let done = 0;
  for (const phase of [addresses, rest]) {
    const batches = Array.from({ length: Math.ceil(phase.length / PUTS_PER_TXN) }, (_, i) => phase.slice(i * PUTS_PER_TXN, (i + 1) * PUTS_PER_TXN));
    await pooled(batches, 4, async (batch) => {
      await put(etcdUrl, batch);
      const before = done;
      done += batch.length;
      if (Math.floor(done / 20_000) > Math.floor(before / 20_000) || done === objects.length) progress(`${done} of ${objects.length} objects written to etcd`);
    });
  }
  await untilListed(client, '/api/v1/services', services.length, progress);
  await untilListed(client, '/apis/discovery.k8s.io/v1/endpointslices', services.length, progress);
  await untilQuiet(progress);
  return services;
}

/**
 * Waits until the control plane (this process's children) has taken in the new objects:
 * kube-controller-manager's informers and garbage collector graph and the apiserver's caches
 * keep a core or more busy for up to a minute after a large seed, which a server started
 * then would be measured against. Quiet: under 0.2 cores over 2 s; at most 180 s.
 */
async function untilQuiet(progress: (line: string) => void): Promise<void> {
  const began = Date.now();
  let used = Infinity;
  while (Date.now() - began < 180_000) {
    used = await coresUsed(childPids(), 2000);
    if (used < 0.2) break;
  }
  progress(`control plane at ${used.toFixed(2)} cores after ${((Date.now() - began) / 1000).toFixed(0)} s`);
}

/**
 * Waits until kube-apiserver lists at least `count` objects at `path` (a consistent list,
 * so from a watch cache that has caught up with etcd): the servers measured next should find
 * the cluster there, not wait for the apiserver to take in what was just written.
 */
async function untilListed(client: KubeClient, path: string, count: number, progress: (line: string) => void): Promise<void> {
  const began = Date.now();
  for (;;) {
    const page = await client.request<{ items: unknown[]; metadata: { remainingItemCount?: number } }>('GET', path, { query: { limit: 1 } });
    const listed = page.items.length + (page.metadata.remainingItemCount ?? 0);
    if (listed >= count) {
      progress(`${path}: ${listed} listed after ${((Date.now() - began) / 1000).toFixed(1)} s`);
      return;
    }
    if (Date.now() - began > 300_000) throw new Error(`${path}: ${listed} of ${count} listed after 300 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
