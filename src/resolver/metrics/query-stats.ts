/**
 * The per-query counters of one serving thread, under CoreDNS's metric names and labels:
 * `coredns_dns_*` (plugin/metrics), `coredns_cache_*`, `coredns_proxy_request_duration_seconds`
 * and `coredns_forward_max_concurrent_rejects_total` (forward), `coredns_panics_total`.
 *
 * Plain data with no dependency (serving threads do not load prom-client); registry.ts
 * renders them, with the other threads' snapshots added in.
 */
import { RCODE_NAMES, typeLabel } from '../../dns/records.ts';
import { FastCounter, FastHistogram, exponentialBuckets } from './primitives.ts';
import type { ChildSnapshot, CounterChild, HistogramChild } from './primitives.ts';

/** Which part answered, the `plugin` label of `coredns_dns_responses_total`. */
export type Answerer = 'kubernetes' | 'forward' | 'cache' | 'any' | '';
const ANSWERERS: readonly Answerer[] = ['kubernetes', 'forward', 'cache', 'any', ''];

export type Proto = 'udp' | 'tcp';

/** CoreDNS's plugin.TimeBuckets: 0.25 ms to 8 s. */
export const TIME_BUCKETS = exponentialBuckets(0.00025, 2, 16);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3, 64e3];
const ZONE = '.';
const VIEW = '';

export interface CacheSizes {
  readonly success: number;
  readonly denial: number;
}

/** Everything one thread counted, as plain data (postMessage-able). */
export interface StatsSnapshot {
  readonly metrics: Readonly<Record<string, readonly ChildSnapshot[]>>;
  readonly cache: CacheSizes;
}

const TYPE_INDEX = new Map<string, number>(
  ['other', 'A', 'NS', 'CNAME', 'SOA', 'PTR', 'HINFO', 'MX', 'TXT', 'AAAA', 'SRV', 'NAPTR', 'DS', 'RRSIG', 'NSEC', 'DNSKEY', 'NSEC3', 'SVCB', 'HTTPS', 'IXFR', 'AXFR', 'ANY']
    .map((label, i) => [label, i]),
);

export class QueryStats {
  readonly server: string;
  readonly requests = new FastCounter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'] });
  readonly durations = new FastHistogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.', labelNames: ['server', 'zone', 'view'], buckets: TIME_BUCKETS });
  readonly requestSizes = new FastHistogram({ name: 'coredns_dns_request_size_bytes', help: 'Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS });
  readonly responseSizes = new FastHistogram({ name: 'coredns_dns_response_size_bytes', help: 'Size of the returned response in bytes.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS });
  readonly responses = new FastCounter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'] });
  readonly doRequests = new FastCounter({ name: 'coredns_dns_do_requests_total', help: 'Counter of DNS requests with DO bit set per zone.', labelNames: ['server', 'zone', 'view'] });
  readonly cacheHits = new FastCounter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'] });
  readonly cacheMisses = new FastCounter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'] });
  readonly cacheRequests = new FastCounter({ name: 'coredns_cache_requests_total', help: 'The count of cache requests.', labelNames: ['server', 'zones', 'view'] });
  readonly upstreamDurations = new FastHistogram({ name: 'coredns_proxy_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['proxy_name', 'to', 'rcode'], buckets: TIME_BUCKETS });
  readonly concurrentRejects = new FastCounter({ name: 'coredns_forward_max_concurrent_rejects_total', help: 'Counter of the number of queries rejected because the concurrent queries were at maximum.', labelNames: [] });
  readonly panics = new FastCounter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.', labelNames: [] });

  private readonly requestChildren: CounterChild[] = [];
  private readonly responseChildren: CounterChild[] = [];
  private readonly duration: HistogramChild;
  private readonly sizes: Record<Proto, readonly [HistogramChild, HistogramChild]>;
  private readonly dnssec: CounterChild;
  private readonly hits: Record<'success' | 'denial', CounterChild>;
  private readonly misses: CounterChild;
  private readonly lookups: CounterChild;
  private readonly rejects: CounterChild;
  private readonly panicCount: CounterChild;
  private cacheSizes: () => CacheSizes = () => ({ success: 0, denial: 0 });

  /** `server`: CoreDNS's server label, e.g. `dns://:1053`. */
  constructor(server: string) {
    this.server = server;
    const base = { server, zone: ZONE, view: VIEW };
    this.duration = this.durations.child(base);
    this.sizes = {
      udp: [this.requestSizes.child({ ...base, proto: 'udp' }), this.responseSizes.child({ ...base, proto: 'udp' })],
      tcp: [this.requestSizes.child({ ...base, proto: 'tcp' }), this.responseSizes.child({ ...base, proto: 'tcp' })],
    };
    this.dnssec = this.doRequests.child(base);
    const cacheBase = { server, zones: ZONE, view: VIEW };
    this.hits = { success: this.cacheHits.child({ ...cacheBase, type: 'success' }), denial: this.cacheHits.child({ ...cacheBase, type: 'denial' }) };
    this.misses = this.cacheMisses.child(cacheBase);
    this.lookups = this.cacheRequests.child(cacheBase);
    this.rejects = this.concurrentRejects.child({});
    this.panicCount = this.panics.child({});
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
    const [requestSizes, responseSizes] = this.sizes[proto];
    requestSizes.observe(requestSize);
    responseSizes.observe(responseSize);
    if (dnssecOk) this.dnssec.value++;
  }

  cacheLookup(hit: 'success' | 'denial' | undefined): void {
    this.lookups.value++;
    if (hit) this.hits[hit].value++;
    else this.misses.value++;
  }

  /** Where `coredns_cache_entries` reads this thread's cache sizes. */
  watchCache(sizes: () => CacheSizes): void {
    this.cacheSizes = sizes;
  }

  get cache(): CacheSizes {
    return this.cacheSizes();
  }

  upstream(to: string, rcode: string, seconds: number): void {
    this.upstreamDurations.child({ proxy_name: 'forward', to, rcode }).observe(seconds);
  }

  concurrencyReject(): void {
    this.rejects.value++;
  }

  panic(): void {
    this.panicCount.value++;
  }

  all(): ReadonlyArray<FastCounter | FastHistogram> {
    return [this.requests, this.durations, this.requestSizes, this.responseSizes, this.responses, this.doRequests,
      this.cacheHits, this.cacheMisses, this.cacheRequests, this.upstreamDurations, this.concurrentRejects, this.panics];
  }

  snapshot(): StatsSnapshot {
    return { metrics: Object.fromEntries(this.all().map((m) => [m.name, m.snapshot()])), cache: this.cache };
  }
}
