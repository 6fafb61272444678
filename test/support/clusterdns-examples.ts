/**
 * ClusterDNS examples that the CRD and the zod schema must judge alike: the unit test runs
 * them through zod, the integration test through zod and the real apiserver (server-side
 * dry-run create, with kubectl's default strict field validation).
 *
 * A refused example names `field`: both refusals must mention it (the apiserver writes
 * `spec.upstream.nameservers[0]`, zod `spec.upstream.nameservers.0`, so `field` is the part
 * they share).
 */

export interface Example {
  readonly title: string;
  /** metadata.name; a valid unique one is made up when absent. */
  readonly name?: string;
  /** The whole spec; `undefined` leaves spec out. */
  readonly spec: Record<string, unknown> | undefined;
  /** undefined: accepted. */
  readonly refusedAt?: string;
}

const v = '0.1.0';

export const fullSpec = {
  engine: 'clusterdns',
  version: v,
  image: 'registry.example/clusterdns:canary',
  clusterIP: '10.96.0.20',
  replicas: 3,
  clusterDomain: 'cluster.local',
  ttl: 5,
  pods: 'verified',
  upstream: { nameservers: ['1.1.1.1', '2001:4860:4860::8888'], cacheSeconds: 60, cacheMiB: 32 },
  stubDomains: { 'corp.example': ['10.0.0.53', '10.0.0.54'] },
  injection: {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } },
    podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }, { key: 'canary', operator: 'Exists' }] },
    percent: 10,
  },
  baseline: { service: { namespace: 'dns', name: 'coredns' } },
  routing: 'Baseline',
  drain: 'Immediate',
  analysis: { sample: 0.5, interval: '1m30s', minQueries: 500, maxMismatchRatio: 0.001, onMismatch: 'Rollback' },
  resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi', cpu: 1 } },
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'dedicated', operator: 'Equal', value: 'dns', effect: 'NoSchedule' }],
  affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'dns', operator: 'Exists' }] } }] } },
  priorityClassName: 'system-cluster-critical',
};

