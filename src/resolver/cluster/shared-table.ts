/**
 * One kind's records (Services, EndpointSlices or Pods) encoded once into shared memory, so
 * that every serving thread reads the same bytes instead of holding its own copy of the
 * index: a table is a set of typed arrays over SharedArrayBuffers, and posting it to a
 * thread shares the memory (nothing is copied).
 *
 * A table is immutable. Each record is stored as compact JSON (a kind's `pack` turns it into
 * an array, without field names) and decoded when a lookup returns it. Lookups go through
 * key maps (open addressing over the UTF-8 bytes of a key, such as "namespace/name" or an
 * IP), each naming the records that have that key.
 */

export interface KeyMapData {
  /** Open addressing, load at most 1/2: the key's number + 1, 0 for an empty slot. */
  readonly slots: Uint32Array;
  /** Per key: its hash, and where its bytes and its record numbers end. */
  readonly hashes: Uint32Array;
  readonly byteEnds: Uint32Array;
  readonly postingEnds: Uint32Array;
  readonly bytes: Uint8Array;
  /** Record numbers, grouped by key. */
  readonly postings: Uint32Array;
}

export interface SharedTableData {
  readonly count: number;
  /** A kind's own total (EndpointSlices: their addresses), for the index's counts. */
  readonly weight: number;
  readonly records: Uint8Array;
  readonly recordEnds: Uint32Array;
  readonly keys: Readonly<Record<string, KeyMapData>>;
}

/** How a kind is stored: its codec and the keys it is found by (`key` is the one that names a record). */
export interface KindLayout<T> {
  readonly pack: (record: T) => unknown[];
  readonly unpack: (packed: unknown[]) => T;
  readonly keys: Readonly<Record<string, (record: T) => readonly string[]>>;
  readonly weight?: (record: T) => number;
}

function shared<T extends Uint8Array | Uint32Array>(make: new (buffer: SharedArrayBuffer) => T, bytes: number): T {
  return new make(new SharedArrayBuffer(bytes));
}

function sharedCopy<T extends Uint8Array | Uint32Array>(make: new (buffer: SharedArrayBuffer) => T, values: T, length: number): T {
  const out = shared(make, length * values.BYTES_PER_ELEMENT);
  out.set(values.subarray(0, length));
  return out;
}

/** FNV-1a over bytes: cheap, and good enough for keys that are names and addresses. */
function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ (bytes[i] ?? 0), 0x01000193);
  return hash >>> 0;
}

function sameBytes(stored: Uint8Array, start: number, length: number, wanted: Uint8Array, wantedLength: number): boolean {
  if (length !== wantedLength) return false;
  for (let i = 0; i < length; i++) if (stored[start + i] !== wanted[i]) return false;
  return true;
}

const SLASH = 0x2f;

/**
 * FNV-1a over a string's code units, continuing from `hash` (as hashBytes over its UTF-8
 * bytes, which are the same for ASCII); undefined when the string is not ASCII.
 */
function asciiHash(hash: number, text: string): number | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return undefined;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  return hash;
}

function sameAscii(stored: Uint8Array, start: number, key: string): boolean {
  for (let i = 0; i < key.length; i++) if (stored[start + i] !== key.charCodeAt(i)) return false;
  return true;
}

/** A key's UTF-8 bytes in a reused buffer (lookups and builders encode every key they hash). */
class KeyEncoder {
  bytes = Buffer.allocUnsafe(512);

  /** Encodes `key` and returns its length in bytes. */
  encode(key: string): number {
    if (key.length * 3 > this.bytes.length) this.bytes = Buffer.allocUnsafe(key.length * 3);
    return this.bytes.write(key, 0);
  }
}

/** Growable typed arrays: while a table is built nothing of it is a JavaScript object, so the list's garbage is all the collector sees. */
class U32Growable {
  data = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length * 2);
    this.data[this.length++] = value;
  }

  grow(size: number): void {
    const grown = new Uint32Array(size);
    grown.set(this.data.subarray(0, this.length));
    this.data = grown;
  }
}

class BytesGrowable {
  data = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private room(extra: number): void {
    if (this.length + extra <= this.data.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.length + extra, this.data.length * 2));
    this.data.copy(grown, 0, 0, this.length);
    this.data = grown;
  }

  write(text: string): void {
    this.room(text.length * 3);
    this.length += this.data.write(text, this.length);
  }

  append(bytes: Uint8Array, length: number): void {
    this.room(length);
    this.data.set(bytes.subarray(0, length), this.length);
    this.length += length;
  }
}

/**
 * One key map, built key by key: distinct keys are found by their bytes in an open
 * addressing table that grows as keys come, and each key's record numbers are chained
 * (newest first) until `finish` lays them out grouped.
 */
