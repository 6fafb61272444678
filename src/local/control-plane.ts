/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler and KWOK with fake nodes on which pods become Running and Ready with an IP.
 * Local mode and the integration tests both run on it.
 *
 * Everything lives in one temp directory (certificates, etcd data, logs, kubeconfigs) that
 * `stop()` removes; a watchdog process does the same if this process dies first.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBinaries } from './binaries.ts';
import type { BinaryPaths } from './binaries.ts';
import { createPki, kubeconfigYaml } from './pki.ts';
import type { ClientIdentity, Pki } from './pki.ts';
import { ManagedProcess, Reaper } from './process.ts';
import type { ProcessSpec } from './process.ts';
import { freePort, httpRequest, waitFor } from './net.ts';
import type { HttpResult } from './net.ts';
import { apiserverArgs, controllerManagerArgs, etcdArgs, kwokArgs, schedulerArgs } from './flags.ts';
import type { Ports } from './flags.ts';
import { fakeNode, isNodeSchedulable } from './nodes.ts';
import { LOOPBACK } from './flags.ts';
import type { Listen } from './flags.ts';

export interface ControlPlaneOptions {
  /** Parent of the temp directory; default the OS temp dir. */
  readonly baseDir?: string;
  /** Progress lines ("etcd ready in 0.4s"). */
  readonly log?: (line: string) => void;
  /** Number of KWOK nodes; default 2 (none with `realNode`). */
  readonly nodes?: number;
  /**
   * Serve a real node instead of KWOK ones: every part runs inside the node's sandbox
   * (`wrap`), listens on the node's IP, and the PKI holds the node's identities.
   */
  readonly realNode?: RealNodeHost;
}

export interface RealNodeHost {
  readonly name: string;
  readonly address: string;
  readonly wrap: (spec: ProcessSpec) => ProcessSpec;
}

/** Kubeconfigs of a real node's kubelet and kube-proxy. */
export interface NodeKubeconfigs {
  readonly kubelet: string;
  readonly kubeProxy: string;
}

export const SERVICE_CIDR = '10.96.0.0/12';
export const POD_CIDR = '10.244.0.0/16';
const FIRST_SERVICE_IP = '10.96.0.1';
const READY_TIMEOUT_MS = 120_000;

/** A running control plane. Create with `ControlPlane.start()`, end with `stop()`. */
export class ControlPlane {
  readonly dir: string;
  readonly binaries: BinaryPaths;
  /** Admin (system:masters) kubeconfig with embedded certificates. */
  readonly kubeconfigPath: string;
  readonly apiserverUrl: string;
  /** etcd's client URL (plain HTTP on the control plane's address), for tools that write the store directly. */
  readonly etcdUrl: string;
  /** With a real node: its kubelet's and kube-proxy's kubeconfigs. */
  readonly nodeKubeconfigs: NodeKubeconfigs | undefined;
  readonly caFile: string;
  /** Milliseconds from `start()` until every part was ready (binaries already built). */
  startupMs = 0;

  private readonly pki: Pki;
  private readonly ports: Ports;
  private readonly listen: Listen;
  private readonly wrap: (spec: ProcessSpec) => ProcessSpec;
  private readonly reaper: Reaper;
  private readonly log: (line: string) => void;
  private readonly processes = new Map<string, ManagedProcess>();
  /** The product's own processes started beside the parts (local mode's operator and resolvers). */
  private readonly companions = new Set<ManagedProcess>();
  private stopped = false;

  private constructor(dir: string, binaries: BinaryPaths, pki: Pki, ports: Ports, reaper: Reaper, log: (line: string) => void, realNode: RealNodeHost | undefined) {
    this.dir = dir;
    this.binaries = binaries;
    this.pki = pki;
    this.ports = ports;
    this.reaper = reaper;
    this.log = log;
    this.listen = realNode ? { host: realNode.address, realNode: true } : LOOPBACK;
    this.wrap = realNode?.wrap ?? ((spec) => spec);
    this.apiserverUrl = `https://${this.listen.host}:${ports.apiserver}`;
    this.etcdUrl = `http://${this.listen.host}:${ports.etcdClient}`;
    this.kubeconfigPath = join(dir, 'kubeconfig');
    this.caFile = pki.caFile;
    this.nodeKubeconfigs = realNode ? { kubelet: join(dir, 'kubelet.kubeconfig'), kubeProxy: join(dir, 'kube-proxy.kubeconfig') } : undefined;
  }

