/**
 * The status of a ClusterDNS as a pure function of what reconcile observed, and the events
 * that a change of it is worth. Reconcile writes the status only when `sameStatus` says it
 * differs from the stored one, so an idle operator writes nothing.
 *
 * Conditions (metav1.Condition; reasons are stable CamelCase words, messages are for people):
 * - Available: the Service has its clusterIP and at least one replica is ready.
 *   True ReplicasReady; False ServiceUnavailable | ScaledToZero | NoReplicasReady.
 * - Progressing: a rollout is under way.
 *   True Creating | RollingOut; False RolloutComplete | RolloutStalled | ApplyFailed | InvalidSpec | UnsupportedVersion | UnknownVersion.
 * - Degraded: something keeps the instance from its wanted state.
 *   True InvalidSpec | UnsupportedVersion | UnknownVersion | ClusterIPUnavailable | ApplyFailed | InvalidBaseline | ReplicaFailure |
 *   RolloutStalled; False AsExpected.
 * - Scaled, only with spec.autoscaling: the replicas the formula decided, with its inputs.
 *   True WithinRange | AtMinimum | AtMaximum | PreventSinglePointFailure | ScaleDownStabilized; Unknown NodesUnknown.
 * - Serving: someone answers at the clusterIP (routing.ts decides who; status.serving says it).
 *   True InstanceReady | FallbackNoReadyReplicas | RolledBack | Draining | BaselineUnavailable; False NoReadyEndpoints.
 * - Draining (only while deleted): True WaitingForPods, with how many injected pods are left.
 * - AnswersMatch (only with spec.analysis): the pods' answers against the baseline's (analysis.ts).
 *   True AnswersMatch; False AnswersDiffer; Unknown TooFewQueries | NoBaseline | EngineWithoutShadow.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ClusterDNSStatus, Condition, ConditionType } from '../api/clusterdns.ts';
import { scaledCondition } from './autoscaling.ts';
import type { ScalingStatus } from './autoscaling.ts';
import type { ChildKind, DeploymentState } from './children.ts';
import { drainMessage } from './drain.ts';
import type { DrainState } from './drain.ts';
import type { ServingDecision } from './routing.ts';
import type { Judgement } from './analysis.ts';

/** A child that could not be applied. */
export interface ApplyFailure {
  readonly kind: ChildKind;
  readonly name: string;
  /** `ClusterIPUnavailable` when the apiserver refused the Service's clusterIP. */
  readonly reason: 'ClusterIPUnavailable' | 'ApplyFailed';
  /** The apiserver's message. */
  readonly message: string;
}

/** Everything status is computed from. */
export interface StatusInput {
  readonly name: string;
  readonly namespace: string;
  readonly generation: number;
  /** The replicas decided (spec.replicas or autoscaling's); absent when the spec is invalid (then the Deployment's count is used). */
  readonly wantedReplicas?: number;
  /** How spec.autoscaling decided them; absent without autoscaling. */
  readonly scaling?: ScalingStatus;
  /** The Service's clusterIP ("" while unallocated); absent when there is no Service. */
  readonly serviceClusterIP?: string;
  readonly deployment?: DeploymentState;
  readonly failures: readonly ApplyFailure[];
  /** The schema's complaint about the spec, naming the field; or why the engine cannot run spec.version. */
  readonly invalidSpec?: string;
  /** Set when `invalidSpec` is about the version (the spec is valid, the release is not one the operator runs). */
  readonly invalidReason?: 'UnsupportedVersion' | 'UnknownVersion';
  /** Who answers at the clusterIP; absent: unchanged (the baseline's watch has not listed yet). */
  readonly serving?: ServingDecision;
  /** Why spec.baseline.service cannot be used, naming the field. */
  readonly invalidBaseline?: string;
  /** Pods labelled clusterdns.io/injected-into=<name> that still run. */
  readonly injectedPods?: number;
  /** Present while the ClusterDNS is deleted and waits for its injected pods. */
  readonly drain?: DrainState;
  /** With spec.analysis: what it found. */
  readonly analysis?: Pick<Judgement, 'status' | 'condition'>;
}

type NewCondition = Pick<Condition, 'status' | 'reason' | 'message'>;