class KeyMapBuilder {
  private slots = new Uint32Array(1024);
  private readonly hashes = new U32Growable();
  private readonly bytes = new BytesGrowable();
  private readonly byteEnds = new U32Growable();
  /** Per key: its newest posting + 1 (0: none), and how many it has. */
  private readonly newest = new U32Growable();
  private readonly counts = new U32Growable();
  /** Per posting: its record, and the same key's posting before it + 1. */
  private readonly records = new U32Growable();
  private readonly previous = new U32Growable();

  add(encoder: KeyEncoder, key: string, record: number): void {
    const length = encoder.encode(key);
    const hash = hashBytes(encoder.bytes, 0, length);
    let k = this.find(encoder.bytes, length, hash);
    if (k === undefined) {
      k = this.hashes.length;
      this.hashes.push(hash);
      this.bytes.append(encoder.bytes, length);
      this.byteEnds.push(this.bytes.length);
      this.newest.push(0);
      this.counts.push(0);
      if (this.hashes.length * 2 > this.slots.length) this.rehash(this.slots.length * 2);
      else this.place(k, hash);
    }
    const newest = this.newest.data[k] ?? 0;
    if (newest !== 0 && this.records.data[newest - 1] === record) return; // the same key twice in one record
    this.records.push(record);
    this.previous.push(newest);
    this.newest.data[k] = this.records.length;
    this.counts.data[k] = (this.counts.data[k] ?? 0) + 1;
  }

  finish(): KeyMapData {
    const keys = this.hashes.length;
    const postingEnds = shared(Uint32Array, keys * 4);
    const postings = shared(Uint32Array, this.records.length * 4);
    let end = 0;
    for (let k = 0; k < keys; k++) {
      end += this.counts.data[k] ?? 0;
      postingEnds[k] = end;
      // The chain runs newest first: fill the key's range from its end.
      let at = end;
      for (let p = this.newest.data[k] ?? 0; p !== 0; p = this.previous.data[p - 1] ?? 0) postings[--at] = this.records.data[p - 1] ?? 0;
    }
    return {
      slots: sharedCopy(Uint32Array, this.slots, this.slots.length),
      hashes: sharedCopy(Uint32Array, this.hashes.data, keys),
      byteEnds: sharedCopy(Uint32Array, this.byteEnds.data, keys),
      postingEnds,
      bytes: sharedCopy(Uint8Array, this.bytes.data, this.bytes.length),
      postings,
    };
  }

  private find(wanted: Uint8Array, length: number, hash: number): number | undefined {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] ?? 0;
      if (entry === 0) return undefined;
      const k = entry - 1;
      if (this.hashes.data[k] !== hash) continue;
      const start = k === 0 ? 0 : this.byteEnds.data[k - 1] ?? 0;
      if (sameBytes(this.bytes.data, start, (this.byteEnds.data[k] ?? 0) - start, wanted, length)) return k;
    }
  }

  private place(k: number, hash: number): void {
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = k + 1;
  }

  private rehash(capacity: number): void {
    this.slots = new Uint32Array(capacity);
    for (let k = 0; k < this.hashes.length; k++) this.place(k, this.hashes.data[k] ?? 0);
  }
}

/**
 * Encodes records into a new table as they come (a list's pages, one by one), so that they
 * need not all be held at once.
 */
export class TableBuilder<T> {
  private readonly layout: KindLayout<T>;
  private readonly bytes = new BytesGrowable();
  private readonly ends = new U32Growable();
  private readonly encoder = new KeyEncoder();
  private readonly maps: Array<{ name: string; keysOf: (record: T) => readonly string[]; builder: KeyMapBuilder }>;
  private weight = 0;

  constructor(layout: KindLayout<T>) {
    this.layout = layout;
    this.maps = Object.entries(layout.keys).map(([name, keysOf]) => ({ name, keysOf, builder: new KeyMapBuilder() }));
  }

  add(record: T): void {
    const number = this.ends.length;
    this.bytes.write(JSON.stringify(this.layout.pack(record)));
    this.ends.push(this.bytes.length);
    if (this.layout.weight) this.weight += this.layout.weight(record);
    for (const { keysOf, builder } of this.maps) for (const key of keysOf(record)) builder.add(this.encoder, key, number);
  }

  finish(): SharedTableData {
    const keys: Record<string, KeyMapData> = {};
    for (const { name, builder } of this.maps) keys[name] = builder.finish();
    return {
      count: this.ends.length,
      weight: this.weight,
      records: sharedCopy(Uint8Array, this.bytes.data, this.bytes.length),
      recordEnds: sharedCopy(Uint32Array, this.ends.data, this.ends.length),
      keys,
    };
  }
}

export function buildTable<T>(records: Iterable<T>, layout: KindLayout<T>): SharedTableData {
  const builder = new TableBuilder(layout);
  for (const record of records) builder.add(record);
  return builder.finish();
}

