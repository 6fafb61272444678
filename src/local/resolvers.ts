/**
 * Local mode's stand-in for the pods of each instance: one real process per ClusterDNS on
 * loopback (`clusterdns resolver`, or CoreDNS of the instance's release for `engine:
 * coredns`), with the configuration the operator renders for the instance's Deployment (only
 * the listen address and ports differ), plus fixed instances such as the cluster's kube-dns.
 * Processes follow the ClusterDNS objects: started when one appears, restarted when what it
 * runs changes, stopped when it is deleted.
 *
 * A CoreDNS release is built the first time it is asked for, without holding up the other
 * instances; a release that cannot be built, or that the operator refuses to run, is reported
 * (`error`) and nothing else stops. As in the cluster, where the operator then leaves the
 * Deployment as it was, a running process of an earlier version keeps answering.
 *
 * With spec.analysis, a resolver shadows its baseline where local mode serves it (another
 * instance's process, or a fixed one such as kube-dns), in place of the baseline Service's
 * clusterIP, which nothing on this machine answers. The health addresses of the shadowing
 * resolvers go to a file the operator reads its analysis from (`clusterdns operator
 * --analysis-targets`).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { parseClusterDNS } from '../api/clusterdns.ts';
import type { Engine } from '../api/clusterdns.ts';
import { CLUSTERDNS_PATH, DEFAULT_NAMESPACE } from '../api/names.ts';
import { resolverConfigFor, shadowConfigFor } from '../api/resolver-config.ts';
import { engineRefusal } from '../controller/engines.ts';
import type { KubeClient } from '../kube/client.ts';
import { Watcher } from '../kube/watcher.ts';
import type { RawObject, WatchEvent } from '../kube/watcher.ts';
import type { CoreDNSBuilds } from './coredns-builds.ts';
import { LOOPBACK, prepareLaunch } from './launch.ts';
import type { LaunchContext, LoopbackPorts } from './launch.ts';
import { freePort, httpRequest, waitFor } from './net.ts';
import type { ManagedProcess } from './process.ts';

/** What local mode needs of an instance. */
export interface LocalInstance {
  readonly name: string;
  readonly engine: Engine;
  /** The version shown: status.version (what the pods run), else spec.version. */
  readonly version: string;
  readonly clusterIP: string;
  readonly clusterDomain: string;
  /** The resolver configuration without the loopback listen address and ports, and without shadow (JSON). */
  readonly config: string;
  /** engine clusterdns with spec.analysis: the baseline Service (`namespace/name`) to shadow, and the sample. */
  readonly shadow?: { readonly baseline: string; readonly sample: number };
  /** A fixed instance: the Service (`namespace/name`) it answers for. */
  readonly service?: string;
  /** engine coredns: the CoreDNS release to run (spec.version). */
  readonly release?: string;
  /** Why the operator does not run it (a CoreDNS version it refuses), naming spec.version. */
  readonly refusal?: string;
}

/** An instance and its process on loopback. */
export interface ServedInstance extends LocalInstance {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  /** Why it is not served (as it is asked for), if it is not. */
  readonly error?: string;
}

/** Shrinks a raw ClusterDNS; invalid ones are left out (the CRD refuses them anyway). */
export function localInstance(raw: RawObject): LocalInstance | undefined {
  const parsed = parseClusterDNS(raw);
  if (!parsed.ok) return undefined;
  const cr = parsed.value;
  const { metadata, spec, status } = cr;
  const refusal = engineRefusal(cr);
  const { namespace, name } = spec.baseline.service;
  // CoreDNS has no shadow comparison: an engine coredns instance never shadows.
  const shadow = spec.analysis && spec.engine === 'clusterdns' ? { baseline: `${namespace}/${name}`, sample: spec.analysis.sample } : undefined;
  return {
    name: metadata.name,
    engine: spec.engine,
    version: status?.version ?? spec.version,
    clusterIP: status?.clusterIP ?? spec.clusterIP ?? '',
    clusterDomain: spec.clusterDomain,
    config: JSON.stringify(resolverConfigFor(spec)),
    ...(spec.engine === 'coredns' ? { release: spec.version } : {}),
    ...(refusal ? { refusal: refusal.message } : {}),
    ...(shadow ? { shadow } : {}),
  };
}

/** What a process runs (`config` with its shadow): when this changes, it is restarted (a version label alone does not restart our own resolver). */
function runKey(instance: LocalInstance, config: string): string {
  return JSON.stringify([instance.engine, instance.release ?? '', config]);
}

