/**
 * One real Kubernetes node on this machine: containerd (with runc and the CNI bridge),
 * the kubelet and kube-proxy, beside a control plane of its own, all inside a node sandbox
 * (network and mount namespaces, a cgroup tree; see node-sandbox.ts). Pods get addresses of
 * 10.244.0.0/24 on the node's bridge, Services are kube-proxy's nftables rules inside the
 * namespace, and images come from OCI archives imported into containerd: no registry.
 *
 * The control plane runs inside the same namespace, listening on the node IP: the apiserver
 * must reach the webhook Service in a pod (through kube-proxy's rules, which exist only
 * there), and pods reach the apiserver at 10.96.0.1 (its endpoint is the node IP). This
 * machine reaches the apiserver and the kubelet's health ports through the veth.
 *
 * The node's upstream DNS (its resolv.conf, which `dnsPolicy: Default` pods such as the
 * resolvers get) is a dnsmasq inside the namespace that answers only the names it is given.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ControlPlane, SERVICE_CIDR } from './control-plane.ts';
import { ensureBinaries } from './binaries.ts';
import type { BinaryPaths } from './binaries.ts';
import { httpRequest, waitFor } from './net.ts';
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig, resolvConf } from './node-config.ts';
import type { NodePaths, NodeSettings } from './node-config.ts';
import { assertNodeRequirements, CNI_BIN_DIR, loadBridgeNetfilter } from './node-requirements.ts';
import { isNodeSchedulable } from './nodes.ts';
import { runInNetwork } from './node-exec.ts';
import { KUBE_DNS } from './kube-dns.ts';
import { NodeSandbox } from './node-sandbox.ts';
import { ManagedProcess, Reaper } from './process.ts';
import { readVersions } from './repo.ts';

export const NODE_NAME = 'clusterdns-node';
export const NODE_POD_CIDR = '10.244.0.0/24';
const READY_TIMEOUT_MS = 120_000;

export interface RealNodeOptions {
  readonly baseDir?: string;
  readonly log?: (line: string) => void;
  /** OCI archives to import before the kubelet starts (the pause image is always imported). */
  readonly images?: readonly string[];
  /** Names the node's upstream DNS answers, with their IPv4 address. */
  readonly upstreamRecords?: Readonly<Record<string, string>>;
}

/** A running node. `RealNode.start()`, then `stop()`. */
export class RealNode {
  readonly dir: string;
  readonly plane: ControlPlane;
  readonly sandbox: NodeSandbox;
  readonly binaries: BinaryPaths;
  readonly paths: NodePaths;
  /** The node IP: apiserver, kubelet and the upstream DNS listen here. */
  readonly address: string;
  /** Milliseconds from `start()` until the node was schedulable (binaries and images ready). */
  startupMs = 0;

  private readonly reaper: Reaper;
  private readonly log: (line: string) => void;
  private readonly daemons = new Map<string, ManagedProcess>();
  private stopped = false;

  private constructor(dir: string, plane: ControlPlane, sandbox: NodeSandbox, binaries: BinaryPaths, reaper: Reaper, log: (line: string) => void) {
    this.dir = dir;
    this.plane = plane;
    this.sandbox = sandbox;
    this.binaries = binaries;
    this.reaper = reaper;
    this.log = log;
    this.address = sandbox.addresses.node;
    const caFile = plane.caFile;
    const kubeconfigs = plane.nodeKubeconfigs;
    if (!kubeconfigs) throw new Error('the control plane was started without a real node');
    // The daemons' data lives on the sandbox's private tmpfs (/var/lib, /run, /var/log), at
    // their usual paths: unpacked images are many thousands of files, which would take tens of
    // seconds to delete from disk and go at once with the mount namespace. Only the config,
    // the logs of the daemons and the containerd socket are in `dir`, where this machine sees them.
    this.paths = {
      containerdRoot: '/var/lib/containerd',
      containerdState: '/run/containerd',
      containerdSocket: join(dir, 'containerd', 'containerd.sock'),
      cniConfDir: join(dir, 'cni', 'net.d'),
      cniBinDir: CNI_BIN_DIR,
      cniDataDir: '/var/lib/cni/networks',
      runc: '/usr/sbin/runc',
      kubeletRoot: '/var/lib/kubelet',
      podLogsDir: '/var/log/pods',
      resolvConf: join(dir, 'resolv.conf'),
      caFile,
      kubeletKubeconfig: kubeconfigs.kubelet,
      kubeProxyKubeconfig: kubeconfigs.kubeProxy,
    };
  }

