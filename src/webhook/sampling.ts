/**
 * `spec.injection.percent`: a share of workloads, not of pods. The answer is a hash of the
 * instance and the workload, so every pod of one ReplicaSet (or one Deployment, across its
 * rollouts) gets the same answer on every replica of the webhook, with no state to keep.
 */
import { createHash } from 'node:crypto';

export interface OwnerReference {
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

/** What identifies a pod's workload. */
export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly generateName: string;
  readonly ownerReferences: readonly OwnerReference[];
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The workload a pod belongs to: its controlling owner (a ReplicaSet that a Deployment made
 * counts as that Deployment, recognised by the `pod-template-hash` suffix, so a rollout does
 * not move the workload in or out of the sample), else its `generateName`, else its name.
 */
export function workloadKey(pod: PodIdentity): string {
  const owner = pod.ownerReferences.find((o) => o.controller) ?? pod.ownerReferences[0];
  if (owner) {
    const hash = pod.labels['pod-template-hash'];
    if (owner.kind === 'ReplicaSet' && hash && owner.name.endsWith(`-${hash}`)) {
      return `${pod.namespace}/Deployment/${owner.name.slice(0, -hash.length - 1)}`;
    }
    return `${pod.namespace}/${owner.kind}/${owner.name}`;
  }
  if (pod.generateName) return `${pod.namespace}/generateName/${pod.generateName}`;
  return `${pod.namespace}/Pod/${pod.name}`;
}

/** Whether `workload` is inside the `percent` sample of `instance`. Deterministic. */
export function inSample(instance: string, workload: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return samplePoint(instance, workload) < percent;
}

/** A point in [0, 100), uniformly spread: the first 32 bits of SHA-256 of instance and workload. */
export function samplePoint(instance: string, workload: string): number {
  const digest = createHash('sha256').update(`${instance}\n${workload}`).digest();
  return (digest.readUInt32BE(0) / 2 ** 32) * 100;
}
