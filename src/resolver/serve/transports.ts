/**
 * The DNS transports: UDP (udp-transport.ts) and TCP (tcp-transport.ts) on one address and
 * port. They only move bytes between sockets and the handler, and nothing a client sends
 * stops them: what cannot be answered is dropped and counted (metrics/drops.ts).
 */
import type { Drops } from '../metrics/drops.ts';
import type { Proto } from '../metrics/query-stats.ts';
import type { HandlerResult } from './query-handler.ts';
import type { TcpTimeouts } from './tcp-connection.ts';
import { TcpTransport } from './tcp-transport.ts';
import { UdpTransport } from './udp-transport.ts';

export interface DnsHandler {
  handle(message: Buffer, proto: Proto, family: 4 | 6): HandlerResult;
}

export interface DnsTransportsOptions {
  readonly address: string;
  readonly port: number;
  readonly handler: DnsHandler;
  readonly drops: Drops;
  readonly tcp: TcpTimeouts & {
    /** Connections of this thread; beyond it the quietest one is closed. */
    readonly maxConnections: number;
    /** Bytes all connections of this thread may hold together. */
    readonly bufferBytes: number;
  };
  /** Lets several processes or threads bind the same port (SO_REUSEPORT); the kernel spreads the load. */
  readonly reusePort?: boolean;
  /** An error of a listening socket itself (not of a client). */
  readonly onError: (error: Error) => void;
}

export class DnsTransports {
  private readonly udp: UdpTransport;
  private readonly tcp: TcpTransport;

  constructor(options: DnsTransportsOptions) {
    const { address, port, handler, drops, onError } = options;
    const reusePort = options.reusePort ?? false;
    this.udp = new UdpTransport({ address, port, reusePort, handler, drops, onError });
    this.tcp = new TcpTransport({
      address, port, reusePort, handler, drops, onError,
      timeouts: { idleTimeoutMs: options.tcp.idleTimeoutMs, readTimeoutMs: options.tcp.readTimeoutMs, writeTimeoutMs: options.tcp.writeTimeoutMs },
      maxConnections: options.tcp.maxConnections,
      bufferBytes: options.tcp.bufferBytes,
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.udp.start(), this.tcp.start()]);
  }

  /** Stops listening and ends every TCP connection. */
  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close()]);
  }
}