export const examples: readonly Example[] = [
  { title: 'a spec with only a version', spec: { version: v } },
  { title: 'a spec with every field', spec: fullSpec },
  { title: 'an empty clusterIP (allocated by Kubernetes)', spec: { version: v, clusterIP: '' } },
  { title: 'an IPv6 clusterIP', spec: { version: v, clusterIP: 'fd00::20' } },
  { title: 'zero replicas, no TTL, no cache, no share', spec: { version: v, replicas: 0, ttl: 0, upstream: { cacheSeconds: 0 }, injection: { percent: 0 } } },
  { title: 'the largest replicas, ttl and percent', spec: { version: v, replicas: 100, ttl: 3600, injection: { percent: 100 } } },
  { title: 'a pre-release version', spec: { version: '1.2.3-rc.1_build.5' } },
  { title: 'a name of 63 characters', name: `a${'b'.repeat(62)}`, spec: { version: v } },
  { title: 'a baseline in another namespace, with the default name', spec: { version: v, baseline: { service: { namespace: 'dns' } } } },
  { title: 'an empty baseline (kube-system/kube-dns)', spec: { version: v, baseline: {} } },
  { title: 'autoscaling as kube-dns-autoscaler (defaults filled in, no replicas)', spec: { version: v, autoscaling: { coresPerReplica: 256, nodesPerReplica: 16 } } },
  {
    title: 'autoscaling with every field and fractional nodes per replica',
    spec: { version: v, autoscaling: { nodesPerReplica: 2.5, coresPerReplica: 0.5, min: 2, max: 10, preventSinglePointFailure: false, includeUnschedulableNodes: false } },
  },
  { title: 'an empty analysis (1 % for 30 s, at least 100 answers, 1 % may differ, Report)', spec: { version: v, analysis: {} } },
  { title: 'an analysis of every query, collected every second', spec: { version: v, analysis: { sample: 100, interval: '1s', minQueries: 1, maxMismatchRatio: 0, onMismatch: 'Report' } } },
  { title: 'the longest analysis interval, in milliseconds', spec: { version: v, analysis: { sample: 0.01, interval: '3600000ms' } } },
  { title: 'autoscaling by cores only, pinned by min = max', spec: { version: v, autoscaling: { coresPerReplica: 64, min: 3, max: 3 } } },
  { title: 'the coredns engine at a CoreDNS release', spec: { engine: 'coredns', version: '1.11.1' } },
  { title: 'the coredns engine with an image of its own', spec: { engine: 'coredns', version: '1.16.0', image: 'registry.example/coredns:v1.16.0' } },
  { title: 'the coredns engine at a release the operator refuses (the schema checks only the shape)', spec: { engine: 'coredns', version: '1.2.6' } },

  { title: 'no spec', spec: undefined, refusedAt: 'spec' },
  { title: 'no version', spec: { replicas: 1 }, refusedAt: 'spec.version' },
  { title: 'a version that starts with a dash', spec: { version: '-1.0' }, refusedAt: 'spec.version' },
  { title: 'a version with build metadata (+ is no tag character)', spec: { version: '1.0.0+abc' }, refusedAt: 'spec.version' },
  { title: 'a version longer than a label value', spec: { version: `1${'0'.repeat(63)}` }, refusedAt: 'spec.version' },
  { title: 'an unknown engine', spec: { engine: 'bind9', version: v }, refusedAt: 'spec.engine' },
  { title: 'a CoreDNS version with the v of its image tag', spec: { engine: 'coredns', version: 'v1.11.1' }, refusedAt: 'spec.version' },
  { title: 'a CoreDNS version of two numbers', spec: { engine: 'coredns', version: '1.11' }, refusedAt: 'spec.version' },
  { title: 'a resolver version with the coredns engine', spec: { engine: 'coredns', version: '0.1.0-rc.1' }, refusedAt: 'spec.version' },
  { title: 'a clusterIP that is no IP', spec: { version: v, clusterIP: '10.96.0.300' }, refusedAt: 'spec.clusterIP' },
  { title: 'a headless clusterIP', spec: { version: v, clusterIP: 'None' }, refusedAt: 'spec.clusterIP' },
  { title: 'negative replicas', spec: { version: v, replicas: -1 }, refusedAt: 'spec.replicas' },
  { title: 'too many replicas', spec: { version: v, replicas: 101 }, refusedAt: 'spec.replicas' },
  { title: 'fractional replicas', spec: { version: v, replicas: 1.5 }, refusedAt: 'spec.replicas' },
  { title: 'replicas and autoscaling together', spec: { version: v, replicas: 2, autoscaling: { nodesPerReplica: 16 } }, refusedAt: 'spec.replicas and spec.autoscaling are mutually exclusive' },
  { title: 'autoscaling without a ratio', spec: { version: v, autoscaling: { min: 2 } }, refusedAt: 'spec.autoscaling' },
  { title: 'autoscaling with min above max', spec: { version: v, autoscaling: { nodesPerReplica: 16, min: 5, max: 3 } }, refusedAt: 'spec.autoscaling' },
  { title: 'zero cores per replica', spec: { version: v, autoscaling: { coresPerReplica: 0 } }, refusedAt: 'spec.autoscaling.coresPerReplica' },
  { title: 'negative nodes per replica', spec: { version: v, autoscaling: { nodesPerReplica: -16 } }, refusedAt: 'spec.autoscaling.nodesPerReplica' },
  { title: 'an autoscaling min of 0', spec: { version: v, autoscaling: { nodesPerReplica: 16, min: 0 } }, refusedAt: 'spec.autoscaling.min' },
  { title: 'an autoscaling max over 100', spec: { version: v, autoscaling: { nodesPerReplica: 16, max: 101 } }, refusedAt: 'spec.autoscaling.max' },
  { title: 'a fractional autoscaling min', spec: { version: v, autoscaling: { nodesPerReplica: 16, min: 1.5 } }, refusedAt: 'spec.autoscaling.min' },
  { title: 'preventSinglePointFailure as a string', spec: { version: v, autoscaling: { nodesPerReplica: 16, preventSinglePointFailure: 'yes' } }, refusedAt: 'spec.autoscaling.preventSinglePointFailure' },
  { title: 'a misspelt autoscaling field', spec: { version: v, autoscaling: { coresPerReplica: 256, nodePerReplica: 16 } }, refusedAt: 'nodePerReplica' },
  { title: 'a TTL over an hour', spec: { version: v, ttl: 3601 }, refusedAt: 'spec.ttl' },
  { title: 'an unknown pods mode', spec: { version: v, pods: 'all' }, refusedAt: 'spec.pods' },
  { title: 'an upper-case cluster domain', spec: { version: v, clusterDomain: 'Cluster.Local' }, refusedAt: 'spec.clusterDomain' },
  { title: 'an upstream given by name', spec: { version: v, upstream: { nameservers: ['dns.google'] } }, refusedAt: 'spec.upstream.nameservers' },
  { title: 'four upstreams', spec: { version: v, upstream: { nameservers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4'] } }, refusedAt: 'spec.upstream.nameservers' },
  { title: 'a negative cache time', spec: { version: v, upstream: { cacheSeconds: -1 } }, refusedAt: 'spec.upstream.cacheSeconds' },
  { title: 'a cache of no memory', spec: { version: v, upstream: { cacheMiB: 0 } }, refusedAt: 'spec.upstream.cacheMiB' },
  { title: 'a cache of more than a GiB', spec: { version: v, upstream: { cacheMiB: 2048 } }, refusedAt: 'spec.upstream.cacheMiB' },
  { title: 'a stub zone that is no domain', spec: { version: v, stubDomains: { Corp_Example: ['10.0.0.53'] } }, refusedAt: 'spec.stubDomains' },
  { title: 'a stub zone without servers', spec: { version: v, stubDomains: { 'corp.example': [] } }, refusedAt: 'spec.stubDomains' },
  { title: 'a stub server given by name', spec: { version: v, stubDomains: { 'corp.example': ['ns1.corp.example'] } }, refusedAt: 'spec.stubDomains' },
  { title: 'a percent over 100', spec: { version: v, injection: { percent: 101 } }, refusedAt: 'spec.injection.percent' },
  { title: 'a negative percent', spec: { version: v, injection: { percent: -1 } }, refusedAt: 'spec.injection.percent' },
  {
    title: 'an In requirement without values',
    spec: { version: v, injection: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } } },
    refusedAt: 'spec.injection.namespaceSelector.matchExpressions',
  },
  {
    title: 'an unknown selector operator',
    spec: { version: v, injection: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Contains', values: ['a'] }] } } },
    refusedAt: 'spec.injection.podSelector.matchExpressions',
  },
  { title: 'a memory limit that is no quantity', spec: { version: v, resources: { limits: { memory: 'lots' } } }, refusedAt: 'spec.resources.limits' },
  { title: 'an unknown toleration operator', spec: { version: v, tolerations: [{ key: 'a', operator: 'Maybe' }] }, refusedAt: 'spec.tolerations' },
  { title: 'a priority class that is no DNS name', spec: { version: v, priorityClassName: 'High_Priority' }, refusedAt: 'spec.priorityClassName' },
  { title: 'an unknown routing', spec: { version: v, routing: 'Canary' }, refusedAt: 'spec.routing' },
  { title: 'a routing in lower case', spec: { version: v, routing: 'baseline' }, refusedAt: 'spec.routing' },
  { title: 'an unknown drain', spec: { version: v, drain: 'Later' }, refusedAt: 'spec.drain' },
  { title: 'an analysis sample of 0', spec: { version: v, analysis: { sample: 0 } }, refusedAt: 'spec.analysis.sample' },
  { title: 'an analysis sample below 0.01 %', spec: { version: v, analysis: { sample: 0.001 } }, refusedAt: 'spec.analysis.sample' },
  { title: 'an analysis sample over 100', spec: { version: v, analysis: { sample: 101 } }, refusedAt: 'spec.analysis.sample' },
  { title: 'an analysis interval below a second', spec: { version: v, analysis: { interval: '500ms' } }, refusedAt: 'spec.analysis.interval' },
  { title: 'an analysis interval over an hour', spec: { version: v, analysis: { interval: '1h1s' } }, refusedAt: 'spec.analysis.interval' },
  { title: 'an analysis interval without a unit', spec: { version: v, analysis: { interval: '30' } }, refusedAt: 'spec.analysis.interval' },
  { title: 'an analysis minQueries of 0', spec: { version: v, analysis: { minQueries: 0 } }, refusedAt: 'spec.analysis.minQueries' },
  { title: 'a fractional analysis minQueries', spec: { version: v, analysis: { minQueries: 10.5 } }, refusedAt: 'spec.analysis.minQueries' },
  { title: 'a mismatch ratio over 1', spec: { version: v, analysis: { maxMismatchRatio: 1.5 } }, refusedAt: 'spec.analysis.maxMismatchRatio' },
  { title: 'an onMismatch in lower case', spec: { version: v, analysis: { onMismatch: 'rollback' } }, refusedAt: 'spec.analysis.onMismatch' },
  { title: 'a misspelt analysis field', spec: { version: v, analysis: { samples: 5 } }, refusedAt: 'samples' },
  { title: 'a baseline Service name in upper case', spec: { version: v, baseline: { service: { name: 'Kube-DNS' } } }, refusedAt: 'spec.baseline.service.name' },
  { title: 'a baseline namespace with a dot', spec: { version: v, baseline: { service: { namespace: 'kube.system' } } }, refusedAt: 'spec.baseline.service.namespace' },
  { title: 'a baseline Service name over 63 characters', spec: { version: v, baseline: { service: { name: `a${'b'.repeat(63)}` } } }, refusedAt: 'spec.baseline.service.name' },
  { title: 'a misspelt baseline field', spec: { version: v, baseline: { services: { name: 'kube-dns' } } }, refusedAt: 'services' },
  { title: 'a misspelt field', spec: { version: v, replica: 3 }, refusedAt: 'replica' },
  { title: 'a name that starts with a digit (Service names may not)', name: '1dns', spec: { version: v }, refusedAt: 'metadata.name' },
  { title: 'a name longer than 63 characters', name: `a${'b'.repeat(63)}`, spec: { version: v }, refusedAt: 'metadata.name' },
  { title: 'a name with dots', name: 'dns.example', spec: { version: v }, refusedAt: 'metadata.name' },
];

/** The ClusterDNS object of an example. */
export function exampleObject(example: Example, fallbackName: string): Record<string, unknown> {
  return {
    apiVersion: 'clusterdns.io/v1alpha1',
    kind: 'ClusterDNS',
    metadata: { name: example.name ?? fallbackName },
    ...(example.spec === undefined ? {} : { spec: example.spec }),
  };
}
