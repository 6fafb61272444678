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
import type { WatchEvent } from '../kube/watcher.ts';
import { ClusterIndex, watchedKinds } from './cluster/cluster-index.ts';
import { listPageSize, runClusterWatch } from './cluster/watch.ts';
import { defaultUpstreams, localAddresses, readAnonymousBytes } from './host-facts.ts';
import type { HostFacts } from './host-facts.ts';
import { HttpEndpoints } from './http-endpoints.ts';
import { QueryStats } from './metrics/query-stats.ts';
import { ResolverMetrics } from './metrics/registry.ts';
import { ServingStack } from './serve/serving-stack.ts';
import { ServingThreads } from './serve/serving-threads.ts';
import { autoThreads, mostThreads } from './serve/thread-budget.ts';
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
  /** The most serving threads the config allows (memory bounds are shared out over this many). */
  private readonly mostThreads: number;
  /** The extra threads being started once the index is synced (`threads: auto`). */
  private startingThreads: Promise<void> | undefined;
  private watching: Promise<void> | undefined;
  private inLameduck = false;
  private markSynced: () => void = () => undefined;
  /** Resolves once every watched kind has been listed. */
  readonly synced = new Promise<void>((resolve) => { this.markSynced = resolve; });

  constructor(options: ResolverOptions) {
    this.options = options;
    const { config, log, host } = options;
    const server = `dns://${config.listenAddress === '0.0.0.0' ? '' : config.listenAddress}:${config.port}`;
    this.index = new ClusterIndex(watchedKinds(config.pods), {
      folds: true,
      onTable: (update) => {
        this.threads?.broadcast(update);
        this.metrics.tableBuilt(update.kind, () => this.index.sharedBytes);
      },
    });
    const stats = new QueryStats(server);
    this.metrics = new ResolverMetrics(stats, host.version);
    const upstreams = defaultUpstreams(config, host.resolvConf);
    const locals = localAddresses(config.listenAddress, host.interfaces);
    const count = mostThreads(config.threads, host.cores);
    this.mostThreads = count;
    this.shadow = config.shadow ? shadowOf(config.shadow, count, config.clusterDomain) : undefined;
    this.shadow?.report.register(this.metrics.registry);
    this.serving = new ServingStack({
      config, index: this.index, stats, log, upstreams, localAddresses: locals, threads: count, ...(this.shadow ? { shadow: this.shadow.tap } : {}),
    });
    this.threads = count > 1
      ? new ServingThreads({
        data: { config, server, upstreams, localAddresses: locals, threads: count }, log, metrics: this.metrics, snapshot: () => this.index.snapshot(),
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

  /**
   * Binds the DNS and HTTP ports, starts the serving threads and the watches. A number of
   * threads set in the config starts now; with `threads: auto`, the extra threads start once
   * the index is synced, as many as the memory limit holds (thread-budget.ts).
   */
  async start(): Promise<void> {
    await this.shadow?.tap.start();
    await this.serving.start();
    const auto = this.options.config.threads === 'auto';
    if (auto) this.metrics.servingThreads(1);
    else await this.startThreads(this.mostThreads, undefined);
    this.metrics.start();
    await this.http.start();
    const { config, client, log } = this.options;
    this.watching = runClusterWatch({
      client, index: this.index, pods: config.pods, metrics: this.metrics, log, pageSize: listPageSize(this.options.host.memoryLimitBytes),
      // A relist of a kind with a shared table reaches the threads as that table (onTable above).
      onEvent: (kind, event) => { if (event.type !== 'restarted' || kind === 'namespaces') this.threads?.broadcast({ type: 'event', kind, event: event as WatchEvent<unknown> }); },
      onSynced: () => {
        this.markSynced();
        if (auto) this.startingThreads = this.startAutoThreads();
      },
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    }, this.abort.signal);
    log.info({ address: config.listenAddress, port: config.port, zone: config.clusterDomain, mostThreads: this.mostThreads }, 'resolver listening');
  }

  /** Starts as many threads as the memory limit holds beside the synced index. */
  private async startAutoThreads(): Promise<void> {
    const { config, host } = this.options;
    const MIB = 2 ** 20;
    const choice = autoThreads({
      most: this.mostThreads,
      limitBytes: host.memoryLimitBytes,
      heldBytes: readAnonymousBytes(),
      reservedBytes: (config.upstream.cacheMiB + config.tcp.bufferMiB) * MIB,
    });
    await this.startThreads(choice.threads, choice.reason);
  }

  private async startThreads(total: number, reason: string | undefined): Promise<void> {
    const { log } = this.options;
    try {
      if (total > 1) await this.threads?.start(total - 1);
      this.metrics.servingThreads(total);
      log.info({ threads: total, ...(reason ? { reason } : {}) }, 'serving threads');
    } catch (error) {
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'serving threads failed to start; the main thread serves alone');
      this.metrics.servingThreads(1);
      if (this.options.config.threads !== 'auto') throw error;
    }
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
    await this.startingThreads;
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
