/**
 * Kubernetes objects shrunk to what answers need, the moment they arrive (as CoreDNS's
 * `object/service.go` and `object/endpoint.go`): a Service of 3 KB becomes a few strings,
 * an EndpointSlice keeps only its ready addresses with their hostnames.
 * Everything here is pure.
 */
import { canonicalIp, dashedIp } from '../../dns/ip.ts';
import type { RawObject } from '../../kube/watcher.ts';

export interface PortRecord {
  /** '' for an unnamed port. */
  readonly name: string;
  /** -1 stands for "no ports declared" (answered for A/AAAA, never for SRV), as in CoreDNS. */
  readonly port: number;
  /** 'TCP', 'UDP' or 'SCTP'. */
  readonly protocol: string;
}

export type ServiceKind = 'clusterIP' | 'headless' | 'externalName';

export interface ServiceRecord {
  readonly namespace: string;
  readonly name: string;
  readonly kind: ServiceKind;
  /** Canonical cluster IPs, in `spec.clusterIPs` order; empty unless kind is clusterIP. */
  readonly clusterIPs: readonly string[];
  /** Lower case, without a trailing dot; '' unless kind is externalName. */
  readonly externalName: string;
  readonly ports: readonly PortRecord[];
}

export interface EndpointAddress {
  /** Canonical address. */
  readonly ip: string;
  /** The endpoint's hostname; '' when it has none (see addressLabel). */
  readonly hostname: string;
}

/**
 * The label an endpoint is known by: its hostname, or its dashed address. Computed when
 * answered rather than stored: a string per address would add a sixth to a large index.
 */
export function addressLabel(address: EndpointAddress): string {
  return address.hostname || dashedIp(address.ip);
}

export interface SliceRecord {
  readonly namespace: string;
  readonly name: string;
  /** The `kubernetes.io/service-name` label; '' when absent. */
  readonly service: string;
  readonly ports: readonly PortRecord[];
  /** Ready addresses only (`conditions.ready` absent counts as ready). */
  readonly addresses: readonly EndpointAddress[];
  /** `endpoints.kubernetes.io/last-change-trigger-time` in epoch ms, for the programming-latency metric. */
  readonly triggerTime: number | undefined;
}

export interface NamespaceRecord {
  readonly name: string;
}

export interface PodRecord {
  readonly namespace: string;
  readonly name: string;
  readonly ips: readonly string[];
  /** A pod being deleted keeps its old record until it is gone, as in CoreDNS. */
  readonly terminating: boolean;
}

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
const NO_PORTS: readonly PortRecord[] = Object.freeze([{ name: '', port: -1, protocol: '' }]);

type Loose = Record<string, unknown> | undefined;

function record(value: unknown): Loose {
  return typeof value === 'object' && value !== null ? value as Record<string, unknown> : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Namespaces and protocol strings repeat across thousands of objects; one shared copy of
 * each keeps the index small (JSON.parse makes a new string every time).
 */
const interned = new Map<string, string>();
function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < 100_000) interned.set(value, value);
  return value;
}

function meta(raw: RawObject): { namespace: string; name: string; labels: Loose; annotations: Loose } {
  const metadata = record(raw.metadata);
  return {
    namespace: intern(text(metadata?.['namespace'])),
    name: text(metadata?.['name']),
    labels: record(metadata?.['labels']),
    annotations: record(metadata?.['annotations']),
  };
}

/**
 * Port lists repeat too (most Services of a cluster declare one of a few): one frozen copy of
 * each, so 50,000 Services on port 80 hold one list, not 50,000.
 */
const internedPorts = new Map<string, readonly PortRecord[]>();
function ports(raw: unknown, numberKey: 'port'): readonly PortRecord[] {
  const parsed = list(raw).map((p) => {
    const port = record(p);
    const number = port?.[numberKey];
    return {
      name: intern(text(port?.['name'])),
      port: typeof number === 'number' ? number : -1,
      protocol: intern(text(port?.['protocol']) || 'TCP'),
    };
  });
  if (parsed.length === 0) return NO_PORTS;
  const key = JSON.stringify(parsed);
  const known = internedPorts.get(key);
  if (known) return known;
  const frozen = Object.freeze(parsed.map((p) => Object.freeze(p)));
  if (internedPorts.size < 10_000) internedPorts.set(key, frozen);
  return frozen;
}

export function shrinkService(raw: RawObject): ServiceRecord {
  const { namespace, name } = meta(raw);
  const spec = record(raw['spec']);
  const type = text(spec?.['type']);
  const declared = list(spec?.['clusterIPs']).map(text);
  const ips = declared.length > 0 ? declared : [text(spec?.['clusterIP'])];
  const servicePorts = ports(spec?.['ports'], 'port');
  const base = { namespace, name, ports: servicePorts };
  if (type === 'ExternalName') {
    const externalName = text(spec?.['externalName']).toLowerCase().replace(/\.$/, '');
    return { ...base, kind: 'externalName', clusterIPs: [], externalName };
  }
  if (ips[0] === 'None') return { ...base, kind: 'headless', clusterIPs: [], externalName: '' };
  const clusterIPs = ips.map(canonicalIp).filter((ip): ip is string => ip !== undefined);
  return { ...base, kind: 'clusterIP', clusterIPs, externalName: '' };
}

export function shrinkEndpointSlice(raw: RawObject): SliceRecord {
  const { namespace, name, labels, annotations } = meta(raw);
  const addressType = text(raw['addressType']);
  const addresses: EndpointAddress[] = [];
  if (addressType === 'IPv4' || addressType === 'IPv6') {
    for (const item of list(raw['endpoints'])) {
      const endpoint = record(item);
      const ready = record(endpoint?.['conditions'])?.['ready'];
      if (ready === false) continue;
      const hostname = text(endpoint?.['hostname']);
      for (const address of list(endpoint?.['addresses'])) {
        const ip = canonicalIp(text(address));
        if (ip !== undefined) addresses.push({ ip, hostname });
      }
    }
  }
  const slicePorts = ports(raw['ports'], 'port');
  const trigger = Date.parse(text(annotations?.[TRIGGER_TIME_ANNOTATION]));
  return {
    namespace,
    name,
    service: text(labels?.[SERVICE_NAME_LABEL]),
    ports: slicePorts,
    addresses,
    triggerTime: Number.isNaN(trigger) ? undefined : trigger,
  };
}

export function shrinkNamespace(raw: RawObject): NamespaceRecord {
  return { name: meta(raw).name };
}

export function shrinkPod(raw: RawObject): PodRecord {
  const { namespace, name } = meta(raw);
  const status = record(raw['status']);
  const listed = list(status?.['podIPs']).map((p) => text(record(p)?.['ip']));
  const ips = (listed.length > 0 ? listed : [text(status?.['podIP'])])
    .map(canonicalIp)
    .filter((ip): ip is string => ip !== undefined);
  const deletion = record(raw.metadata)?.['deletionTimestamp'];
  return { namespace, name, ips, terminating: typeof deletion === 'string' && deletion !== '' };
}
