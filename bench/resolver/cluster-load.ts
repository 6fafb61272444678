/**
 * The benchmark's cluster: `services` Services in `namespaces` namespaces, each with one
 * EndpointSlice of `endpointsPerService` ready endpoints (written directly: selector-less
 * Services, so the EndpointSlice controller leaves them alone). One in ten Services is
 * headless, its endpoints named `ep-<i>`.
 *
 * createLoad POSTs them over a pool of kept-alive connections, IN_FLIGHT requests at a
 * time: a TLS handshake per object cost this process ~4 ms of CPU per object (measured at
 * 2,000 Services). kube-apiserver's own cost remains (~7 ms of CPU per object there, and
 * growing with the number of clusterIPs), which is why the benchmark seeds its cluster
 * into etcd instead (seed.ts) and createLoad is for small clusters.
 */
import { Agent, request } from 'node:https';
import type { RequestOptions } from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';
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

/** Requests in flight while the cluster is created (and kept-alive connections, one each). */
export const IN_FLIGHT = 48;

/** A refusal of the apiserver, with its status (409: the object exists already). */
class PostError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

type Post = (path: string, body: object) => Promise<void>;

/**
 * POSTs JSON with the client's credentials over at most `sockets` kept-alive connections;
 * `close` ends them. (KubeClient opens a connection per request, right for a long-running
 * process's few requests, slow for a hundred thousand.)
 */
export async function keepAlivePoster(client: KubeClient, sockets: number): Promise<{ post: Post; close: () => void }> {
  const base: RequestOptions = {};
  // Fills in ca, cert, key and the Authorization header; the agent is replaced by ours.
  await client.config.applyToHTTPSOptions(base);
  const credentials: OutgoingHttpHeaders = base.headers && !Array.isArray(base.headers) ? base.headers as OutgoingHttpHeaders : {};
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, ca: base.ca, cert: base.cert, key: base.key, rejectUnauthorized: base.rejectUnauthorized ?? true });
  const post: Post = (path, body) => new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const headers = { ...credentials, accept: 'application/json', 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
    const req = request(`${client.server}${path}`, { method: 'POST', agent, headers, timeout: 60_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve();
        else reject(new PostError(status, `POST ${path}: ${status} ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', reject);
    req.end(payload);
  });
  return { post, close: () => { agent.destroy(); } };
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

/** Creates the namespaces, services and slices; `progress` is told every 2000 objects and at the end. */
export async function createLoad(client: KubeClient, shape: LoadShape, progress: (line: string) => void): Promise<BenchService[]> {
  const services = benchServices(shape);
  const namespaces = [...new Set(services.map((s) => s.namespace))];
  const { post, close } = await keepAlivePoster(client, IN_FLIGHT);
  try {
    await pooled(namespaces, IN_FLIGHT, (name) => persist(`namespace ${name}`, () =>
      post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } })));
    const began = performance.now();
    let done = 0;
    const tick = (): void => {
      if (++done % 2000 === 0 || done === services.length * 2) {
        progress(`${done} of ${services.length * 2} objects created (${Math.round(done / ((performance.now() - began) / 1000))} objects/s)`);
      }
    };
    await pooled(services, IN_FLIGHT, async (service) => {
      await persist(`service ${service.namespace}/${service.name}`, () =>
        post(`/api/v1/namespaces/${service.namespace}/services`, serviceObject(service)));
      tick();
      await persist(`slice of ${service.namespace}/${service.name}`, () =>
        post(`/apis/discovery.k8s.io/v1/namespaces/${service.namespace}/endpointslices`, sliceObject(service)));
      tick();
    });
  } finally {
    close();
  }
  return services;
}
