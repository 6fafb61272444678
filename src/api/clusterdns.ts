/**
 * The ClusterDNS resource: zod schema, TypeScript types and defaults.
 *
 * This is the second line of validation (the CRD's OpenAPI schema in
 * crds/clusterdns.io_clusterdnses.yaml is the first) and must accept and refuse the same
 * specs; test/unit/api tests both on the same examples. Defaults here equal the CRD's.
 *
 * `spec.replicas` has no schema default, in the CRD or here: the CRD's defaults are filled in
 * before its CEL rules run, so a default would make every spec that sets `spec.autoscaling`
 * look as if it set `spec.replicas` too, and the rule that they exclude each other would
 * refuse it. `replicasPolicy` applies the default of 2 where the replicas are decided.
 */
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { labelSelectorSchema } from './selectors.ts';

/** RFC 1123 label (a Kubernetes object name such as a ClusterDNS name). */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/**
 * RFC 1035 label: an RFC 1123 label that starts with a letter. A ClusterDNS name is one,
 * because it names the instance's Service, and Service names must be.
 */
export const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain (a cluster domain, a stub domain). */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An OCI image tag. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/**
 * A resolver version: an image tag that is also a label value (the pods'
 * `app.kubernetes.io/version`), so at most 63 characters that start and end alphanumeric.
 */
export const RELEASE_VERSION = /^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/;
/** A Kubernetes resource quantity such as `100m`, `70Mi` or `1.5`. */
export const QUANTITY = /^[+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** Which DNS server an instance's pods run: clusterdns' own resolver, or a CoreDNS release. */
export const engineSchema = z.enum(['clusterdns', 'coredns']);
export type Engine = z.infer<typeof engineSchema>;
/** A CoreDNS release as `spec.version` names it (the image tag is `v<version>`). */
export const COREDNS_VERSION = /^[0-9]+\.[0-9]+\.[0-9]+$/;

export const ipSchema = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });
export const podsModeSchema = z.enum(['disabled', 'insecure', 'verified']);
export type PodsMode = z.infer<typeof podsModeSchema>;

/** The CRD's CEL messages, word for word, so that both refusals read alike. */
export const REPLICAS_OR_AUTOSCALING = 'spec.replicas and spec.autoscaling are mutually exclusive: remove spec.replicas to let spec.autoscaling decide the replicas';
export const AUTOSCALING_NEEDS_A_RATIO = 'set coresPerReplica, nodesPerReplica or both (kube-dns-autoscaler uses 256 and 16)';
export const COREDNS_VERSION_SHAPE = 'with engine coredns, spec.version is a CoreDNS release such as 1.11.1 (without the v of the image tag)';

const domainSchema = z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain (lower case, dots between labels)');

/** A map with at most `max` entries (the CRD's maxProperties). */
function boundedRecord<V extends z.ZodType>(key: z.ZodType<string>, value: V, max: number) {
  return z.record(key, value).refine((map) => Object.keys(map).length <= max, `must have at most ${max} entries`);
}

export const upstreamSchema = z.strictObject({
  nameservers: z.array(ipSchema).max(3).default([]),
  cacheSeconds: z.number().int().min(0).max(3600).default(30),
  /** The memory (MiB) the cache of upstream answers may take per resolver pod, all its serving threads together. */
  cacheMiB: z.number().int().min(1).max(1024).default(16),
});

export const injectionSchema = z.strictObject({
  namespaceSelector: labelSelectorSchema.optional(),
  podSelector: labelSelectorSchema.optional(),
  percent: z.number().int().min(0).max(100).default(100),
});

const quantitySchema = z.union([z.number().int(), z.string().regex(QUANTITY, 'must be a quantity such as 100m or 70Mi')]);
const quantitiesSchema = boundedRecord(z.string(), quantitySchema, 16);

/** core/v1 ResourceRequirements, without dynamic resource claims. */
export const resourcesSchema = z.strictObject({
  limits: quantitiesSchema.optional(),
  requests: quantitiesSchema.optional(),
});

