/**
 * Answers reduced to what a client depends on, so that two resolvers can be compared: the
 * rcode and the records of the answer and authority sections, without TTLs, in a fixed
 * order, names in lower case. The SOA serial is dropped (each server counts its own).
 *
 * One normalisation for both comparisons: `clusterdns compare` (questions made up from the
 * cluster) and the resolver's shadow comparison (live questions, src/resolver/shadow/).
 */
import type { Answer, DecodedPacket } from 'dns-packet';

export type NormalisedAnswer =
  | { readonly rcode: string; readonly answer: readonly string[]; readonly authority: readonly string[] }
  /** No usable answer at all (timeout, refused connection, undecodable packet). */
  | { readonly error: string };

export function normalise(packet: DecodedPacket): NormalisedAnswer {
  return {
    rcode: (packet as DecodedPacket & { rcode?: string }).rcode ?? 'UNKNOWN',
    answer: (packet.answers ?? []).map(recordText).sort(),
    authority: (packet.authorities ?? []).map(recordText).sort(),
  };
}

/** Two answers are the same when every field of their normalised form is. */
export function sameAnswer(a: NormalisedAnswer, b: NormalisedAnswer): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b && a.error === b.error;
  return a.rcode === b.rcode && equalLists(a.answer, b.answer) && equalLists(a.authority, b.authority);
}

/** `name TYPE data`, without TTL or class. */
export function recordText(record: Answer): string {
  return `${record.name.toLowerCase().replace(/\.?$/, '.')} ${record.type} ${recordData(record)}`;
}

function recordData(record: Answer): string {
  const fqdn = (name: string): string => name.toLowerCase().replace(/\.?$/, '.');
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return record.data;
    case 'CNAME':
    case 'PTR':
    case 'NS':
    case 'DNAME':
      return fqdn(record.data);
    case 'SRV':
      return `${record.data.priority ?? 0} ${record.data.weight ?? 0} ${record.data.port} ${fqdn(record.data.target)}`;
    case 'SOA':
      return `${fqdn(record.data.mname)} ${fqdn(record.data.rname)} ${record.data.refresh ?? 0} ${record.data.retry ?? 0} ${record.data.expire ?? 0} ${record.data.minimum ?? 0}`;
    case 'MX':
      return `${record.data.preference ?? 0} ${fqdn(record.data.exchange)}`;
    case 'TXT': {
      const parts = Array.isArray(record.data) ? record.data : [record.data];
      return parts.map((p) => JSON.stringify(p.toString())).join(' ');
    }
    default:
      return JSON.stringify((record as { data?: unknown }).data ?? null);
  }
}

/**
 * One line a person can read: `NOERROR 10.0.0.1, 10.0.0.2`, `NODATA` or `NXDOMAIN`; with
 * `withAuthority`, the authority records follow (for answers that differ only there).
 */
export function summarise(answer: NormalisedAnswer, withAuthority = false): string {
  if ('error' in answer) return `ERROR ${answer.error}`;
  const data = answer.answer.map((line) => line.split(' ').slice(2).join(' '));
  const head = data.length > 0 ? `${answer.rcode} ${data.join(', ')}` : answer.rcode === 'NOERROR' ? 'NODATA' : answer.rcode;
  if (!withAuthority) return head;
  return `${head}; authority: ${answer.authority.length > 0 ? answer.authority.join(', ') : 'none'}`;
}

function equalLists(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
}
