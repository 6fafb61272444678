/**
 * Local mode's stand-in for the resolver pods: one real `clusterdns resolver` process per
 * ClusterDNS, on loopback, with the configuration the operator renders for the instance's
 * Deployment (only the listen address and ports differ). Processes follow the ClusterDNS
 * objects: started when one appears, restarted when its configuration changes, stopped when
 * it is deleted.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterDNS } from '../api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../api/names.ts';
import { resolverConfigFor } from '../api/resolver-config.ts';
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
  /** The resolver configuration without the loopback listen address and ports. */
  readonly config: string;
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
  return {
    name: metadata.name,
    version: status?.version ?? spec.version,
    clusterIP: status?.clusterIP ?? spec.clusterIP ?? '',
    clusterDomain: spec.clusterDomain,
    config: JSON.stringify(resolverConfigFor(spec)),
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
}

interface Running {
  instance: LocalInstance;
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

  /** Starts, restarts and stops processes until the running set matches the desired one. */
  private async converge(): Promise<void> {
    for (const [name, running] of this.running) {
      const wanted = this.desired.get(name);
      if (!wanted || wanted.config !== running.instance.config) {
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
    this.options.onChange(this.served());
  }

  private async startResolver(instance: LocalInstance): Promise<void> {
    const ports = this.ports.get(instance.name) ?? { dns: await freePort(), health: await freePort(), ready: await freePort(), metrics: await freePort() };
    this.ports.set(instance.name, ports);
    const config = { ...JSON.parse(instance.config) as object, listenAddress: ADDRESS, port: ports.dns, healthPort: ports.health, readyPort: ports.ready, metricsPort: ports.metrics };
    const configFile = join(this.options.dir, `resolver-${instance.name}.json`);
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const name = `resolver-${instance.name}`;
    const { command, args } = clusterdnsCommand('resolver', ['--config', configFile, '--kubeconfig', this.options.kubeconfigPath]);
    const process_ = this.options.startProcess(name, command, args);
    const running: Running = { instance, process: process_, ports, ready: false };
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