  /** Builds the binaries if needed, then starts every part and waits until each is ready. */
  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = options.log ?? (() => undefined);
    const realNode = options.realNode;
    const binaries = await ensureBinaries(realNode ? ['kubernetes', 'etcd'] : ['kubernetes', 'etcd', 'kwok'], log);
    const began = Date.now();
    const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'clusterdns-control-plane-'));
    const reaper = Reaper.start(join(dir, 'reaper.json'), [dir]);
    mkdirSync(join(dir, 'logs'));
    const ports: Ports = {
      etcdClient: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(),
      controllerManager: await freePort(),
      scheduler: await freePort(),
      kwok: await freePort(),
    };
    const pki = createPki(dir, FIRST_SERVICE_IP, realNode ? { addresses: [realNode.address], nodeName: realNode.name } : {});
    const plane = new ControlPlane(dir, binaries, pki, ports, reaper, log, realNode);
    try {
      await plane.boot(realNode ? 0 : options.nodes ?? 2);
    } catch (error) {
      await plane.stop();
      throw error;
    }
    plane.startupMs = Date.now() - began;
    log(`control plane ready in ${(plane.startupMs / 1000).toFixed(1)}s: ${plane.apiserverUrl}`);
    return plane;
  }

  private async boot(nodes: number): Promise<void> {
    const kubeconfigs = this.writeKubeconfigs();
    const host = this.listen.host;
    await this.launch('etcd', this.binaries.etcd, etcdArgs(this.ports, join(this.dir, 'etcd'), this.listen), () =>
      this.probe(`http://${host}:${this.ports.etcdClient}/health`).then((r) => r.status === 200 && r.body.includes('"true"')),
    );
    await this.startApiserver();
    await Promise.all([
      this.launch('kube-controller-manager', this.binaries.kubeControllerManager,
        controllerManagerArgs(this.ports, kubeconfigs.controllerManager, this.pki, SERVICE_CIDR, join(this.dir, 'kcm-certs'), this.listen),
        () => this.probeOk(`https://${host}:${this.ports.controllerManager}/healthz`)),
      this.launch('kube-scheduler', this.binaries.kubeScheduler,
        schedulerArgs(this.ports, kubeconfigs.scheduler, join(this.dir, 'scheduler-certs'), this.listen),
        () => this.probeOk(`https://${host}:${this.ports.scheduler}/healthz`)),
      ...(nodes > 0 ? [this.launch('kwok', this.binaries.kwok, kwokArgs(this.ports, kubeconfigs.kwok, this.binaries.kwokStages, POD_CIDR),
        () => this.probeOk(`http://127.0.0.1:${this.ports.kwok}/healthz`))] : []),
    ]);
    if (nodes > 0) await this.createNodes(nodes);
  }

  /**
   * Starts kube-apiserver (again, after `stopApiserver()`) and waits for it to be ready. After
   * a restart it also waits until the controller-manager acts on new objects again: its
   * watches come back with a backoff of up to half a minute, and until then, for example, a
   * new namespace gets no default ServiceAccount and pods cannot be created in it.
   */
  async startApiserver(): Promise<void> {
    const restart = this.processes.has('kube-controller-manager');
    const args = apiserverArgs(this.ports, this.pki, SERVICE_CIDR, join(this.dir, 'apiserver-certs'), this.listen);
    await this.launch('kube-apiserver', this.binaries.kubeApiserver, args, async () => {
      const ready = await this.api('GET', '/readyz');
      if (ready.status !== 200) return false;
      // /readyz can pass a moment before the bootstrap controller has made the default
      // namespace, and before the default ServiceCIDR is ready to hand out clusterIPs (until
      // then, a new Service can wait or be refused).
      if ((await this.api('GET', '/api/v1/namespaces/default')).status !== 200) return false;
      return serviceCIDRReady(await this.api('GET', '/apis/networking.k8s.io/v1/servicecidrs/kubernetes'));
    });
    if (restart) await this.waitForControllers();
  }

  /** Creates a throwaway namespace and waits for the controller-manager to give it its default ServiceAccount. */
  private async waitForControllers(): Promise<void> {
    const began = Date.now();
    const name = `clusterdns-probe-${began.toString(36)}`;
    const created = await this.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    if (created.status !== 201) throw new Error(`creating namespace ${name}: ${created.status} ${created.body}`);
    await waitFor('kube-controller-manager after the apiserver restart',
      async () => (await this.api('GET', `/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200, READY_TIMEOUT_MS);
    await this.api('DELETE', `/api/v1/namespaces/${name}`);
    this.log(`kube-controller-manager caught up ${((Date.now() - began) / 1000).toFixed(1)}s after the apiserver restart`);
  }

  /** Stops kube-apiserver only (SIGTERM), leaving etcd and the other parts running. */
  async stopApiserver(): Promise<void> {
    const apiserver = this.processes.get('kube-apiserver');
    this.processes.delete('kube-apiserver');
    await apiserver?.stop();
  }

  /** A request to the apiserver as the admin user. */
  api(method: string, path: string, json?: unknown): Promise<HttpResult> {
    return httpRequest({ url: this.apiserverUrl + path, method, json, tls: this.adminTls() });
  }

  /**
   * Starts a process that lives beside the control plane: its log goes with the parts' logs,
   * the watchdog kills it if this process dies, and `stop()` stops it before the parts. The
   * caller may stop it earlier.
   */
  startCompanion(name: string, command: string, args: readonly string[]): ManagedProcess {
    const child = ManagedProcess.start(this.wrap({ name, command, args, logFile: this.logFile(name) }), this.reaper);
    this.companions.add(child);
    return child;
  }

  /** Where a part's or companion's stdout and stderr go. */
  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  /** Stops the companions, then every part (newest first), and removes the temp directory. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.companions].map((child) => child.stop()));
    this.companions.clear();
    for (const name of ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd']) {
      await this.processes.get(name)?.stop();
      this.processes.delete(name);
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.reaper.dismiss();
    this.log('control plane stopped');
  }

  /** The last lines of a part's log, for error messages. */
  logTail(name: string, lines = 20): string {
    try {
      return readFileSync(this.logFile(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private async launch(name: string, command: string, args: string[], ready: () => Promise<boolean>): Promise<void> {
    const began = Date.now();
    const spec: ProcessSpec = { name, command, args, logFile: this.logFile(name) };
    const child = ManagedProcess.start(this.wrap(spec), this.reaper);
    this.processes.set(name, child);
    try {
      await waitFor(name, ready, READY_TIMEOUT_MS, () => (child.hasExited ? child.exitDescription : undefined));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n--- last lines of ${spec.logFile} ---\n${this.logTail(name)}`, { cause: error });
    }
    this.log(`${name} ready in ${((Date.now() - began) / 1000).toFixed(1)}s`);
  }

  private async createNodes(count: number): Promise<void> {
    const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
    for (const name of names) {
      const created = await this.api('POST', '/api/v1/nodes', fakeNode(name));
      if (created.status !== 201 && created.status !== 409) throw new Error(`creating node ${name}: ${created.status} ${created.body}`);
    }
    await waitFor('KWOK nodes', async () => {
      const list = await this.api('GET', '/api/v1/nodes');
      const items = (JSON.parse(list.body) as { items?: unknown[] }).items ?? [];
      return items.filter(isNodeSchedulable).length >= count;
    }, READY_TIMEOUT_MS);
    this.log(`${count} KWOK nodes ready`);
  }

  private writeKubeconfigs(): Record<'controllerManager' | 'scheduler' | 'kwok', string> {
    const write = (file: string, identity: ClientIdentity, user: string): string => {
      const path = join(this.dir, file);
      writeFileSync(path, kubeconfigYaml(this.apiserverUrl, this.pki.caPem, identity, user), { mode: 0o600 });
      return path;
    };
    write('kubeconfig', this.pki.clients.admin, 'admin');
    if (this.pki.node && this.nodeKubeconfigs) {
      write('kubelet.kubeconfig', this.pki.node.kubelet, 'kubelet');
      write('kube-proxy.kubeconfig', this.pki.node.kubeProxy, 'kube-proxy');
    }
    return {
      controllerManager: write('controller-manager.kubeconfig', this.pki.clients.controllerManager, 'kube-controller-manager'),
      scheduler: write('scheduler.kubeconfig', this.pki.clients.scheduler, 'kube-scheduler'),
      kwok: write('kwok.kubeconfig', this.pki.clients.kwok, 'kwok'),
    };
  }

  private adminTls(): { ca: string; cert: string; key: string } {
    const admin = this.pki.clients.admin;
    return { ca: this.pki.caPem, cert: admin.certificatePem, key: admin.privateKeyPem };
  }

  private probe(url: string): Promise<HttpResult> {
    // The components' health ports serve self-signed certificates; these probes stay on loopback.
    return httpRequest({ url, tls: { insecure: true } });
  }

  private async probeOk(url: string): Promise<boolean> {
    return (await this.probe(url)).status === 200;
  }
}

/** Whether the answer to a GET of a ServiceCIDR says it is Ready. */
function serviceCIDRReady(answer: HttpResult): boolean {
  if (answer.status !== 200) return false;
  try {
    const conditions = (JSON.parse(answer.body) as { status?: { conditions?: Array<{ type?: string; status?: string }> } }).status?.conditions ?? [];
    return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  } catch {
    return false;
  }
}
