/**
 * Resource records as the answering core produces them, and the DNS constants it needs.
 *
 * Names are absolute, without the trailing dot, and lower case unless they were copied from
 * a query. The encoder (response-encoder.ts) compresses every name against the question, so a
 * name that ends like the question is written in the question's case.
 */

export const TYPE = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41,
  IXFR: 251, AXFR: 252, ANY: 255,
} as const;

export const CLASS = { IN: 1, CH: 3, ANY: 255 } as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export type Rcode = (typeof RCODE)[keyof typeof RCODE];

export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS',
};

export type ResourceRecord =
  | { readonly type: 'A' | 'AAAA'; readonly name: string; readonly ttl: number; readonly address: string }
  | { readonly type: 'CNAME' | 'PTR' | 'NS'; readonly name: string; readonly ttl: number; readonly target: string }
  | {
    readonly type: 'SRV'; readonly name: string; readonly ttl: number;
    readonly priority: number; readonly weight: number; readonly port: number; readonly target: string;
  }
  | { readonly type: 'TXT'; readonly name: string; readonly ttl: number; readonly text: string }
  | { readonly type: 'HINFO'; readonly name: string; readonly ttl: number; readonly cpu: string; readonly os: string }
  | {
    readonly type: 'SOA'; readonly name: string; readonly ttl: number; readonly mname: string; readonly rname: string;
    readonly serial: number; readonly refresh: number; readonly retry: number; readonly expire: number; readonly minimum: number;
  }
  /** A record copied verbatim from an upstream answer (type, class, ttl and rdata as received). */
  | { readonly type: 'raw'; readonly name: string; readonly ttl: number; readonly rrtype: number; readonly rrclass: number; readonly rdata: Buffer };

/** The name of a query type for metrics labels, as CoreDNS reports it (`other` for the rest). */
export function typeLabel(type: number): string {
  return TYPE_LABELS.get(type) ?? 'other';
}

const TYPE_LABELS = new Map<number, string>([
  [1, 'A'], [2, 'NS'], [5, 'CNAME'], [6, 'SOA'], [12, 'PTR'], [13, 'HINFO'], [15, 'MX'], [16, 'TXT'], [28, 'AAAA'],
  [33, 'SRV'], [35, 'NAPTR'], [43, 'DS'], [46, 'RRSIG'], [47, 'NSEC'], [48, 'DNSKEY'], [50, 'NSEC3'], [64, 'SVCB'],
  [65, 'HTTPS'], [251, 'IXFR'], [252, 'AXFR'], [255, 'ANY'],
]);
