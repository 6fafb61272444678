/**
 * The intended differences between clusterdns' resolver and CoreDNS's kubernetes plugin
 * (docs/coredns-differences.md), as rules that recognise one in a pair of normalised answers
 * (answers.ts). `clusterdns compare` and the resolver's shadow comparison count those apart,
 * as intended, and not as differences.
 *
 * A rule matches only its documented shape: the question (type and name within the cluster
 * domain) and both answers. It matches in either direction, because neither comparison
 * knows which server runs which engine; two resolvers of the same engine never differ this
 * way, so no rule matches between them. Pure.
 */
import type { NormalisedAnswer } from './answers.ts';

/** A question by name (presentation form, any case, with or without the trailing dot) and type (`A`, `TXT`, ...). */
export interface AskedQuestion {
  readonly name: string;
  readonly type: string;
}

export interface IntendedDifference {
  /** Stable; docs/coredns-differences.md names each rule by it. */
  readonly id: string;
  readonly summary: string;
  readonly matches: (question: AskedQuestion, a: NormalisedAnswer, b: NormalisedAnswer, domain: string) => boolean;
}

type Answered = Extract<NormalisedAnswer, { rcode: string }>;

const answered = (a: NormalisedAnswer): a is Answered => !('error' in a);
const nxdomain = (a: NormalisedAnswer): boolean => answered(a) && a.rcode === 'NXDOMAIN' && a.answer.length === 0;
const nodata = (a: NormalisedAnswer): boolean => answered(a) && a.rcode === 'NOERROR' && a.answer.length === 0;
/** One answer says the name does not exist, the other that it exists without records of the type. */
const nxdomainAgainstNodata = (a: NormalisedAnswer, b: NormalisedAnswer): boolean => (nxdomain(a) && nodata(b)) || (nodata(a) && nxdomain(b));

/** Where a name sits in the cluster domain: the labels below the apex (`[]` is the apex); undefined outside it. */
function below(name: string, domain: string): string[] | undefined {
  const fqdn = name.toLowerCase().replace(/\.$/, '');
  const zone = domain.toLowerCase().replace(/\.$/, '');
  if (fqdn === zone) return [];
  return fqdn.endsWith(`.${zone}`) ? fqdn.slice(0, -zone.length - 1).split('.') : undefined;
}

/** The apex, `svc`, `pod`, `<namespace>.svc` or `<namespace>.pod`: names that exist without records of their own. */
function structural(labels: readonly string[]): boolean {
  if (labels.length === 0) return true;
  if (labels.length === 1) return labels[0] === 'svc' || labels[0] === 'pod';
  return labels.length === 2 && (labels[1] === 'svc' || labels[1] === 'pod');
}

export const INTENDED_DIFFERENCES: readonly IntendedDifference[] = [
  {
    id: 'txt-at-existing-names',
    summary: 'TXT at the apex, svc, pod or a namespace: NXDOMAIN (CoreDNS) against NODATA (the names exist)',
    matches: (q, a, b, domain) => {
      const labels = below(q.name, domain);
      return q.type === 'TXT' && labels !== undefined && structural(labels) && nxdomainAgainstNodata(a, b);
    },
  },
  {
    id: 'dns-version-and-ns-types',
    summary: 'dns-version for types but TXT, ns.dns for TXT and PTR: NXDOMAIN (CoreDNS) against NODATA (the names exist)',
    matches: (q, a, b, domain) => {
      const name = below(q.name, domain)?.join('.');
      const shape = (name === 'dns-version' && q.type !== 'TXT') || (name === 'ns.dns' && (q.type === 'TXT' || q.type === 'PTR'));
      return shape && nxdomainAgainstNodata(a, b);
    },
  },
  {
    id: 'soa-below-the-apex',
    summary: 'SOA at a name below the apex that does not exist: NODATA (CoreDNS) against NXDOMAIN',
    matches: (q, a, b, domain) => q.type === 'SOA' && (below(q.name, domain)?.length ?? 0) > 0 && nxdomainAgainstNodata(a, b),
  },
  {
    id: 'any-rfc8482',
    summary: 'ANY: NODATA or NXDOMAIN (CoreDNS) against one synthesized HINFO "RFC8482" (RFC 8482)',
    matches: (q, a, b) => {
      const hinfo = (x: NormalisedAnswer): boolean => answered(x) && x.answer.length === 1 && /\sHINFO\s.*RFC8482/i.test(x.answer[0] ?? '');
      const none = (x: NormalisedAnswer): boolean => nodata(x) || nxdomain(x);
      return q.type === 'ANY' && ((hinfo(a) && none(b)) || (none(a) && hinfo(b)));
    },
  },
  {
    id: 'ns-at-the-apex',
    summary: 'NS at the apex from a server without a non-loopback address: NODATA (CoreDNS) against ns.dns.<zone>',
    matches: (q, a, b, domain) => {
      const zone = domain.toLowerCase().replace(/\.$/, '');
      const named = (x: NormalisedAnswer): boolean => answered(x) && x.answer.length === 1 && x.answer[0] === `${zone}. NS ns.dns.${zone}.`;
      return q.type === 'NS' && below(q.name, domain)?.length === 0 && ((named(a) && nodata(b)) || (nodata(a) && named(b)));
    },
  },
];

/** The intended difference that two different answers to `question` are, if any. */
export function intendedDifference(question: AskedQuestion, a: NormalisedAnswer, b: NormalisedAnswer, domain: string): IntendedDifference | undefined {
  return INTENDED_DIFFERENCES.find((rule) => rule.matches(question, a, b, domain));
}