/** core/v1 Toleration. */
export const tolerationSchema = z.strictObject({
  key: z.string().max(317).optional(),
  operator: z.enum(['', 'Exists', 'Equal']).optional(),
  value: z.string().max(63).optional(),
  effect: z.enum(['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

/** The Service that answers at the instance's clusterIP whenever the instance cannot. */
export const DEFAULT_BASELINE = { namespace: 'kube-system', name: 'kube-dns' } as const;

export const serviceReferenceSchema = z.strictObject({
  namespace: z.string().max(63).regex(DNS1123_LABEL, 'must be a namespace name (a DNS-1123 label)').default(DEFAULT_BASELINE.namespace),
  name: z.string().max(63).regex(DNS1035_LABEL, 'must be a Service name (a DNS-1035 label)').default(DEFAULT_BASELINE.name),
});

export const baselineSchema = z.strictObject({
  service: serviceReferenceSchema.default({ ...DEFAULT_BASELINE }),
});

/** Who answers at the clusterIP: the instance (falling back to the baseline), or the baseline only (a rollback). */
export const routingSchema = z.enum(['Instance', 'Baseline']);
/** On delete: keep the clusterIP answering until no injected pod is left, or go at once. */
export const drainSchema = z.enum(['Wait', 'Immediate']);
/** Who answers at the clusterIP now. */
export const servingSchema = z.enum(['Instance', 'Baseline', 'None']);
export type ServiceReference = z.infer<typeof serviceReferenceSchema>;
export type Routing = z.infer<typeof routingSchema>;
export type Serving = z.infer<typeof servingSchema>;

/** What the operator does when the analysis finds the instance answering unlike its baseline. */
export const onMismatchSchema = z.enum(['Report', 'Rollback']);
export type OnMismatch = z.infer<typeof onMismatchSchema>;

/** The bounds of spec.analysis.interval; the CRD's CEL rule says the same. */
export const ANALYSIS_INTERVAL_MS = { min: 1000, max: 3_600_000 } as const;
export const ANALYSIS_INTERVAL_MESSAGE = 'must be a duration between 1s and 1h, such as 30s or 2m';

/**
 * Canary analysis (docs/analysis.md): each resolver pod asks the baseline a sample of the
 * questions it answers and counts the differences; the operator collects the counts.
 */
export const analysisSchema = z.strictObject({
  /** Percent of the answered queries each pod also asks of the baseline (0.01 to 100). */
  sample: z.number().min(0.01).max(100).default(1),
  /** How often the operator collects the pods' counts. */
  interval: z.string().regex(DURATION_PATTERN, ANALYSIS_INTERVAL_MESSAGE)
    .refine((text) => {
      const ms = parseDuration(text) ?? -1;
      return ms >= ANALYSIS_INTERVAL_MS.min && ms <= ANALYSIS_INTERVAL_MS.max;
    }, ANALYSIS_INTERVAL_MESSAGE)
    .default('30s'),
  /** Compared answers needed before the ratio is judged. */
  minQueries: z.number().int().min(1).max(1_000_000_000).default(100),
  /** The share of compared answers that may differ unexpectedly (intended differences do not count). */
  maxMismatchRatio: z.number().min(0).max(1).default(0.01),
  onMismatch: onMismatchSchema.default('Report'),
});
export type AnalysisSpec = z.infer<typeof analysisSchema>;

/** Free-form Kubernetes structures passed through to the resolver pods unchanged. */
const passthrough = z.record(z.string(), z.unknown());

/** Replicas when neither spec.replicas nor spec.autoscaling is set (as kubeadm's CoreDNS). */
export const DEFAULT_REPLICAS = 2;
/** The most replicas an instance may have, fixed or computed. */
export const MAX_REPLICAS = 100;

const perReplica = z.number().positive().optional();

/**
 * cluster-proportional-autoscaler's "linear" parameters (kube-dns-autoscaler), with its
 * defaults where it has them; `max` is bounded as `spec.replicas` is.
 */
export const autoscalingSchema = z.strictObject({
  coresPerReplica: perReplica,
  nodesPerReplica: perReplica,
  min: z.number().int().min(1).max(MAX_REPLICAS).default(1),
  max: z.number().int().min(1).max(MAX_REPLICAS).default(MAX_REPLICAS),
  preventSinglePointFailure: z.boolean().default(true),
  includeUnschedulableNodes: z.boolean().default(true),
})
  .refine((a) => a.coresPerReplica !== undefined || a.nodesPerReplica !== undefined, AUTOSCALING_NEEDS_A_RATIO)
  .refine((a) => a.min <= a.max, 'min must not be greater than max');

/**
 * Unknown fields are refused, as kubectl's default strict field validation refuses them:
 * a misspelt field is an error, not a silent default.
 */
export const clusterDNSSpecSchema = z.strictObject({
  engine: engineSchema.default('clusterdns'),
  version: z.string().regex(RELEASE_VERSION, 'must be an image tag that is a label value, such as 0.1.0'),
  image: z.string().max(512).optional(),
  /** Empty or absent: Kubernetes allocates one. */
  clusterIP: z.union([z.literal(''), ipSchema], { error: 'must be an IPv4 or IPv6 address, or empty to let Kubernetes allocate one' }).optional(),
  replicas: z.number().int().min(0).max(MAX_REPLICAS).optional(),
  autoscaling: autoscalingSchema.optional(),
  clusterDomain: domainSchema.default('cluster.local'),
  ttl: z.number().int().min(0).max(3600).default(30),
  pods: podsModeSchema.default('insecure'),
  upstream: upstreamSchema.default({ nameservers: [], cacheSeconds: 30, cacheMiB: 16 }),
  stubDomains: boundedRecord(domainSchema, z.array(ipSchema).min(1).max(3), 32).default({}),
  injection: injectionSchema.default({ percent: 100 }),
  baseline: baselineSchema.default({ service: { ...DEFAULT_BASELINE } }),
  routing: routingSchema.default('Instance'),
  drain: drainSchema.default('Wait'),
  analysis: analysisSchema.optional(),
  resources: resourcesSchema.optional(),
  nodeSelector: boundedRecord(z.string(), z.string().max(63), 64).optional(),
  tolerations: z.array(tolerationSchema).max(64).optional(),
  affinity: passthrough.optional(),
  priorityClassName: z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain').optional(),
})
  .refine((spec) => spec.replicas === undefined || spec.autoscaling === undefined, { message: REPLICAS_OR_AUTOSCALING, path: ['autoscaling'] })
  .refine((spec) => spec.engine !== 'coredns' || COREDNS_VERSION.test(spec.version), { message: COREDNS_VERSION_SHAPE, path: ['version'] });

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});

/** One question that the instance and its baseline answered differently. */
export const analysisExampleSchema = z.object({
  /** The question: `NAME TYPE`. */
  question: z.string(),
  kind: z.enum(['rcode', 'answer']),
  /** The instance's answer and the baseline's, as one line each (`NOERROR 10.0.0.1`, `NXDOMAIN`). */
  answer: z.string(),
  baseline: z.string(),
  /** When the pod saw it. */
  time: z.string(),
  pod: z.string().optional(),
});

/** The analysis of the pods of one revision (status.analysis). */
export const analysisStatusSchema = z.object({
  /** What is analysed: the pods' configuration and image (and the restart annotation); a new one starts afresh. */
  revision: z.string(),
  /** When this analysis began. */
  since: z.string(),
  /** Answers compared with the baseline's. */
  queries: z.number().int(),
  /** Of those, answered differently (intended differences apart). */
  mismatches: z.number().int(),
  /** Of those, answered differently as docs/coredns-differences.md documents. */
  intended: z.number().int(),
  /** Shadow queries the baseline did not answer (not compared). */
  errors: z.number().int(),
  /** mismatches / queries. */
  ratio: z.number(),
  examples: z.array(analysisExampleSchema).optional(),
  /** Set when the analysis routed the clusterIP to the baseline (onMismatch: Rollback); it stays. */
  rolledBackAt: z.string().optional(),
});

export const clusterDNSStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  clusterIP: z.string().optional(),
  serviceName: z.string().optional(),
  version: z.string().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  serving: servingSchema.optional(),
  injectedPods: z.number().int().optional(),
  analysis: analysisStatusSchema.optional(),
  conditions: z.array(conditionSchema).optional(),
});

