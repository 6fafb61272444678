/**
 * Upstream responses: reading where each record is (so that TTLs can be rewritten in place
 * and records dropped at their boundaries), and re-addressing a stored response to a new
 * query without decoding and re-encoding it.
 */
import { readName, WireFormatError } from './names.ts';
import type { Query } from './query-decoder.ts';
import { TYPE } from './records.ts';
import type { ResourceRecord } from './records.ts';
import { ADVERTISED_UDP_SIZE } from './response-encoder.ts';

export interface ScannedRecord {
  /** 0 answer, 1 authority, 2 additional. */
  readonly section: 0 | 1 | 2;
  readonly start: number;
  readonly type: number;
  readonly ttl: number;
  /** Offset of the 32-bit TTL. */
  readonly ttlOffset: number;
  readonly rdataStart: number;
  readonly end: number;
  /** The owner is the question name written out in full (not a pointer): it is rewritten to the asker's case. */
  readonly ownerIsQuestion: boolean;
}

export interface ScannedMessage {
  readonly id: number;
  readonly flags: number;
  /** With the extended bits of an OPT record. */
  readonly rcode: number;
  readonly truncated: boolean;
  readonly question: { readonly lowerName: string; readonly type: number; readonly class: number } | undefined;
  readonly questionEnd: number;
  readonly records: readonly ScannedRecord[];
}

/** Finds every record of a message. Throws WireFormatError when it is malformed. */
export function scanMessage(message: Buffer): ScannedMessage {
  if (message.length < 12) throw new WireFormatError('shorter than a header');
  const flags = message.readUInt16BE(2);
  const qdcount = message.readUInt16BE(4);
  if (qdcount > 1) throw new WireFormatError('more than one question');
  let offset = 12;
  let question: ScannedMessage['question'];
  if (qdcount === 1) {
    const { name, end } = readName(message, 12);
    if (end + 4 > message.length) throw new WireFormatError('question runs past the end');
    question = { lowerName: name.toLowerCase(), type: message.readUInt16BE(end), class: message.readUInt16BE(end + 2) };
    offset = end + 4;
  }
  const questionEnd = offset;
  const records: ScannedRecord[] = [];
  let rcode = flags & 0xf;
  for (let section = 0 as 0 | 1 | 2; section < 3; section++) {
    const count = message.readUInt16BE(6 + section * 2);
    for (let i = 0; i < count; i++) {
      const { end } = readName(message, offset);
      if (end + 10 > message.length) throw new WireFormatError('record runs past the end');
      const type = message.readUInt16BE(end);
      const rdataStart = end + 10;
      const recordEnd = rdataStart + message.readUInt16BE(end + 8);
      if (recordEnd > message.length) throw new WireFormatError('record data runs past the end');
      if (type === TYPE.OPT) rcode |= message.readUInt8(end + 4) << 4;
      const ownerIsQuestion = question !== undefined && end - offset === questionEnd - 16 && sameBytesIgnoringCase(message, offset, 12, end - offset);
      records.push({ section, start: offset, type, ttl: message.readUInt32BE(end + 4), ttlOffset: end + 4, rdataStart, end: recordEnd, ownerIsQuestion });
      offset = recordEnd;
    }
  }
  return { id: message.readUInt16BE(0), flags, rcode, truncated: (flags & 0x0200) !== 0, question, questionEnd, records };
}