  /**
   * Checks the machine (throws NodeRequirementsError naming what is missing), builds what is
   * not cached, and starts everything; resolves once the node is Ready and schedulable.
   */
  static async start(options: RealNodeOptions = {}): Promise<RealNode> {
    const log = options.log ?? (() => undefined);
    loadBridgeNetfilter();
    assertNodeRequirements();
    const binaries = await ensureBinaries(['kubernetes', 'etcd', 'kubernetes-node', 'containerd'], log);
    const began = Date.now();
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'clusterdns-node-'));
    const reaper = Reaper.start(join(dir, 'reaper.json'), [dir]);
    let sandbox: NodeSandbox | undefined;
    let plane: ControlPlane | undefined;
    try {
      sandbox = await NodeSandbox.create({ logFile: join(dir, 'sandbox.log'), reaper, log, serviceCidr: SERVICE_CIDR });
      const inside = sandbox;
      log(`node sandbox ${sandbox.id}: node IP ${sandbox.addresses.node}, this machine ${sandbox.addresses.host}`);
      plane = await ControlPlane.start({ baseDir: dir, log, realNode: { name: NODE_NAME, address: sandbox.addresses.node, wrap: (spec) => inside.wrap(spec) } });
      const node = new RealNode(dir, plane, sandbox, binaries, reaper, log);
      try {
        await node.boot(options);
      } catch (error) {
        await node.stop();
        throw error;
      }
      node.startupMs = Date.now() - began;
      log(`real node ready in ${(node.startupMs / 1000).toFixed(1)}s`);
      return node;
    } catch (error) {
      if (!plane) {
        await sandbox?.destroy();
        rmSync(dir, { recursive: true, force: true });
        reaper.dismiss();
      }
      throw error;
    }
  }

  private async boot(options: RealNodeOptions): Promise<void> {
    const settings: NodeSettings = {
      nodeName: NODE_NAME,
      nodeIP: this.address,
      cgroupRoot: this.sandbox.cgroups.path,
      podCidr: NODE_POD_CIDR,
      serviceCidr: SERVICE_CIDR,
      // As kubeadm's kubelet: ClusterFirst pods ask kube-dns (kube-dns.ts), once it is installed.
      clusterDns: [KUBE_DNS.clusterIP],
      clusterDomain: 'cluster.local',
      sandboxImage: readVersions().pauseImage,
    };
    mkdirSync(this.paths.cniConfDir, { recursive: true });
    mkdirSync(dirname(this.paths.containerdSocket), { recursive: true });
    await this.sandbox.inside(['mkdir', '-p', this.paths.containerdRoot, this.paths.containerdState, this.paths.cniDataDir, this.paths.kubeletRoot, this.paths.podLogsDir]);
    const file = (name: string, contents: string): string => {
      const path = join(this.dir, name);
      writeFileSync(path, contents);
      return path;
    };
    const containerdToml = file('containerd.toml', containerdConfig(this.paths, settings));
    writeFileSync(join(this.paths.cniConfDir, '10-clusterdns.conflist'), JSON.stringify(cniConfig(this.paths, settings), null, 2));
    const kubeletYaml = file('kubelet.json', JSON.stringify(kubeletConfig(this.paths, settings), null, 2));
    const kubeProxyYaml = file('kube-proxy.json', JSON.stringify(kubeProxyConfig(this.paths, settings), null, 2));
    writeFileSync(this.paths.resolvConf, resolvConf([this.address]));

    await this.startUpstream(options.upstreamRecords ?? {});
    await this.startDaemon('containerd', this.binaries.containerd, ['--config', containerdToml],
      async () => (await this.ctr(['version']).then(() => true, () => false)));
    for (const archive of [this.binaries.pauseArchive, ...(options.images ?? [])]) await this.importImage(archive);
    await this.startDaemon('kubelet', this.binaries.kubelet, [
      `--config=${kubeletYaml}`,
      `--kubeconfig=${this.paths.kubeletKubeconfig}`,
      `--root-dir=${this.paths.kubeletRoot}`,
      `--node-ip=${this.address}`,
      `--hostname-override=${NODE_NAME}`,
      '--v=1',
    ], async () => (await httpRequest({ url: `http://${this.address}:10248/healthz` })).status === 200);
    await this.startDaemon('kube-proxy', this.binaries.kubeProxy, [`--config=${kubeProxyYaml}`, '--v=1'],
      async () => (await httpRequest({ url: `http://${this.address}:10256/healthz` })).status === 200);
    await waitFor(`node ${NODE_NAME} Ready and schedulable`, async () => {
      const node = await this.plane.api('GET', `/api/v1/nodes/${NODE_NAME}`);
      return node.status === 200 && isNodeSchedulable(JSON.parse(node.body));
    }, READY_TIMEOUT_MS, () => this.exitedDaemon());
  }

  /** Imports an OCI archive into containerd's Kubernetes namespace, under the names it carries. */
  async importImage(archive: string): Promise<void> {
    const began = Date.now();
    await this.ctr(['images', 'import', archive]);
    this.log(`imported ${archive} in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  }

  /** `ctr` against the node's containerd, in its Kubernetes namespace. */
  ctr(args: readonly string[]): Promise<string> {
    return this.sandbox.inside([this.binaries.ctr, '--address', this.paths.containerdSocket, '--namespace', 'k8s.io', ...args]);
  }

  /** Runs `command` in the node's network with this process's stdio (as `clusterdns local exec`); resolves with its exit code. */
  exec(command: readonly string[]): Promise<number> {
    return runInNetwork(this.sandbox.pid, command);
  }

  /** Where a daemon's log is. */
  logFile(name: string): string {
    return join(this.dir, `${name}.log`);
  }

  /** The last lines of a daemon's log. */
  logTail(name: string, lines = 30): string {
    try {
      return readFileSync(this.logFile(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /**
   * Kills every process of the node at once (daemons, control plane, shims, containers: a
   * throwaway node has nothing to shut down gracefully), then removes its files. The network
   * and mount namespaces end with the processes. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.sandbox.destroy();
    await Promise.all([...this.daemons.values()].map((child) => child.stop()));
    this.daemons.clear();
    await this.plane.stop();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10 });
    this.reaper.dismiss();
    this.log('real node stopped');
  }

  private async startUpstream(records: Readonly<Record<string, string>>): Promise<void> {
    const hosts = join(this.dir, 'upstream.hosts');
    writeFileSync(hosts, Object.entries(records).map(([name, ip]) => `${ip} ${name}\n`).join(''));
    await this.startDaemon('upstream', '/usr/sbin/dnsmasq', [
      '--keep-in-foreground', '--no-resolv', '--no-hosts', '--no-poll', `--addn-hosts=${hosts}`,
      `--listen-address=${this.address}`, '--bind-interfaces', '--port=53', '--user=root',
      '--log-queries', '--log-facility=-', `--pid-file=${join(this.dir, 'upstream.pid')}`,
      // Authoritative for its names: a AAAA question gets an empty answer, not REFUSED for want of a server to forward to.
      ...Object.keys(records).map((name) => `--local=/${name}/`),
    ], () => Promise.resolve(readFileSync(this.logFile('upstream'), 'utf8').includes('started')));
  }

  /** The names the node's upstream was asked, in order (from its query log). */
  upstreamQueries(): Array<{ name: string; from: string }> {
    const queries: Array<{ name: string; from: string }> = [];
    for (const line of readFileSync(this.logFile('upstream'), 'utf8').split('\n')) {
      const match = /query\[\w+\] (\S+) from (\S+)/.exec(line);
      if (match?.[1] && match[2]) queries.push({ name: match[1], from: match[2] });
    }
    return queries;
  }

  private async startDaemon(name: string, command: string, args: string[], ready: () => Promise<boolean>): Promise<void> {
    const began = Date.now();
    // containerd finds its shim on PATH; the kubelet and the CNI plugins need the system tools.
    const path = [dirname(this.binaries.containerdShim), process.env['PATH'] ?? '', '/usr/sbin', '/sbin'].join(':');
    const spec = this.sandbox.wrap({ name, command, args, logFile: this.logFile(name), env: { ...process.env, PATH: path } });
    const child = ManagedProcess.start(spec, this.reaper);
    this.daemons.set(name, child);
    try {
      await waitFor(name, ready, READY_TIMEOUT_MS, () => this.exitedDaemon());
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n--- last lines of ${this.logFile(name)} ---\n${this.logTail(name)}`, { cause: error });
    }
    this.log(`${name} ready in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  }

  private exitedDaemon(): string | undefined {
    for (const child of this.daemons.values()) if (child.hasExited) return child.exitDescription;
    return undefined;
  }
}
