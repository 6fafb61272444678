/**
 * The cache of upstream answers (never of the cluster zone, which is answered from the watch
 * cache so that a change is visible at once, as kubeadm's Corefile disables caching there).
 *
 * What is kept, and for how long, follows the RFCs as CoreDNS's cache plugin does:
 * - a truncated answer is never kept: it is not the answer (RFC 2181 §9);
 * - a positive answer lives as long as its smallest TTL (RFC 2181 §5.2), at most `maxSeconds`;
 * - NXDOMAIN and NODATA are kept only with an SOA in the authority section, for
 *   min(SOA TTL, SOA MINIMUM) (RFC 2308 §5), at most `maxSeconds`;
 * - errors (SERVFAIL, REFUSED, ...) are not kept, and a TTL of 0 means "do not cache".
 * Every record is served with the time it has left. Time is passed in (`now`).
 */
import { RCODE, TYPE } from '../../dns/records.ts';
import type { StoredMessage } from '../../dns/response-relay.ts';

export type CacheKind = 'success' | 'denial';

export interface CacheHit {
  readonly stored: StoredMessage;
  readonly kind: CacheKind;
  /** Seconds left; every record is served with this TTL. */
  readonly ttl: number;
}

interface Entry {
  readonly stored: StoredMessage;
  readonly kind: CacheKind;
  readonly storedAt: number;
  readonly ttl: number;
}

export interface CacheOptions {
  /** Upper bound of any entry's lifetime; 0 turns the cache off. */
  readonly maxSeconds: number;
  /** Entries per kind (CoreDNS's default is 9984). */
  readonly capacity?: number;
  readonly now?: () => number;
}

export class ResponseCache {
  private readonly entries: Record<CacheKind, Map<string, Entry>> = { success: new Map(), denial: new Map() };
  private readonly maxSeconds: number;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(options: CacheOptions) {
    this.maxSeconds = options.maxSeconds;
    this.capacity = options.capacity ?? 9984;
    this.now = options.now ?? Date.now;
  }

  /** The key of a question: name (lower case), type, class, and the DO and CD bits that change answers. */
  static key(lowerName: string, type: number, klass: number, dnssecOk: boolean, checkingDisabled: boolean): string {
    return `${lowerName}|${type}|${klass}|${dnssecOk ? 1 : 0}${checkingDisabled ? 1 : 0}`;
  }

  get(key: string): CacheHit | undefined {
    const entry = this.entries.success.get(key) ?? this.entries.denial.get(key);
    if (!entry) return undefined;
    const left = entry.ttl - Math.floor((this.now() - entry.storedAt) / 1000);
    if (left > 0) return { stored: entry.stored, kind: entry.kind, ttl: left };
    this.entries[entry.kind].delete(key);
    return undefined;
  }

  /** Keeps a response if the rules above allow it; returns the kind it was kept as. */
  put(key: string, stored: StoredMessage, truncated: boolean): CacheKind | undefined {
    if (this.maxSeconds <= 0 || truncated) return undefined;
    const decision = cacheability(stored);
    if (!decision) return undefined;
    const ttl = Math.min(decision.ttl, this.maxSeconds);
    if (ttl <= 0) return undefined;
    this.entries.success.delete(key);
    this.entries.denial.delete(key);
    const map = this.entries[decision.kind];
    if (map.size >= this.capacity) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(key, { stored, kind: decision.kind, storedAt: this.now(), ttl });
    return decision.kind;
  }

  get sizes(): { success: number; denial: number } {
    return { success: this.entries.success.size, denial: this.entries.denial.size };
  }
}

/** Whether and for how long a response may be kept (before the `maxSeconds` cap). */
export function cacheability(stored: StoredMessage): { kind: CacheKind; ttl: number } | undefined {
  const answers = stored.records.filter((r) => r.section === 0);
  if (stored.rcode === RCODE.NOERROR && answers.length > 0) {
    return { kind: 'success', ttl: Math.min(...stored.records.filter((r) => r.type !== TYPE.OPT).map((r) => r.ttl)) };
  }
  if (stored.rcode !== RCODE.NOERROR && stored.rcode !== RCODE.NXDOMAIN) return undefined;
  const soa = stored.records.find((r) => r.section === 1 && r.type === TYPE.SOA);
  if (!soa) return undefined;
  const minimum = stored.message.readUInt32BE(soa.end - 4);
  return { kind: 'denial', ttl: Math.min(soa.ttl, minimum) };
}