export interface LocalResolversOptions {
  readonly client: KubeClient;
  readonly kubeconfigPath: string;
  /** Where the config files go. */
  readonly dir: string;
  readonly builds: CoreDNSBuilds;
  /** Only the ClusterDNS objects with these labels (default: all). */
  readonly labelSelector?: string;
  /** Instances served beside the ClusterDNS objects (local mode's kube-dns). */
  readonly fixed?: readonly LocalInstance[];
  /** Replaces the node's resolv.conf as the upstream of instances that name none (`HOST:PORT`). */
  readonly upstream?: string;
  /** Starts a process (`name` for its log) and keeps it from outliving local mode. */
  readonly startProcess: (name: string, command: string, args: readonly string[]) => ManagedProcess;
  /** Where the log of a process started under `name` goes, for error messages. */
  readonly logFile: (name: string) => string;
  readonly log: (line: string) => void;
  /** Told whenever the set of served instances, their readiness or their errors change. */
  readonly onChange: (instances: readonly ServedInstance[]) => void;
  /** Where the health addresses of the shadowing resolvers are written for the operator (--analysis-targets). */
  readonly analysisTargetsFile?: string;
}

interface Running {
  instance: LocalInstance;
  /** The configuration it runs with, shadow included (without the loopback addresses). */
  config: string;
  process: ManagedProcess;
  stopGraceMs: number;
  ready: boolean;
}

export class LocalResolvers {
  private readonly options: LocalResolversOptions;
  private readonly running = new Map<string, Running>();
  /** Ports stay with an instance across restarts, so a printed `dig` line keeps working. */
  private readonly ports = new Map<string, LoopbackPorts>();
  private desired = new Map<string, LocalInstance>();
  /** Why an instance is not served as asked; reported once per cause. */
  private readonly errors = new Map<string, string>();
  /** Changes are applied one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(options: LocalResolversOptions) {
    this.options = options;
    this.desired = new Map((options.fixed ?? []).map((i) => [i.name, i] as const));
  }

  /** Follows ClusterDNS objects until `signal` aborts, then stops every process. */
  async run(signal: AbortSignal): Promise<void> {
    // The fixed instances do not wait for the first list.
    this.enqueue();
    const watcher = new Watcher<LocalInstance | undefined>({
      client: this.options.client,
      resource: { path: CLUSTERDNS_PATH, ...(this.options.labelSelector ? { labelSelector: this.options.labelSelector } : {}) },
      shrink: localInstance,
      onEvent: (event) => { this.onEvent(event); },
      onError: (error) => { this.options.log(`watching ClusterDNS: ${error.message}`); },
    });
    await watcher.run(signal);
    this.stopping = true;
    await this.queue;
    await Promise.all([...this.running.values()].map((r) => r.process.stop(r.stopGraceMs)));
    this.running.clear();
  }

  served(): ServedInstance[] {
    const names = new Set([...this.running.keys(), ...this.errors.keys()]);
    return [...names].flatMap((name): ServedInstance[] => {
      const running = this.running.get(name);
      const instance = running?.instance ?? this.desired.get(name);
      if (!instance) return [];
      const error = this.errors.get(name);
      return [{ ...instance, address: LOOPBACK, port: this.ports.get(name)?.dns ?? 0, ready: running?.ready ?? false, ...(error ? { error } : {}) }];
    }).sort((a, b) => a.name.localeCompare(b.name));
  }

  private onEvent(event: WatchEvent<LocalInstance | undefined>): void {
    if (event.type === 'restarted') {
      this.desired = new Map([...(this.options.fixed ?? []), ...event.objects.flatMap((i) => (i ? [i] : []))].map((i) => [i.name, i] as const));
    } else if (event.object) {
      if (event.type === 'applied') this.desired.set(event.object.name, event.object);
      else this.desired.delete(event.object.name);
    }
    this.enqueue();
  }

