/**
 * The cluster the answer tables run against (as CoreDNS's handler_test.go has its own).
 * Raw Kubernetes objects, so that shrinking on arrival is part of every row.
 */
import type { RawObject } from '../../../../src/kube/watcher.ts';
import type { Fixture } from './rows.ts';

interface PortSpec {
  name?: string;
  port: number;
  protocol?: string;
}

export function service(namespace: string, name: string, spec: { clusterIPs?: string[]; type?: string; externalName?: string; ports?: PortSpec[] }): RawObject {
  const clusterIPs = spec.clusterIPs ?? [];
  return {
    metadata: { namespace, name, resourceVersion: '1' },
    spec: { type: spec.type ?? 'ClusterIP', clusterIP: clusterIPs[0], clusterIPs, externalName: spec.externalName, ports: spec.ports ?? [] },
  };
}

export interface EndpointSpec {
  addresses: string[];
  hostname?: string;
  /** null: no `ready` condition at all (counts as ready). */
  ready?: boolean | null;
}

export function slice(namespace: string, name: string, serviceName: string, addressType: 'IPv4' | 'IPv6', endpoints: EndpointSpec[], ports: PortSpec[] = []): RawObject {
  return raw({
    metadata: { namespace, name, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType,
    endpoints: endpoints.map((e) => ({
      addresses: e.addresses,
      ...(e.hostname ? { hostname: e.hostname } : {}),
      conditions: e.ready === null ? {} : { ready: e.ready ?? true },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  });
}

/** Kubernetes objects as they arrive: any JSON with metadata. */
export function raw(object: object): RawObject {
  return object as RawObject;
}

export function pod(namespace: string, name: string, ips: string[], deleting = false): RawObject {
  return raw({
    metadata: { namespace, name, ...(deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  });
}

const http = { name: 'http', port: 80 };

export const CLUSTER: Fixture = {
  namespaces: ['testns', 'emptyns', 'kube-system'],
  services: [
    service('testns', 'svc1', { clusterIPs: ['10.0.0.1'], ports: [http] }),
    service('testns', 'svc6', { clusterIPs: ['1234:abcd::1'], ports: [http] }),
    service('testns', 'dual', { clusterIPs: ['10.0.0.3', '1234:abcd::3'], ports: [http, { name: 'dns', port: 53, protocol: 'UDP' }] }),
    service('testns', 'unnamed', { clusterIPs: ['10.0.0.4'], ports: [{ port: 8080 }] }),
    service('testns', 'hdls1', { clusterIPs: ['None'], ports: [http] }),
    service('testns', 'hdlsnoports', { clusterIPs: ['None'] }),
    service('testns', 'hdlsempty', { clusterIPs: ['None'], ports: [http] }),
    service('testns', 'external', { type: 'ExternalName', externalName: 'ext.interwebs.test' }),
    service('testns', 'external-to-service', { type: 'ExternalName', externalName: 'svc1.testns.svc.cluster.local' }),
    service('testns', 'external-ip', { type: 'ExternalName', externalName: '1.2.3.4' }),
    service('testns', 'loop', { type: 'ExternalName', externalName: 'loop.testns.svc.cluster.local' }),
    service('kube-system', 'kube-dns', { clusterIPs: ['10.96.0.10'], ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
  ],
  slices: [
    slice('testns', 'svc1-abcde', 'svc1', 'IPv4', [{ addresses: ['172.0.0.10'] }], [http]),
    slice('testns', 'hdls1-v4a', 'hdls1', 'IPv4', [
      { addresses: ['172.0.0.2'], hostname: 'dup-name' },
      { addresses: ['172.0.0.3'], hostname: 'dup-name' },
      { addresses: ['172.0.0.4'], ready: null },
      { addresses: ['172.0.0.5'], ready: false },
    ], [http]),
    // The same address in a second slice is answered once.
    slice('testns', 'hdls1-v4b', 'hdls1', 'IPv4', [{ addresses: ['172.0.0.2'], hostname: 'dup-name' }], [http]),
    slice('testns', 'hdls1-v6', 'hdls1', 'IPv6', [{ addresses: ['5678:abcd::1'] }, { addresses: ['5678:abcd::2'], hostname: 'v6host' }], [http]),
    slice('testns', 'hdlsnoports-x', 'hdlsnoports', 'IPv4', [{ addresses: ['172.0.0.20'] }]),
    slice('testns', 'hdlsempty-x', 'hdlsempty', 'IPv4', [{ addresses: ['172.0.0.30'], ready: false }], [http]),
    slice('kube-system', 'kube-dns-x', 'kube-dns', 'IPv4', [{ addresses: ['10.244.0.53'] }], [{ name: 'dns', port: 53, protocol: 'UDP' }]),
  ],
  pods: [pod('testns', 'web', ['10.244.1.1']), pod('testns', 'web6', ['fd00::1'])],
};
