/**
 * `reconcile(name)`: level-triggered. It reads the ClusterDNS and its children from the
 * caches (never from the event that woke it), renders the desired children, applies those
 * that may differ, deletes those no longer wanted, and writes status only when it changed.
 *
 * It throws to be retried with backoff (the apiserver refused or could not be reached), or
 * a TerminalError when retrying cannot help (the spec is invalid: the next edit wakes it).
 */
import { clusterDNSStatusSchema, parseClusterDNS } from '../api/clusterdns.ts';
import type { ClusterDNS, ClusterDNSStatus } from '../api/clusterdns.ts';
import { API_VERSION, CLUSTERDNS_PATH, FIELD_MANAGER, KIND } from '../api/names.ts';
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Store } from '../kube/store.ts';
import { apiserverMessage, isRefusal, isUpToDate } from './apply.ts';
import type { AppliedRecord, Applier } from './apply.ts';
import { scaledCondition } from './autoscaling.ts';
import { CHILD_KIND_ORDER, childKey } from './children.ts';
import type { Child, ChildKind } from './children.ts';
import type { Clock } from './clock.ts';
import type { EventRecorder, EventSubject } from './events.ts';
import { TerminalError } from './handlers.ts';
import { hash, render } from './render.ts';
import type { Manifest, RenderConfig } from './render.ts';
import type { ReplicaPlan, ReplicaPlanner } from './replicas.ts';
import { computeStatus, sameStatus, statusEvents } from './status.ts';
import type { ApplyFailure, StatusInput } from './status.ts';

/** A ClusterDNS as the cache keeps it: the apiserver's JSON without managedFields. */
export interface CachedClusterDNS {
  readonly metadata: {
    readonly name: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly deletionTimestamp?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
    readonly creationTimestamp?: string;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

export interface ReconcilerOptions {
  readonly client: KubeClient;
  readonly applier: Applier;
  readonly recorder: EventRecorder;
  readonly clusterDNS: Store<CachedClusterDNS>;
  readonly children: Readonly<Record<ChildKind, Store<Child>>>;
  readonly config: RenderConfig;
  /** Decides the replicas (spec.replicas, or spec.autoscaling's figure). */
  readonly planner: ReplicaPlanner;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counts status writes. */
  readonly onStatusWrite?: () => void;
}

/** A reconcile that applied everything but must be retried (some child was refused or the apiserver failed). */
export class ReconcileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ReconcileError';
  }
}

/** What reconcile saw of the children, for the status. */
type Observations = Omit<StatusInput, 'name' | 'namespace' | 'generation'>;

