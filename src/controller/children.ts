/**
 * The kinds of object a ClusterDNS owns, where they live in the API, and what the operator
 * keeps of each when it arrives from a watch (shrunk: only what reconcile and status read).
 */
import { RESOLVER_CONTAINER } from '../api/names.ts';
import { controllingClusterDNS } from './handlers.ts';
import type { OwnerReference } from './handlers.ts';
import type { PodResources } from './memory-sizing.ts';
import { shrinkSlice } from './slices.ts';
import type { SliceState } from './slices.ts';
import type { RawObject } from '../kube/watcher.ts';

export const CHILD_KINDS = {
  ConfigMap: { apiVersion: 'v1', resource: 'configmaps', prefix: '/api/v1' },
  Service: { apiVersion: 'v1', resource: 'services', prefix: '/api/v1' },
  Deployment: { apiVersion: 'apps/v1', resource: 'deployments', prefix: '/apis/apps/v1' },
  PodDisruptionBudget: { apiVersion: 'policy/v1', resource: 'poddisruptionbudgets', prefix: '/apis/policy/v1' },
  /**
   * The operator's own slice of an instance's Service (routing). Watched with the others:
   * the slices the EndpointSlice controller makes for the Service carry its labels, so they
   * arrive here too, which routing needs (see routing.ts).
   */
  EndpointSlice: { apiVersion: 'discovery.k8s.io/v1', resource: 'endpointslices', prefix: '/apis/discovery.k8s.io/v1' },
} as const;

export type ChildKind = keyof typeof CHILD_KINDS;

/** The order children are applied in: the config before the pods that mount it. */
export const CHILD_KIND_ORDER: readonly ChildKind[] = ['ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget', 'EndpointSlice'];

/** The collection path of a kind in a namespace. */
export function childCollection(kind: ChildKind, namespace: string): string {
  const { prefix, resource } = CHILD_KINDS[kind];
  return `${prefix}/namespaces/${namespace}/${resource}`;
}

export function childPath(kind: ChildKind, namespace: string, name: string): string {
  return `${childCollection(kind, namespace)}/${name}`;
}

/** A Deployment's condition (Available, Progressing, ReplicaFailure). */
export interface DeploymentCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** What status needs of a Deployment. */
export interface DeploymentState {
  readonly generation: number;
  readonly observedGeneration: number;
  readonly wantedReplicas: number;
  /** The app.kubernetes.io/version label of the pod template. */
  readonly templateVersion?: string;
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly conditions: readonly DeploymentCondition[];
  /** The resolver container's resources in the pod template (only quantities kept). */
  readonly resources?: PodResources;
}

/** A child as the operator keeps it. */
export interface Child {
  readonly kind: ChildKind;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation?: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Names of the ClusterDNS objects that control it. */
  readonly owners: readonly string[];
  /** Service only: its clusterIP ("" until allocated). */
  readonly clusterIP?: string;
  /** Service only: whether it selects pods (routing drops the selector while the baseline answers). */
  readonly hasSelector?: boolean;
  /** EndpointSlice only. */
  readonly slice?: SliceState;
  /** Deployment only. */
  readonly deployment?: DeploymentState;
}

/**
 * The ClusterDNS objects a child concerns: its controlling owners, or for a slice that
 * someone else made for an instance's Service (which copies the Service's labels), the
 * instance its labels name.
 */
export function childOwners(child: Child): readonly string[] {
  if (child.owners.length > 0 || child.kind !== 'EndpointSlice') return child.owners;
  const instance = child.labels['app.kubernetes.io/instance'];
  return instance ? [instance] : [];
}

/** The cache key of a child: `Kind/namespace/name`. */
export function childKey(kind: ChildKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

interface RawMetadata {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

interface RawDeployment {
  spec?: {
    replicas?: number;
    template?: { metadata?: { labels?: Record<string, string> }; spec?: { containers?: unknown } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}

/** The shrink function of a kind's watch. */
export function shrinkChild(kind: ChildKind): (raw: RawObject) => Child {
  return (raw) => {
    const metadata = (raw.metadata ?? {}) as RawMetadata;
    const base = {
      kind,
      namespace: metadata.namespace ?? '',
      name: metadata.name ?? '',
      uid: metadata.uid ?? '',
      resourceVersion: metadata.resourceVersion ?? '',
      labels: metadata.labels ?? {},
      annotations: metadata.annotations ?? {},
      owners: controllingClusterDNS(metadata.ownerReferences),
      ...(metadata.generation === undefined ? {} : { generation: metadata.generation }),
    };
    if (kind === 'Service') {
      const spec = raw['spec'] as { clusterIP?: string; selector?: Record<string, string> } | undefined;
      return { ...base, clusterIP: spec?.clusterIP ?? '', hasSelector: Object.keys(spec?.selector ?? {}).length > 0 };
    }
    if (kind === 'EndpointSlice') return { ...base, slice: shrinkSlice(raw) };
    if (kind === 'Deployment') return { ...base, deployment: deploymentState(raw as RawDeployment, metadata.generation ?? 0) };
    return base;
  };
}

function deploymentState(raw: RawDeployment, generation: number): DeploymentState {
  const status = raw.status ?? {};
  const templateVersion = raw.spec?.template?.metadata?.labels?.['app.kubernetes.io/version'];
  return {
    generation,
    observedGeneration: status.observedGeneration ?? 0,
    wantedReplicas: raw.spec?.replicas ?? 1,
    ...(templateVersion === undefined ? {} : { templateVersion }),
    ...resourcesOf(resolverContainer(raw.spec?.template?.spec?.containers)?.resources),
    replicas: status.replicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    conditions: (status.conditions ?? []).map(({ type, status: s, reason, message }) => ({
      type, status: s, ...(reason === undefined ? {} : { reason }), ...(message === undefined ? {} : { message }),
    })),
  };
}

function resolverContainer(containers: unknown): { resources?: unknown } | undefined {
  if (!Array.isArray(containers)) return undefined;
  return (containers as unknown[]).find((c): c is { name: string; resources?: unknown } =>
    typeof c === 'object' && c !== null && (c as { name?: unknown }).name === RESOLVER_CONTAINER);
}

/** `{ resources }` with the requests and limits that are quantities (a string or a number), or nothing. */
function resourcesOf(raw: unknown): { resources?: PodResources } {
  if (typeof raw !== 'object' || raw === null) return {};
  const quantities = (value: unknown): Record<string, string | number> | undefined => {
    if (typeof value !== 'object' || value === null) return undefined;
    const kept = Object.entries(value).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number');
    return kept.length > 0 ? Object.fromEntries(kept) : undefined;
  };
  const requests = quantities((raw as { requests?: unknown }).requests);
  const limits = quantities((raw as { limits?: unknown }).limits);
  if (!requests && !limits) return {};
  return { resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } };
}
