/**
 * A bound on the connections of the webhook's server. A cap alone would let a flood of idle
 * connections (or of half-done handshakes) lock the apiserver out until they time out, so a
 * full server makes room instead: the oldest connection without a request in flight is
 * closed, and a new one is refused only when every connection carries a request (each of
 * those ends within the request timeout). The apiserver's idle keep-alive connections may
 * be closed that way; its client dials again.
 */
import type { Socket } from 'node:net';

interface Connection {
  /** The TCP socket, then the TLS socket over it once the handshake is done (destroying the TCP one no longer closes it). */
  socket: Socket;
  /** Requests in flight on it. */
  busy: number;
}

/** Connections are told apart by the client's address and port (the TLS socket and the TCP socket under it share them). */
function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

export class ConnectionCap {
  /** In order of arrival: the first idle one found is the oldest. */
  private readonly open = new Map<string, Connection>();
  private readonly max: number;

  constructor(max: number) {
    this.max = max;
  }

  /** Takes a new TCP connection in; returns the peer (address|port) of the idle connection closed to make room, if any. */
  admit(socket: Socket): string | undefined {
    let evicted: string | undefined;
    if (this.open.size >= this.max) {
      const idle = this.oldestIdle();
      if (!idle) {
        socket.destroy();
        return undefined;
      }
      this.close(idle);
      evicted = idle;
    }
    // The key is taken now: a closed socket no longer knows its peer.
    const key = keyOf(socket);
    const connection: Connection = { socket, busy: 0 };
    this.open.set(key, connection);
    socket.once('close', () => { this.forget(key, connection); });
    return evicted;
  }

  /** The handshake on a connection is done: from now on it is closed through its TLS socket. */
  secured(socket: Socket): void {
    const key = keyOf(socket);
    const connection = this.open.get(key);
    if (!connection) return;
    connection.socket = socket;
    socket.once('close', () => { this.forget(key, connection); });
  }

  /** Marks a request in flight on `socket`'s connection; call the result when it is answered. */
  busy(socket: Socket): () => void {
    const connection = this.open.get(keyOf(socket));
    if (!connection) return () => undefined;
    connection.busy++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      connection.busy--;
    };
  }

  get size(): number {
    return this.open.size;
  }

  private oldestIdle(): string | undefined {
    for (const [key, connection] of this.open) if (connection.busy === 0) return key;
    return undefined;
  }

  private close(key: string): void {
    const connection = this.open.get(key);
    if (!connection) return;
    this.forget(key, connection);
    connection.socket.destroy();
  }

  private forget(key: string, connection: Connection): void {
    if (this.open.get(key) === connection) this.open.delete(key);
  }
}
