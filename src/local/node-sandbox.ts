/**
 * Where a real node lives on a shared machine: a network namespace and a private mount
 * namespace of its own, held open by one small process, and a cgroup tree that every process
 * of the node joins. Nothing in it can reach the machine's network: the namespace has
 * loopback and one veth whose other end is on this machine with a /30 of the benchmarking
 * range 198.18.0.0/15 (RFC 2544), and no default route, so a packet to any other address
 * fails at once inside the namespace. The Service range is routed onto an empty bridge: a
 * local process's packet to a clusterIP needs a route before kube-proxy's rules rewrite its
 * destination, and one to an address no Service has goes nowhere.
 *
 * No name is left on the machine: the namespaces are not bind-mounted under /run/netns
 * (`ip netns add` would also turn /run/netns into a shared mount of its own that outlives the
 * node) but entered through the holder's /proc/<pid>/ns files; they end with the last process
 * in them. The private mount namespace puts a fresh tmpfs over /run, /var/lib and /var/log,
 * where containerd, runc, the CNI plugins and the kubelet keep fixed paths (shim sockets,
 * pod network namespaces, IP allocations, device-plugin sockets, log links): two nodes never
 * share them, and the mounts containerd makes for containers are gone with the namespace.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { CgroupTree } from './cgroups.ts';
import { waitFor } from './net.ts';
import { ManagedProcess } from './process.ts';
import type { ProcessSpec, Reaper } from './process.ts';

const run = promisify(execFile);
const DAEMONS = 'node';
const HOLDER_READY = 'clusterdns-node-sandbox-ready';
/** Inside the namespace, where the Service range is routed (no port: nothing is ever sent from it). */
const SERVICES_BRIDGE = 'services0';

/** The veth pair's two addresses. */
export interface SandboxAddresses {
  /** This machine's end. */
  readonly host: string;
  /** The node's end: the node IP, where its apiserver and kubelet listen. */
  readonly node: string;
  readonly prefixLength: 30;
}

/** A random /30 in 198.18.0.0/15 that none of `routes` (CIDRs on this machine) overlaps. */
export function pickAddresses(routes: readonly string[], random: (max: number) => number = randomInt): SandboxAddresses {
  const base = ipToNumber('198.18.0.0');
  for (let attempt = 0; attempt < 100; attempt++) {
    const block = base + random(2 ** 15) * 4;
    if (routes.every((cidr) => !overlaps(cidr, `${numberToIp(block)}/30`))) {
      return { host: numberToIp(block + 1), node: numberToIp(block + 2), prefixLength: 30 };
    }
  }
  throw new Error('no free /30 in 198.18.0.0/15 on this machine');
}

export function overlaps(a: string, b: string): boolean {
  const [na, la] = parseCidr(a);
  const [nb, lb] = parseCidr(b);
  const bits = Math.min(la, lb);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return ((na & mask) >>> 0) === ((nb & mask) >>> 0);
}

function parseCidr(cidr: string): [number, number] {
  const [ip = '', length = '32'] = cidr.split('/');
  return [ipToNumber(ip), Number(length)];
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** The IPv4 destinations routed on this machine, as CIDRs (`default` left out). */
async function hostRoutes(): Promise<string[]> {
  const { stdout } = await run('ip', ['-4', '-o', 'route', 'show', 'table', 'all']);
  return stdout.split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map((words) => (['local', 'broadcast', 'unicast', 'blackhole', 'unreachable', 'prohibit'].includes(words[0] ?? '') ? words[1] : words[0]))
    .filter((dst): dst is string => dst !== undefined && /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst));
}

export interface SandboxOptions {
  /** The node's Service range (clusterIPs). */
  readonly serviceCidr: string;
  /** Where the holder's log goes. */
  readonly logFile: string;
  readonly reaper: Reaper;
  readonly log?: (line: string) => void;
}

export class NodeSandbox {
  /** `clusterdns-<6 hex>`: names the cgroup tree and, shortened, the veth. */
  readonly id: string;
  readonly addresses: SandboxAddresses;
  readonly cgroups: CgroupTree;
  /** The veth's end on this machine. */
  readonly hostLink: string;
  readonly nodeLink: string;
  private holder: ManagedProcess | undefined;

