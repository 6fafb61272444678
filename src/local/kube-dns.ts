/**
 * The cluster's own DNS, as kubeadm installs it (cmd/kubeadm/app/phases/addons/dns): the
 * ServiceAccount, ClusterRole and binding `coredns`/`system:coredns`, the ConfigMap `coredns`
 * with kubeadm's Corefile, the Deployment `coredns` and the Service `kube-system/kube-dns` at
 * the tenth address of the service range. Local mode installs these and serves the Service
 * with a real CoreDNS process of kubeadm's release on loopback, as it serves each ClusterDNS.
 */
import { clusterDNSSpecSchema } from '../api/clusterdns.ts';
import { resolverConfigFor } from '../api/resolver-config.ts';
import type { ResolverConfig } from '../api/resolver-config.ts';
import { COREFILE_KEY, renderCorefile } from '../coredns/corefile.ts';
import { dialectOf } from '../coredns/releases.ts';
import type { LocalInstance } from './resolvers.ts';

export const KUBE_DNS = { namespace: 'kube-system', name: 'kube-dns', deployment: 'coredns', clusterIP: '10.96.0.10' } as const;

/** kubeadm's settings: a ClusterDNS spec with its defaults renders kubeadm's Corefile. */
export function kubeDNSConfig(version: string): ResolverConfig {
  return resolverConfigFor(clusterDNSSpecSchema.parse({ engine: 'coredns', version }));
}

/** kube-dns as local mode serves it on loopback, beside the ClusterDNS instances. */
export function kubeDNSInstance(version: string): LocalInstance {
  const config = kubeDNSConfig(version);
  return {
    name: KUBE_DNS.name, engine: 'coredns', version, release: version, service: `${KUBE_DNS.namespace}/${KUBE_DNS.name}`,
    clusterIP: KUBE_DNS.clusterIP, clusterDomain: config.clusterDomain, config: JSON.stringify(config),
  };
}

const labels = { 'k8s-app': 'kube-dns' };

/** The objects, for CoreDNS `version` (X.Y.Z). */
export function kubeDNSObjects(version: string): object[] {
  const namespace = KUBE_DNS.namespace;
  // Port 53 in the pod, as kubeadm has it (its container adds NET_BIND_SERVICE for that).
  const corefile = renderCorefile({ ...kubeDNSConfig(version), port: 53 }, dialectOf(version));
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'coredns', namespace } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:coredns' },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'system:coredns' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace }, data: { [COREFILE_KEY]: corefile } },
    deployment(version),
    {
      apiVersion: 'v1', kind: 'Service',
      metadata: {
        name: KUBE_DNS.name, namespace,
        labels: { ...labels, 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
        annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
      },
      spec: {
        clusterIP: KUBE_DNS.clusterIP,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
    },
  ];
}

function deployment(version: string): object {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: KUBE_DNS.deployment, namespace: KUBE_DNS.namespace, labels },
    spec: {
      replicas: 2,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: 'system-cluster-critical',
          serviceAccountName: 'coredns',
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{
                weight: 100,
                podAffinityTerm: { labelSelector: { matchExpressions: [{ key: 'k8s-app', operator: 'In', values: ['kube-dns'] }] }, topologyKey: 'kubernetes.io/hostname' },
              }],
            },
          },
          tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }],
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          containers: [{
            name: 'coredns',
            image: `registry.k8s.io/coredns/coredns:v${version}`,
            // On the real node the image is imported (no registry): IfNotPresent, as kubeadm has it, finds it there.
            imagePullPolicy: 'IfNotPresent',
            resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
            args: ['-conf', '/etc/coredns/Corefile'],
            volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
            ports: [
              { containerPort: 53, name: 'dns', protocol: 'UDP' },
              { containerPort: 53, name: 'dns-tcp', protocol: 'TCP' },
              { containerPort: 9153, name: 'metrics', protocol: 'TCP' },
              { containerPort: 8080, name: 'liveness-probe', protocol: 'TCP' },
              { containerPort: 8181, name: 'readiness-probe', protocol: 'TCP' },
            ],
            livenessProbe: { httpGet: { path: '/health', port: 'liveness-probe', scheme: 'HTTP' }, initialDelaySeconds: 60, timeoutSeconds: 5, successThreshold: 1, failureThreshold: 5 },
            readinessProbe: { httpGet: { path: '/ready', port: 'readiness-probe', scheme: 'HTTP' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
          }],
          dnsPolicy: 'Default',
          volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: COREFILE_KEY, path: COREFILE_KEY }] } }],
        },
      },
    },
  };
}
