/**
 * Runs as a short-lived child process at start (see startup-helper.ts): everything that needs
 * `@kubernetes/client-node` (the kubeconfig, YAML) happens here, and only plain data goes
 * back (JSON on stdout, the request comes as JSON on stdin), so the resolver's own memory
 * never holds the package's generated API models.
 */
import { readFileSync } from 'node:fs';
import { loadYaml } from '@kubernetes/client-node';
import type { User } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/client.ts';
import type { KubeAccessSpec, StartupRequest, StartupResult } from './startup-helper.ts';

function readMaybe(file: string | undefined): string | undefined {
  return file ? readFileSync(file, 'utf8') : undefined;
}

function fromBase64(data: string | undefined): string | undefined {
  return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
}

function kubeAccess(kubeconfig: string | undefined): KubeAccessSpec {
  const config = loadKubeConfig(kubeconfig);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const user = config.getCurrentUser() ?? undefined;
  const provider = user?.authProvider as { name?: string; config?: { tokenFile?: string } } | undefined;
  const tokenFile = provider?.name === 'tokenFile' ? provider.config?.tokenFile : undefined;
  // Exec plugins, other auth providers, basic auth and proxies need the full client.
  const simple = !user?.exec && (!provider || tokenFile !== undefined) && !user?.username && !cluster.proxyUrl && !cluster.tlsServerName;
  return {
    server: cluster.server,
    ca: fromBase64(cluster.caData) ?? readMaybe(cluster.caFile),
    insecure: cluster.skipTLSVerify,
    ...credentials(user),
    tokenFile,
    simple,
  };
}

function credentials(user: User | undefined): Pick<KubeAccessSpec, 'cert' | 'key' | 'token'> {
  return {
    cert: fromBase64(user?.certData) ?? readMaybe(user?.certFile),
    key: fromBase64(user?.keyData) ?? readMaybe(user?.keyFile),
    token: user?.token,
  };
}

function attempt<T>(work: () => T): { value?: T; error?: string } {
  try {
    return { value: work() };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function handle(request: StartupRequest): StartupResult {
  const yaml = request.yaml;
  return {
    config: yaml === undefined ? undefined : attempt(() => loadYaml<unknown>(yaml)),
    access: attempt(() => kubeAccess(request.kubeconfig)),
  };
}

process.stdout.write(JSON.stringify(handle(JSON.parse(readFileSync(0, 'utf8')) as StartupRequest)));
