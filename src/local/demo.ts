/**
 * The demo workload of local mode, in namespace `demo` (which the sample ClusterDNS
 * `kube-dns-2` injects): a Deployment behind a ClusterIP Service, a headless Service over
 * the same pods, and an ExternalName Service — one of each kind of DNS record.
 */
export const DEMO_NAMESPACE = 'demo';

const labels = { app: 'web' };

export function demoObjects(): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: DEMO_NAMESPACE },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'web', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53', args: ['netexec'], ports: [{ name: 'http', containerPort: 8080 }] }] },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: DEMO_NAMESPACE },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web-headless', namespace: DEMO_NAMESPACE },
      spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'docs', namespace: DEMO_NAMESPACE },
      spec: { type: 'ExternalName', externalName: 'kubernetes.io' },
    },
  ];
}
