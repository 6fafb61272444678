/**
 * DNS over TCP on one address and port: the listening socket and the table of its
 * connections (each one is tcp-connection.ts).
 *
 * Two limits hold for all connections of the thread together:
 * - `maxConnections`: a connection beyond it makes room by closing the connection that has
 *   gone longest without a query, instead of being refused: a flood of connections that
 *   send nothing cannot lock out the clients that ask (each new one would otherwise wait
 *   for an idle timeout to free a slot);
 * - `bufferBytes`: when the bytes held by all connections (unparsed queries, queries in
 *   flight, unsent answers) go over it, the connection that holds the most is closed; it is
 *   the one that reads least (a client that asks and never reads).
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Drops } from '../metrics/drops.ts';
import { TcpConnection } from './tcp-connection.ts';
import type { ConnectionOwner, TcpTimeouts } from './tcp-connection.ts';
import type { DnsHandler } from './transports.ts';

export interface TcpTransportOptions {
  readonly address: string;
  readonly port: number;
  readonly reusePort: boolean;
  readonly handler: DnsHandler;
  readonly drops: Drops;
  readonly timeouts: TcpTimeouts;
  readonly maxConnections: number;
  readonly bufferBytes: number;
  readonly onError: (error: Error) => void;
}

export class TcpTransport implements ConnectionOwner {
  readonly handler: DnsHandler;
  readonly drops: Drops;
  readonly timeouts: TcpTimeouts;
  private readonly options: TcpTransportOptions;
  /** In the order of their last query, the longest quiet first. */
  private readonly connections = new Map<TcpConnection, true>();
  private server: Server | undefined;
  private bytes = 0;

  constructor(options: TcpTransportOptions) {
    this.options = options;
    this.handler = options.handler;
    this.drops = options.drops;
    this.timeouts = options.timeouts;
  }

  start(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => { this.accept(socket); });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.options.port, host: this.options.address, reusePort: this.options.reusePort }, () => {
        server.off('error', reject);
        server.on('error', (error) => { this.options.onError(error); });
        resolve();
      });
    });
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const connection of [...this.connections.keys()]) connection.close('shutdown');
    if (server) await new Promise<void>((resolve) => { server.close(() => { resolve(); }); });
  }

  /** Connections open now. */
  get size(): number {
    return this.connections.size;
  }

  active(connection: TcpConnection): void {
    this.connections.delete(connection);
    this.connections.set(connection, true);
  }

  held(_connection: TcpConnection, delta: number): void {
    this.bytes += delta;
    while (this.bytes > this.options.bufferBytes) {
      let largest: TcpConnection | undefined;
      for (const connection of this.connections.keys()) if (!largest || connection.bytes > largest.bytes) largest = connection;
      if (!largest || largest.bytes === 0) break;
      largest.close('memory');
    }
  }

  closed(connection: TcpConnection): void {
    if (!this.connections.delete(connection)) return;
    this.bytes -= connection.bytes;
  }

  private accept(socket: Socket): void {
    if (!this.server) {
      socket.destroy();
      return;
    }
    while (this.connections.size >= this.options.maxConnections) {
      const quietest = this.connections.keys().next();
      if (quietest.done) break;
      quietest.value.close('evicted');
    }
    const connection = new TcpConnection(socket, this);
    this.connections.set(connection, true);
    connection.start();
  }
}
