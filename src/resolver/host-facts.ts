/**
 * What the resolver learns of the machine it runs on, once, at start: the nameservers of
 * resolv.conf, the cores and memory limit it is given, the network interfaces and the
 * package's version.
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
import { memoryLimit } from './serve/thread-budget.ts';
import { parseServer, resolvConfServers } from './upstream/routes.ts';
import type { ServerAddress } from './upstream/routes.ts';

export interface HostFacts {
  /** The text of resolv.conf; undefined when it cannot be read. */
  readonly resolvConf: string | undefined;
  /** Cores the process is given: its CPU affinity, capped by its cgroup's CPU quota. */
  readonly cores: number;
  /** Its cgroup's memory limit in bytes; undefined when it has none. */
  readonly memoryLimitBytes: number | undefined;
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
    memoryLimitBytes: readMemoryLimit(),
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

/**
 * The files that hold the memory limit of the process's own cgroup, from the text of
 * /proc/self/cgroup: in a pod (its own cgroup namespace) the path is `/`, elsewhere the
 * process may sit deeper in the hierarchy.
 */
export function memoryLimitFiles(procSelfCgroup: string | undefined): { v2: string; v1: string } {
  const lines = (procSelfCgroup ?? '').split('\n');
  const path = (line: string | undefined): string => (line ?? '').split(':').slice(2).join(':').replace(/\/$/, '');
  const v2 = path(lines.find((line) => line.startsWith('0::')));
  const v1 = path(lines.find((line) => line.split(':')[1]?.split(',').includes('memory')));
  return { v2: `/sys/fs/cgroup${v2}/memory.max`, v1: `/sys/fs/cgroup/memory${v1}/memory.limit_in_bytes` };
}

/**
 * The process's anonymous resident memory (heap, shared tables, buffers) from the text of
 * /proc/self/status: what a memory limit is charged for. RSS also counts the pages of the
 * node binary and its libraries, which are file-backed and shared.
 */
export function anonymousBytes(status: string | undefined): number | undefined {
  const match = /^RssAnon:\s+(\d+) kB/m.exec(status ?? '');
  return match ? Number(match[1]) * 1024 : undefined;
}

/** anonymousBytes() of this process now, else its RSS. */
export function readAnonymousBytes(): number {
  return anonymousBytes(readMaybe('/proc/self/status')) ?? process.memoryUsage().rss;
}

function readMemoryLimit(): number | undefined {
  const files = memoryLimitFiles(readMaybe('/proc/self/cgroup'));
  return memoryLimit(readMaybe(files.v2), readMaybe(files.v1));
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
