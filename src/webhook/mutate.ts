/**
 * The mutation: a pure function from a pod to the pod pointed at an instance.
 *
 * The pod gets `dnsPolicy: None` and the dnsConfig that kubelet would write for ClusterFirst
 * with the instance's clusterIP as the cluster DNS, merged with the pod's own dnsConfig as
 * kubelet merges it (our entries first, the pod's extras after them without duplicates, the
 * pod's options overriding ours by name), cut to what the API accepts. The annotation
 * `clusterdns.io/injected=<name>@<version>` and the label `clusterdns.io/injected-into=<name>`
 * record what was done.
 */
import { INJECTED_ANNOTATION, INJECTED_INTO_LABEL } from '../api/names.ts';
import type { InjectionTarget } from './decide.ts';

/** The limits of the pod API (k8s.io/kubernetes/pkg/apis/core/validation). */
export const DNS_LIMITS = { nameservers: 3, searches: 32, searchChars: 2048 } as const;

export interface DnsOption {
  readonly name: string;
  readonly value?: string;
}

export interface PodDnsConfig {
  readonly nameservers?: readonly string[];
  readonly searches?: readonly string[];
  readonly options?: readonly DnsOption[];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What kubelet writes for ClusterFirst in `namespace`, pointed at `target`. */
export function clusterFirstDnsConfig(namespace: string, target: InjectionTarget): Required<PodDnsConfig> {
  const domain = target.clusterDomain;
  return {
    nameservers: [target.clusterIP],
    searches: [`${namespace}.svc.${domain}`, `svc.${domain}`, domain],
    options: [{ name: 'ndots', value: '5' }],
  };
}

/** Kubelet's merge of a base config with a pod's own dnsConfig, within the API's limits. */
export function mergeDnsConfig(base: Required<PodDnsConfig>, own: PodDnsConfig | undefined): Required<PodDnsConfig> {
  const nameservers = unique([...base.nameservers, ...(own?.nameservers ?? [])]).slice(0, DNS_LIMITS.nameservers);
  const searches: string[] = [];
  let chars = -1; // the API counts the list joined by single spaces
  for (const search of unique([...base.searches, ...(own?.searches ?? [])])) {
    if (searches.length === DNS_LIMITS.searches || chars + 1 + search.length > DNS_LIMITS.searchChars) break;
    searches.push(search);
    chars += 1 + search.length;
  }
  const options = new Map<string, DnsOption>();
  for (const option of [...base.options, ...(own?.options ?? [])]) options.set(option.name, option);
  return { nameservers, searches, options: [...options.values()] };
}

/**
 * Returns a copy of `pod` pointed at `target`; `pod` itself is not changed. Applying it to
 * its own result changes nothing more (our entries come first and duplicates are dropped).
 */
export function injectDns(pod: JsonObject, namespace: string, target: InjectionTarget): JsonObject {
  const mutated = structuredClone(pod);
  const spec = objectAt(mutated, 'spec');
  const metadata = objectAt(mutated, 'metadata');
  const own = spec['dnsConfig'] as PodDnsConfig | undefined;
  const merged = mergeDnsConfig(clusterFirstDnsConfig(namespace, target), own);
  spec['dnsPolicy'] = 'None';
  spec['dnsConfig'] = toJson(merged);
  objectAt(metadata, 'annotations')[INJECTED_ANNOTATION] = `${target.name}@${target.version}`;
  // The operator counts (and drains) the pods that depend on an instance by this label.
  objectAt(metadata, 'labels')[INJECTED_INTO_LABEL] = target.name;
  return mutated;
}

function objectAt(parent: JsonObject, key: string): JsonObject {
  const value = parent[key];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function toJson(config: Required<PodDnsConfig>): JsonObject {
  return {
    nameservers: [...config.nameservers],
    searches: [...config.searches],
    options: config.options.map((o): JsonObject => (o.value === undefined ? { name: o.name } : { name: o.name, value: o.value })),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
