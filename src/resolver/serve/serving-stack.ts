/**
 * What one serving thread owns: the upstream cache and forwarder, the query handler and the
 * DNS transports, around an index it is given. The main thread runs one; with `threads`
 * above 1, each extra thread (thread-main.ts) runs another on the same port (SO_REUSEPORT:
 * the kernel spreads queries over them).
 *
 * The memory bounds of the config (`upstream.cacheMiB`, `tcp.bufferMiB`) are for the
 * process: each of its serving threads gets an equal share. The kernel spreads clients
 * evenly over the threads, so each thread's share of the load is about the same too.
 */
import type { ResolverConfig } from '../../api/resolver-config.ts';
import type { AnswerConfig } from '../cluster/answer.ts';
import type { ClusterIndex } from '../cluster/cluster-index.ts';
import { Drops, LimitedLog } from '../metrics/drops.ts';
import type { WarnLog } from '../metrics/drops.ts';
import type { QueryStats } from '../metrics/query-stats.ts';
import { ResponseCache } from '../upstream/cache.ts';
import { Forwarder } from '../upstream/forwarder.ts';
import { UpstreamRoutes } from '../upstream/routes.ts';
import type { ServerAddress } from '../upstream/routes.ts';
import type { ShadowTap } from '../shadow/shadow.ts';
import { QueryHandler } from './query-handler.ts';
import { DnsTransports } from './transports.ts';

export interface ServingOptions {
  readonly config: ResolverConfig;
  readonly index: ClusterIndex;
  readonly stats: QueryStats;
  readonly log: WarnLog;
  /** The default upstream servers (from the config, else resolv.conf), resolved once by the caller. */
  readonly upstreams: readonly ServerAddress[];
  readonly localAddresses: readonly string[];
  /** Serving threads in the process, this one included (they share the memory bounds out). */
  readonly threads: number;
  readonly now?: () => number;
  /** This thread's shadow comparison, when the config has `shadow` (its owner starts and closes it). */
  readonly shadow?: ShadowTap;
}

const MIB = 1 << 20;

export class ServingStack {
  private readonly forwarder: Forwarder;
  private readonly dns: DnsTransports;

  constructor(options: ServingOptions) {
    const { config, index, stats, log, threads } = options;
    const drops = new Drops(stats, new LimitedLog(log, options.now));
    const cache = new ResponseCache({ maxSeconds: config.upstream.cacheSeconds, maxBytes: (config.upstream.cacheMiB * MIB) / threads });
    stats.watchCache(() => cache.sizes);
    this.forwarder = new Forwarder({
      routes: new UpstreamRoutes(options.upstreams, config.stubDomains),
      cache,
      stats,
      drops,
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
      handler: new QueryHandler({ index, answers, upstream: this.forwarder, stats, drops, ...(options.shadow ? { shadow: options.shadow } : {}) }),
      drops,
      tcp: {
        idleTimeoutMs: config.tcp.idleTimeoutSeconds * 1000,
        readTimeoutMs: config.tcp.readTimeoutSeconds * 1000,
        writeTimeoutMs: config.tcp.writeTimeoutSeconds * 1000,
        maxConnections: config.tcp.maxConnections,
        bufferBytes: (config.tcp.bufferMiB * MIB) / threads,
      },
      reusePort: threads > 1,
      onError: (error) => { drops.log.write('warn', 'socket', { err: error.message }, 'DNS socket error'); },
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
