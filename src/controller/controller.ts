/**
 * The ClusterDNS controller as a Runnable (leader only): informers on ClusterDNS, on the
 * children in the operator's namespace, on the resolver pods and the injected pods (each by
 * label) and on the baselines the objects name feed a keyed work queue; workers run
 * reconcile and one function turns its outcome into queue calls. Nothing starts before
 * `start()`, and workers start only once every cache has listed.
 *
 * A shrunk Node cache feeds spec.autoscaling: a change of what the formula reads (not a
 * heartbeat, not a label) is debounced, and then every autoscaled instance is queued.
 */
import { CLUSTERDNS_PATH, FIELD_MANAGER } from '../api/names.ts';
import { Backoff } from '../kube/backoff.ts';
import type { BackoffPolicy } from '../kube/backoff.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import type { Store } from '../kube/store.ts';
import { AnalysisCollector } from './analysis-collector.ts';
import type { AnalysisTargets } from './analysis-collector.ts';
import { fetchSummary, fileTargets, podTargets } from './analysis-targets.ts';
import { Applier } from './apply.ts';
import { BaselineWatches, baselineRefOf } from './baselines.ts';
import { CHILD_KIND_ORDER, childCollection, childKey, childOwners, shrinkChild } from './children.ts';
import type { Child, ChildKind } from './children.ts';
import { sleep, systemClock, whenAborted } from './clock.ts';
import type { Clock } from './clock.ts';
import { Debouncer } from './debounce.ts';
import { EventRecorder } from './events.ts';
import { keysOfChange, queueAction, resultLabel, specOrMetadataChanged } from './handlers.ts';
import type { ReconcileOutcome } from './handlers.ts';
import { Informer } from './informer.ts';
import { CONTROLLER_NAME } from './metrics.ts';
import type { OperatorMetrics } from './metrics.ts';
import { ClusterCounter } from './cluster-count.ts';
import { NODES_PATH, nodeFingerprint, shrinkNode } from './nodes.ts';
import type { NodeSize } from './nodes.ts';
import { INJECTED_POD_SELECTOR, RESOLVER_POD_SELECTOR, shrinkInjectedPod, shrinkResolverPod } from './pods.ts';
import type { InjectedPod, ResolverPod } from './pods.ts';
import { WorkQueue } from './queue.ts';
import { Reconciler, shrinkClusterDNS } from './reconciler.ts';
import type { CachedClusterDNS, ReconcilerOptions } from './reconciler.ts';
import { ReplicaPlanner } from './replicas.ts';
import type { RenderConfig } from './render.ts';
import type { Runnable } from './runnable.ts';

export interface ControllerOptions {
  readonly client: KubeClient;
  readonly render: RenderConfig;
  /** Label selector on ClusterDNS objects: only those that match are reconciled ("" = all). */
  readonly selector?: string;
  /** Who records events (reportingInstance). */
  readonly identity: string;
  readonly metrics: OperatorMetrics;
  readonly log: Logger;
  /** Reconciles that may run at once (different keys; one key never runs twice at once). */
  readonly workers?: number;
  readonly clock?: Clock;
  readonly autoscaling?: AutoscalingTiming;
  /** Where spec.analysis reads the resolvers' shadow summaries instead of the pods (local mode: a file of loopback addresses). */
  readonly analysisTargetsFile?: string;
}

/** When spec.autoscaling acts on Node changes. */
export interface AutoscalingTiming {
  /** Node changes must pause this long before the instances are recomputed (0: at once). */
  readonly debounceMs: number;
  /** ...but a stream of changes that never pauses is acted on after this long. */
  readonly maxDelayMs: number;
  /** A lower figure must hold this long before the replicas go down. */
  readonly downscaleStabilizationMs: number;
}

/** The defaults of the operator's flags. */
export const DEFAULT_AUTOSCALING_TIMING: AutoscalingTiming = { debounceMs: 2000, maxDelayMs: 10_000, downscaleStabilizationMs: 300_000 };

