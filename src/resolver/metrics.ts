/**
 * The resolver's Prometheus metrics, under CoreDNS's names and labels so that existing
 * dashboards and alerts keep working: `coredns_dns_*` (plugin/metrics), `coredns_cache_*`,
 * `coredns_proxy_request_duration_seconds` and `coredns_forward_max_concurrent_rejects_total`
 * (forward), `coredns_kubernetes_dns_programming_duration_seconds`, `coredns_panics_total`,
 * `coredns_build_info`, `coredns_plugin_enabled`, plus the process metrics of prom-client.
 *
 * The per-query metrics use the fast children of fast-metrics.ts; the rest are ordinary
 * prom-client metrics. One instance per process, passed to whoever records.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastHistogram, exponentialBuckets } from './fast-metrics.ts';
import type { CounterChild, HistogramChild } from './fast-metrics.ts';
import { RCODE_NAMES, typeLabel } from './records.ts';

/** Which part answered, the `plugin` label of `coredns_dns_responses_total`. */
export type Answerer = 'kubernetes' | 'forward' | 'cache' | 'any' | '';
const ANSWERERS: readonly Answerer[] = ['kubernetes', 'forward', 'cache', 'any', ''];

export type Proto = 'udp' | 'tcp';

/** CoreDNS's plugin.TimeBuckets: 0.25 ms to 8 s. */
const TIME_BUCKETS = exponentialBuckets(0.00025, 2, 16);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];
const ZONE = '.';
const VIEW = '';

export interface CacheSizes {
  readonly success: number;
  readonly denial: number;
}

export class ResolverMetrics {
  readonly registry = new Registry();
  private readonly server: string;
  private readonly requests: FastCounter;
  private readonly duration: HistogramChild;
  private readonly requestSize: FastHistogram;
  private readonly responseSize: FastHistogram;
  private readonly responses: FastCounter;
  private readonly doRequests: CounterChild;
  private readonly requestChildren: CounterChild[] = [];
  private readonly responseChildren: CounterChild[] = [];
  private readonly sizeChildren: Record<Proto, readonly [HistogramChild, HistogramChild]>;
  private readonly cacheHits: Record<'success' | 'denial', CounterChild>;
  private readonly cacheMisses: CounterChild;
  private readonly cacheRequests: CounterChild;
  private readonly upstreamDuration: Histogram;
  private readonly concurrentRejects: Counter;
  private readonly programming: Histogram;
  private readonly panics: Counter;
  private cacheSizes: () => CacheSizes = () => ({ success: 0, denial: 0 });

