/**
 * What one serving thread owns: the upstream cache and forwarder, the query handler and the
 * DNS transports, around an index it is given. The main thread runs one; with `threads`
 * above 1, each extra thread (thread-main.ts) runs another on the same port (SO_REUSEPORT:
 * the kernel spreads queries over them).
 */
import type { ResolverConfig } from '../../api/resolver-config.ts';
import type { AnswerConfig } from '../cluster/answer.ts';
import type { ClusterIndex } from '../cluster/cluster-index.ts';
import type { QueryStats } from '../metrics/query-stats.ts';
import { ResponseCache } from '../upstream/cache.ts';
import { Forwarder } from '../upstream/forwarder.ts';
import { UpstreamRoutes } from '../upstream/routes.ts';
import type { ServerAddress } from '../upstream/routes.ts';
import type { ShadowTap } from '../shadow/shadow.ts';
import { QueryHandler } from './query-handler.ts';
import type { ErrorLog } from './query-handler.ts';
import { DnsTransports } from './transports.ts';

export interface ServingOptions {
  readonly config: ResolverConfig;
  readonly index: ClusterIndex;
  readonly stats: QueryStats;
  readonly log: ErrorLog & { warn(fields: object, message: string): void };
  /** The default upstream servers (from the config, else resolv.conf), resolved once by the caller. */
  readonly upstreams: readonly ServerAddress[];
  readonly localAddresses: readonly string[];
  readonly reusePort: boolean;
  /** This thread's shadow comparison, when the config has `shadow` (its owner starts and closes it). */
  readonly shadow?: ShadowTap;
}

export class ServingStack {
  private readonly forwarder: Forwarder;
  private readonly dns: DnsTransports;

  constructor(options: ServingOptions) {
    const { config, index, stats, log } = options;
    const cache = new ResponseCache({ maxSeconds: config.upstream.cacheSeconds });
    stats.watchCache(() => cache.sizes);
    this.forwarder = new Forwarder({
      routes: new UpstreamRoutes(options.upstreams, config.stubDomains),
      cache,
      stats,
      timeoutMs: config.upstream.timeoutSeconds * 1000,
      maxConcurrent: config.upstream.maxConcurrent,
    });
    const answers: AnswerConfig = {
      zone: config.clusterDomain.toLowerCase(),
      ttl: config.ttl,
      pods: config.pods,
      localAddresses: options.localAddresses,
    };
    this.dns = new DnsTransports({
      address: config.listenAddress,
      port: config.port,
      handler: new QueryHandler({ index, answers, upstream: this.forwarder, stats, log, ...(options.shadow ? { shadow: options.shadow } : {}) }),
      tcpIdleTimeoutMs: config.tcp.idleTimeoutSeconds * 1000,
      tcpMaxConnections: config.tcp.maxConnections,
      reusePort: options.reusePort,
      onError: (error) => { log.warn({ err: error.message }, 'DNS socket error'); },
    });
  }

  start(): Promise<void> {
    return this.dns.start();
  }

  async close(): Promise<void> {
    await this.dns.close();
    this.forwarder.close();
  }
}
