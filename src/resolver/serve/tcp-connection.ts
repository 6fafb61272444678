/**
 * One DNS-over-TCP connection (RFC 7766): several queries, each answered as it completes,
 * in memory bounded whatever the client does.
 *
 * - Reading stops while MAX_IN_FLIGHT queries are unanswered (whatever answers them, the
 *   index at once or upstream later) or while more than MAX_UNSENT_BYTES of answers wait
 *   for the client to read them, and goes on when that is no longer so. The bytes of the
 *   queries not yet read stay in the kernel, where TCP's flow control holds the client.
 * - Three timeouts, as CoreDNS's `timeouts` (idle, read, write): nothing received and
 *   nothing in flight for `idleTimeoutMs`; a message begun and not finished within
 *   `readTimeoutMs` (a slowloris resets no idle timer this way); answers stuck over the
 *   bound for `writeTimeoutMs` (a client that never reads, or reads too slowly).
 * - What it holds (unparsed bytes, queries in flight, unsent answers) is reported to its
 *   owner, which keeps the budget of all connections together (tcp-transport.ts).
 * - At most MAX_PER_TURN queries are taken in one go: the UDP socket and the other
 *   connections get their turn in between.
 */
import type { Socket } from 'node:net';
import { FrameReader, frame } from '../../dns/tcp-framing.ts';
import type { Drops, TcpCloseReason } from '../metrics/drops.ts';
import { errorText } from '../metrics/drops.ts';
import type { DnsHandler } from './transports.ts';

/** Unanswered queries per connection before it is read no further. */
export const MAX_IN_FLIGHT = 64;
/** Bytes of answers waiting for the client before the connection is read no further. */
export const MAX_UNSENT_BYTES = 64 << 10;
/**
 * Queries of one connection answered in one go; the rest wait for the next turn of the event
 * loop, so that a client pipelining thousands cannot keep the thread from everyone else.
 */
export const MAX_PER_TURN = 32;

export interface TcpTimeouts {
  readonly idleTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly writeTimeoutMs: number;
}

/** What a connection reports to the transport that owns it. */
export interface ConnectionOwner {
  readonly handler: DnsHandler;
  readonly timeouts: TcpTimeouts;
  readonly drops: Drops;
  /** A query arrived (for the order in which idle connections are evicted). */
  active(connection: TcpConnection): void;
  /** The bytes the connection holds changed by `delta`. */
  held(connection: TcpConnection, delta: number): void;
  /** The connection is gone; called once. */
  closed(connection: TcpConnection): void;
}

export class TcpConnection {
  /** Bytes held for this connection, as last reported to the owner. */
  bytes = 0;
  private readonly socket: Socket;
  private readonly owner: ConnectionOwner;
  private readonly family: 4 | 6;
  private readonly reader = new FrameReader();
  private inFlight = 0;
  private inFlightBytes = 0;
  private reading = true;
  private ended = false;
  private readTimer: NodeJS.Timeout | undefined;
  private writeTimer: NodeJS.Timeout | undefined;
  private nextTurn: NodeJS.Immediate | undefined;
  private readonly onNextTurn = (): void => {
    this.nextTurn = undefined;
    this.pump();
  };
  private readonly onAnswer = (response: Buffer | undefined): void => {
    this.send(response);
    this.pump();
  };

  private readonly onFailure = (error: unknown): void => {
    this.owner.drops.drop('exception', { err: errorText(error), proto: 'tcp' });
    this.send(undefined);
    this.pump();
  };

  constructor(socket: Socket, owner: ConnectionOwner) {
    this.socket = socket;
    this.owner = owner;
    this.family = socket.remoteFamily === 'IPv6' ? 6 : 4;
  }

