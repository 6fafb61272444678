/**
 * What one serving thread owns: the upstream cache and forwarder, the query handler and the
 * DNS transports, around an index it is given. The main thread runs one; with `threads`
 * above 1, each extra thread (dns-thread.ts) runs another on the same port (SO_REUSEPORT:
 * the kernel spreads queries over them).
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { ResolverConfig } from '../api/resolver-config.ts';
import type { AnswerConfig } from './answer.ts';
import { ResponseCache } from './cache.ts';
import { QueryHandler } from './handler.ts';
import type { ErrorLog } from './handler.ts';
import type { ClusterIndex } from './index.ts';
import { DnsServer } from './server.ts';
import type { QueryStats } from './stats.ts';
import { Forwarder } from './upstream.ts';
import { UpstreamRoutes, parseServer, resolvConfServers } from './upstream-servers.ts';
import type { ServerAddress } from './upstream-servers.ts';

export interface ServingOptions {
  readonly config: ResolverConfig;
  readonly index: ClusterIndex;
  readonly stats: QueryStats;
  readonly log: ErrorLog & { warn(fields: object, message: string): void };
  /** The default upstream servers (from the config, else resolv.conf), resolved once by the caller. */
  readonly upstreams: readonly ServerAddress[];
  readonly localAddresses: readonly string[];
  readonly reusePort: boolean;
}

export class ServingStack {
  private readonly forwarder: Forwarder;
  private readonly dns: DnsServer;

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
    this.dns = new DnsServer({
      address: config.listenAddress,
      port: config.port,
      handler: new QueryHandler({ index, answers, upstream: this.forwarder, stats, log }),
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

/** The default upstream servers: the config's, else the nameservers of resolv.conf. */
export function defaultUpstreams(config: ResolverConfig, resolvConfPath: string): ServerAddress[] {
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
