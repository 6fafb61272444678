/**
 * ClusterDNS objects for tests that run without the operator: the CRD, and objects created
 * with the status the operator would have written (through the status subresource).
 */
import { join } from 'node:path';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { repositoryRoot } from '../../src/local/repo.ts';
import { eventually, kubeClient, kubectlOk } from './cluster.ts';

/** Installs the ClusterDNS CRD from crds/ and waits until it is served. */
export async function installClusterDnsCrd(): Promise<void> {
  const file = join(repositoryRoot(), 'crds', 'clusterdns.io_clusterdnses.yaml');
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', file]);
  await eventually(async () => { await kubeClient().request('GET', CLUSTERDNS_PATH); }, { timeoutMs: 30_000, what: 'the ClusterDNS API' });
}

/**
 * Creates a ClusterDNS and, if given, writes its status as the operator would (serving its
 * own pods unless the status says otherwise: the webhook injects only into a serving instance).
 */
export async function createClusterDNS(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): Promise<void> {
  const client = kubeClient();
  const created = await client.request<{ metadata: { resourceVersion: string } }>('POST', CLUSTERDNS_PATH, {
    body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec },
  });
  if (status) {
    await client.request('PUT', `${CLUSTERDNS_PATH}/${name}/status`, {
      body: { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, resourceVersion: created.metadata.resourceVersion }, spec, status: { serving: 'Instance', ...status } },
    });
  }
}

/** Deletes a ClusterDNS; absent is fine. */
export async function deleteClusterDNS(name: string): Promise<void> {
  try {
    await kubeClient().request('DELETE', `${CLUSTERDNS_PATH}/${name}`);
  } catch (error) {
    if (!(error instanceof KubeApiError && error.status === 404)) throw error;
  }
}