  private constructor(id: string, addresses: SandboxAddresses) {
    this.id = id;
    this.addresses = addresses;
    this.cgroups = new CgroupTree(`/${id}`);
    const short = id.slice(-6);
    this.hostLink = `cdns${short}h`;
    this.nodeLink = `cdns${short}n`;
  }

  /** Creates the cgroup tree, the namespaces and the veth pair. On failure, removes what it made. */
  static async create(options: SandboxOptions): Promise<NodeSandbox> {
    const sandbox = new NodeSandbox(`clusterdns-${randomBytes(3).toString('hex')}`, pickAddresses(await hostRoutes()));
    try {
      await sandbox.setUp(options);
    } catch (error) {
      await sandbox.destroy();
      throw error;
    }
    return sandbox;
  }

  private async setUp({ logFile, reaper, serviceCidr }: SandboxOptions): Promise<void> {
    reaper.addCgroup(this.cgroups.path);
    reaper.addLink(this.hostLink);
    this.cgroups.create(DAEMONS);
    const mounts = ['/run', '/var/lib', '/var/log'].map((dir) => `mount -t tmpfs -o mode=0755 clusterdns-node ${dir}`).join(' && ');
    this.holder = ManagedProcess.start({
      name: 'node-sandbox',
      command: '/bin/sh',
      args: ['-c', `${this.joinCgroup()}; exec unshare --net --mount --propagation private -- /bin/sh -c '${mounts} && echo ${HOLDER_READY} && exec sleep infinity'`],
      logFile,
    }, reaper);
    const holder = this.holder;
    await waitFor('the node sandbox', () => Promise.resolve(readFileSync(logFile, 'utf8').includes(HOLDER_READY)), 10_000,
      () => (holder.hasExited ? `${holder.exitDescription}: ${readFileSync(logFile, 'utf8').trim()}` : undefined));
    const { host, node, prefixLength } = this.addresses;
    await run('ip', ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', this.nodeLink, 'netns', String(holder.pid)]);
    await run('ip', ['addr', 'add', `${host}/${prefixLength}`, 'dev', this.hostLink]);
    await run('ip', ['link', 'set', this.hostLink, 'up']);
    await this.inside(['ip', 'addr', 'add', `${node}/${prefixLength}`, 'dev', this.nodeLink]);
    await this.inside(['ip', 'link', 'set', this.nodeLink, 'up']);
    await this.inside(['ip', 'link', 'set', 'lo', 'up']);
    await this.inside(['ip', 'link', 'add', SERVICES_BRIDGE, 'type', 'bridge']);
    await this.inside(['ip', 'link', 'set', SERVICES_BRIDGE, 'up']);
    await this.inside(['ip', 'route', 'add', serviceCidr, 'dev', SERVICES_BRIDGE]);
    // Replies between pods on the bridge must pass kube-proxy's NAT (per namespace since Linux 5.3).
    // IPv4 only: nothing in the node speaks IPv6, and no router solicitation leaves the veth.
    await this.inside(['sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }

  /** The holder's pid: `/proc/<pid>/ns/net` is the node's network. */
  get pid(): number {
    if (!this.holder) throw new Error('the node sandbox is not running');
    return this.holder.pid;
  }

  /** A process spec that runs `spec` inside the node: its cgroup, network and mount namespaces. */
  wrap(spec: ProcessSpec): ProcessSpec {
    return {
      ...spec,
      command: '/bin/sh',
      args: ['-c', `${this.joinCgroup()}; exec nsenter --net=/proc/${this.pid}/ns/net --mount=/proc/${this.pid}/ns/mnt -- "$@"`, 'sh', spec.command, ...spec.args],
    };
  }

  /** Runs a short command inside the node's namespaces; resolves with its stdout. */
  async inside(args: readonly string[]): Promise<string> {
    const { stdout } = await run('nsenter', [`--net=/proc/${this.pid}/ns/net`, `--mount=/proc/${this.pid}/ns/mnt`, '--', ...args], { maxBuffer: 16 << 20 });
    return stdout;
  }

  /** Kills every process of the node and removes its cgroups and veth (the namespaces go with them). */
  async destroy(): Promise<void> {
    await this.cgroups.destroy();
    await run('ip', ['link', 'delete', this.hostLink]).catch(() => undefined);
    this.holder = undefined;
  }

  private joinCgroup(): string {
    return `for f in ${this.cgroups.procsFiles(DAEMONS).join(' ')}; do echo $$ > "$f" || exit 1; done`;
  }
}
