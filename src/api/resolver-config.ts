/**
 * The resolver's configuration file (`clusterdns resolver --config FILE`, JSON or YAML).
 *
 * The operator renders it into each instance's ConfigMap from the ClusterDNS spec, local
 * mode writes the same for its loopback resolvers, and the resolver parses it once at start:
 * a bad file stops the resolver with the field named.
 */
import { z } from 'zod';
import { DNS1123_SUBDOMAIN, engineSchema, ipSchema, podsModeSchema } from './clusterdns.ts';
import type { ClusterDNSSpec, Engine } from './clusterdns.ts';
import { LOG_LEVELS } from '../kube/log.ts';
import { RESOLVER_PORTS } from './names.ts';

const port = z.number().int().min(0).max(65535);
const domain = z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain');

export const shadowConfigSchema = z.object({
  /** The server to compare with, `IP` or `IP:port` (the operator gives the baseline Service's clusterIP). */
  baseline: z.string().min(1),
  /**
   * What the baseline runs: against `coredns` (a CoreDNS release, kube-dns) the documented
   * intended differences are counted apart as intended; against `clusterdns` every
   * difference counts (two resolvers never differ that way).
   */
  baselineEngine: engineSchema.default('clusterdns'),
  /** Percent of the answered queries asked of the baseline too, such as 1 or 0.1. */
  sample: z.number().gt(0).max(100).default(1),
  /** Shadow queries waiting for the baseline at most, all serving threads together; beyond it a sampled query is skipped. */
  maxInFlight: z.number().int().min(1).max(10_000).default(100),
  /** How long the baseline has to answer (then the shadow query counts as an error). */
  timeoutSeconds: z.number().min(0.05).max(30).default(2),
});

export const resolverConfigSchema = z.object({
  /** Address the DNS, health, ready and metrics servers bind to. */
  listenAddress: ipSchema.default('0.0.0.0'),
  /** DNS over UDP and TCP. */
  port: port.default(RESOLVER_PORTS.dns),
  /** `/health` (liveness; stays up during lameduck). */
  healthPort: port.default(RESOLVER_PORTS.health),
  /** `/ready` (200 only after the first sync, 503 during lameduck). */
  readyPort: port.default(RESOLVER_PORTS.ready),
  /** `/metrics` (Prometheus, CoreDNS names). */
  metricsPort: port.default(RESOLVER_PORTS.metrics),
  clusterDomain: domain.default('cluster.local'),
  ttl: z.number().int().min(0).max(3600).default(30),
  pods: podsModeSchema.default('insecure'),
  upstream: z.object({
    /** Empty: the nameservers of /etc/resolv.conf. */
    nameservers: z.array(z.string().min(1)).default([]),
    cacheSeconds: z.number().int().min(0).max(3600).default(30),
    /** How long to wait for one upstream server before trying the next (then SERVFAIL). */
    timeoutSeconds: z.number().min(0.05).max(30).default(2),
    /** Upstream exchanges in flight at most; queries beyond it are REFUSED (CoreDNS `max_concurrent`). */
    maxConcurrent: z.number().int().min(1).max(100_000).default(1000),
    /** The most memory (MiB) the caches of upstream answers take, all serving threads together; each kind (answers, denials) half of it. */
    cacheMiB: z.number().min(0.0625).max(4096).default(16),
  }).default({ nameservers: [], cacheSeconds: 30, timeoutSeconds: 2, maxConcurrent: 1000, cacheMiB: 16 }),
  /** Zone -> servers ("IP" or "IP:port"). */
  stubDomains: z.record(domain, z.array(z.string().min(1)).min(1)).default({}),
  /** DNS over TCP, with CoreDNS's `timeouts` (idle, read, write) and bounds on connections and memory. */
  tcp: z.object({
    /** A connection with nothing received and nothing in flight for this long is closed. */
    idleTimeoutSeconds: z.number().min(0.1).max(300).default(10),
    /** A message begun must arrive whole within this time (slowloris). */
    readTimeoutSeconds: z.number().min(0.1).max(300).default(5),
    /** Answers the client does not read (more than 64 KiB waiting) must drain within this time. */
    writeTimeoutSeconds: z.number().min(0.1).max(300).default(5),
    /** Connections per serving thread; beyond it the one without a query for the longest is closed. */
    maxConnections: z.number().int().min(1).max(100_000).default(1000),
    /** The most memory (MiB) all connections hold together (unread queries, queries in flight, unsent answers), all serving threads together; beyond it the connection holding the most is closed. */
    bufferMiB: z.number().min(0.0625).max(4096).default(8),
  }).default({ idleTimeoutSeconds: 10, readTimeoutSeconds: 5, writeTimeoutSeconds: 5, maxConnections: 1000, bufferMiB: 8 }),
  /**
   * Threads that answer DNS, all on the same port: `auto` is one per core the process is
   * given (CPU affinity and cgroup quota, as Go's GOMAXPROCS), at most 4, and no more than
   * the memory limit holds beside the synced index (the extra threads start once it is
   * synced). The threads share the index; each adds its own V8 isolate (about 32 MiB).
   * A number is used as it is.
   */
  threads: z.union([z.literal('auto'), z.number().int().min(1).max(256)]).default('auto'),
  /** Seconds to keep answering after SIGTERM while /ready fails (CoreDNS `health { lameduck }`). */
  lameduckSeconds: z.number().min(0).max(300).default(5),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /**
   * Shadow comparison (docs/analysis.md): a sample of the answered queries is asked of the
   * baseline too, off the hot path, and the two answers are compared. Absent: off, at no cost.
   */
  shadow: shadowConfigSchema.optional(),
});

export type ResolverConfig = z.infer<typeof resolverConfigSchema>;
export type ShadowConfig = z.infer<typeof shadowConfigSchema>;

/**
 * The resolver configuration of a ClusterDNS instance: what the operator writes into the
 * instance's ConfigMap and what local mode gives its loopback resolvers (which override the
 * listen address and ports). Pure.
 */
export function resolverConfigFor(spec: ClusterDNSSpec, overrides: Partial<ResolverConfig> = {}): ResolverConfig {
  return resolverConfigSchema.parse({
    clusterDomain: spec.clusterDomain,
    ttl: spec.ttl,
    pods: spec.pods,
    upstream: { nameservers: spec.upstream.nameservers, cacheSeconds: spec.upstream.cacheSeconds, cacheMiB: spec.upstream.cacheMiB },
    stubDomains: spec.stubDomains,
    ...overrides,
  });
}

/**
 * The shadow section for a ClusterDNS with `spec.analysis`, comparing with the server at
 * `baseline` (the baseline Service's clusterIP in a cluster, a loopback address in local
 * mode) that runs `baselineEngine`; undefined without analysis or without an address to
 * compare with. Pure.
 */
export function shadowConfigFor(
  analysis: { readonly sample: number } | undefined, baseline: string | undefined, baselineEngine: Engine = 'clusterdns',
): ShadowConfig | undefined {
  if (!analysis || baseline === undefined) return undefined;
  return shadowConfigSchema.parse({ baseline, baselineEngine, sample: analysis.sample });
}