/**
 * Decoded records a thread keeps per table: decoding (JSON.parse of the packed record) would
 * otherwise cost every answer a fifth of its time, and the names a pod asks repeat. At most
 * a few MiB per kind and thread (a decoded EndpointSlice of 5 endpoints is about 1 KiB).
 */
export const DECODED_CACHE_RECORDS = 2048;

/** Read access to a table (in whichever thread it was posted to). */
export class SharedTable<T> {
  readonly data: SharedTableData;
  private readonly layout: KindLayout<T>;
  private readonly records: Buffer;
  private readonly encoder = new KeyEncoder();
  /** Records decoded lately, by number: a table never changes, so they stay right. */
  private readonly decoded = new Map<number, T>();

  constructor(data: SharedTableData, layout: KindLayout<T>) {
    this.data = data;
    this.layout = layout;
    this.records = Buffer.from(data.records.buffer, data.records.byteOffset, data.records.byteLength);
  }

  static empty<T>(layout: KindLayout<T>): SharedTable<T> {
    return new SharedTable(buildTable([], layout), layout);
  }

  get count(): number {
    return this.data.count;
  }

  record(number: number): T {
    const known = this.decoded.get(number);
    if (known !== undefined) return known;
    const ends = this.data.recordEnds;
    const start = number === 0 ? 0 : ends[number - 1] ?? 0;
    const record = this.layout.unpack(JSON.parse(this.records.toString('utf8', start, ends[number] ?? 0)) as unknown[]);
    // Dropped all at once when full: cheaper than ordering by use, and the names asked
    // often are back in the cache after a few queries.
    if (this.decoded.size >= DECODED_CACHE_RECORDS) this.decoded.clear();
    this.decoded.set(number, record);
    return record;
  }

  /**
   * The first record with a key in the key map `name` (for `key`, the only one). The key is
   * `key`, or `key/suffix` with a suffix: lookups of "namespace/name" need not build it.
   */
  first(name: string, key: string, suffix?: string): T | undefined {
    const map = this.data.keys[name];
    const k = map ? this.keyNumber(map, key, suffix) : -1;
    if (!map || k < 0) return undefined;
    return this.record(map.postings[k === 0 ? 0 : map.postingEnds[k - 1] ?? 0] ?? 0);
  }

  /** The records with a key (as `first` takes it) in the key map `name`. */
  find(name: string, key: string, suffix?: string): T[] {
    const map = this.data.keys[name];
    const k = map ? this.keyNumber(map, key, suffix) : -1;
    if (!map || k < 0) return [];
    const out: T[] = [];
    const end = map.postingEnds[k] ?? 0;
    for (let p = k === 0 ? 0 : map.postingEnds[k - 1] ?? 0; p < end; p++) out.push(this.record(map.postings[p] ?? 0));
    return out;
  }

  /**
   * The number of the key in `map`, or -1. Keys are nearly always ASCII (names and
   * addresses): those are hashed and compared as they are, and only others are encoded to
   * UTF-8 first.
   */
  private keyNumber(map: KeyMapData, key: string, suffix: string | undefined): number {
    if (map.hashes.length === 0) return -1;
    let ascii = asciiHash(0x811c9dc5, key);
    if (suffix !== undefined && ascii !== undefined) ascii = asciiHash(Math.imul(ascii ^ SLASH, 0x01000193), suffix);
    if (ascii === undefined) return this.encodedKeyNumber(map, suffix === undefined ? key : `${key}/${suffix}`);
    const hash = ascii >>> 0;
    const length = key.length + (suffix === undefined ? 0 : suffix.length + 1);
    const mask = map.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = map.slots[slot] ?? 0;
      if (entry === 0) return -1;
      const k = entry - 1;
      if (map.hashes[k] !== hash) continue;
      const start = k === 0 ? 0 : map.byteEnds[k - 1] ?? 0;
      if ((map.byteEnds[k] ?? 0) - start !== length || !sameAscii(map.bytes, start, key)) continue;
      if (suffix === undefined || (map.bytes[start + key.length] === SLASH && sameAscii(map.bytes, start + key.length + 1, suffix))) return k;
    }
  }

  private encodedKeyNumber(map: KeyMapData, key: string): number {
    const length = this.encoder.encode(key);
    const wanted = this.encoder.bytes;
    const hash = hashBytes(wanted, 0, length);
    const mask = map.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = map.slots[slot] ?? 0;
      if (entry === 0) return -1;
      const k = entry - 1;
      if (map.hashes[k] !== hash) continue;
      const start = k === 0 ? 0 : map.byteEnds[k - 1] ?? 0;
      if (sameBytes(map.bytes, start, (map.byteEnds[k] ?? 0) - start, wanted, length)) return k;
    }
  }

  *all(): Iterable<T> {
    for (let i = 0; i < this.data.count; i++) yield this.record(i);
  }
}

