/**
 * Health ports that answer `/shadow` the way a broken or hostile pod might, for the
 * operator's collector to read: an endless body, a body of a byte a second, no answer at
 * all, broken JSON, and JSON of the wrong shape. Each is a raw TCP server on loopback, so
 * that it can misbehave below HTTP; each counts the connections it got.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface HostileSummaries {
  /** `127.0.0.1:PORT` of each. */
  readonly addresses: readonly string[];
  /** Connections each has had so far, in the order of `addresses`. */
  connections(): number[];
  close(): Promise<void>;
}

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n';

const BEHAVIOURS: ReadonlyArray<(socket: Socket) => void> = [
  // An endless body, as fast as the reader takes it.
  (socket) => {
    const chunk = Buffer.alloc(64 * 1024, '[');
    socket.write(`${HEAD}transfer-encoding: chunked\r\n\r\n`);
    const more = (): void => { while (!socket.destroyed && socket.write(`${chunk.length.toString(16)}\r\n${chunk.toString()}\r\n`)); };
    socket.on('drain', more);
    more();
  },
  // A valid start, then a byte a second.
  (socket) => {
    socket.write(`${HEAD}content-length: 100000\r\n\r\n{`);
    const timer = setInterval(() => { if (!socket.destroyed) socket.write(' '); }, 1000);
    socket.on('close', () => { clearInterval(timer); });
  },
  // Silence: the request is read, nothing is ever answered.
  () => undefined,
  // Broken JSON.
  (socket) => { socket.end(`${HEAD}content-length: 13\r\n\r\n{"compared":[`); },
  // JSON of the wrong shape: negative and non-numeric counts, a huge string.
  (socket) => {
    const body = JSON.stringify({ startedAt: 'x'.repeat(100_000), baseline: 1, sample: 'all', queries: -5, compared: 'lots', skipped: 0, errors: {}, mismatches: { rcode: 1e308 }, latest: [] });
    socket.end(`${HEAD}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  },
];

export async function startHostileSummaries(): Promise<HostileSummaries> {
  const servers: Server[] = [];
  const counts: number[] = [];
  const sockets = new Set<Socket>();
  for (const [i, behave] of BEHAVIOURS.entries()) {
    counts.push(0);
    const server = createServer((socket) => {
      counts[i] = (counts[i] ?? 0) + 1;
      sockets.add(socket);
      socket.on('close', () => { sockets.delete(socket); });
      socket.on('error', () => undefined);
      socket.once('data', () => { behave(socket); });
    });
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve); });
    servers.push(server);
  }
  return {
    addresses: servers.map((server) => {
      const address = server.address();
      return `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    }),
    connections: () => [...counts],
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => { server.close(() => { resolve(); }); })));
    },
  };
}
