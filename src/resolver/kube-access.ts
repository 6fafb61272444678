/**
 * The kubeconfig's access read without `@kubernetes/client-node`, in the two cases a
 * resolver meets most: in a pod (the service account, as `loadFromCluster`) and a kubeconfig
 * file written as JSON (YAML's subset that `JSON.parse` reads). Starting the helper process
 * (startup-helper.ts) costs about a second of CPU for the package's import alone, the
 * largest part of a resolver's start-up; anything this module does not know for certain
 * (YAML, exec plugins, auth providers, proxies, several files in $KUBECONFIG) is left to it.
 * Pure: the environment and the file reader are passed in.
 */
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import type { KubeAccessSpec } from './startup-helper.ts';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface AccessSources {
  readonly env: NodeJS.ProcessEnv;
  /** Reads a file as UTF-8; throws when it cannot. */
  readonly read: (file: string) => string;
  readonly home: string;
}

type Loose = Record<string, unknown>;

function record(value: unknown): Loose | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Loose : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The entry of a kubeconfig list (`clusters`, `users`, `contexts`) with this name. */
function named(list: unknown, name: string | undefined, field: string): Loose | undefined {
  if (!Array.isArray(list) || name === undefined) return undefined;
  const entry = list.map(record).find((item) => item?.['name'] === name);
  return record(entry?.[field]);
}

/** Access for a pod's service account, as client-node's `loadFromCluster`. */
function inCluster(env: NodeJS.ProcessEnv, read: AccessSources['read']): KubeAccessSpec {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return {
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: read(`${SERVICE_ACCOUNT}/ca.crt`),
    cert: undefined,
    key: undefined,
    insecure: false,
    token: undefined,
    tokenFile: `${SERVICE_ACCOUNT}/token`,
    simple: true,
  };
}

/** The current context of a JSON kubeconfig; undefined when it needs more than certificates or a token. */
export function accessFromJsonKubeconfig(textOf: string, file: string, read: AccessSources['read']): KubeAccessSpec | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textOf);
  } catch {
    return undefined;
  }
  const config = record(parsed);
  const context = named(config?.['contexts'], text(config?.['current-context']), 'context');
  const cluster = named(config?.['clusters'], text(context?.['cluster']), 'cluster');
  const user = named(config?.['users'], text(context?.['user']), 'user') ?? {};
  const server = text(cluster?.['server']);
  if (!cluster || !server) return undefined;
  const needsClient = ['exec', 'auth-provider', 'username', 'tokenFile', 'as'].some((key) => user[key] !== undefined)
    || ['proxy-url', 'tls-server-name'].some((key) => cluster[key] !== undefined);
  if (needsClient) return undefined;
  // Paths in a kubeconfig are relative to the file, as kubectl reads them.
  const fileOf = (path: unknown): string | undefined => {
    const name = text(path);
    return name === undefined ? undefined : read(isAbsolute(name) ? name : join(dirname(file), name));
  };
  const decoded = (data: unknown): string | undefined => {
    const value = text(data);
    return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  };
  return {
    server,
    ca: decoded(cluster['certificate-authority-data']) ?? fileOf(cluster['certificate-authority']),
    cert: decoded(user['client-certificate-data']) ?? fileOf(user['client-certificate']),
    key: decoded(user['client-key-data']) ?? fileOf(user['client-key']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    token: text(user['token']),
    tokenFile: undefined,
    simple: true,
  };
}

/**
 * The access for `--kubeconfig FILE` (or none: in-cluster, then $KUBECONFIG, then
 * ~/.kube/config, the order of `loadKubeConfig`), or undefined when the helper must find it.
 */
export function accessInProcess(kubeconfig: string | undefined, sources: AccessSources): KubeAccessSpec | undefined {
  const { env, read } = sources;
  const fromEnv = env['KUBECONFIG'];
  try {
    if (kubeconfig === undefined && env['KUBERNETES_SERVICE_HOST'] && !fromEnv) return inCluster(env, read);
  } catch {
    return undefined;
  }
  // $KUBECONFIG may name several files to merge: the helper's work.
  const file = kubeconfig ?? (fromEnv !== undefined ? (fromEnv.includes(':') ? undefined : fromEnv) : join(sources.home, '.kube', 'config'));
  if (file === undefined) return undefined;
  try {
    const content = read(file);
    return content.trimStart().startsWith('{') ? accessFromJsonKubeconfig(content, file, read) : undefined;
  } catch {
    return undefined;
  }
}
