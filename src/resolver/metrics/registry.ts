/**
 * The resolver's Prometheus registry, under CoreDNS's names and labels so that existing
 * dashboards and alerts keep working: the per-query counters of query-stats.ts (of this thread
 * and, absorbed at scrape time, of the other serving threads), `coredns_cache_entries`,
 * `coredns_kubernetes_dns_programming_duration_seconds`, `coredns_build_info`,
 * `coredns_plugin_enabled`, our `clusterdns_resolver_cache_bytes` and
 * `clusterdns_resolver_thread_restarts_total`, and (from `start()` on) prom-client's process
 * metrics. One per process, in the thread that serves /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { exponentialBuckets } from './primitives.ts';
import type { CacheSizes, QueryStats, StatsSnapshot } from './query-stats.ts';

export class ResolverMetrics {
  readonly registry = new Registry();
  readonly stats: QueryStats;
  private readonly programming: Histogram;
  private readonly restarts: Counter;
  private readonly threads: Gauge;
  private readonly tables: Counter;
  private sharedBytes: () => number = () => 0;
  private readonly remoteCaches = new Map<string, CacheSizes>();

  constructor(stats: QueryStats, version: string) {
    this.stats = stats;
    const registry = this.registry;
    const server = stats.server;
    for (const metric of stats.all()) metric.register(registry);
    const caches = (): CacheSizes[] => [stats.cache, ...this.remoteCaches.values()];
    new Gauge({
      name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'], registers: [registry],
      collect() {
        const all = caches();
        for (const type of ['success', 'denial'] as const) this.set({ server, type, zones: '.', view: '' }, all.reduce((sum, c) => sum + c[type], 0));
      },
    });
    new Gauge({
      name: 'clusterdns_resolver_cache_bytes', help: 'Bytes the upstream caches of all serving threads take (their own estimate; bounded by upstream.cacheMiB).', registers: [registry],
      collect() {
        this.set(caches().reduce((sum, c) => sum + c.bytes, 0));
      },
    });
    this.threads = new Gauge({ name: 'clusterdns_resolver_serving_threads', help: 'Serving threads running, the main thread\'s included (with threads: auto, as many as the memory limit holds).', registers: [registry] });
    this.tables = new Counter({ name: 'clusterdns_resolver_index_tables_total', help: 'Shared tables of the index built: one per list of a kind, and one each time its changes are folded in.', labelNames: ['kind'], registers: [registry] });
    const shared = (): number => this.sharedBytes();
    new Gauge({
      name: 'clusterdns_resolver_index_shared_bytes', help: 'Bytes of the index\'s shared tables, held once for all serving threads.', registers: [registry],
      collect() { this.set(shared()); },
    });
    this.restarts = new Counter({ name: 'clusterdns_resolver_thread_restarts_total', help: 'Serving threads that died and were started again.', registers: [registry] });
    this.programming = new Histogram({
      name: 'coredns_kubernetes_dns_programming_duration_seconds', help: 'Histogram of the time (in seconds) it took to program a dns instance.',
      labelNames: ['service_kind'], buckets: exponentialBuckets(0.001, 2, 20), registers: [registry],
    });
    new Gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'], registers: [registry] })
      .set({ version, revision: 'clusterdns', goversion: `node${process.versions.node}` }, 1);
    const enabled = new Gauge({ name: 'coredns_plugin_enabled', help: 'A metric that indicates whether a plugin is enabled on per server and zone basis.', labelNames: ['server', 'zone', 'view', 'name'], registers: [registry] });
    for (const name of ['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loadbalance']) enabled.set({ server, zone: '.', view: '', name }, 1);
  }

  /** Adds prom-client's `process_*` and `nodejs_*` metrics (this starts its event loop delay sampler). */
  start(): void {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Takes another serving thread's counts (each call replaces that thread's previous ones). */
  absorb(source: string, snapshot: StatsSnapshot): void {
    for (const metric of this.stats.all()) metric.absorb(source, snapshot.metrics[metric.name] ?? []);
    this.remoteCaches.set(source, snapshot.cache);
  }

  servingThreads(count: number): void {
    this.threads.set(count);
  }

  /** A new shared table of the index, and where the tables' size is read. */
  tableBuilt(kind: string, sharedBytes: () => number): void {
    this.tables.inc({ kind });
    this.sharedBytes = sharedBytes;
  }

  threadRestarted(): void {
    this.restarts.inc();
  }

  programmed(kind: 'cluster_ip' | 'headless_with_selector', seconds: number): void {
    this.programming.observe({ service_kind: kind }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