/** kubectl rollout status' definition of a finished rollout. */
export function rolledOut(d: DeploymentState): boolean {
  return d.observedGeneration >= d.generation
    && d.updatedReplicas >= d.wantedReplicas
    && d.replicas <= d.updatedReplicas
    && d.availableReplicas >= d.updatedReplicas
    && !stalled(d);
}

function stalled(d: DeploymentState): boolean {
  return d.conditions.some((c) => c.type === 'Progressing' && c.status === 'False' && c.reason === 'ProgressDeadlineExceeded');
}

function deploymentCondition(d: DeploymentState | undefined, type: string): { message?: string } | undefined {
  return d?.conditions.find((c) => c.type === type && c.status === 'True');
}

export function computeStatus(input: StatusInput, previous: ClusterDNSStatus | undefined, now: Date): ClusterDNSStatus {
  const { deployment, serviceClusterIP } = input;
  const version = deployment?.templateVersion !== undefined && rolledOut(deployment) ? deployment.templateVersion : previous?.version;
  // Without a clusterIP nothing can answer, whoever routing would send it to.
  const serving = serviceClusterIP ? input.serving : NO_CLUSTER_IP;
  const conditions: Array<[ConditionType, NewCondition]> = [
    ['Available', available(input)],
    ['Progressing', progressing(input)],
    ['Degraded', degraded(input)],
    ...(input.scaling ? [['Scaled', scaledCondition(input.scaling)] as [ConditionType, NewCondition]] : []),
    ['Serving', servingCondition(serving, previous)],
    ...(input.drain ? [['Draining', draining(input.name, serviceClusterIP ?? '', input.drain)] as [ConditionType, NewCondition]] : []),
    ...analysisCondition(input, previous),
  ];
  const analysis = input.analysis?.status ?? (input.invalidSpec !== undefined ? previous?.analysis : undefined);
  return {
    observedGeneration: input.generation,
    ...(serviceClusterIP ? { clusterIP: serviceClusterIP, serviceName: input.name } : {}),
    ...(version === undefined ? {} : { version }),
    replicas: deployment?.replicas ?? 0,
    readyReplicas: deployment?.readyReplicas ?? 0,
    ...routingFields(serving, input.injectedPods, previous),
    ...(analysis ? { analysis } : {}),
    conditions: conditions.map(([type, next]) => condition(type, next, input.generation, previous?.conditions, now)),
  };
}

/** status.serving and status.injectedPods: as observed, else as they were. */
function routingFields(serving: ServingDecision | undefined, injectedPods: number | undefined, previous: ClusterDNSStatus | undefined): Pick<ClusterDNSStatus, 'serving' | 'injectedPods'> {
  const servingNow = serving?.serving ?? previous?.serving;
  const pods = injectedPods ?? previous?.injectedPods;
  return { ...(servingNow === undefined ? {} : { serving: servingNow }), ...(pods === undefined ? {} : { injectedPods: pods }) };
}

const NO_CLUSTER_IP: ServingDecision = { serving: 'None', status: 'False', reason: 'NoClusterIP', message: 'the Service has no clusterIP yet (see Available)' };

function servingCondition(decision: ServingDecision | undefined, previous: ClusterDNSStatus | undefined): NewCondition {
  if (decision) return { status: decision.status, reason: decision.reason, message: decision.message };
  const before = previous?.conditions?.find((c) => c.type === 'Serving');
  return before ?? { status: 'Unknown', reason: 'BaselineUnknown', message: 'waiting for the first list of the baseline Service' };
}

/** AnswersMatch as the analysis judged it; kept as it was while the spec cannot be read. */
function analysisCondition(input: StatusInput, previous: ClusterDNSStatus | undefined): Array<[ConditionType, NewCondition]> {
  if (input.analysis) return [['AnswersMatch', input.analysis.condition]];
  const before = input.invalidSpec !== undefined ? previous?.conditions?.find((c) => c.type === 'AnswersMatch') : undefined;
  return before ? [['AnswersMatch', before]] : [];
}

function draining(name: string, clusterIP: string, drain: DrainState): NewCondition {
  return { status: 'True', reason: 'WaitingForPods', message: drainMessage(name, clusterIP, drain) };
}

