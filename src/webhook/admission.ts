/**
 * Admission reviews: the request schema (zod), the response constructors, and `review()`,
 * which turns one request into one response with `decide()` and `injectDns()`.
 *
 * Responses are only ever built by `allowed()` and `patched()`, which stamp the request's
 * uid and set a patch type only when there are operations (as controller-runtime's
 * admission package does). The webhook never denies: a pod it cannot help is admitted
 * untouched, with a warning when someone asked for an instance that cannot be used.
 */
import { z } from 'zod';
import { formatZodError } from '../api/clusterdns.ts';
import { INSTANCE_LABEL, OPT_OUT } from '../api/names.ts';
import { decide } from './decide.ts';
import type { Decision, NamespaceFacts, PodFacts } from './decide.ts';
import type { InstanceFacts } from './instances.ts';
import { injectDns } from './mutate.ts';
import type { JsonObject } from './mutate.ts';
import { diff } from './patch.ts';
import type { PatchOperation } from './patch.ts';

const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

const podObjectSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string().optional(),
    generateName: z.string().optional(),
    namespace: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    ownerReferences: z.array(z.looseObject({ kind: z.string(), name: z.string(), controller: z.boolean().optional() })).optional(),
  }).optional(),
  spec: z.looseObject({
    hostNetwork: z.boolean().optional(),
    dnsPolicy: z.string().optional(),
  }),
});

export const admissionReviewSchema = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION, { error: `apiVersion must be ${ADMISSION_API_VERSION}` }),
  kind: z.literal('AdmissionReview', { error: 'kind must be AdmissionReview' }),
  request: z.object({
    uid: z.string().min(1),
    kind: z.object({
      group: z.literal('', { error: 'must be the core group' }),
      version: z.literal('v1', { error: 'must be v1' }),
      kind: z.literal('Pod', { error: 'must be Pod: this webhook only admits pods' }),
    }),
    namespace: z.string().optional(),
    operation: z.string(),
    dryRun: z.boolean().optional(),
    object: z.unknown(),
  }),
});

export type AdmissionRequest = z.infer<typeof admissionReviewSchema>['request'];

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: true;
  readonly patchType?: 'JSONPatch';
  /** Base64 of the JSON Patch. */
  readonly patch?: string;
  readonly warnings?: readonly string[];
}

export interface AdmissionReviewResponse {
  readonly apiVersion: typeof ADMISSION_API_VERSION;
  readonly kind: 'AdmissionReview';
  readonly response: AdmissionResponse;
}

/** Admits the object untouched. */
export function allowed(uid: string, warnings: readonly string[] = []): AdmissionReviewResponse {
  return envelope({ uid, allowed: true, ...(warnings.length > 0 ? { warnings } : {}) });
}

/** Admits the object with `ops` applied; with no ops this is `allowed()`. */
export function patched(uid: string, ops: readonly PatchOperation[], warnings: readonly string[] = []): AdmissionReviewResponse {
  if (ops.length === 0) return allowed(uid, warnings);
  const patch = Buffer.from(JSON.stringify(ops)).toString('base64');
  return envelope({ uid, allowed: true, patchType: 'JSONPatch', patch, ...(warnings.length > 0 ? { warnings } : {}) });
}

function envelope(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

/** A body that is not an AdmissionReview v1 for a Pod; the server answers 400 with `message`. */
export class BadReviewError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadReviewError';
  }
}

/** Parses a request body; throws BadReviewError saying what is wrong with it. */
export function parseReview(body: string): AdmissionRequest {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new BadReviewError(`the body is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  const review = admissionReviewSchema.safeParse(json);
  if (!review.success) throw new BadReviewError(`not an AdmissionReview v1 for a Pod: ${formatZodError(review.error)}`);
  if (review.data.request.operation === 'CREATE') {
    const pod = podObjectSchema.safeParse(review.data.request.object);
    if (!pod.success) throw new BadReviewError(`request.object is not a Pod: ${formatZodError(pod.error)}`);
  }
  return review.data.request;
}

/** What `review()` needs from the cluster. */
export interface ReviewContext {
  readonly instances: ReadonlyMap<string, InstanceFacts>;
  /** The labels of a namespace (from a cache, else the API). */
  readonly namespace: (name: string) => Promise<NamespaceFacts>;
  readonly protectedNamespaces: readonly string[];
}

export interface ReviewOutcome {
  readonly response: AdmissionReviewResponse;
  readonly decision: Decision;
}

/** Decides and mutates one admission request. Never throws for a valid request. */
export async function review(request: AdmissionRequest, context: ReviewContext): Promise<ReviewOutcome> {
  if (request.operation !== 'CREATE') {
    const decision: Decision = { action: 'skip', reason: `${request.operation} is not a pod creation` };
    return { response: allowed(request.uid), decision };
  }
  const object = request.object as JsonObject;
  const pod = podFacts(object, request.namespace ?? '');
  // The namespace's labels only matter when the pod has no label of its own.
  const ownLabel = pod.labels[INSTANCE_LABEL];
  const namespace = ownLabel && ownLabel !== OPT_OUT ? { name: pod.namespace, labels: {} } : await context.namespace(pod.namespace);
  const decision = decide({ pod, namespace, instances: context.instances, protectedNamespaces: context.protectedNamespaces });
  switch (decision.action) {
    case 'skip':
      return { response: allowed(request.uid), decision };
    case 'warn':
      return { response: allowed(request.uid, [`clusterdns: ${decision.reason}`]), decision };
    case 'inject': {
      const mutated = injectDns(object, pod.namespace, decision.target);
      return { response: patched(request.uid, diff(object, mutated)), decision };
    }
  }
}

/** The facts `decide()` reads, from a pod object that passed `parseReview`. */
export function podFacts(object: JsonObject, requestNamespace: string): PodFacts {
  const pod = podObjectSchema.parse(object);
  const metadata = pod.metadata ?? {};
  return {
    namespace: metadata.namespace || requestNamespace,
    name: metadata.name ?? '',
    generateName: metadata.generateName ?? '',
    ownerReferences: metadata.ownerReferences ?? [],
    labels: metadata.labels ?? {},
    annotations: metadata.annotations ?? {},
    hostNetwork: pod.spec.hostNetwork ?? false,
    dnsPolicy: pod.spec.dnsPolicy ?? '',
  };
}
