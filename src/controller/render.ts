/**
 * The children a ClusterDNS should have: a pure, deterministic function of the resource and
 * the operator's configuration. The same input gives byte-identical output, so that a hash
 * of it says whether anything must be applied.
 */
import { createHash } from 'node:crypto';
import { replicasPolicy } from '../api/clusterdns.ts';
import type { ClusterDNS } from '../api/clusterdns.ts';
import { API_VERSION, childLabels, KIND, RESOLVER_CONTAINER, RESOLVER_PORTS } from '../api/names.ts';
import { CHILD_KINDS } from './children.ts';
import type { ChildKind } from './children.ts';
import { engineFiles } from './engines.ts';
import { podResources } from './memory-sizing.ts';
import type { PodResources } from './memory-sizing.ts';
import type { EngineFiles, ImageRepositories, ShadowBaseline } from './engines.ts';

/** Images are `<imageRepository>:<spec.version>` (coredns: `<corednsImageRepository>:v<spec.version>`) unless spec.image is set. */
export interface RenderConfig extends ImageRepositories {
  /** Where the children live (the operator's namespace). */
  readonly namespace: string;
}

/** A child as it is sent to the apiserver (server-side apply). */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: ChildKind;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences: readonly object[];
  };
  readonly [field: string]: unknown;
}

/** Pod template annotation: a hash of the config file (resolver config or Corefile), so that a config change rolls the pods. */
export const CONFIG_HASH_ANNOTATION = 'clusterdns.io/config-hash';
export const DEFAULT_PRIORITY_CLASS = 'system-cluster-critical';
/** The uid and gid the resolver runs as (any non-root id; 65532 is distroless' "nonroot"). */
const NONROOT = 65532;
/** After the lameduck: time for in-flight queries and the process to exit. */
const SHUTDOWN_MARGIN_SECONDS = 25;

/** The labels that select an instance's pods (stable across versions: a selector is immutable). */
export function selectorLabels(name: string): Record<string, string> {
  const { 'app.kubernetes.io/version': _version, 'app.kubernetes.io/managed-by': _manager, ...selector } = childLabels(name, '');
  return selector;
}

/**
 * ConfigMap, Service, Deployment and, with more than one replica, a PodDisruptionBudget.
 * `replicas` is what the reconciler decided (spec.autoscaling's figure); without it, the
 * fixed spec.replicas (or its default), or autoscaling's min. With spec.analysis, the
 * resolvers shadow `shadowBaseline` (the baseline Service's clusterIP), when there is one.
 * `resources`: the resolver container's (memory-sizing.ts), spec.resources or the defaults unless given.
 */
export function render(cr: ClusterDNS, config: RenderConfig, replicas = renderedReplicas(cr), shadowBaseline?: ShadowBaseline, resources = podResources(cr.spec, undefined)): Manifest[] {
  const files = engineFiles(cr, config, shadowBaseline);
  const children = [
    configMap(cr, config, files),
    service(cr, config),
    deployment(cr, config, replicas, files, resources),
  ];
  if (replicas > 1) children.push(podDisruptionBudget(cr, config));
  return children;
}

function renderedReplicas(cr: ClusterDNS): number {
  const policy = replicasPolicy(cr.spec);
  return policy.kind === 'fixed' ? policy.replicas : policy.params.min;
}

/** A short, stable digest of some text. */
export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A child of `cr` in the operator's namespace: its standard labels and controller owner reference, and `body`. */
export function manifest(kind: ChildKind, cr: ClusterDNS, config: RenderConfig, body: Record<string, unknown>): Manifest {
  const { name, uid = '' } = cr.metadata;
  return {
    apiVersion: CHILD_KINDS[kind].apiVersion,
    kind,
    metadata: {
      name,
      namespace: config.namespace,
      labels: childLabels(name, cr.spec.version),
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name, uid, controller: true, blockOwnerDeletion: true }],
    },
    ...body,
  };
}

function configMap(cr: ClusterDNS, config: RenderConfig, files: EngineFiles): Manifest {
  return manifest('ConfigMap', cr, config, { data: { [files.configKey]: files.configText } });
}

function service(cr: ClusterDNS, config: RenderConfig): Manifest {
  return manifest('Service', cr, config, {
    spec: {
      type: 'ClusterIP',
      ...(cr.spec.clusterIP ? { clusterIP: cr.spec.clusterIP } : {}),
      selector: selectorLabels(cr.metadata.name),
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: RESOLVER_PORTS.dns },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: RESOLVER_PORTS.dns },
        { name: 'metrics', port: RESOLVER_PORTS.metrics, protocol: 'TCP', targetPort: RESOLVER_PORTS.metrics },
      ],
    },
  });
}

