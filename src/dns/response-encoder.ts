/**
 * Encoding of responses, by hand (several times faster than a general encoder; see
 * bench/RESULTS.md).
 *
 * The question is copied from the query byte for byte, so the answer carries the name in
 * the case it was asked. Names are compressed against the question and against every name
 * written before them, so a record owned by the question name costs two bytes and names
 * below the asked name keep its case, as CoreDNS's answers do. Records that do not fit the
 * size limit are left out; when an answer or authority record had to go, TC is set
 * (RFC 2181 §9: additional records may be dropped silently).
 */
import { ipv6ToBytes, writeIpv4 } from './ip.ts';
import { nameToLabels } from './names.ts';
import type { Query } from './query-decoder.ts';
import { TYPE } from './records.ts';
import type { ResourceRecord } from './records.ts';

export interface ResponseParts {
  readonly rcode: number;
  readonly authoritative: boolean;
  readonly recursionAvailable?: boolean;
  readonly answer?: readonly ResourceRecord[];
  readonly authority?: readonly ResourceRecord[];
  readonly additional?: readonly ResourceRecord[];
}

/** The UDP payload size this server advertises in its OPT record (DNS flag day 2020). */
export const ADVERTISED_UDP_SIZE = 1232;
const OPT_SIZE = 11;
const MAX_MESSAGE = 65535;
const scratch = Buffer.allocUnsafe(MAX_MESSAGE + 1024);

/**
 * Encodes the answer to `query`, at most `limit` bytes long (the client's UDP payload size,
 * or 65535 over TCP).
 */
export function encodeResponse(query: Query, parts: ResponseParts, limit: number): Buffer {
  const writer = new Writer(query, Math.min(limit, MAX_MESSAGE) - (query.edns ? OPT_SIZE : 0));
  let truncated = false;
  const counts: [number, number, number] = [0, 0, 0];
  const sections = [parts.answer, parts.authority, parts.additional] as const;
  for (const s of [0, 1, 2] as const) {
    for (const record of sections[s] ?? []) {
      if (!writer.record(record)) {
        truncated = s < 2;
        break;
      }
      counts[s]++;
    }
    if (writer.full) break;
  }
  let flags = 0x8000 | (query.recursionDesired ? 0x0100 : 0) | (query.checkingDisabled ? 0x0010 : 0) | (parts.rcode & 0xf);
  if (parts.authoritative) flags |= 0x0400;
  if (truncated) flags |= 0x0200;
  if (parts.recursionAvailable) flags |= 0x0080;
  scratch.writeUInt16BE(query.id, 0);
  scratch.writeUInt16BE(flags, 2);
  scratch.writeUInt16BE(1, 4);
  scratch.writeUInt16BE(counts[0], 6);
  scratch.writeUInt16BE(counts[1], 8);
  let additional = counts[2];
  if (query.edns) {
    writer.opt(parts.rcode, query.edns.dnssecOk);
    additional++;
  }
  scratch.writeUInt16BE(additional, 10);
  return Buffer.from(scratch.subarray(0, writer.offset));
}

/** A response without a question: FORMERR, NOTIMP or BADVERS to a query we could not read. */
export function encodeHeaderOnly(id: number, opcode: number, recursionDesired: boolean, rcode: number, edns: boolean): Buffer {
  const message = Buffer.alloc(12 + (edns ? OPT_SIZE : 0));
  message.writeUInt16BE(id, 0);
  message.writeUInt16BE(0x8000 | (opcode << 11) | (recursionDesired ? 0x0100 : 0) | (rcode & 0xf), 2);
  if (edns) {
    message.writeUInt16BE(1, 10);
    writeOpt(message, 12, rcode, false);
  }
  return message;
}

function writeOpt(target: Buffer, offset: number, rcode: number, dnssecOk: boolean): number {
  target[offset] = 0;
  target.writeUInt16BE(TYPE.OPT, offset + 1);
  target.writeUInt16BE(ADVERTISED_UDP_SIZE, offset + 3);
  target[offset + 5] = rcode >> 4;
  target[offset + 6] = 0;
  target.writeUInt16BE(dnssecOk ? 0x8000 : 0, offset + 7);
  target.writeUInt16BE(0, offset + 9);
  return offset + OPT_SIZE;
}

class Writer {
  offset: number;
  full = false;
  private readonly query: Query;
  private readonly limit: number;
  /** Lower-case name suffix → offset where it was written; filled on the first name that needs it. */
  private names: Map<string, number> | undefined;

  constructor(query: Query, limit: number) {
    this.query = query;
    this.limit = limit;
    query.message.copy(scratch, 12, 12, query.questionEnd);
    this.offset = query.questionEnd;
  }

