/**
 * Handshakes paced during a burst. The apiserver calls webhooks over HTTP/1.1 only (its
 * webhook client sets NextProtos to http/1.1) and keeps at most 25 idle connections per
 * webhook, so 200 concurrent pod creations make it dial about 175 new TLS connections, each
 * a full handshake (no session resumption), while a review takes well under a millisecond.
 * The handshakes, not the reviews, were the webhook's work during a burst.
 *
 * Go's transport hands a request the first connection that comes free, even while a dial it
 * started for that request is under way. So while enough connections are open and they keep
 * finishing requests, a new connection waits (its TLS not yet started) a few milliseconds
 * at a time, up to `maxDelayMs`: the burst runs on the open connections, and the dials
 * complete after it. A new connection is handshaken at once when few are open, or when the
 * open ones have stopped finishing requests (they are stuck, or it is not a burst).
 */
import type { Socket } from 'node:net';

export interface PacingPolicy {
  /** Below this many open TLS connections, every new one is handshaken at once. */
  readonly minOpen: number;
  /** The open connections count as cycling if one finished a request this recently. */
  readonly cyclingMs: number;
  /** The longest a new connection waits for its handshake. */
  readonly maxDelayMs: number;
}

export const DEFAULT_PACING: PacingPolicy = { minOpen: 32, cyclingMs: 10, maxDelayMs: 250 };

interface Waiting {
  readonly socket: Socket;
  readonly since: number;
}

export class HandshakePacer {
  private readonly waiting: Waiting[] = [];
  private open = 0;
  private lastAnswer = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private readonly policy: PacingPolicy;
  private readonly start: (socket: Socket) => void;
  private readonly now: () => number;

  /** `start` begins the TLS handshake of a socket. */
  constructor(policy: PacingPolicy, start: (socket: Socket) => void, now: () => number = () => performance.now()) {
    this.policy = policy;
    this.start = start;
    this.now = now;
  }

  /** A new TCP connection (paused): handshaken now or a little later. */
  offer(socket: Socket): void {
    this.waiting.push({ socket, since: this.now() });
    this.release();
  }

  /** A TLS connection is up; call the result when it closes. */
  opened(): () => void {
    this.open++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.open--;
      this.release();
    };
  }

  /** A request was answered: its connection is free for the next one. */
  answered(): void {
    this.lastAnswer = this.now();
  }

  get pending(): number {
    return this.waiting.length;
  }

  private release(): void {
    for (let head = this.waiting[0]; head !== undefined; head = this.waiting[0]) {
      if (head.socket.destroyed) {
        this.waiting.shift();
        continue;
      }
      const now = this.now();
      const cycling = this.open >= this.policy.minOpen && now - this.lastAnswer < this.policy.cyclingMs;
      if (cycling && now - head.since < this.policy.maxDelayMs) break;
      this.waiting.shift();
      this.start(head.socket);
    }
    if (this.waiting.length > 0) {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.release();
      }, 1);
    }
  }

  /** Drops every connection that waits (the server is closing). */
  drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const { socket } of this.waiting.splice(0)) socket.destroy();
  }
}
