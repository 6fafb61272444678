/**
 * The resolver process put together: the watch cache feeding the index, the forwarder with
 * its cache, the DNS transports, and the health, ready and metrics endpoints.
 *
 * Lifecycle: `start()` binds every port and starts the watches (answers are SERVFAIL for
 * cluster names, and /ready is 503, until the first list of every kind is in);
 * `lameduck()` turns /ready to 503 and keeps answering for `lameduckSeconds`, so that
 * endpoints controllers take the pod out of its Service before it stops; `stop()` closes
 * everything. Nothing starts in the constructor.
 */
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolverConfig } from '../api/resolver-config.ts';
import type { Backoff } from '../kube/backoff.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { AnswerConfig } from './answer.ts';
import { ResponseCache } from './cache.ts';
import { QueryHandler } from './handler.ts';
import { HttpEndpoints } from './http.ts';
import { ClusterIndex } from './index.ts';
import { ResolverMetrics } from './metrics.ts';
import { DnsServer } from './server.ts';
import { Forwarder } from './upstream.ts';
import { UpstreamRoutes, parseServer, resolvConfServers } from './upstream-servers.ts';
import { runClusterWatch, watchedKinds } from './watch.ts';

export interface ResolverOptions {
  readonly config: ResolverConfig;
  readonly client: KubeClient;
  readonly log: Logger;
  /** Where the default upstream servers come from when the config names none. */
  readonly resolvConfPath?: string;
  readonly backoff?: () => Backoff;
}

export class Resolver {
  readonly index: ClusterIndex;
  readonly metrics: ResolverMetrics;
  private readonly options: ResolverOptions;
  private readonly abort = new AbortController();
  private readonly dns: DnsServer;
  private readonly http: HttpEndpoints;
  private readonly forwarder: Forwarder;
  private watching: Promise<void> | undefined;
  private inLameduck = false;

  constructor(options: ResolverOptions) {
    this.options = options;
    const { config, log } = options;
    this.index = new ClusterIndex(watchedKinds(config.pods));
    this.metrics = new ResolverMetrics(`dns://${config.listenAddress === '0.0.0.0' ? '' : config.listenAddress}:${config.port}`, packageVersion());
    const cache = new ResponseCache({ maxSeconds: config.upstream.cacheSeconds });
    this.metrics.watchCache(() => cache.sizes);
    this.forwarder = new Forwarder({
      routes: new UpstreamRoutes(defaultServers(config, options.resolvConfPath ?? '/etc/resolv.conf'), config.stubDomains),
      cache,
      metrics: this.metrics,
      timeoutMs: config.upstream.timeoutSeconds * 1000,
      maxConcurrent: config.upstream.maxConcurrent,
    });
    const answers: AnswerConfig = {
      zone: config.clusterDomain.toLowerCase(),
      ttl: config.ttl,
      pods: config.pods,
      localAddresses: localAddresses(config.listenAddress),
    };
    const handler = new QueryHandler({ index: this.index, answers, upstream: this.forwarder, metrics: this.metrics, log });
    this.dns = new DnsServer({
      address: config.listenAddress,
      port: config.port,
      handler,
      tcpIdleTimeoutMs: config.tcp.idleTimeoutSeconds * 1000,
      tcpMaxConnections: config.tcp.maxConnections,
      onError: (error) => { log.warn({ err: error.message }, 'DNS socket error'); },
    });
    this.http = new HttpEndpoints(config.listenAddress, [
      { port: config.healthPort, path: '/health', respond: () => ({ status: 200, body: 'OK' }) },
      {
        port: config.readyPort, path: '/ready',
        respond: () => (this.ready ? { status: 200, body: 'OK' } : { status: 503, body: this.inLameduck ? 'lameduck' : 'not synced' }),
      },
      { port: config.metricsPort, path: '/metrics', respond: async () => ({ status: 200, body: await this.metrics.text(), contentType: this.metrics.registry.contentType }) },
    ]);
  }

  /** Binds the DNS and HTTP ports and starts the watches. */
  async start(): Promise<void> {
    await this.dns.start();
    await this.http.start();
    const { config, client, log } = this.options;
    this.watching = runClusterWatch({
      client, index: this.index, pods: config.pods, metrics: this.metrics, log,
      ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
    }, this.abort.signal);
    log.info({ address: config.listenAddress, port: config.port, zone: config.clusterDomain }, 'resolver listening');
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
    await this.dns.close();
    this.forwarder.close();
    await this.http.close();
    this.options.log.info('resolver stopped');
  }
}

function defaultServers(config: ResolverConfig, resolvConfPath: string): ReturnType<typeof parseServer>[] {
  if (config.upstream.nameservers.length > 0) return config.upstream.nameservers.map(parseServer);
  try {
    return resolvConfServers(readFileSync(resolvConfPath, 'utf8'));
  } catch {
    return [];
  }
}

/**
 * The non-loopback addresses the server answers on: the listen address itself, or every
 * interface address for a wildcard. They name the zone's nameserver (NS at the apex).
 */
export function localAddresses(listenAddress: string): string[] {
  const wildcard = listenAddress === '0.0.0.0' || listenAddress === '::';
  if (!wildcard) return /^127\.|^::1$/.test(listenAddress) ? [] : [listenAddress];
  return Object.values(networkInterfaces()).flatMap((list) => list ?? [])
    .filter((i) => !i.internal && (listenAddress === '::' || i.family === 'IPv4') && !i.address.startsWith('fe80'))
    .map((i) => i.address);
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
