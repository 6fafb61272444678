/** Names, labels and annotations shared by the operator, the webhook and the resolver. */

export const GROUP = 'clusterdns.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ClusterDNS';
export const PLURAL = 'clusterdnses';
/** Collection path of the cluster-scoped ClusterDNS resource. */
export const CLUSTERDNS_PATH = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

/** On a Pod or Namespace: opt into instance `<name>`; `none` on a Pod opts out. */
export const INSTANCE_LABEL = 'clusterdns.io/instance';
export const OPT_OUT = 'none';
/** Set by the webhook on every pod it changed: `<name>@<version>`. */
export const INJECTED_ANNOTATION = 'clusterdns.io/injected';
/**
 * Set by the webhook beside the annotation: `<name>`. A label, so that the operator can watch
 * exactly the pods that depend on an instance (a label-selected watch) to count and drain them.
 */
export const INJECTED_INTO_LABEL = 'clusterdns.io/injected-into';
/** On every ClusterDNS: deletion waits until no injected pod depends on its clusterIP (`spec.drain`). */
export const DRAIN_FINALIZER = 'clusterdns.io/drain';

/**
 * On a ClusterDNS: a new value starts its analysis afresh (and lifts a rollback the analysis
 * made), as `kubectl rollout restart` does with a Deployment's restartedAt.
 */
export const ANALYSIS_RESTART_ANNOTATION = 'clusterdns.io/analysis-restart';

export const FIELD_MANAGER = 'clusterdns-operator';
export const DEFAULT_NAMESPACE = 'clusterdns-system';
export const WEBHOOK_CONFIGURATION = 'clusterdns-injector';

/** Standard labels every child of a ClusterDNS carries. */
export function childLabels(instance: string, version: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'clusterdns',
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/version': version,
    'app.kubernetes.io/managed-by': 'clusterdns-operator',
  };
}

/** Ports of the resolver process, as the Deployment and Service use them. */
/** The resolver's container in an instance's pods; the operator, tests and tools look it up by this name. */
export const RESOLVER_CONTAINER = 'resolver';
export const RESOLVER_PORTS = { dns: 1053, health: 8080, ready: 8181, metrics: 9153 } as const;

/** The resolver config file inside each instance's ConfigMap, and where pods mount it. */
export const RESOLVER_CONFIG_KEY = 'resolver.json';
export const RESOLVER_CONFIG_DIR = '/etc/clusterdns';

/**
 * Static RBAC (config/rbac): the resolvers' read-only identities and the operator's own. A
 * resolver reads Services, EndpointSlices and Namespaces, and Pods only with `pods verified`,
 * so those pods get the second one.
 */
export const RESOLVER_SERVICE_ACCOUNT = 'clusterdns-resolver';
export const RESOLVER_VERIFIED_PODS_SERVICE_ACCOUNT = 'clusterdns-resolver-pods';
/**
 * The identities of coredns engine pods: CoreDNS reads Services, EndpointSlices and
 * Namespaces, and Pods only with `pods verified`, so those pods get the second one.
 */
export const COREDNS_SERVICE_ACCOUNT = 'clusterdns-coredns';
export const COREDNS_VERIFIED_PODS_SERVICE_ACCOUNT = 'clusterdns-coredns-pods';
export const OPERATOR_SERVICE_ACCOUNT = 'clusterdns-operator';

/** The webhook: served by every operator replica on :9443 behind this Service. */
export const WEBHOOK_SERVICE = 'clusterdns-webhook';
export const WEBHOOK_SECRET = 'clusterdns-webhook-tls';
export const WEBHOOK_PORT = 9443;
export const WEBHOOK_PATH = '/mutate-v1-pod';

/** Where resolver images come from unless `--resolver-image-repository` or `spec.image` say otherwise. */
export const DEFAULT_IMAGE_REPOSITORY = 'ghcr.io/clusterdns/clusterdns';
/** Where CoreDNS images come from (the engine coredns) unless `--coredns-image-repository` or `spec.image` say otherwise. */
export const DEFAULT_COREDNS_IMAGE_REPOSITORY = 'registry.k8s.io/coredns/coredns';
