/**
 * The cluster state and the questions of the differential test against CoreDNS: every kind
 * of Service and endpoint the rules distinguish, and every name shape the parser knows
 * (plus names that do not exist), asked with every common type.
 */
import type { KubeClient } from '../../src/kube/client.ts';

export type QuestionKind =
  /** The zone apex. */
  | 'apex'
  /** `svc.<zone>`, `pod.<zone>` and namespace names: they exist without records of their own. */
  | 'structural'
  | 'version'
  | 'nameserver'
  /** Names that do not exist (NXDOMAIN). */
  | 'missing'
  | 'object'
  | 'reverse'
  | 'external';

export interface Question {
  readonly name: string;
  readonly type: string;
  readonly kind: QuestionKind;
}

const TYPES = ['A', 'AAAA', 'SRV', 'TXT', 'CNAME', 'MX', 'PTR', 'NS', 'SOA', 'ANY', 'CAA'];

function slice(name: string, service: string, endpoints: object[], ports: object[]): object {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', endpoints, ports,
  };
}

const endpoint = (ip: string, ready: boolean | undefined, hostname?: string): object => ({
  addresses: [ip], ...(hostname ? { hostname } : {}), conditions: ready === undefined ? {} : { ready },
});

/** Creates the state in `ns` and `other`; the ExternalName `ext-in` comes last (it marks the end). */
export async function clusterState(client: KubeClient, ns: string, other: string): Promise<void> {
  const service = (namespace: string, name: string, spec: object): Promise<unknown> =>
    client.request('POST', `/api/v1/namespaces/${namespace}/services`, { body: { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec } });
  const postSlice = (body: object): Promise<unknown> => client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, { body });
  const http = { name: 'http', port: 80, protocol: 'TCP' };
  await service(ns, 'web', { ports: [http, { name: 'dns', port: 53, protocol: 'UDP' }] });
  await service(ns, 'single', { ports: [{ port: 8080 }] });
  await service(other, 'web', { ports: [http] });
  await service(ns, 'hl', { clusterIP: 'None', ports: [http] });
  await service(ns, 'hlnoports', { clusterIP: 'None' });
  await service(ns, 'hlempty', { clusterIP: 'None', ports: [http] });
  await service(ns, 'ext', { type: 'ExternalName', externalName: 'db.example.test' });
  await postSlice(slice('web-direct', 'web', [endpoint('10.253.2.1', true)], [http]));
  await postSlice(slice('hl-a', 'hl', [
    endpoint('10.253.0.1', true, 'alpha'), endpoint('10.253.0.2', true), endpoint('10.253.0.3', undefined), endpoint('10.253.0.4', false),
  ], [http]));
  await postSlice(slice('hl-b', 'hl', [endpoint('10.253.0.1', true, 'alpha'), endpoint('10.253.0.5', true, 'beta')], [http]));
  await postSlice(slice('hlnoports-a', 'hlnoports', [endpoint('10.253.1.1', true)], []));
  await postSlice(slice('hlempty-a', 'hlempty', [endpoint('10.253.3.1', false)], [http]));
  await service(ns, 'ext-in', { type: 'ExternalName', externalName: `web.${ns}.svc.cluster.local` });
}

interface ServiceIPs {
  spec: { clusterIP: string };
}

/** Every name with every type, plus PTR for the cluster's addresses and a few names outside. */
export async function questions(client: KubeClient, ns: string, other: string): Promise<Question[]> {
  const svc = (name: string, namespace = ns): string => `${name}.${namespace}.svc.cluster.local`;
  const names: Array<[string, QuestionKind]> = [
    ['cluster.local', 'apex'],
    ['svc.cluster.local', 'structural'],
    ['pod.cluster.local', 'structural'],
    [`${ns}.svc.cluster.local`, 'structural'],
    [`${other}.svc.cluster.local`, 'structural'],
    [`${ns}.pod.cluster.local`, 'structural'],
    ['dns-version.cluster.local', 'version'],
    ['ns.dns.cluster.local', 'nameserver'],
    [svc('web'), 'object'],
    [svc('WEB').replace('cluster.local', 'Cluster.Local'), 'object'],
    [svc('web', other), 'object'],
    [svc('single'), 'object'],
    [`_http._tcp.${svc('web')}`, 'object'],
    [`_dns._udp.${svc('web')}`, 'object'],
    [`10-253-2-1.${svc('web')}`, 'object'],
    [svc('hl'), 'object'],
    [`alpha.${svc('hl')}`, 'object'],
    [`ALPHA.${svc('hl')}`, 'object'],
    [`10-253-0-2.${svc('hl')}`, 'object'],
    [`10-253-0-3.${svc('hl')}`, 'object'],
    [`_http._tcp.${svc('hl')}`, 'object'],
    [svc('hlnoports'), 'object'],
    [svc('ext'), 'object'],
    [svc('ext-in'), 'object'],
    [`10-244-0-9.${ns}.pod.cluster.local`, 'object'],
    [`fd00--9.${ns}.pod.cluster.local`, 'object'],
    ['foo.cluster.local', 'missing'],
    ['nosuchns.svc.cluster.local', 'missing'],
    [svc('nosuchsvc'), 'missing'],
    [svc('hlempty'), 'missing'],
    [`10-253-0-4.${svc('hl')}`, 'missing'],
    [`gamma.${svc('hl')}`, 'missing'],
    [`_dns._tcp.${svc('web')}`, 'missing'],
    [`_http._tcp.${svc('hlnoports')}`, 'missing'],
    [`a.b.c.${svc('web')}`, 'missing'],
    [`${ns}.nope.cluster.local`, 'missing'],
    [`1-2-3-4.nosuchns.pod.cluster.local`, 'missing'],
    [`1-2-3-999.${ns}.pod.cluster.local`, 'missing'],
    [`_http._tcp.${svc('ext')}`, 'missing'],
  ];
  const out: Question[] = names.flatMap(([name, kind]) => TYPES.map((type) => ({ name, type, kind })));
  const reverse = (ip: string): string => `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const webIp = (await client.request<ServiceIPs>('GET', `/api/v1/namespaces/${ns}/services/web`)).spec.clusterIP;
  const singleIp = (await client.request<ServiceIPs>('GET', `/api/v1/namespaces/${ns}/services/single`)).spec.clusterIP;
  for (const ip of [webIp, singleIp, '10.253.0.1', '10.253.0.2', '10.253.0.5', '10.253.2.1', '10.253.0.4', '192.0.2.200']) {
    out.push({ name: reverse(ip), type: 'PTR', kind: 'reverse' });
  }
  out.push({ name: reverse(webIp), type: 'A', kind: 'reverse' });
  for (const name of ['www.example.test', 'db.example.test', 'nothing.example.test']) out.push({ name, type: 'A', kind: 'external' });
  return out;
}
