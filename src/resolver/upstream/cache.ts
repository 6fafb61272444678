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
 *
 * The cache is bounded twice, each kind on its own as CoreDNS gives each its own capacity:
 * by entries (`capacity` per kind) and by bytes (each kind at most half of `maxBytes`), since
 * an entry can be anything from 50 bytes to 64 KiB. The bytes are an estimate of what an
 * entry costs on the heap (its message, its scanned records, its key, the objects around
 * them); the oldest entries of the kind go first.
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
  readonly bytes: number;
}

export interface CacheOptions {
  /** Upper bound of any entry's lifetime; 0 turns the cache off. */
  readonly maxSeconds: number;
  /** Entries per kind (CoreDNS's default is 9984). */
  readonly capacity?: number;
  /** Bytes of the whole cache (estimated, see entryBytes); each kind may take half. Default 16 MiB. */
  readonly maxBytes?: number;
  readonly now?: () => number;
}

/** What a cache entry costs besides its message: the Entry, StoredMessage and Buffer objects and the Map slot (measured on Node 24: about 710 bytes of heap and the malloc of its bytes). */
const ENTRY_OVERHEAD_BYTES = 800;
/** What one scanned record costs (a ScannedRecord object of nine fields in an array: 96 bytes of heap, measured). */
const RECORD_OVERHEAD_BYTES = 100;
const DEFAULT_MAX_BYTES = 16 << 20;

/** The estimated heap cost of keeping `stored` under `key`. */
export function entryBytes(key: string, stored: StoredMessage): number {
  return ENTRY_OVERHEAD_BYTES + key.length + stored.message.length + stored.records.length * RECORD_OVERHEAD_BYTES;
}

export class ResponseCache {
  private readonly entries: Record<CacheKind, Map<string, Entry>> = { success: new Map(), denial: new Map() };
  private readonly bytes: Record<CacheKind, number> = { success: 0, denial: 0 };
  private readonly maxSeconds: number;
  private readonly capacity: number;
  private readonly maxBytesPerKind: number;
  private readonly now: () => number;

  constructor(options: CacheOptions) {
    this.maxSeconds = options.maxSeconds;
    this.capacity = options.capacity ?? 9984;
    this.maxBytesPerKind = (options.maxBytes ?? DEFAULT_MAX_BYTES) / 2;
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
    this.remove(key, entry);
    return undefined;
  }

  /** Keeps a response if the rules above allow it; returns the kind it was kept as. */
  put(key: string, stored: StoredMessage, truncated: boolean): CacheKind | undefined {
    if (this.maxSeconds <= 0 || truncated) return undefined;
    const decision = cacheability(stored);
    if (!decision) return undefined;
    const ttl = Math.min(decision.ttl, this.maxSeconds);
    if (ttl <= 0) return undefined;
    const kind = decision.kind;
    const bytes = entryBytes(key, stored);
    if (bytes > this.maxBytesPerKind) return undefined;
    const previous = this.entries.success.get(key) ?? this.entries.denial.get(key);
    if (previous) this.remove(key, previous);
    const map = this.entries[kind];
    for (const [oldestKey, oldest] of map) {
      if (map.size < this.capacity && this.bytes[kind] + bytes <= this.maxBytesPerKind) break;
      this.remove(oldestKey, oldest);
    }
    map.set(key, { stored, kind, storedAt: this.now(), ttl, bytes });
    this.bytes[kind] += bytes;
    return kind;
  }

  get sizes(): { success: number; denial: number; bytes: number } {
    return { success: this.entries.success.size, denial: this.entries.denial.size, bytes: this.bytes.success + this.bytes.denial };
  }

  private remove(key: string, entry: Entry): void {
    this.entries[entry.kind].delete(key);
    this.bytes[entry.kind] -= entry.bytes;
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
