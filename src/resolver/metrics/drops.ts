/**
 * What the resolver drops instead of answering, and the TCP connections it closes, counted
 * by reason (`clusterdns_resolver_dropped_total`, `clusterdns_resolver_tcp_closed_total`) and
 * logged at a limited rate: under attack a drop can happen thousands of times a second,
 * and neither the log nor the thread writing it may drown in it.
 */

/** Why a message was dropped: the values of the `reason` label. */
export const DROP_REASONS = [
  /** A query shorter than a header, or a response sent to the server. */
  'malformed',
  /** The reply could not even be handed to the kernel: port 0, an address Node refuses. */
  'unsendable',
  /** The kernel refused the reply (EACCES for a broadcast address, EPERM from a firewall, ENOBUFS). */
  'send_failed',
  /** An exception while handling one message (a bug; the message is dropped, the server goes on). */
  'exception',
  /** Upstream answers the forwarder did not ask for: from another address or port, ... */
  'upstream_wrong_source',
  /** ... with another id, ... */
  'upstream_wrong_id',
  /** ... to another question, ... */
  'upstream_wrong_question',
  /** ... that cannot be read (bad names, compression-pointer loops, records past the end), ... */
  'upstream_malformed',
  /** ... or over UDP and larger than the size the forwarder advertised (it asks over TCP instead). */
  'upstream_oversized',
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** Why the server closed a TCP connection: the values of the `reason` label. */
export const TCP_CLOSE_REASONS = [
  /** Nothing received for `tcp.idleTimeoutSeconds`. */
  'idle',
  /** A message begun and not finished within `tcp.readTimeoutSeconds` (slowloris). */
  'read_timeout',
  /** Answers waiting for the client to read them for longer than `tcp.writeTimeoutSeconds`. */
  'write_timeout',
  /** The connection held the most memory when all connections together went over `tcp.bufferMiB`. */
  'memory',
  /** The connection idle the longest, closed to make room at `tcp.maxConnections`. */
  'evicted',
  /** A zero-length frame. */
  'bad_frame',
] as const;
export type TcpCloseReason = (typeof TCP_CLOSE_REASONS)[number];

/** Where drops are counted (QueryStats, per serving thread). */
export interface DropCounters {
  dropped(reason: DropReason): void;
  tcpClosed(reason: TcpCloseReason): void;
}

/** Where the lines go (pino's signature). */
export interface WarnLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RateLimit {
  /** Lines allowed at once. */
  readonly burst: number;
  /** Lines allowed per second after the burst. */
  readonly perSecond: number;
}

/** A token bucket: `take()` is true while tokens are left; they come back at `perSecond`. Time is passed in. */
export class RateLimiter {
  private readonly limit: RateLimit;
  private readonly now: () => number;
  private tokens: number;
  private last: number;

  constructor(limit: RateLimit, now: () => number) {
    this.limit = limit;
    this.now = now;
    this.tokens = limit.burst;
    this.last = now();
  }

  take(): boolean {
    const now = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.limit.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Three lines at once per key, then one a minute, each saying how many were left out. */
export const LOG_LIMIT: RateLimit = { burst: 3, perSecond: 1 / 60 };

/** A log that writes at most LOG_LIMIT lines per key (a reason, a kind of failure) and counts the lines it left out. */
export class LimitedLog {
  private readonly log: WarnLog;
  private readonly now: () => number;
  private readonly limit: RateLimit;
  private readonly keys = new Map<string, { readonly limiter: RateLimiter; suppressed: number }>();

  constructor(log: WarnLog, now: () => number = Date.now, limit: RateLimit = LOG_LIMIT) {
    this.log = log;
    this.now = now;
    this.limit = limit;
  }

  write(level: 'warn' | 'error', key: string, fields: object, message: string): void {
    let entry = this.keys.get(key);
    if (!entry) {
      entry = { limiter: new RateLimiter(this.limit, this.now), suppressed: 0 };
      this.keys.set(key, entry);
    }
    if (!entry.limiter.take()) {
      entry.suppressed++;
      return;
    }
    this.log[level]({ ...fields, suppressedSinceLast: entry.suppressed }, message);
    entry.suppressed = 0;
  }
}

/** Counts drops and closes (per serving thread) and logs them through a LimitedLog. */
export class Drops {
  readonly log: LimitedLog;
  private readonly counters: DropCounters;

  constructor(counters: DropCounters, log: LimitedLog) {
    this.counters = counters;
    this.log = log;
  }

  /** Counts a dropped message, and logs it unless this reason was logged too often lately. */
  drop(reason: DropReason, fields: object = {}): void {
    this.counters.dropped(reason);
    this.log.write('warn', reason, { ...fields, reason }, 'dropped a message');
  }

  /** Counts a TCP connection the server closed; only the reasons that point at a misbehaving client are logged. */
  tcpClosed(reason: TcpCloseReason, fields: object = {}): void {
    this.counters.tcpClosed(reason);
    if (reason !== 'idle') this.log.write('warn', `tcp_${reason}`, { ...fields, reason }, 'closed a TCP connection');
  }
}

/** An error's message, whatever was thrown. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
