/** Reads the snapshot that `clusterQuestions()` turns into questions: Services, EndpointSlices, Pods. */
import type { KubeClient } from '../kube/client.ts';
import type { ClusterSnapshot, EndpointSliceFacts, PodIPFacts, ServiceFacts } from './questions.ts';

interface RawList<T> {
  readonly items?: T[];
  readonly metadata?: { readonly continue?: string };
}

interface RawService {
  metadata: { namespace: string; name: string };
  spec: { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: Array<{ name?: string; protocol?: string }> };
}

interface RawSlice {
  metadata: { namespace: string; labels?: Record<string, string> };
  endpoints?: Array<{ addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }>;
}

interface RawPod {
  metadata: { namespace: string };
  spec: { hostNetwork?: boolean };
  status: { phase?: string; podIP?: string; podIPs?: Array<{ ip: string }> };
}

/** Lists every page of a collection. */
async function listAll<T>(client: KubeClient, path: string, query: Record<string, string> = {}): Promise<T[]> {
  const items: T[] = [];
  let continueToken: string | undefined;
  do {
    const page = await client.request<RawList<T>>('GET', path, { query: { limit: 500, continue: continueToken, ...query } });
    items.push(...(page.items ?? []));
    continueToken = page.metadata?.continue || undefined;
  } while (continueToken);
  return items;
}

/** The snapshot of the whole cluster, or of one namespace. */
export async function readSnapshot(client: KubeClient, namespace?: string): Promise<ClusterSnapshot> {
  const scope = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const [services, slices, pods] = await Promise.all([
    listAll<RawService>(client, `/api/v1${scope}/services`),
    listAll<RawSlice>(client, `/apis/discovery.k8s.io/v1${scope}/endpointslices`),
    listAll<RawPod>(client, `/api/v1${scope}/pods`, { fieldSelector: 'status.phase=Running' }),
  ]);
  return {
    services: services.map((s): ServiceFacts => ({
      namespace: s.metadata.namespace,
      name: s.metadata.name,
      type: s.spec.type ?? 'ClusterIP',
      clusterIPs: s.spec.clusterIPs ?? (s.spec.clusterIP ? [s.spec.clusterIP] : []),
      ports: s.spec.ports ?? [],
    })),
    endpointSlices: slices.flatMap((s): EndpointSliceFacts[] => {
      const service = s.metadata.labels?.['kubernetes.io/service-name'];
      if (!service) return [];
      // Ready endpoints only (absent counts as ready, as CoreDNS has it): they are what is answered.
      const endpoints = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).map((e) => ({ addresses: e.addresses, hostname: e.hostname }));
      return [{ namespace: s.metadata.namespace, service, endpoints }];
    }),
    pods: pods.filter((p) => !p.spec.hostNetwork).map((p): PodIPFacts => ({
      namespace: p.metadata.namespace,
      ips: p.status.podIPs?.map((i) => i.ip) ?? (p.status.podIP ? [p.status.podIP] : []),
    })),
  };
}
