/**
 * The answering core: `lookup` turns a question in the cluster zone into a result that says
 * what kind of answer it gets (records, NODATA, NXDOMAIN, not synced yet, refused, or an
 * external CNAME target still to be resolved upstream), and `build` turns that result into
 * the sections of a response. Both are pure functions of the question, the index and the
 * configuration; the rules are CoreDNS's `kubernetes` plugin (handler.go and
 * plugin/backend_lookup.go) except where docs/coredns-differences.md says otherwise.
 */
import { ipFromReverse } from '../../dns/ip.ts';
import { RCODE, TYPE } from '../../dns/records.ts';
import type { ResourceRecord } from '../../dns/records.ts';
import type { ResponseParts } from '../../dns/response-encoder.ts';
import type { ClusterIndex } from './cluster-index.ts';
import { addressLabel } from './objects.ts';
import { trimZone } from './parse-name.ts';
import { findTargets } from './targets.ts';
import type { FindConfig, Found, Target } from './targets.ts';

export interface AnswerConfig extends FindConfig {
  readonly ttl: number;
  /** Non-loopback addresses this server answers on (they name the zone's nameserver). */
  readonly localAddresses: readonly string[];
}

export interface Question {
  /** Lower case, no trailing dot. */
  readonly name: string;
  readonly type: number;
}

export type Lookup =
  | { readonly kind: 'records'; readonly answer: readonly ResourceRecord[]; readonly additional: readonly ResourceRecord[] }
  /** `answer` is the CNAME chain so far; `target` (outside the zone) must be resolved upstream for `type`. */
  | { readonly kind: 'chase'; readonly answer: readonly ResourceRecord[]; readonly target: string; readonly type: number }
  | { readonly kind: 'nodata' }
  | { readonly kind: 'nxdomain' }
  /** The name would be NXDOMAIN, but the index has not been listed yet: SERVFAIL. */
  | { readonly kind: 'notSynced' }
  | { readonly kind: 'refused' };

export const DNS_SCHEMA_VERSION = '1.1.0';
const MAX_CNAME_CHAIN = 10;
const NODATA: Lookup = { kind: 'nodata' };
const NXDOMAIN: Lookup = { kind: 'nxdomain' };

/** Answers a question whose name is in the cluster zone. */
export function lookup(question: Question, index: ClusterIndex, config: AnswerConfig): Lookup {
  const base = trimZone(question.name, config.zone) ?? '';
  const result = lookupInZone(question, base, index, config);
  return result.kind === 'nxdomain' && !index.synced ? { kind: 'notSynced' } : result;
}

function lookupInZone(question: Question, base: string, index: ClusterIndex, config: AnswerConfig): Lookup {
  const { name, type } = question;
  switch (type) {
    case TYPE.A:
    case TYPE.AAAA:
      return addressLookup(name, base, type === TYPE.A ? 4 : 6, index, config);
    case TYPE.SRV:
      return srvLookup(name, base, index, config);
    case TYPE.CNAME:
      return cnameLookup(name, base, index, config);
    case TYPE.AXFR:
    case TYPE.IXFR:
      return { kind: 'refused' };
  }
  const zoneRecord = zoneRecords(question, base, index, config);
  if (zoneRecord) return zoneRecord;
  if (type === TYPE.ANY) {
    // RFC 8482: one small synthesized record instead of everything the name has.
    return exists(base, index, config) ? records([{ type: 'HINFO', name, ttl: config.ttl, cpu: 'RFC8482', os: '' }]) : NXDOMAIN;
  }
  // Every other type: NODATA when the name exists with some other type, else NXDOMAIN.
  return exists(base, index, config) ? NODATA : NXDOMAIN;
}

/** The records of the zone itself: SOA and NS at the apex, the schema version. */
function zoneRecords(question: Question, base: string, index: ClusterIndex, config: AnswerConfig): Lookup | undefined {
  if (question.type === TYPE.TXT && base === 'dns-version') {
    return records([{ type: 'TXT', name: question.name, ttl: config.ttl, text: DNS_SCHEMA_VERSION }]);
  }
  if (base !== '') return undefined;
  if (question.type === TYPE.SOA) return records([soaRecord(index, config)]);
  if (question.type === TYPE.NS) return nsLookup(question.name, index, config);
  return undefined;
}

/** The CNAME of an ExternalName service; NODATA for every other existing name. */
function cnameLookup(name: string, base: string, index: ClusterIndex, config: AnswerConfig): Lookup {
  if (isSpecial(base)) return NODATA;
  const found = findTargets(base, index, config);
  if (!found) return NXDOMAIN;
  const first = found[0];
  return first?.isName ? records([{ type: 'CNAME', name, ttl: config.ttl, target: first.host }]) : NODATA;
}