export const clusterDNSSchema = z.object({
  apiVersion: z.literal('clusterdns.io/v1alpha1'),
  kind: z.literal('ClusterDNS'),
  metadata: z.object({
    name: z.string().max(63).regex(DNS1035_LABEL, 'must be a DNS-1035 label (lower case letters, digits and \'-\', starting with a letter)'),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    finalizers: z.array(z.string()).optional(),
  }),
  spec: clusterDNSSpecSchema,
  status: clusterDNSStatusSchema.optional(),
});

export type ClusterDNS = z.infer<typeof clusterDNSSchema>;
export type ClusterDNSSpec = z.infer<typeof clusterDNSSpecSchema>;
export type AutoscalingSpec = z.infer<typeof autoscalingSchema>;

/** How the replicas of an instance are decided. */
export type ReplicasPolicy =
  | { readonly kind: 'fixed'; readonly replicas: number }
  | { readonly kind: 'autoscaled'; readonly params: AutoscalingSpec };

export function replicasPolicy(spec: ClusterDNSSpec): ReplicasPolicy {
  return spec.autoscaling ? { kind: 'autoscaled', params: spec.autoscaling } : { kind: 'fixed', replicas: spec.replicas ?? DEFAULT_REPLICAS };
}
export type ClusterDNSStatus = z.infer<typeof clusterDNSStatusSchema>;
export type Condition = z.infer<typeof conditionSchema>;
export type ConditionType = 'Available' | 'Progressing' | 'Degraded' | 'Scaled' | 'Serving' | 'Draining' | 'AnswersMatch';
export type AnalysisStatus = z.infer<typeof analysisStatusSchema>;
export type AnalysisExample = z.infer<typeof analysisExampleSchema>;

/** Parses a ClusterDNS (defaults applied); errors name the field, e.g. `spec.ttl: ...`. */
export function parseClusterDNS(raw: unknown): { ok: true; value: ClusterDNS } | { ok: false; error: string } {
  const result = clusterDNSSchema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: formatZodError(result.error) };
}

/** "spec.ttl: Too big: expected number to be <=3600; spec.pods: ..." */
export function formatZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}
