/**
 * Reading the kubeconfig and a YAML config file without keeping `@kubernetes/client-node`
 * in memory.
 *
 * The package is the only YAML parser and kubeconfig loader the project depends on, and
 * importing any part of it brings its generated API models: about 85 MB of resident memory,
 * more than the resolver's whole index of a large cluster. So a child process does this
 * one-time work (startup-helper-main.ts) and exits, taking that memory with it (a worker thread
 * would not: the process keeps most of what a finished thread allocated); only plain data
 * comes back, as JSON on its stdout. The kubeconfig's credentials are then applied by `LightKubeConfig`: client
 * certificates, a bearer token, or the service account token file (re-read every minute,
 * as client-node does, since projected tokens rotate). A kubeconfig that needs more (exec
 * plugins, auth providers, proxies) is loaded with the full client instead.
 */
import { readFileSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, loadKubeConfig } from '../kube/client.ts';

/** The parts of a kubeconfig's current context that a plain HTTPS request needs. */
export interface KubeAccessSpec {
  readonly server: string;
  readonly ca: string | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly insecure: boolean;
  readonly token: string | undefined;
  readonly tokenFile: string | undefined;
  /** False when only the full client can apply the credentials. */
  readonly simple: boolean;
}

export interface StartupRequest {
  /** A YAML document to parse, if any. */
  readonly yaml?: string;
  /** Kubeconfig file; undefined: in-cluster, else $KUBECONFIG or ~/.kube/config. */
  readonly kubeconfig?: string;
}

export interface Attempt<T> {
  readonly value?: T;
  readonly error?: string;
}

export interface StartupResult {
  readonly config: Attempt<unknown> | undefined;
  readonly access: Attempt<KubeAccessSpec>;
}

/** Runs the helper process once and returns what it found. */
export function runStartupHelper(request: StartupRequest): Promise<StartupResult> {
  const script = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './startup-helper-main.ts' : './startup-helper-main.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [...process.execArgv, script], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`the startup helper failed: ${stderr.trim() || error.message}`));
        return;
      }
      resolve(JSON.parse(stdout) as StartupResult);
    });
    child.stdin?.end(JSON.stringify(request));
  });
}

const TOKEN_REFRESH_MS = 60_000;

/**
 * What KubeClient uses of a KubeConfig (the current cluster and `applyToHTTPSOptions`),
 * from plain data.
 */
export class LightKubeConfig {
  private readonly spec: KubeAccessSpec;
  private token: string | undefined;
  private tokenReadAt = 0;

  constructor(spec: KubeAccessSpec) {
    this.spec = spec;
    this.token = spec.token;
  }

  getCurrentCluster(): { name: string; server: string; skipTLSVerify: boolean } {
    return { name: 'current', server: this.spec.server, skipTLSVerify: this.spec.insecure };
  }

  applyToHTTPSOptions(options: RequestOptions): Promise<void> {
    const { ca, cert, key, insecure } = this.spec;
    if (ca) options.ca = ca;
    if (cert) options.cert = cert;
    if (key) options.key = key;
    if (insecure) options.rejectUnauthorized = false;
    const token = this.currentToken();
    if (token) options.headers = { ...(options.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` };
    return Promise.resolve();
  }

  private currentToken(): string | undefined {
    const file = this.spec.tokenFile;
    if (file && Date.now() - this.tokenReadAt > TOKEN_REFRESH_MS) {
      this.token = readFileSync(file, 'utf8').trim();
      this.tokenReadAt = Date.now();
    }
    return this.token;
  }
}

/** A KubeClient for the access the helper found; the full client when it is not simple. */
export function kubeClientFor(access: KubeAccessSpec, kubeconfig: string | undefined): KubeClient {
  if (!access.simple) return new KubeClient(loadKubeConfig(kubeconfig));
  // KubeClient only calls getCurrentCluster() and applyToHTTPSOptions(), which this provides.
  return new KubeClient(new LightKubeConfig(access) as unknown as KubeConfig);
}
