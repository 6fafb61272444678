/**
 * Routing: who answers at an instance's clusterIP, and the steps that get the Service there.
 * Pure functions of what the caches hold; the reconciler performs the steps in order.
 *
 * The promise: the clusterIP always answers, from the instance's own ready pods or from the
 * baseline's ready endpoints, and never from a mix of the two.
 *
 * The mechanism (docs/routing.md):
 * - serving the instance, the Service has its selector and kube-controller-manager's
 *   EndpointSlice controller keeps its endpoints, as for any Service: when the instance is
 *   healthy the operator is not in the data path at all;
 * - serving the baseline, the Service has no selector, the controller's slices are deleted
 *   (it leaves the slices of a selectorless Service alone, so the operator removes them), and
 *   one slice the operator owns mirrors the baseline's ready endpoints with the ports named as
 *   the instance's Service names them.
 * A switch never shows both sides at once: before the selector goes, the operator's slice
 * first takes a copy of the instance's endpoints, and the baseline's go in only once the
 * selector and the controller's slices are gone; before the selector comes back, that slice
 * turns from the baseline's endpoints to the instance's in one write, and it goes only once
 * the controller's own slice has a ready endpoint.
 */
import type { Routing, Serving } from '../api/clusterdns.ts';
import { CONTROLLER_SLICE_MANAGER, MIRRORING_SLICE_MANAGER, OPERATOR_SLICE_MANAGER } from './slices.ts';
import type { AddressType, SliceContent, SliceEndpoint, SlicePort, SliceState } from './slices.ts';

/** The baseline's Service as its watch keeps it. */
export interface BaselineService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly SlicePort[];
  /** Its clusterIP ("" or "None" when it has none): where the instance's pods ask it the questions they shadow. */
  readonly clusterIP?: string;
}

/** What routing knows of a baseline. */
export type BaselineView =
  /** Its watch has not listed yet: routing holds still. */
  | { readonly kind: 'unknown' }
  /** It cannot be a baseline; the message names spec.baseline.service. */
  | { readonly kind: 'invalid'; readonly message: string }
  /** Its ready endpoints, as the operator's slice would hold them (possibly none). */
  | { readonly kind: 'valid'; readonly content: SliceContent };

export interface BaselineInput {
  /** `<namespace>/<name>` from spec.baseline.service. */
  readonly ref: string;
  readonly synced: boolean;
  readonly service: BaselineService | undefined;
  readonly slices: readonly SliceState[];
  /** The address family of the instance's Service. */
  readonly family: AddressType;
  /** `<namespace>/<name>` of the instance's own Service, which cannot be its own baseline. */
  readonly ownService: string;
}

const FIELD = 'spec.baseline.service';
const DNS_PORTS = [{ name: 'dns', protocol: 'UDP' }, { name: 'dns-tcp', protocol: 'TCP' }] as const;

/**
 * The baseline as the instance's clusterIP would serve it: its Service must exist and have
 * port 53 over UDP and TCP; its slices of the instance's address family give the ready
 * endpoints, at the ports the baseline's 53/UDP and 53/TCP lead to, named `dns` and
 * `dns-tcp` as on the instance's Service. Slices whose ports differ from each other (unusual)
 * are grouped by port, and the group with the most ready endpoints is mirrored.
 */
export function baselineView(input: BaselineInput): BaselineView {
  if (!input.synced) return { kind: 'unknown' };
  if (input.ref === input.ownService) return { kind: 'invalid', message: `${FIELD}: ${input.ref} is the instance's own Service` };
  if (!input.service) return { kind: 'invalid', message: `${FIELD}: Service ${input.ref} does not exist` };
  const targets = DNS_PORTS.map(({ protocol }) => input.service?.ports.find((p) => p.port === 53 && p.protocol === protocol));
  const missing = DNS_PORTS.filter((_, i) => targets[i] === undefined).map((p) => `53/${p.protocol}`);
  if (missing.length > 0) {
    const has = input.service.ports.map((p) => `${p.port}/${p.protocol}`).join(', ') || 'none';
    return { kind: 'invalid', message: `${FIELD}: Service ${input.ref} has no DNS port ${missing.join(' or ')} (its ports: ${has})` };
  }
  const groups = new Map<string, { ports: SlicePort[]; endpoints: Map<string, SliceEndpoint> }>();
  for (const slice of input.slices) {
    if (slice.addressType !== input.family) continue;
    const ports = DNS_PORTS.flatMap(({ name, protocol }, i) => {
      const found = slice.ports.find((p) => p.name === targets[i]?.name && p.protocol === protocol);
      return found ? [{ name, port: found.port, protocol }] : [];
    });
    if (ports.length === 0) continue;
    const key = ports.map((p) => `${p.port}/${p.protocol}`).join(',');
    const group = groups.get(key) ?? { ports, endpoints: new Map() };
    groups.set(key, group);
    for (const endpoint of slice.ready) group.endpoints.set(endpoint.addresses[0] ?? '', endpoint);
  }
  const best = [...groups.entries()].sort(([ka, a], [kb, b]) => b.endpoints.size - a.endpoints.size || ka.localeCompare(kb))[0]?.[1];
  return {
    kind: 'valid',
    content: {
      serving: 'Baseline', addressType: input.family, source: input.ref,
      ports: best?.ports ?? DNS_PORTS.map(({ name, protocol }, i) => ({ name, protocol, port: targets[i]?.port ?? 53 })),
      endpoints: [...(best?.endpoints.values() ?? [])],
    },
  };
}

