/** Small network helpers for starting servers on loopback. */
import { request } from 'node:https';
import { request as httpRequestPlain } from 'node:http';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Ports this process handed out. The kernel may give a just-closed ephemeral port again, so
 * two calls in a row (a server's DNS port and its health port) could otherwise get the same
 * number, and the second bind would fail.
 */
const handedOut = new Set<number>();

/** A loopback TCP port that was free a moment ago (the caller binds it next), never one handed out before. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, resolve);
    });
    const address = server.address();
    await new Promise((resolve) => server.close(resolve));
    if (address === null || typeof address === 'string') throw new Error('could not allocate a port');
    if (handedOut.has(address.port)) continue;
    handedOut.add(address.port);
    return address.port;
  }
}

export interface ClientTls {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Probes of a component's self-signed health port skip verification (loopback only). */
  readonly insecure?: boolean;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

export interface HttpRequest {
  readonly url: string;
  readonly method?: string;
  /** Sent as JSON. */
  readonly json?: unknown;
  readonly tls?: ClientTls;
  readonly timeoutMs?: number;
}

/** One HTTP(S) request with a short timeout; rejects on connection errors, not on statuses. */
export function httpRequest({ url, method = 'GET', json, tls = {}, timeoutMs = 3000 }: HttpRequest): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const secure = url.startsWith('https:');
    const options = secure
      ? { method, headers, ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: !tls.insecure, timeout: timeoutMs }
      : { method, headers, timeout: timeoutMs };
    const req = (secure ? request : httpRequestPlain)(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }); });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Polls `check` until it returns true. Throws with `what` and the last error once
 * `timeoutMs` has passed, or at once if `abort()` names a reason (a process that exited).
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, abort?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not ready';
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      if (await check()) return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs} ms (${last})`);
    await sleep(100);
  }
}
