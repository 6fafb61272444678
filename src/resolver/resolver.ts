/**
 * The resolver process put together: the watch cache feeding the index, the serving
 * thread(s) (forwarder with its cache, DNS transports), and the health, ready and metrics
 * endpoints.
 *
 * Lifecycle: `start()` binds every port and starts the watches (answers are SERVFAIL for
 * cluster names, and /ready is 503, until the first list of every kind is in);
 * `lameduck()` turns /ready to 503 and keeps answering for `lameduckSeconds`, so that
 * endpoints controllers take the pod out of its Service before it stops; `stop()` closes
 * everything. Nothing starts in the constructor.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolverConfig, ShadowConfig } from '../api/resolver-config.ts';
import type { Backoff } from '../kube/backoff.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import { ClusterIndex } from './cluster/cluster-index.ts';
import { runClusterWatch, watchedKinds } from './cluster/watch.ts';
import { defaultUpstreams, localAddresses } from './host-facts.ts';
import type { HostFacts } from './host-facts.ts';
import { HttpEndpoints } from './http-endpoints.ts';
import { QueryStats } from './metrics/query-stats.ts';
import { ResolverMetrics } from './metrics/registry.ts';
import { ServingStack } from './serve/serving-stack.ts';
import { ServingThreads } from './serve/serving-threads.ts';
import { ShadowReport } from './shadow/report.ts';
import { Shadow } from './shadow/shadow.ts';

export interface ResolverOptions {
  readonly config: ResolverConfig;
  readonly client: KubeClient;
  readonly log: Logger;
  /** The machine's facts, read once by the command's main (host-facts.ts). */
  readonly host: HostFacts;
  readonly backoff?: () => Backoff;
}

/**
 * `threads: auto` uses at most this many: each thread holds a copy of the index, so memory
 * grows with every thread while a pod's query rate rarely needs more (bench/RESULTS.md).
 */
export const MAX_AUTO_THREADS = 4;

/**
 * The number of serving threads: the config's, or one per core the process is given
 * (`HostFacts.cores`), at most MAX_AUTO_THREADS.
 */
export function threadCount(threads: ResolverConfig['threads'], cores: number): number {
  return threads === 'auto' ? Math.min(MAX_AUTO_THREADS, Math.max(1, cores)) : threads;
}

export class Resolver {
  readonly index: ClusterIndex;
  readonly metrics: ResolverMetrics;
  private readonly options: ResolverOptions;
  private readonly abort = new AbortController();
  private readonly serving: ServingStack;
  private readonly threads: ServingThreads | undefined;
  private readonly http: HttpEndpoints;
  /** The main thread's shadow comparison and the process's report of it, with `shadow` configured. */
  private readonly shadow: { readonly tap: Shadow; readonly report: ShadowReport } | undefined;
  private readonly threadsTotal: number;
  private watching: Promise<void> | undefined;
  private inLameduck = false;
  private markSynced: () => void = () => undefined;
  /** Resolves once every watched kind has been listed. */
  readonly synced = new Promise<void>((resolve) => { this.markSynced = resolve; });

  constructor(options: ResolverOptions) {
    this.options = options;
    const { config, log, host } = options;
    const server = `dns://${config.listenAddress === '0.0.0.0' ? '' : config.listenAddress}:${config.port}`;
    this.index = new ClusterIndex(watchedKinds(config.pods));
    const stats = new QueryStats(server);
    this.metrics = new ResolverMetrics(stats, host.version);
    const upstreams = defaultUpstreams(config, host.resolvConf);
    const locals = localAddresses(config.listenAddress, host.interfaces);
    const count = threadCount(config.threads, host.cores);
    this.threadsTotal = count;
    this.shadow = config.shadow ? shadowOf(config.shadow, count, config.clusterDomain) : undefined;
    this.shadow?.report.register(this.metrics.registry);
    this.serving = new ServingStack({
      config, index: this.index, stats, log, upstreams, localAddresses: locals, threads: count, ...(this.shadow ? { shadow: this.shadow.tap } : {}),
    });
    this.threads = count > 1
      ? new ServingThreads({
        count: count - 1, data: { config, server, upstreams, localAddresses: locals, threads: count }, log, metrics: this.metrics, snapshot: () => this.index.snapshot(),
        onShadow: (source, snapshot) => { this.shadow?.report.absorb(source, snapshot); },
      })
      : undefined;
    this.http = new HttpEndpoints(config.listenAddress, [
      { port: config.healthPort, path: '/health', respond: () => ({ status: 200, body: 'OK' }) },
      {
        port: config.healthPort, path: '/shadow',
        respond: async () => {
          if (!this.shadow) return { status: 404, body: 'shadowing is off (no shadow in the configuration)\n' };
          await this.threads?.collect();
          return { status: 200, body: JSON.stringify(this.shadow.report.summary()), contentType: 'application/json' };
        },
      },
      {
        port: config.readyPort, path: '/ready',
        respond: () => (this.ready ? { status: 200, body: 'OK' } : { status: 503, body: this.inLameduck ? 'lameduck' : 'not synced' }),
      },
      {
        port: config.metricsPort, path: '/metrics',
        respond: async () => {
          await this.threads?.collect();
          return { status: 200, body: await this.metrics.text(), contentType: this.metrics.registry.contentType };
        },
      },
    ], (error) => { log.warn({ err: error.message }, 'HTTP endpoint error'); });
  }

  /** Binds the DNS and HTTP ports, starts the serving threads and the watches. */
  async start(): Promise<void> {
    await this.shadow?.tap.start();
    await this.serving.start();
    await this.threads?.start();
    this.metrics.start();
    await this.http.start();
    const { config, client, log } = this.options;
    this.watching = runClusterWatch({
      client, index: this.index, pods: config.pods, metrics: this.metrics, log,
      onEvent: (kind, event) => { this.threads?.broadcast(kind, event); },
      onSynced: () => { this.markSynced(); },
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    }, this.abort.signal);
    log.info({ address: config.listenAddress, port: config.port, zone: config.clusterDomain, threads: this.threadsTotal }, 'resolver listening');
  }

  /** 200 on /ready: synced, and not shutting down. */
  get ready(): boolean {
    return this.index.synced && !this.inLameduck;
  }

  /** Fails /ready and keeps answering for `lameduckSeconds`, then stops. */
  async lameduck(): Promise<void> {
    if (this.inLameduck) return;
    this.inLameduck = true;
    this.options.log.info({ seconds: this.options.config.lameduckSeconds }, 'lameduck: still answering, /ready fails');
    await sleep(this.options.config.lameduckSeconds * 1000);
    await this.stop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.watching;
    await this.threads?.stop();
    await this.serving.close();
    await this.shadow?.tap.close();
    await this.http.close();
    this.options.log.info('resolver stopped');
  }
}

/** The main thread's shadow comparison and the report that adds up every thread's. */
function shadowOf(config: ShadowConfig, threads: number, clusterDomain: string): { tap: Shadow; report: ShadowReport } {
  const tap = new Shadow({ config, threads, zone: clusterDomain.toLowerCase() });
  return { tap, report: new ShadowReport(tap.stats, { startedAt: new Date().toISOString(), baseline: config.baseline, sample: config.sample }) };
}
