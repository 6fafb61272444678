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
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolverConfig } from '../api/resolver-config.ts';
import type { Backoff } from '../kube/backoff.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import { HttpEndpoints } from './http.ts';
import { ClusterIndex } from './index.ts';
import { ResolverMetrics } from './metrics.ts';
import { ServingStack, defaultUpstreams, localAddresses } from './serving.ts';
import { QueryStats } from './stats.ts';
import { ServingThreads } from './threads.ts';
import { runClusterWatch, watchedKinds } from './watch.ts';

export interface ResolverOptions {
  readonly config: ResolverConfig;
  readonly client: KubeClient;
  readonly log: Logger;
  /** Where the default upstream servers come from when the config names none. */
  readonly resolvConfPath?: string;
  readonly backoff?: () => Backoff;
}

/**
 * `threads: auto` uses at most this many: each thread holds a copy of the index, so memory
 * grows with every thread while a pod's query rate rarely needs more (bench/RESULTS.md).
 */
export const MAX_AUTO_THREADS = 4;

/**
 * The number of serving threads: the config's, or one per core the process is given (its
 * CPU affinity and its cgroup's CPU quota, as Go's GOMAXPROCS), at most MAX_AUTO_THREADS.
 */
export function threadCount(threads: ResolverConfig['threads'], cores: number = coresGiven()): number {
  return threads === 'auto' ? Math.min(MAX_AUTO_THREADS, Math.max(1, cores)) : threads;
}

/** CPU affinity, and the cgroup v2 CPU quota (`cpu.max`) when there is one. */
export function coresGiven(cpuMax = readCpuMax()): number {
  const affinity = availableParallelism();
  const match = /^(\d+)\s+(\d+)/.exec(cpuMax ?? '');
  if (!match) return affinity;
  return Math.max(1, Math.min(affinity, Math.ceil(Number(match[1]) / Number(match[2]))));
}

function readCpuMax(): string | undefined {
  try {
    return readFileSync('/sys/fs/cgroup/cpu.max', 'utf8');
  } catch {
    return undefined;
  }
}

export class Resolver {
  readonly index: ClusterIndex;
  readonly metrics: ResolverMetrics;
  private readonly options: ResolverOptions;
  private readonly abort = new AbortController();
  private readonly serving: ServingStack;
  private readonly threads: ServingThreads | undefined;
  private readonly http: HttpEndpoints;
  private watching: Promise<void> | undefined;
  private inLameduck = false;
  private markSynced: () => void = () => undefined;
  /** Resolves once every watched kind has been listed. */
  readonly synced = new Promise<void>((resolve) => { this.markSynced = resolve; });

  constructor(options: ResolverOptions) {
    this.options = options;
    const { config, log } = options;
    const server = `dns://${config.listenAddress === '0.0.0.0' ? '' : config.listenAddress}:${config.port}`;
    this.index = new ClusterIndex(watchedKinds(config.pods));
    const stats = new QueryStats(server);
    this.metrics = new ResolverMetrics(stats, packageVersion());
    const upstreams = defaultUpstreams(config, options.resolvConfPath ?? '/etc/resolv.conf');
    const locals = localAddresses(config.listenAddress);
    const count = threadCount(config.threads);
    this.serving = new ServingStack({ config, index: this.index, stats, log, upstreams, localAddresses: locals, reusePort: count > 1 });
    this.threads = count > 1
      ? new ServingThreads({ count: count - 1, data: { config, server, upstreams, localAddresses: locals }, log, metrics: this.metrics, snapshot: () => this.index.snapshot() })
      : undefined;
    this.http = new HttpEndpoints(config.listenAddress, [
      { port: config.healthPort, path: '/health', respond: () => ({ status: 200, body: 'OK' }) },
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
    ]);
  }

  /** Binds the DNS and HTTP ports, starts the serving threads and the watches. */
  async start(): Promise<void> {
    await this.serving.start();
    await this.threads?.start();
    await this.http.start();
    const { config, client, log } = this.options;
    this.watching = runClusterWatch({
      client, index: this.index, pods: config.pods, metrics: this.metrics, log,
      onEvent: (kind, event) => { this.threads?.broadcast(kind, event); },
      onSynced: () => { this.markSynced(); },
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    }, this.abort.signal);
    log.info({ address: config.listenAddress, port: config.port, zone: config.clusterDomain, threads: threadCount(config.threads) }, 'resolver listening');
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
    await this.http.close();
    this.options.log.info('resolver stopped');
  }
}

/** The version in the nearest package.json (for `coredns_build_info`). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    dir = dirname(dir);
  }
  return 'unknown';
}
