/**
 * `reconcile(name)`: level-triggered. It reads the ClusterDNS and its children from the
 * caches (never from the event that woke it), renders the desired children, decides who
 * answers at the clusterIP (routing.ts), applies those children that may differ in the order
 * routing needs, deletes those no longer wanted, and writes status only when it changed.
 *
 * A ClusterDNS carries the finalizer clusterdns.io/drain (drain.ts): once deleted, it is
 * routed to its baseline and kept, children and all, until no injected pod is left.
 *
 * It throws to be retried with backoff (the apiserver refused or could not be reached), or
 * a TerminalError when retrying cannot help (the spec is invalid: the next edit wakes it).
 */
import { clusterDNSStatusSchema, parseClusterDNS } from '../api/clusterdns.ts';
import type { ClusterDNS, ClusterDNSStatus, Engine, Serving } from '../api/clusterdns.ts';
import { API_VERSION, CLUSTERDNS_PATH, FIELD_MANAGER, KIND } from '../api/names.ts';
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Store } from '../kube/store.ts';
import type { RawObject } from '../kube/watcher.ts';
import { apiserverMessage, isRefusal, isUpToDate } from './apply.ts';
import type { AppliedRecord, Applier, WriteObserver } from './apply.ts';
import { analyse, shadowTarget } from './analysis-step.ts';
import type { AnalysisTracker } from './analysis-step.ts';
import type { Judgement } from './analysis.ts';
import { scaledCondition } from './autoscaling.ts';
import type { BaselineSnapshot } from './baselines.ts';
import { CHILD_KIND_ORDER, childKey } from './children.ts';
import type { Child, ChildKind } from './children.ts';
import type { Clock } from './clock.ts';
import { engineRefusal } from './engines.ts';
import { addDrainFinalizer, drainState, hasDrainFinalizer, removeDrainFinalizer } from './drain.ts';
import type { EventRecorder, EventSubject } from './events.ts';
import { OwnWrites } from './own-writes.ts';
import { TerminalError } from './handlers.ts';
import { podResources } from './memory-sizing.ts';
import type { ClusterContents } from './memory-sizing.ts';
import { dependentPods } from './pods.ts';
import type { InjectedPod, ResolverPod } from './pods.ts';
import { hash, render } from './render.ts';
import type { Manifest, RenderConfig } from './render.ts';
import type { ReplicaPlan, ReplicaPlanner } from './replicas.ts';
import { Router } from './router.ts';
import type { RoutePlan } from './router.ts';
import { operatorSliceName } from './slices.ts';
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
    readonly finalizers?: readonly string[];
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
  /** The instances' resolver pods (operator namespace) and the injected pods (every namespace). */
  readonly resolverPods: Store<ResolverPod>;
  readonly injectedPods: Store<InjectedPod>;
  /** The baselines the ClusterDNS objects name. */
  readonly baselines: { snapshot(ref: string): BaselineSnapshot };
  readonly config: RenderConfig;
  /** Decides the replicas (spec.replicas, or spec.autoscaling's figure). */
  readonly planner: ReplicaPlanner;
  /** What the cluster holds, as last counted (cluster-count.ts): sizes the pods without spec.resources. */
  readonly clusterContents?: () => ClusterContents | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** Counts status writes. */
  readonly onStatusWrite?: () => void;
  /** Counts the other writes to ClusterDNS objects (their finalizer). */
  readonly onWrite?: WriteObserver;
  /** Tracks spec.analysis (the collector, leader only); without it, analysis is never judged. */
  readonly analysis?: AnalysisTracker;
  /** Told when status.serving changes: who answers at the clusterIP switched. */
  readonly onServingSwitch?: (name: string, from: Serving | 'Unknown', to: Serving) => void;
}