export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export class Reconciler {
  private readonly options: ReconcilerOptions;
  /** What was last applied per child key (see apply.ts). */
  private readonly applied = new Map<string, AppliedRecord>();

  constructor(options: ReconcilerOptions) {
    this.options = options;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const cached = this.options.clusterDNS.get(name);
    if (!cached) {
      // Deleted (or filtered out): the garbage collector removes the children by their owner references.
      this.forgetOwner(name);
      return {};
    }
    if (cached.metadata.deletionTimestamp) return {};
    const parsed = parseClusterDNS({ apiVersion: API_VERSION, kind: KIND, ...cached });
    if (!parsed.ok) {
      await this.writeStatus(cached, { invalidSpec: parsed.error, failures: [] });
      throw new TerminalError(`ClusterDNS ${name} has an invalid spec: ${parsed.error}`);
    }
    const cr = parsed.value;
    const failures: ApplyFailure[] = [];
    const observed = new Map<ChildKind, Child>();
    const plan = this.options.planner.plan(cr, this.cachedChild('Deployment', name)?.deployment?.wantedReplicas);
    const desired = render(cr, this.options.config, plan.replicas);
    const applyOne = async (manifest: Manifest): Promise<void> => {
      try {
        observed.set(manifest.kind, await this.ensure(manifest, cached));
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const message = apiserverMessage(error);
        failures.push({
          kind: manifest.kind, name: manifest.metadata.name, message,
          reason: manifest.kind === 'Service' && /clusterIP/i.test(message) ? 'ClusterIPUnavailable' : 'ApplyFailed',
        });
      }
    };
    // The config first, so that new pods find it; the other children do not depend on each other.
    for (const manifest of desired.filter((m) => m.kind === 'ConfigMap')) await applyOne(manifest);
    await Promise.all(desired.filter((m) => m.kind !== 'ConfigMap').map(applyOne));
    await this.prune(cr, cached, new Set(desired.map((m) => m.kind)));
    if (!failures.some((f) => f.kind === 'Deployment')) this.reportRescale(cached, plan);
    const service = observed.get('Service') ?? this.cachedChild('Service', name);
    const deployment = (observed.get('Deployment') ?? this.cachedChild('Deployment', name))?.deployment;
    await this.writeStatus(cached, {
      wantedReplicas: plan.replicas,
      ...(plan.scaling ? { scaling: plan.scaling } : {}),
      failures,
      ...(service?.clusterIP === undefined ? {} : { serviceClusterIP: service.clusterIP }),
      ...(deployment ? { deployment } : {}),
    });
    if (failures.length > 0) {
      throw new ReconcileError(`ClusterDNS ${name}: ${failures.map((f) => `${f.kind} refused: ${f.message}`).join('; ')}`);
    }
    return plan.requeueAfterMs === undefined ? {} : { requeueAfterMs: plan.requeueAfterMs };
  }

  /** A Rescaled event (and a log line) when autoscaling moved the replicas, as kube-dns-autoscaler logs it. */
  private reportRescale(owner: CachedClusterDNS, plan: ReplicaPlan): void {
    const { previousReplicas: from, replicas: to, scaling } = plan;
    if (!scaling || from === undefined || from === to) return;
    this.options.log.info({ clusterDNS: owner.metadata.name, from, to }, 'rescaled');
    this.event(owner, 'Normal', 'Rescaled', `from ${from} to ${to} replicas: ${scaledCondition(scaling).message}`);
  }

  private cachedChild(kind: ChildKind, name: string): Child | undefined {
    return this.options.children[kind].get(childKey(kind, this.options.config.namespace, name));
  }

  /** Applies `manifest` unless the cached child is known to match it; returns the child as it now is. */
  private async ensure(manifest: Manifest, owner: CachedClusterDNS): Promise<Child> {
    const { applier, config } = this.options;
    const key = childKey(manifest.kind, config.namespace, manifest.metadata.name);
    const live = this.cachedChild(manifest.kind, manifest.metadata.name);
    const desiredHash = hash(JSON.stringify(manifest));
    const record = this.applied.get(key);
    if (live && isUpToDate(record, desiredHash, live, manifest)) return live;
    if (live && mustRecreate(manifest, live)) {
      await applier.delete(live.kind, live.namespace, live.name, live.uid);
      this.event(owner, 'Normal', 'Recreated', `deleted Service ${live.namespace}/${live.name} to move it from ${live.clusterIP ?? ''} to the requested clusterIP`);
    }
    const result = await applier.apply(manifest);
    this.applied.set(key, {
      hash: desiredHash, uid: result.uid, resourceVersion: result.resourceVersion,
      ...(result.generation === undefined ? {} : { generation: result.generation }),
    });
    const what = `${manifest.kind} ${result.namespace}/${result.name}`;
    if (!live) {
      this.event(owner, 'Normal', record ? 'Restored' : 'Created', record ? `put back ${what}, which had been deleted or had lost its labels` : `created ${what}`);
    } else if (changed(live, result)) {
      const byHand = record?.hash === desiredHash;
      this.event(owner, 'Normal', byHand ? 'Restored' : 'Updated', byHand ? `put back ${what}, which had been changed` : `updated ${what}`);
    }
    return result;
  }

  /** Deletes children of `cr` whose kind it no longer wants (a PodDisruptionBudget after scaling to one replica). */
  private async prune(cr: ClusterDNS, owner: CachedClusterDNS, wanted: ReadonlySet<ChildKind>): Promise<void> {
    for (const kind of CHILD_KIND_ORDER) {
      if (wanted.has(kind)) continue;
      const stale = this.cachedChild(kind, cr.metadata.name);
      if (!stale?.owners.includes(cr.metadata.name)) continue;
      await this.options.applier.delete(kind, stale.namespace, stale.name, stale.uid);
      this.applied.delete(childKey(kind, stale.namespace, stale.name));
      this.event(owner, 'Normal', 'Deleted', `deleted ${kind} ${stale.namespace}/${stale.name}, which the wanted replicas no longer need`);
    }
  }

  private async writeStatus(cached: CachedClusterDNS, observed: Observations): Promise<void> {
    const { client, clock, config, onStatusWrite } = this.options;
    const name = cached.metadata.name;
    const previous = storedStatus(cached.status);
    const fallback = observed.invalidSpec === undefined ? {} : this.cachedObservations(name);
    const status = computeStatus(
      { name, namespace: config.namespace, generation: cached.metadata.generation ?? 0, ...fallback, ...observed },
      previous, new Date(clock.now()),
    );
    if (sameStatus(status, previous)) return;
    onStatusWrite?.();
    try {
      await client.request('PATCH', `${CLUSTERDNS_PATH}/${name}/status`, {
        body: JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, status }),
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: true },
      });
    } catch (error) {
      // Deleted meanwhile: nothing to report on.
      if (error instanceof KubeApiError && error.status === 404) return;
      throw error;
    }
    for (const event of statusEvents(previous, status)) this.event(cached, event.type, event.reason, event.message);
  }

  /** What the caches say about the children, for a ClusterDNS whose spec cannot be rendered. */
  private cachedObservations(name: string): Partial<Observations> {
    const clusterIP = this.cachedChild('Service', name)?.clusterIP;
    const deployment = this.cachedChild('Deployment', name)?.deployment;
    return { ...(clusterIP === undefined ? {} : { serviceClusterIP: clusterIP }), ...(deployment ? { deployment } : {}) };
  }

  private event(owner: CachedClusterDNS, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const subject: EventSubject = { apiVersion: API_VERSION, kind: KIND, name: owner.metadata.name, uid: owner.metadata.uid ?? '' };
    this.options.recorder.record(subject, type, reason, message);
  }

  private forgetOwner(name: string): void {
    this.options.planner.forget(name);
    for (const kind of CHILD_KIND_ORDER) this.applied.delete(childKey(kind, this.options.config.namespace, name));
  }
}

/** A Service's clusterIP cannot change in place: one allocated earlier must make way for the requested one. */
function mustRecreate(manifest: Manifest, live: Child): boolean {
  const wanted = (manifest['spec'] as { clusterIP?: string } | undefined)?.clusterIP;
  return manifest.kind === 'Service' && wanted !== undefined && Boolean(live.clusterIP) && live.clusterIP !== wanted;
}

/** Whether an apply changed the object: its generation where it has one (others write its status), else its version. */
function changed(before: Child, after: Child): boolean {
  return before.generation !== undefined ? before.generation !== after.generation : before.resourceVersion !== after.resourceVersion;
}

function storedStatus(raw: unknown): ClusterDNSStatus | undefined {
  if (raw === undefined) return undefined;
  const parsed = clusterDNSStatusSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
