/** Pods for webhook tests: created through the apiserver and read back as stored. */
import { kubeClient } from './cluster.ts';

export interface StoredPod {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string }> };
  spec: {
    dnsPolicy?: string;
    hostNetwork?: boolean;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: Array<{ name: string; value?: string }> };
  };
}

export interface PodOptions {
  readonly name?: string;
  readonly labels?: Record<string, string>;
  readonly spec?: Record<string, unknown>;
}

export function podManifest(options: PodOptions = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...(options.name ? { name: options.name } : { generateName: 'pod-' }), labels: options.labels ?? {} },
    spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], terminationGracePeriodSeconds: 0, ...options.spec },
  };
}

/** Creates a pod and returns it as the apiserver stored it (GET after the create). */
export async function createPod(namespace: string, options: PodOptions = {}): Promise<StoredPod> {
  const client = kubeClient();
  const created = await client.request<StoredPod>('POST', `/api/v1/namespaces/${namespace}/pods`, { body: podManifest(options) });
  return client.request<StoredPod>('GET', `/api/v1/namespaces/${namespace}/pods/${created.metadata.name}`);
}

export async function listPods(namespace: string): Promise<StoredPod[]> {
  return (await kubeClient().request<{ items: StoredPod[] }>('GET', `/api/v1/namespaces/${namespace}/pods`)).items;
}

export function injectedInto(pod: StoredPod): string | undefined {
  return pod.metadata.annotations?.['clusterdns.io/injected'];
}

export async function deleteNamespace(name: string): Promise<void> {
  await kubeClient().request('DELETE', `/api/v1/namespaces/${name}`).catch(() => undefined);
}