function deployment(cr: ClusterDNS, config: RenderConfig, replicas: number, files: EngineFiles, resources: PodResources): Manifest {
  const { name } = cr.metadata;
  const selector = selectorLabels(name);
  return manifest('Deployment', cr, config, {
    spec: {
      replicas,
      selector: { matchLabels: selector },
      // One new pod at a time, and never fewer ready pods than asked for.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: childLabels(name, cr.spec.version), annotations: { [CONFIG_HASH_ANNOTATION]: hash(files.configText) } },
        spec: podSpec(cr, selector, files, resources),
      },
    },
  });
}

function podSpec(cr: ClusterDNS, selector: Record<string, string>, files: EngineFiles, resources: PodResources): Record<string, unknown> {
  const { spec } = cr;
  return {
    serviceAccountName: files.serviceAccountName,
    // The resolver itself asks the node's resolvers upstream, never a cluster DNS.
    dnsPolicy: 'Default',
    enableServiceLinks: false,
    priorityClassName: spec.priorityClassName ?? DEFAULT_PRIORITY_CLASS,
    terminationGracePeriodSeconds: Math.ceil(files.lameduckSeconds) + SHUTDOWN_MARGIN_SECONDS,
    securityContext: { runAsNonRoot: true, runAsUser: NONROOT, runAsGroup: NONROOT, seccompProfile: { type: 'RuntimeDefault' } },
    nodeSelector: spec.nodeSelector ?? { 'kubernetes.io/os': 'linux' },
    tolerations: spec.tolerations ?? [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
    ...(spec.affinity ? { affinity: spec.affinity } : {}),
    topologySpreadConstraints: [{
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: selector },
      // Count only the pods of one revision, so that a rollout spreads its new pods too.
      matchLabelKeys: ['pod-template-hash'],
    }],
    containers: [container(files, resources)],
    volumes: [{ name: 'config', configMap: { name: cr.metadata.name, items: [{ key: files.configKey, path: files.configKey }] } }],
  };
}

function container(files: EngineFiles, resources: PodResources): Record<string, unknown> {
  return {
    name: RESOLVER_CONTAINER,
    image: files.image,
    imagePullPolicy: 'IfNotPresent',
    args: files.args,
    ports: [
      { name: 'dns', containerPort: RESOLVER_PORTS.dns, protocol: 'UDP' },
      { name: 'dns-tcp', containerPort: RESOLVER_PORTS.dns, protocol: 'TCP' },
      { name: 'health', containerPort: RESOLVER_PORTS.health, protocol: 'TCP' },
      { name: 'ready', containerPort: RESOLVER_PORTS.ready, protocol: 'TCP' },
      { name: 'metrics', containerPort: RESOLVER_PORTS.metrics, protocol: 'TCP' },
    ],
    // As kubeadm's CoreDNS: a slow start is not a dead process.
    livenessProbe: {
      httpGet: { path: '/health', port: RESOLVER_PORTS.health, scheme: 'HTTP' },
      initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5,
    },
    // A pod in lameduck must be seen unready (its endpoint no longer serving) well before the
    // lameduck ends: only then does kube-proxy drop the UDP conntrack entries that still lead
    // to it. Clients reuse source ports, so without that a query of a new lookup can land on
    // a flow to the old pod after its process is gone (kube-proxy keeps the flows of serving
    // terminating endpoints). Probed every second, it is out within about two.
    readinessProbe: {
      httpGet: { path: '/ready', port: RESOLVER_PORTS.ready, scheme: 'HTTP' },
      periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 2,
    },
    resources,
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: [{ name: 'config', mountPath: files.configDir, readOnly: true }],
  };
}

function podDisruptionBudget(cr: ClusterDNS, config: RenderConfig): Manifest {
  return manifest('PodDisruptionBudget', cr, config, {
    spec: {
      minAvailable: 1,
      selector: { matchLabels: selectorLabels(cr.metadata.name) },
      // A pod that is not ready protects nothing; let drains evict it.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

/** The revision of the pods a render asks for: its config hash and image. */
export function renderedRevision(rendered: readonly Manifest[]): string {
  const template = (rendered.find((m) => m.kind === 'Deployment')?.['spec'] as { template?: { metadata?: { annotations?: Record<string, string> }; spec?: { containers?: Array<{ name: string; image: string }> } } } | undefined)?.template;
  const configHash = template?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION] ?? '';
  const image = template?.spec?.containers?.find((c) => c.name === RESOLVER_CONTAINER)?.image ?? '';
  return podRevision(configHash, image);
}

/** A resolver pod's revision: the hash of its configuration and its image, as the Deployment's template has them. */
export function podRevision(configHash: string, image: string): string {
  return `${configHash}@${image}`;
}
