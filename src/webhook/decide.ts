/**
 * Which instance, if any, a new pod is pointed at: a pure function of the pod, its
 * namespace and the ClusterDNS objects. Every outcome carries a sentence that says why, so
 * that logs (skips) and admission warnings explain themselves.
 *
 * Precedence: the protected namespaces are never touched; then the pod's own label
 * (`none` opts out); then its namespace's label (`none` opts the namespace out of
 * selectors too); then each ClusterDNS's `spec.injection` selectors in name order, where
 * the first instance whose selectors match and whose `percent` sample includes the pod's
 * workload wins. A pod is pointed only at an instance that is serving (its own pods or its
 * baseline answer at its clusterIP), so that injection never hands out a dead address.
 */
import { INJECTED_ANNOTATION, INSTANCE_LABEL, OPT_OUT } from '../api/names.ts';
import { isEmptySelector, matchesSelector } from '../api/selectors.ts';
import type { InstanceFacts } from './instances.ts';
import { selectsBySelectors } from './instances.ts';
import { inSample, workloadKey } from './sampling.ts';
import type { PodIdentity } from './sampling.ts';

/** What the decision reads from a pod. */
export interface PodFacts extends PodIdentity {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly hostNetwork: boolean;
  /** `spec.dnsPolicy` as sent (empty means the default, ClusterFirst). */
  readonly dnsPolicy: string;
}

export interface NamespaceFacts {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The instance a pod is pointed at. */
export interface InjectionTarget {
  readonly name: string;
  readonly version: string;
  readonly clusterIP: string;
  readonly clusterDomain: string;
}

export type Decision =
  | { readonly action: 'inject'; readonly target: InjectionTarget; readonly reason: string }
  /** Not ours to change; the reason goes to the log only. */
  | { readonly action: 'skip'; readonly reason: string }
  /** Asked for, but impossible: admitted untouched, and the reason is an admission warning. */
  | { readonly action: 'warn'; readonly reason: string };

export interface DecideInput {
  readonly pod: PodFacts;
  readonly namespace: NamespaceFacts;
  /** Every known ClusterDNS by name. */
  readonly instances: ReadonlyMap<string, InstanceFacts>;
  /** Namespaces whose pods are never mutated (the operator's own and kube-system). */
  readonly protectedNamespaces: readonly string[];
}

type Choice =
  | { readonly by: 'pod label' | 'namespace label' | 'selectors'; readonly instance: string }
  | { readonly by: 'none'; readonly skip: string };

/** Decides what to do with one pod. Pure. */
export function decide(input: DecideInput): Decision {
  const { pod, namespace } = input;
  if (input.protectedNamespaces.includes(namespace.name)) {
    return skip(`namespace ${namespace.name} is never mutated`);
  }
  const choice = chooseInstance(input);
  if (choice.by === 'none') return skip(choice.skip);
  const explicit = choice.by === 'pod label';
  const instance = input.instances.get(choice.instance);
  const via = `${choice.by} ${INSTANCE_LABEL}=${choice.instance}`;
  const untouched = 'the pod keeps the cluster DNS';
  if (!instance) return warn(`ClusterDNS ${choice.instance} (from the ${via}) does not exist; ${untouched}`);
  if (instance.invalid !== undefined) return warn(`ClusterDNS ${choice.instance} is invalid (${instance.invalid}); ${untouched}`);
  if (instance.deleting) return warn(`ClusterDNS ${choice.instance} is being deleted; ${untouched}`);
  if (!instance.clusterIP) return warn(`ClusterDNS ${choice.instance} has no clusterIP yet; ${untouched}`);
  if (instance.serving !== 'Instance' && instance.serving !== 'Baseline') {
    const why = instance.serving === 'None'
      ? 'neither its own pods nor its baseline has a ready endpoint (status.serving is None)'
      : 'the operator has not reported who answers at its clusterIP yet (no status.serving)';
    return warn(`ClusterDNS ${choice.instance} is not serving: ${why}; ${untouched}`);
  }

  const policyConflict = dnsPolicyConflict(pod);
  if (policyConflict) {
    const reason = `the pod sets ${policyConflict} itself, so it is not pointed at ClusterDNS ${choice.instance}`;
    return explicit ? warn(reason) : skip(reason);
  }
  const target = { name: instance.name, version: instance.version, clusterIP: instance.clusterIP, clusterDomain: instance.clusterDomain };
  return { action: 'inject', target, reason: `${via} points the pod at ${instance.name} (${instance.clusterIP})` };
}

function chooseInstance({ pod, namespace, instances }: DecideInput): Choice {
  const podLabel = pod.labels[INSTANCE_LABEL];
  if (podLabel === OPT_OUT) return { by: 'none', skip: `the pod opts out with ${INSTANCE_LABEL}=${OPT_OUT}` };
  if (podLabel) return { by: 'pod label', instance: podLabel };
  // A host-network pod shares the node's resolver; only its own label may change that.
  if (pod.hostNetwork) return { by: 'none', skip: `hostNetwork pods are pointed at an instance only by their own ${INSTANCE_LABEL} label` };

  const namespaceLabel = namespace.labels[INSTANCE_LABEL];
  if (namespaceLabel === OPT_OUT) return { by: 'none', skip: `namespace ${namespace.name} opts out with ${INSTANCE_LABEL}=${OPT_OUT}` };
  if (namespaceLabel) return { by: 'namespace label', instance: namespaceLabel };

  const workload = workloadKey(pod);
  let outsideSample: string | undefined;
  for (const instance of [...instances.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!selectsBySelectors(instance.injection) || !selectorsMatch(instance, pod, namespace)) continue;
    if (inSample(instance.name, workload, instance.injection.percent)) return { by: 'selectors', instance: instance.name };
    outsideSample ??= `workload ${workload} is outside the ${instance.injection.percent}% sample of ClusterDNS ${instance.name}`;
  }
  return { by: 'none', skip: outsideSample ?? 'no label and no ClusterDNS injection selector selects the pod' };
}

function selectorsMatch(instance: InstanceFacts, pod: PodFacts, namespace: NamespaceFacts): boolean {
  const { namespaceSelector, podSelector } = instance.injection;
  return (isEmptySelector(namespaceSelector) || matchesSelector(namespaceSelector ?? {}, namespace.labels))
    && (isEmptySelector(podSelector) || matchesSelector(podSelector ?? {}, pod.labels));
}

/**
 * A DNS policy the pod chose that injection would override: `Default` (the node's resolver)
 * or `None` (a hand-written dnsConfig) — unless `None` is our own earlier injection, which a
 * reinvocation sees again and leaves as it is.
 */
function dnsPolicyConflict(pod: PodFacts): string | undefined {
  if (pod.dnsPolicy === 'Default') return 'dnsPolicy Default';
  if (pod.dnsPolicy === 'None' && pod.annotations[INJECTED_ANNOTATION] === undefined) return 'dnsPolicy None';
  return undefined;
}

function skip(reason: string): Decision {
  return { action: 'skip', reason };
}

function warn(reason: string): Decision {
  return { action: 'warn', reason };
}