/**
 * A PTR question in `in-addr.arpa` or `ip6.arpa`. Undefined when the address is not a
 * cluster IP or ready endpoint: such names (and every other type) go upstream.
 */
export function lookupReverse(question: Question, index: ClusterIndex, config: AnswerConfig): Lookup | undefined {
  if (question.type !== TYPE.PTR) return undefined;
  const ip = ipFromReverse(question.name);
  if (ip === undefined) return undefined;
  const ptr = (target: string): ResourceRecord => ({ type: 'PTR', name: question.name, ttl: config.ttl, target });
  const service = index.servicesWithIp(ip)[0];
  if (service) return records([ptr(`${service.name}.${service.namespace}.svc.${config.zone}`)]);
  const targets = new Set<string>();
  for (const slice of index.slicesWithIp(ip)) {
    if (slice.service === '') continue;
    for (const address of slice.addresses) {
      if (address.ip === ip) targets.add(`${addressLabel(address)}.${slice.service}.${slice.namespace}.svc.${config.zone}`);
    }
  }
  return targets.size > 0 ? records([...targets].map(ptr)) : undefined;
}

/** The sections of the response to a lookup (a `chase` must be completed first). */
export function build(result: Exclude<Lookup, { kind: 'chase' }>, index: ClusterIndex, config: AnswerConfig): ResponseParts {
  switch (result.kind) {
    case 'records':
      return { rcode: RCODE.NOERROR, authoritative: true, answer: result.answer, additional: result.additional };
    case 'nodata':
      return { rcode: RCODE.NOERROR, authoritative: true, authority: [soaRecord(index, config)] };
    case 'nxdomain':
      return { rcode: RCODE.NXDOMAIN, authoritative: true, authority: [soaRecord(index, config)] };
    case 'notSynced':
      return { rcode: RCODE.SERVFAIL, authoritative: true, authority: [soaRecord(index, config)] };
    case 'refused':
      return { rcode: RCODE.REFUSED, authoritative: false };
  }
}

/** The zone's SOA: serial = time of the last change, minimum = TTL, its own TTL at most 300 s. */
export function soaRecord(index: ClusterIndex, config: AnswerConfig): ResourceRecord {
  return {
    type: 'SOA', name: config.zone, ttl: Math.min(config.ttl, 300),
    mname: `ns.dns.${config.zone}`, rname: `hostmaster.${config.zone}`,
    serial: index.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: config.ttl,
  };
}

function records(answer: readonly ResourceRecord[], additional: readonly ResourceRecord[] = []): Lookup {
  return { kind: 'records', answer, additional };
}

/** `dns-version.<zone>` and `ns.dns.<zone>`: names of the zone itself, not of any object. */
function isSpecial(base: string): boolean {
  return base === 'dns-version' || base === 'ns.dns';
}

/** Whether the name exists with any type: CoreDNS's "fake A lookup". */
function exists(base: string, index: ClusterIndex, config: AnswerConfig): boolean {
  return isSpecial(base) || findTargets(base, index, config) !== undefined;
}

interface Addresses {
  readonly records: readonly ResourceRecord[];
  readonly chase?: { readonly target: string };
}

function addressLookup(name: string, base: string, family: 4 | 6, index: ClusterIndex, config: AnswerConfig): Lookup {
  const found = addresses(name, base, family, index, config, []);
  if (!found) return NXDOMAIN;
  if (found.chase) return { kind: 'chase', answer: found.records, target: found.chase.target, type: family === 4 ? TYPE.A : TYPE.AAAA };
  return found.records.length > 0 ? records(found.records) : NODATA;
}

/**
 * A/AAAA records of `name`, following CNAMEs of ExternalName services inside the zone
 * (at most 10, never to itself or in a loop); a target outside the zone is left to chase.
 * Undefined when the name does not exist.
 */
