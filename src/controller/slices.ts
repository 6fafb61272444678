/**
 * EndpointSlices as routing reads and writes them: shrunk on arrival to the ready endpoints
 * and the ports, and the operator's own slice of an instance's Service rendered as a pure
 * function of what it must hold.
 *
 * kube-proxy programs every slice labelled `kubernetes.io/service-name=<Service>`, whoever
 * wrote it, so a slice the operator owns is how the baseline's endpoints reach an instance's
 * clusterIP. The EndpointSlice controller leaves it alone: it manages (and deletes) only the
 * slices whose `endpointslice.kubernetes.io/managed-by` is its own.
 */
import type { RawObject } from '../kube/watcher.ts';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The managed-by value of the operator's own slices. */
export const OPERATOR_SLICE_MANAGER = 'clusterdns-operator';
/** The managed-by values of kube-controller-manager's EndpointSlice and EndpointSlice mirroring controllers. */
export const CONTROLLER_SLICE_MANAGER = 'endpointslice-controller.k8s.io';
export const MIRRORING_SLICE_MANAGER = 'endpointslicemirroring-controller.k8s.io';
/** On the operator's slice: whose endpoints it holds (`Instance` or `Baseline`), for people. */
export const SLICE_SERVING_LABEL = 'clusterdns.io/serving';
/** On the operator's slice while it mirrors a baseline: `<namespace>/<name>` of the baseline Service. */
export const SLICE_SOURCE_ANNOTATION = 'clusterdns.io/mirrors';

export type AddressType = 'IPv4' | 'IPv6';

export interface SlicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
}

/** A ready endpoint (the only kind routing copies). */
export interface SliceEndpoint {
  readonly addresses: readonly string[];
  readonly nodeName?: string;
  readonly zone?: string;
  readonly targetRef?: { readonly kind: string; readonly namespace: string; readonly name: string; readonly uid: string };
}

/** What routing keeps of an EndpointSlice. */
export interface SliceState {
  readonly name: string;
  readonly serviceName: string;
  /** `endpointslice.kubernetes.io/managed-by`, "" when unset. */
  readonly managedBy: string;
  readonly addressType: string;
  readonly ports: readonly SlicePort[];
  /** Only the endpoints that are ready and not terminating. */
  readonly ready: readonly SliceEndpoint[];
}

/** What the operator's slice holds: one address family, one set of ports, ready endpoints only. */
export interface SliceContent {
  readonly serving: 'Instance' | 'Baseline';
  readonly addressType: AddressType;
  readonly ports: readonly SlicePort[];
  readonly endpoints: readonly SliceEndpoint[];
  /** The baseline Service mirrored, `<namespace>/<name>`. */
  readonly source?: string;
}

interface RawEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null; terminating?: boolean | null };
  nodeName?: string;
  zone?: string;
  targetRef?: { kind?: string; namespace?: string; name?: string; uid?: string };
}

/**
 * Shrinks a raw EndpointSlice. An endpoint counts as ready when its `ready` condition is true
 * or unset (the API's advice for an unknown state) and it is not terminating.
 */
export function shrinkSlice(raw: RawObject): SliceState {
  const metadata = raw.metadata ?? {};
  const labels = (metadata as { labels?: Record<string, string> }).labels ?? {};
  const ports = ((raw['ports'] ?? []) as Array<{ name?: string; port?: number; protocol?: string }>)
    .map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP' }));
  const ready = ((raw['endpoints'] ?? []) as RawEndpoint[])
    .filter((e) => (e.conditions?.ready ?? true) && e.conditions?.terminating !== true && (e.addresses ?? []).length > 0)
    .map((e): SliceEndpoint => ({
      addresses: e.addresses ?? [],
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.targetRef?.name ? {
        targetRef: { kind: e.targetRef.kind ?? '', namespace: e.targetRef.namespace ?? '', name: e.targetRef.name, uid: e.targetRef.uid ?? '' },
      } : {}),
    }));
  return {
    name: metadata.name ?? '',
    serviceName: labels[SERVICE_NAME_LABEL] ?? '',
    managedBy: labels[MANAGED_BY_LABEL] ?? '',
    addressType: typeof raw['addressType'] === 'string' ? raw['addressType'] : '',
    ports,
    ready,
  };
}

/** The name of the operator's slice for the Service `service` (no generated name can be it). */
export function operatorSliceName(service: string): string {
  return `${service}-routing`;
}

/** The address family of a clusterIP; a Service without one yet is taken to be IPv4. */
export function addressTypeOf(clusterIP: string | undefined): AddressType {
  return clusterIP?.includes(':') ? 'IPv6' : 'IPv4';
}

/** Whether two contents would render the same slice. */
export function sameContent(a: SliceContent, b: SliceContent): boolean {
  return JSON.stringify(sliceBody(a)) === JSON.stringify(sliceBody(b));
}

/**
 * The body of the operator's slice (everything but metadata): endpoints sorted by address so
 * that the same content always renders the same bytes, each marked ready and serving.
 */
export function sliceBody(content: SliceContent): Record<string, unknown> {
  const endpoints = [...content.endpoints]
    .sort((a, b) => (a.addresses[0] ?? '').localeCompare(b.addresses[0] ?? ''))
    .map((e) => ({
      addresses: [...e.addresses],
      conditions: { ready: true, serving: true, terminating: false },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      ...(e.targetRef ? { targetRef: { ...e.targetRef } } : {}),
    }));
  return {
    addressType: content.addressType,
    ports: content.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    endpoints,
  };
}
