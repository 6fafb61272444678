/**
 * The Corefile of an `engine: coredns` instance: a pure function of the same resolver
 * configuration the clusterdns engine is given (resolver-config.ts, itself rendered from the
 * spec), so that both engines answer from the same settings, on the same ports.
 *
 * With the defaults it is kubeadm's Corefile (cmd/kubeadm/app/phases/addons/dns/manifests.go)
 * on port 1053; each stub domain gets a server block of its own, as kubeadm translated
 * kube-dns' stubDomains. The dialect says what an older release accepts (releases.ts).
 */
import type { ResolverConfig } from '../api/resolver-config.ts';
import { RESOLVER_PORTS } from '../api/names.ts';
import type { CorefileDialect } from './releases.ts';

/** Where a coredns engine pod mounts its ConfigMap, and the key of the Corefile in it. */
export const COREFILE_DIR = '/etc/coredns';
export const COREFILE_KEY = 'Corefile';
/** The forward target when the configuration names no upstream nameservers (the pod runs dnsPolicy Default). */
export const NODE_RESOLV_CONF = '/etc/resolv.conf';

/** Corefile settings that are not part of the resolver configuration. */
export interface CorefileOptions {
  /** The kubernetes plugin's kubeconfig; absent in a pod, which uses its ServiceAccount. */
  readonly kubeconfig?: string;
}

/** The settings the Corefile is rendered from. */
export type CorefileConfig = Pick<ResolverConfig,
  'listenAddress' | 'port' | 'healthPort' | 'readyPort' | 'metricsPort' | 'clusterDomain' | 'ttl' | 'pods' | 'upstream' | 'stubDomains' | 'lameduckSeconds'>;

const INDENT = '    ';

export function renderCorefile(config: CorefileConfig, dialect: CorefileDialect, options: CorefileOptions = {}): string {
  const blocks = [mainBlock(config, dialect, options), ...Object.keys(config.stubDomains).sort().map((zone) => stubBlock(config, zone))];
  return blocks.join('');
}

function mainBlock(config: CorefileConfig, dialect: CorefileDialect, options: CorefileOptions): string {
  const domain = config.clusterDomain;
  // forward takes `IP`, `IP:port`, `[IPv6]:port` (a bare IPv6 gets port 53) or a resolv.conf path.
  const upstream = config.upstream.nameservers.length > 0 ? config.upstream.nameservers : [NODE_RESOLV_CONF];
  return block(`.:${config.port}`, [
    ...bind(config),
    'errors',
    [`health${address(config, config.healthPort, RESOLVER_PORTS.health)}`, [`lameduck ${seconds(config.lameduckSeconds)}`]],
    `ready${address(config, config.readyPort, RESOLVER_PORTS.ready)}`,
    [`kubernetes ${domain} in-addr.arpa ip6.arpa`, [
      ...(options.kubeconfig ? [`kubeconfig ${options.kubeconfig}`] : []),
      `pods ${config.pods}`,
      'fallthrough in-addr.arpa ip6.arpa',
      `ttl ${config.ttl}`,
    ]],
    prometheus(config),
    [`forward . ${upstream.join(' ')}`, [`max_concurrent ${config.upstream.maxConcurrent}`]],
    ...cache(config, dialect.cacheDisable ? [`disable success ${domain}`, `disable denial ${domain}`] : []),
    'loop',
    'reload',
    'loadbalance',
  ]);
}

/** A stub domain: its own server block that forwards the zone to its nameservers. */
function stubBlock(config: CorefileConfig, zone: string): string {
  const servers = config.stubDomains[zone] ?? [];
  return block(`${zone}:${config.port}`, [
    ...bind(config),
    'errors',
    prometheus(config),
    ...cache(config, []),
    'loop',
    `forward . ${servers.join(' ')}`,
  ]);
}

type Line = string | readonly [string, readonly string[]];

function block(key: string, lines: readonly Line[]): string {
  const body = lines.map((line) => {
    if (typeof line === 'string') return `${INDENT}${line}\n`;
    const [head, options] = line;
    return `${INDENT}${head} {\n${options.map((o) => `${INDENT}${INDENT}${o}\n`).join('')}${INDENT}}\n`;
  });
  return `${key} {\n${body.join('')}}\n`;
}

/** `cacheSeconds: 0` turns the cache off, as it does for the resolver. */
function cache(config: CorefileConfig, options: readonly string[]): Line[] {
  const ttl = config.upstream.cacheSeconds;
  if (ttl === 0) return [];
  return [options.length > 0 ? [`cache ${ttl}`, options] : `cache ${ttl}`];
}

function prometheus(config: CorefileConfig): string {
  return `prometheus ${hostPort(config, config.metricsPort)}`;
}

function bind(config: CorefileConfig): string[] {
  return everyAddress(config) ? [] : [`bind ${config.listenAddress}`];
}

function everyAddress(config: CorefileConfig): boolean {
  return config.listenAddress === '0.0.0.0' || config.listenAddress === '::';
}

/** ` ADDRESS` for health and ready, or nothing where CoreDNS' own default (`:8080`, `:8181`) is meant. */
function address(config: CorefileConfig, port: number, standard: number): string {
  return everyAddress(config) && port === standard ? '' : ` ${hostPort(config, port)}`;
}

function hostPort(config: CorefileConfig, port: number): string {
  if (everyAddress(config)) return `:${port}`;
  return config.listenAddress.includes(':') ? `[${config.listenAddress}]:${port}` : `${config.listenAddress}:${port}`;
}

/** `5s`, `1.5s`: a Go duration. */
function seconds(value: number): string {
  return `${value}s`;
}