  /** `server`: CoreDNS's server label, e.g. `dns://:1053`. */
  constructor(server: string, version: string) {
    this.server = server;
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    const base = { server, zone: ZONE, view: VIEW };
    this.requests = new FastCounter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'] }).register(registry);
    this.duration = new FastHistogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.', labelNames: ['server', 'zone', 'view'], buckets: TIME_BUCKETS }).register(registry).child(base);
    this.requestSize = new FastHistogram({ name: 'coredns_dns_request_size_bytes', help: 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS }).register(registry);
    this.responseSize = new FastHistogram({ name: 'coredns_dns_response_size_bytes', help: 'Size of the returned response in bytes.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS }).register(registry);
    this.sizeChildren = {
      udp: [this.requestSize.child({ ...base, proto: 'udp' }), this.responseSize.child({ ...base, proto: 'udp' })],
      tcp: [this.requestSize.child({ ...base, proto: 'tcp' }), this.responseSize.child({ ...base, proto: 'tcp' })],
    };
    this.responses = new FastCounter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'] }).register(registry);
    this.doRequests = new FastCounter({ name: 'coredns_dns_do_requests_total', help: 'Counter of DNS requests with DO bit set per zone.', labelNames: ['server', 'zone', 'view'] }).register(registry).child(base);

    const cacheBase = { server, zones: ZONE, view: VIEW };
    const hits = new FastCounter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'] }).register(registry);
    this.cacheHits = { success: hits.child({ ...cacheBase, type: 'success' }), denial: hits.child({ ...cacheBase, type: 'denial' }) };
    this.cacheMisses = new FastCounter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'] }).register(registry).child(cacheBase);
    this.cacheRequests = new FastCounter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'] }).register(registry).child(cacheBase);
    const sizes = (): (() => CacheSizes) => this.cacheSizes;
    new Gauge({
      name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers: [registry],
      collect() {
        const now = sizes()();
        this.set({ server, type: 'success', zones: ZONE, view: VIEW }, now.success);
        this.set({ server, type: 'denial', zones: ZONE, view: VIEW }, now.denial);
      },
    });

    this.upstreamDuration = new Histogram({ name: 'coredns_proxy_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['proxy_name', 'to', 'rcode'], buckets: TIME_BUCKETS, registers: [registry] });
    this.concurrentRejects = new Counter({ name: 'coredns_forward_max_concurrent_rejects_total', help: 'Counter of the number of queries rejected because the concurrent queries were at maximum.', registers: [registry] });
    this.programming = new Histogram({ name: 'coredns_kubernetes_dns_programming_duration_seconds', help: 'Histogram of the time (in seconds) it took to program a dns instance.', labelNames: ['service_kind'], buckets: exponentialBuckets(0.001, 2, 20), registers: [registry] });
    this.panics = new Counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', registers: [registry] });
    new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers: [registry] })
      .set({ version, revision: 'clusterdns', goversion: `node${process.versions.node}` }, 1);
    const enabled = new Gauge({ name: 'coredns_plugin_enabled', help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.', labelNames: ['server', 'zone', 'view', 'name'], registers: [registry] });
    for (const name of ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loadbalance']) enabled.set({ ...base, name }, 1);
  }

  /** Records one answered query (the hot path: a few field increments). */
  request(proto: Proto, family: 4 | 6, qtype: number, rcode: number, answerer: Answerer, requestSize: number, responseSize: number, seconds: number, dnssecOk: boolean): void {
    const label = typeLabel(qtype);
    const requestKey = (TYPE_INDEX.get(label) ?? 0) * 4 + (proto === 'udp' ? 0 : 2) + (family === 4 ? 0 : 1);
    let requests = this.requestChildren[requestKey];
    if (!requests) {
      requests = this.requests.child({ server: this.server, zone: ZONE, view: VIEW, proto, family: family === 4 ? '1' : '2', type: label });
      this.requestChildren[requestKey] = requests;
    }
    requests.value++;
    const responseKey = (rcode & 0xff) * ANSWERERS.length + ANSWERERS.indexOf(answerer);
    let responses = this.responseChildren[responseKey];
    if (!responses) {
      responses = this.responses.child({ server: this.server, zone: ZONE, view: VIEW, rcode: RCODE_NAMES[rcode] ?? String(rcode), plugin: answerer });
      this.responseChildren[responseKey] = responses;
    }
    responses.value++;
    this.duration.observe(seconds);
    const [requestSizes, responseSizes] = this.sizeChildren[proto];
    requestSizes.observe(requestSize);
    responseSizes.observe(responseSize);
    if (dnssecOk) this.doRequests.value++;
  }

  cacheLookup(hit: 'success' | 'denial' | undefined): void {
    this.cacheRequests.value++;
    if (hit) this.cacheHits[hit].value++;
    else this.cacheMisses.value++;
  }

  /** Where `coredns_cache_entries` reads the cache's sizes at scrape time. */
  watchCache(sizes: () => CacheSizes): void {
    this.cacheSizes = sizes;
  }

  upstream(to: string, rcode: string, seconds: number): void {
    this.upstreamDuration.observe({ proxy_name: 'forward', to, rcode }, seconds);
  }

  concurrencyReject(): void {
    this.concurrentRejects.inc();
  }

  programmed(kind: 'cluster_ip' | 'headless_with_selector', seconds: number): void {
    this.programming.observe({ service_kind: kind }, seconds);
  }

  panic(): void {
    this.panics.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

const TYPE_INDEX = new Map<string, number>(
  ['other', 'A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'AAAA', 'SRV', 'NAPTR', 'DS', 'RRSIG', 'NSEC', 'DNSKEY', 'NSEC3', 'SVCB', 'HTTPS', 'IXFR', 'AXFR', 'ANY']
    .map((label, i) => [label, i]),
);
