/**
 * How each indexed kind is stored in a shared table (shared-table.ts): its records packed as
 * arrays without field names (half the bytes of the objects' JSON), and the keys lookups
 * find them by. `key` is "namespace/name", the name of a record within its kind.
 * Everything here is pure.
 */
import type { EndpointAddress, PodRecord, PortRecord, ServiceKind, ServiceRecord, SliceRecord } from './objects.ts';
import type { KindLayout } from './shared-table.ts';

type PackedPort = [name: string, port: number, protocol: string];

function packPorts(ports: readonly PortRecord[]): PackedPort[] {
  return ports.map((p) => [p.name, p.port, p.protocol]);
}

function unpackPorts(packed: unknown): PortRecord[] {
  return (packed as PackedPort[]).map(([name, port, protocol]) => ({ name, port, protocol }));
}

export function recordKey(record: { readonly namespace: string; readonly name: string }): string {
  return `${record.namespace}/${record.name}`;
}

export const SERVICE_LAYOUT: KindLayout<ServiceRecord> = {
  pack: (s) => [s.namespace, s.name, s.kind, s.clusterIPs, s.externalName, packPorts(s.ports)],
  unpack: ([namespace, name, kind, clusterIPs, externalName, ports]) => ({
    namespace: namespace as string,
    name: name as string,
    kind: kind as ServiceKind,
    clusterIPs: clusterIPs as string[],
    externalName: externalName as string,
    ports: unpackPorts(ports),
  }),
  keys: { key: (s) => [recordKey(s)], ip: (s) => s.clusterIPs },
};

/** The key map of slices by the Service they belong to. */
export function serviceKey(namespace: string, service: string): string {
  return `${namespace}/${service}`;
}

export const SLICE_LAYOUT: KindLayout<SliceRecord> = {
  pack: (s) => [s.namespace, s.name, s.service, packPorts(s.ports), s.addresses.flatMap((a) => [a.ip, a.hostname]), s.triggerTime ?? null],
  unpack: ([namespace, name, service, ports, flat, triggerTime]) => {
    const pairs = flat as string[];
    const addresses: EndpointAddress[] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) addresses.push({ ip: pairs[i] ?? '', hostname: pairs[i + 1] ?? '' });
    return {
      namespace: namespace as string,
      name: name as string,
      service: service as string,
      ports: unpackPorts(ports),
      addresses,
      triggerTime: typeof triggerTime === 'number' ? triggerTime : undefined,
    };
  },
  keys: { key: (s) => [recordKey(s)], service: (s) => [serviceKey(s.namespace, s.service)], ip: (s) => s.addresses.map((a) => a.ip) },
  weight: (s) => s.addresses.length,
};

export const POD_LAYOUT: KindLayout<PodRecord> = {
  pack: (p) => [p.namespace, p.name, p.ips, p.terminating],
  unpack: ([namespace, name, ips, terminating]) => ({
    namespace: namespace as string,
    name: name as string,
    ips: ips as string[],
    terminating: terminating === true,
  }),
  keys: { key: (p) => [recordKey(p)], ip: (p) => p.ips },
};