/** Keeps a ClusterDNS without its managedFields (the largest part, and never read). */
export function shrinkClusterDNS(raw: RawObject): CachedClusterDNS {
  const { managedFields: _managed, ...metadata } = (raw.metadata ?? {}) as CachedClusterDNS['metadata'] & { managedFields?: unknown };
  return { metadata, spec: raw['spec'], status: raw['status'] };
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
  /** The ClusterDNS objects as our own writes left them, until the cache shows it (own-writes.ts). */
  private readonly ownWrites = new OwnWrites<CachedClusterDNS>();
  private readonly router: Router;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.router = new Router(options);
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const inCache = this.options.clusterDNS.get(name);
    if (!inCache) {
      // Deleted (or filtered out): the garbage collector removes the children by their owner references.
      this.forgetOwner(name);
      return {};
    }
    const cached = this.ownWrites.freshest(inCache);
    const deleting = cached.metadata.deletionTimestamp !== undefined;
    if (deleting && !hasDrainFinalizer(finalizerTarget(cached))) return {};
    const dependents = dependentPods(this.options.injectedPods.list(), name);
    const parsed = parseClusterDNS({ apiVersion: API_VERSION, kind: KIND, ...cached });
    if (parsed.ok) return this.reconcileValid(cached, parsed.value, deleting, dependents);
    if (deleting && dependents.length === 0) return this.finishDrain(cached, 'no injected pod is left');
    await this.writeStatus(cached, { invalidSpec: parsed.error, failures: [], injectedPods: dependents.length, ...(deleting ? { drain: drainState(dependents) } : {}) });
    if (deleting) return {};
    throw new TerminalError(`ClusterDNS ${name} has an invalid spec: ${parsed.error}`);
  }

  private async reconcileValid(cached: CachedClusterDNS, cr: ClusterDNS, deleting: boolean, dependents: readonly InjectedPod[]): Promise<ReconcileResult> {
    const name = cr.metadata.name;
    if (deleting && (cr.spec.drain === 'Immediate' || dependents.length === 0)) {
      return this.finishDrain(cached, cr.spec.drain === 'Immediate' ? 'spec.drain is Immediate' : 'no injected pod is left');
    }
    const finalizer = finalizerTarget(cached);
    let current = cached;
    if (!deleting && !hasDrainFinalizer(finalizer)) {
      this.options.onWrite?.('patch', 'ClusterDNS');
      current = this.kept(cached, await addDrainFinalizer(this.options.client, finalizer));
    }
    await this.refuseUnrunnableVersion(current, cr, deleting, dependents);
    const planned = this.renderAndAnalyse(cr, current);
    // Until the baseline has listed, the resolvers' shadow address is not known: change nothing (its listing wakes this again).
    if (!planned) return { requeueAfterMs: BASELINE_WAIT_MS };
    const { replicas, rendered, analysis } = planned;
    const routing = this.router.plan(cr, rendered, deleting, dependents, fellBack(current), analysis?.rollback);
    const { observed, failures } = await this.applyAll(cr, current, rendered, routing, dependents);
    if (!failures.some((f) => f.kind === 'Deployment')) this.reportRescale(current, replicas);
    const service = observed.get(childKey('Service', this.options.config.namespace, name)) ?? this.cachedChild('Service', name);
    const deployment = (observed.get(childKey('Deployment', this.options.config.namespace, name)) ?? this.cachedChild('Deployment', name))?.deployment;
    await this.writeStatus(current, {
      wantedReplicas: replicas.replicas,
      ...(replicas.scaling ? { scaling: replicas.scaling } : {}),
      failures,
      ...(service?.clusterIP === undefined ? {} : { serviceClusterIP: service.clusterIP }),
      ...(deployment ? { deployment } : {}),
      ...routingObservations(routing, dependents, deleting, analysis),
    });
    if (failures.length > 0) {
      throw new ReconcileError(`ClusterDNS ${name}: ${failures.map((f) => `${f.kind} refused: ${f.message}`).join('; ')}`);
    }
    return soonest(replicas.requeueAfterMs, routing.recheckAfterMs);
  }

  /**
   * Throws a TerminalError, after saying why in the status, when the engine cannot run
   * spec.version (a CoreDNS release the operator does not run). Nothing is applied then, as
   * for an invalid spec, so the pods that run (an earlier version) keep answering. A deleted
   * ClusterDNS still drains, whatever its version.
   */
  private async refuseUnrunnableVersion(owner: CachedClusterDNS, cr: ClusterDNS, deleting: boolean, dependents: readonly InjectedPod[]): Promise<void> {
    const refusal = deleting ? undefined : engineRefusal(cr);
    if (!refusal) return;
    await this.writeStatus(owner, { invalidSpec: refusal.message, invalidReason: refusal.reason, failures: [], injectedPods: dependents.length });
    throw new TerminalError(`ClusterDNS ${cr.metadata.name}: ${refusal.message}`);
  }

  /**
   * Applies the children in the order routing needs: the config first, so that new pods find
   * it; the routing slices' first step before the Services change their selectors (routing.ts);
   * the other children together (they do not depend on each other); then the rest of the
   * routing steps, and the pruning of children no longer wanted. Refusals are collected.
   */
  private async applyAll(
    cr: ClusterDNS, owner: CachedClusterDNS, rendered: readonly Manifest[], route: RoutePlan, dependents: readonly InjectedPod[],
  ): Promise<{ observed: Map<string, Child>; failures: ApplyFailure[] }> {
    const failures: ApplyFailure[] = [];
    const observed = new Map<string, Child>();
    const desired = this.router.desired(cr, rendered, route);
    // A Service that must move to the requested clusterIP leaves its old one to a retired Service while pods use it.
    const retire = async (live: Child): Promise<string | undefined> => {
      const users = dependents.filter((p) => p.nameserver === live.clusterIP).length;
      const retired = live.clusterIP && users > 0 ? this.router.retiredFor(rendered, route, cr, live.clusterIP) : undefined;
      if (!retired) return undefined;
      await applyOne(retired);
      return `${live.clusterIP ?? ''} stays with Service ${retired.metadata.namespace}/${retired.metadata.name} while the ${users} pod${users === 1 ? '' : 's'} injected with it remain`;
    };
    const applyOne = async (manifest: Manifest): Promise<void> => {
      try {
        observed.set(childKey(manifest.kind, manifest.metadata.namespace, manifest.metadata.name), await this.ensure(manifest, owner, retire));
      } catch (error) {
        if (!isRefusal(error)) throw error;
        const message = apiserverMessage(error);
        failures.push({
          kind: manifest.kind, name: manifest.metadata.name, message,
          reason: manifest.kind === 'Service' && /clusterIP/i.test(message) ? 'ClusterIPUnavailable' : 'ApplyFailed',
        });
      }
    };
    for (const manifest of desired.filter((m) => m.kind === 'ConfigMap')) await applyOne(manifest);
    await this.router.before(cr, route, applyOne);
    await Promise.all(desired.filter((m) => m.kind !== 'ConfigMap').map(applyOne));
    if (!failures.some((f) => f.kind === 'Service' || f.kind === 'EndpointSlice')) {
      await this.router.after(cr, route, applyOne, this.options.applier, (key) => { this.applied.delete(key); });
    }
    await this.prune(cr, owner, new Set(desired.map((m) => m.kind)));
    return { observed, failures };
  }

  /** The replicas, the children and, with spec.analysis, its judgement; undefined while the shadow address is unknown. */
  private renderAndAnalyse(cr: ClusterDNS, current: CachedClusterDNS): { replicas: ReplicaPlan; rendered: Manifest[]; analysis: Judgement | undefined } | undefined {
    const { namespace, name: baseline } = cr.spec.baseline.service;
    const shadow = shadowTarget(cr, this.options.baselines.snapshot(`${namespace}/${baseline}`), `${this.options.config.namespace}/${cr.metadata.name}`, (ref) => this.engineOfService(ref));
    if (cr.spec.analysis && shadow.kind === 'unknown') return undefined;
    const replicas = this.options.planner.plan(cr, this.cachedChild('Deployment', cr.metadata.name)?.deployment?.wantedReplicas);
    const resources = podResources(cr.spec, this.options.clusterContents?.(), this.cachedChild('Deployment', cr.metadata.name)?.deployment?.resources);
    const rendered = render(cr, this.options.config, replicas.replicas, shadow.kind === 'address' ? shadow : undefined, resources);
    const analysis = this.options.analysis
      ? analyse(this.options.analysis, cr, rendered, shadow, storedStatus(current.status)?.analysis, new Date(this.options.clock.now()))
      : undefined;
    return { replicas, rendered, analysis };
  }

  /** The engine of the ClusterDNS instance whose Service `ref` (`<namespace>/<name>`) is; undefined for any other Service. */
  private engineOfService(ref: string): Engine | undefined {
    const [namespace, name = ''] = ref.split('/');
    if (namespace !== this.options.config.namespace) return undefined;
    const instance = this.options.clusterDNS.get(name);
    if (!instance) return undefined;
    return (instance.spec as { engine?: unknown } | undefined)?.engine === 'coredns' ? 'coredns' : 'clusterdns';
  }

  /** Lets a deleted ClusterDNS go: the garbage collector then removes its children. */
  private async finishDrain(cached: CachedClusterDNS, why: string): Promise<ReconcileResult> {
    this.options.onWrite?.('patch', 'ClusterDNS');
    this.kept(cached, await removeDrainFinalizer(this.options.client, finalizerTarget(cached)));
    this.event(cached, 'Normal', 'Drained', `${why}: removed the finalizer clusterdns.io/drain; the Service and the other children go with the ClusterDNS`);
    return {};
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

  /**
   * Applies `manifest` unless the cached child is known to match it; returns the child as it
   * now is. The routing slice changes at every switch, which the Serving event reports, so it
   * gets no events of its own.
   */
  private async ensure(manifest: Manifest, owner: CachedClusterDNS, retire?: (live: Child) => Promise<string | undefined>): Promise<Child> {
    const { applier, config } = this.options;
    const key = childKey(manifest.kind, config.namespace, manifest.metadata.name);
    const live = this.cachedChild(manifest.kind, manifest.metadata.name);
    const desiredHash = hash(JSON.stringify(manifest));
    const record = this.applied.get(key);
    if (live && isUpToDate(record, desiredHash, live, manifest)) return live;
    if (live && mustRecreate(manifest, live)) {
      await applier.delete(live.kind, live.namespace, live.name, live.uid);
      const kept = await retire?.(live);
      this.event(owner, 'Normal', 'Recreated', `deleted Service ${live.namespace}/${live.name} to move it from ${live.clusterIP ?? ''} to the requested clusterIP${kept ? `; ${kept}` : ''}`);
    }
    const result = await applier.apply(manifest);
    this.applied.set(key, {
      hash: desiredHash, uid: result.uid, resourceVersion: result.resourceVersion,
      ...(result.generation === undefined ? {} : { generation: result.generation }),
    });
    const what = `${manifest.kind} ${result.namespace}/${result.name}`;
    if (manifest.kind === 'EndpointSlice') return result;
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
      // The routing slice is routing's to keep or delete.
      if (wanted.has(kind) || kind === 'EndpointSlice') continue;
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
      this.kept(cached, await client.request<RawObject>('PATCH', `${CLUSTERDNS_PATH}/${name}/status`, {
        body: JSON.stringify({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, status }),
        contentType: 'application/apply-patch+yaml',
        query: { fieldManager: FIELD_MANAGER, force: true },
      }));
    } catch (error) {
      // Deleted meanwhile: nothing to report on.
      if (error instanceof KubeApiError && error.status === 404) return;
      throw error;
    }
    for (const event of statusEvents(previous, status)) this.event(cached, event.type, event.reason, event.message);
    if (status.serving !== undefined && status.serving !== previous?.serving) this.options.onServingSwitch?.(name, previous?.serving ?? 'Unknown', status.serving);
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

  /** Remembers what a write to `basis` returned (undefined: the object was gone); returns it to work on. */
  private kept(basis: CachedClusterDNS, result: RawObject | undefined): CachedClusterDNS {
    if (!result) return basis;
    const shrunk = shrinkClusterDNS(result);
    this.ownWrites.wrote(basis, shrunk);
    return shrunk;
  }

  private forgetOwner(name: string): void {
    this.options.planner.forget(name);
    this.options.analysis?.forget(name);
    this.ownWrites.forget(name);
    for (const kind of CHILD_KIND_ORDER) this.applied.delete(childKey(kind, this.options.config.namespace, name));
    this.applied.delete(childKey('EndpointSlice', this.options.config.namespace, operatorSliceName(name)));
  }
}

