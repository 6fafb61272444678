/**
 * The backend of the answers: which targets a parsed name stands for, as CoreDNS's
 * `Records`, `findServices` and `findPods` (plugin/kubernetes/kubernetes.go) decide it.
 * Each target is an address or an external name, with the port it serves and the name it
 * is known by (the SRV target). Pure.
 */
import type { PodsMode } from '../../api/clusterdns.ts';
import { ipFromDashed } from '../../dns/ip.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { PortRecord, ServiceRecord } from './objects.ts';
import { addressLabel } from './objects.ts';
import { parseRequest } from './parse-name.ts';
import type { RecordRequest } from './parse-name.ts';

export interface Target {
  /** An IP address, or an external name (lower case, no trailing dot). */
  readonly host: string;
  readonly isName: boolean;
  /** -1 when no port is declared. */
  readonly port: number;
  /** The name this target is known by: `<svc>.<ns>.svc.<zone>` or `<endpoint>.<svc>.<ns>.svc.<zone>`. */
  readonly owner: string;
}

/** Undefined: the name does not exist (NXDOMAIN). An empty list: it exists with no data. */
export type Found = readonly Target[] | undefined;

export interface FindConfig {
  /** The cluster domain, lower case. */
  readonly zone: string;
  readonly pods: PodsMode;
}

const NONE: readonly Target[] = Object.freeze([]);

/** The targets of `base` (the name below the zone, lower case). */
export function findTargets(base: string, index: ClusterIndex, config: FindConfig): Found {
  const request = parseRequest(base);
  if (!request) return undefined;
  if (request.podOrSvc === '') return NONE;
  if (!index.namespaceExists(request.namespace)) return undefined;
  return request.podOrSvc === 'pod' ? findPods(request, index, config) : findServices(request, index, config);
}

function findPods(request: RecordRequest, index: ClusterIndex, config: FindConfig): Found {
  if (config.pods === 'disabled') return undefined;
  // `<ns>.pod.<zone>` exists once the namespace does.
  if (request.service === '') return NONE;
  const ip = ipFromDashed(request.service);
  if (ip === undefined) return undefined;
  const owner = `${request.service}.${request.namespace}.pod.${config.zone}`;
  // Port 0, not "none": CoreDNS answers SRV for a pod name with port 0, and so do we.
  const target: Target = { host: ip, isName: false, port: 0, owner };
  if (config.pods === 'insecure') return [target];
  return index.podsWithIp(ip).some((pod) => pod.namespace === request.namespace) ? [target] : undefined;
}

function findServices(request: RecordRequest, index: ClusterIndex, config: FindConfig): Found {
  // `<ns>.svc.<zone>` exists once the namespace does.
  if (request.service === '') return NONE;
  const service = index.service(request.namespace, request.service);
  if (!service) return undefined;
  const owner = `${service.name}.${service.namespace}.svc.${config.zone}`;
  if (service.kind === 'externalName') {
    // No endpoints and no ports below an external name.
    if (request.endpoint !== '' || request.port !== '' || request.protocol !== '') return undefined;
    if (service.externalName === '' || isAddress(service.externalName)) return undefined;
    return [{ host: service.externalName, isName: true, port: -1, owner }];
  }
  if (service.kind === 'headless' || request.endpoint !== '') return endpointTargets(request, service, index, owner);
  const targets: Target[] = [];
  let matched = false;
  for (const port of service.ports) {
    if (!portMatches(request, port)) continue;
    matched = true;
    for (const ip of service.clusterIPs) targets.push({ host: ip, isName: false, port: port.port, owner });
  }
  return matched ? targets : undefined;
}

/** One target per (ready address × matching port) of every slice of the service. */
function endpointTargets(request: RecordRequest, service: ServiceRecord, index: ClusterIndex, owner: string): Found {
  const targets: Target[] = [];
  for (const slice of index.slicesOf(service.namespace, service.name)) {
    for (const address of slice.addresses) {
      if (request.endpoint !== '' && request.endpoint !== addressLabel(address).toLowerCase()) continue;
      for (const port of slice.ports) {
        if (!portMatches(request, port)) continue;
        targets.push({ host: address.ip, isName: false, port: port.port, owner: `${addressLabel(address)}.${owner}` });
      }
    }
  }
  return targets.length > 0 ? targets : undefined;
}

function portMatches(request: RecordRequest, port: PortRecord): boolean {
  return (request.port === '' || request.port === port.name.toLowerCase())
    && (request.protocol === '' || request.protocol === port.protocol.toLowerCase());
}

function isAddress(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}
