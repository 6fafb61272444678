/**
 * The cluster's own DNS, as a baseline for routing: `kube-system/kube-dns` at 10.96.0.10 with
 * the ports kubeadm gives it, selecting the pods of a Deployment `coredns` that KWOK runs
 * (Running and Ready with an address; nothing answers there, which routing never needs: it
 * mirrors endpoints, it does not query them). The EndpointSlice controller makes its slices,
 * as in a real cluster.
 *
 * Shared by every suite on a control plane and never deleted (like the CRD): applying it again
 * is a no-op.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlPlane } from '../../src/local/control-plane.ts';
import { kubectlOn } from './operator.ts';

export const BASELINE_NAMESPACE = 'kube-system';
export const BASELINE_NAME = 'kube-dns';
export const BASELINE_IP = '10.96.0.10';
export const BASELINE_REPLICAS = 2;
const LABELS = { 'k8s-app': 'kube-dns' };

export function baselineManifests(): object {
  return {
    apiVersion: 'v1', kind: 'List', items: [
      {
        apiVersion: 'v1', kind: 'Service',
        metadata: { name: BASELINE_NAME, namespace: BASELINE_NAMESPACE, labels: { ...LABELS, 'kubernetes.io/name': 'CoreDNS' } },
        spec: {
          clusterIP: BASELINE_IP, selector: LABELS,
          ports: [
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
            { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
            { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
          ],
        },
      },
      {
        apiVersion: 'apps/v1', kind: 'Deployment',
        metadata: { name: 'coredns', namespace: BASELINE_NAMESPACE, labels: LABELS },
        spec: {
          replicas: BASELINE_REPLICAS, selector: { matchLabels: LABELS },
          template: {
            metadata: { labels: LABELS },
            spec: {
              containers: [{
                name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.12.0',
                ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }, { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' }, { name: 'metrics', containerPort: 9153 }],
              }],
            },
          },
        },
      },
    ],
  };
}

interface Slice { endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean } }> }

/** The addresses of the baseline's ready endpoints. */
export async function baselineAddresses(plane: ControlPlane): Promise<string[]> {
  const slices = JSON.parse(await kubectlOn(plane, ['get', 'endpointslices', '-n', BASELINE_NAMESPACE, '-l', `kubernetes.io/service-name=${BASELINE_NAME}`, '-o', 'json'])) as { items: Slice[] };
  return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses)).sort();
}

/** Applies the baseline and waits until its slices list every replica ready. Returns their addresses. */
export async function ensureBaseline(plane: ControlPlane): Promise<string[]> {
  await kubectlOn(plane, ['apply', '--server-side', '--force-conflicts', '--field-manager=clusterdns-tests', '-f', '-'], JSON.stringify(baselineManifests()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const addresses = await baselineAddresses(plane);
    if (addresses.length === BASELINE_REPLICAS) return addresses;
    if (Date.now() > deadline) throw new Error(`the baseline ${BASELINE_NAMESPACE}/${BASELINE_NAME} has ${addresses.length} ready endpoints, not ${BASELINE_REPLICAS}`);
    await sleep(200);
  }
}