export type ServingReason = 'InstanceReady' | 'FallbackNoReadyReplicas' | 'RolledBack' | 'AnalysisRolledBack' | 'Draining' | 'BaselineUnavailable' | 'NoReadyEndpoints' | 'NoClusterIP';

/** Who answers at the clusterIP, as the Serving condition says it. */
export interface ServingDecision {
  readonly serving: Serving;
  readonly status: 'True' | 'False';
  readonly reason: ServingReason;
  readonly message: string;
}

export interface ServingInput {
  readonly routing: Routing;
  /** Being deleted and draining: the baseline answers while injected pods remain. */
  readonly draining: boolean;
  readonly readyReplicas: number;
  /** The ready replicas that have settled (see settledReplicas in pods.ts). */
  readonly settledReplicas: number;
  /** Whether the clusterIP answers from the baseline now because no replica was ready (FallbackNoReadyReplicas). */
  readonly fallingBack: boolean;
  readonly wantedReplicas: number;
  readonly baselineRef: string;
  readonly baseline: BaselineView;
  /** "" while the Service has none. */
  readonly clusterIP: string;
  /** Present while the analysis keeps the clusterIP on the baseline (onMismatch: Rollback): why. */
  readonly analysisRollback?: string;
}

/**
 * How long a replica that restarted must stay ready before the clusterIP comes back to it
 * from a fallback. Pods that crash together tend to come back together within a second or
 * two; moving the clusterIP back at once makes two switches (each dropping the lookups in
 * flight, and the flows kube-proxy must clear) for as little as one second of fallback, and
 * one per crash of a pod in CrashLoopBackOff. As minReadySeconds for a Deployment.
 */
export const SETTLE_AFTER_RESTART_MS = 5000;

/**
 * Who should answer. The baseline when asked for (rollback, drain) and it has a ready
 * endpoint; else the instance when one of its pods is ready (after a fallback, one that has
 * settled); else the baseline as a fallback; else nobody. Undefined while the baseline's
 * watch has not listed yet.
 */
export function decideServing(input: ServingInput): ServingDecision | undefined {
  const { baseline, readyReplicas, wantedReplicas, baselineRef } = input;
  if (baseline.kind === 'unknown') return undefined;
  const at = input.clusterIP || 'the clusterIP';
  const baselineReady = baseline.kind === 'valid' ? baseline.content.endpoints.length : 0;
  const fromBaseline = `${at} answers from the baseline ${baselineRef} (${baselineReady} ready endpoint${baselineReady === 1 ? '' : 's'})`;
  const why = baseline.kind === 'invalid' ? `cannot be used (${baseline.message})` : 'has no ready endpoint';
  const wanted = baselineWanted(input);
  if (wanted && baselineReady > 0) {
    const messages: Record<BaselineWanted, string> = {
      Draining: `being deleted: ${fromBaseline} until no injected pod is left`,
      AnalysisRolledBack: `${fromBaseline}; the instance's pods get no traffic: ${input.analysisRollback ?? ''}`,
      RolledBack: `spec.routing is Baseline: ${fromBaseline}; the instance's pods get no traffic`,
    };
    return { serving: 'Baseline', status: 'True', reason: wanted, message: messages[wanted] };
  }
  if (!wanted && baselineReady > 0 && waitsToSettle(input)) {
    const settle = SETTLE_AFTER_RESTART_MS / 1000;
    const some = `${readyReplicas} replica${readyReplicas === 1 ? ' is' : 's are'}`;
    return {
      serving: 'Baseline', status: 'True', reason: 'FallbackNoReadyReplicas',
      message: `${some} ready again after a restart, for less than ${settle}s: ${fromBaseline} until one has stayed ready ${settle}s`,
    };
  }
  if (readyReplicas > 0) {
    const own = `${readyReplicas} ready replica${readyReplicas === 1 ? '' : 's'} answer${readyReplicas === 1 ? 's' : ''} at ${at}`;
    if (wanted) {
      const asked = { Draining: 'being deleted', AnalysisRolledBack: 'the analysis rolled back', RolledBack: 'spec.routing is Baseline' }[wanted];
      return { serving: 'Instance', status: 'True', reason: 'BaselineUnavailable', message: `${asked}, but the baseline ${baselineRef} ${why}: the instance's ${own} meanwhile` };
    }
    const fallback = baselineReady > 0 ? '' : `; no fallback: the baseline ${baselineRef} ${why}`;
    return { serving: 'Instance', status: 'True', reason: 'InstanceReady', message: `${own}${fallback}` };
  }
  if (baselineReady > 0) {
    return { serving: 'Baseline', status: 'True', reason: 'FallbackNoReadyReplicas', message: `none of the ${wantedReplicas} replicas is ready: ${fromBaseline} until one is` };
  }
  return { serving: 'None', status: 'False', reason: 'NoReadyEndpoints', message: `nothing answers at ${at}: none of the ${wantedReplicas} replicas is ready and the baseline ${baselineRef} ${why}` };
}