  private enqueue(): void {
    this.queue = this.queue.then(() => this.converge()).catch((error: unknown) => {
      this.options.log(`local resolvers: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /**
   * Starts, restarts and stops processes until the running set matches the desired one. A
   * second pass restarts a resolver whose baseline came up in the first.
   */
  private async converge(): Promise<void> {
    if (this.stopping) return;
    await this.pass();
    if ([...this.running.values()].some((r) => this.desired.has(r.instance.name) && this.configOf(r.instance) !== r.config)) await this.pass();
    this.writeAnalysisTargets();
    this.options.onChange(this.served());
  }

  private async pass(): Promise<void> {
    await this.stopStale();
    for (const name of this.errors.keys()) if (!this.desired.has(name)) this.errors.delete(name);
    for (const [name, instance] of this.desired) {
      if (instance.refusal) {
        this.report(name, this.running.has(name) ? instance.refusal : `${instance.refusal}; not served`);
        continue;
      }
      if (this.running.has(name)) continue;
      const binary = instance.release ? this.binaryFor(instance) : undefined;
      if (instance.release && !binary) continue;
      await this.start(instance, binary);
    }
  }

  /**
   * The configuration of an instance's resolver: the operator's, with its shadow pointed at
   * the loopback server of its baseline, while local mode runs one.
   */
  private configOf(instance: LocalInstance): string {
    const baseline = instance.shadow ? this.loopbackOf(instance.shadow.baseline) : undefined;
    const shadow = shadowConfigFor(instance.shadow, baseline?.address, baseline?.engine);
    return shadow ? JSON.stringify({ ...JSON.parse(instance.config) as object, shadow }) : instance.config;
  }

  /** The ready loopback server that answers for the Service `ref`, and what it runs: a fixed instance, or a ClusterDNS's. */
  private loopbackOf(ref: string): { address: string; engine: Engine } | undefined {
    const [namespace, name = ''] = ref.split('/');
    const running = [...this.running.values()].find((r) => r.instance.service === ref)
      ?? (namespace === DEFAULT_NAMESPACE && !this.running.get(name)?.instance.service ? this.running.get(name) : undefined);
    const port = running ? this.ports.get(running.instance.name)?.dns : undefined;
    return running?.ready && port ? { address: `${LOOPBACK}:${port}`, engine: running.instance.engine } : undefined;
  }

  /** `{"instances": {NAME: ["127.0.0.1:HEALTH"]}}` for each resolver that shadows, replaced atomically. */
  private writeAnalysisTargets(): void {
    const file = this.options.analysisTargetsFile;
    if (!file) return;
    const instances = Object.fromEntries([...this.running]
      .filter(([, r]) => (JSON.parse(r.config) as { shadow?: unknown }).shadow !== undefined)
      .map(([name]) => [name, [`${LOOPBACK}:${this.ports.get(name)?.health ?? 0}`]]));
    writeFileSync(`${file}.tmp`, JSON.stringify({ instances }));
    renameSync(`${file}.tmp`, file);
  }

  /**
   * Stops the processes of deleted instances and of those whose run changed. A refused or not
   * yet built release leaves the running process as it is, as the operator leaves the pods.
   */
  private async stopStale(): Promise<void> {
    for (const [name, running] of this.running) {
      const wanted = this.desired.get(name);
      if (wanted && runKey(wanted, this.configOf(wanted)) === runKey(running.instance, running.config)) {
        running.instance = wanted;
        if (!wanted.refusal) this.errors.delete(name);
        continue;
      }
      if (wanted?.refusal || (wanted?.release && !this.binaryFor(wanted))) continue;
      await running.process.stop(running.stopGraceMs);
      this.running.delete(name);
      if (!wanted) {
        this.ports.delete(name);
        this.errors.delete(name);
      }
      const change = wanted?.release && wanted.release !== running.instance.release ? `now CoreDNS ${wanted.release}` : 'configuration changed';
      this.options.log(wanted ? `${name}: ${change}, restarting it` : `${name}: deleted, stopped`);
    }
  }

  /**
   * The CoreDNS binary of the instance's release when it is built; otherwise starts its build
   * (after which it converges again) and says so, or says why it cannot be built.
   */
  private binaryFor(instance: LocalInstance): string | undefined {
    const release = instance.release ?? '';
    const { builds } = this.options;
    const state = builds.state(release);
    switch (state.kind) {
      case 'built':
        return state.path;
      case 'failed':
        this.report(instance.name, `${state.error.message}; not served`);
        return undefined;
      case 'absent':
        builds.ensure(release).then(() => { this.enqueue(); }, () => { this.enqueue(); });
        this.report(instance.name, `building CoreDNS ${release} (the first time for a release takes a few minutes)`);
        return undefined;
      case 'building':
        this.report(instance.name, `building CoreDNS ${release} (the first time for a release takes a few minutes)`);
        return undefined;
    }
  }

  private report(name: string, error: string): void {
    if (this.errors.get(name) === error) return;
    this.errors.set(name, error);
    this.options.log(`${name}: ${error}`);
  }

  private async start(instance: LocalInstance, binary: string | undefined): Promise<void> {
    const ports = this.ports.get(instance.name) ?? { dns: await freePort(), health: await freePort(), ready: await freePort(), metrics: await freePort() };
    this.ports.set(instance.name, ports);
    const { dir, kubeconfigPath, upstream } = this.options;
    const context: LaunchContext = { dir, kubeconfigPath, ...(upstream ? { upstream } : {}) };
    const config = this.configOf(instance);
    const launch = prepareLaunch({
      engine: instance.engine, name: instance.name, config,
      ...(instance.release && binary ? { coredns: { release: instance.release, binary } } : {}),
    }, ports, context);
    const process_ = this.options.startProcess(launch.name, launch.command, launch.args);
    const running: Running = { instance, config, process: process_, stopGraceMs: launch.stopGraceMs, ready: false };
    this.running.set(instance.name, running);
    this.errors.delete(instance.name);
    try {
      await waitFor(launch.name, async () => (await httpRequest({ url: `http://${LOOPBACK}:${ports.ready}/ready` })).status === 200,
        60_000, () => (process_.hasExited ? process_.exitDescription : undefined));
      running.ready = true;
      this.options.log(`${instance.name}: ${instance.release ? `CoreDNS ${instance.release}` : 'resolver'} ready on ${LOOPBACK}:${ports.dns}`);
    } catch (error) {
      this.report(instance.name, `${error instanceof Error ? error.message : String(error)} (log: ${this.options.logFile(launch.name)})`);
    }
  }
}
