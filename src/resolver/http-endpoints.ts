/**
 * The resolver's HTTP endpoints, as CoreDNS's `health`, `ready` and `prometheus` plugins
 * serve them: `/health` (200 while the process runs, lameduck included), `/ready` (200 only
 * once the watch cache is synced and until lameduck begins) and `/metrics`. Each has its
 * own port; endpoints configured on the same port share one server.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface Endpoint {
  readonly port: number;
  readonly path: string;
  /** Status and body; may be async (metrics). */
  readonly respond: () => { status: number; body: string; contentType?: string } | Promise<{ status: number; body: string; contentType?: string }>;
}

export class HttpEndpoints {
  private readonly servers: Server[] = [];
  private readonly address: string;
  private readonly endpoints: readonly Endpoint[];

  constructor(address: string, endpoints: readonly Endpoint[]) {
    this.address = address;
    this.endpoints = endpoints;
  }

  async start(): Promise<void> {
    const ports = [...new Set(this.endpoints.map((e) => e.port))];
    for (const port of ports) {
      const routes = new Map(this.endpoints.filter((e) => e.port === port).map((e) => [e.path, e]));
      const server = createServer((req, res) => { void serve(routes, req, res); });
      server.keepAliveTimeout = 5000;
      this.servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.address, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => new Promise<void>((resolve) => {
      server.close(() => { resolve(); });
      server.closeAllConnections();
    })));
    this.servers.length = 0;
  }
}

async function serve(routes: ReadonlyMap<string, Endpoint>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const endpoint = routes.get(path);
  if (!endpoint || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  try {
    const { status, body, contentType } = await endpoint.respond();
    res.writeHead(status, { 'content-type': contentType ?? 'text/plain; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`);
  }
}