  start(): void {
    const socket = this.socket;
    // A listener of our own ('timeout' fires again after each quiet period): setTimeout's callback would be called once only.
    socket.setTimeout(this.owner.timeouts.idleTimeoutMs);
    socket.on('timeout', () => {
      // Waiting for upstream is not idleness: the timer just starts again.
      if (this.inFlight === 0) this.close('idle');
    });
    // ECONNRESET, EPIPE: the client went away; 'close' follows.
    socket.on('error', () => undefined);
    socket.on('close', () => { this.end(); });
    socket.on('data', (chunk: Buffer) => {
      this.reader.push(chunk);
      this.pump();
    });
    socket.on('drain', () => {
      this.stopTimer('write');
      this.pump();
    });
  }

  /** Closes the connection at once, counting why (nothing is counted when the server shuts down). */
  close(reason: TcpCloseReason | 'shutdown'): void {
    if (this.ended) return;
    if (reason !== 'shutdown') this.owner.drops.tcpClosed(reason, { from: this.socket.remoteAddress, held: this.bytes });
    this.socket.destroy();
    this.end();
  }

  /**
   * Takes as many queries as the limits allow; the socket is read further only once every
   * whole message received so far is taken.
   */
  private pump(): void {
    const socket = this.socket;
    let taken = 0;
    let exhausted = false;
    while (!this.ended) {
      if (this.inFlight >= MAX_IN_FLIGHT || socket.writableLength > MAX_UNSENT_BYTES) break;
      if (taken === MAX_PER_TURN) {
        this.nextTurn ??= setImmediate(this.onNextTurn);
        break;
      }
      const message = this.reader.next();
      if (!message) {
        exhausted = true;
        break;
      }
      if (message.length === 0) {
        this.close('bad_frame');
        return;
      }
      taken++;
      this.owner.active(this);
      this.query(message);
    }
    if (this.ended) return;
    if (exhausted !== this.reading) {
      if (exhausted) socket.resume();
      else socket.pause();
      this.reading = exhausted;
    }
    // The read timeout runs only while the client owes the rest of a message, from its first byte.
    const partial = exhausted && this.reader.buffered > 0;
    if (!partial || taken > 0) this.stopTimer('read');
    if (partial) this.startTimer('read');
    if (socket.writableLength > MAX_UNSENT_BYTES) this.startTimer('write');
    const bytes = this.reader.buffered + this.inFlightBytes + socket.writableLength + socket.readableLength;
    if (bytes !== this.bytes) {
      const delta = bytes - this.bytes;
      this.bytes = bytes;
      this.owner.held(this, delta);
    }
  }

  private query(message: Buffer): void {
    this.inFlight++;
    this.inFlightBytes += message.length;
    let result;
    try {
      result = this.owner.handler.handle(message, 'tcp', this.family);
    } catch (error) {
      this.owner.drops.drop('exception', { err: errorText(error), proto: 'tcp' });
      result = undefined;
    }
    if (result instanceof Promise) {
      const length = message.length;
      result.then((response) => {
        this.inFlightBytes -= length;
        this.onAnswer(response);
      }, (error: unknown) => {
        this.inFlightBytes -= length;
        this.onFailure(error);
      });
    } else {
      this.inFlightBytes -= message.length;
      this.send(result);
    }
  }

  private send(response: Buffer | undefined): void {
    this.inFlight--;
    if (response && !this.ended) this.socket.write(frame(response));
  }

  private startTimer(which: 'read' | 'write'): void {
    if (which === 'read') {
      this.readTimer ??= setTimeout(() => { this.close('read_timeout'); }, this.owner.timeouts.readTimeoutMs);
    } else {
      this.writeTimer ??= setTimeout(() => { this.close('write_timeout'); }, this.owner.timeouts.writeTimeoutMs);
    }
  }

  private stopTimer(which: 'read' | 'write'): void {
    if (which === 'read' && this.readTimer) {
      clearTimeout(this.readTimer);
      this.readTimer = undefined;
    } else if (which === 'write' && this.writeTimer) {
      clearTimeout(this.writeTimer);
      this.writeTimer = undefined;
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimer('read');
    this.stopTimer('write');
    if (this.nextTurn) clearImmediate(this.nextTurn);
    this.reader.clear();
    this.owner.closed(this);
  }
}
