/**
 * The ClusterDNS resource: zod schema, TypeScript types and defaults.
 *
 * This is the second line of validation (the CRD's OpenAPI schema in
 * crds/clusterdns.io_clusterdnses.yaml is the first) and must accept and refuse the same
 * specs; test/unit/api tests both on the same examples. Defaults here equal the CRD's.
 */
import { z } from 'zod';
import { labelSelectorSchema } from './selectors.ts';

/** RFC 1123 label (a Kubernetes object name such as a ClusterDNS name). */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1123 subdomain (a cluster domain, a stub domain). */
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** An OCI image tag. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export const ipSchema = z.union([z.ipv4(), z.ipv6()], { error: 'must be an IPv4 or IPv6 address' });
export const podsModeSchema = z.enum(['disabled', 'insecure', 'verified']);
export type PodsMode = z.infer<typeof podsModeSchema>;

const domainSchema = z.string().max(253).regex(DNS1123_SUBDOMAIN, 'must be a DNS-1123 subdomain (lower case, dots between labels)');

export const upstreamSchema = z.object({
  nameservers: z.array(ipSchema).max(3).default([]),
  cacheSeconds: z.number().int().min(0).max(3600).default(30),
});

export const injectionSchema = z.object({
  namespaceSelector: labelSelectorSchema.optional(),
  podSelector: labelSelectorSchema.optional(),
  percent: z.number().int().min(0).max(100).default(100),
});

/** Free-form Kubernetes structures passed through to the resolver pods unchanged. */
const passthrough = z.record(z.string(), z.unknown());

export const clusterDNSSpecSchema = z.object({
  version: z.string().regex(IMAGE_TAG, 'must be an image tag such as 0.1.0'),
  image: z.string().max(512).optional(),
  clusterIP: ipSchema.optional(),
  replicas: z.number().int().min(0).max(100).default(2),
  clusterDomain: domainSchema.default('cluster.local'),
  ttl: z.number().int().min(0).max(3600).default(30),
  pods: podsModeSchema.default('insecure'),
  upstream: upstreamSchema.default({ nameservers: [], cacheSeconds: 30 }),
  stubDomains: z.record(domainSchema, z.array(ipSchema).min(1).max(3)).default({}),
  injection: injectionSchema.default({ percent: 100 }),
  resources: passthrough.optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(passthrough).optional(),
  affinity: passthrough.optional(),
  priorityClassName: z.string().max(253).optional(),
});

export const conditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string(),
  reason: z.string(),
  message: z.string(),
});

export const clusterDNSStatusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  clusterIP: z.string().optional(),
  serviceName: z.string().optional(),
  version: z.string().optional(),
  replicas: z.number().int().optional(),
  readyReplicas: z.number().int().optional(),
  conditions: z.array(conditionSchema).optional(),
});

export const clusterDNSSchema = z.object({
  apiVersion: z.literal('clusterdns.io/v1alpha1'),
  kind: z.literal('ClusterDNS'),
  metadata: z.object({
    name: z.string().max(63).regex(DNS1123_LABEL, 'must be a DNS-1123 label'),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
  }),
  spec: clusterDNSSpecSchema,
  status: clusterDNSStatusSchema.optional(),
});

export type ClusterDNS = z.infer<typeof clusterDNSSchema>;
export type ClusterDNSSpec = z.infer<typeof clusterDNSSpecSchema>;
export type ClusterDNSStatus = z.infer<typeof clusterDNSStatusSchema>;
export type Condition = z.infer<typeof conditionSchema>;
export type ConditionType = 'Available' | 'Progressing' | 'Degraded';

/** Parses a ClusterDNS (defaults applied); errors name the field, e.g. `spec.ttl: ...`. */
export function parseClusterDNS(raw: unknown): { ok: true; value: ClusterDNS } | { ok: false; error: string } {
  const result = clusterDNSSchema.safeParse(raw);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: formatZodError(result.error) };
}

/** "spec.ttl: Too big: expected number to be <=3600; spec.pods: ..." */
export function formatZodError(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');
}
