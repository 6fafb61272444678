/**
 * Routing as reconcile performs it: from the caches, who answers at the clusterIP and the
 * steps for each of the instance's Services (routing.ts decides, this gathers and performs).
 *
 * An instance has one Service, `<name>`, and, after its clusterIP moved (spec.clusterIP set
 * where it was empty), one retired Service per old address that injected pods still use:
 * `<name>-<hash of the address>`, holding the old address, routed exactly as the main one,
 * and deleted once no pod injected with that address is left. A clusterIP in a pod's
 * dnsConfig is a promise for the pod's whole life.
 */
import type { ClusterDNS } from '../api/clusterdns.ts';
import type { Store } from '../kube/store.ts';
import type { Applier } from './apply.ts';
import type { BaselineSnapshot } from './baselines.ts';
import { childKey } from './children.ts';
import type { Child, ChildKind } from './children.ts';
import type { Clock } from './clock.ts';
import { readyEndpoints, settledReplicas } from './pods.ts';
import type { InjectedPod, ResolverPod } from './pods.ts';
import type { Manifest, RenderConfig } from './render.ts';
import { SETTLE_AFTER_RESTART_MS, baselineView, decideServing, partitionSlices, planFront } from './routing.ts';
import type { BaselineView, FrontPlan, ServingDecision } from './routing.ts';
import { RETIRED_LABEL, instancePorts, retiredService, routedService, routingSlice } from './routing-render.ts';
import { addressTypeOf, operatorSliceName } from './slices.ts';
import type { AddressType, SliceContent } from './slices.ts';

export interface RouterCaches {
  readonly config: RenderConfig;
  readonly children: Readonly<Record<ChildKind, Store<Child>>>;
  readonly resolverPods: Store<ResolverPod>;
  readonly baselines: { snapshot(ref: string): BaselineSnapshot };
  readonly clock: Clock;
}

/** One Service of the instance and its steps. */
export interface Front {
  readonly service: string;
  /** For a retired Service: the old address it holds. */
  readonly retiredAddress?: string;
  readonly plan: FrontPlan;
}

export interface RoutePlan {
  /** Undefined while the baseline's watch has not listed yet. */
  readonly decision?: ServingDecision;
  readonly invalidBaseline?: string;
  /** The main Service first. */
  readonly fronts: readonly Front[];
  /** Retired Services no injected pod uses any more. */
  readonly release: readonly Child[];
  /** While a fallback waits for a restarted replica to settle: when to decide again. */
  readonly recheckAfterMs?: number;
}

/** The routing steps that a reconcile performs through its own apply. */
export type ApplyOne = (manifest: Manifest) => Promise<void>;

export class Router {
  private readonly caches: RouterCaches;

  constructor(caches: RouterCaches) {
    this.caches = caches;
  }

  /**
   * `fallingBack`: whether the status says the clusterIP fell back for want of a ready replica;
   * `analysisRollback`: why the analysis keeps the clusterIP on the baseline, while it does.
   */
  plan(cr: ClusterDNS, rendered: readonly Manifest[], deleting: boolean, dependents: readonly InjectedPod[], fallingBack: boolean, analysisRollback?: string): RoutePlan {
    const { config, resolverPods, baselines, children, clock } = this.caches;
    const name = cr.metadata.name;
    const main = this.service(name);
    const { namespace: baselineNamespace, name: baselineName } = cr.spec.baseline.service;
    const ref = `${baselineNamespace}/${baselineName}`;
    const snapshot = baselines.snapshot(ref);
    const views = new Map<AddressType, BaselineView>();
    const viewOf = (family: AddressType): BaselineView => {
      const view = views.get(family) ?? baselineView({ ref, ...snapshot, family, ownService: `${config.namespace}/${name}` });
      views.set(family, view);
      return view;
    };
    const ports = instancePorts(rendered);
    const instanceOf = (family: AddressType): SliceContent => ({ serving: 'Instance', addressType: family, ports, endpoints: readyEndpoints(resolverPods.list(), name, family) });
    const family = addressTypeOf(main?.clusterIP || cr.spec.clusterIP);
    // The replicas as rendered: spec.replicas or what spec.autoscaling computed.
    const wanted = (rendered.find((m) => m.kind === 'Deployment')?.['spec'] as { replicas?: number } | undefined)?.replicas ?? 0;
    const now = clock.now();
    const settling = settledReplicas(resolverPods.list(), name, now, SETTLE_AFTER_RESTART_MS);
    const decision = decideServing({
      routing: cr.spec.routing, draining: deleting, readyReplicas: instanceOf(family).endpoints.length, wantedReplicas: wanted,
      settledReplicas: settling.settled, fallingBack,
      baselineRef: ref, baseline: viewOf(family), clusterIP: main?.clusterIP ?? '',
      ...(analysisRollback === undefined ? {} : { analysisRollback }),
    });
    const slices = children.EndpointSlice.list().flatMap((c) => (c.slice ? [c.slice] : []));
    const front = (service: string, live: Child | undefined, retiredAddress?: string): Front => {
      const at = addressTypeOf(live?.clusterIP || (retiredAddress ?? cr.spec.clusterIP));
      const view = viewOf(at);
      const { own, foreign } = partitionSlices(slices, service, operatorSliceName(service));
      const plan = planFront(decision?.serving, {
        service: live ? { hasSelector: live.hasSelector ?? true } : undefined,
        own, foreign, instance: instanceOf(at), baseline: view.kind === 'valid' ? view.content : undefined,
      });
      return { service, plan, ...(retiredAddress ? { retiredAddress } : {}) };
    };
    const retired = this.retiredServices(name);
    const inUse = (service: Child): boolean => dependents.some((p) => p.nameserver === service.clusterIP);
    const mainView = viewOf(family);
    return {
      ...(decision ? { decision } : {}),
      ...(mainView.kind === 'invalid' ? { invalidBaseline: mainView.message } : {}),
      fronts: [front(name, main), ...retired.filter(inUse).map((s) => front(s.name, s, s.clusterIP))],
      release: retired.filter((s) => !inUse(s)),
      ...(settling.nextAt === undefined || decision?.reason !== 'FallbackNoReadyReplicas' ? {} : { recheckAfterMs: settling.nextAt - now }),
    };
  }