/** Whether two byte ranges of a message are equal, ASCII letters compared without case. */
function sameBytesIgnoringCase(message: Buffer, a: number, b: number, length: number): boolean {
  for (let i = 0; i < length; i++) {
    let x = message.readUInt8(a + i);
    let y = message.readUInt8(b + i);
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** A response kept for re-use: the bytes without any OPT record, and where its TTLs are. */
export interface StoredMessage {
  readonly message: Buffer;
  readonly rcode: number;
  readonly records: readonly ScannedRecord[];
}

/**
 * Strips the OPT record (EDNS is hop by hop: the client gets our own) from a scanned
 * response. Records after the OPT record (there should be none) go with it: cutting there
 * keeps every compression pointer of the records before it valid.
 */
export function storable(message: Buffer, scanned: ScannedMessage): StoredMessage {
  const optIndex = scanned.records.findIndex((r) => r.type === TYPE.OPT);
  if (optIndex < 0) return { message, rcode: scanned.rcode, records: scanned.records };
  const kept = scanned.records.slice(0, optIndex);
  const stripped = Buffer.from(message.subarray(0, scanned.records[optIndex]?.start));
  stripped.writeUInt16BE(kept.filter((r) => r.section === 2).length, 10);
  return { message: stripped, rcode: scanned.rcode, records: kept };
}

/**
 * The stored response re-addressed to `query`: its id, its question bytes (so its case),
 * every TTL set to `ttl` when given, an OPT record when the client sent one, and cut to
 * `limit` bytes at a record boundary (TC set when an answer or authority record is cut).
 */
export function relay(stored: StoredMessage, query: Query, limit: number, ttl?: number): Buffer {
  const optSize = query.edns ? 11 : 0;
  const room = Math.min(limit, 65535) - optSize;
  let kept = stored.records.length;
  let length = stored.message.length;
  while (length > room && kept > 0) {
    kept--;
    length = stored.records[kept]?.start ?? 0;
  }
  const out = Buffer.allocUnsafe(length + optSize);
  stored.message.copy(out, 0, 0, length);
  out.writeUInt16BE(query.id, 0);
  query.message.copy(out, 12, 12, query.questionEnd);
  let flags = (out.readUInt16BE(2) & ~0x0110) | (query.recursionDesired ? 0x0100 : 0) | (query.checkingDisabled ? 0x0010 : 0);
  const counts: [number, number, number] = [0, 0, 0];
  const records = stored.records;
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (!record) continue;
    if (i >= kept) {
      if (record.section < 2) flags |= 0x0200;
      continue;
    }
    counts[record.section]++;
    if (ttl !== undefined) out.writeUInt32BE(ttl >>> 0, record.ttlOffset);
    if (record.ownerIsQuestion) query.message.copy(out, record.start, 12, query.questionEnd - 4);
  }
  out.writeUInt16BE(flags, 2);
  out.writeUInt16BE(counts[0], 6);
  out.writeUInt16BE(counts[1], 8);
  out.writeUInt16BE(counts[2] + (optSize ? 1 : 0), 10);
  if (query.edns) {
    const at = length;
    out[at] = 0;
    out.writeUInt16BE(TYPE.OPT, at + 1);
    out.writeUInt16BE(ADVERTISED_UDP_SIZE, at + 3);
    out[at + 5] = stored.rcode >> 4;
    out[at + 6] = 0;
    out.writeUInt16BE(query.edns.dnssecOk ? 0x8000 : 0, at + 7);
    out.writeUInt16BE(0, at + 9);
  }
  return out;
}

/**
 * The answer-section records of an upstream response as records of our own (for a CNAME
 * chased upstream): names are decompressed; data that holds a name is decompressed too.
 */
export function answerRecords(message: Buffer, scanned: { readonly records: readonly ScannedRecord[] }): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (const record of scanned.records) {
    if (record.section !== 0) continue;
    const { name } = readName(message, record.start);
    const rrclass = message.readUInt16BE(record.ttlOffset - 2);
    if (record.type === TYPE.CNAME || record.type === TYPE.NS || record.type === TYPE.PTR) {
      const type = record.type === TYPE.CNAME ? 'CNAME' : record.type === TYPE.NS ? 'NS' : 'PTR';
      out.push({ type, name, ttl: record.ttl, target: readName(message, record.rdataStart).name });
    } else {
      out.push({ type: 'raw', name, ttl: record.ttl, rrtype: record.type, rrclass, rdata: Buffer.from(message.subarray(record.rdataStart, record.end)) });
    }
  }
  return out;
}
