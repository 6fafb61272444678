/**
 * What a real node needs of this machine, checked before anything starts so that
 * `clusterdns local --node real` (and the node tests) can name what is missing and stop,
 * instead of failing half-way with a daemon's log line.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Facts about the machine; gathered by `probeHost()`, judged by `missingRequirements()`. */
export interface HostFacts {
  readonly platform: string;
  readonly uid: number;
  /** Commands found on PATH (or in /usr/sbin, /sbin). */
  readonly commands: ReadonlySet<string>;
  readonly cniPlugins: ReadonlySet<string>;
  readonly filesystems: ReadonlySet<string>;
  /** cgroup controllers with a hierarchy of their own (v1) or enabled in the v2 root. */
  readonly cgroupControllers: ReadonlySet<string>;
  /** /proc/sys/net/bridge exists: the br_netfilter module is loaded. */
  readonly bridgeNetfilter: boolean;
}

/** Where the Debian packages put the CNI plugins (hack/setup.sh installs them). */
export const CNI_BIN_DIR = '/usr/lib/cni';
export const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'] as const;

/** Each command and the Debian package that brings it. */
export const NODE_COMMANDS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  nsenter: 'util-linux',
  unshare: 'util-linux',
  mount: 'mount',
  runc: 'runc',
  iptables: 'iptables',
  nft: 'nftables',
  conntrack: 'conntrack',
  buildah: 'buildah',
  dnsmasq: 'dnsmasq-base',
};

const CGROUP_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids'] as const;

/** Every requirement that `facts` do not meet, each as a sentence that says how to meet it. */
export function missingRequirements(facts: HostFacts): string[] {
  if (facts.platform !== 'linux') return [`a Linux machine (this is ${facts.platform}); use the default KWOK nodes`];
  const missing: string[] = [];
  if (facts.uid !== 0) missing.push('root: the node creates network namespaces, cgroups and mounts (run as root, or use the default KWOK nodes)');
  for (const [command, pkg] of Object.entries(NODE_COMMANDS)) {
    if (!facts.commands.has(command)) missing.push(`the command ${command} (Debian package ${pkg}; hack/setup.sh installs it as root)`);
  }
  const plugins = CNI_PLUGINS.filter((plugin) => !facts.cniPlugins.has(plugin));
  if (plugins.length > 0) missing.push(`the CNI plugins ${plugins.join(', ')} in ${CNI_BIN_DIR} (Debian package containernetworking-plugins)`);
  if (!facts.filesystems.has('overlay')) missing.push('the overlay file system in the kernel (containerd\'s snapshotter and buildah use it)');
  const controllers = CGROUP_CONTROLLERS.filter((c) => !facts.cgroupControllers.has(c));
  if (controllers.length > 0) missing.push(`the cgroup controllers ${controllers.join(', ')} under /sys/fs/cgroup`);
  if (!facts.bridgeNetfilter) missing.push('the br_netfilter kernel module (modprobe br_netfilter): replies between pods must pass kube-proxy\'s NAT');
  return missing;
}

/** Reads the facts of this machine. */
export function probeHost(): HostFacts {
  const dirs = [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/sbin'].filter(Boolean);
  const commands = new Set(Object.keys(NODE_COMMANDS).filter((c) => dirs.some((dir) => existsSync(join(dir, c)))));
  return {
    platform: process.platform,
    uid: process.getuid?.() ?? -1,
    commands,
    cniPlugins: new Set(CNI_PLUGINS.filter((p) => existsSync(join(CNI_BIN_DIR, p)))),
    filesystems: new Set(readLines('/proc/filesystems').map((line) => line.split(/\s+/).pop() ?? '')),
    cgroupControllers: cgroupControllers(),
    bridgeNetfilter: existsSync('/proc/sys/net/bridge'),
  };
}

function cgroupControllers(): Set<string> {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return new Set(readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/));
  // cgroup v1: a controller is usable where /proc/cgroups says it is enabled and it has a hierarchy.
  return new Set(readLines('/proc/cgroups')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.split(/\s+/))
    .filter(([name, hierarchy, , enabled]) => name && hierarchy !== '0' && enabled === '1')
    .map(([name]) => name ?? ''));
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** The machine lacks something a real node needs. */
export class NodeRequirementsError extends Error {
  readonly missing: readonly string[];

  constructor(missing: readonly string[]) {
    super(`a real node cannot run on this machine; it needs:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
    this.name = 'NodeRequirementsError';
    this.missing = missing;
  }
}

/** Throws NodeRequirementsError naming everything missing. */
export function assertNodeRequirements(facts: HostFacts = probeHost()): void {
  const missing = missingRequirements(facts);
  if (missing.length > 0) throw new NodeRequirementsError(missing);
}

/** `modprobe br_netfilter` where it is missing and possible; quiet when it fails (the check then names it). */
export function loadBridgeNetfilter(): void {
  if (existsSync('/proc/sys/net/bridge')) return;
  try {
    execFileSync('modprobe', ['br_netfilter'], { stdio: 'ignore' });
  } catch {
    // Reported by missingRequirements.
  }
}
