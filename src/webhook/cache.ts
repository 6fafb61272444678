/**
 * The webhook's view of the cluster: watched caches of ClusterDNS objects, Namespaces and the
 * serving-certificate Secret, each shrunk on arrival to what the webhook reads.
 */
import { CLUSTERDNS_PATH, WEBHOOK_SECRET } from '../api/names.ts';
import { KubeApiError } from '../kube/client.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Logger } from '../kube/log.ts';
import { Store } from '../kube/store.ts';
import { Watcher } from '../kube/watcher.ts';
import type { RawObject, ResourceRef, WatchEvent } from '../kube/watcher.ts';
import type { NamespaceFacts } from './decide.ts';
import type { InstanceFacts } from './instances.ts';

/** Runs a watcher of `resource` into `store` until `signal` aborts; `onChange` after each event. */
export function watchInto<T>(
  client: KubeClient, resource: ResourceRef, shrink: (raw: RawObject) => T, store: Store<T>,
  options: { readonly signal: AbortSignal; readonly log: Logger; readonly onChange?: (event: WatchEvent<T>) => void },
): Promise<void> {
  const watcher = new Watcher<T>({
    client,
    resource,
    shrink,
    onEvent: (event) => {
      store.apply(event);
      options.onChange?.(event);
    },
    onError: (error) => { options.log.warn({ err: error, path: resource.path }, 'watch failed; retrying'); },
  });
  return watcher.run(options.signal);
}

/** Caches of ClusterDNS objects (every replica) for the decision and the configuration. */
export function instanceStore(): Store<InstanceFacts> {
  return new Store<InstanceFacts>((i) => i.name);
}

export const instancesResource: ResourceRef = { path: CLUSTERDNS_PATH };

export function namespaceFacts(raw: RawObject): NamespaceFacts {
  const metadata: { name?: string; labels?: Record<string, string> } | undefined = raw.metadata;
  return { name: metadata?.name ?? '', labels: metadata?.labels ?? {} };
}

/** The serving certificate and key of the Secret, or undefined while it has none. */
export interface SecretCertificate {
  readonly name: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export function secretCertificate(raw: RawObject): SecretCertificate {
  const data = (raw['data'] ?? {}) as Record<string, string>;
  const decode = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
  return { name: raw.metadata?.name ?? '', certificatePem: decode('tls.crt'), privateKeyPem: decode('tls.key') };
}

export function secretResource(namespace: string): ResourceRef {
  return { path: `/api/v1/namespaces/${namespace}/secrets`, fieldSelector: `metadata.name=${WEBHOOK_SECRET}` };
}

/**
 * Namespace labels for the decision: from the watch cache, else read once from the API (a
 * namespace created a moment before its first pod may not have arrived yet).
 */
export async function lookupNamespace(client: KubeClient, store: Store<NamespaceFacts>, name: string): Promise<NamespaceFacts> {
  const cached = store.get(name);
  if (cached) return cached;
  try {
    return namespaceFacts(await client.request<RawObject>('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`, { timeoutMs: 2000 }));
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return { name, labels: {} };
    throw error;
  }
}