/** Keeps lastTransitionTime unless the status changed (as meta.SetStatusCondition). */
function condition(type: ConditionType, next: NewCondition, generation: number, previous: readonly Condition[] | undefined, now: Date): Condition {
  const before = previous?.find((c) => c.type === type);
  const lastTransitionTime = before?.status === next.status ? before.lastTransitionTime : rfc3339(now);
  return { type, status: next.status, observedGeneration: generation, lastTransitionTime, reason: next.reason, message: next.message };
}

/** metav1.Time: seconds precision. */
function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function available(input: StatusInput): NewCondition {
  const { name, namespace, deployment, serviceClusterIP } = input;
  const serviceFailure = input.failures.find((f) => f.kind === 'Service');
  if (!serviceClusterIP) {
    return {
      status: 'False', reason: 'ServiceUnavailable',
      message: serviceFailure
        ? `Service ${namespace}/${name} could not be applied: ${serviceFailure.message}`
        : `Service ${namespace}/${name} does not have a clusterIP yet`,
    };
  }
  const wanted = input.wantedReplicas ?? deployment?.wantedReplicas ?? 0;
  if (wanted === 0) return { status: 'False', reason: 'ScaledToZero', message: `spec.replicas is 0: no resolver answers at ${serviceClusterIP}` };
  const ready = deployment?.readyReplicas ?? 0;
  if (ready === 0) {
    return {
      status: 'False', reason: 'NoReplicasReady',
      message: `none of the ${wanted} replicas is ready; see kubectl -n ${namespace} get pods -l app.kubernetes.io/instance=${name}`,
    };
  }
  return { status: 'True', reason: 'ReplicasReady', message: `${ready} of ${wanted} replicas ready behind Service ${namespace}/${name} at ${serviceClusterIP}` };
}

function progressing(input: StatusInput): NewCondition {
  const { deployment } = input;
  if (input.invalidSpec !== undefined) {
    return input.invalidReason
      ? { status: 'False', reason: input.invalidReason, message: 'nothing rolls out until spec.version is a release the operator runs (see Degraded)' }
      : { status: 'False', reason: 'InvalidSpec', message: 'nothing rolls out until the spec is valid (see Degraded)' };
  }
  if (input.failures.some((f) => f.kind === 'Deployment')) return { status: 'False', reason: 'ApplyFailed', message: 'the Deployment could not be applied (see Degraded)' };
  if (!deployment) return { status: 'True', reason: 'Creating', message: 'creating the Deployment' };
  if (stalled(deployment)) {
    return { status: 'False', reason: 'RolloutStalled', message: `the rollout stalled: ${deploymentConditionMessage(deployment, 'Progressing')}` };
  }
  const version = deployment.templateVersion ?? '(unknown)';
  if (rolledOut(deployment)) return { status: 'False', reason: 'RolloutComplete', message: `all ${deployment.updatedReplicas} replicas run version ${version}` };
  const old = Math.max(0, deployment.replicas - deployment.updatedReplicas);
  return {
    status: 'True', reason: 'RollingOut',
    message: `rolling out version ${version}: ${deployment.updatedReplicas} of ${deployment.wantedReplicas} replicas updated, `
      + `${deployment.readyReplicas} ready${old > 0 ? `, ${old} old to replace` : ''}`,
  };
}

function deploymentConditionMessage(d: DeploymentState, type: string): string {
  return d.conditions.find((c) => c.type === type)?.message ?? type;
}

function degraded(input: StatusInput): NewCondition {
  const { deployment } = input;
  if (input.invalidSpec !== undefined) {
    return input.invalidReason
      ? { status: 'True', reason: input.invalidReason, message: `${input.invalidSpec}; the children are left as they are` }
      : { status: 'True', reason: 'InvalidSpec', message: `the spec is not valid: ${input.invalidSpec}` };
  }
  if (input.failures.length > 0) {
    const reason = input.failures.some((f) => f.reason === 'ClusterIPUnavailable') ? 'ClusterIPUnavailable' : 'ApplyFailed';
    return { status: 'True', reason, message: input.failures.map((f) => `${f.kind} ${input.namespace}/${f.name}: ${f.message}`).join('; ') };
  }
  if (input.invalidBaseline !== undefined) {
    return { status: 'True', reason: 'InvalidBaseline', message: `${input.invalidBaseline}; the instance serves itself, with no fallback` };
  }
  const replicaFailure = deploymentCondition(deployment, 'ReplicaFailure');
  if (replicaFailure) return { status: 'True', reason: 'ReplicaFailure', message: `pods cannot be created: ${replicaFailure.message ?? 'see the ReplicaSet\'s events'}` };
  if (deployment && stalled(deployment)) return { status: 'True', reason: 'RolloutStalled', message: deploymentConditionMessage(deployment, 'Progressing') };
  return { status: 'False', reason: 'AsExpected', message: 'every child matches the spec' };
}

