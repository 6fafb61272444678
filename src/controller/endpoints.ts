/**
 * The operator's plain-HTTP endpoints, as controller-runtime serves them: `/metrics` on the
 * metrics address, `/healthz` and `/readyz` on the health address. Both run on every
 * replica (a follower is healthy and ready too: it serves the webhook).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Runnable } from './runnable.ts';

export interface ListenAddress {
  readonly host: string | undefined;
  readonly port: number;
}

/**
 * Parses `host:port`, `:port` (every interface) or `[v6]:port`; `0` turns the endpoint off
 * (controller-runtime's convention) and gives undefined. Throws on anything else.
 */
export function parseListenAddress(address: string): ListenAddress | undefined {
  if (address === '0') return undefined;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`"${address}" is not host:port, :port or 0`);
  const host = match[1] ?? match[2];
  return { host: host === '' ? undefined : host, port };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** An HTTP server as a Runnable: listening from start until the signal aborts. */
export class HttpEndpoint implements Runnable {
  readonly name: string;
  readonly needLeaderElection = false;
  private readonly address: ListenAddress;
  private readonly routes: Readonly<Record<string, Handler>>;
  private boundPort = 0;

  constructor(name: string, address: ListenAddress, routes: Readonly<Record<string, Handler>>) {
    this.name = name;
    this.address = address;
    this.routes = routes;
  }

  /** The port it listens on (useful with port 0), once started. */
  get port(): number {
    return this.boundPort;
  }

  async start(signal: AbortSignal): Promise<void> {
    const server = createServer((req, res) => {
      const route = this.routes[new URL(req.url ?? '/', 'http://localhost').pathname];
      if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      Promise.resolve(route(req, res)).catch((error: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.address.port, this.address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address();
    this.boundPort = typeof bound === 'object' && bound ? bound.port : 0;
    await new Promise<void>((resolve) => {
      const close = (): void => {
        server.close(() => { resolve(); });
        server.closeAllConnections();
      };
      if (signal.aborted) close();
      else signal.addEventListener('abort', close, { once: true });
    });
  }
}

/** `/metrics` in the Prometheus text format. */
export function metricsRoutes(registry: Registry): Record<string, Handler> {
  return {
    '/metrics': async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    },
  };
}

/** `/healthz` (the process answers) and `/readyz` (every readiness check passes, named in the body otherwise). */
export function healthRoutes(readyChecks: Readonly<Record<string, () => boolean>>): Record<string, Handler> {
  return {
    '/healthz': (_req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'); },
    '/readyz': (_req, res) => {
      const failing = Object.entries(readyChecks).filter(([, check]) => !check()).map(([name]) => name);
      if (failing.length === 0) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`not ready: ${failing.join(', ')}\n`);
    },
  };
}