  /** Appends one record; false (and nothing written) when it does not fit. */
  record(record: ResourceRecord): boolean {
    const start = this.offset;
    if (start + 600 + (record.type === 'raw' ? record.rdata.length : record.type === 'TXT' ? record.text.length * 2 : 0) > scratch.length) {
      this.full = true;
      return false;
    }
    this.name(record.name);
    const typeOffset = this.offset;
    scratch.writeUInt32BE(0x00010000 | 1, typeOffset); // type patched below, class IN
    scratch.writeUInt32BE(record.ttl >>> 0, typeOffset + 4);
    this.offset = typeOffset + 10;
    const rdataStart = this.offset;
    const type = this.rdata(record);
    scratch.writeUInt16BE(type, typeOffset);
    if (record.type === 'raw') scratch.writeUInt16BE(record.rrclass, typeOffset + 2);
    scratch.writeUInt16BE(this.offset - rdataStart, typeOffset + 8);
    if (this.offset > this.limit) {
      this.offset = start;
      this.full = true;
      return false;
    }
    return true;
  }

  opt(rcode: number, dnssecOk: boolean): void {
    this.offset = writeOpt(scratch, this.offset, rcode, dnssecOk);
  }

  private rdata(record: ResourceRecord): number {
    switch (record.type) {
      case 'A':
        writeIpv4(record.address, scratch, this.offset);
        this.offset += 4;
        return TYPE.A;
      case 'AAAA':
        scratch.set(ipv6ToBytes(record.address), this.offset);
        this.offset += 16;
        return TYPE.AAAA;
      case 'CNAME':
      case 'PTR':
      case 'NS':
        this.name(record.target);
        return TYPE[record.type];
      case 'SRV':
        scratch.writeUInt16BE(record.priority, this.offset);
        scratch.writeUInt16BE(record.weight, this.offset + 2);
        scratch.writeUInt16BE(record.port, this.offset + 4);
        this.offset += 6;
        // RFC 2782: the target is never compressed.
        this.name(record.target, false);
        return TYPE.SRV;
      case 'TXT':
        this.characterStrings(record.text, true);
        return TYPE.TXT;
      case 'HINFO':
        this.characterStrings(record.cpu, false);
        this.characterStrings(record.os, false);
        return TYPE.HINFO;
      case 'SOA':
        this.name(record.mname);
        this.name(record.rname);
        for (const value of [record.serial, record.refresh, record.retry, record.expire, record.minimum]) {
          scratch.writeUInt32BE(value >>> 0, this.offset);
          this.offset += 4;
        }
        return TYPE.SOA;
      case 'raw':
        scratch.set(record.rdata, this.offset);
        this.offset += record.rdata.length;
        return record.rrtype;
    }
  }

  /** One or more <character-string>s (TXT splits long text into 255-byte pieces). */
  private characterStrings(text: string, split: boolean): void {
    const bytes = Buffer.from(text, 'utf8');
    let position = 0;
    do {
      const piece = split ? bytes.subarray(position, position + 255) : bytes.subarray(0, 255);
      scratch[this.offset++] = piece.length;
      scratch.set(piece, this.offset);
      this.offset += piece.length;
      position += 255;
    } while (split && position < bytes.length);
  }

  private name(name: string, compress = true): void {
    const lower = name.toLowerCase();
    if (compress && lower === this.query.lowerName) {
      scratch.writeUInt16BE(0xc00c, this.offset);
      this.offset += 2;
      return;
    }
    const names = this.names ?? this.questionSuffixes();
    const labels = nameToLabels(name) ?? [];
    let suffix = lower;
    for (const label of labels) {
      const known = compress ? names.get(suffix) : undefined;
      if (known !== undefined) {
        scratch.writeUInt16BE(0xc000 | known, this.offset);
        this.offset += 2;
        return;
      }
      if (this.offset < 0x4000 && !names.has(suffix)) names.set(suffix, this.offset);
      scratch[this.offset++] = label.length;
      scratch.set(label, this.offset);
      this.offset += label.length;
      suffix = suffix.slice(label.length + 1 + countEscapeBytes(suffix, label.length));
    }
    scratch[this.offset++] = 0;
  }

  /** Registers every suffix of the question name at its offset in the question. */
  private questionSuffixes(): Map<string, number> {
    const names = new Map<string, number>();
    this.names = names;
    const lower = this.query.lowerName;
    if (lower.includes('\\')) {
      names.set(lower, 12);
      return names;
    }
    let offset = 12;
    let text = lower;
    while (text !== '') {
      names.set(text, offset);
      const dot = text.indexOf('.');
      const labelLength = dot < 0 ? text.length : dot;
      offset += labelLength + 1;
      text = dot < 0 ? '' : text.slice(dot + 1);
    }
    return names;
  }
}

/**
 * How many more presentation characters than wire bytes the first label of `name` takes
 * (each `\DDD` escape is 4 characters for 1 byte, `\X` is 2 for 1).
 */
function countEscapeBytes(name: string, wireLength: number): number {
  if (!name.includes('\\')) return 0;
  let extra = 0;
  let bytes = 0;
  for (let i = 0; i < name.length && bytes < wireLength; bytes++) {
    if (name.charCodeAt(i) === 0x5c) {
      const escape = /^\d{3}$/.test(name.slice(i + 1, i + 4)) ? 4 : 2;
      extra += escape - 1;
      i += escape;
    } else {
      i++;
    }
  }
  return extra;
}
