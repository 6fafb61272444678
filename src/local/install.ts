/**
 * Installs the product into local mode's fresh control plane the way the README tells a user
 * to on a real cluster: the CRD and RBAC from config/, then (once the operator runs) the
 * samples and the demo workload. Before them, what a kubeadm cluster already has: kube-dns.
 */
import { join } from 'node:path';
import { DEFAULT_NAMESPACE } from '../api/names.ts';
import { demoObjects } from './demo.ts';
import { kubeDNSObjects } from './kube-dns.ts';
import type { Kubectl } from './kubectl.ts';
import { repositoryRoot } from './repo.ts';

const config = (base: string): string => join(repositoryRoot(), 'config', base);

/** The operator's namespace, the CRD (served when this returns) and the RBAC of config/rbac. */
export async function installFoundations(kubectl: Kubectl): Promise<void> {
  await kubectl.apply({ objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEFAULT_NAMESPACE } }] });
  await kubectl.apply({ kustomize: config('crd') });
  await kubectl.run(['wait', '--for=condition=Established', '--timeout=60s', 'crd/clusterdnses.clusterdns.io']);
  await kubectl.apply({ kustomize: config('rbac') });
}

/** The cluster's own DNS as kubeadm installs it: CoreDNS `version` as kube-system/kube-dns. */
export async function installKubeDNS(kubectl: Kubectl, version: string): Promise<void> {
  await kubectl.apply({ objects: kubeDNSObjects(version) });
}

export async function installSamples(kubectl: Kubectl): Promise<void> {
  await kubectl.apply({ kustomize: config('samples') });
}

export async function installDemo(kubectl: Kubectl): Promise<void> {
  await kubectl.apply({ objects: demoObjects() });
}
