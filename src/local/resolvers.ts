/**
 * Local mode's stand-in for the resolver pods: one real `clusterdns resolver` process per
 * ClusterDNS, on loopback, with the configuration the operator renders for the instance's
 * Deployment (only the listen address and ports differ). Processes follow the ClusterDNS
 * objects: started when one appears, restarted when its configuration changes, stopped when
 * it is deleted.
 *
 * With spec.analysis, a resolver shadows its baseline where local mode serves it: another
 * instance's loopback resolver, or a server local mode names for a Service (its kube-dns),
 * in place of the baseline Service's clusterIP, which nothing on this machine answers. The
 * health addresses of the shadowing resolvers go to a file the operator reads its analysis
 * from (`clusterdns operator --analysis-targets`).
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterDNS } from '../api/clusterdns.ts';
import { CLUSTERDNS_PATH, DEFAULT_NAMESPACE } from '../api/names.ts';
import { resolverConfigFor, shadowConfigFor } from '../api/resolver-config.ts';
import type { KubeClient } from '../kube/client.ts';
import { Watcher } from '../kube/watcher.ts';
import type { RawObject, WatchEvent } from '../kube/watcher.ts';
import { freePort, httpRequest, waitFor } from './net.ts';
import type { ManagedProcess } from './process.ts';
import { clusterdnsCommand } from './self.ts';

/** What local mode needs of a ClusterDNS. */
export interface LocalInstance {
  readonly name: string;
  readonly version: string;
  readonly clusterIP: string;
  readonly clusterDomain: string;
  /** The resolver configuration without the loopback listen address and ports, and without shadow. */
  readonly config: string;
  /** With spec.analysis: the baseline Service (`namespace/name`) to shadow, and the sample. */
  readonly shadow?: { readonly baseline: string; readonly sample: number };
}

/** A resolver process serving one instance on loopback. */
export interface ServedInstance extends LocalInstance {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
}

/** Shrinks a raw ClusterDNS; invalid ones are left out (the CRD refuses them anyway). */
export function localInstance(raw: RawObject): LocalInstance | undefined {
  const parsed = parseClusterDNS(raw);
  if (!parsed.ok) return undefined;
  const { metadata, spec, status } = parsed.value;
  const { namespace, name } = spec.baseline.service;
  return {
    name: metadata.name,
    version: status?.version ?? spec.version,
    clusterIP: status?.clusterIP ?? spec.clusterIP ?? '',
    clusterDomain: spec.clusterDomain,
    config: JSON.stringify(resolverConfigFor(spec)),
    ...(spec.analysis ? { shadow: { baseline: `${namespace}/${name}`, sample: spec.analysis.sample } } : {}),
  };
}

export interface LocalResolversOptions {
  readonly client: KubeClient;
  readonly kubeconfigPath: string;
  /** Where the config files go. */
  readonly dir: string;
  /** Starts a process (`name` for its log) and keeps it from outliving local mode. */
  readonly startProcess: (name: string, command: string, args: readonly string[]) => ManagedProcess;
  /** Where the log of a process started under `name` goes, for error messages. */
  readonly logFile: (name: string) => string;
  readonly log: (line: string) => void;
  /** Told whenever the set of served instances or their readiness changes. */
  readonly onChange: (instances: readonly ServedInstance[]) => void;
  /** Servers local mode runs for Services that are no ClusterDNS (`namespace/name` → `IP:port`), such as its kube-dns. */
  readonly baselines?: Readonly<Record<string, string>>;
  /** Where the health addresses of the shadowing resolvers are written for the operator (--analysis-targets). */
  readonly analysisTargetsFile?: string;
}

interface Running {
  instance: LocalInstance;
  /** The configuration it runs with, shadow included (without the loopback addresses). */
  config: string;
  process: ManagedProcess;
  ports: { dns: number; health: number; ready: number; metrics: number };
  ready: boolean;
}

const ADDRESS = '127.0.0.1';

export class LocalResolvers {
  private readonly options: LocalResolversOptions;
  private readonly running = new Map<string, Running>();
  /** Ports stay with an instance across restarts, so a printed `dig` line keeps working. */
  private readonly ports = new Map<string, Running['ports']>();
  private desired = new Map<string, LocalInstance>();
  /** Changes are applied one at a time, in order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: LocalResolversOptions) {
    this.options = options;
  }

  /** Follows ClusterDNS objects until `signal` aborts, then stops every resolver. */
  async run(signal: AbortSignal): Promise<void> {
    const watcher = new Watcher<LocalInstance | undefined>({
      client: this.options.client,
      resource: { path: CLUSTERDNS_PATH },
      shrink: localInstance,
      onEvent: (event) => { this.onEvent(event); },
      onError: (error) => { this.options.log(`watching ClusterDNS: ${error.message}`); },
    });
    await watcher.run(signal);
    await this.queue;
    await Promise.all([...this.running.values()].map((r) => stopResolver(r)));
    this.running.clear();
  }

