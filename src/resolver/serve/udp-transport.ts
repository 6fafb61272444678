/**
 * DNS over UDP on one address and port.
 *
 * Nothing a datagram carries can stop the socket: a query from port 0 (its answer could
 * not be sent: Node throws on port 0) is dropped before it is handled, an answer the kernel
 * refuses (EACCES for a broadcast address, EPERM from a firewall rule, ENOBUFS) is dropped,
 * and an exception while handling one datagram drops that datagram; each is counted by
 * reason and logged at a limited rate.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Drops } from '../metrics/drops.ts';
import { errorText } from '../metrics/drops.ts';
import type { DnsHandler } from './transports.ts';

export interface UdpTransportOptions {
  readonly address: string;
  readonly port: number;
  readonly reusePort: boolean;
  readonly handler: DnsHandler;
  readonly drops: Drops;
  readonly onError: (error: Error) => void;
}

const UDP_BUFFER_BYTES = 4 << 20;

export class UdpTransport {
  private readonly options: UdpTransportOptions;
  private socket: Socket | undefined;
  /** One callback for every send (no closure per answer): only failures reach it. */
  private readonly onSent = (error: Error | null): void => {
    if (error) this.options.drops.drop('send_failed', { err: error.message });
  };

  private readonly onFailure = (error: unknown): void => {
    this.options.drops.drop('exception', { err: errorText(error), proto: 'udp' });
  };

  constructor(options: UdpTransportOptions) {
    this.options = options;
  }

  start(): Promise<void> {
    const { address, port, reusePort } = this.options;
    const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4', reuseAddr: reusePort, reusePort });
    this.socket = socket;
    socket.on('message', (message, remote) => { this.receive(socket, message, remote); });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        socket.on('error', (error) => { this.options.onError(error); });
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

  close(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    return socket ? new Promise<void>((resolve) => { socket.close(() => { resolve(); }); }) : Promise.resolve();
  }

  private receive(socket: Socket, message: Buffer, remote: RemoteInfo): void {
    if (remote.port === 0) {
      this.options.drops.drop('unsendable', { from: remote.address, port: 0 });
      return;
    }
    let result;
    try {
      result = this.options.handler.handle(message, 'udp', remote.family === 'IPv6' ? 6 : 4);
    } catch (error) {
      this.onFailure(error);
      return;
    }
    if (result instanceof Promise) {
      result.then((response) => { if (response) this.send(socket, response, remote); }, this.onFailure);
    } else if (result) {
      this.send(socket, result, remote);
    }
  }

  private send(socket: Socket, response: Buffer, remote: RemoteInfo): void {
    if (this.socket !== socket) return;
    try {
      socket.send(response, remote.port, remote.address, this.onSent);
    } catch (error) {
      this.options.drops.drop('unsendable', { to: remote.address, port: remote.port, err: errorText(error) });
    }
  }
}
