/**
 * The two kinds of pod the operator watches, each through a label-selected watch and shrunk
 * on arrival to the few facts routing needs:
 * - an instance's own resolver pods (in the operator's namespace): whether each is ready, and
 *   its address, so that the operator knows at once when none is left to answer;
 * - the pods the webhook pointed at an instance (label `clusterdns.io/injected-into`, in any
 *   namespace): how many depend on it, and on which address, to drain before a delete.
 * Never a watch of every pod in the cluster.
 */
import { INJECTED_INTO_LABEL, RESOLVER_CONTAINER } from '../api/names.ts';
import { CONFIG_HASH_ANNOTATION, podRevision } from './render.ts';
import type { RawObject } from '../kube/watcher.ts';
import type { AddressType, SliceEndpoint } from './slices.ts';

/** Selects the resolver pods of every instance (their template carries the child labels). */
export const RESOLVER_POD_SELECTOR = 'app.kubernetes.io/name=clusterdns,app.kubernetes.io/managed-by=clusterdns-operator';
/** Selects every injected pod, whatever the instance. */
export const INJECTED_POD_SELECTOR = INJECTED_INTO_LABEL;
const INSTANCE = 'app.kubernetes.io/instance';

export interface ResolverPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly instance: string;
  /** As the EndpointSlice controller decides it: Ready, with an address, and not terminating. */
  readonly ready: boolean;
  /** While ready: since when (ms since the epoch, from the Ready condition; undefined when it does not say). */
  readonly readySince?: number;
  /** How often its resolver container restarted: a crash (or an OOM kill) may come again. */
  readonly restarts: number;
  readonly ips: readonly string[];
  readonly nodeName: string;
  /** What it runs: its configuration's hash and its resolver image (see podRevision). */
  readonly revision: string;
}

export interface InjectedPod {
  readonly namespace: string;
  readonly name: string;
  readonly instance: string;
  /** The first nameserver of its dnsConfig: the clusterIP it was injected with. */
  readonly nameserver: string;
  /** Succeeded or Failed: it resolves nothing any more, so it keeps no drain waiting. */
  readonly finished: boolean;
}

interface RawPod {
  metadata?: { namespace?: string; name?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec?: { nodeName?: string; dnsConfig?: { nameservers?: string[] }; containers?: Array<{ name?: string; image?: string }> };
  status?: {
    phase?: string; podIP?: string; podIPs?: Array<{ ip?: string }>;
    conditions?: Array<{ type?: string; status?: string; lastTransitionTime?: string }>;
    containerStatuses?: Array<{ name?: string; restartCount?: number }>;
  };
}

export function shrinkResolverPod(raw: RawObject): ResolverPod {
  const pod = raw as RawPod;
  const metadata = pod.metadata ?? {};
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip ?? '').filter(Boolean);
  if (ips.length === 0 && pod.status?.podIP) ips.push(pod.status.podIP);
  const readyCondition = (pod.status?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
  const ready = readyCondition !== undefined && ips.length > 0 && !metadata.deletionTimestamp;
  const readySince = ready ? sinceOf(readyCondition.lastTransitionTime) : undefined;
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    uid: metadata.uid ?? '',
    instance: metadata.labels?.[INSTANCE] ?? '',
    ready,
    ...(readySince === undefined ? {} : { readySince }),
    restarts: restartsOf(pod),
    ips,
    nodeName: pod.spec?.nodeName ?? '',
    revision: revisionOf(pod),
  };
}

/** A condition's lastTransitionTime in ms since the epoch, undefined when absent or not a time. */
function sinceOf(time: unknown): number | undefined {
  // The field is input like any other: Date.parse would take a number (42) for a year.
  const at = typeof time === 'string' ? Date.parse(time) : NaN;
  return Number.isFinite(at) ? at : undefined;
}

function restartsOf(pod: RawPod): number {
  const restarts = pod.status?.containerStatuses?.find((c) => c.name === RESOLVER_CONTAINER)?.restartCount;
  return typeof restarts === 'number' && restarts > 0 ? restarts : 0;
}

function revisionOf(pod: RawPod): string {
  return podRevision(pod.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] ?? '', pod.spec?.containers?.find((c) => c.name === RESOLVER_CONTAINER)?.image ?? '');
}

export function shrinkInjectedPod(raw: RawObject): InjectedPod {
  const pod = raw as RawPod;
  const metadata = pod.metadata ?? {};
  const phase = pod.status?.phase ?? '';
  return {
    namespace: metadata.namespace ?? '',
    name: metadata.name ?? '',
    instance: metadata.labels?.[INJECTED_INTO_LABEL] ?? '',
    nameserver: pod.spec?.dnsConfig?.nameservers?.[0] ?? '',
    finished: phase === 'Succeeded' || phase === 'Failed',
  };
}

/** The ready pods of `instance` as slice endpoints of one address family. */
export function readyEndpoints(pods: readonly ResolverPod[], instance: string, family: AddressType): SliceEndpoint[] {
  const endpoints: SliceEndpoint[] = [];
  for (const pod of pods) {
    if (pod.instance !== instance || !pod.ready) continue;
    const ip = pod.ips.find((a) => (family === 'IPv6') === a.includes(':'));
    if (ip === undefined) continue;
    endpoints.push({
      addresses: [ip],
      ...(pod.nodeName ? { nodeName: pod.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
    });
  }
  return endpoints;
}

/**
 * When the ready pods of `instance` have settled: a pod that never restarted has as soon as
 * it is ready; one that restarted (a crash, an OOM kill) once it has stayed ready for
 * `settleMs`, since what killed it may kill it again. `settled` counts the settled pods;
 * `nextAt` (ms since the epoch) is when the first of the others will be, if any.
 */
export function settledReplicas(pods: readonly ResolverPod[], instance: string, now: number, settleMs: number): { settled: number; nextAt?: number } {
  let settled = 0;
  let nextAt: number | undefined;
  for (const pod of pods) {
    if (pod.instance !== instance || !pod.ready) continue;
    const at = pod.restarts === 0 || pod.readySince === undefined ? now : pod.readySince + settleMs;
    if (at <= now) settled++;
    else nextAt = Math.min(nextAt ?? Infinity, at);
  }
  return nextAt === undefined ? { settled } : { settled, nextAt };
}

/** The injected pods of `instance` that still resolve names, in a stable order. */
export function dependentPods(pods: readonly InjectedPod[], instance: string): InjectedPod[] {
  return pods
    .filter((p) => p.instance === instance && !p.finished)
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}
