/**
 * The DNS transports: UDP and TCP on one address and port. They only move bytes between
 * sockets and the handler.
 *
 * TCP (RFC 7766): two-byte length framing, several queries per connection answered as they
 * complete (pipelining), an idle timeout, a cap on connections (`server.maxConnections`
 * closes the ones beyond it) and on queries outstanding per connection (reading pauses).
 * A zero-length frame or garbage ends the connection; nothing a client sends stops the
 * server.
 */
import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { Server as TcpServer, Socket } from 'node:net';
import { isIPv6 } from 'node:net';
import type { Proto } from '../metrics/query-stats.ts';
import type { HandlerResult } from './query-handler.ts';

export interface DnsHandler {
  handle(message: Buffer, proto: Proto, family: 4 | 6): HandlerResult;
}

export interface DnsTransportsOptions {
  readonly address: string;
  readonly port: number;
  readonly handler: DnsHandler;
  readonly tcpIdleTimeoutMs: number;
  readonly tcpMaxConnections: number;
  /** Lets several processes or threads bind the same port (SO_REUSEPORT); the kernel spreads the load. */
  readonly reusePort?: boolean;
  readonly onError?: (error: Error) => void;
}

const MAX_OUTSTANDING_PER_CONNECTION = 128;
const UDP_BUFFER_BYTES = 4 << 20;

export class DnsTransports {
  private readonly options: DnsTransportsOptions;
  private udp: UdpSocket | undefined;
  private tcp: TcpServer | undefined;
  private readonly connections = new Set<Socket>();

  constructor(options: DnsTransportsOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    await Promise.all([this.startUdp(), this.startTcp()]);
  }

  /** Stops listening and ends every TCP connection. */
  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      udp && new Promise<void>((resolve) => { udp.close(() => { resolve(); }); }),
      tcp && new Promise<void>((resolve) => { tcp.close(() => { resolve(); }); }),
    ]);
  }

  private startUdp(): Promise<void> {
    const { address, port, handler } = this.options;
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: this.options.reusePort ?? false, reusePort: this.options.reusePort ?? false });
    this.udp = socket;
    socket.on('message', (message, remote) => {
      const family = remote.family === 'IPv6' ? 6 : 4;
      const result = handler.handle(message, 'udp', family);
      if (result instanceof Promise) {
        void result.then((response) => {
          if (response && this.udp === socket) socket.send(response, remote.port, remote.address);
        });
      } else if (result) {
        socket.send(result, remote.port, remote.address);
      }
    });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.options.onError?.(error));
        try {
          socket.setRecvBufferSize(UDP_BUFFER_BYTES);
          socket.setSendBufferSize(UDP_BUFFER_BYTES);
        } catch {
          // The kernel caps buffer sizes (net.core.rmem_max); the default works, only with less slack.
        }
        resolve();
      });
    });
  }

  private startTcp(): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => { this.serveConnection(socket); });
    server.maxConnections = this.options.tcpMaxConnections;
    this.tcp = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: this.options.port, host: this.options.address, reusePort: this.options.reusePort ?? false }, () => {
        server.off('error', reject);
        server.on('error', (error) => this.options.onError?.(error));
        resolve();
      });
    });
  }

  private serveConnection(socket: Socket): void {
    this.connections.add(socket);
    const family = socket.remoteFamily === 'IPv6' ? 6 : 4;
    let buffered: Buffer = Buffer.alloc(0);
    let outstanding = 0;
    socket.setTimeout(this.options.tcpIdleTimeoutMs, () => { socket.destroy(); });
    socket.on('error', () => undefined);
    socket.on('close', () => { this.connections.delete(socket); });
    const reply = (response: Buffer | undefined): void => {
      outstanding--;
      if (response && !socket.destroyed) {
        const frame = Buffer.allocUnsafe(response.length + 2);
        frame.writeUInt16BE(response.length, 0);
        response.copy(frame, 2);
        socket.write(frame);
      }
      if (socket.isPaused() && outstanding < MAX_OUTSTANDING_PER_CONNECTION) socket.resume();
    };
    socket.on('data', (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (length === 0) {
          socket.destroy();
          return;
        }
        if (buffered.length < length + 2) break;
        const message = Buffer.from(buffered.subarray(2, length + 2));
        buffered = buffered.subarray(length + 2);
        outstanding++;
        const result = this.options.handler.handle(message, 'tcp', family);
        if (result instanceof Promise) void result.then(reply);
        else reply(result);
      }
      if (outstanding >= MAX_OUTSTANDING_PER_CONNECTION) socket.pause();
    });
  }
}
