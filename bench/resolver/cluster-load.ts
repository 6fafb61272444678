/**
 * The benchmark's cluster: `services` Services in `namespaces` namespaces, each with one
 * EndpointSlice of `endpointsPerService` ready endpoints (written directly: selector-less
 * Services, so the EndpointSlice controller leaves them alone). One in ten Services is
 * headless, its endpoints named `ep-<i>`.
 */
import type { KubeClient } from '../../src/kube/client.ts';

export interface LoadShape {
  readonly namespaces: number;
  readonly services: number;
  readonly endpointsPerService: number;
}

export interface BenchService {
  readonly namespace: string;
  readonly name: string;
  readonly headless: boolean;
  readonly endpoints: readonly string[];
}

export const NAMESPACE_PREFIX = 'bench-';

/** The services of a shape, in a fixed order (pure). */
export function benchServices(shape: LoadShape): BenchService[] {
  const perNamespace = Math.ceil(shape.services / shape.namespaces);
  return Array.from({ length: shape.services }, (_, i) => {
    const endpoints = Array.from({ length: shape.endpointsPerService }, (_, e) => {
      const n = i * shape.endpointsPerService + e;
      return `10.${200 + (n >> 16)}.${(n >> 8) & 0xff}.${n & 0xff}`;
    });
    return { namespace: `${NAMESPACE_PREFIX}${Math.floor(i / perNamespace)}`, name: `svc-${i % perNamespace}`, headless: i % 10 === 9, endpoints };
  });
}

/** 10,000 A queries over random Services (a fixed seed, the same file every run), dnsperf's format: `name A` per line. */
export function clusterQueries(services: readonly BenchService[]): string {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  return Array.from({ length: 10_000 }, () => {
    const s = services[Math.floor(random() * services.length)];
    return s ? `${s.name}.${s.namespace}.svc.cluster.local A` : '';
  }).join('\n') + '\n';
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function pooled<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await work(item);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Retries a request a few times: the apiserver of a loaded machine sometimes times out. */
async function persist(what: string, request: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await request();
      return;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 409) return;
      if (attempt >= 5) throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

export function serviceObject(service: BenchService): object {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: service.name, namespace: service.namespace },
    spec: { ...(service.headless ? { clusterIP: 'None' } : {}), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

export function sliceObject(service: BenchService): object {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${service.name}-bench`, namespace: service.namespace, labels: { 'kubernetes.io/service-name': service.name, 'endpointslice.kubernetes.io/managed-by': 'clusterdns-bench' } },
    addressType: 'IPv4',
    endpoints: service.endpoints.map((ip, i) => ({ addresses: [ip], conditions: { ready: true }, ...(service.headless ? { hostname: `ep-${i}` } : {}) })),
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
  };
}

/** Creates the namespaces, services and slices; `progress` is told every 1000 objects. */
export async function createLoad(client: KubeClient, shape: LoadShape, progress: (line: string) => void): Promise<BenchService[]> {
  const services = benchServices(shape);
  const namespaces = [...new Set(services.map((s) => s.namespace))];
  await pooled(namespaces, 16, (name) => persist(`namespace ${name}`, () =>
    client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } })));
  let done = 0;
  const tick = (): void => {
    if (++done % 2000 === 0) progress(`${done} of ${services.length * 2} objects created`);
  };
  await pooled(services, 32, async (service) => {
    await persist(`service ${service.namespace}/${service.name}`, () =>
      client.request('POST', `/api/v1/namespaces/${service.namespace}/services`, { body: serviceObject(service) }));
    tick();
    await persist(`slice of ${service.namespace}/${service.name}`, () =>
      client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`, { body: sliceObject(service) }));
    tick();
  });
  return services;
}