function addresses(name: string, base: string, family: 4 | 6, index: ClusterIndex, config: AnswerConfig, chain: readonly ResourceRecord[]): Addresses | undefined {
  if (base === 'dns-version') return { records: [] };
  if (base === 'ns.dns') {
    return { records: nameserverAddresses(index, config).filter((a) => familyOf(a.ip) === family).map((a) => address(name, a.ip, config.ttl)) };
  }
  const found = findTargets(base, index, config);
  if (!found) return undefined;
  const out: ResourceRecord[] = [];
  const seen = new Set<string>();
  let chase: Addresses['chase'];
  for (const target of found) {
    if (!target.isName) {
      if (familyOf(target.host) === family && !seen.has(target.host)) {
        seen.add(target.host);
        out.push(address(name, target.host, config.ttl));
      }
      continue;
    }
    const cname: ResourceRecord = { type: 'CNAME', name, ttl: config.ttl, target: target.host };
    if (target.host === name || chain.length > MAX_CNAME_CHAIN || chain.some((r) => r.type === 'CNAME' && r.target === target.host)) continue;
    const inner = trimZone(target.host, config.zone);
    if (inner === undefined) {
      out.push(cname);
      chase = { target: target.host };
      continue;
    }
    const next = addresses(target.host, inner, family, index, config, [...chain, cname]);
    if (next && (next.records.length > 0 || next.chase)) {
      out.push(cname, ...next.records);
      chase = next.chase ?? chase;
    }
  }
  return chase ? { records: out, chase } : { records: out };
}

/** The family of an address the index holds (already validated and canonical). */
function familyOf(ip: string): 4 | 6 {
  return ip.includes(':') ? 6 : 4;
}

function address(name: string, ip: string, ttl: number): ResourceRecord {
  return { type: ip.includes(':') ? 'AAAA' : 'A', name, ttl, address: ip };
}

/**
 * SRV records for every (target × declared port), priority 0 and the weight 100 split
 * evenly (computed over all targets before duplicates are dropped, as CoreDNS does), with
 * each target's address in the additional section.
 */
function srvLookup(name: string, base: string, index: ClusterIndex, config: AnswerConfig): Lookup {
  if (isSpecial(base)) return NODATA;
  const found: Found = findTargets(base, index, config);
  if (!found) return NXDOMAIN;
  const internal = found.filter((t: Target) => !t.isName);
  const weight = Math.max(1, Math.floor((100 / (100 * internal.length)) * 100));
  const answer: ResourceRecord[] = [];
  const additional: ResourceRecord[] = [];
  const seen = new Set<string>();
  for (const target of internal) {
    if (target.port === -1) continue;
    const srvKey = `${target.owner} ${target.port}`;
    if (!seen.has(srvKey)) {
      seen.add(srvKey);
      answer.push({ type: 'SRV', name, ttl: config.ttl, priority: 0, weight, port: target.port, target: target.owner });
    }
    const addressKey = `${target.owner} ${target.host}`;
    if (!seen.has(addressKey)) {
      seen.add(addressKey);
      additional.push(address(target.owner, target.host, config.ttl));
    }
  }
  return answer.length > 0 ? records(answer, additional) : NODATA;
}

interface NameserverAddress {
  readonly name: string;
  readonly ip: string;
}

/**
 * The zone's nameservers, as CoreDNS finds them: the services whose endpoints are this
 * server's own addresses (so in a cluster, `kube-dns.kube-system.svc.<zone>` and its cluster
 * IP), else `ns.dns.<zone>` with the addresses themselves.
 */
function nameserverAddresses(index: ClusterIndex, config: AnswerConfig): NameserverAddress[] {
  const out: NameserverAddress[] = [];
  let foundEndpoint = false;
  for (const local of config.localAddresses) {
    for (const slice of index.slicesWithIp(local)) {
      foundEndpoint = true;
      const service = index.service(slice.namespace, slice.service);
      if (!service) continue;
      const serviceName = `${service.name}.${service.namespace}.svc.${config.zone}`;
      if (service.kind === 'headless') {
        for (const a of slice.addresses) out.push({ name: `${addressLabel(a)}.${serviceName}`, ip: a.ip });
      } else {
        for (const ip of service.clusterIPs) out.push({ name: serviceName, ip });
      }
    }
  }
  if (!foundEndpoint) return config.localAddresses.map((ip) => ({ name: `ns.dns.${config.zone}`, ip }));
  return out;
}

/** NS at the apex, with the nameservers' addresses as glue; `ns.dns.<zone>` alone when none is known. */
function nsLookup(name: string, index: ClusterIndex, config: AnswerConfig): Lookup {
  const nameservers = nameserverAddresses(index, config);
  if (nameservers.length === 0) return records([{ type: 'NS', name, ttl: config.ttl, target: `ns.dns.${config.zone}` }]);
  const answer: ResourceRecord[] = [];
  const seen = new Set<string>();
  for (const ns of nameservers) {
    if (seen.has(ns.name)) continue;
    seen.add(ns.name);
    answer.push({ type: 'NS', name, ttl: config.ttl, target: ns.name });
  }
  return records(answer, nameservers.map((ns) => address(ns.name, ns.ip, config.ttl)));
}
