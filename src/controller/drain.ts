/**
 * Drain before delete: the finalizer `clusterdns.io/drain` on every ClusterDNS, and what the
 * Draining condition says while a deleted instance waits for its injected pods to go.
 *
 * Deleting a ClusterDNS sets its deletionTimestamp; while the finalizer stays, the object and
 * so its children (owned by it) stay too, and routing sends its clusterIP to the baseline.
 * The Service keeps the address, so no other Service can be given it, and the injected pods,
 * which keep that address in their dnsConfig for life, keep getting answers. Once no injected
 * pod is left the finalizer goes, and the garbage collector removes the children.
 */
import { API_VERSION, CLUSTERDNS_PATH, DRAIN_FINALIZER, INJECTED_INTO_LABEL } from '../api/names.ts';
import type { KubeClient } from '../kube/client.ts';
import { KubeApiError } from '../kube/client.ts';
import type { RawObject } from '../kube/watcher.ts';
import type { InjectedPod } from './pods.ts';

/** The ClusterDNS metadata the finalizer patches read. */
export interface FinalizerTarget {
  readonly name: string;
  readonly resourceVersion?: string;
  readonly finalizers?: readonly string[];
}

export function hasDrainFinalizer(target: FinalizerTarget): boolean {
  return (target.finalizers ?? []).includes(DRAIN_FINALIZER);
}

/**
 * Sets the finalizers to `finalizers` if the object is still at `resourceVersion` (a merge
 * patch with the version: someone else's finalizer added meanwhile makes it fail with 409
 * and the reconcile retry, instead of being overwritten). Returns the object as patched;
 * undefined when it is gone already, which is fine.
 */
async function patchFinalizers(client: KubeClient, target: FinalizerTarget, finalizers: readonly string[]): Promise<RawObject | undefined> {
  try {
    return await client.request<RawObject>('PATCH', `${CLUSTERDNS_PATH}/${target.name}`, {
      body: JSON.stringify({ apiVersion: API_VERSION, metadata: { finalizers, ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}) } }),
      contentType: 'application/merge-patch+json',
    });
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
}

export function addDrainFinalizer(client: KubeClient, target: FinalizerTarget): Promise<RawObject | undefined> {
  return patchFinalizers(client, target, [...(target.finalizers ?? []), DRAIN_FINALIZER]);
}

export function removeDrainFinalizer(client: KubeClient, target: FinalizerTarget): Promise<RawObject | undefined> {
  return patchFinalizers(client, target, (target.finalizers ?? []).filter((f) => f !== DRAIN_FINALIZER));
}

/** What status says about a drain under way. */
export interface DrainState {
  /** Injected pods that still resolve names. */
  readonly pods: number;
  /** A few of them, `namespace/name`, for the message. */
  readonly examples: readonly string[];
}

const EXAMPLES = 5;

export function drainState(dependents: readonly InjectedPod[]): DrainState {
  return { pods: dependents.length, examples: dependents.slice(0, EXAMPLES).map((p) => `${p.namespace}/${p.name}`) };
}

/** The Draining condition's message. */
export function drainMessage(name: string, clusterIP: string, drain: DrainState): string {
  const more = drain.pods > drain.examples.length ? `, and ${drain.pods - drain.examples.length} more` : '';
  const address = clusterIP ? `its Service and clusterIP ${clusterIP}` : 'its Service';
  return `waiting for ${drain.pods} injected pod${drain.pods === 1 ? '' : 's'} (${drain.examples.join(', ')}${more}); `
    + `${address} stay until none is left. To finish, recreate their workloads (kubectl rollout restart), `
    + `find them with kubectl get pods -A -l ${INJECTED_INTO_LABEL}=${name}`;
}