/** True when two statuses say the same (undefined fields and key order do not matter). */
export function sameStatus(a: ClusterDNSStatus | undefined, b: ClusterDNSStatus | undefined): boolean {
  const normal = (s: ClusterDNSStatus | undefined): unknown => {
    if (s === undefined) return {};
    const conditions = [...(s.conditions ?? [])].sort((x, y) => x.type.localeCompare(y.type));
    return JSON.parse(JSON.stringify({ ...s, conditions }));
  };
  return isDeepStrictEqual(normal(a), normal(b));
}

/** A Kubernetes Event to record about the ClusterDNS. */
export interface StatusEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

/**
 * The events a status change is worth: a new problem or its end, availability gained or
 * lost, a rollout started or finished. Nothing for a status that only restates itself.
 */
export function statusEvents(previous: ClusterDNSStatus | undefined, next: ClusterDNSStatus): StatusEvent[] {
  const events: StatusEvent[] = [];
  const before = (type: ConditionType): Condition | undefined => previous?.conditions?.find((c) => c.type === type);
  for (const now of next.conditions ?? []) {
    const was = before(now.type as ConditionType);
    if (was?.status === now.status && was.reason === now.reason && was.message === now.message) continue;
    const event = conditionEvent(now, was);
    if (event) events.push(event);
  }
  return events;
}

/**
 * Every switch of who answers at the clusterIP is an event: a Warning when the instance stops
 * answering by itself (a fallback, nobody at all), Normal otherwise. A drain is one when it begins.
 */
function routingEvent(now: Condition, was: Condition | undefined): StatusEvent | undefined {
  if (now.type === 'Draining') return was ? undefined : { type: 'Normal', reason: 'Draining', message: now.message };
  // Without a clusterIP, Available and Degraded already say what is wrong.
  if (now.type !== 'Serving' || now.status === 'Unknown' || now.reason === 'NoClusterIP' || was?.reason === now.reason) return undefined;
  const lostInstance = now.reason === 'NoReadyEndpoints' || now.reason === 'AnalysisRolledBack' || (now.reason === 'FallbackNoReadyReplicas' && was !== undefined);
  return { type: lostInstance ? 'Warning' : 'Normal', reason: now.reason, message: now.message };
}

/** A verdict of the analysis reached or changed, not every new count. */
function analysisEvent(now: Condition, was: Condition | undefined): StatusEvent | undefined {
  if (was?.status === now.status || now.status === 'Unknown') return undefined;
  return { type: now.status === 'False' ? 'Warning' : 'Normal', reason: now.reason, message: now.message };
}

function conditionEvent(now: Condition, was: Condition | undefined): StatusEvent | undefined {
  switch (now.type) {
    case 'Degraded':
      if (now.status === 'True') return { type: 'Warning', reason: now.reason, message: now.message };
      return was?.status === 'True' ? { type: 'Normal', reason: 'Recovered', message: `no longer degraded (was ${was.reason}): ${now.message}` } : undefined;
    case 'Available':
      if (now.status === 'True') return was?.status === 'True' ? undefined : { type: 'Normal', reason: 'Available', message: now.message };
      return was?.status === 'True' ? { type: 'Warning', reason: now.reason, message: now.message } : undefined;
    case 'Progressing':
      if (now.reason === 'RolloutComplete' && was?.reason !== 'RolloutComplete') return { type: 'Normal', reason: now.reason, message: now.message };
      if (now.reason === 'RollingOut' && was?.reason !== 'RollingOut') return { type: 'Normal', reason: now.reason, message: now.message };
      return undefined;
    case 'AnswersMatch':
      return analysisEvent(now, was);
    default:
      return routingEvent(now, was);
  }
}