/**
 * Workers start once the ClusterDNS and child caches have listed; the Node cache and the
 * first count of the cluster get this much longer, and are not waited for beyond it (a
 * missing nodes permission must not stop every instance that does not autoscale; without a
 * count, pods keep the resources they have).
 */
const GRACE_MS = 10_000;

/**
 * Retry timing of the watches: a few long-lived watches may come back quickly after an
 * apiserver outage (the shared default waits up to 30 s).
 */
const WATCH_BACKOFF: BackoffPolicy = { initialMs: 200, maxMs: 5000, factor: 2, jitter: 0.2 };

/** Only children the operator manages are watched. */
const MANAGED_CHILDREN = 'app.kubernetes.io/managed-by=clusterdns-operator';

export class ClusterDNSController implements Runnable {
  readonly name = 'clusterdns-controller';
  readonly needLeaderElection = true;
  private readonly options: ControllerOptions;
  private cachesSynced = false;

  constructor(options: ControllerOptions) {
    this.options = options;
  }

  /** True once every cache has listed (for readiness). */
  get synced(): boolean {
    return this.cachesSynced;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { client, metrics, log, workers = 4, clock = systemClock } = this.options;
    // The observer's callbacks run only after construction, when `queue` is set.
    const queue: WorkQueue = new WorkQueue({ clock, observer: metrics.observeQueue(() => queue.length, () => queue.longestRunningMs()) });
    const enqueue = (keys: readonly string[]): void => { for (const key of keys) queue.add(key); };
    const onError = (what: string) => (error: Error): void => { log.warn({ err: error.message }, `watch of ${what} failed; retrying`); };

    const baselines = new BaselineWatches({ client, onChange: enqueue, onError, backoff: WATCH_BACKOFF });
    const clusterDNS = new Informer<CachedClusterDNS>({
      client,
      resource: { path: CLUSTERDNS_PATH, ...(this.options.selector ? { labelSelector: this.options.selector } : {}) },
      shrink: shrinkClusterDNS,
      keyOf: (cr) => cr.metadata.name,
      versionOf: (cr) => cr.metadata.resourceVersion ?? '',
      onChange: (before, after) => {
        const name = (after ?? before)?.metadata.name ?? '';
        baselines.use(name, after ? baselineRefOf(after.spec) : undefined);
        if (specOrMetadataChanged(before?.metadata, after?.metadata)) enqueue(keysOfChange((cr: CachedClusterDNS) => [cr.metadata.name], before, after));
      },
      onError: onError('ClusterDNS'),
      backoff: new Backoff(WATCH_BACKOFF),
    });
    const children = Object.fromEntries(CHILD_KIND_ORDER.map((kind) => [kind, this.childInformer(kind, enqueue, onError(kind))])) as Record<ChildKind, Informer<Child>>;
    const timing = this.options.autoscaling ?? DEFAULT_AUTOSCALING_TIMING;
    const debouncer = new Debouncer({
      clock, quietMs: timing.debounceMs, maxWaitMs: timing.maxDelayMs,
      fire: () => { enqueue(clusterDNS.store.list().filter(isAutoscaled).map((cr) => cr.metadata.name)); },
    });
    const nodes = new Informer<NodeSize>({
      client,
      resource: { path: NODES_PATH },
      shrink: shrinkNode,
      keyOf: (node) => node.name,
      // A relist reports only nodes whose counted facts changed.
      versionOf: nodeFingerprint,
      onChange: (before, after) => {
        if (!before || !after || nodeFingerprint(before) !== nodeFingerprint(after)) debouncer.touch();
      },
      onError: onError('Node'),
      backoff: new Backoff(WATCH_BACKOFF),
    });
    const { resolverPods, injectedPods } = this.podInformers(enqueue, onError);
    const counter = new ClusterCounter({
      client, clock, log,
      onChange: (contents) => {
        for (const [kind, count] of Object.entries(contents) as Array<[string, number]>) metrics.clusterObjects.set({ kind }, count);
        enqueue(clusterDNS.store.list().filter((cr) => !hasResources(cr)).map((cr) => cr.metadata.name));
      },
    });
    const informers = [clusterDNS, ...Object.values(children), resolverPods, injectedPods, nodes];

    let analysis: AnalysisCollector | undefined;
    const stop = new AbortController();
    const onAbort = (): void => { stop.abort(); };
    signal.addEventListener('abort', onAbort, { once: true });
    baselines.start(stop.signal);
    const watching = [...informers.map((informer) => informer.run(stop.signal)), counter.run(stop.signal)];
    try {
      const required = [clusterDNS, ...Object.values(children), resolverPods, injectedPods];
      // The baselines' watches start as the ClusterDNS objects arrive, so they are waited for after those.
      await Promise.race([Promise.all(required.map((i) => i.store.waitForSync())).then(() => baselines.synced()), whenAborted(stop.signal)]);
      await Promise.race([Promise.all([nodes.store.waitForSync(), counter.firstCount()]), sleep(clock, GRACE_MS, stop.signal)]);
      if (stop.signal.aborted) return;
      this.cachesSynced = true;
      if (!nodes.store.synced) log.warn('the Node cache has not listed yet; autoscaled instances keep their replicas until it has');
      log.info({ clusterDNS: clusterDNS.store.list().length, nodes: nodes.store.list().length }, 'caches synced; starting workers');
      const planner = new ReplicaPlanner({ nodes: nodes.store, clock, downscaleStabilizationMs: timing.downscaleStabilizationMs });
      const targets: AnalysisTargets = this.options.analysisTargetsFile ? fileTargets(this.options.analysisTargetsFile) : podTargets(resolverPods.store);
      analysis = new AnalysisCollector({ targets, fetch: fetchSummary, clock, log, onRound: (name) => { enqueue([name]); } });
      const reconciler = this.reconciler({
        clusterDNS: clusterDNS.store,
        children: Object.fromEntries(Object.entries(children).map(([kind, informer]) => [kind, informer.store])) as Record<ChildKind, Store<Child>>,
        resolverPods: resolverPods.store,
        injectedPods: injectedPods.store,
        baselines,
        analysis,
        clusterContents: () => counter.current(),
      }, planner, clock);
      await Promise.all(Array.from({ length: workers }, () => this.work(queue, reconciler, stop.signal)));
    } finally {
      analysis?.stop();
      debouncer.cancel();
      queue.shutDown();
      stop.abort();
      signal.removeEventListener('abort', onAbort);
      await Promise.all([...watching, baselines.stopped()]);
      this.cachesSynced = false;
    }
  }

