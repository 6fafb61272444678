/**
 * Decoding of incoming queries, by hand: the header, the one question and the EDNS0 OPT
 * record are all a query needs, and reading them directly from the bytes is several times
 * faster than a general decoder (see bench/RESULTS.md).
 *
 * What is accepted follows miekg/dns (CoreDNS's server): responses are ignored, opcodes
 * other than QUERY get NOTIMP, and a message without exactly one question, with more than
 * one answer or authority record or more than two additional records, or that cannot be
 * read, gets FORMERR. Nothing here throws.
 */
import { readName, WireFormatError } from './names.ts';
import { RCODE, TYPE } from './records.ts';

export interface Edns {
  /** The client's UDP payload size (at least 512). */
  readonly udpSize: number;
  readonly dnssecOk: boolean;
  readonly version: number;
}

export interface Query {
  readonly id: number;
  readonly recursionDesired: boolean;
  readonly checkingDisabled: boolean;
  /** Question name in presentation form, in the case it was sent, no trailing dot. */
  readonly name: string;
  readonly lowerName: string;
  readonly type: number;
  readonly class: number;
  /** The question section is `message[12, questionEnd)`. */
  readonly questionEnd: number;
  readonly edns: Edns | undefined;
  readonly message: Buffer;
}

export type DecodedQuery =
  | { readonly kind: 'query'; readonly query: Query }
  /** Not answered at all: too short to carry an id, or a response rather than a query. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** Answered with a bare header: FORMERR, NOTIMP or BADVERS. */
  | { readonly kind: 'reject'; readonly id: number; readonly opcode: number; readonly recursionDesired: boolean; readonly rcode: number; readonly edns: boolean; readonly reason: string };

const HEADER = 12;

export function decodeQuery(message: Buffer): DecodedQuery {
  if (message.length < HEADER) return { kind: 'drop', reason: 'shorter than a header' };
  const id = message.readUInt16BE(0);
  const flags = message.readUInt16BE(2);
  if (flags & 0x8000) return { kind: 'drop', reason: 'a response, not a query' };
  const opcode = (flags >> 11) & 0xf;
  const recursionDesired = (flags & 0x0100) !== 0;
  const reject = (rcode: number, reason: string, edns = false): DecodedQuery => ({ kind: 'reject', id, opcode, recursionDesired, rcode, edns, reason });
  if (opcode !== 0) return reject(RCODE.NOTIMP, `opcode ${opcode} is not supported`);
  const qdcount = message.readUInt16BE(4);
  const ancount = message.readUInt16BE(6);
  const nscount = message.readUInt16BE(8);
  const arcount = message.readUInt16BE(10);
  if (qdcount !== 1) return reject(RCODE.FORMERR, `${qdcount} questions`);
  if (ancount > 1 || nscount > 1 || arcount > 2) return reject(RCODE.FORMERR, 'too many records for a query');
  try {
    const { name, end } = readName(message, HEADER, false);
    if (end + 4 > message.length) return reject(RCODE.FORMERR, 'question runs past the end of the message');
    const type = message.readUInt16BE(end);
    const klass = message.readUInt16BE(end + 2);
    const questionEnd = end + 4;
    const edns = arcount > 0 ? findEdns(message, questionEnd, ancount + nscount, arcount) : undefined;
    if (edns && edns.version !== 0) return reject(RCODE.BADVERS, `EDNS version ${edns.version}`, true);
    const query: Query = {
      id, recursionDesired, checkingDisabled: (flags & 0x0010) !== 0,
      name, lowerName: name.toLowerCase(), type, class: klass, questionEnd, edns, message,
    };
    return { kind: 'query', query };
  } catch (error) {
    if (error instanceof WireFormatError) return reject(RCODE.FORMERR, error.message);
    throw error;
  }
}

/** Skips `skip` records after the question, then looks for the OPT record among the next `count`. */
function findEdns(message: Buffer, start: number, skip: number, count: number): Edns | undefined {
  let offset = start;
  let edns: Edns | undefined;
  for (let i = 0; i < skip + count; i++) {
    const { name, end } = readName(message, offset);
    if (end + 10 > message.length) throw new WireFormatError('record runs past the end of the message');
    const type = message.readUInt16BE(end);
    const rdlength = message.readUInt16BE(end + 8);
    offset = end + 10 + rdlength;
    if (offset > message.length) throw new WireFormatError('record data runs past the end of the message');
    if (i < skip || type !== TYPE.OPT) continue;
    if (edns) throw new WireFormatError('more than one OPT record');
    if (name !== '') throw new WireFormatError('OPT record not owned by the root');
    edns = {
      udpSize: Math.max(512, message.readUInt16BE(end + 2)),
      version: message.readUInt8(end + 5),
      dnssecOk: (message.readUInt16BE(end + 6) & 0x8000) !== 0,
    };
  }
  return edns;
}
