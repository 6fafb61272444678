/**
 * What the webhook knows about each ClusterDNS: shrunk on arrival from the watched object to
 * the few fields the decision and the configuration need.
 */
import { parseClusterDNS } from '../api/clusterdns.ts';
import type { Serving } from '../api/clusterdns.ts';
import { API_VERSION, KIND } from '../api/names.ts';
import type { LabelSelector } from '../api/selectors.ts';
import { isEmptySelector } from '../api/selectors.ts';
import type { RawObject } from '../kube/watcher.ts';

export interface InjectionSelectors {
  readonly namespaceSelector?: LabelSelector;
  readonly podSelector?: LabelSelector;
  /** Share of matching workloads (0–100), stable per workload. */
  readonly percent: number;
}

/** One ClusterDNS as the webhook sees it. */
export interface InstanceFacts {
  readonly name: string;
  /** `status.version` when the operator reported one, else `spec.version`. */
  readonly version: string;
  /**
   * `status.clusterIP` only. `spec.clusterIP` is a request the Service may not have been
   * granted yet, so a pod is never pointed at it before the operator reports the Service.
   */
  readonly clusterIP: string | undefined;
  readonly clusterDomain: string;
  readonly injection: InjectionSelectors;
  /**
   * `status.serving`: who answers at the clusterIP (the instance, or its baseline for it), or
   * None. Absent until the operator reports it; a pod is pointed only at a serving instance.
   */
  readonly serving?: Serving;
  readonly deleting: boolean;
  /** Why the object failed validation; such an instance is never injected. */
  readonly invalid?: string;
}

/** Shrinks a raw ClusterDNS (list items may lack apiVersion and kind) to its facts. */
export function instanceFacts(raw: RawObject): InstanceFacts {
  const name = raw.metadata?.name ?? '';
  const parsed = parseClusterDNS({ ...raw, apiVersion: API_VERSION, kind: KIND });
  if (!parsed.ok) {
    return { name, version: '', clusterIP: undefined, clusterDomain: 'cluster.local', injection: { percent: 0 }, deleting: false, invalid: parsed.error };
  }
  const { metadata, spec, status } = parsed.value;
  return {
    name,
    version: status?.version || spec.version,
    clusterIP: status?.clusterIP || undefined,
    clusterDomain: spec.clusterDomain,
    injection: spec.injection,
    ...(status?.serving ? { serving: status.serving } : {}),
    deleting: metadata.deletionTimestamp !== undefined,
  };
}

/**
 * Whether an instance selects pods by its own selectors. At least one of the two selectors
 * must have terms; the other, if it has none, then matches everything (so a podSelector
 * alone selects matching pods in every namespace that is not protected).
 */
export function selectsBySelectors(injection: InjectionSelectors): boolean {
  return injection.percent > 0 && !(isEmptySelector(injection.namespaceSelector) && isEmptySelector(injection.podSelector));
}