  /** The rendered children with each Service as routing wants it: the main one, and the retired ones still in use. */
  desired(cr: ClusterDNS, rendered: readonly Manifest[], route: RoutePlan): Manifest[] {
    const [main, ...retired] = route.fronts;
    const service = rendered.find((m) => m.kind === 'Service');
    const children = rendered.map((m) => (m === service && main ? routedService(m, main.plan.selector) : m));
    if (!service) return children;
    return [...children, ...retired.map((f) => retiredService(routedService(service, f.plan.selector), cr.metadata.name, f.retiredAddress ?? ''))];
  }

  /** The Service that keeps an old address: the main one as routed now, at that address. */
  retiredFor(rendered: readonly Manifest[], route: RoutePlan, cr: ClusterDNS, address: string): Manifest | undefined {
    const service = rendered.find((m) => m.kind === 'Service');
    return service ? retiredService(routedService(service, route.fronts[0]?.plan.selector ?? true), cr.metadata.name, address) : undefined;
  }

  /** The steps before the Services change: each routing slice's first content. */
  async before(cr: ClusterDNS, route: RoutePlan, applyOne: ApplyOne): Promise<void> {
    for (const front of route.fronts) if (front.plan.before) await applyOne(routingSlice(cr, this.caches.config, front.service, front.plan.before));
  }

  /**
   * The steps after the Services changed: others' slices go, each routing slice ends as
   * planned, and retired Services no pod uses any more go with their slices.
   */
  async after(cr: ClusterDNS, route: RoutePlan, applyOne: ApplyOne, applier: Applier, forget: (key: string) => void): Promise<void> {
    const { config } = this.caches;
    const remove = async (kind: ChildKind, name: string): Promise<void> => {
      const child = this.caches.children[kind].get(childKey(kind, config.namespace, name));
      if (!child) return;
      await applier.delete(kind, config.namespace, name, child.uid);
      forget(childKey(kind, config.namespace, name));
    };
    for (const { service, plan } of route.fronts) {
      await Promise.all(plan.deleteSlices.map((slice) => remove('EndpointSlice', slice)));
      if (plan.own.kind === 'apply') await applyOne(routingSlice(cr, config, service, plan.own.content));
      if (plan.own.kind === 'delete') await remove('EndpointSlice', operatorSliceName(service));
      if (plan.deleteEndpoints) await applier.deleteEndpoints(config.namespace, service);
    }
    for (const retired of route.release) {
      await remove('EndpointSlice', operatorSliceName(retired.name));
      await remove('Service', retired.name);
    }
  }

  private service(name: string): Child | undefined {
    return this.caches.children.Service.get(childKey('Service', this.caches.config.namespace, name));
  }

  private retiredServices(name: string): Child[] {
    return this.caches.children.Service.list().filter((s) => s.owners.includes(name) && s.labels[RETIRED_LABEL] === 'true' && Boolean(s.clusterIP));
  }
}
