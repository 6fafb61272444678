/**
 * A thin JSON client for the Kubernetes API over node:https.
 *
 * `@kubernetes/client-node` loads the kubeconfig and applies its credentials (certificates,
 * tokens, exec plugins, in-cluster service-account tokens); requests are made here so that
 * lists and watches return the same raw JSON (the generated clients turn timestamps into
 * Date objects on list but not on watch), and so that a watch has the timeouts we choose.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { createRequire } from 'node:module';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { request as plainRequest } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';

/** A non-2xx answer of the apiserver, with its `Status` reason and message when it sent one. */
export class KubeApiError extends Error {
  readonly status: number;
  /** `Status.reason`, e.g. `AlreadyExists`, `Conflict`, `Invalid`, `Expired`, `Gone`. */
  readonly reason: string;
  readonly body: unknown;

  constructor(method: string, path: string, status: number, body: unknown) {
    const statusBody = body as { message?: string; reason?: string } | undefined;
    super(`${method} ${path}: ${status} ${statusBody?.message ?? (typeof body === 'string' ? body : '')}`.trim());
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = statusBody?.reason ?? '';
    this.body = body;
  }
}

/** The apiserver could not be reached at all (refused, reset, timed out). */
export class KubeConnectionError extends Error {
  constructor(method: string, path: string, cause: unknown) {
    super(`${method} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'KubeConnectionError';
  }
}

/**
 * Loads a kubeconfig: the given file, else in-cluster (service account), else the default
 * ($KUBECONFIG or ~/.kube/config), as kubectl and controller-runtime do.
 */
export function loadKubeConfig(file?: string): KubeConfig {
  // Loaded on first use: the package brings every generated API model (about 85 MB of
  // memory), which a process that only needs KubeClient (the resolver) should not pay for.
  const { KubeConfig: KubeConfigClass } = createRequire(import.meta.url)('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const config = new KubeConfigClass();
  if (file) config.loadFromFile(file);
  else if (process.env['KUBERNETES_SERVICE_HOST'] && !process.env['KUBECONFIG']) config.loadFromCluster();
  else config.loadFromDefault();
  return config;
}

export interface RequestOptionsJson {
  readonly body?: unknown;
  /** Defaults to application/json when there is a body. */
  readonly contentType?: string;
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly timeoutMs?: number;
}

export interface StreamOptions {
  readonly query?: Record<string, string | number | boolean | undefined>;
  /** The stream is ended (and the promise resolves) when no byte arrives for this long. */
  readonly idleTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export class KubeClient {
  readonly config: KubeConfig;
  readonly server: string;

  constructor(config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    this.config = config;
    this.server = cluster.server.replace(/\/$/, '');
  }

  /** Sends one request and parses the JSON answer; throws KubeApiError on a non-2xx status. */
  async request<T>(method: string, path: string, options: RequestOptionsJson = {}): Promise<T> {
    const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const url = this.url(path, options.query);
    const res = await this.send(method, url, headers, options.timeoutMs ?? 30_000, payload);
    const text = await readBody(res);
    const parsed = parseJson(text);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw new KubeApiError(method, path, status, parsed ?? text);
    return parsed as T;
  }

  /**
   * Opens a streaming GET and calls `onLine` for each line (a watch event). Resolves when the
   * server ends the stream, the idle timeout passes or `signal` aborts; rejects if it cannot
   * connect or gets a non-2xx status.
   */
  async stream(path: string, onLine: (line: string) => void, options: StreamOptions): Promise<void> {
    const url = this.url(path, options.query);
    const res = await this.send('GET', url, { accept: 'application/json' }, options.idleTimeoutMs, undefined, options.signal);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      const text = await readBody(res);
      throw new KubeApiError('GET', path, status, parseJson(text) ?? text);
    }
    await new Promise<void>((resolve) => {
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      lines.on('line', onLine);
      // 'close' comes last whatever the ending: the server's end, a reset, our own destroy().
      res.once('close', () => { lines.close(); resolve(); });
      // A reset connection (the apiserver went away) is an ordinary end of a watch, reported
      // by 'close'; readline re-emits the stream's error and would otherwise crash the process.
      res.on('error', () => undefined);
      lines.on('error', () => undefined);
      res.socket.setTimeout(options.idleTimeoutMs, () => { res.destroy(); });
      options.signal?.addEventListener('abort', () => { res.destroy(); }, { once: true });
    });
  }

  private url(path: string, query: RequestOptionsJson['query']): URL {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  private async send(
    method: string, url: URL, headers: Record<string, string | number>, timeoutMs: number, payload?: string, signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const options: RequestOptions = { method, headers: { ...headers }, timeout: timeoutMs };
    // Fills in ca, cert, key and the Authorization header (running exec plugins if needed).
    await this.config.applyToHTTPSOptions(options);
    if (signal) options.signal = signal;
    const path = url.pathname;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? request : plainRequest)(url, options, resolve);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (error) => { reject(new KubeConnectionError(method, path, error)); });
      req.end(payload);
    });
  }
}

/**
 * The body as text, decoded chunk by chunk: joining the chunks into one Buffer first would
 * allocate a page of a large list (megabytes) outside the heap once more, and such
 * allocations make V8 collect garbage early and often.
 */
function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    res.on('data', (chunk: Buffer) => { text += decoder.write(chunk); });
    res.on('end', () => { resolve(text + decoder.end()); });
    res.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