  served(): ServedInstance[] {
    return [...this.running.values()]
      .map(({ instance, ports, ready }) => ({ ...instance, address: ADDRESS, port: ports.dns, ready }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private onEvent(event: WatchEvent<LocalInstance | undefined>): void {
    if (event.type === 'restarted') {
      this.desired = new Map(event.objects.flatMap((i) => (i ? [[i.name, i] as const] : [])));
    } else if (event.object) {
      if (event.type === 'applied') this.desired.set(event.object.name, event.object);
      else this.desired.delete(event.object.name);
    }
    this.queue = this.queue.then(() => this.converge()).catch((error: unknown) => {
      this.options.log(`local resolvers: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /**
   * Starts, restarts and stops processes until the running set matches the desired one. A
   * second pass restarts a resolver whose baseline came up in the first.
   */
  private async converge(): Promise<void> {
    await this.pass();
    if ([...this.running.values()].some((r) => this.desired.has(r.instance.name) && this.configOf(r.instance) !== r.config)) await this.pass();
    this.writeAnalysisTargets();
    this.options.onChange(this.served());
  }

  private async pass(): Promise<void> {
    for (const [name, running] of this.running) {
      const wanted = this.desired.get(name);
      if (!wanted || this.configOf(wanted) !== running.config) {
        await stopResolver(running);
        this.running.delete(name);
        if (!wanted) this.ports.delete(name);
        this.options.log(wanted ? `${name}: configuration changed, restarting its resolver` : `${name}: deleted, resolver stopped`);
      } else if (wanted.clusterIP !== running.instance.clusterIP || wanted.version !== running.instance.version) {
        running.instance = wanted;
      }
    }
    for (const [name, instance] of this.desired) {
      if (!this.running.has(name)) await this.startResolver(instance);
    }
  }

  /**
   * The configuration of an instance's resolver: the operator's, with its shadow pointed at
   * the loopback server of its baseline, while local mode runs one.
   */
  private configOf(instance: LocalInstance): string {
    const baseline = instance.shadow ? this.loopbackOf(instance.shadow.baseline) : undefined;
    const shadow = shadowConfigFor(instance.shadow, baseline);
    return shadow ? JSON.stringify({ ...JSON.parse(instance.config) as object, shadow }) : instance.config;
  }

  /** The loopback server that answers for the Service `ref`: a fixed one, or a ClusterDNS's resolver. */
  private loopbackOf(ref: string): string | undefined {
    const fixed = this.options.baselines?.[ref];
    if (fixed) return fixed;
    const [namespace, name = ''] = ref.split('/');
    const running = namespace === DEFAULT_NAMESPACE ? this.running.get(name) : undefined;
    return running?.ready ? `${ADDRESS}:${running.ports.dns}` : undefined;
  }

  /** `{"instances": {NAME: ["127.0.0.1:HEALTH"]}}` for each resolver that shadows, replaced atomically. */
  private writeAnalysisTargets(): void {
    const file = this.options.analysisTargetsFile;
    if (!file) return;
    const instances = Object.fromEntries([...this.running]
      .filter(([, r]) => (JSON.parse(r.config) as { shadow?: unknown }).shadow !== undefined)
      .map(([name, r]) => [name, [`${ADDRESS}:${r.ports.health}`]]));
    writeFileSync(`${file}.tmp`, JSON.stringify({ instances }));
    renameSync(`${file}.tmp`, file);
  }

  private async startResolver(instance: LocalInstance): Promise<void> {
    const ports = this.ports.get(instance.name) ?? { dns: await freePort(), health: await freePort(), ready: await freePort(), metrics: await freePort() };
    this.ports.set(instance.name, ports);
    const effective = this.configOf(instance);
    const config = { ...JSON.parse(effective) as object, listenAddress: ADDRESS, port: ports.dns, healthPort: ports.health, readyPort: ports.ready, metricsPort: ports.metrics };
    const configFile = join(this.options.dir, `resolver-${instance.name}.json`);
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const name = `resolver-${instance.name}`;
    const { command, args } = clusterdnsCommand('resolver', ['--config', configFile, '--kubeconfig', this.options.kubeconfigPath]);
    const process_ = this.options.startProcess(name, command, args);
    const running: Running = { instance, config: effective, process: process_, ports, ready: false };
    this.running.set(instance.name, running);
    try {
      await waitFor(`resolver for ${instance.name}`, async () => (await httpRequest({ url: `http://${ADDRESS}:${ports.ready}/ready` })).status === 200,
        60_000, () => (process_.hasExited ? process_.exitDescription : undefined));
      running.ready = true;
      this.options.log(`${instance.name}: resolver ready on ${ADDRESS}:${ports.dns}`);
    } catch (error) {
      this.options.log(`${instance.name}: ${error instanceof Error ? error.message : String(error)} (log: ${this.options.logFile(name)})`);
    }
  }
}

/** SIGTERM, then SIGKILL only once the resolver's lameduck (during which it still answers) is over. */
function stopResolver(running: Running): Promise<void> {
  const { lameduckSeconds = 0 } = JSON.parse(running.instance.config) as { lameduckSeconds?: number };
  return running.process.stop(lameduckSeconds * 1000 + 5000);
}