type BaselineWanted = 'Draining' | 'RolledBack' | 'AnalysisRolledBack';

/** Falling back, with ready replicas of which none has settled yet. */
function waitsToSettle(input: ServingInput): boolean {
  return input.fallingBack && input.readyReplicas > 0 && input.settledReplicas === 0;
}

/** Why the baseline should answer, if it should: a drain, spec.routing, or the analysis (only while spec.routing is Instance). */
function baselineWanted(input: ServingInput): BaselineWanted | undefined {
  if (input.draining) return 'Draining';
  if (input.routing === 'Baseline') return 'RolledBack';
  return input.analysisRollback === undefined ? undefined : 'AnalysisRolledBack';
}

/** What the caches hold for one Service of an instance. */
export interface FrontObservation {
  /** Undefined while the Service does not exist. */
  readonly service: { readonly hasSelector: boolean } | undefined;
  /** The operator's slice of this Service. */
  readonly own: SliceState | undefined;
  /** Every other slice of this Service (the EndpointSlice controller's, a mirror's, anyone's). */
  readonly foreign: readonly SliceState[];
  /** The instance's ready pods, with the ports of the instance's Service. */
  readonly instance: SliceContent;
  /** The baseline's ready endpoints, when it is valid. */
  readonly baseline: SliceContent | undefined;
}

export type OwnSliceAction =
  | { readonly kind: 'apply'; readonly content: SliceContent }
  | { readonly kind: 'delete' }
  | { readonly kind: 'keep' };

/** The steps of one reconcile for one Service, in the order they are taken. */
export interface FrontPlan {
  /** Applied to the operator's slice before the Service changes. */
  readonly before?: SliceContent;
  /** Whether the Service carries its selector. */
  readonly selector: boolean;
  /** Slices of others to delete once the Service has no selector. */
  readonly deleteSlices: readonly string[];
  /** Delete the Service's legacy Endpoints, which the mirroring controller has copied into a slice. */
  readonly deleteEndpoints: boolean;
  /** The operator's slice at the end. */
  readonly own: OwnSliceAction;
}

/**
 * The next steps towards `serving` (undefined: hold everything as it is). Level-triggered:
 * the plan depends only on what is observed, so a reconcile cut short is finished by the next.
 */
export function planFront(serving: Serving | undefined, observed: FrontObservation): FrontPlan {
  const hasSelector = observed.service?.hasSelector;
  if (serving === undefined) {
    return { selector: hasSelector ?? true, deleteSlices: [], deleteEndpoints: false, own: { kind: 'keep' } };
  }
  if (serving === 'Baseline' && observed.baseline) {
    // While others' slices have ready endpoints (of the instance), the operator's slice first
    // takes the same, so that for a moment both hold them. The baseline's endpoints go in only
    // once the selector is gone and those slices are deleted: while the Service still has its
    // selector, a pod that turns ready would be added to the controller's slice beside them.
    const othersReady = observed.foreign.some((s) => s.ready.length > 0);
    return {
      ...(hasSelector !== false && othersReady ? { before: observed.instance } : {}),
      selector: false,
      deleteSlices: observed.foreign.map((s) => s.name),
      // The Service's label keeps the mirroring controller away (routing-render.ts); a mirror
      // that appears anyway (Endpoints older than the label) goes with its Endpoints.
      deleteEndpoints: observed.foreign.some((s) => s.managedBy === MIRRORING_SLICE_MANAGER),
      own: { kind: 'apply', content: observed.baseline },
    };
  }
  if (hasSelector === false) {
    // From the baseline to the instance in one write; the slice bridges until the controller's has the pods.
    return { before: observed.instance, selector: true, deleteSlices: [], deleteEndpoints: false, own: { kind: 'apply', content: observed.instance } };
  }
  const controllerReady = observed.foreign.some((s) => s.managedBy === CONTROLLER_SLICE_MANAGER && s.ready.length > 0);
  const bridge = observed.own !== undefined && !controllerReady && observed.instance.endpoints.length > 0;
  return { selector: true, deleteSlices: [], deleteEndpoints: false, own: bridge ? { kind: 'apply', content: observed.instance } : { kind: 'delete' } };
}

/** Splits the slices of a Service into the operator's own and everyone else's. */
export function partitionSlices(slices: readonly SliceState[], service: string, ownName: string): { own: SliceState | undefined; foreign: SliceState[] } {
  const mine = slices.filter((s) => s.serviceName === service);
  return {
    own: mine.find((s) => s.name === ownName && s.managedBy === OPERATOR_SLICE_MANAGER),
    foreign: mine.filter((s) => !(s.name === ownName && s.managedBy === OPERATOR_SLICE_MANAGER)),
  };
}