/** How soon a reconcile that waits for a baseline's first list looks again (the list itself wakes it too). */
const BASELINE_WAIT_MS = 2000;

/** What status says of routing: who serves, a bad baseline, the injected pods, while deleted the drain, and the analysis. */
function routingObservations(routing: RoutePlan, dependents: readonly InjectedPod[], deleting: boolean, analysis: Judgement | undefined): Partial<Observations> {
  return {
    ...(analysis ? { analysis } : {}),
    ...(routing.decision ? { serving: routing.decision } : {}),
    ...(routing.invalidBaseline === undefined ? {} : { invalidBaseline: routing.invalidBaseline }),
    injectedPods: dependents.length,
    ...(deleting ? { drain: drainState(dependents) } : {}),
  };
}

function finalizerTarget(cached: CachedClusterDNS): { name: string; resourceVersion?: string; finalizers?: readonly string[] } {
  const { name, resourceVersion, finalizers } = cached.metadata;
  return { name, ...(resourceVersion ? { resourceVersion } : {}), ...(finalizers ? { finalizers } : {}) };
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

/** Whether the status says the clusterIP fell back for want of a ready replica. */
function fellBack(cr: CachedClusterDNS): boolean {
  return storedStatus(cr.status)?.conditions?.find((c) => c.type === 'Serving')?.reason === 'FallbackNoReadyReplicas';
}

/** The sooner of two requeues, either of which may be absent. */
function soonest(a: number | undefined, b: number | undefined): ReconcileResult {
  const requeueAfterMs = Math.min(a ?? Infinity, b ?? Infinity);
  return Number.isFinite(requeueAfterMs) ? { requeueAfterMs } : {};
}

function storedStatus(raw: unknown): ClusterDNSStatus | undefined {
  if (raw === undefined) return undefined;
  const parsed = clusterDNSStatusSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