  /**
   * The resolver pods of every instance (in the operator's namespace) and every injected pod
   * (in any namespace), each by its label. A pod's change wakes its instance only when what
   * routing reads of it changed (readiness, address; instance, nameserver, phase), not at
   * every status update.
   */
  private podInformers(enqueue: (keys: readonly string[]) => void, onError: (what: string) => (error: Error) => void): { resolverPods: Informer<ResolverPod>; injectedPods: Informer<InjectedPod> } {
    const { client, render } = this.options;
    const onFactsChange = <T extends { readonly instance: string }>(before: T | undefined, after: T | undefined): void => {
      if (JSON.stringify(before) !== JSON.stringify(after)) enqueue(keysOfChange((pod: T) => (pod.instance ? [pod.instance] : []), before, after));
    };
    const resolverPods = new Informer<ResolverPod>({
      client,
      resource: { path: `/api/v1/namespaces/${render.namespace}/pods`, labelSelector: RESOLVER_POD_SELECTOR },
      shrink: shrinkResolverPod,
      keyOf: (pod) => pod.name,
      versionOf: (pod) => JSON.stringify(pod),
      onChange: onFactsChange,
      onError: onError('resolver pods'),
      backoff: new Backoff(WATCH_BACKOFF),
    });
    const injectedPods = new Informer<InjectedPod>({
      client,
      resource: { path: '/api/v1/pods', labelSelector: INJECTED_POD_SELECTOR },
      shrink: shrinkInjectedPod,
      keyOf: (pod) => `${pod.namespace}/${pod.name}`,
      versionOf: (pod) => JSON.stringify(pod),
      onChange: onFactsChange,
      onError: onError('injected pods'),
      backoff: new Backoff(WATCH_BACKOFF),
    });
    return { resolverPods, injectedPods };
  }

