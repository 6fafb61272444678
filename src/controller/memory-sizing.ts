/**
 * The resources of an instance's pods when spec.resources is absent: kubeadm's CoreDNS
 * figures (70Mi requested, 170Mi limit), raised when the cluster holds more than a resolver
 * fits in them. A resolver holds every Service, EndpointSlice and Namespace of the cluster
 * (and its Pods with `pods: verified`), so with a fixed limit a cluster that grows past it
 * gets every replica OOM-killed at once, at start, again and again. spec.resources, when
 * set, is used as it is: the user's figures always win.
 *
 * The figures per object are measured (docs/resolver.md, "Memory by cluster size"; for
 * CoreDNS, its RSS under load in bench/RESULTS.md at 10,000 to 100,000 Services); the limit leaves a
 * quarter on top for the cluster's growth, so that it is not raised at every few Services.
 */
import type { ClusterDNSSpec } from '../api/clusterdns.ts';

/** What the cluster holds, as the operator last counted it. */
export interface ClusterContents {
  readonly services: number;
  readonly endpointSlices: number;
  /** Addresses across all EndpointSlices. */
  readonly endpoints: number;
  readonly pods: number;
}

/** A container's resources as the Deployment gets them. */
export interface PodResources {
  readonly requests?: Readonly<Record<string, string | number>>;
  readonly limits?: Readonly<Record<string, string | number>>;
}

/** kubeadm's CoreDNS resources. */
export const DEFAULT_RESOURCES = { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi' } } as const;

const MIB_PER_THOUSAND = {
  /** clusterdns' shared index (docs/resolver.md). */
  clusterdns: { services: 0.16, endpointSlices: 0.22, furtherEndpoints: 0.05, pods: 0.15 },
  /**
   * CoreDNS 1.15's RSS per 1,000 Services and endpoints (and Pods) after saturating load, in
   * bench/RESULTS.md (1.8 to 2.0 from 10,000 to 100,000 Services; about 1.35 just after its
   * sync, which is not enough: Go's collector lets the heap grow to twice what is live, and a
   * limit sized from the idle figure got it OOM-killed under load).
   */
  coredns: { objects: 2.0 },
} as const;
/** clusterdns: Node.js, its code, the sockets and the heap's free space, whatever the cluster (docs/resolver.md). */
const CLUSTERDNS_BASE_MIB = 61;
/** clusterdns: the TCP connections' buffers (tcp.bufferMiB, which the operator leaves at its default). */
const TCP_BUFFER_MIB = 8;
/** clusterdns: what the garbage collector needs around live data. */
const GC_MARGIN = 1.15;
/** CoreDNS's own scaling guide: 54 MB whatever the cluster. */
const COREDNS_BASE_MIB = 54;
/** Room for the cluster to grow before the limit must be raised again (a raise rolls the pods). */
const GROWTH_MARGIN = 1.25;
/** Limits move in steps of this much, for the same reason. */
const STEP_MIB = 32;

/** What one resolver pod of `spec` is expected to hold in a cluster of `size` (MiB), with one serving thread. */
export function expectedMiB(spec: Pick<ClusterDNSSpec, 'engine' | 'pods' | 'upstream'>, size: ClusterContents): number {
  const pods = spec.pods === 'verified' ? size.pods : 0;
  if (spec.engine === 'coredns') {
    return COREDNS_BASE_MIB + (MIB_PER_THOUSAND.coredns.objects * (size.services + size.endpoints + pods)) / 1000;
  }
  const cost = MIB_PER_THOUSAND.clusterdns;
  const index = cost.services * size.services + cost.endpointSlices * size.endpointSlices
    + cost.furtherEndpoints * Math.max(0, size.endpoints - size.endpointSlices) + cost.pods * pods;
  return (CLUSTERDNS_BASE_MIB + spec.upstream.cacheMiB + TCP_BUFFER_MIB + index / 1000) * GC_MARGIN;
}

/**
 * spec.resources when set; else the defaults while their limit is a quarter above what a pod
 * is expected to hold, or else a request of that and a limit a quarter above it, in steps of
 * 32 MiB. Without
 * a count of the cluster (not made yet, or refused), what the Deployment has (`live`: a
 * limit sized before must not fall back to the defaults because one count failed), else the
 * defaults.
 */
export function podResources(spec: Pick<ClusterDNSSpec, 'engine' | 'pods' | 'upstream' | 'resources'>, size: ClusterContents | undefined, live?: PodResources): PodResources {
  if (spec.resources) return spec.resources;
  if (!size) return live ?? DEFAULT_RESOURCES;
  const expected = expectedMiB(spec, size);
  const wanted = expected * GROWTH_MARGIN;
  if (wanted <= mebibytes(DEFAULT_RESOURCES.limits.memory)) return DEFAULT_RESOURCES;
  const limit = Math.ceil(wanted / STEP_MIB) * STEP_MIB;
  const request = Math.max(mebibytes(DEFAULT_RESOURCES.requests.memory), Math.ceil(expected / STEP_MIB) * STEP_MIB);
  return { requests: { ...DEFAULT_RESOURCES.requests, memory: `${request}Mi` }, limits: { ...DEFAULT_RESOURCES.limits, memory: `${limit}Mi` } };
}

function mebibytes(quantity: string): number {
  return Number.parseInt(quantity, 10);
}
