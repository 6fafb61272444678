/**
 * What the resolver learns of the machine it runs on, once, at start: the nameservers of
 * resolv.conf, the cores it is given, the network interfaces and the package's version.
 *
 * `readHostFacts()` is the only function here that reads anything; the command's main
 * (src/cli/resolver.ts) calls it and hands the facts to the Resolver, so that no
 * constructor touches the file system and tests can pass facts of their own. The rest
 * turns facts and configuration into what the resolver uses, purely.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { parseServer, resolvConfServers } from './upstream/routes.ts';
import type { ServerAddress } from './upstream/routes.ts';

export interface HostFacts {
  /** The text of resolv.conf; undefined when it cannot be read. */
  readonly resolvConf: string | undefined;
  /** Cores the process is given: its CPU affinity, capped by its cgroup's CPU quota. */
  readonly cores: number;
  /** The machine's network interfaces, as `os.networkInterfaces()` lists them. */
  readonly interfaces: Readonly<Record<string, readonly NetworkInterfaceInfo[] | undefined>>;
  /** The version in the package's package.json (for `coredns_build_info`). */
  readonly version: string;
}

/** Reads the facts of this machine and process. */
export function readHostFacts(resolvConfPath = '/etc/resolv.conf'): HostFacts {
  return {
    resolvConf: readMaybe(resolvConfPath),
    cores: coresGiven(readMaybe('/sys/fs/cgroup/cpu.max'), availableParallelism()),
    interfaces: networkInterfaces(),
    version: packageVersion(),
  };
}

/**
 * The cores a process is given, as Go's GOMAXPROCS counts them: its CPU affinity, and the
 * cgroup v2 CPU quota (the text of `cpu.max`, e.g. `150000 100000`) when there is one.
 */
export function coresGiven(cpuMax: string | undefined, affinity: number): number {
  const match = /^(\d+)\s+(\d+)/.exec(cpuMax ?? '');
  if (!match) return affinity;
  return Math.max(1, Math.min(affinity, Math.ceil(Number(match[1]) / Number(match[2]))));
}

/** The default upstream servers: the config's, else the nameservers of resolv.conf. */
export function defaultUpstreams(config: ResolverConfig, resolvConf: string | undefined): ServerAddress[] {
  if (config.upstream.nameservers.length > 0) return config.upstream.nameservers.map(parseServer);
  return resolvConf === undefined ? [] : resolvConfServers(resolvConf);
}

/**
 * The non-loopback addresses the server answers on: the listen address itself, or every
 * interface address for a wildcard. They name the zone's nameserver (NS at the apex).
 */
export function localAddresses(listenAddress: string, interfaces: HostFacts['interfaces']): string[] {
  const wildcard = listenAddress === '0.0.0.0' || listenAddress === '::';
  if (!wildcard) return /^127\.|^::1$/.test(listenAddress) ? [] : [listenAddress];
  return Object.values(interfaces).flatMap((list) => list ?? [])
    .filter((i) => !i.internal && (listenAddress === '::' || i.family === 'IPv4') && !i.address.startsWith('fe80'))
    .map((i) => i.address);
}

function readMaybe(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The version in the nearest package.json above this file (src/ in development, dist/src/ in the image). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    dir = dirname(dir);
  }
  return 'unknown';
}