  private childInformer(kind: ChildKind, enqueue: (keys: readonly string[]) => void, onError: (error: Error) => void): Informer<Child> {
    return new Informer<Child>({
      client: this.options.client,
      resource: { path: childCollection(kind, this.options.render.namespace), labelSelector: MANAGED_CHILDREN },
      shrink: shrinkChild(kind),
      keyOf: (child) => childKey(child.kind, child.namespace, child.name),
      versionOf: (child) => child.resourceVersion,
      onChange: (before, after) => { enqueue(keysOfChange(childOwners, before, after)); },
      onError,
      backoff: new Backoff(WATCH_BACKOFF),
    });
  }

  private reconciler(caches: Pick<ReconcilerOptions, 'clusterDNS' | 'children' | 'resolverPods' | 'injectedPods' | 'baselines' | 'analysis' | 'clusterContents'>, planner: ReplicaPlanner, clock: Clock): Reconciler {
    const { client, metrics, log, identity } = this.options;
    const countWrite = (verb: string, resource: string): void => { metrics.writes.inc({ verb, resource }); };
    return new Reconciler({
      client,
      applier: new Applier(client, FIELD_MANAGER, countWrite),
      recorder: new EventRecorder({ client, component: FIELD_MANAGER, instance: identity, clock, log, onWrite: () => { countWrite('create', 'Event'); } }),
      ...caches,
      config: this.options.render,
      planner,
      clock,
      log,
      onStatusWrite: () => { countWrite('apply', 'ClusterDNS/status'); },
      onWrite: countWrite,
      onServingSwitch: (name, from, to) => {
        metrics.servingSwitches.inc({ name, from, to });
        log.info({ clusterDNS: name, from, to }, 'who answers at the clusterIP switched');
      },
    });
  }

  /** One worker: take a key, reconcile it, turn the outcome into queue calls, repeat. */
  private async work(queue: WorkQueue, reconciler: Reconciler, signal: AbortSignal): Promise<void> {
    const { metrics, log, clock = systemClock } = this.options;
    const labels = { controller: CONTROLLER_NAME };
    for (;;) {
      const key = await queue.get(signal);
      if (key === undefined) return;
      metrics.activeWorkers.inc(labels);
      const began = clock.now();
      let outcome: ReconcileOutcome;
      try {
        outcome = { kind: 'success', ...(await reconciler.reconcile(key)) };
      } catch (error) {
        outcome = { kind: 'error', error: error instanceof Error ? error : new Error(String(error)) };
      }
      metrics.activeWorkers.dec(labels);
      metrics.reconcileTime.observe(labels, (clock.now() - began) / 1000);
      metrics.reconcileTotal.inc({ ...labels, result: resultLabel(outcome) });
      const action = queueAction(outcome);
      if (outcome.kind === 'error') {
        metrics.reconcileErrors.inc(labels);
        if (action.action === 'forget') metrics.terminalReconcileErrors.inc(labels);
        log.warn({ clusterDNS: key, err: outcome.error.message, retries: queue.retries(key) }, 'reconcile failed');
      }
      switch (action.action) {
        case 'forget': queue.forget(key); break;
        case 'requeueAfter': queue.forget(key); queue.addAfter(key, action.ms); break;
        case 'retry': queue.addRateLimited(key); break;
      }
      queue.done(key);
    }
  }
}

/** Whether a cached ClusterDNS sets spec.resources (which the cluster's count then leaves alone). */
function hasResources(cr: CachedClusterDNS): boolean {
  const spec = cr.spec as { resources?: unknown } | undefined;
  return typeof spec?.resources === 'object' && spec.resources !== null;
}

/** Whether a cached ClusterDNS asks for spec.autoscaling (read raw: the cache holds specs unvalidated). */
function isAutoscaled(cr: CachedClusterDNS): boolean {
  const spec = cr.spec as { autoscaling?: unknown } | undefined;
  return typeof spec?.autoscaling === 'object' && spec.autoscaling !== null;
}
