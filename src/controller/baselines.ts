/**
 * Watches of the baselines the ClusterDNS objects name: for each distinct
 * `spec.baseline.service`, one watch of that Service (by name) and one of its EndpointSlices
 * (by the `kubernetes.io/service-name` label), in its namespace. A watch starts when the first
 * ClusterDNS names the Service and stops when the last one no longer does, so the operator
 * never watches more than the few Services it mirrors.
 */
import { DEFAULT_BASELINE, DNS1035_LABEL, DNS1123_LABEL } from '../api/clusterdns.ts';
import { Backoff } from '../kube/backoff.ts';
import type { BackoffPolicy } from '../kube/backoff.ts';
import type { KubeClient } from '../kube/client.ts';
import type { RawObject } from '../kube/watcher.ts';
import { Informer } from './informer.ts';
import type { BaselineService } from './routing.ts';
import { SERVICE_NAME_LABEL, shrinkSlice } from './slices.ts';
import type { SliceState } from './slices.ts';

/** `<namespace>/<name>` of a baseline Service. */
export type BaselineRef = string;

/** The baseline a raw ClusterDNS names (defaults applied), or undefined when it names none that could exist. */
export function baselineRefOf(spec: unknown): BaselineRef | undefined {
  const service = (spec as { baseline?: { service?: { namespace?: unknown; name?: unknown } } } | undefined)?.baseline?.service;
  const namespace = service?.namespace ?? DEFAULT_BASELINE.namespace;
  const name = service?.name ?? DEFAULT_BASELINE.name;
  if (typeof namespace !== 'string' || typeof name !== 'string' || !DNS1123_LABEL.test(namespace) || !DNS1035_LABEL.test(name)) return undefined;
  return `${namespace}/${name}`;
}

export interface BaselineSnapshot {
  readonly synced: boolean;
  readonly service: BaselineService | undefined;
  readonly slices: readonly SliceState[];
}

export interface BaselineWatchOptions {
  readonly client: KubeClient;
  /** Told which ClusterDNS objects a change of a baseline concerns. */
  readonly onChange: (users: readonly string[]) => void;
  readonly onError: (what: string) => (error: Error) => void;
  readonly backoff: BackoffPolicy;
}

interface Watch {
  readonly service: Informer<BaselineService>;
  readonly slices: Informer<SliceState>;
  readonly stop: AbortController;
  readonly done: Promise<unknown>;
  readonly users: Set<string>;
}

export function shrinkBaselineService(raw: RawObject): BaselineService {
  const ports = (((raw['spec'] as { ports?: unknown[] } | undefined)?.ports ?? []) as Array<{ name?: string; port?: number; protocol?: string }>)
    .map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP' }));
  const clusterIP = (raw['spec'] as { clusterIP?: unknown } | undefined)?.clusterIP;
  return { namespace: raw.metadata?.namespace ?? '', name: raw.metadata?.name ?? '', ports, ...(typeof clusterIP === 'string' ? { clusterIP } : {}) };
}

export class BaselineWatches {
  private readonly options: BaselineWatchOptions;
  private readonly watches = new Map<BaselineRef, Watch>();
  private readonly used = new Map<string, BaselineRef>();
  private signal: AbortSignal | undefined;

  constructor(options: BaselineWatchOptions) {
    this.options = options;
  }

  /** Watches start under `signal` and all stop when it aborts. Call before `use`. */
  start(signal: AbortSignal): void {
    this.signal = signal;
  }

  /** Records that `user` (a ClusterDNS) names `ref` (undefined: none, or it is gone). */
  use(user: string, ref: BaselineRef | undefined): void {
    const before = this.used.get(user);
    if (before === ref) return;
    if (before !== undefined) {
      const watch = this.watches.get(before);
      watch?.users.delete(user);
      if (watch?.users.size === 0) {
        watch.stop.abort();
        this.watches.delete(before);
      }
    }
    if (ref === undefined) {
      this.used.delete(user);
      return;
    }
    this.used.set(user, ref);
    const existing = this.watches.get(ref);
    if (existing) existing.users.add(user);
    else this.watches.set(ref, this.watch(ref, user));
  }

  snapshot(ref: BaselineRef): BaselineSnapshot {
    const watch = this.watches.get(ref);
    if (!watch) return { synced: false, service: undefined, slices: [] };
    const [namespace = '', name = ''] = ref.split('/');
    return {
      synced: watch.service.store.synced && watch.slices.store.synced,
      service: watch.service.store.get(`${namespace}/${name}`),
      slices: watch.slices.store.list(),
    };
  }

  /** Resolves once every current watch has listed (or `signal` aborted). */
  async synced(): Promise<void> {
    await Promise.all([...this.watches.values()].flatMap((w) => [w.service.store.waitForSync(), w.slices.store.waitForSync()]));
  }

  /** Resolves once every watch has stopped. */
  async stopped(): Promise<void> {
    await Promise.all([...this.watches.values()].map((w) => w.done));
  }

  private watch(ref: BaselineRef, firstUser: string): Watch {
    const [namespace = '', name = ''] = ref.split('/');
    const { client, onError, backoff } = this.options;
    const users = new Set([firstUser]);
    const notify = (): void => { this.options.onChange([...users]); };
    const service = new Informer<BaselineService>({
      client,
      resource: { path: `/api/v1/namespaces/${namespace}/services`, fieldSelector: `metadata.name=${name}` },
      shrink: shrinkBaselineService,
      keyOf: (s) => `${s.namespace}/${s.name}`,
      versionOf: (s) => JSON.stringify(s),
      onChange: notify,
      onError: onError(`baseline Service ${ref}`),
      backoff: new Backoff(backoff),
    });
    const slices = new Informer<SliceState>({
      client,
      resource: { path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`, labelSelector: `${SERVICE_NAME_LABEL}=${name}` },
      shrink: shrinkSlice,
      keyOf: (s) => s.name,
      versionOf: (s) => JSON.stringify(s),
      onChange: notify,
      onError: onError(`EndpointSlices of baseline ${ref}`),
      backoff: new Backoff(backoff),
    });
    const stop = new AbortController();
    const outer = this.signal;
    const onAbort = (): void => { stop.abort(); };
    outer?.addEventListener('abort', onAbort, { once: true });
    const done = Promise.all([service.run(stop.signal), slices.run(stop.signal)]).finally(() => { outer?.removeEventListener('abort', onAbort); });
    // A baseline that does not exist lists empty, which no change reports: say it once listed.
    void Promise.all([service.store.waitForSync(), slices.store.waitForSync()]).then(notify);
    return { service, slices, stop, done, users };
  }
}
